/*
 * CGI mode: the one request in the environment and on stdin, for hosting
 * that runs a program per request.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "fcgi/fcgi.h"
#include "fcgi/io.h"

static const char *
cgi_param(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

static long
cgi_read(void *arg, char *buf, size_t len)
{
	ssize_t	 n;

	(void)arg;
	do {
		n = read(STDIN_FILENO, buf, len);
	} while (n == -1 && errno == EINTR);
	return n;
}

static int
cgi_write(void *arg, const void *buf, size_t len)
{
	(void)arg;
	return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

int
fcgi_cgi(const struct vc_config *cfg)
{
	struct vc_ctx	*ctx;
	struct io	 io = { cgi_param, cgi_read, cgi_write, NULL };
	char		 err[VC_ERR_MAX];

	signal(SIGPIPE, SIG_IGN);
	if ((ctx = ctx_new(cfg, CTX_LAZY, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		printf("Status: 500 Internal Server Error\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"code\":5000,\"errmsg\":\"configuration error\"}");
		return 1;
	}
	fcgi_request(ctx, &io);
	fflush(stdout);
	ctx_free(ctx);
	return 0;
}
