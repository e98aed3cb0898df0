/*
 * aliyun: Alibaba Cloud SMS (dysmsapi), the SendSms action of API version
 * 2017-05-25, as the official SDK sends it: POST {endpoint}/?PhoneNumbers=
 * &RegionId=&SignName=&TemplateCode=&TemplateParam= with an empty body,
 * signed with the V3 signature (ACS3-HMAC-SHA256 in the Authorization
 * header, sign.c), which the documentation recommends over the RPC
 * HMAC-SHA1 one: SHA-256 rather than SHA-1, the secret never sent in any
 * form, and the same shape as Tencent Cloud's TC3, so one signer's tests
 * vouch for the other's parts. TemplateParam is a JSON object of the
 * template's variables: the code, and its minutes when aliyun_template_
 * param names a second. "Code":"OK" is success; any other Code a refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "sms/provider.h"
#include "sms/sign.h"

#define ALIYUN_VERSION	"2017-05-25"
#define ALIYUN_OK	"OK"
#define ALIYUN_NAME_MAX	32	/* a template variable's name */

/*
 * template_names: the one or two variable names of spec (separated by
 * blanks or commas) into a and b (b empty for one), each at most
 * ALIYUN_NAME_MAX of [A-Za-z0-9_]. 0, or -1.
 */
static int
template_names(const char *spec, char *a, char *b)
{
	char		*out[2] = { a, b };
	size_t		 n, k = 0;

	a[0] = b[0] = '\0';
	for (;;) {
		spec += strspn(spec, " \t,");
		if (*spec == '\0')
			break;
		n = strspn(spec, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (k == 2 || n == 0 || n > ALIYUN_NAME_MAX ||
		    (spec[n] != '\0' && strchr(" \t,", spec[n]) == NULL))
			return -1;
		memcpy(out[k], spec, n);
		out[k++][n] = '\0';
		spec += n;
	}
	return k == 0 ? -1 : 0;
}

int
aliyun_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	const struct {
		const char	*key, *value;
	} need[] = {
		{ "aliyun_access_key_id", cfg->aliyun_access_key_id },
		{ "aliyun_access_key_secret", cfg->aliyun_access_key_secret },
		{ "aliyun_sign_name", cfg->aliyun_sign_name },
		{ "aliyun_template_code", cfg->aliyun_template_code },
		{ "aliyun_region", cfg->aliyun_region },
	};
	char	 host[256], a[ALIYUN_NAME_MAX + 1], b[ALIYUN_NAME_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].value[0] == '\0') {
			snprintf(err, errlen, "key '%s': required by "
			    "sms_provider = aliyun", need[i].key);
			return -1;
		}
	if (strlen(cfg->aliyun_access_key_id) > SIGN_ID_MAX) {
		snprintf(err, errlen, "key 'aliyun_access_key_id': longer "
		    "than %d bytes", SIGN_ID_MAX);
		return -1;
	}
	if (template_names(cfg->aliyun_template_param, a, b) == -1) {
		snprintf(err, errlen, "key 'aliyun_template_param': expected "
		    "one or two variable names of the template (letters, "
		    "digits, '_'), the code's and the minutes'");
		return -1;
	}
	if (http_origin(cfg->aliyun_endpoint, host, sizeof(host)) == -1) {
		snprintf(err, errlen, "key 'aliyun_endpoint': expected an "
		    "http:// or https:// URL of a host, with no path");
		return -1;
	}
	return http_open(s, err, errlen);
}

int
aliyun_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	struct acs3_in		 in;
	struct acs3_out		 sig;
	struct sign_pair	 q[5];
	unsigned char		 rnd[16];
	char			 a[ALIYUN_NAME_MAX + 1];
	char			 b[ALIYUN_NAME_MAX + 1];
	char			 mins[16], date[32], nonce[33], host[256];
	char			 hhost[300], hdate[64], hnonce[64];
	char			 hsha[96];
	char			 hauth[SIGN_AUTH_MAX + 32], base[300];
	char			*param = NULL, *query = NULL, *url = NULL;
	const char		*headers[] = { hhost, "x-acs-action: SendSms",
	    "x-acs-version: " ALIYUN_VERSION, hdate, hnonce, hsha, hauth,
	    "Accept: application/json", "Content-Type:", NULL };
	struct tm		 tm;
	time_t			 now = time(NULL);
	long			 http;
	int			 rc = SMS_REFUSED;

	memset(&sig, 0, sizeof(sig));
	snprintf(mins, sizeof(mins), "%d", minutes);
	if (template_names(cfg->aliyun_template_param, a, b) == -1 ||
	    http_origin(cfg->aliyun_endpoint, host, sizeof(host)) == -1 ||
	    gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, errlen, "aliyun: cannot sign");
		goto out;
	}
	snprintf(base, sizeof(base), "%s://%s", strncmp(cfg->aliyun_endpoint,
	    "https:", 6) == 0 ? "https" : "http", host);
	bytes_hex(rnd, sizeof(rnd), nonce, 0);
	if ((param = sms_json_dump(b[0] == '\0' ? json_pack("{s:s}", a, code) :
	    json_pack("{s:s, s:s}", a, code, b, mins), NULL)) == NULL) {
		snprintf(err, errlen, "aliyun: cannot build the request");
		goto out;
	}
	q[0] = (struct sign_pair){ "PhoneNumbers", mobile };
	q[1] = (struct sign_pair){ "SignName", cfg->aliyun_sign_name };
	q[2] = (struct sign_pair){ "TemplateCode", cfg->aliyun_template_code };
	q[3] = (struct sign_pair){ "TemplateParam", param };
	q[4] = (struct sign_pair){ "RegionId", cfg->aliyun_region };
	memset(&in, 0, sizeof(in));
	in.key_id = cfg->aliyun_access_key_id;
	in.key_secret = cfg->aliyun_access_key_secret;
	in.method = "POST";
	in.host = host;
	in.action = "SendSms";
	in.version = ALIYUN_VERSION;
	in.date = date;
	in.nonce = nonce;
	in.body = "";
	in.bodylen = 0;
	if ((query = sign_query(q, sizeof(q) / sizeof(q[0]))) == NULL ||
	    (url = secret_join(base, "/?", query)) == NULL) {
		snprintf(err, errlen, "aliyun: out of memory");
		goto out;
	}
	in.query = query;
	if (sign_acs3(&in, &sig) == -1) {
		snprintf(err, errlen, "aliyun: cannot sign");
		goto out;
	}
	/* libcurl would send the host of the URL; the signed one is sent. */
	snprintf(hhost, sizeof(hhost), "Host: %s", host);
	snprintf(hdate, sizeof(hdate), "x-acs-date: %s", date);
	snprintf(hnonce, sizeof(hnonce), "x-acs-signature-nonce: %s", nonce);
	snprintf(hsha, sizeof(hsha), "x-acs-content-sha256: %s",
	    sig.content_sha256);
	snprintf(hauth, sizeof(hauth), "Authorization: %s", sig.authorization);
	if ((http = http_post(s, "aliyun", url, headers, "", err,
	    errlen)) < 0) {
		rc = http == HTTP_AMBIGUOUS ? SMS_UNKNOWN : SMS_REFUSED;
		goto out;
	}
	rc = sms_aliyun_reply(http, s->reply, s->replylen, err, errlen);
out:
	wipe_free(sig.canonical);
	wipe_free(param);
	wipe_free(query);
	wipe_free(url);
	explicit_bzero(&sig, sizeof(sig));
	return rc;
}

/*
 * aliyun_status: the verdict of j, a reply that is a JSON object (which
 * stays the caller's), with err for what is not a success.
 */
static int
aliyun_status(long http, json_t *j, char *err, size_t errlen)
{
	char		 word[SMS_WORD_MAX + 1], msg[81];
	json_t		*v;

	v = json_object_get(j, "Code");
	if (!json_is_string(v) || json_string_length(v) == 0) {
		if (http >= 200 && http <= 299) {
			snprintf(err, errlen, "aliyun: HTTP %ld, reply has no "
			    "Code: delivery unknown", http);
			return SMS_UNKNOWN;
		}
		snprintf(err, errlen, "aliyun: HTTP %ld, reply has no Code",
		    http);
		return SMS_REFUSED;
	}
	if (http >= 200 && http <= 299 &&
	    strcmp(json_string_value(v), ALIYUN_OK) == 0)
		return SMS_SENT;
	gateway_word(json_string_value(v), word, sizeof(word));
	v = json_object_get(j, "Message");
	outside_text(json_is_string(v) ? json_string_value(v) : "", 80, msg,
	    sizeof(msg));
	snprintf(err, errlen, "aliyun: HTTP %ld, Code '%s' (%s)", http, word,
	    msg);
	return SMS_REFUSED;
}

int
sms_aliyun_reply(long http, const char *reply, size_t len, char *err,
    size_t errlen)
{
	json_t	*j;
	int	 rc;

	if ((j = gateway_json("aliyun", http, reply, len, &rc, err,
	    errlen)) == NULL)
		return rc;
	rc = aliyun_status(http, j, err, errlen);
	json_decref(j);
	return rc;
}
