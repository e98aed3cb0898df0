/*
 * Shared between the .c files of core/ only; not part of core's public API.
 */
#ifndef VCODE_CORE_INTERNAL_H
#define VCODE_CORE_INTERNAL_H

#include <jansson.h>

#include "core/core.h"
#include "sms/sms.h"
#include "store/store.h"

struct store;
struct render;
struct sms;

/* ---- Checks (valid.c), hashes (crypto.c), randomness (rand.c). ---- */
struct vc_mobile;	/* a compiled mobile pattern */
/* mobile_compile: compiles pattern (POSIX ERE, REG_NOSUB); NULL + err. */
struct vc_mobile *mobile_compile(const char *pattern, char *err, size_t errlen);
void	 mobile_free(struct vc_mobile *);
/* mobile_match: 1 when s (NUL-terminated, <= VC_MOBILE_MAX) matches. */
int	 mobile_match(const struct vc_mobile *, const char *s);
/* mobile_mask: writes "138****1234" style into out (>= 16 bytes). */
void	 mobile_mask(const char *mobile, char *out, size_t outlen);
/*
 * mobile_canonical: the national number of s (which matched the pattern):
 * s without a leading "+CC" or "00CC" (cc: country_code), or a bare "CC"
 * when the pattern reads the rest, or "+" s, as a number; else s.
 * Counters and throttles are keyed on it, so that one phone is one
 * identity whatever the spelling.
 */
void	 mobile_canonical(const struct vc_mobile *, const char *cc,
	    const char *s, char *out, size_t outlen);

/* valid_id: 1 when s is VC_ID_MIN..VC_ID_MAX of [0-9A-Za-z_-]. */
int	 valid_id(const char *s);
/* valid_captcha_text: 1 when s is 1..VC_CAPTCHA_TEXT_MAX bytes, no controls. */
int	 valid_captcha_text(const char *s);
/* valid_sms_code: 1 when s is 1..VC_SMS_CODE_MAX ASCII digits. */
int	 valid_sms_code(const char *s);

/* text_fold: ASCII lower-casing in place; UTF-8 bytes >= 0x80 unchanged. */
void	 text_fold(char *s);
/* A stored code's size with sms_code_storage = hash (sms_code_value). */
#define VC_HMAC_HEX	SMS_HMAC_HEX
/* ct_equal: constant-time equality of two byte strings of lengths la, lb. */
int	 ct_equal(const void *a, size_t la, const void *b, size_t lb);

/*
 * rand_uniform: a uniform integer in [0, n) from getrandom(2), without
 * modulo bias (rejection sampling). n must be > 0. Returns -1 only if the
 * kernel refuses randomness.
 */
long	 rand_uniform(uint32_t n);
/*
 * rand_text: len characters drawn uniformly from the UTF-8 alphabet
 * charset, written NUL-terminated to out. Returns bytes written or -1 if
 * charset is empty/invalid UTF-8 or out is too small.
 */
int	 rand_text(const char *charset, int len, char *out, size_t outlen);
/* utf8_count: number of code points in a valid UTF-8 string, -1 if invalid. */
int	 utf8_count(const char *s);

/* utf8_seq: length of the UTF-8 sequence at s, or 0 if it is not valid. */
size_t	 utf8_seq(const unsigned char *s);

/* ---- Routing (core/route.c). ---- */
/*
 * route_path: joins script_name and path_info, strips the mount prefix and
 * writes the route into out. Returns 0; -1 when it does not start under
 * mount; -2 when it does not fit out.
 */
int	 route_path(const char *mount, const char *script_name,
	    const char *path_info, char *out, size_t outlen);


struct render_audio;

/* The parts of a context made on first use unless ctx_new made them. */
#define PART_RENDER	0x1u
#define PART_AUDIO	0x2u
#define PART_SMS	0x4u
#define PART_ALL	(PART_RENDER | PART_AUDIO | PART_SMS)

/*
 * sms_code_value: what is stored for code sent to mobile: the code itself
 * (plain, for legacy readers), or hex HMAC-SHA256(sms_code_key, mobile
 * ":" code) with sms_code_storage = hash. 0, or -1.
 */
int	 sms_code_value(const struct vc_config *, const char *mobile,
	    const char *code, char *out, size_t outlen);
/* sms_from_config: the configured provider (sms/), or NULL with err. */
struct sms;
/* sms_provider_of: sms/'s name for the configured provider. */
enum sms_provider sms_provider_of(const struct vc_config *);
struct sms *sms_from_config(const struct vc_config *, char *err,
	    size_t errlen);
/* now_ms: Unix time in milliseconds (the outbox's clock; clock.c). */
long long now_ms(void);
/* mono_ms: a monotonic clock in ms, for intervals (a step of the wall
 * clock does not stretch them). */
long long mono_ms(void);
/* code_minutes: the SMS code's lifetime in whole minutes, rounded up. */
int	 code_minutes(const struct vc_config *);
/*
 * key_make: prefix kind name into key (VC_KEY_MAX bytes); 0, or -1 when
 * it does not fit. The kinds under key_prefix are named once here.
 */
int	 key_make(char *key, const char *prefix, const char *kind,
	    const char *name);
_Static_assert(VC_KEY_MAX <= STORE_KEY_MAX, "a key we build fits the store's");
#define KEY_INTERVAL	"interval:"
#define KEY_DAILY	"daily:"
#define KEY_IP		"ip:"
#define KEY_BLOCK	"block:"
#define KEY_BUDGET	"budget"
#define KEY_VERIFY	"verify:"
#define KEY_FNET	"fraud:net:"	/* the guard's (README, "Fraud guard") */
#define KEY_FBLOCK	"fraud:block:"
#define KEY_FPOOL	"fraud:pool"
#define KEY_FMOBILE	"fraud:mobile:"
#define KEY_FSEEN	"fraud:seen:"
#define KEY_FARMED	"fraud:armed"
#define KEY_FCODE	"fraud:code:"
#define KEY_FSTATS	"fraud:stats"
/*
 * ctx_make: makes the parts of ctx named in want (PART_*) that it does
 * not have yet. 0, or -1 with err filled (a configuration error: a font
 * that lacks the alphabet, a provider key missing).
 */
int	 ctx_make(struct vc_ctx *, unsigned want, char *err, size_t errlen);

struct vc_ctx {
	const struct vc_config	*cfg;
	struct store_outbox	 outbox;	/* its names, for the SMS step */
	struct store_sms_limits	 limits;	/* of every SMS request */
	int			 warm;		/* CTX_WARM: glyphs rasterised */
	struct vc_mobile	*mobile;
	struct store		*store;
	struct render		*render;
	struct render_audio	*audio;
	struct sms		*sms;
};

/* Everything an application outcome can be; one row each in reply.c. */
enum outcome {
	R_SENT,			/* SMS code handed over */
	R_VERIFIED,		/* SMS code matched */
	R_IMAGE_EXPIRED,	/* captcha missing or expired */
	R_IMAGE_WRONG,		/* captcha answer wrong */
	R_THROTTLE_INTERVAL,
	R_THROTTLE_DAILY,
	R_THROTTLE_IP,
	R_THROTTLE_BLOCK,	/* the number block's hourly cap */
	R_THROTTLE_BUDGET,	/* the site's hourly budget */
	R_FRAUD_NET,		/* the guard: the network's unverified codes */
	R_FRAUD_BLOCK,		/* the number block's unverified codes */
	R_FRAUD_UNTRUSTED,	/* the untrusted share of the budget */
	R_MISSING,		/* a parameter missing */
	R_MOBILE,		/* mobile fails the pattern */
	R_SMSCODE,		/* SMS code wrong, expired or used up */
	R_DB,			/* store unreachable */
	R_PARAM,		/* a parameter malformed */
	R_SEND,			/* provider refused or unreachable */
	R_SEND_UNKNOWN,		/* sent, no answer: counted as sent */
	R_INTERNAL,		/* our own failure (render, memory) */
	R_NOTFOUND,
	R_METHOD,
	R_TOOLARGE,
	R_TOOLONG,		/* route longer than VC_PATH_MAX */
	R_MEDIATYPE,		/* POST body not application/json */
	R_UNAUTHORIZED,
	R_COUNT
};

/*
 * The fields of a route (kcgi's idea): where each comes from, how it is
 * checked, whether it is required. fields_check() reads them all before
 * the handler runs and answers, in the order the README gives ("What it serves"), MOBILEERR
 * for a mobile failing the pattern, then NECESSARYPARAMERR for a missing
 * field, then PARAMERR for a malformed one (or a query past
 * VC_QUERY_MAX). An empty value counts as absent, as in the seeds.
 */
enum fsrc {
	SRC_PATH,	/* the '*' segment of the route */
	SRC_INPUT	/* the query (GET) or the JSON body (POST) */
};

struct fdef {
	const char	*name;		/* NULL: this position is unused */
	enum fsrc	 src;
	int		(*valid)(const char *);	/* NULL for a mobile */
	size_t		 max;		/* bytes */
	int		 required;
	int		 mobile;	/* checked against mobile_pattern */
};

#define FIELDS_MAX	3
#define VC_FIELD_MAX	VC_ID_MAX	/* the longest field value */
_Static_assert(VC_FIELD_MAX >= VC_MOBILE_MAX &&
    VC_FIELD_MAX >= VC_CAPTCHA_TEXT_MAX && VC_FIELD_MAX >= VC_SMS_CODE_MAX,
    "a field buffer holds every field");

/* Positions in a route's table, by handler. */
enum { IMG_ID, IMG_PRE, IMG_LANG };
enum { SMS_MOBILE, SMS_TEXT, SMS_ID };
enum { VER_MOBILE, VER_CODE };

enum fstate { FIELD_ABSENT, FIELD_BAD, FIELD_OK };

struct field {
	enum fstate	 state;
	char		 val[VC_FIELD_MAX + 1];
};

/* One request being served: owned by vc_handle(), freed in one place. */
struct hreq {
	struct vc_ctx			*ctx;
	const struct vc_request		*req;
	struct vc_response		*resp;
	int				 dialect;	/* or VC_SERVICE */
	int				 app_200;	/* application outcomes answer 200 */
	char				 arg[VC_PATH_MAX];	/* path '*' */
	json_t				*body;		/* parsed POST body */
	struct field			 f[FIELDS_MAX];	/* fields_check */
};

/*
 * fields_check: reads the fields of table d (FIELDS_MAX rows) into h->f,
 * parsing a POST body first. 0, or -1 after replying.
 */
int	 fields_check(struct hreq *, const struct fdef *d);

/* config.c: names of enum vc_dialect, NULL-terminated. */
extern const char *const dialect_names[];

/*
 * reply.c: reply_outcome answers o in the request's dialect, with the
 * HTTP status of o decided in one table: an application outcome is 200
 * on the JSON routes (h->app_200), as the seeds' front-ends expect.
 */
void	 reply_outcome(struct hreq *, enum outcome o);
void	 reply_json(struct hreq *, int status, json_t *);	/* steals */
void	 reply_bytes(struct hreq *, int status, const char *type,
	    unsigned char *body, size_t len);			/* steals */

/*
 * query_get: finds name in the query string and percent-decodes its value
 * into out. Returns 1 found, 0 absent, -1 malformed (bad escape, %00,
 * too long for out).
 */
int	 query_get(const char *query, const char *name, char *out,
	    size_t outlen);
/*
 * json_wipe_install: makes jansson zero what it frees (parsed bodies hold
 * SMS codes). Once per process, before any JSON is made; strings jansson
 * returns (json_dumps) must then be freed by it, so vcode makes its JSON
 * text with sms_json_dump (sms/sms.h), in memory of its own.
 */
void	 json_wipe_install(void);
/*
 * client_ip: REMOTE_ADDR, or when it is in trusted_proxies the last
 * untrusted X-Forwarded-For hop, in the one spelling its counter is keyed
 * on (IPv4-mapped IPv6 as IPv4, IPv6 cut to ip6_prefix bits and written
 * "ADDR/N"). Proxies are matched in that spelling too: ::ffff:127.0.0.1
 * is the proxy 127.0.0.1.
 */
void	 client_ip(const struct vc_config *, const struct vc_request *,
	    char *out, size_t outlen);
/*
 * client_net: the network of ip (as client_ip spells it) the fraud guard
 * counts: an IPv4 address's /24 ("192.0.2.0/24"); an IPv6 one is its
 * ip6_prefix already. Anything else is copied.
 */
void	 client_net(const char *ip, char *out, size_t outlen);

/*
 * peer_is_host: 1 when addr (REMOTE_ADDR: the direct peer, whatever
 * X-Forwarded-For says) is this host, 127.0.0.1 or ::1, in any spelling
 * (::ffff:127.0.0.1 is 127.0.0.1); other 127/8 addresses are not. Writes
 * addr as inet_ntop(3) spells it into out (>= INET6_ADDRSTRLEN bytes), or
 * "none" when addr is NULL or not an address: safe for a log line.
 */
int	 peer_is_host(const char *addr, char *out, size_t outlen);

/* flow.c: 1 when every store result has its row (a unit test checks). */
int	 flow_tables_complete(void);

/* flow.c: the handlers named in the route table. */
void	 flow_image(struct hreq *);
void	 flow_audio(struct hreq *);
void	 flow_sms(struct hreq *);
void	 flow_verify(struct hreq *);
void	 flow_healthz(struct hreq *);
void	 flow_metrics(struct hreq *);	/* metrics.c */
/* route_dialect_of: the dialect of route i (enum vc_dialect, VC_SERVICE). */
int	 route_dialect_of(int i);

/*
 * metrics.c: what the flows count (README, "Operations"). Each adds one
 * to this process's slot; none fails or blocks.
 */
void	 metrics_request(int route, int status, double seconds);
void	 metrics_captcha(int dialect, int audio);
void	 metrics_sms(int dialect, int result);	/* enum store_sms_result */
void	 metrics_delivery(int dialect, enum metric_delivery);
void	 metrics_verify(int dialect, int result); /* store_verify_result */
struct store;
/* metrics_store: st counts its errors and reconnects in this slot. */
void	 metrics_store(struct store *st);
/*
 * metrics_file_write: the metrics, and the gauges read from st, into path
 * through a temporary file renamed over it (node_exporter's textfile
 * collector never reads half a file). 0 or -1 (errno says why).
 */
struct store_outbox;
int	 metrics_file_write(const char *path, const struct vc_config *,
	    struct store *st, const struct store_outbox *ob);

#endif /* VCODE_CORE_INTERNAL_H */
