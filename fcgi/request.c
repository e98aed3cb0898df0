/*
 * One request: read its parameters and body through the I/O table of
 * fcgi/io.h (FastCGI or CGI), hand it to core, write the response, free
 * it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
fcgi_request(struct vc_ctx *ctx, const struct io *io)
{
	struct vc_request	 req;
	struct vc_response	 resp;
	char			 head[512 + VC_HEADER_MAX], *body = NULL;
	long			 got, n;
	int			 len;

	memset(&req, 0, sizeof(req));
	req.method = io->param(io->arg, "REQUEST_METHOD");
	req.script_name = io->param(io->arg, "SCRIPT_NAME");
	req.path_info = io->param(io->arg, "PATH_INFO");
	req.query = io->param(io->arg, "QUERY_STRING");
	req.remote_addr = io->param(io->arg, "REMOTE_ADDR");
	req.forwarded_for = io->param(io->arg, "HTTP_X_FORWARDED_FOR");
	req.authorization = io->param(io->arg, "HTTP_AUTHORIZATION");
	req.content_type = io->param(io->arg, "CONTENT_TYPE");
	req.content_length = content_length(io->param(io->arg,
	    "CONTENT_LENGTH"));

	/* Read the body only when it is within bounds; core answers 413. */
	if (req.content_length > 0 && req.content_length <= VC_BODY_MAX &&
	    (body = malloc(req.content_length + 1)) != NULL) {
		for (got = 0; got < req.content_length; got += n)
			if ((n = io->read(io->arg, body + got,
			    req.content_length - got)) <= 0)
				break;
		body[got] = '\0';
		req.body = body;
		req.body_len = got;
	}

	vc_handle(ctx, &req, &resp);

	len = snprintf(head, sizeof(head), "Status: %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n%s%s\r\n", resp.status,
	    reason(resp.status), resp.content_type != NULL ?
	    resp.content_type : "application/json", resp.body_len,
	    resp.header, resp.header[0] != '\0' ? "\r\n" : "");
	if (len > 0 && (size_t)len < sizeof(head) &&
	    io->write(io->arg, head, len) == 0 && resp.body_len > 0)
		(void)io->write(io->arg, resp.body, resp.body_len);
	response_clear(&resp);
	if (body != NULL) {
		explicit_bzero(body, req.body_len);
		free(body);
	}
}
