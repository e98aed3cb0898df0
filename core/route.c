/*
 * Routing: SCRIPT_NAME + PATH_INFO minus the mount prefix, matched against
 * one table of (method, pattern, dialect, handler).
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"

/* valid_lang: the spoken language of an audio challenge. */
static int
valid_lang(const char *s)
{
	return strcmp(s, "zh") == 0 || strcmp(s, "en") == 0;
}

/*
 * The fields of each route, at the positions its handler reads (IMG_*,
 * SMS_*, VER_* in internal.h): name, source, validator, bytes, required,
 * mobile.
 */
#define F_PATH_ID	{ "id", SRC_PATH, valid_id, VC_ID_MAX, 1, 0 }
#define F_ID(n)		{ n, SRC_INPUT, valid_id, VC_ID_MAX, 1, 0 }
#define F_PRE		{ "pre", SRC_INPUT, valid_id, VC_ID_MAX, 0, 0 }
#define F_LANG		{ "lang", SRC_INPUT, valid_lang, 2, 0, 0 }
#define F_MOBILE(s)	{ "mobile", s, NULL, VC_MOBILE_MAX, 1, 1 }
#define F_TEXT		{ "image_code", SRC_INPUT, valid_captcha_text, \
			  VC_CAPTCHA_TEXT_MAX, 1, 0 }
#define F_CODE		{ "sms_code", SRC_INPUT, valid_sms_code, \
			  VC_SMS_CODE_MAX, 1, 0 }
#define F_NONE		{ NULL, SRC_INPUT, NULL, 0, 0, 0 }

static const struct fdef meiduo_image[FIELDS_MAX] = {
	F_PATH_ID, F_PRE, F_NONE };
static const struct fdef meiduo_audio[FIELDS_MAX] = {
	F_PATH_ID, F_PRE, F_LANG };
static const struct fdef ihome_image[FIELDS_MAX] = {
	F_ID("uuid"), F_NONE, F_NONE };
static const struct fdef ihome_audio[FIELDS_MAX] = {
	F_ID("uuid"), F_NONE, F_LANG };
static const struct fdef news_image[FIELDS_MAX] = {
	F_ID("code_id"), F_NONE, F_NONE };
static const struct fdef news_audio[FIELDS_MAX] = {
	F_ID("code_id"), F_NONE, F_LANG };
static const struct fdef meiduo_sms[FIELDS_MAX] = {
	F_MOBILE(SRC_PATH), F_TEXT, F_ID("uuid") };
static const struct fdef ihome_sms[FIELDS_MAX] = {
	F_MOBILE(SRC_INPUT), F_TEXT, F_ID("uuid") };
static const struct fdef news_sms[FIELDS_MAX] = {
	F_MOBILE(SRC_INPUT), F_TEXT, F_ID("image_code_id") };
static const struct fdef verify[FIELDS_MAX] = {
	F_MOBILE(SRC_PATH), F_CODE, F_NONE };
static const struct fdef verify_body[FIELDS_MAX] = {
	F_MOBILE(SRC_INPUT), F_CODE, F_NONE };
static const struct fdef nothing[FIELDS_MAX] = { F_NONE, F_NONE, F_NONE };

struct route {
	const char	*method;
	const char	*pattern;	/* '*' is one non-empty segment */
	int		 dialect;
	void		(*handler)(struct hreq *);
	const struct fdef *fields;
	int		 app_200;	/* a JSON route: application outcomes
					   answer HTTP 200 */
	int		 keyed;		/* authorized() decides who may call */
};

static const struct route routes[] = {
	{ "GET",  "/image_codes/*",	  VC_MEIDUO, flow_image, meiduo_image, 0, 0 },
	{ "GET",  "/image_codes/*/audio", VC_MEIDUO, flow_audio, meiduo_audio, 0, 0 },
	{ "GET",  "/sms_codes/*",	  VC_MEIDUO, flow_sms, meiduo_sms, 1, 0 },
	{ "POST", "/sms_codes/*/verify",  VC_MEIDUO, flow_verify, verify, 1, 1 },
	{ "GET",  "/image_code",	  VC_IHOME, flow_image, ihome_image, 0, 0 },
	{ "GET",  "/image_code/audio",	  VC_IHOME, flow_audio, ihome_audio, 0, 0 },
	{ "POST", "/sms_code",		  VC_IHOME, flow_sms, ihome_sms, 1, 0 },
	{ "POST", "/sms_code/verify",	  VC_IHOME, flow_verify, verify_body, 1, 1 },
	{ "GET",  "/passport/image_code", VC_NEWS, flow_image, news_image, 0, 0 },
	{ "GET",  "/passport/image_code/audio", VC_NEWS, flow_audio, news_audio,
	  0, 0 },
	{ "POST", "/passport/sms_code",	  VC_NEWS, flow_sms, news_sms, 1, 0 },
	{ "POST", "/passport/sms_code/verify", VC_NEWS, flow_verify, verify_body,
	  1, 1 },
	{ "GET",  "/healthz",		  VC_SERVICE, flow_healthz, nothing, 0, 0 },
	{ "GET",  "/metrics",		  VC_SERVICE, flow_metrics, nothing, 0, 1 },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))
_Static_assert(NROUTES <= VC_ROUTES_MAX, "VC_ROUTES_MAX is too small");

const char *
route_name(int i)
{
	return i >= 0 && (size_t)i < NROUTES ? routes[i].pattern : "";
}

int
route_dialect_of(int i)
{
	return i >= 0 && (size_t)i < NROUTES ? routes[i].dialect : VC_SERVICE;
}

int
route_count(void)
{
	return (int)NROUTES;
}

int
route_path(const char *mount, const char *script_name, const char *path_info,
    char *out, size_t outlen)
{
	char	 full[VC_PATH_MAX * 2];
	size_t	 m = mount != NULL ? strlen(mount) : 0;
	int	 n;

	n = snprintf(full, sizeof(full), "%s%s",
	    script_name != NULL ? script_name : "",
	    path_info != NULL ? path_info : "");
	if (n < 0 || (size_t)n >= sizeof(full))
		return -2;
	/* A mount of "/api/" and one of "/api" mean the same. */
	while (m > 0 && mount[m - 1] == '/')
		m--;
	if (m > 0) {
		if (strncmp(full, mount, m) != 0 ||
		    (full[m] != '/' && full[m] != '\0'))
			return -1;
	}
	n = snprintf(out, outlen, "%s", full[m] == '\0' ? "/" : full + m);
	if (n < 0 || (size_t)n >= outlen)
		return -2;
	if (out[0] != '/')
		return -1;
	return 0;
}

/*
 * Matches path against pattern; a trailing slash on path is optional.
 * The segment matched by '*' is copied into arg. 1 on a match.
 */
static int
route_match(const char *pattern, const char *path, char *arg, size_t arglen)
{
	const char	*p = pattern, *s = path;
	size_t		 n;

	while (*p != '\0') {
		if (*p == '*') {
			n = strcspn(s, "/");
			if (n == 0 || n >= arglen)
				return 0;
			memcpy(arg, s, n);
			arg[n] = '\0';
			s += n;
			p++;
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
	return *s == '\0' || (s[0] == '/' && s[1] == '\0');
}

/*
 * authorized: with api_key set, "Authorization: Bearer KEY" is api_key
 * (constant time). Without one, the direct peer must be this host
 * (peer_is_host): whoever else reaches a keyed route can burn a
 * stranger's code with wrong guesses, so no front end's rule, however
 * written, can open it. A refused peer is logged, the mobile masked.
 */
static int
authorized(const struct hreq *h, const struct route *r)
{
	const char	*key = h->ctx->cfg->api_key, *a;
	char		 peer[INET6_ADDRSTRLEN];

	if (key[0] == '\0') {
		if (peer_is_host(h->req->remote_addr, peer, sizeof(peer)))
			return 1;
		mobile_mask(strlen(h->arg) <= VC_MOBILE_MAX &&
		    mobile_match(h->ctx->mobile, h->arg) ? h->arg : "",
		    h->resp->mobile, sizeof(h->resp->mobile));
		log_warn("%s: %s %s for %s from %s refused: api_key is unset, "
		    "so only this host may call it", __func__, r->method,
		    r->pattern, h->resp->mobile, peer);
		return 0;
	}
	a = h->req->authorization;
	if (a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
		return 0;
	a += 7;
	while (*a == ' ')
		a++;
	return ct_equal(a, strlen(a), key, strlen(key));
}

/*
 * is_json_type: 1 when a Content-Type is application/json, in any case, with
 * or without parameters (charset): what a browser's plain form cannot send
 * cross-site without a CORS preflight.
 */
static int
is_json_type(const char *ct)
{
	static const char	 want[] = "application/json";
	size_t			 n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

void
vc_handle(struct vc_ctx *ctx, const struct vc_request *req,
    struct vc_response *resp)
{
	struct hreq		 h;
	const struct route	*r, *found = NULL;
	char			 path[VC_PATH_MAX], allow[64] = "";
	size_t			 i;
	int			 known = 0;

	memset(resp, 0, sizeof(*resp));
	memset(&h, 0, sizeof(h));
	h.ctx = ctx;
	h.req = req;
	h.resp = resp;
	h.dialect = VC_MEIDUO;	/* the canonical shape for unknown routes */
	resp->route = -1;
	resp->dialect = VC_SERVICE;
	client_ip(ctx->cfg, req, resp->client, sizeof(resp->client));

	switch (route_path(ctx->cfg->mount, req->script_name, req->path_info,
	    path, sizeof(path))) {
	case 0:
		break;
	case -2:
		reply_outcome(&h, R_TOOLONG);
		goto done;
	default:
		reply_outcome(&h, R_NOTFOUND);
		goto done;
	}
	for (i = 0; i < NROUTES; i++) {
		r = &routes[i];
		if (r->dialect != VC_SERVICE &&
		    !(ctx->cfg->dialects & (1u << r->dialect)))
			continue;
		if (!route_match(r->pattern, path, h.arg, sizeof(h.arg)))
			continue;
		known = 1;
		h.dialect = r->dialect == VC_SERVICE ? VC_MEIDUO : r->dialect;
		resp->dialect = r->dialect;
		if (strcmp(r->method, req->method != NULL ? req->method : "")
		    == 0) {
			found = r;
			resp->route = (int)i;
			break;
		}
		if (strstr(allow, r->method) == NULL)
			snprintf(allow + strlen(allow),
			    sizeof(allow) - strlen(allow), "%s%s",
			    allow[0] != '\0' ? ", " : "", r->method);
	}
	if (found == NULL) {
		if (known) {
			snprintf(resp->header, sizeof(resp->header),
			    "Allow: %s", allow);
			reply_outcome(&h, R_METHOD);
		} else
			reply_outcome(&h, R_NOTFOUND);
		goto done;
	}
	h.app_200 = found->app_200;
	if (req->content_length > VC_BODY_MAX ||
	    req->content_length == VC_LENGTH_BAD) {
		reply_outcome(&h, R_TOOLARGE);
		goto done;
	}
	if (strcmp(found->method, "POST") == 0 &&
	    !is_json_type(req->content_type)) {
		reply_outcome(&h, R_MEDIATYPE);
		goto done;
	}
	if (found->keyed && !authorized(&h, found)) {
		snprintf(resp->header, sizeof(resp->header),
		    "WWW-Authenticate: Bearer");
		reply_outcome(&h, R_UNAUTHORIZED);
		goto done;
	}
	if (fields_check(&h, found->fields) == 0)
		found->handler(&h);
done:
	json_decref(h.body);
	explicit_bzero(h.arg, sizeof(h.arg));
	explicit_bzero(h.f, sizeof(h.f));
}
