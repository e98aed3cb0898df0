/*
 * ccp: Ronglian Cloud Communications template SMS (the seeds'
 * CCP().send_template_sms): POST {base}/2013-12-26/Accounts/{sid}/SMS/
 * TemplateSMS?sig=MD5(sid token timestamp) in uppercase hex, with
 * Authorization base64(sid:timestamp) and the template data [code,
 * minutes]; statusCode "000000" is success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sms/provider.h"

#define CCP_VERSION		"2013-12-26"
#define CCP_OK			"000000"

int
ccp_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	const struct {
		const char	*key, *value;
	} need[] = {
		{ "ccp_account_sid", cfg->ccp_account_sid },
		{ "ccp_auth_token", cfg->ccp_auth_token },
		{ "ccp_app_id", cfg->ccp_app_id },
		{ "ccp_template_id", cfg->ccp_template_id },
	};
	size_t	 i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].value[0] == '\0') {
			snprintf(err, errlen, "key '%s': required by "
			    "sms_provider = ccp", need[i].key);
			return -1;
		}
	if (!http_url_ok(cfg->ccp_base_url)) {
		snprintf(err, errlen, "key 'ccp_base_url': expected an http:// "
		    "or https:// URL");
		return -1;
	}
	return http_open(s, err, errlen);
}

int
ccp_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 ts[16], sig[2 * EVP_MAX_MD_SIZE + 1], mins[16];
	char			 pair[512], b64[700], auth[720], *url = NULL;
	char			*body = NULL, *signed_text = NULL;
	const char		*base = cfg->ccp_base_url;
	const char		*headers[] = { "Accept: application/json",
	    "Content-Type: application/json;charset=utf-8", auth, NULL };
	size_t			 blen = strlen(base);
	struct tm		 tm;
	time_t			 now = time(NULL);
	long			 http;
	int			 rc = -1;

	/* The gateway checks the timestamp against its own (Beijing) clock;
	 * the seeds' SDK sends local time, and so do we. */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm) == 0 ||
	    (signed_text = secret_join(cfg->ccp_account_sid,
	    cfg->ccp_auth_token, ts)) == NULL) {
		snprintf(err, errlen, "ccp: cannot sign");
		goto out;
	}
	if (!EVP_Digest(signed_text, strlen(signed_text), md, &mdlen,
	    EVP_md5(), NULL)) {
		snprintf(err, errlen, "ccp: MD5 failed");
		goto out;
	}
	bytes_hex(md, mdlen, sig, 1);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (snprintf(pair, sizeof(pair), "%s:%s", cfg->ccp_account_sid, ts) >=
	    (int)sizeof(pair) || 4 * ((strlen(pair) + 2) / 3) >= sizeof(b64)) {
		snprintf(err, errlen, "ccp: ccp_account_sid too long");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)pair,
	    (int)strlen(pair));
	snprintf(auth, sizeof(auth), "Authorization: %s", b64);
	snprintf(mins, sizeof(mins), "%d", minutes);
	if (asprintf(&url, "%.*s/" CCP_VERSION "/Accounts/%s/SMS/TemplateSMS"
	    "?sig=%s", (int)blen, base, cfg->ccp_account_sid, sig) == -1) {
		url = NULL;
		snprintf(err, errlen, "ccp: out of memory");
		goto out;
	}
	if ((body = sms_json_dump(json_pack("{s:s, s:s, s:s, s:[s, s]}", "to",
	    mobile, "appId", cfg->ccp_app_id, "templateId",
	    cfg->ccp_template_id, "datas", code, mins), NULL)) == NULL) {
		snprintf(err, errlen, "ccp: cannot build the request");
		goto out;
	}
	if ((http = http_post(s, "ccp", url, headers, body, err, errlen)) < 0) {
		rc = http == HTTP_AMBIGUOUS ? SMS_UNKNOWN : SMS_REFUSED;
		goto out;
	}
	rc = sms_ccp_reply(http, s->reply, s->replylen, err, errlen);
out:
	wipe_free(body);
	wipe_free(signed_text);
	free(url);
	explicit_bzero(pair, sizeof(pair));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(auth, sizeof(auth));
	return rc;
}

/*
 * ccp_status_shape: 1 when s has the shape of CCP's statusCode, six ASCII
 * digits ("000000", "160038"): a word of the gateway's fixed vocabulary,
 * which operators look up, kept as it is.
 */
static int
ccp_status_shape(const char *s)
{
	size_t	 i;

	for (i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

/*
 * ccp_status: the verdict of j, a CCP reply that is a JSON object (which
 * stays the caller's), with err for a refusal.
 */
static int
ccp_status(long http, json_t *j, char *err, size_t errlen)
{
	char		 code[17], msg[81];
	const char	*status;
	json_t		*v;

	v = json_object_get(j, "statusCode");
	status = json_is_string(v) ? json_string_value(v) : "";
	if (http == 200 && strcmp(status, CCP_OK) == 0)
		return SMS_SENT;
	if (ccp_status_shape(status))
		snprintf(code, sizeof(code), "%s", status);
	else
		outside_text(status, 16, code, sizeof(code));
	v = json_object_get(j, "statusMsg");
	outside_text(json_is_string(v) ? json_string_value(v) : "", 80, msg,
	    sizeof(msg));
	snprintf(err, errlen, "ccp: HTTP %ld, statusCode '%s' (%s)", http, code,
	    msg);
	return SMS_REFUSED;
}

int
sms_ccp_reply(long http, const char *reply, size_t len, char *err,
    size_t errlen)
{
	json_t	*j;
	int	 rc;

	if ((j = gateway_json("ccp", http, reply, len, &rc, err, errlen)) == NULL)
		return rc;
	rc = ccp_status(http, j, err, errlen);
	json_decref(j);
	return rc;
}
