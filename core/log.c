/*
 * Logging: one line per event on stderr, with time, program and pid.
 * Callers never pass a code, a captcha answer, a credential or a full
 * mobile number (see mobile_mask()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "core/vcode.h"

static const char	*log_ident = "vcode";
static enum vc_loglevel	 log_level = VC_LOG_INFO;

void
vc_log_init(const char *ident, enum vc_loglevel level)
{
	log_ident = ident;
	log_level = level;
}

void
vc_log(enum vc_loglevel level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char		 line[1024], stamp[32];
	time_t		 now;
	struct tm	 tm;
	va_list		 ap;
	int		 n;

	if (level > log_level)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s[%d] %s: ", stamp, log_ident,
	    (int)getpid(), names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One write(2) per line so that workers' lines do not interleave. */
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
