/*
 * Unit tests of core/log.c: each line reaches stderr in one write(2),
 * whatever stdio's buffering of stderr, so that the lines of processes
 * sharing it do not interleave; an overlong line is cut, marked, and
 * still one write ending in a newline; a warn or error line that repeats
 * is written once, summed up every 5 s, and its end said. While a test
 * logs, stderr is a datagram socket: each write(2) arrives as one
 * datagram; the repeats run on a fake clock.
 */
#include <sys/socket.h>

#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/vcode.h"

#define CUT_MARK	" [truncated]\n"
#define DGRAM_MAX	65536

struct capture {
	int	 saved;		/* the real stderr */
	int	 sock;		/* stderr while a test logs */
	int	 peer;		/* where those writes arrive */
};

static struct capture	 cap;

/* capture_on: stderr is the socket (cmocka's messages are not caught). */
static void
capture_on(void)
{
	char	 junk[DGRAM_MAX];

	while (recv(cap.peer, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
		;
	fflush(stderr);
	if (dup2(cap.sock, STDERR_FILENO) == -1)
		fail_msg("dup2: %s", strerror(errno));
}

/* capture_off: stderr is stderr again. */
static void
capture_off(void)
{
	setvbuf(stderr, NULL, _IONBF, 0);
	dup2(cap.saved, STDERR_FILENO);
}

static int
setup(void **state)
{
	int	 sv[2];

	(void)state;
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == -1 ||
	    (cap.saved = dup(STDERR_FILENO)) == -1)
		return -1;
	cap.sock = sv[0];
	cap.peer = sv[1];
	vc_log_init("test_log", VC_LOG_DEBUG);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(cap.saved);
	close(cap.sock);
	close(cap.peer);
	return 0;
}

/*
 * one_write: the datagrams that arrived since the last call must be
 * exactly one; it is copied into buf (DGRAM_MAX + 1 bytes, NUL added)
 * and its length returned.
 */
static size_t
one_write(char *buf)
{
	ssize_t	 n, more;
	char	 extra[DGRAM_MAX];

	if ((n = recv(cap.peer, buf, DGRAM_MAX, MSG_DONTWAIT)) == -1)
		fail_msg("a log line: expected one write, saw none (%s)",
		    strerror(errno));
	buf[n] = '\0';
	if ((more = recv(cap.peer, extra, sizeof(extra), MSG_DONTWAIT)) >= 0)
		fail_msg("a log line: expected one write, saw more: \"%s\" "
		    "then %zd bytes more", buf, more);
	return (size_t)n;
}

static void
expect_line(const char *line, const char *level, const char *text)
{
	char	 want[512];
	regex_t	 re;

	snprintf(want, sizeof(want), "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}Z test_log\\[%d\\] %s: %s\n$", (int)getpid(),
	    level, text);
	assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, line, 0, NULL, 0) != 0)
		fail_msg("log line: expected /%s/, saw \"%s\"", want, line);
	regfree(&re);
}

static void
test_one_write(void **state)
{
	char	 buf[DGRAM_MAX + 1];

	(void)state;

	capture_on();
	log_info("hello %d", 42);
	capture_off();
	one_write(buf);
	expect_line(buf, "info", "hello 42");
	capture_on();
	log_error("%s", "");
	capture_off();
	one_write(buf);
	expect_line(buf, "error", "");
}

/* A library may buffer stderr: the line goes around stdio anyway. */
static void
test_one_write_stderr_buffered(void **state)
{
	static char	 sbuf[8];
	char		 buf[DGRAM_MAX + 1];

	(void)state;
	capture_on();
	setvbuf(stderr, sbuf, _IOFBF, sizeof(sbuf));
	log_warn("a line longer than stdio's %zu-byte buffer", sizeof(sbuf));
	fflush(stderr);
	capture_off();
	one_write(buf);
	expect_line(buf, "warn", "a line longer than stdio's 8-byte buffer");
}

static void
test_below_level(void **state)
{
	char	 buf[DGRAM_MAX + 1];

	(void)state;
	capture_on();
	vc_log_init("test_log", VC_LOG_WARN);
	log_info("not shown");
	log_debug("not shown");
	vc_log_init("test_log", VC_LOG_DEBUG);
	capture_off();
	if (recv(cap.peer, buf, DGRAM_MAX,
	    MSG_DONTWAIT) >= 0)
		fail_msg("below the level: expected no write, saw one");
}

static void
test_overlong(void **state)
{
	char	 buf[DGRAM_MAX + 1], *msg;
	size_t	 n, mlen = 5000;

	(void)state;

	assert_non_null(msg = malloc(mlen + 1));
	memset(msg, 'x', mlen);
	msg[mlen] = '\0';
	capture_on();
	log_info("%s", msg);
	capture_off();
	free(msg);
	n = one_write(buf);
	if (n >= mlen || n < sizeof(CUT_MARK) ||
	    strcmp(buf + n - strlen(CUT_MARK), CUT_MARK) != 0)
		fail_msg("a %zu-byte message: expected a shorter line ending "
		    "\"%s\", saw %zu bytes ending \"%s\"", mlen, CUT_MARK, n,
		    buf + (n > 40 ? n - 40 : 0));
	strcpy(buf + n - strlen(CUT_MARK), "\n");
	expect_line(buf, "info", "x+");
}

/* A line cut inside a UTF-8 character would end in half of it. */
static void
test_overlong_utf8(void **state)
{
	char		 buf[DGRAM_MAX + 1], msg[3 * 2000 + 1];
	const char	*end;
	size_t		 n, i;

	(void)state;
	for (i = 0; i < 2000; i++)
		memcpy(msg + 3 * i, "\xe9\xaa\x8c", 3);	/* U+9A8C */
	msg[sizeof(msg) - 1] = '\0';
	for (i = 0; i < 3; i++) {
		capture_on();
		log_info("%.*s%s", (int)i, "ab", msg);
		capture_off();
		n = one_write(buf);
		assert_true(n > strlen(CUT_MARK));
		end = buf + n - strlen(CUT_MARK);
		if (strcmp(end, CUT_MARK) != 0 ||
		    memcmp(end - 3, "\xe9\xaa\x8c", 3) != 0)
			fail_msg("prefix %zu + 2000 x U+9A8C: expected whole "
			    "characters then \"%s\", saw ...%02x %02x %02x "
			    "\"%s\"", i, CUT_MARK, (unsigned char)end[-3],
			    (unsigned char)end[-2], (unsigned char)end[-1],
			    end);
	}
}

static void
test_errno_kept(void **state)
{
	char	 buf[DGRAM_MAX + 1];
	int	 e;

	(void)state;

	capture_on();
	errno = EACCES;
	log_info("errno stays");
	e = errno;
	capture_off();
	assert_int_equal(e, EACCES);
	one_write(buf);
}

static long long	 fake_ms;

static long long
fake_clock(void)
{
	return fake_ms;
}

/* drain: every line that arrived since the last call, joined, counted. */
static int
drain(char *all, size_t len)
{
	char	 buf[DGRAM_MAX + 1];
	ssize_t	 n;
	int	 lines = 0;

	all[0] = '\0';
	while ((n = recv(cap.peer, buf, DGRAM_MAX, MSG_DONTWAIT)) >= 0) {
		buf[n] = '\0';
		if (strlen(all) + (size_t)n < len)
			strcat(all, buf);
		lines++;
	}
	return lines;
}

/*
 * A storm: 9000 identical errors in 12 s (the number in them varies) are
 * the first three lines, one summary each 5 s, and once 3 s pass without
 * one a line saying the run is over and how long it was.
 */
static void
test_repeats(void **state)
{
	char	 all[8192];
	int	 i, lines;

	(void)state;
	vc_log_clock(fake_clock);
	fake_ms = 1000000;
	capture_on();
	for (i = 0; i < 9000; i++) {
		fake_ms = 1000000 + i * 12000LL / 9000;
		log_error("store_connect: redis connect: attempt %d refused",
		    i);
	}
	capture_off();
	lines = drain(all, sizeof(all));
	if (lines != 5 || strstr(all, "attempt 0 refused\n") == NULL ||
	    strstr(all, "attempt 2 refused\n") == NULL ||
	    strstr(all, "last message repeated 3750 times in 5 s: "
	    "store_connect: redis connect: attempt 3752 refused") == NULL ||
	    strstr(all, "last message repeated 3750 times in 5 s: "
	    "store_connect: redis connect: attempt 7502 refused") == NULL)
		fail_msg("9000 repeats in 12 s: expected the first three "
		    "lines and a summary of 3750 each 5 s after the third, "
		    "saw %d lines: \"%s\"", lines, all);
	/* Still repeating: no end yet. */
	fake_ms += 2000;
	capture_on();
	vc_log_tick();
	capture_off();
	if ((lines = drain(all, sizeof(all))) != 0)
		fail_msg("2 s without a repeat: expected no line, saw \"%s\"",
		    all);
	fake_ms += 1000;
	capture_on();
	vc_log_tick();
	capture_off();
	lines = drain(all, sizeof(all));
	if (lines != 1 || strstr(all, " info: recovered after 9000 failures "
	    "in 12 s (no repeat for 3 s) of: store_connect: redis connect: "
	    "attempt 0 refused\n") == NULL)
		fail_msg("3 s without a repeat: expected one \"recovered after "
		    "9000 failures\" line, saw %d: \"%s\"", lines, all);
	/* A new run after the end starts with its line again. */
	capture_on();
	log_error("store_connect: redis connect: attempt %d refused", 1);
	capture_off();
	one_write(all);
	expect_line(all, "error", "store_connect: redis connect: attempt 1 "
	    "refused");
	fake_ms += 10000;
	capture_on();
	vc_log_tick();
	capture_off();
	if ((lines = drain(all, sizeof(all))) != 0)
		fail_msg("a run of one: expected no end line, saw \"%s\"", all);
	vc_log_clock(NULL);
}

/*
 * Only the repeats are held back: two messages with one format are two
 * runs; info lines are never summarised; a repeat of an earlier message
 * between others is still held back.
 */
static void
test_repeats_apart(void **state)
{
	char	 all[8192];
	int	 i, lines;

	(void)state;
	vc_log_clock(fake_clock);
	fake_ms = 5000000;
	capture_on();
	for (i = 0; i < 5; i++) {
		log_error("%s: %s", "flow_sms", "redis down");
		log_error("%s: %s", "flow_verify", "redis down");
		log_warn("budget spent: %d", i);
		log_info("served %d", 7);
	}
	capture_off();
	lines = drain(all, sizeof(all));
	if (lines != 14 || strstr(all, "error: flow_sms: redis down\n") ==
	    NULL || strstr(all, "error: flow_verify: redis down\n") == NULL ||
	    strstr(all, "warn: budget spent: 2\n") == NULL ||
	    strstr(all, "warn: budget spent: 3\n") != NULL)
		fail_msg("two errors of one format, a warn, an info, five "
		    "times each: expected 14 lines (each error and the warn "
		    "3 times, the info 5), saw %d: \"%s\"", lines, all);
	fake_ms += 3000;
	capture_on();
	vc_log_tick();
	capture_off();
	if ((lines = drain(all, sizeof(all))) != 3 ||
	    strstr(all, "recovered after 5 failures in 0 s (no repeat for 3 "
	    "s) of: flow_sms: redis down") == NULL)
		fail_msg("the three runs end: expected 3 lines, saw %d: "
		    "\"%s\"", lines, all);
	vc_log_clock(NULL);
}

/*
 * What is held back when the program ends is said then (vc_log_flush,
 * at exit), and nothing more after it.
 */
static void
test_repeats_flush(void **state)
{
	char	 all[8192];
	int	 i, lines;

	(void)state;
	vc_log_clock(fake_clock);
	fake_ms = 9000000;
	capture_on();
	for (i = 0; i < 10; i++) {
		fake_ms += 100;
		log_warn("outbox full: %d waiting", 100 + i);
	}
	vc_log_flush();
	vc_log_flush();
	fake_ms += 5000;
	vc_log_tick();
	capture_off();
	lines = drain(all, sizeof(all));
	if (lines != 4 || strstr(all, "warn: last message repeated 7 times "
	    "in 1 s: outbox full: 100 waiting\n") == NULL)
		fail_msg("10 warnings then a flush: expected 3 lines and \""
		    "last message repeated 7 times\", saw %d: \"%s\"", lines,
		    all);
	vc_log_clock(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_write),
		cmocka_unit_test(test_one_write_stderr_buffered),
		cmocka_unit_test(test_below_level),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_overlong_utf8),
		cmocka_unit_test(test_errno_kept),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_repeats_apart),
		cmocka_unit_test(test_repeats_flush),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
