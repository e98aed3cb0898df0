/*
 * The prefork master: binds the socket, forks the workers, respawns the
 * ones that die, and on SIGTERM/SIGINT stops them (each finishes the
 * request it is serving) and exits 0.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
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
	struct passwd		*pw;
	struct group		*gr;
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
	if (geteuid() == 0) {
		pw = getpwnam(cfg->user);
		gr = getgrnam(cfg->group);
		if (pw == NULL || gr == NULL ||
		    chown(path, pw->pw_uid, gr->gr_gid) == -1)
			log_warn("socket %s: cannot give it to %s:%s", path,
			    cfg->user, cfg->group);
	}
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
		return -1;
	}
	return fd;
}

/*
 * daemonize: forks into the background. The parent waits until the child
 * says it is ready (daemon_ready(), after the pidfile is written) and
 * exits 0, or 1 when the child gives up first, so that "vcoded -d -p F"
 * returns only once F names a running master. Returns the readiness fd
 * to the child, or -1.
 */
static int
daemonize(void)
{
	ssize_t	 n;
	char	 c;
	int	 fd, p[2];

	if (pipe(p) == -1)
		return -1;
	switch (fork()) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		close(p[0]);
		break;
	default:
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n == -1 && errno == EINTR);
		_exit(n == 1 && c == 'r' ? 0 : 1);
	}
	if (setsid() == -1) {
		close(p[1]);
		return -1;
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);	/* stderr stays: the log */
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

/* daemon_ready: tells a waiting parent that start-up went well. */
static void
daemon_ready(int fd)
{
	if (fd == -1)
		return;
	while (write(fd, "r", 1) == -1 && errno == EINTR)
		;
	close(fd);
}

struct worker {
	pid_t	 pid;
	time_t	 started;
	int	 gen;		/* configuration generation it runs */
};

#define MAX_WORKERS	(2 * VC_WORKERS_MAX)	/* two pools during a reload */

static pid_t
spawn(const struct vc_config *cfg, int fd, sigset_t *oldmask)
{
	pid_t	 pid;

	if ((pid = fork()) == -1) {
		log_error("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		signal(SIGCHLD, SIG_DFL);
		_exit(fcgi_serve(cfg, fd));
	}
	return pid;
}

/* Checks that cfg can run: pattern, font, store url, provider. */
static int
probe(const struct vc_config *cfg)
{
	struct vc_ctx	*ctx;
	char		 err[VC_ERR_MAX];

	if ((ctx = ctx_new(cfg, 1, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	ctx_free(ctx);
	return 0;
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
	log_info("reloaded: generation %d with %d workers", *gen,
	    cfg->workers);
}

int
fcgi_master(struct vc_config *cfg, const char *path, int daemon_flag,
    const char *pidfile)
{
	static struct worker	 w[MAX_WORKERS];
	sigset_t		 set, old;
	siginfo_t		 si;
	struct timespec		 tick = { 0, 500 * 1000 * 1000 };
	time_t			 now, stop_at = 0, last_spawn = 0;
	pid_t			 pid;
	FILE			*fp;
	char			*sockpath = NULL;
	int			 fd, i, n, status, sig, alive, gen = 0;
	int			 stopping = 0, ready = -1;

	if (probe(cfg) == -1 || (fd = bind_listen(cfg)) == -1)
		return 1;
	if (strncmp(cfg->listen, "unix:", 5) == 0 &&
	    (sockpath = strdup(cfg->listen + 5)) == NULL)
		return 1;
	if (daemon_flag && (ready = daemonize()) == -1) {
		log_error("daemonize: %s", strerror(errno));
		return 1;
	}
	if (pidfile != NULL) {
		if ((fp = fopen(pidfile, "w")) == NULL) {
			log_error("pidfile %s: %s", pidfile, strerror(errno));
			return 1;	/* the parent sees the pipe close: exit 1 */
		}
		fprintf(fp, "%d\n", (int)getpid());
		if (fclose(fp) != 0) {
			log_error("pidfile %s: write failed", pidfile);
			return 1;
		}
	}
	daemon_ready(ready);
	/* The master takes its signals synchronously, one at a time. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	log_info("listening on %s with %d workers", cfg->listen,
	    cfg->workers);

	for (;;) {
		now = time(NULL);
		for (alive = 0, n = 0, i = 0; i < MAX_WORKERS; i++) {
			if (w[i].pid <= 0)
				continue;
			alive++;
			if (w[i].gen == gen && !stopping)
				n++;
			else
				/*
				 * An old generation, or shutting down. The
				 * signal repeats each tick: a worker may have
				 * missed one between its check and accept(2).
				 */
				kill(w[i].pid, stopping && now >= stop_at ?
				    SIGKILL : SIGTERM);
		}
		if (stopping && alive == 0)
			break;
		/* Workers dying at start-up get a pause, not a fork storm. */
		for (i = 0; !stopping && n < cfg->workers && i < MAX_WORKERS;
		    i++) {
			if (w[i].pid > 0)
				continue;
			if (w[i].started == now && last_spawn == now &&
			    w[i].gen == gen)
				break;
			if ((pid = spawn(cfg, fd, &old)) <= 0)
				break;
			w[i].pid = pid;
			w[i].started = last_spawn = now;
			w[i].gen = gen;
			n++;
		}
		sig = sigtimedwait(&set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping)
				log_info("stopping: draining workers");
			if (!stopping)
				stop_at = time(NULL) + STOP_GRACE_SEC;
			stopping = 1;
		} else if (sig == SIGHUP && !stopping)
			reload(cfg, path, &gen);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < MAX_WORKERS; i++) {
				if (w[i].pid != pid)
					continue;
				w[i].pid = 0;
				if (!stopping && (!WIFEXITED(status) ||
				    WEXITSTATUS(status) != 0))
					log_warn("worker %d died (%s %d); "
					    "respawning", (int)pid,
					    WIFSIGNALED(status) ? "signal" :
					    "status", WIFSIGNALED(status) ?
					    WTERMSIG(status) :
					    WEXITSTATUS(status));
			}
		}
	}
	close(fd);
	if (sockpath != NULL)
		unlink(sockpath);
	free(sockpath);
	if (pidfile != NULL)
		unlink(pidfile);
	log_info("stopped");
	return 0;
}
