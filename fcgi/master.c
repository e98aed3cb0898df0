/*
 * The prefork master: binds the socket, forks the workers (and, with
 * smsd_workers, the SMS senders of queued delivery), respawns the ones
 * that die or have served max_requests, passes SIGUSR1 on to the workers
 * (the request log is reopened), and on SIGTERM/SIGINT stops them (each
 * finishes the request or message it is on) and exits 0.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "core/proc.h"
#include "core/smsd.h"
#include "fcgi/fcgi.h"

#define LISTEN_BACKLOG		256
#define SOCKET_MODE		0660
#define STOP_GRACE_SEC		30	/* then SIGKILL what is left */
#define RESPAWN_BACKOFF_SEC	1	/* a worker dying at start-up */

/* Binds a unix socket at path, mode 0660, owned by user:group as root. */
static int
bind_unix(const struct vc_config *cfg, const char *path)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	uid_t			 uid;
	gid_t			 gid;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("key 'listen': socket path too long");
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	/* A stale socket of an earlier run; never remove anything else. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_error("bind %s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (chmod(path, SOCKET_MODE) == -1)
		log_warn("chmod %s: %s", path, strerror(errno));
	if (geteuid() == 0 && (proc_ids(cfg, &uid, &gid) == -1 ||
	    chown(path, uid, gid) == -1))
		log_warn("socket %s: cannot give it to %s:%s", path,
		    cfg->user, cfg->group);
	return fd;
}

/* Binds HOST:PORT. */
static int
bind_tcp(const char *spec)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256];
	const char	*colon = strrchr(spec, ':');
	size_t		 n;
	int		 fd = -1, one = 1, rc;

	if (colon == NULL || (n = colon - spec) >= sizeof(host)) {
		log_error("key 'listen': expected unix:PATH or HOST:PORT");
		return -1;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	/* "[::1]:9000" */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, colon + 1,
	    &hints, &res)) != 0) {
		log_error("listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_error("bind %s: %s", spec, strerror(errno));
	return fd;
}

static int
bind_listen(const struct vc_config *cfg)
{
	int	 fd;

	if (strncmp(cfg->listen, "unix:", 5) == 0)
		fd = bind_unix(cfg, cfg->listen + 5);
	else
		fd = bind_tcp(cfg->listen);
	if (fd != -1 && listen(fd, LISTEN_BACKLOG) == -1) {
		log_error("listen %s: %s", cfg->listen, strerror(errno));
		close(fd);
		if (strncmp(cfg->listen, "unix:", 5) == 0)
			unlink(cfg->listen + 5);	/* just bound */
		return -1;
	}
	return fd;
}

/* What the master keeps alive. */
enum child_kind { CHILD_WORKER, CHILD_SENDER, CHILD_KINDS };

struct child {
	enum child_kind	 kind;
	int		 gen;		/* configuration generation it runs */
	pid_t		 pid;		/* 0: a free row */
	time_t		 started;
	time_t		 retired;	/* when told to stop (a reload), or 0 */
};

#define MAX_CHILDREN	(2 * (VC_WORKERS_MAX + VC_SENDERS_MAX))	/* two
					   generations during a reload */

struct master {
	struct vc_config	*cfg;
	const char		*path;		/* configuration file, or NULL */
	int			 fd;		/* listening socket */
	sigset_t		 oldmask;	/* what children start with */
	struct child		 kids[MAX_CHILDREN];
	int			 gen;
	int			 stopping;
	time_t			 hold_until;	/* no spawning before */
};

static const char *const kind_names[CHILD_KINDS] = { "worker", "sender" };

/* wanted: how many children of kind the configuration asks for. */
static int
wanted(const struct master *m, enum child_kind kind)
{
	switch (kind) {
	case CHILD_WORKER:
		return m->cfg->workers;
	case CHILD_SENDER:
		return m->cfg->smsd_workers;
	default:
		return 0;
	}
}

/* spawn: a child of kind in row (its metrics slot is row + 1). */
static pid_t
spawn(struct master *m, enum child_kind kind, int row)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t	 mask = m->oldmask;

		/* SIGUSR1 kills by default: a sender has no request log and
		 * ignores it; a worker keeps it blocked until fcgi_serve has
		 * its handler, and takes one that came before then. */
		if (kind == CHILD_SENDER)
			signal(SIGUSR1, SIG_IGN);
		else
			sigaddset(&mask, SIGUSR1);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		signal(SIGCHLD, SIG_DFL);
		metrics_use(row + 1, kind == CHILD_SENDER);
		switch (kind) {
		case CHILD_SENDER:
			/* The master replaces senders on a reload. */
			close(m->fd);
			_exit(sender_run(m->cfg, NULL));
		case CHILD_WORKER:
		default:
			_exit(fcgi_serve(m->cfg, m->fd, m->cfg->max_requests));
		}
	}
	return pid;
}

/*
 * Checks that cfg can run: pattern, font, store url, provider, and that
 * the request log opens (made here, as root, if it does not exist yet).
 */
static int
probe(const struct vc_config *cfg)
{
	struct vc_ctx	*ctx;
	char		 err[VC_ERR_MAX];

	if ((ctx = ctx_new(cfg, CTX_CHECK, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	ctx_free(ctx);
	if (access_log_check(cfg, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/*
 * reopen_logs: SIGUSR1, as logrotate sends after moving the request log
 * away. The master makes the new file first (it may be root, and the
 * workers are not any more: they could not create it in a folder of
 * root's), then each worker reopens it between two requests.
 */
static void
reopen_logs(struct master *m)
{
	struct child	*c;
	char		 err[VC_ERR_MAX];

	if (access_log_check(m->cfg, err, sizeof(err)) == -1)
		log_warn("reopening the request log: %s", err);
	for (c = m->kids; c < m->kids + MAX_CHILDREN; c++)
		if (c->pid > 0 && c->kind == CHILD_WORKER)
			kill(c->pid, SIGUSR1);
	log_info("request log reopened");
}

/*
 * SIGHUP: loads path again; on success the new configuration replaces
 * cfg and a new generation of workers takes over (the old ones finish
 * their requests). The socket stays: a new `listen` needs a restart.
 */
static void
reload(struct vc_config *cfg, const char *path, int *gen)
{
	struct vc_config	 next;
	char			 err[VC_ERR_MAX];

	if (config_load(&next, path, err, sizeof(err)) == -1) {
		log_error("reload refused: %s", err);
		return;
	}
	if (probe(&next) == -1) {
		log_error("reload refused");
		config_free(&next);
		return;
	}
	if (strcmp(next.listen, cfg->listen) != 0)
		log_warn("reload: 'listen' changed; restart to apply it");
	config_free(cfg);
	*cfg = next;
	vc_log_init("vcoded", cfg->log_level);
	(*gen)++;
	metrics_reload();
	log_info("reloaded: generation %d with %d workers and %d senders",
	    *gen, cfg->workers, cfg->smsd_workers);
}

/*
 * signal_old: children of an old generation, or all when stopping, are
 * told to stop. The signal repeats each tick (a child may have missed one
 * between its check and its wait); STOP_GRACE_SEC after a child was first
 * told (by a reload or the stop), it is SIGKILL, so a stuck child cannot
 * keep a row forever. Returns how many children are alive.
 */
static int
signal_old(struct master *m, time_t now)
{
	struct child	*c;
	int		 alive = 0;

	for (c = m->kids; c < m->kids + MAX_CHILDREN; c++) {
		if (c->pid <= 0)
			continue;
		alive++;
		if (!m->stopping && c->gen == m->gen)
			continue;
		if (c->retired == 0)
			c->retired = now;
		kill(c->pid, now - c->retired >= STOP_GRACE_SEC ? SIGKILL :
		    SIGTERM);
	}
	return alive;
}

/*
 * fill: forks children of the current generation until each kind has
 * what the configuration wants. After one died within RESPAWN_BACKOFF_SEC
 * of its start, nothing is forked for that long: a pause, not a storm.
 */
static void
fill(struct master *m, time_t now)
{
	struct child	*c;
	int		 have[CHILD_KINDS] = { 0 }, k;
	pid_t		 pid;

	if (m->stopping || now < m->hold_until)
		return;
	for (c = m->kids; c < m->kids + MAX_CHILDREN; c++)
		if (c->pid > 0 && c->gen == m->gen)
			have[c->kind]++;
	for (k = 0; k < CHILD_KINDS; k++)
		for (c = m->kids; have[k] < wanted(m, k) &&
		    c < m->kids + MAX_CHILDREN; c++) {
			if (c->pid > 0)
				continue;
			if ((pid = spawn(m, k, (int)(c - m->kids))) <= 0)
				return;
			c->kind = k;
			c->gen = m->gen;
			c->pid = pid;
			c->started = now;
			c->retired = 0;
			have[k]++;
		}
}

/*
 * reap: collects the children that ended, saying why when unexpected. A
 * worker of the current generation that exits 0 has served max_requests:
 * it is replaced at once, without the start-up backoff.
 */
static void
reap(struct master *m, time_t now)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (c = m->kids; c < m->kids + MAX_CHILDREN; c++) {
			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (m->stopping || c->gen != m->gen)
				break;
			if (c->kind == CHILD_WORKER && WIFEXITED(status) &&
			    WEXITSTATUS(status) == 0) {
				log_debug("worker %d recycled (max_requests)",
				    (int)pid);
				metrics_recycle();
				break;
			}
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				log_warn("%s %d died (%s %d); respawning",
				    kind_names[c->kind], (int)pid,
				    WIFSIGNALED(status) ? "signal" : "status",
				    WIFSIGNALED(status) ? WTERMSIG(status) :
				    WEXITSTATUS(status));
				metrics_respawn(c->kind == CHILD_SENDER);
			}
			if (now - c->started < RESPAWN_BACKOFF_SEC)
				m->hold_until = now + RESPAWN_BACKOFF_SEC;
			break;
		}
}

/* alive: the gauges of the children the current generation runs. */
static void
alive(const struct master *m)
{
	const struct child	*c;
	int			 n[CHILD_KINDS] = { 0 };

	for (c = m->kids; c < m->kids + MAX_CHILDREN; c++)
		if (c->pid > 0 && c->gen == m->gen)
			n[c->kind]++;
	metrics_alive(n[CHILD_WORKER], n[CHILD_SENDER]);
}

/*
 * on_signal: SIGTERM and SIGINT drain and stop, SIGHUP reloads, SIGUSR1
 * reopens the request log.
 */
static void
on_signal(struct master *m, int sig)
{
	if ((sig == SIGTERM || sig == SIGINT) && !m->stopping) {
		log_info("stopping: draining workers");
		m->stopping = 1;
	} else if (sig == SIGHUP && !m->stopping)
		reload(m->cfg, m->path, &m->gen);
	else if (sig == SIGUSR1 && !m->stopping)
		reopen_logs(m);
}

int
fcgi_master(struct vc_config *cfg, const char *path, int daemon_flag,
    const char *pidfile, int listen_fd)
{
	static struct master	 m;
	sigset_t		 set;
	siginfo_t		 si;
	struct timespec		 tick = { 0, 500 * 1000 * 1000 };
	char			*sockpath = NULL;
	int			 sig, rc = 1;

	m.cfg = cfg;
	m.path = path;
	/* Before anything counts: a slot for the master, one per row. */
	if (metrics_init(MAX_CHILDREN + 1) == -1 || probe(cfg) == -1)
		return 1;
	if (listen_fd >= 0) {
		int	 null;

		/* Handed over, not ours to remove at the end. Moved off fd 0,
		 * which -d and the children's stdin make /dev/null. */
		if ((m.fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3)) == -1) {
			log_error("listening socket: %s", strerror(errno));
			return 1;
		}
		if ((null = open("/dev/null", O_RDONLY)) != -1) {
			dup2(null, listen_fd);
			if (null != listen_fd)
				close(null);
		}
	} else {
		/* Ours to remove, under the name it was bound with: a reload
		 * replaces cfg. */
		if (strncmp(cfg->listen, "unix:", 5) == 0 &&
		    (sockpath = strdup(cfg->listen + 5)) == NULL) {
			log_error("out of memory");
			return 1;
		}
		if ((m.fd = bind_listen(cfg)) == -1) {
			free(sockpath);
			return 1;
		}
	}
	if (proc_background(daemon_flag, pidfile) == -1)
		goto out;
	/* The master takes its signals synchronously, one at a time. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &m.oldmask);
	signal(SIGPIPE, SIG_IGN);
	log_info("listening on %s with %d workers and %d senders",
	    listen_fd >= 0 ? "the socket on fd 0" : cfg->listen, cfg->workers,
	    cfg->smsd_workers);

	for (;;) {
		if (signal_old(&m, time(NULL)) == 0 && m.stopping)
			break;
		fill(&m, time(NULL));
		alive(&m);
		if ((sig = sigtimedwait(&set, &si, &tick)) > 0)
			on_signal(&m, sig);
		reap(&m, time(NULL));
		vc_log_tick();
	}
	if (pidfile != NULL)
		unlink(pidfile);
	log_info("stopped");
	rc = 0;
out:
	close(m.fd);
	if (sockpath != NULL)
		unlink(sockpath);
	free(sockpath);
	return rc;
}
