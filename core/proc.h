/*
 * proc: the steps the daemons share around their work (vcode-smsd, and
 * vcoded's master with its workers and SMS senders): start-up, the -t
 * report, who to run as, giving up root, going to the background, the
 * pidfile. Logs through core's log; never exits.
 */
#ifndef VCODE_PROC_H
#define VCODE_PROC_H

#include <sys/types.h>

#include <stddef.h>

struct vc_config;

/*
 * proc_start: what every daemon does first: fds 0-2 opened on /dev/null
 * where closed (so no file it opens becomes one); jansson made to zero
 * what it frees (json_wipe_install), before any JSON holds a code; then
 * the configuration *conf (NULL or "": defaults and environment; ""
 * becomes NULL) loaded into cfg and the log set up as prog. 0, or -1
 * after saying why on stderr.
 */
int	 proc_start(const char *prog, const char **conf, struct vc_config *cfg);
/*
 * proc_check: the -t option. check is the program's own test of cfg, as
 * its start-up runs it (0, or -1 with err). Passed: the configuration
 * (secrets masked), how SMS are delivered and "configuration ok" on
 * stdout, and 0. Refused: "prog: conf: why" on stderr, and 1.
 */
int	 proc_check(const char *prog, const char *conf, struct vc_config *cfg,
	    int (*check)(struct vc_config *, char *err, size_t errlen));
/* proc_ids: uid and gid of cfg's user and group. 0, or -1 after logging. */
int	 proc_ids(const struct vc_config *, uid_t *, gid_t *);
/*
 * proc_drop: when running as root, becomes cfg's user and group for good
 * (supplementary groups too). Does nothing when not root. 0, or -1 after
 * logging.
 */
int	 proc_drop(const struct vc_config *);
/*
 * proc_background: the steps between start-up and work. With detach, the
 * process forks into the background (a new session, stdin and stdout on
 * /dev/null; stderr stays, it is the log) while the parent waits; then
 * pidfile, unless NULL, gets our pid; then the parent exits 0. Returns 0
 * in the process that goes on to work, which removes the pidfile when it
 * stops. -1 after logging: the caller undoes what it made (a socket file)
 * and exits non-zero, and only then does a waiting parent exit 1.
 */
int	 proc_background(int detach, const char *pidfile);

#endif /* VCODE_PROC_H */
