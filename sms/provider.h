/*
 * provider.h: the one interface every provider of sms/ implements, and
 * what sms.c lends them (the HTTP handle, the wiping buffers, the
 * cleaning of a gateway's text). Private to sms/: callers see sms.h only.
 *
 * A provider is a file (log.c, ccp.c, webhook.c, aliyun.c, tencent.c)
 * that defines its open, send and close; sms.c's providers[] table names
 * it, and is the one place that does.
 */
#ifndef VCODE_SMS_PROVIDER_H
#define VCODE_SMS_PROVIDER_H

#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

#include "sms/sms.h"

#define HTTP_REPLY_MAX	(64 * 1024)	/* bytes of reply kept */
#define HTTP_AMBIGUOUS	(-2)		/* http_post: sent, no answer */
#define SMS_WORD_MAX	64		/* a provider error code, bytes */

struct sms {
	const struct provider	*p;
	struct sms_options	 opts;
	FILE			*logfp;		/* log provider */
	CURL			*curl;		/* HTTP providers */
	char			 reply[HTTP_REPLY_MAX + 1];
	size_t			 replylen;
};

/*
 * A provider's functions. open checks opts (each key it needs, naming the
 * key in err) and makes what send uses; send returns an enum sms_result
 * with err as sms_send() says; close releases what open made.
 */
struct provider {
	const char	*name;
	int		(*open)(struct sms *, const struct sms_options *,
			    char *, size_t);
	int		(*send)(struct sms *, const char *, const char *,
			    int, char *, size_t);
	void		(*close)(struct sms *);
};

int	log_open(struct sms *, const struct sms_options *, char *, size_t);
int	log_send(struct sms *, const char *, const char *, int, char *,
	    size_t);
void	log_close(struct sms *);
int	ccp_open(struct sms *, const struct sms_options *, char *, size_t);
int	ccp_send(struct sms *, const char *, const char *, int, char *,
	    size_t);
int	webhook_open(struct sms *, const struct sms_options *, char *,
	    size_t);
int	webhook_send(struct sms *, const char *, const char *, int, char *,
	    size_t);
int	aliyun_open(struct sms *, const struct sms_options *, char *,
	    size_t);
int	aliyun_send(struct sms *, const char *, const char *, int, char *,
	    size_t);
int	tencent_open(struct sms *, const struct sms_options *, char *,
	    size_t);
int	tencent_send(struct sms *, const char *, const char *, int, char *,
	    size_t);

/* ---- Lent by sms.c. ---- */

/* http_open: loads libcurl (once) and makes s->curl. 0, or -1 with err. */
int	http_open(struct sms *s, char *err, size_t errlen);
/*
 * http_post: POSTs body to url with headers (NULL-terminated; "Name:"
 * with no value removes a header libcurl would add); the reply lands in
 * s->reply. Returns the HTTP status; -1 with err filled when nothing was
 * sent (DNS, connect, TLS failure); HTTP_AMBIGUOUS with err when the
 * request went out but no whole reply came back (a timeout, a broken
 * connection): the gateway may be sending the message. what names the
 * provider in err.
 */
long	http_post(struct sms *s, const char *what, const char *url,
	    const char *const *headers, const char *body, char *err,
	    size_t errlen);
void	http_close(struct sms *s);
/* http_url_ok: an http:// or https:// URL with something after it. */
int	http_url_ok(const char *url);
/*
 * http_origin: the host[:port] of url, an http:// or https:// URL with
 * no path but "/" (an API endpoint), into out. 0, or -1 when url is not
 * one or does not fit.
 */
int	http_origin(const char *url, char *out, size_t outlen);

/*
 * secret_join: a, b and c in one buffer of its exact size, for a text
 * that holds a code or a token: asprintf(3) may grow its buffer by
 * realloc, freeing a copy unwiped. Free it with wipe_free. NULL when out
 * of memory.
 */
char	*secret_join(const char *a, const char *b, const char *c);
/* wipe_free: frees a string that held a code, zeroing it first. */
void	 wipe_free(char *);
/* bytes_hex: n bytes as hex (uppercase when upper) into out, 2n + 1 bytes. */
void	 bytes_hex(const unsigned char *in, size_t n, char *out, int upper);

/*
 * outside_text: copies at most n bytes of s, text from outside (a
 * gateway's reply), into out (outlen > 0) for a message that callers log
 * and store: controls become '?', every ASCII digit '*' (the text may
 * repeat the mobile or the code), whole UTF-8 sequences pass, any other
 * byte >= 0x80 becomes '?'.
 */
void	 outside_text(const char *s, size_t n, char *out, size_t outlen);
/*
 * gateway_word: a provider's error code (s, from its reply) as err may
 * carry it, into out (> SMS_WORD_MAX bytes): as sent when it is a word of
 * the documented vocabulary's shape (1 to SMS_WORD_MAX letters, '.', '_'
 * or '-', no digit: "isv.BUSINESS_LIMIT_CONTROL",
 * "LimitExceeded.PhoneNumberDailyLimit"), else cleaned by outside_text.
 */
void	 gateway_word(const char *s, char *out, size_t outlen);
/*
 * gateway_json: the JSON object of a reply (http, len bytes of s), or NULL
 * with the verdict in *rc and err filled: SMS_UNKNOWN for a 5xx whatever
 * its body (the gateway may have sent) or a 2xx that is not a JSON object
 * (a success we cannot read), SMS_REFUSED for another status without a
 * JSON object. The caller releases the object with json_decref.
 */
json_t	*gateway_json(const char *what, long http, const char *s,
	    size_t len, int *rc, char *err, size_t errlen);

#endif /* VCODE_SMS_PROVIDER_H */
