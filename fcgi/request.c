/*
 * One request: read its parameters and body through a small I/O table
 * (FastCGI or CGI), hand it to core, write the response, free it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/core.h"
#include "core/proc.h"
#include "fcgi/fcgi.h"

/* Where a request comes from and goes to. */
struct io {
	const char	*(*param)(void *, const char *);
	long		 (*read)(void *, char *, size_t);
	int		 (*write)(void *, const void *, size_t);
	void		 *arg;
};

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

static void
serve_one(struct vc_ctx *ctx, const struct io *io)
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

/* ---- FastCGI ---- */

static const char *
fcgx_param(void *arg, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)arg)->envp);
}

static long
fcgx_read(void *arg, char *buf, size_t len)
{
	return FCGX_GetStr(buf, (int)len, ((FCGX_Request *)arg)->in);
}

static int
fcgx_write(void *arg, const void *buf, size_t len)
{
	return FCGX_PutStr(buf, (int)len, ((FCGX_Request *)arg)->out) ==
	    (int)len ? 0 : -1;
}

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/*
 * fcgi_serve: the worker loop. SIGTERM and SIGINT are blocked except while
 * the worker waits in ppoll() for a connection: a worker told to stop
 * finishes the request it has accepted, including one whose parameters
 * are still arriving, and stops only between requests. The listening
 * socket is non-blocking, so a connection another worker took first
 * sends this one back to ppoll().
 */
int
fcgi_serve(const struct vc_config *cfg, int listen_fd)
{
	struct vc_ctx		*ctx;
	struct sigaction	 sa;
	struct pollfd		 pfd;
	sigset_t		 block, waiting;
	FCGX_Request		 rq;
	struct io		 io;
	char			 err[VC_ERR_MAX];
	unsigned		 fails = 0;
	int			 fl, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);

	if ((ctx = ctx_new(cfg, 1, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 1;
	}
	if (proc_drop(cfg) == -1) {
		ctx_free(ctx);
		return 1;
	}
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_error("%s: listening socket: %s", __func__,
		    strerror(errno));
		ctx_free(ctx);
		return 1;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: libfcgi initialisation failed", __func__);
		ctx_free(ctx);
		return 1;
	}
	io.param = fcgx_param;
	io.read = fcgx_read;
	io.write = fcgx_write;
	io.arg = &rq;
	pfd.fd = listen_fd;
	pfd.events = POLLIN;
	log_debug("worker ready");
	while (!stopping) {
		if (ppoll(&pfd, 1, NULL, &waiting) == -1) {
			if (errno != EINTR && ++fails % 100 == 1)
				log_warn("%s: poll failed: %s", __func__,
				    strerror(errno));
			if (errno != EINTR)
				usleep(10000);
			continue;
		}
		if (stopping)
			break;
		if ((rc = FCGX_Accept_r(&rq)) < 0) {
			/* Taken by another worker: wait again. Else back off
			 * on a broken listener, never spin. */
			if (rc == -EAGAIN || rc == -EWOULDBLOCK)
				continue;
			if (++fails % 100 == 1)
				log_warn("%s: accept failed: %s", __func__,
				    strerror(-rc));
			usleep(10000);
			continue;
		}
		fails = 0;
		serve_one(ctx, &io);
		FCGX_Finish_r(&rq);
	}
	FCGX_Free(&rq, 1);
	ctx_free(ctx);
	log_debug("worker stopped");
	return 0;
}

/* ---- CGI ---- */

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
	if ((ctx = ctx_new(cfg, 0, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		printf("Status: 500 Internal Server Error\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"code\":5000,\"errmsg\":\"configuration error\"}");
		return 1;
	}
	serve_one(ctx, &io);
	fflush(stdout);
	ctx_free(ctx);
	return 0;
}
