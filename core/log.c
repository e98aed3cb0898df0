/*
 * Logging: one line per event on stderr, with time, program and pid.
 * Callers never pass a code, a captcha answer, a credential or a full
 * mobile number (see mobile_mask()).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/vcode.h"

#define LOG_LINE_MAX	1024	/* bytes of a line, its newline included */
#define LOG_CUT		" [truncated]"	/* ends a line cut to fit */

_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a line is one atomic write");

static const char	*log_ident = "vcode";
static enum vc_loglevel	 log_level = VC_LOG_INFO;

void
vc_log_init(const char *ident, enum vc_loglevel level)
{
	log_ident = ident;
	log_level = level;
}

/*
 * vc_log: the whole line is formatted here and written with one write(2),
 * around stdio (whose buffering of stderr a library may change), so that
 * the lines of the processes sharing stderr never interleave: a write of
 * at most PIPE_BUF bytes to a pipe is atomic. A line longer than
 * LOG_LINE_MAX is cut at a character boundary and ends in LOG_CUT.
 * errno is kept.
 */
void
vc_log(enum vc_loglevel level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char		 line[LOG_LINE_MAX], stamp[32];
	time_t		 now;
	struct tm	 tm;
	va_list		 ap;
	size_t		 len, room = LOG_LINE_MAX - 1;	/* before '\n' */
	int		 n, m, saved = errno;

	if (level > log_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, room + 1, "%s %s[%d] %s: ", stamp, log_ident,
	    (int)getpid(), names[level]);
	if (n < 0 || (size_t)n + sizeof(LOG_CUT) > room)
		goto out;
	va_start(ap, fmt);
	m = vsnprintf(line + n, room + 1 - n, fmt, ap);
	va_end(ap);
	len = (size_t)n + (m > 0 ? (size_t)m : 0);
	if (len > room) {
		/* Back to the start of a UTF-8 character, then the mark. */
		len = room - (sizeof(LOG_CUT) - 1);
		while (len > (size_t)n &&
		    ((unsigned char)line[len] & 0xc0) == 0x80)
			len--;
		memcpy(line + len, LOG_CUT, sizeof(LOG_CUT) - 1);
		len += sizeof(LOG_CUT) - 1;
	}
	line[len++] = '\n';
	while (write(STDERR_FILENO, line, len) == -1 && errno == EINTR)
		;
out:
	errno = saved;
}
