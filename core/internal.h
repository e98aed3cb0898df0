/*
 * Shared between the .c files of core/ only; not part of core's public API.
 */
#ifndef VCODE_CORE_INTERNAL_H
#define VCODE_CORE_INTERNAL_H

#include <jansson.h>

#include "core/core.h"

struct store;
struct render;
struct sms;

struct render_audio;

/* The parts of a context made on first use unless prewarmed. */
#define PART_RENDER	0x1u
#define PART_AUDIO	0x2u
#define PART_SMS	0x4u
#define PART_ALL	(PART_RENDER | PART_AUDIO | PART_SMS)

struct vc_ctx {
	const struct vc_config	*cfg;
	int			 prewarm;	/* long-lived: make all up front */
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
	R_MISSING,		/* a parameter missing */
	R_MOBILE,		/* mobile fails the pattern */
	R_SMSCODE,		/* SMS code wrong, expired or used up */
	R_DB,			/* store unreachable */
	R_PARAM,		/* a parameter malformed */
	R_SEND,			/* provider refused or unreachable */
	R_INTERNAL,		/* our own failure (render, memory) */
	R_NOTFOUND,
	R_METHOD,
	R_TOOLARGE,
	R_TOOLONG,		/* route longer than VC_PATH_MAX */
	R_MEDIATYPE,		/* POST body not application/json */
	R_UNAUTHORIZED,
	R_COUNT
};

/* One request being served: owned by vc_handle(), freed in one place. */
struct hreq {
	struct vc_ctx			*ctx;
	const struct vc_request		*req;
	struct vc_response		*resp;
	int				 dialect;	/* or VC_SERVICE */
	char				 arg[VC_PATH_MAX];	/* path '*' */
	json_t				*body;		/* parsed POST body */
};

/* config.c: names of enum vc_dialect, NULL-terminated. */
extern const char *const dialect_names[];

/* reply.c */
void	 reply_outcome(struct hreq *, int status, enum outcome);
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
/* client_ip: REMOTE_ADDR, or the last untrusted X-Forwarded-For hop. */
void	 client_ip(const struct vc_config *, const struct vc_request *,
	    char *out, size_t outlen);

/* flow.c: 1 when every store result has its row (a unit test checks). */
int	 flow_tables_complete(void);

/* flow.c: the handlers named in the route table. */
void	 flow_image(struct hreq *);
void	 flow_audio(struct hreq *);
void	 flow_sms(struct hreq *);
void	 flow_verify(struct hreq *);
void	 flow_healthz(struct hreq *);

#endif /* VCODE_CORE_INTERNAL_H */
