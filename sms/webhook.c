/*
 * webhook: POSTs {"mobile", "code", "minutes"} to webhook_url, signed with
 * X-Vcode-Timestamp (Unix seconds) and X-Vcode-Signature: sha256= the hex
 * HMAC-SHA256 under webhook_secret of "TIMESTAMP.BODY", so that the
 * receiver can refuse forged and replayed requests; any 2xx is success.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sms/provider.h"

int
webhook_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	if (!http_url_ok(cfg->webhook_url)) {
		snprintf(err, errlen, "key 'webhook_url': expected an http:// "
		    "or https:// URL, saw %s", cfg->webhook_url[0] == '\0' ?
		    "nothing" : "another scheme");
		return -1;
	}
	if (cfg->webhook_secret[0] == '\0') {
		snprintf(err, errlen, "key 'webhook_secret': required by "
		    "sms_provider = webhook");
		return -1;
	}
	return http_open(s, err, errlen);
}

int
webhook_send(struct sms *s, const char *mobile, const char *code,
    int minutes, char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	char			 ts[24], tsh[48], sig[SMS_HMAC_HEX], sigh[160];
	char			*body = NULL, *signed_text = NULL;
	const char		*headers[] = { "Content-Type: application/json",
	    tsh, sigh, NULL };
	long			 http;
	int			 rc = -1;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if ((body = sms_json_dump(json_pack("{s:s, s:s, s:i}", "mobile", mobile,
	    "code", code, "minutes", minutes), NULL)) == NULL ||
	    (signed_text = secret_join(ts, ".", body)) == NULL) {
		snprintf(err, errlen, "webhook: cannot build the request");
		goto out;
	}
	if (sms_hmac_sha256_hex(cfg->webhook_secret, signed_text,
	    strlen(signed_text), sig, sizeof(sig)) == -1) {
		snprintf(err, errlen, "webhook: HMAC failed");
		goto out;
	}
	snprintf(tsh, sizeof(tsh), "X-Vcode-Timestamp: %s", ts);
	snprintf(sigh, sizeof(sigh), "X-Vcode-Signature: sha256=%s", sig);
	http = http_post(s, "webhook", cfg->webhook_url, headers, body, err,
	    errlen);
	if (http >= 200 && http <= 299)
		rc = SMS_SENT;
	else if (http == HTTP_AMBIGUOUS)
		rc = SMS_UNKNOWN;
	else if (http >= 500) {
		/* The receiver, or a proxy after forwarding, failed: it may
		 * have sent. Only a 4xx is a definite no. */
		snprintf(err, errlen, "webhook: HTTP %ld", http);
		rc = SMS_UNKNOWN;
	} else if (http != -1)
		snprintf(err, errlen, "webhook: HTTP %ld", http);
out:
	wipe_free(body);
	wipe_free(signed_text);
	return rc;
}
