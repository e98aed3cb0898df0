/*
 * One request: read its parameters and body through the I/O table of
 * fcgi/io.h (FastCGI or CGI), hand it to core, write the response, free
 * it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "fcgi/io.h"

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 503: return "Service Unavailable";
	default:  return "Internal Server Error";
	}
}

/*
 * Parses CONTENT_LENGTH: VC_LENGTH_ABSENT when absent or empty,
 * VC_LENGTH_BAD when not a plain decimal or past a gigabyte (core answers
 * 413 for both that and what is merely over VC_BODY_MAX).
 */
static long long
content_length(const char *s)
{
	long long	 n = 0;

	if (s == NULL || *s == '\0')
		return VC_LENGTH_ABSENT;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > 1000000000LL)
			return VC_LENGTH_BAD;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/*
 * One request as fcgi/ holds it: what was read and what core answered.
 * request_free() is the one place it is released, and the body, which may
 * hold an SMS code, is wiped there.
 */
struct request {
	struct vc_request	 req;
	struct vc_response	 resp;
	char			*body;
	size_t			 bodycap;
};

static void
request_read(struct request *r, const struct io *io)
{
	struct vc_request	*q = &r->req;
	long			 got, n;

	memset(r, 0, sizeof(*r));
	q->method = io->param(io->arg, "REQUEST_METHOD");
	q->script_name = io->param(io->arg, "SCRIPT_NAME");
	q->path_info = io->param(io->arg, "PATH_INFO");
	q->query = io->param(io->arg, "QUERY_STRING");
	q->remote_addr = io->param(io->arg, "REMOTE_ADDR");
	q->forwarded_for = io->param(io->arg, "HTTP_X_FORWARDED_FOR");
	q->authorization = io->param(io->arg, "HTTP_AUTHORIZATION");
	q->content_type = io->param(io->arg, "CONTENT_TYPE");
	q->content_length = content_length(io->param(io->arg,
	    "CONTENT_LENGTH"));
	/* Read the body only when it is within bounds; core answers 413. */
	if (q->content_length <= 0 || q->content_length > VC_BODY_MAX)
		return;
	r->bodycap = (size_t)q->content_length + 1;
	if ((r->body = malloc(r->bodycap)) == NULL) {
		r->bodycap = 0;
		return;		/* core sees no body: PARAMERR */
	}
	for (got = 0; got < q->content_length; got += n)
		if ((n = io->read(io->arg, r->body + got,
		    q->content_length - got)) <= 0)
			break;
	r->body[got] = '\0';
	q->body = r->body;
	q->body_len = (size_t)got;
}

static void
request_write(const struct request *r, const struct io *io)
{
	const struct vc_response	*p = &r->resp;
	char				 head[512 + VC_HEADER_MAX];
	int				 len;

	len = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s%s\r\n", p->status,
	    reason(p->status), p->content_type != NULL ? p->content_type :
	    "application/json", p->body_len, p->header,
	    p->header[0] != '\0' ? "\r\n" : "");
	if (len > 0 && (size_t)len < sizeof(head) &&
	    io->write(io->arg, head, len) == 0 && p->body_len > 0)
		(void)io->write(io->arg, p->body, p->body_len);
}

static void
request_free(struct request *r)
{
	response_clear(&r->resp);
	if (r->body != NULL) {
		explicit_bzero(r->body, r->bodycap);
		free(r->body);
	}
	explicit_bzero(r, sizeof(*r));
}

void
fcgi_request(struct vc_ctx *ctx, const struct io *io)
{
	struct request	 r;
	struct timespec	 t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	request_read(&r, io);
	vc_handle(ctx, &r.req, &r.resp);
	request_write(&r, io);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vc_observe(&r.resp, (double)(t1.tv_sec - t0.tv_sec) +
	    (t1.tv_nsec - t0.tv_nsec) / 1e9);
	request_free(&r);
}
