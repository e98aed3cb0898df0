/*
 * The field tables' checker: every field a route declares is read and
 * judged before its handler runs (internal.h, struct fdef).
 */
#include <string.h>

#include "core/internal.h"

/* read_one: field d of the request into f. */
static void
read_one(struct hreq *h, const struct fdef *d, struct field *f)
{
	const char	*s;
	json_t		*v;
	size_t		 n;
	int		 rc;

	f->state = FIELD_ABSENT;
	f->val[0] = '\0';
	if (d->name == NULL)
		return;
	if (d->src == SRC_PATH) {
		if ((n = strlen(h->arg)) == 0)
			return;
		if (n > d->max) {
			f->state = FIELD_BAD;
			return;
		}
		memcpy(f->val, h->arg, n + 1);
	} else if (h->body == NULL) {
		rc = query_get(h->req->query, d->name, f->val, d->max + 1);
		if (rc == 0 || (rc == 1 && f->val[0] == '\0'))
			return;
		if (rc == -1) {
			f->state = FIELD_BAD;	/* bad escape, or too long */
			return;
		}
	} else {
		if ((v = json_object_get(h->body, d->name)) == NULL ||
		    json_is_null(v))
			return;
		if (!json_is_string(v)) {
			f->state = FIELD_BAD;
			return;
		}
		s = json_string_value(v);
		if ((n = json_string_length(v)) == 0)
			return;
		if (n > d->max || strlen(s) != n) {
			f->state = FIELD_BAD;	/* too long, or an embedded NUL */
			return;
		}
		memcpy(f->val, s, n + 1);
	}
	f->state = (d->mobile ? mobile_match(h->ctx->mobile, f->val) :
	    d->valid(f->val)) ? FIELD_OK : FIELD_BAD;
}

int
fields_check(struct hreq *h, const struct fdef *d)
{
	json_error_t	 e;
	int		 i, missing = 0, bad = 0;

	if (strcmp(h->req->method, "POST") == 0) {
		if (h->req->body != NULL)
			h->body = json_loadb(h->req->body, h->req->body_len,
			    JSON_REJECT_DUPLICATES, &e);
		if (h->body == NULL || !json_is_object(h->body)) {
			reply_outcome(h, R_PARAM);
			return -1;
		}
	}
	for (i = 0; i < FIELDS_MAX; i++)
		read_one(h, &d[i], &h->f[i]);
	for (i = 0; i < FIELDS_MAX; i++)
		if (d[i].mobile && h->f[i].state == FIELD_BAD) {
			reply_outcome(h, R_MOBILE);
			return -1;
		}
	for (i = 0; i < FIELDS_MAX; i++) {
		missing |= d[i].required && h->f[i].state == FIELD_ABSENT;
		bad |= h->f[i].state == FIELD_BAD;
	}
	if (missing) {
		reply_outcome(h, R_MISSING);
		return -1;
	}
	if (bad || (h->req->query != NULL &&
	    strlen(h->req->query) > VC_QUERY_MAX)) {
		reply_outcome(h, R_PARAM);
		return -1;
	}
	return 0;
}
