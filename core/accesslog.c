/*
 * The request log: one line per request (access_log, log_format), in a
 * file of its own or through syslog. A line holds what struct vc_response
 * carries for it (route pattern, dialect, status, outcome word, masked
 * mobile, client) and nothing of the raw request: no query string, no
 * body, so no code, captcha answer or credential can reach it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/proc.h"

#define AL_LINE_MAX	1024	/* bytes of a line, its newline included */
#define AL_VALUE_MAX	160	/* bytes of one escaped value */
#define AL_MODE		0640	/* a new file: not for every local user */

/* One write(2) of at most PIPE_BUF bytes to an O_APPEND file is one line
 * whole between the workers sharing it. */
_Static_assert(AL_LINE_MAX <= PIPE_BUF, "a line is one atomic write");

enum al_sink { AL_OFF, AL_FILE, AL_SYSLOG };

static enum al_sink		 al_sink = AL_OFF;
static enum vc_logformat	 al_format = VC_LOGFMT_TEXT;
static int			 al_fd = -1;
static char			 al_path[PATH_MAX];
static uid_t			 al_uid;	/* a new file's owner, */
static gid_t			 al_gid;	/* when root makes it */
static int			 al_give;

/*
 * al_open_file: path for appending, never through a symbolic link (the
 * first open is root's, in a folder the service user may write). A file
 * this call creates as root is given to user:group, so that a worker
 * that has given up root can open it again after a rotation (root: the
 * master, which makes the new file on SIGUSR1). Returns the
 * fd, or -1 with err naming the key.
 */
static int
al_open_file(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	int		 fd, created = 1;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, AL_MODE);
	if (fd == -1 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(err, errlen, "key 'access_log': %s: %s", path,
		    errno == ELOOP ? "a symbolic link (name the file itself)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key 'access_log': %s: not a regular "
		    "file", path);
		close(fd);
		return -1;
	}
	if (created && al_give && geteuid() == 0 &&
	    fchown(fd, al_uid, al_gid) == -1) {
		snprintf(err, errlen, "key 'access_log': %s: cannot give it "
		    "to the service user: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
access_log_open(const struct vc_config *cfg, char *err, size_t errlen)
{
	const char	*v = cfg->access_log;
	int		 fd;

	access_log_close();
	al_format = cfg->log_format;
	if (strcmp(v, "off") == 0 || v[0] == '\0')
		return 0;
	if (strcmp(v, "syslog") == 0) {
		openlog("vcoded", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		al_sink = AL_SYSLOG;
		return 0;
	}
	if (strlen(v) >= sizeof(al_path)) {
		snprintf(err, errlen, "key 'access_log': path too long");
		return -1;
	}
	al_give = geteuid() == 0 && proc_ids(cfg, &al_uid, &al_gid) == 0;
	if ((fd = al_open_file(v, err, errlen)) == -1)
		return -1;
	memcpy(al_path, v, strlen(v) + 1);
	al_fd = fd;
	al_sink = AL_FILE;
	return 0;
}

int
access_log_check(const struct vc_config *cfg, char *err, size_t errlen)
{
	int	 rc = access_log_open(cfg, err, errlen);

	access_log_close();
	return rc;
}

/*
 * access_log_reopen: the file under its name again, as logrotate leaves
 * it (moved away, or copied and truncated). If the new one cannot be
 * opened the old fd stays: lines go on to the moved file rather than
 * nowhere, and a warn line says why.
 */
void
access_log_reopen(void)
{
	char	 err[VC_ERR_MAX];
	int	 fd;

	if (al_sink != AL_FILE)
		return;
	if ((fd = al_open_file(al_path, err, sizeof(err))) == -1) {
		log_warn("%s: %s; still writing to the old file", __func__,
		    err);
		return;
	}
	close(al_fd);
	al_fd = fd;
}

void
access_log_close(void)
{
	if (al_sink == AL_FILE && al_fd != -1)
		close(al_fd);
	else if (al_sink == AL_SYSLOG)
		closelog();
	al_fd = -1;
	al_sink = AL_OFF;
}

/*
 * al_value: s (NULL or "": "-") into out as a value that needs no
 * quoting in text and is a JSON string's content: printable ASCII but
 * the space, '"' and '\\' is copied, every other byte is written \xHH in
 * text and \u00HH in JSON. Cut to fit outlen.
 */
static void
al_value(char *out, size_t outlen, const char *s, int json)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;
	int			 w;

	if (s == NULL || *s == '\0')
		p = (const unsigned char *)"-";
	for (; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\') {
			if (n + 1 >= outlen)
				break;
			out[n++] = (char)*p;
			continue;
		}
		w = snprintf(out + n, outlen - n, json ? "\\u%04x" : "\\x%02x",
		    *p);
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	out[n] = '\0';
}

void
access_log_write(const struct vc_response *resp, double seconds)
{
	char		 line[AL_LINE_MAX], stamp[40];
	char		 route[AL_VALUE_MAX], outcome[AL_VALUE_MAX];
	char		 mobile[AL_VALUE_MAX], client[AL_VALUE_MAX];
	const char	*dialect;
	struct timespec	 ts;
	struct tm	 tm;
	ssize_t		 w;
	int		 n, json = al_format == VC_LOGFMT_JSON, saved = errno;

	if (al_sink == AL_OFF)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ",
	    ts.tv_nsec / 1000000);
	al_value(route, sizeof(route), resp->route >= 0 ?
	    route_name(resp->route) : NULL, json);
	al_value(outcome, sizeof(outcome), resp->outcome, json);
	al_value(mobile, sizeof(mobile), resp->mobile, json);
	al_value(client, sizeof(client), resp->client, json);
	dialect = resp->dialect >= 0 && resp->dialect < VC_DIALECT_COUNT ?
	    dialect_names[resp->dialect] : "-";
	if (json)
		n = snprintf(line, sizeof(line), "{\"time\":\"%s\","
		    "\"route\":\"%s\",\"dialect\":\"%s\",\"status\":%d,"
		    "\"outcome\":\"%s\",\"ms\":%.3f,\"mobile\":\"%s\","
		    "\"client\":\"%s\",\"pid\":%d}\n", stamp, route, dialect,
		    resp->status, outcome, seconds * 1000.0, mobile, client,
		    (int)getpid());
	else
		n = snprintf(line, sizeof(line), "time=%s route=%s "
		    "dialect=%s status=%d outcome=%s ms=%.3f mobile=%s "
		    "client=%s pid=%d\n", stamp, route, dialect, resp->status,
		    outcome, seconds * 1000.0, mobile, client, (int)getpid());
	/* Four values of at most AL_VALUE_MAX bytes cannot overflow. */
	if (n <= 0 || (size_t)n >= sizeof(line))
		goto out;
	if (al_sink == AL_SYSLOG) {
		line[n - 1] = '\0';
		syslog(LOG_INFO, "%s", line);
	} else {
		while ((w = write(al_fd, line, (size_t)n)) == -1 &&
		    errno == EINTR)
			;
		/* A full disk fails every request: vc_log sums the repeats. */
		if (w != n)
			log_warn("%s: %s: %s", __func__, al_path, w == -1 ?
			    strerror(errno) : "short write");
	}
out:
	errno = saved;
}
