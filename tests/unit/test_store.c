/*
 * Unit tests of store/ that need no Redis: the request script's table
 * (the names its body uses against the members bound to it), the outbox
 * names, the one parser of outbox messages (stream entries, retry-set
 * members) against what others may have written into the Redis, the
 * sentinel list's syntax, and the Sentinel lookup and the counters
 * against a stand-in server (fake_start) on a loopback port.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"

/* The script's body and the table binding struct store_sms agree. */
static void
test_sms_script_table(void **state)
{
	const char	*bad = store_sms_script_check();

	(void)state;
	if (bad != NULL)
		fail_msg("expected the request script to use exactly the names "
		    "of its table, saw \"%s\" disagree", bad);
}

static void
test_outbox_names(void **state)
{
	struct store_outbox	 ob;
	char			 longp[STORE_KEY_MAX];

	(void)state;
	assert_int_equal(store_outbox_init(&ob, "vc:", 300, "h:1:2"), 0);
	assert_string_equal(ob.stream, "vc:outbox");
	assert_string_equal(ob.retry, "vc:outbox:retry");
	assert_string_equal(ob.dead, "vc:outbox:dead");
	assert_string_equal(ob.stats, "vc:outbox:stats");
	assert_string_equal(ob.sending, "vc:outbox:sending");
	assert_string_equal(ob.consumer, "h:1:2");
	assert_int_equal(ob.keep, 300 + STORE_OUTBOX_MARGIN);
	assert_int_equal(ob.dead_keep, STORE_DEAD_KEEP);
	memset(longp, 'p', sizeof(longp) - 8);
	longp[sizeof(longp) - 8] = '\0';
	assert_int_equal(store_outbox_init(&ob, longp, 300, NULL), -1);
}

/* parse: fields "a=b" pairs (n of them; values given with lengths). */
static void
parse(struct store_msg *m, size_t n, const char *const *kv, const size_t *vl)
{
	const char	*names[40], *values[40];
	size_t		 nl[40], vlen[40], i;

	for (i = 0; i < n; i++) {
		names[i] = kv[2 * i];
		nl[i] = strlen(kv[2 * i]);
		values[i] = kv[2 * i + 1];
		vlen[i] = vl != NULL && vl[i] != 0 ? vl[i] :
		    strlen(kv[2 * i + 1]);
	}
	memset(m, 0, sizeof(*m));
	store_msg_fields(m, n, names, nl, values, vlen);
}

#define GOOD	"mobile", "13800138000", "code", "123456", \
		"key", "sms_13800138000", "minutes", "5", \
		"dialect", "meiduo", "queued", "1", \
		"expires", "1900000000", "tries", "0"

static void
test_msg_good(void **state)
{
	const char		*kv[] = { GOOD, "extra", "ignored" };
	struct store_msg	 m;

	(void)state;
	parse(&m, 9, kv, NULL);
	if (m.why != NULL)
		fail_msg("expected a well-formed message, saw \"%s\"", m.why);
	assert_string_equal(m.mobile, "13800138000");
	assert_string_equal(m.code, "123456");
	assert_int_equal(m.minutes, 5);
	assert_int_equal(m.unknown, 0);
	assert_true(m.expires == 1900000000LL);
}

/* expect_why: parsing kv gives a reason containing want. */
static void
expect_why(size_t n, const char *const *kv, const size_t *vl,
    const char *want)
{
	struct store_msg	 m;

	parse(&m, n, kv, vl);
	if (m.why == NULL || strstr(m.why, want) == NULL)
		fail_msg("expected a malformed message (\"%s\"), saw %s", want,
		    m.why != NULL ? m.why : "a well-formed one");
}

static void
test_msg_twice(void **state)
{
	const char	*kv[] = { GOOD, "mobile", "13900139000" };

	(void)state;
	expect_why(9, kv, NULL, "twice");
}

static void
test_msg_nul(void **state)
{
	const char	*kv[] = { "mobile", "1381111\0" "2222", "code", "1",
	    "key", "k", "minutes", "5", "dialect", "meiduo", "queued", "1",
	    "expires", "1", "tries", "0" };
	const size_t	 vl[] = { 12, 0, 0, 0, 0, 0, 0, 0 };

	(void)state;
	expect_why(8, kv, vl, "control byte");
}

static void
test_msg_missing_and_ranges(void **state)
{
	const char	*nokey[] = { "mobile", "1", "minutes", "5",
	    "dialect", "d", "queued", "1", "expires", "1", "tries", "0" };
	const char	*neg[] = { GOOD, "unknown", "-1" };
	const char	*big[] = { "mobile", "1", "key", "k", "minutes", "5",
	    "dialect", "d", "queued", "9999999999999999999", "expires", "1",
	    "tries", "0" };
	const char	*zero[] = { "mobile", "1", "key", "k", "minutes", "0",
	    "dialect", "d", "queued", "1", "expires", "1", "tries", "0" };

	(void)state;
	expect_why(6, nokey, NULL, "missing");
	expect_why(9, neg, NULL, "out of range");
	expect_why(7, big, NULL, "out of range");
	expect_why(7, zero, NULL, "out of range");
}

static void
test_msg_too_many(void **state)
{
	const char	*kv[2 * (STORE_MSG_FIELDS_MAX + 1)];
	size_t		 i;

	(void)state;
	for (i = 0; i < STORE_MSG_FIELDS_MAX + 1; i++) {
		kv[2 * i] = "f";
		kv[2 * i + 1] = "v";
	}
	expect_why(STORE_MSG_FIELDS_MAX + 1, kv, NULL, "too many");
}

static void
test_msg_json(void **state)
{
	static const char good[] = "{\"from\":\"1-1\",\"mobile\":"
	    "\"13800138000\",\"code\":\"123456\",\"key\":\"sms_13800138000\","
	    "\"minutes\":\"5\",\"dialect\":\"meiduo\",\"queued\":\"1\","
	    "\"expires\":\"1\",\"tries\":\"2\",\"unknown\":\"1\","
	    "\"error\":\"HTTP 500\"}";
	static const char *const bad[][2] = {
		{ "{}", "no id" },
		{ "[1]", "not a JSON object" },
		{ "{\"from\":\"1-1\",\"mobile\":{\"a\":1}}", "not a string" },
		{ "{\"from\":\"1-1\",\"tries\":[0]}", "not a string" },
		{ "{\"from\":\"1-1\",\"mobile\":\"1\"}", "missing" },
	};
	struct store_msg	 m;
	size_t			 i;

	(void)state;
	store_msg_json(&m, good, strlen(good));
	if (m.why != NULL)
		fail_msg("expected the member to decode, saw \"%s\"", m.why);
	assert_string_equal(m.id, "1-1");
	assert_int_equal(m.tries, 2);
	assert_int_equal(m.unknown, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		store_msg_json(&m, bad[i][0], strlen(bad[i][0]));
		if (m.why == NULL || strstr(m.why, bad[i][1]) == NULL)
			fail_msg("member %s: expected \"%s\", saw %s",
			    bad[i][0], bad[i][1], m.why != NULL ? m.why :
			    "a message");
	}
}

static void
test_sentinels_syntax(void **state)
{
	static const char *const good[] = { "", "127.0.0.1:26379",
	    " a.example:1 , [::1]:26380,b-2_x:65535 ", "[fe80::1%eth0]:5" };
	static const char *const bad[] = { "127.0.0.1", "host:0",
	    "host:65536", "host:", ":1", "[::1]26379", "::1:26379",
	    "a:1,,b:2", "a:1,", "a b:1", "a:1x", "[::1]:", "[x]:1",
	    "a:123456" };
	char		 err[256], many[512];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (store_sentinels_check(good[i], "mymaster", "", err,
		    sizeof(err)) != 0)
			fail_msg("list '%s': expected 0, saw -1 (%s)", good[i],
			    err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (store_sentinels_check(bad[i], "mymaster", "", err,
		    sizeof(err)) != -1 || strstr(err, "'redis_sentinels'") ==
		    NULL)
			fail_msg("list '%s': expected -1 naming "
			    "redis_sentinels, saw \"%s\"", bad[i], err);
	}
	many[0] = '\0';
	for (i = 0; i < 17; i++)
		strcat(many, i == 0 ? "h:1" : ",h:1");
	assert_int_equal(store_sentinels_check(many, "m", "", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 16"));
	many[strlen(many) - 4] = '\0';
	assert_int_equal(store_sentinels_check(many, "m", "", err,
	    sizeof(err)), 0);
	/* The name matters only with sentinels. */
	assert_int_equal(store_sentinels_check("", "", "", err, sizeof(err)),
	    0);
	assert_int_equal(store_sentinels_check("h:1", "", "", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'redis_master'"));
	assert_int_equal(store_sentinels_check("h:1", "my master", "", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'redis_master'"));
	memset(many, 'p', 300);
	many[300] = '\0';
	assert_int_equal(store_sentinels_check("h:1", "m", many, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'redis_sentinel_password'"));
	assert_null(strstr(err, "ppp"));
}

/*
 * A stand-in for a sentinel that is also the data server, in a child
 * process, its state in shared memory: it answers AUTH (the password
 * "spw" only), SENTINEL get-master-addr-by-name (its own address for
 * "mymaster" when knows, else nil), ROLE (master or slave) and anything
 * else with nil. drop set: it closes every connection, then clears it.
 */
struct fake {
	int	 port;
	int	 knows, master;
	int	 drop;
	int	 queries, auths, conns;
	pid_t	 pid;
};

static void
fake_serve(struct fake *f, int ls)
{
	struct pollfd	 p[17];
	char		 buf[4096], reply[128];
	const char	*r;
	ssize_t		 n;
	int		 i, j, np = 1;

	p[0].fd = ls;
	p[0].events = POLLIN;
	for (;;) {
		if (__atomic_load_n(&f->drop, __ATOMIC_SEQ_CST)) {
			for (i = 1; i < np; i++)
				close(p[i].fd);
			np = 1;
			__atomic_store_n(&f->drop, 0, __ATOMIC_SEQ_CST);
		}
		if (poll(p, np, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && np < 17) {
			p[np].fd = accept(ls, NULL, NULL);
			p[np].events = POLLIN;
			p[np].revents = 0;	/* read below, this round */
			if (p[np].fd != -1) {
				np++;
				__atomic_add_fetch(&f->conns, 1,
				    __ATOMIC_SEQ_CST);
			}
		}
		for (i = 1; i < np; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if ((n = read(p[i].fd, buf, sizeof(buf) - 1)) <= 0) {
				close(p[i].fd);
				for (j = i; j < np - 1; j++)
					p[j] = p[j + 1];
				np--;
				i--;
				continue;
			}
			buf[n] = '\0';
			if (strstr(buf, "AUTH") != NULL) {
				__atomic_add_fetch(&f->auths, 1,
				    __ATOMIC_SEQ_CST);
				r = strstr(buf, "spw") != NULL ? "+OK\r\n" :
				    "-WRONGPASS invalid password\r\n";
			} else if (strstr(buf, "get-master-addr-by-name")) {
				__atomic_add_fetch(&f->queries, 1,
				    __ATOMIC_SEQ_CST);
				if (f->knows && strstr(buf, "mymaster")) {
					snprintf(reply, sizeof(reply), "*2\r\n"
					    "$9\r\n127.0.0.1\r\n$%d\r\n%d\r\n",
					    f->port > 9999 ? 5 : 4, f->port);
					r = reply;
				} else
					r = "*-1\r\n";
			} else if (strstr(buf, "ROLE") != NULL)
				r = f->master ? "*3\r\n$6\r\nmaster\r\n:0\r\n"
				    "*0\r\n" : "*5\r\n$5\r\nslave\r\n"
				    "$9\r\n127.0.0.1\r\n:1\r\n"
				    "$9\r\nconnected\r\n:0\r\n";
			else
				r = "$-1\r\n";
			if (write(p[i].fd, r, strlen(r)) < 0)
				continue;
		}
	}
}

static struct fake *
fake_start(int knows)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	struct fake		*f;
	pid_t			 pid;
	int			 ls;

	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(f != MAP_FAILED);
	memset(f, 0, sizeof(*f));
	f->knows = knows;
	f->master = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((ls = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 16), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
	f->port = ntohs(sa.sin_port);
	/* Not fork()'s value straight into f: the child shares it. */
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		/* A failed check ends the test without fake_stop. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fake_serve(f, ls);
		_exit(0);
	}
	f->pid = pid;
	close(ls);
	return f;
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	munmap(f, sizeof(*f));
}

/* fake_drop: f closes every connection it holds, and has done so. */
static void
fake_drop(struct fake *f)
{
	int	 n = 200;

	__atomic_store_n(&f->drop, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&f->drop, __ATOMIC_SEQ_CST) && n-- > 0)
		usleep(10000);
	assert_int_equal(f->drop, 0);
	usleep(20000);
}

/*
 * Through the sentinels: the first is down and the second knows no
 * "mymaster", so the third is asked and moves to the front; each new
 * connection asks again; a server whose ROLE is not master is refused;
 * the counters count failed calls and connections after the first.
 */
static void
test_sentinel_lookup(void **state)
{
	struct fake		*a, *b;
	struct store		*st;
	unsigned long long	 errors = 0, reconnects = 0;
	char			 err[256], list[128], out[16];

	(void)state;
	a = fake_start(0);
	b = fake_start(1);
	/* The url's host (nothing listens on port 1) is not used. */
	st = store_new("redis://127.0.0.1:1/0", 500, err, sizeof(err));
	assert_non_null(st);
	snprintf(list, sizeof(list), "127.0.0.1:1,127.0.0.1:%d, 127.0.0.1:%d",
	    a->port, b->port);
	assert_int_equal(store_sentinels(st, list, "mymaster", "spw", err,
	    sizeof(err)), 0);
	store_counters(st, &errors, &reconnects);
	if (store_get(st, "k", out, sizeof(out)) != 0)
		fail_msg("expected 0 (missing) through the third sentinel, "
		    "saw a failure: %s", store_strerror(st));
	assert_int_equal(a->queries, 1);
	assert_int_equal(b->queries, 1);
	assert_int_equal(b->auths, 1);
	assert_int_equal(reconnects, 0);
	assert_int_equal(store_get(st, "k", out, sizeof(out)), 0);
	assert_int_equal(b->queries, 1);	/* the connection is kept */

	fake_drop(b);
	assert_int_equal(store_get(st, "k", out, sizeof(out)), 0);
	/* Asked again, and the one that answered first. */
	assert_int_equal(b->queries, 2);
	assert_int_equal(a->queries, 1);
	assert_int_equal(reconnects, 1);
	assert_int_equal(errors, 0);

	b->master = 0;
	fake_drop(b);
	assert_int_equal(store_get(st, "k", out, sizeof(out)), -1);
	if (strstr(store_strerror(st), "ROLE says slave") == NULL)
		fail_msg("expected the error to say ROLE says slave, saw "
		    "\"%s\"", store_strerror(st));
	assert_int_equal(errors, 1);
	assert_int_equal(store_writable(st), -1);
	assert_int_equal(errors, 2);
	b->master = 1;
	assert_int_equal(store_writable(st), 0);
	assert_int_equal(reconnects, 2);
	store_free(st);

	/* No sentinel knows the name; a wrong password is refused. */
	st = store_new("redis://127.0.0.1:1/0", 500, err, sizeof(err));
	snprintf(list, sizeof(list), "127.0.0.1:%d", a->port);
	assert_int_equal(store_sentinels(st, list, "mymaster", "", err,
	    sizeof(err)), 0);
	store_counters(st, &errors, NULL);
	assert_int_equal(store_put(st, "k", "v", 10), -1);
	if (strstr(store_strerror(st), "monitors no primary named "
	    "'mymaster'") == NULL)
		fail_msg("expected the error to name the unknown primary, saw "
		    "\"%s\"", store_strerror(st));
	assert_int_equal(errors, 3);
	snprintf(list, sizeof(list), "127.0.0.1:%d", b->port);
	assert_int_equal(store_sentinels(st, list, "mymaster", "wrong", err,
	    sizeof(err)), 0);
	assert_int_equal(store_del(st, "k"), -1);
	assert_non_null(strstr(store_strerror(st), "AUTH refused"));
	assert_null(strstr(store_strerror(st), "wrong"));
	assert_int_equal(errors, 4);
	store_free(st);
	fake_stop(a);
	fake_stop(b);
}

/* Without sentinels: a store that cannot be reached counts each call. */
static void
test_counters_unreachable(void **state)
{
	struct store		*st;
	unsigned long long	 errors = 0, reconnects = 0;
	char			 err[256], out[16];

	(void)state;
	st = store_new("unix:/nonexistent/vcode-test.sock", 100, err,
	    sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_put(st, "k", "v", 10), -1);
	store_counters(st, &errors, &reconnects);
	assert_int_equal(store_put(st, "k", "v", 10), -1);
	assert_int_equal(store_get(st, "k", out, sizeof(out)), -1);
	assert_int_equal(store_writable(st), -1);
	assert_true(errors == 3 && reconnects == 0);
	store_counters(st, NULL, NULL);
	assert_int_equal(store_del(st, "k"), -1);
	assert_int_equal(errors, 3);
	store_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_script_table),
		cmocka_unit_test(test_outbox_names),
		cmocka_unit_test(test_msg_good),
		cmocka_unit_test(test_msg_twice),
		cmocka_unit_test(test_msg_nul),
		cmocka_unit_test(test_msg_missing_and_ranges),
		cmocka_unit_test(test_msg_too_many),
		cmocka_unit_test(test_msg_json),
		cmocka_unit_test(test_sentinels_syntax),
		cmocka_unit_test(test_sentinel_lookup),
		cmocka_unit_test(test_counters_unreachable),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
