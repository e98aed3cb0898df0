/*
 * core: the flows of vcode and their checks.
 *
 * This is the one public header of core/. Core knows neither FastCGI nor
 * Redis commands: it is handed a parsed request (struct vc_request), talks
 * to the store through store/store.h, to the renderer through
 * render/render.h and to the SMS provider through sms/sms.h, and fills a
 * struct vc_response that fcgi/ writes out.
 */
#ifndef VCODE_CORE_H
#define VCODE_CORE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* ---- Limits: every fixed bound of vcode lives here. ---- */
#define VC_BODY_MAX		4096	/* POST body bytes; more answers 413 */
#define VC_QUERY_MAX		2048	/* QUERY_STRING bytes; more is PARAMERR */
#define VC_PATH_MAX		8192	/* route bytes after the mount prefix, as
					   long as nginx or Apache pass; more: 414 */
#define VC_ID_MIN		8	/* captcha id (uuid) length bounds */
#define VC_ID_MAX		64
#define VC_CAPTCHA_TEXT_MAX	16	/* typed captcha text, bytes */
#define VC_MOBILE_MAX		32	/* bytes of a mobile accepted for matching */
#define VC_SMS_CODE_MAX		12	/* sms_code_length upper bound */
#define VC_CAPTCHA_LEN_MAX	12	/* captcha_length upper bound (chars) */
#define VC_CAPTCHA_ANSWER_MAX	(VC_CAPTCHA_LEN_MAX * 4 + 1)	/* UTF-8 */
#define VC_KEY_MAX		256	/* a Redis key we build */
#define VC_IP_MAX		64	/* printable client address */
#define VC_HEADER_MAX		256	/* extra response header line */
#define VC_ERR_MAX		256	/* error message buffers */
#define VC_IP_WINDOW		3600	/* per-IP counter window, seconds */
#define VC_DAY_WINDOW		86400	/* per-mobile daily counter window */
#define VC_WORKERS_MAX		256	/* workers; a reload runs two pools */
#define VC_WIDTH_MIN		60	/* captcha_width, captcha_height */
#define VC_WIDTH_MAX		640
#define VC_HEIGHT_MIN		20
#define VC_HEIGHT_MAX		240

/* ---- Configuration (§8 of the contract). ---- */
enum vc_dialect {
	VC_MEIDUO = 0,
	VC_IHOME,
	VC_NEWS,
	VC_DIALECT_COUNT
};
#define VC_SERVICE	VC_DIALECT_COUNT	/* routes of no dialect */

enum vc_captcha_mode { VC_CAPTCHA_TEXT, VC_CAPTCHA_MATH };
enum vc_storage	 { VC_STORE_PLAIN, VC_STORE_HASH };
enum vc_delivery { VC_DELIVER_INLINE, VC_DELIVER_QUEUE };
enum vc_provider { VC_PROVIDER_LOG, VC_PROVIDER_CCP, VC_PROVIDER_WEBHOOK };
enum vc_lang	 { VC_LANG_ZH, VC_LANG_EN };
enum vc_loglevel { VC_LOG_ERROR, VC_LOG_WARN, VC_LOG_INFO, VC_LOG_DEBUG };

/* Per-dialect Redis key prefixes (§4). */
struct vc_keys {
	char	*captcha;	/* img_, image_code_, ImageCode_ */
	char	*sms;		/* sms_, sms_code_, SMS_ */
	char	*flag;		/* send_flag_, send_sms_code_, send_flag_ */
};

/*
 * A loaded configuration. Every string is owned by the struct and freed by
 * config_free(); none is NULL after a successful config_load().
 */
struct vc_config {
	char		*listen;
	int		 workers;
	char		*mount;
	unsigned	 dialects;	/* bit (1 << enum vc_dialect) */
	char		*redis;
	int		 redis_timeout_ms;
	char		*key_prefix;
	int		 captcha_length;
	char		*captcha_charset;	/* UTF-8 */
	int		 captcha_width;
	int		 captcha_height;
	int		 captcha_ttl;
	char		*captcha_font;		/* empty: built-in font */
	enum vc_captcha_mode captcha_mode;
	int		 captcha_audio_length;	/* digits spoken */
	char		*mobile_pattern;
	int		 sms_code_length;
	int		 sms_code_ttl;
	enum vc_storage	 sms_code_storage;
	int		 sms_interval;
	int		 sms_daily_limit;
	int		 ip_hourly_limit;
	int		 verify_attempts;
	enum vc_delivery sms_delivery;
	enum vc_provider sms_provider;
	char		*ccp_base_url;
	char		*ccp_account_sid;
	char		*ccp_auth_token;
	char		*ccp_app_id;
	char		*ccp_template_id;
	char		*webhook_url;
	char		*webhook_secret;
	char		*sms_log_file;		/* empty or "stderr": stderr */
	char		*sms_code_key;
	char		*api_key;
	char		*trusted_proxies;	/* space or comma separated */
	enum vc_lang	 lang;
	char		*user;
	char		*group;
	enum vc_loglevel log_level;
	struct vc_keys	 keys[VC_DIALECT_COUNT];
};

/*
 * config_load: fill cfg with the defaults, then the key = value lines of
 * path (NULL: no file), then VCODE_<KEY> environment overrides.
 * Returns 0, or -1 with a message naming file, line and key in err.
 * On failure cfg holds nothing that needs freeing.
 */
int	 config_load(struct vc_config *cfg, const char *path,
	    char *err, size_t errlen);
/* config_free: frees what config_load allocated; accepts a zeroed cfg. */
void	 config_free(struct vc_config *cfg);
/* config_dump: writes every key = value (secrets masked) to fp. */
void	 config_dump(const struct vc_config *cfg, FILE *fp);

/* ---- Logging: stderr, one line each, never a code or a full mobile. ---- */
void	 vc_log_init(const char *ident, enum vc_loglevel level);
void	 vc_log(enum vc_loglevel level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_error(...)	vc_log(VC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	vc_log(VC_LOG_WARN, __VA_ARGS__)
#define log_info(...)	vc_log(VC_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	vc_log(VC_LOG_DEBUG, __VA_ARGS__)

/* ---- Validation and randomness (core/valid.c). ---- */
struct vc_mobile;	/* a compiled mobile pattern */
/* mobile_compile: compiles pattern (POSIX ERE, REG_NOSUB); NULL + err. */
struct vc_mobile *mobile_compile(const char *pattern, char *err, size_t errlen);
void	 mobile_free(struct vc_mobile *);
/* mobile_match: 1 when s (NUL-terminated, <= VC_MOBILE_MAX) matches. */
int	 mobile_match(const struct vc_mobile *, const char *s);
/* mobile_mask: writes "138****1234" style into out (>= 16 bytes). */
void	 mobile_mask(const char *mobile, char *out, size_t outlen);

/* valid_id: 1 when s is VC_ID_MIN..VC_ID_MAX of [0-9A-Za-z_-]. */
int	 valid_id(const char *s);
/* valid_captcha_text: 1 when s is 1..VC_CAPTCHA_TEXT_MAX bytes, no controls. */
int	 valid_captcha_text(const char *s);
/* valid_sms_code: 1 when s is 1..VC_SMS_CODE_MAX ASCII digits. */
int	 valid_sms_code(const char *s);

/* text_fold: ASCII lower-casing in place; UTF-8 bytes >= 0x80 unchanged. */
void	 text_fold(char *s);
/* text_caseeq: case-insensitive (ASCII) equality of two strings. */
int	 text_caseeq(const char *a, const char *b);
/* hex_encode: n bytes as hex (uppercase when upper) into out, 2n + 1 bytes. */
void	 hex_encode(const unsigned char *in, size_t n, char *out, int upper);
/*
 * hmac_sha256_hex: lowercase hex HMAC-SHA256 of msg (len bytes) under the
 * NUL-terminated key into out (outlen >= VC_HMAC_HEX). 0, or -1.
 */
#define VC_HMAC_HEX	65	/* 64 hex digits + NUL */
int	 hmac_sha256_hex(const char *key, const void *msg, size_t len,
	    char *out, size_t outlen);
/* ct_equal: constant-time equality of two byte strings of lengths la, lb. */
int	 ct_equal(const void *a, size_t la, const void *b, size_t lb);

/*
 * rand_uniform: a uniform integer in [0, n) from getrandom(2), without
 * modulo bias (rejection sampling). n must be > 0. Returns -1 only if the
 * kernel refuses randomness.
 */
long	 rand_uniform(uint32_t n);
/* rand_digits: len random ASCII digits + NUL into out (outlen > len). */
int	 rand_digits(char *out, size_t outlen, int len);
/*
 * rand_text: len characters drawn uniformly from the UTF-8 alphabet
 * charset, written NUL-terminated to out. Returns bytes written or -1 if
 * charset is empty/invalid UTF-8 or out is too small.
 */
int	 rand_text(const char *charset, int len, char *out, size_t outlen);
/*
 * captcha_draw: a new captcha as cfg says: text mode draws captcha_length
 * characters of captcha_charset and the answer is the text; math mode
 * draws a small sum or difference ("7+3=?") whose answer is "10".
 * Writes both NUL-terminated; 0, or -1 (no randomness, buffers too small).
 */
int	 captcha_draw(const struct vc_config *cfg, char *text, size_t textlen,
	    char *answer, size_t answerlen);
/*
 * captcha_font_check: 0 when the renderer's fonts can draw every character
 * a captcha of cfg can show (the alphabet, or the digits and operators of
 * a sum); -1 with a message naming the configuration key otherwise. Run at
 * start-up, so that a font without the alphabet is refused there.
 */
struct render;
int	 captcha_font_check(struct render *r, const struct vc_config *cfg,
	    char *err, size_t errlen);
/* utf8_count: number of code points in a valid UTF-8 string, -1 if invalid. */
int	 utf8_count(const char *s);

/* ---- Requests and responses. ---- */
struct vc_request {
	const char	*method;	/* REQUEST_METHOD */
	const char	*script_name;	/* SCRIPT_NAME, may be NULL */
	const char	*path_info;	/* PATH_INFO, may be NULL */
	const char	*query;		/* QUERY_STRING, may be NULL */
	const char	*remote_addr;	/* REMOTE_ADDR */
	const char	*forwarded_for;	/* HTTP_X_FORWARDED_FOR, may be NULL */
	const char	*authorization;	/* HTTP_AUTHORIZATION, may be NULL */
	const char	*content_type;	/* CONTENT_TYPE, may be NULL */
	long long	 content_length;	/* VC_LENGTH_ABSENT, VC_LENGTH_BAD */
	const char	*body;		/* NUL-terminated copy, may be NULL */
	size_t		 body_len;
};

#define VC_LENGTH_ABSENT	(-1)	/* no CONTENT_LENGTH, or empty */
#define VC_LENGTH_BAD		(-2)	/* not a plain decimal, or absurd */

/* A response owned by the request: body freed by response_clear(). */
struct vc_response {
	int		 status;	/* HTTP status */
	const char	*content_type;	/* static string */
	char		 header[VC_HEADER_MAX];	/* extra "Name: value" or "" */
	unsigned char	*body;
	size_t		 body_len;
};
void	 response_clear(struct vc_response *);

/* ---- Routing (core/route.c). ---- */
/*
 * route_path: joins script_name and path_info, strips the mount prefix and
 * writes the route into out. Returns 0; -1 when it does not start under
 * mount; -2 when it does not fit out.
 */
int	 route_path(const char *mount, const char *script_name,
	    const char *path_info, char *out, size_t outlen);

/* The per-worker context that handlers run in. */
struct vc_ctx;
/*
 * ctx_new: compiles the mobile pattern and makes a store handle that
 * connects lazily. With prewarm (long-lived workers, -t) it also makes the
 * renderer, the audio generator and the SMS provider, so that their
 * configuration errors stop start-up; without (CGI: one request per
 * process) each is made when a request first needs it. Call after fork.
 * Returns NULL with err filled on a configuration error.
 */
struct vc_ctx *ctx_new(const struct vc_config *cfg, int prewarm, char *err,
	    size_t errlen);
void	 ctx_free(struct vc_ctx *);

/*
 * vc_handle: routes and serves one request. Always fills resp (status and
 * body) whatever the input; never exits. The caller frees resp with
 * response_clear().
 */
void	 vc_handle(struct vc_ctx *, const struct vc_request *,
	    struct vc_response *resp);

#endif /* VCODE_CORE_H */
