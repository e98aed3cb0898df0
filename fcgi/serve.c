/*
 * The FastCGI worker: libfcgi's accept loop, and the signals that act on
 * it between requests: SIGTERM and SIGINT stop it, SIGUSR1 reopens the
 * request log.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/core.h"
#include "core/proc.h"
#include "fcgi/fcgi.h"
#include "fcgi/io.h"

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

/* What finish() reads of a body the request left unread: nginx's
 * client_max_body_size in deploy/, and past what any route takes. */
#define DRAIN_MAX	(64 * 1024)

static volatile sig_atomic_t stopping, reopening;

/*
 * finish: ends the request. Once everything the web server sent has been
 * read (its stdin to the end, reading at most DRAIN_MAX bytes more here),
 * the connection is closed at once. Otherwise libfcgi closes it
 * gracefully: shutdown, then wait up to 2 s for the server to close its
 * end, so that unread bytes never turn the close into a reset that could
 * lose the reply. The graceful close costs the worker a wait and a wake-up
 * per request, which a request read to its end does not need.
 */
static void
finish(FCGX_Request *rq)
{
	char	 buf[4096];
	size_t	 drained = 0;
	int	 n;

	while (drained < DRAIN_MAX &&
	    (n = FCGX_GetStr(buf, sizeof(buf), rq->in)) > 0)
		drained += (size_t)n;
	if (FCGX_HasSeenEOF(rq->in) == EOF && FCGX_GetError(rq->in) == 0)
		(void)FCGX_Detach(rq);
	FCGX_Finish_r(rq);
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		reopening = 1;
	else
		stopping = 1;
}

/*
 * fcgi_serve: the worker loop. SIGTERM, SIGINT and SIGUSR1 are blocked
 * except while the worker waits for a connection: a worker
 * told to stop finishes the request it has accepted, including one whose
 * parameters are still arriving, and stops only between requests; the
 * request log is reopened between requests too, so no line is split
 * between two files. The caller keeps SIGUSR1 blocked until here: a
 * worker signalled before its handler is set would otherwise die of it.
 * After max_requests requests (0: no limit) the worker ends, 0, for the
 * master to replace. The workers wait through epoll with EPOLLEXCLUSIVE,
 * so that a connection wakes one idle worker, not all of them; the
 * listening socket is non-blocking, so a connection another worker took
 * first sends this one back to waiting.
 */
int
fcgi_serve(const struct vc_config *cfg, int listen_fd, int max_requests)
{
	struct vc_ctx		*ctx;
	struct sigaction	 sa;
	struct epoll_event	 ev;
	sigset_t		 block, waiting;
	FCGX_Request		 rq;
	struct io		 io;
	char			 err[VC_ERR_MAX];
	unsigned		 fails = 0;
	long			 served = 0;
	int			 fl, rc, ep = -1, status = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waiting);
	sigdelset(&waiting, SIGTERM);
	sigdelset(&waiting, SIGINT);
	sigdelset(&waiting, SIGUSR1);

	if ((ctx = ctx_new(cfg, CTX_WARM, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return 1;
	}
	/* Opened as root, where the folder may be root's alone. */
	if (access_log_open(cfg, err, sizeof(err)) == -1) {
		log_error("%s", err);
		ctx_free(ctx);
		return 1;
	}
	if (proc_drop(cfg) == -1)
		goto out;
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_error("%s: listening socket: %s", __func__,
		    strerror(errno));
		goto out;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
		log_error("%s: epoll: %s", __func__, strerror(errno));
		goto out;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("%s: libfcgi initialisation failed", __func__);
		goto out;
	}
	io.param = fcgx_param;
	io.read = fcgx_read;
	io.write = fcgx_write;
	io.arg = &rq;
	log_debug("worker ready");
	while (!stopping) {
		if (reopening) {
			reopening = 0;
			access_log_reopen();
		}
		if (epoll_pwait(ep, &ev, 1, -1, &waiting) == -1) {
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
		fcgi_request(ctx, &io);
		finish(&rq);
		vc_log_tick();
		if (max_requests > 0 && ++served >= max_requests) {
			log_debug("worker served %ld requests: recycled",
			    served);
			break;
		}
	}
	FCGX_Free(&rq, 1);
	status = 0;
	if (stopping)
		log_debug("worker stopped");
out:
	if (ep != -1)
		close(ep);
	access_log_close();
	ctx_free(ctx);
	/* The master ends its children with _exit: no atexit. */
	vc_log_flush();
	return status;
}
