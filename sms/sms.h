/*
 * sms: hands SMS messages to a provider.
 *
 * The one public header of sms/. Providers: log (development), ccp
 * (Ronglian Cloud Communications template SMS) and webhook (signed JSON
 * POST), the last two over libcurl.
 */
#ifndef VCODE_SMS_H
#define VCODE_SMS_H

#include <stddef.h>

struct vc_config;
struct sms;	/* opaque: a provider and its state */

/* sms_new: the provider named by cfg; NULL with err on a config error. */
struct sms	*sms_new(const struct vc_config *cfg, char *err, size_t errlen);
/* sms_free: releases the provider; accepts NULL. */
void		 sms_free(struct sms *);
/*
 * sms_send: sends code to mobile, valid for minutes. Returns 0 when the
 * provider accepted it, -1 with a message in err (which never contains the
 * code) otherwise.
 */
int		 sms_send(struct sms *, const char *mobile, const char *code,
		    int minutes, char *err, size_t errlen);

/*
 * sms_ccp_reply: judges what a CCP gateway answered (HTTP status http,
 * len bytes of reply, not necessarily NUL-terminated): 0 when it took the
 * message (HTTP 200, statusCode "000000"), else -1 with the status and
 * the gateway's message in err, control characters replaced, so that a
 * hostile reply cannot forge a log line.
 */
int		 sms_ccp_reply(long http, const char *reply, size_t len,
		    char *err, size_t errlen);

#endif /* VCODE_SMS_H */
