/*
 * sms: hands SMS messages to a provider.
 *
 * The one public header of sms/. Providers: log (development), ccp
 * (Ronglian Cloud Communications template SMS), webhook (signed JSON
 * POST), aliyun (Alibaba Cloud SMS, dysmsapi SendSms) and tencent
 * (Tencent Cloud SMS, SendSms), all but the first over libcurl; each is a
 * file of sms/ behind the interface of sms/provider.h. sms/ also owns
 * what it shares with
 * its callers, which may use it and not the reverse: the hex HMAC-SHA256
 * and the JSON text of a jansson value.
 */
#ifndef VCODE_SMS_H
#define VCODE_SMS_H

#include <stddef.h>

struct sms;	/* opaque: a provider and its state */

enum sms_provider {
	SMS_LOG, SMS_CCP, SMS_WEBHOOK, SMS_ALIYUN, SMS_TENCENT
};

/*
 * sms_provider_name: p as the configuration spells it ("log", "ccp",
 * "webhook", "aliyun", "tencent"), from the providers' table, the one
 * place a provider is named; NULL for a value that names no provider
 * (so that a caller may walk the names from 0).
 */
const char	*sms_provider_name(enum sms_provider p);

/* The longest one sms_send() waits for a provider, connecting included. */
#define SMS_SEND_MAX_MS	5000

/*
 * What a provider needs, in the configuration's words (vcode.conf(5)).
 * The strings are borrowed: they must stay valid until sms_free(); none
 * may be NULL (empty for unset).
 */
struct sms_options {
	enum sms_provider	 provider;
	const char		*sms_log_file;		/* log */
	const char		*ccp_base_url;		/* ccp */
	const char		*ccp_account_sid;
	const char		*ccp_auth_token;
	const char		*ccp_app_id;
	const char		*ccp_template_id;
	const char		*webhook_url;		/* webhook */
	const char		*webhook_secret;
	const char		*aliyun_access_key_id;	/* aliyun */
	const char		*aliyun_access_key_secret;
	const char		*aliyun_sign_name;
	const char		*aliyun_template_code;
	const char		*aliyun_template_param;	/* 1 or 2 names */
	const char		*aliyun_endpoint;
	const char		*aliyun_region;
	const char		*tencent_secret_id;	/* tencent */
	const char		*tencent_secret_key;
	const char		*tencent_sdk_app_id;
	const char		*tencent_sign_name;
	const char		*tencent_template_id;
	const char		*tencent_region;
	const char		*tencent_endpoint;
	const char		*country_code;		/* tencent: E.164 */
};

/*
 * sms_new: the provider opts names, ready to send (the log file opened,
 * an HTTP handle made). NULL with err naming the configuration key on an
 * error; err never holds a secret.
 */
struct sms	*sms_new(const struct sms_options *opts, char *err,
		    size_t errlen);
/*
 * sms_wipe_malloc, sms_wipe_free: memory zeroed when freed, for library
 * buffers that may hold a code (libcurl's, which sms/ installs, and
 * jansson's, which core installs). A block of one is freed by the other
 * only.
 */
void		*sms_wipe_malloc(size_t);
void		 sms_wipe_free(void *);
/* sms_free: releases the provider; accepts NULL. */
void		 sms_free(struct sms *);
/* What sms_send() knows of a message. */
enum sms_result {
	SMS_SENT = 0,		/* the provider took it */
	SMS_REFUSED = -1,	/* definitely not sent: nothing reached the
				   provider, or it said no */
	SMS_UNKNOWN = -2	/* the request went out, no answer came back
				   (a timeout, a broken connection): it may
				   be delivered */
};

/*
 * sms_send: sends code to mobile, valid for minutes. Returns an enum
 * sms_result; for the last two, a message in err for a log line or a dead
 * letter, which never contains the code or the mobile: text a gateway
 * sent back passes as sms_ccp_reply() says.
 */
int		 sms_send(struct sms *, const char *mobile, const char *code,
		    int minutes, char *err, size_t errlen);

/*
 * sms_ccp_reply: judges what a CCP gateway answered (HTTP status http,
 * len bytes of reply, not necessarily NUL-terminated): SMS_SENT when it
 * took the message (HTTP 200, statusCode "000000"); SMS_UNKNOWN for a 5xx
 * or a 2xx whose body is not a JSON object (it may have sent);
 * SMS_REFUSED otherwise. Except for SMS_SENT, err says why: the
 * statusCode as sent when it has the gateway's shape (six digits), else
 * masked like the statusMsg, whose digits become '*' (the gateway's text
 * may repeat the mobile or the code) and control characters '?' (a
 * hostile reply cannot forge a log line).
 */
int		 sms_ccp_reply(long http, const char *reply, size_t len,
		    char *err, size_t errlen);

/*
 * sms_aliyun_reply: judges what Alibaba Cloud's SendSms answered, as
 * sms_ccp_reply does: SMS_SENT for a 2xx whose Code is "OK"; SMS_UNKNOWN
 * for a 5xx, or a 2xx that is not a JSON object or carries no Code;
 * SMS_REFUSED for any other Code (isv.BUSINESS_LIMIT_CONTROL,
 * isv.MOBILE_NUMBER_ILLEGAL, SignatureDoesNotMatch...) or another status.
 * err names the Code as sent when it has the vocabulary's shape (letters,
 * '.', '_', '-'), else cleaned like the Message.
 */
int		 sms_aliyun_reply(long http, const char *reply, size_t len,
		    char *err, size_t errlen);
/*
 * sms_tencent_reply: judges what Tencent Cloud's SendSms answered:
 * SMS_SENT for a 2xx whose Response.SendStatusSet[0].Code is "Ok";
 * SMS_REFUSED for a Response.Error (the request was refused whole) or
 * another per-number Code (LimitExceeded.PhoneNumberDailyLimit...), or a
 * status other than 2xx and 5xx; SMS_UNKNOWN for a 5xx, or a 2xx that is
 * not a JSON object or carries neither. err as sms_aliyun_reply's.
 */
int		 sms_tencent_reply(long http, const char *reply, size_t len,
		    char *err, size_t errlen);

/*
 * sms_hmac_sha256_hex: the lowercase hex HMAC-SHA256 of msg (len bytes)
 * under the NUL-terminated key into out (outlen >= SMS_HMAC_HEX). 0, or
 * -1. The one HMAC of vcode: a webhook's signature, and the value core
 * stores for a code with sms_code_storage = hash.
 */
#define SMS_HMAC_HEX	65	/* 64 hex digits + NUL */
int		 sms_hmac_sha256_hex(const char *key, const void *msg,
		    size_t len, char *out, size_t outlen);

/*
 * sms_json_dump: the compact JSON text of o, NUL-terminated, in memory of
 * malloc(3) that the caller frees with free(3) whatever allocator jansson
 * was given (core's zeroes what jansson frees), its length in *lenp unless
 * lenp is NULL. Releases o (a json_t, which may be NULL). NULL when o is
 * NULL or on an error. Here because sms/ is the lowest layer that speaks
 * JSON: core's replies use it too.
 */
struct json_t;
char		*sms_json_dump(struct json_t *o, size_t *lenp);

#endif /* VCODE_SMS_H */
