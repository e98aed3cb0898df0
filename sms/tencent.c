/*
 * tencent: Tencent Cloud SMS, the SendSms action of API version
 * 2021-01-11: POST {endpoint}/ a JSON body {PhoneNumberSet: [the number in
 * E.164], SmsSdkAppId, SignName, TemplateId, TemplateParamSet: [code,
 * minutes]}, with X-TC-Action, X-TC-Version, X-TC-Region, X-TC-Timestamp
 * and the TC3-HMAC-SHA256 Authorization header (sign.c). The API answers
 * HTTP 200 to nearly everything: Response.Error when it refused the
 * request, else a status per number, "Ok" for a message taken.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sms/provider.h"
#include "sms/sign.h"

#define TENCENT_VERSION	"2021-01-11"
#define TENCENT_SERVICE	"sms"
#define TENCENT_OK	"Ok"
#define TENCENT_CTYPE	"application/json; charset=utf-8"
#define E164_MAX	16	/* '+' and at most 15 digits */

/*
 * e164: mobile (as the pattern took it) in E.164 into out (E164_MAX + 1):
 * "+CC..." as it is, "00CC..." with "+" for "00", a national number after
 * "+" and country code cc. 0, or -1 when that is not '+' and 1 to 15
 * digits.
 */
static int
e164(const char *mobile, const char *cc, char *out)
{
	int	 n;

	if (mobile[0] == '+')
		n = snprintf(out, E164_MAX + 1, "%s", mobile);
	else if (strncmp(mobile, "00", 2) == 0)
		n = snprintf(out, E164_MAX + 1, "+%s", mobile + 2);
	else
		n = snprintf(out, E164_MAX + 1, "+%s%s", cc, mobile);
	if (n < 2 || n > E164_MAX || strspn(out + 1, "0123456789") !=
	    (size_t)n - 1)
		return -1;
	return 0;
}

int
tencent_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	const struct {
		const char	*key, *value;
	} need[] = {
		{ "tencent_secret_id", cfg->tencent_secret_id },
		{ "tencent_secret_key", cfg->tencent_secret_key },
		{ "tencent_sdk_app_id", cfg->tencent_sdk_app_id },
		{ "tencent_sign_name", cfg->tencent_sign_name },
		{ "tencent_template_id", cfg->tencent_template_id },
		{ "tencent_region", cfg->tencent_region },
		{ "country_code", cfg->country_code },
	};
	char	 host[256];
	size_t	 i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].value[0] == '\0') {
			snprintf(err, errlen, "key '%s': required by "
			    "sms_provider = tencent", need[i].key);
			return -1;
		}
	if (strlen(cfg->tencent_secret_id) > SIGN_ID_MAX) {
		snprintf(err, errlen, "key 'tencent_secret_id': longer than "
		    "%d bytes", SIGN_ID_MAX);
		return -1;
	}
	if (strlen(cfg->tencent_region) > 64) {
		snprintf(err, errlen, "key 'tencent_region': longer than 64 "
		    "bytes");
		return -1;
	}
	if (http_origin(cfg->tencent_endpoint, host, sizeof(host)) == -1) {
		snprintf(err, errlen, "key 'tencent_endpoint': expected an "
		    "http:// or https:// URL of a host, with no path");
		return -1;
	}
	return http_open(s, err, errlen);
}

int
tencent_send(struct sms *s, const char *mobile, const char *code,
    int minutes, char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	struct tc3_in		 in;
	struct tc3_out		 sig;
	char			 number[E164_MAX + 1], mins[16], host[256];
	char			 url[300], hhost[300], hts[48], hregion[96];
	char			 hauth[SIGN_AUTH_MAX + 32];
	char			*body = NULL;
	const char		*headers[] = { hhost,
	    "Content-Type: " TENCENT_CTYPE, "X-TC-Action: SendSms",
	    "X-TC-Version: " TENCENT_VERSION, hregion, hts, hauth, NULL };
	size_t			 blen = 0;
	long			 http;
	int			 rc = SMS_REFUSED;

	memset(&sig, 0, sizeof(sig));
	if (e164(mobile, cfg->country_code, number) == -1) {
		snprintf(err, errlen, "tencent: the mobile is no E.164 number "
		    "with country_code");
		goto out;
	}
	snprintf(mins, sizeof(mins), "%d", minutes);
	if (http_origin(cfg->tencent_endpoint, host, sizeof(host)) == -1 ||
	    (body = sms_json_dump(json_pack("{s:[s], s:s, s:s, s:s, s:[s, s]}",
	    "PhoneNumberSet", number, "SmsSdkAppId", cfg->tencent_sdk_app_id,
	    "SignName", cfg->tencent_sign_name, "TemplateId",
	    cfg->tencent_template_id, "TemplateParamSet", code, mins),
	    &blen)) == NULL) {
		snprintf(err, errlen, "tencent: cannot build the request");
		goto out;
	}
	memset(&in, 0, sizeof(in));
	in.secret_id = cfg->tencent_secret_id;
	in.secret_key = cfg->tencent_secret_key;
	in.service = TENCENT_SERVICE;
	in.host = host;
	in.content_type = TENCENT_CTYPE;
	in.payload = body;
	in.payloadlen = blen;
	in.timestamp = (long long)time(NULL);
	if (sign_tc3(&in, &sig) == -1) {
		snprintf(err, errlen, "tencent: cannot sign");
		goto out;
	}
	snprintf(url, sizeof(url), "%s://%s/", strncmp(cfg->tencent_endpoint,
	    "https:", 6) == 0 ? "https" : "http", host);
	/* libcurl would send the host of the URL; the signed one is sent. */
	snprintf(hhost, sizeof(hhost), "Host: %s", host);
	snprintf(hregion, sizeof(hregion), "X-TC-Region: %s",
	    cfg->tencent_region);
	snprintf(hts, sizeof(hts), "X-TC-Timestamp: %lld", in.timestamp);
	snprintf(hauth, sizeof(hauth), "Authorization: %s", sig.authorization);
	if ((http = http_post(s, "tencent", url, headers, body, err,
	    errlen)) < 0) {
		rc = http == HTTP_AMBIGUOUS ? SMS_UNKNOWN : SMS_REFUSED;
		goto out;
	}
	rc = sms_tencent_reply(http, s->reply, s->replylen, err, errlen);
out:
	wipe_free(body);
	explicit_bzero(&sig, sizeof(sig));
	return rc;
}

/*
 * tencent_refused: err for a refusal with code c (a JSON value) and
 * message m, where says which ("Error", "SendStatus").
 */
static int
tencent_refused(long http, const char *where, json_t *c, json_t *m,
    char *err, size_t errlen)
{
	char	 word[SMS_WORD_MAX + 1], msg[81];

	gateway_word(json_is_string(c) ? json_string_value(c) : "", word,
	    sizeof(word));
	outside_text(json_is_string(m) ? json_string_value(m) : "", 80, msg,
	    sizeof(msg));
	snprintf(err, errlen, "tencent: HTTP %ld, %s '%s' (%s)", http, where,
	    word, msg);
	return SMS_REFUSED;
}

/*
 * tencent_status: the verdict of j, a reply that is a JSON object (which
 * stays the caller's), with err for what is not a success.
 */
static int
tencent_status(long http, json_t *j, char *err, size_t errlen)
{
	json_t	*r, *e, *st, *c;
	int	 ok2xx = http >= 200 && http <= 299;

	r = json_object_get(j, "Response");
	if (json_is_object(e = json_object_get(r, "Error")))
		return tencent_refused(http, "Error", json_object_get(e,
		    "Code"), json_object_get(e, "Message"), err, errlen);
	st = json_array_get(json_object_get(r, "SendStatusSet"), 0);
	c = json_object_get(st, "Code");
	if (json_is_string(c) && json_string_length(c) > 0) {
		if (ok2xx && strcmp(json_string_value(c), TENCENT_OK) == 0)
			return SMS_SENT;
		return tencent_refused(http, "SendStatus", c,
		    json_object_get(st, "Message"), err, errlen);
	}
	if (ok2xx) {
		snprintf(err, errlen, "tencent: HTTP %ld, reply has neither "
		    "Error nor SendStatusSet: delivery unknown", http);
		return SMS_UNKNOWN;
	}
	snprintf(err, errlen, "tencent: HTTP %ld, reply has neither Error nor "
	    "SendStatusSet", http);
	return SMS_REFUSED;
}

int
sms_tencent_reply(long http, const char *reply, size_t len, char *err,
    size_t errlen)
{
	json_t	*j;
	int	 rc;

	if ((j = gateway_json("tencent", http, reply, len, &rc, err,
	    errlen)) == NULL)
		return rc;
	rc = tencent_status(http, j, err, errlen);
	json_decref(j);
	return rc;
}
