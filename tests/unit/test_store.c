/*
 * Unit tests of store/ that need no Redis: the request script's table
 * (the names its body uses against the members bound to it), the outbox
 * names, and the one parser of outbox messages (stream entries, retry-set
 * members) against what others may have written into the Redis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
