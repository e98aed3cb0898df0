/*
 * proc.c: the daemons' shared steps: start-up, -t, who they run as, the
 * background, the pidfile (proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/proc.h"

int
proc_start(const char *prog, const char **conf, struct vc_config *cfg)
{
	char	 err[VC_ERR_MAX];
	int	 fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
	json_wipe_install();
	if (*conf != NULL && (*conf)[0] == '\0')
		*conf = NULL;
	if (config_load(cfg, *conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return -1;
	}
	vc_log_init(prog, cfg->log_level);
	return 0;
}

int
proc_check(const char *prog, const char *conf, struct vc_config *cfg,
    int (*check)(struct vc_config *, char *, size_t))
{
	char	 err[VC_ERR_MAX];

	if (check(cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s%s%s\n", prog, conf ? conf : "",
		    conf ? ": " : "", err);
		return 1;
	}
	config_dump(cfg, stdout);
	delivery_describe(cfg, stdout);
	fraud_describe(cfg, stdout);
	printf("configuration ok\n");
	return 0;
}

int
proc_ids(const struct vc_config *cfg, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;
	struct group	*gr;

	if ((pw = getpwnam(cfg->user)) == NULL ||
	    (gr = getgrnam(cfg->group)) == NULL) {
		log_error("user %s or group %s does not exist", cfg->user,
		    cfg->group);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = gr->gr_gid;
	return 0;
}

int
proc_drop(const struct vc_config *cfg)
{
	uid_t	 uid;
	gid_t	 gid;

	if (geteuid() != 0)
		return 0;
	if (proc_ids(cfg, &uid, &gid) == -1)
		return -1;
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_error("cannot drop privileges to %s:%s: %s", cfg->user,
		    cfg->group, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * daemonize: forks; the parent waits on a pipe and exits 0 when the child
 * writes 'r' on it (ready), 1 when the pipe closes first (the child gave
 * up or died). In the child: a new session, stdin and stdout on
 * /dev/null; returns the pipe's end, or -1 with errno (leaving that end
 * open, so the parent exits only once this process has).
 */
static int
daemonize(void)
{
	ssize_t	 n;
	char	 c;
	int	 fd, p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
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
	if (setsid() == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return p[1];
}

/* pidfile_write: our pid to path. 0, or -1 after logging (nothing left). */
static int
pidfile_write(const char *path)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL) {
		log_error("pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%d\n", (int)getpid());
	if (fclose(fp) != 0) {
		log_error("pidfile %s: write failed", path);
		unlink(path);
		return -1;
	}
	return 0;
}

int
proc_background(int detach, const char *pidfile)
{
	int	 ready = -1;

	if (detach && (ready = daemonize()) == -1) {
		log_error("cannot go to the background: %s", strerror(errno));
		return -1;
	}
	/* On failure ready stays open: the parent exits 1 when we do. */
	if (pidfile != NULL && pidfile_write(pidfile) == -1)
		return -1;
	if (ready != -1) {
		while (write(ready, "r", 1) == -1 && errno == EINTR)
			;
		close(ready);
	}
	return 0;
}
