/*
 * Logging: one line per event on stderr, with time, program and pid.
 * Callers never pass a code, a captcha answer, a credential or a full
 * mobile number (see mobile_mask()).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"

#define LOG_LINE_MAX	1024	/* bytes of a line, its newline included */
#define LOG_CUT		" [truncated]"	/* ends a line cut to fit */

_Static_assert(LOG_LINE_MAX <= PIPE_BUF, "a line is one atomic write");

#define REPEAT_SLOTS	16	/* distinct messages followed at once */
#define REPEAT_BURST	3	/* lines of a run written before holding back */
#define REPEAT_SAY_MS	5000	/* a run of repeats: one line this often */
#define REPEAT_QUIET_MS	3000	/* no repeat for this long: the run is over */
#define REPEAT_TEXT	160	/* bytes of a run's message kept to name it */

static const char *const names[] = { "error", "warn", "info", "debug" };
static const char	*log_ident = "vcode";
static enum vc_loglevel	 log_level = VC_LOG_INFO;
static long long	(*log_clock)(void);

/*
 * A run of one warn or error message repeated: the first REPEAT_BURST
 * lines are written (two events a few seconds apart are still both
 * seen), the repeats after them are counted, and one line every
 * REPEAT_SAY_MS says how many there were; when none has come for
 * REPEAT_QUIET_MS, a last line says the run is over and how long it was.
 */
struct repeat {
	uint64_t		 key;	/* 0: a free slot */
	enum vc_loglevel	 level;
	long long		 first, last, said;	/* ms */
	unsigned long		 n;	/* lines in the run, the first too */
	unsigned long		 hidden;	/* since the last line said */
	char			 text[REPEAT_TEXT];
};

static struct repeat	 runs[REPEAT_SLOTS];
static pid_t		 runs_pid;	/* whose runs they are */

/*
 * runs_mine: a child forked by a master starts with no runs: the ones it
 * inherited are the master's to count and to say.
 */
static void
runs_mine(void)
{
	pid_t	 pid = getpid();

	if (runs_pid != pid) {
		memset(runs, 0, sizeof(runs));
		runs_pid = pid;
	}
}

void
vc_log_init(const char *ident, enum vc_loglevel level)
{
	static int	 once;

	log_ident = ident;
	log_level = level;
	if (!once) {
		once = 1;
		atexit(vc_log_flush);
	}
}

void
vc_log_clock(long long (*clock_ms)(void))
{
	log_clock = clock_ms;
}

static long long
log_now(void)
{
	return log_clock != NULL ? log_clock() : mono_ms();
}

/*
 * log_emit: the line "TIME IDENT[PID] LEVEL: msg" with one write(2),
 * around stdio (whose buffering of stderr a library may change), so that
 * the lines of the processes sharing stderr never interleave: a write of
 * at most PIPE_BUF bytes to a pipe is atomic. A line longer than
 * LOG_LINE_MAX is cut at a character boundary and ends in LOG_CUT.
 */
static void
log_emit(enum vc_loglevel level, const char *msg)
{
	char		 line[LOG_LINE_MAX], stamp[32];
	time_t		 now;
	struct tm	 tm;
	size_t		 len, room = LOG_LINE_MAX - 1;	/* before '\n' */
	int		 n, m;

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, room + 1, "%s %s[%d] %s: ", stamp, log_ident,
	    (int)getpid(), names[level]);
	if (n < 0 || (size_t)n + sizeof(LOG_CUT) > room)
		return;
	m = snprintf(line + n, room + 1 - n, "%s", msg);
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
}

/*
 * repeat_key: a message as its repeats are told apart: its level and its
 * text with each run of digits as one mark, so that "redis connect: 5
 * ms" and "... 7 ms" are one run while two different messages that
 * share a format ("%s: %s") are not. Never 0.
 */
static uint64_t
repeat_key(enum vc_loglevel level, const char *msg)
{
	uint64_t	 h = 14695981039346656037ULL;	/* FNV-1a */
	const char	*p;

	h = (h ^ (unsigned)level) * 1099511628211ULL;
	for (p = msg; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			while (p[1] >= '0' && p[1] <= '9')
				p++;
			h = (h ^ '#') * 1099511628211ULL;
		} else
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

/*
 * repeat_end: the last line of a run that repeated, and the slot freed.
 * It is good news, said at info whatever the level shows: it closes a
 * run whose lines were shown.
 */
static void
repeat_end(struct repeat *r)
{
	char	 msg[LOG_LINE_MAX];

	if (r->n > 1) {
		snprintf(msg, sizeof(msg), "recovered after %lu failures in "
		    "%lld s (no repeat for %d s) of: %s", r->n,
		    (r->last - r->first + 500) / 1000, REPEAT_QUIET_MS / 1000,
		    r->text);
		log_emit(VC_LOG_INFO, msg);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * repeat_say: the line that tells how many repeats of r were held back
 * since the last one said (text names them), at now; the count starts
 * again.
 */
static void
repeat_say(struct repeat *r, long long now, const char *text)
{
	char	 say[LOG_LINE_MAX];

	snprintf(say, sizeof(say), "last message repeated %lu times in %lld "
	    "s: %s", r->hidden, (now - r->said + 500) / 1000, text);
	log_emit(r->level, say);
	r->hidden = 0;
	r->said = now;
}

void
vc_log_tick(void)
{
	struct repeat	*r;
	long long	 now = log_now();
	int		 saved = errno;

	runs_mine();
	for (r = runs; r < runs + REPEAT_SLOTS; r++)
		if (r->key != 0 && now - r->last >= REPEAT_QUIET_MS)
			repeat_end(r);
	errno = saved;
}

void
vc_log_flush(void)
{
	struct repeat	*r;
	int		 saved = errno;

	runs_mine();
	for (r = runs; r < runs + REPEAT_SLOTS; r++) {
		if (r->key != 0 && r->hidden > 0)
			repeat_say(r, r->last, r->text);
		memset(r, 0, sizeof(*r));
	}
	errno = saved;
}

/*
 * repeat_seen: 1 when msg is a repeat to hold back (counted, and said
 * every REPEAT_SAY_MS); 0 when it starts a run or is within its first
 * REPEAT_BURST lines, and is to be written.
 */
static int
repeat_seen(enum vc_loglevel level, const char *msg, long long now)
{
	struct repeat	*r, *oldest = runs;
	uint64_t	 key = repeat_key(level, msg);

	for (r = runs; r < runs + REPEAT_SLOTS; r++) {
		if (r->key == key) {
			r->n++;
			r->last = now;
			if (r->n <= REPEAT_BURST) {
				r->said = now;
				return 0;
			}
			r->hidden++;
			if (now - r->said >= REPEAT_SAY_MS)
				repeat_say(r, now, msg);
			return 1;
		}
		if (r->key == 0 || (oldest->key != 0 && r->last < oldest->last))
			oldest = r;
	}
	if (oldest->key != 0)
		repeat_end(oldest);
	oldest->key = key;
	oldest->level = level;
	oldest->first = oldest->last = oldest->said = now;
	oldest->n = 1;
	snprintf(oldest->text, sizeof(oldest->text), "%s", msg);
	return 0;
}

/*
 * vc_log: formats the message and writes its line (log_emit). Warn and
 * error lines are summarised when they repeat (struct repeat): a store
 * that is down fails every request of every worker, and one line each
 * would drown the log and the disk. errno is kept.
 */
void
vc_log(enum vc_loglevel level, const char *fmt, ...)
{
	char		 msg[LOG_LINE_MAX];
	va_list		 ap;
	long long	 now;
	int		 saved = errno;

	vc_log_tick();
	if (level > log_level)
		goto out;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	now = log_now();
	if (level <= VC_LOG_WARN && repeat_seen(level, msg, now))
		goto out;
	log_emit(level, msg);
out:
	errno = saved;
}
