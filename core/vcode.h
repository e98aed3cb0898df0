/*
 * vcode.h: what every program of vcode shares (vcoded, vcode-render, the
 * SMS sender): the limits, the configuration and the log. No library
 * folder (render/, store/, sms/) includes it: they take plain values.
 */
#ifndef VCODE_VCODE_H
#define VCODE_VCODE_H

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
#define VC_DAY_WINDOW		86400	/* per-mobile daily counter window */
#define VC_PREFIX_MAX		11	/* prefix_digits upper bound */
#define VC_WORKERS_MAX		256	/* workers; a reload runs two pools */
#define VC_WIDTH_MIN		60	/* captcha_width, captcha_height */
#define VC_WIDTH_MAX		640
#define VC_HEIGHT_MIN		20
#define VC_HEIGHT_MAX		240
#define VC_CLAIM_IDLE_MIN	6000	/* sms_claim_idle_ms: above the longest
					   provider call (config.c checks), so
					   no live sender's message is taken */
#define VC_SENDERS_MAX		64	/* smsd_workers */
#define VC_ROUTES_MAX		16	/* routes in route.c's table */

/* ---- Configuration: vcode.conf(5). ---- */
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
/* sms/'s providers, in its order (ctx.c checks); their names are sms/'s. */
enum vc_provider {
	VC_PROVIDER_LOG, VC_PROVIDER_CCP, VC_PROVIDER_WEBHOOK,
	VC_PROVIDER_ALIYUN, VC_PROVIDER_TENCENT
};
enum vc_lang	 { VC_LANG_ZH, VC_LANG_EN };
enum vc_loglevel { VC_LOG_ERROR, VC_LOG_WARN, VC_LOG_INFO, VC_LOG_DEBUG };
enum vc_fraud	 { VC_FRAUD_OFF, VC_FRAUD_RECORD, VC_FRAUD_ENFORCE };
enum vc_logformat { VC_LOGFMT_TEXT, VC_LOGFMT_JSON };

/* Per-dialect Redis key prefixes (README, "What it serves"). */
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
	char		*redis_sentinels;	/* "" : the redis URL's host */
	char		*redis_master;		/* its name at the sentinels */
	char		*redis_sentinel_password;
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
	char		*country_code;		/* digits; "" for none */
	int		 sms_code_length;
	int		 sms_code_ttl;
	enum vc_storage	 sms_code_storage;
	int		 sms_interval;
	int		 sms_daily_limit;
	int		 ip_hourly_limit;
	int		 verify_attempts;
	int		 prefix_digits;		/* a number block: this many */
	int		 prefix_hourly_limit;	/* SMS per block and hour */
	int		 sms_hourly_budget;	/* SMS of the site per hour */
	int		 hour_seconds;		/* the hour of the hourly limits */
	enum vc_fraud	 fraud_guard;		/* README, "Fraud guard" */
	int		 fraud_window;		/* hours the bounds look back */
	int		 fraud_net_floor, fraud_net_ratio;	/* ratio: % */
	int		 fraud_block_floor, fraud_block_ratio;
	int		 fraud_untrusted_share;	/* % of sms_hourly_budget */
	int		 fraud_ip_earn;		/* address cap per verified */
	int		 fraud_trust_days;
	int		 fraud_learn_hours;	/* after the first verification */
	enum vc_delivery sms_delivery;
	int		 sms_queue_max;		/* messages waiting, at most */
	int		 sms_max_tries;		/* then the dead-letter stream */
	int		 sms_resend_unknown;	/* resends of a message whose
						   delivery is unknown */
	int		 sms_claim_idle_ms;	/* a dead sender's messages */
	int		 smsd_workers;		/* senders vcoded's master runs */
	char		*metrics_file;		/* vcode-smsd's textfile, or "" */
	enum vc_provider sms_provider;
	char		*ccp_base_url;
	char		*ccp_account_sid;
	char		*ccp_auth_token;
	char		*ccp_app_id;
	char		*ccp_template_id;
	char		*webhook_url;
	char		*webhook_secret;
	char		*aliyun_access_key_id;
	char		*aliyun_access_key_secret;
	char		*aliyun_sign_name;
	char		*aliyun_template_code;
	char		*aliyun_template_param;	/* the template's names */
	char		*aliyun_endpoint;
	char		*aliyun_region;
	char		*tencent_secret_id;
	char		*tencent_secret_key;
	char		*tencent_sdk_app_id;
	char		*tencent_sign_name;
	char		*tencent_template_id;
	char		*tencent_region;
	char		*tencent_endpoint;
	char		*sms_log_file;		/* empty or "stderr": stderr */
	char		*sms_code_key;
	char		*api_key;
	char		*trusted_proxies;	/* space or comma separated */
	int		 ip6_prefix;		/* IPv6 counted per this prefix */
	enum vc_lang	 lang;
	char		*user;
	char		*group;
	enum vc_loglevel log_level;
	char		*access_log;		/* a path, "syslog" or "off" */
	enum vc_logformat log_format;
	int		 max_requests;		/* a worker serves, then is
						   replaced; 0: never */
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

/*
 * ---- Logging: stderr, one line each, never a code or a full mobile. ----
 * A warn or error line that repeats (the same text but for its numbers)
 * is written the first three times, then summed up every few seconds,
 * and a line says when the run is over (log.c). vc_log_tick: writes the
 * end of the runs that have stopped; a daemon calls it between requests
 * or ticks, so that the line comes without waiting for the next log
 * line. vc_log_flush: says the repeats not yet said and forgets every
 * run; run at exit (vc_log_init arranges it), and by a child that ends
 * with _exit. vc_log_clock: a clock in milliseconds for the runs (NULL:
 * monotonic), for tests.
 */
void	 vc_log_init(const char *ident, enum vc_loglevel level);
void	 vc_log_tick(void);
void	 vc_log_flush(void);
void	 vc_log_clock(long long (*clock_ms)(void));
void	 vc_log(enum vc_loglevel level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
#define log_error(...)	vc_log(VC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	vc_log(VC_LOG_WARN, __VA_ARGS__)
#define log_info(...)	vc_log(VC_LOG_INFO, __VA_ARGS__)
#define log_debug(...)	vc_log(VC_LOG_DEBUG, __VA_ARGS__)

#endif /* VCODE_VCODE_H */
