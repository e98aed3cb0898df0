/*
 * CGI mode: the one request in the environment and on stdin, for hosting
 * that runs a program per request.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "fcgi/fcgi.h"
#include "fcgi/io.h"

#define DRAIN_MAX	(1024 * 1024)	/* body bytes read and dropped, at most */
#define STDIN_WAIT_MS	2000		/* for all of stdin: body and drain */

static long long	 body_read;	/* bytes of stdin read so far */

static const char *
cgi_param(void *arg, const char *name)
{
	(void)arg;
	return getenv(name);
}

/*
 * stdin_wait: waits until stdin can be read (or is at its end), within
 * STDIN_WAIT_MS of the first call: one deadline for all the process reads
 * of stdin, the body and then the drain, so that a client that stops
 * sending cannot hold the process until the web server kills it without
 * an answer. 1 when stdin can be read, 0 when the time is up, -1 on error.
 */
static int
stdin_wait(void)
{
	static struct timespec	 t0;
	static int		 started;
	struct timespec		 t;
	struct pollfd		 p;
	long			 left;
	int			 r;

	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!started) {
		t0 = t;
		started = 1;
	}
	for (;;) {
		left = STDIN_WAIT_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 0;
		p.fd = STDIN_FILENO;
		p.events = POLLIN;
		if ((r = poll(&p, 1, (int)left)) == 1)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &t);
	}
}

/* cgi_read: the body, as io.h's read; -1 once stdin_wait's time is up. */
static long
cgi_read(void *arg, char *buf, size_t len)
{
	ssize_t	 n;
	int	 w;

	(void)arg;
	do {
		if ((w = stdin_wait()) != 1) {
			if (w == 0)
				log_warn("%s: %lld bytes of the body came, no "
				    "more within %d ms: answering on those",
				    __func__, body_read, STDIN_WAIT_MS);
			return -1;
		}
		n = read(STDIN_FILENO, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		body_read += n;
	return n;
}

/*
 * drain: reads what is left of a body vcode did not take (one over the
 * size limit, one a route does not read), up to DRAIN_MAX, within what
 * is left of stdin_wait's time. A CGI program that exits with its stdin
 * unread makes mod_cgid's socket reset, and the client gets no reply at
 * all instead of the 413 written.
 */
static void
drain(void)
{
	const char	*cl = getenv("CONTENT_LENGTH");
	char		 buf[8192], *end;
	long long	 want;
	ssize_t		 n;

	if (cl == NULL || *cl == '\0')
		return;
	errno = 0;
	want = strtoll(cl, &end, 10);
	if (errno != 0 || *end != '\0' || want <= body_read)
		return;
	want -= body_read;
	if (want > DRAIN_MAX)
		want = DRAIN_MAX;
	while (want > 0 && stdin_wait() == 1) {
		n = read(STDIN_FILENO, buf, (size_t)want < sizeof(buf) ?
		    (size_t)want : sizeof(buf));
		if (n <= 0 && !(n == -1 && errno == EINTR))
			break;
		if (n > 0)
			want -= n;
	}
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
	/* A request unlogged is still answered: the log's failure is the
	 * operator's to see in the web server's error log. */
	if (access_log_open(cfg, err, sizeof(err)) == -1)
		log_error("%s", err);
	fcgi_request(ctx, &io);
	fflush(stdout);
	drain();
	access_log_close();
	ctx_free(ctx);
	return 0;
}
