/*
 * core: the flows of vcode and their checks.
 *
 * This is core's API. Core knows neither FastCGI nor Redis commands: it
 * is handed a parsed request (struct vc_request), talks to the store
 * through store/store.h, to the renderer through render/render.h and to
 * the SMS provider through sms/sms.h, and fills a struct vc_response that
 * fcgi/ writes out. What only core's files (and its tests) use is in
 * core/internal.h.
 */
#ifndef VCODE_CORE_H
#define VCODE_CORE_H

#include "core/vcode.h"

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
	/* What the request was, for the metrics and the request log: */
	int		 route;		/* route_name()'s index; -1: none */
	int		 dialect;	/* enum vc_dialect, or VC_SERVICE */
	const char	*outcome;	/* one word, static: "sent", "ip" */
	char		 mobile[24];	/* masked (mobile_mask), or "" */
	char		 client[VC_IP_MAX];	/* after the proxy walk */
};
void	 response_clear(struct vc_response *);
/* route_name: the pattern of route i, "" for -1. */
const char	*route_name(int i);
/* route_count: how many routes there are (0 .. route_count() - 1). */
int		 route_count(void);

/* The per-worker context that handlers run in. */
struct vc_ctx;
/* How much of a context ctx_new() makes up front. */
enum vc_ctx_mode {
	CTX_LAZY,	/* CGI, one request per process: parts on first use */
	CTX_CHECK,	/* -t and the master's probe: every part, so that its
			   configuration errors show, and nothing more */
	CTX_WARM	/* a long-lived worker: CTX_CHECK, and the glyphs
			   rasterised, so its first requests cost what the
			   later ones do */
};
/*
 * ctx_new: compiles the mobile pattern and makes a store handle that
 * connects lazily, then what mode says. Call after fork. Returns NULL with
 * err filled on a configuration error.
 */
struct vc_ctx *ctx_new(const struct vc_config *cfg, enum vc_ctx_mode mode,
	    char *err, size_t errlen);
void	 ctx_free(struct vc_ctx *);

/*
 * vc_handle: routes and serves one request. Always fills resp (status and
 * body) whatever the input; never exits. The caller frees resp with
 * response_clear().
 */
void	 vc_handle(struct vc_ctx *, const struct vc_request *,
	    struct vc_response *resp);

/*
 * vc_observe: what one answered request adds to the metrics and writes to
 * the request log; seconds from its first byte read to its last written.
 */
void	 vc_observe(const struct vc_response *, double seconds);

/*
 * Metrics (core/metrics.c). metrics_init: n slots in one shared anonymous
 * mapping, made by a master before it forks (0, or -1); without it a
 * process counts in a private slot of its own. metrics_use: a child of
 * the master adds to slot i (its row; 1 .. n - 1), as a sender or a
 * worker. metrics_write: the Prometheus text of every slot, and with ctx
 * the gauges read from the store (the outbox, the budget); 0 or -1.
 */
int	 metrics_init(int n);
void	 metrics_use(int i, int sender);
int	 metrics_write(FILE *fp, struct vc_ctx *ctx);
/* metrics_shared: 1 when this process's slots are a pool's (a master's). */
int	 metrics_shared(void);
/* What a master counts: deaths, max_requests recycles, reloads, alive. */
void	 metrics_respawn(int sender);
void	 metrics_recycle(void);
void	 metrics_reload(void);
void	 metrics_alive(int workers, int senders);
/* What becomes of an SMS; a sender counts its messages (delivery.c). */
enum metric_delivery { MD_SENT, MD_FAILED, MD_UNKNOWN, MD_QUEUED, MD_COUNT };
void	 metrics_sender(enum metric_delivery);
void	 metrics_sender_retry(void);

/*
 * The request log (core/accesslog.c; README, "Operations"): access_log
 * (a path, "syslog" or "off") in log_format (text or json). open: at
 * start, before root is given up; 0, or -1 with err. check: open and
 * close, as -t and the master do (a file that does not exist is made,
 * given to user:group when root). write: one line for a request, never a
 * code, an answer or a credential. reopen: after SIGUSR1 (logrotate).
 * close: at the end.
 */
int	 access_log_open(const struct vc_config *, char *err, size_t errlen);
int	 access_log_check(const struct vc_config *, char *err, size_t errlen);
void	 access_log_write(const struct vc_response *, double seconds);
void	 access_log_reopen(void);
void	 access_log_close(void);

/* delivery_describe: one line saying how SMS are delivered, for -t. */
void	 delivery_describe(const struct vc_config *cfg, FILE *fp);
/* fraud_describe: one line saying what the fraud guard does, for -t. */
void	 fraud_describe(const struct vc_config *cfg, FILE *fp);

/* ---- Captcha texts, for the tools that render samples. ---- */
/* rand_digits: len random ASCII digits + NUL into out (outlen > len). */
int	 rand_digits(char *out, size_t outlen, int len);
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
#endif /* VCODE_CORE_H */
