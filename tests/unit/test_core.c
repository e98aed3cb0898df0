/*
 * Unit tests of core/valid.c: mobile pattern, field validators, text
 * comparison and the CSPRNG helpers, written against core/core.h; and of
 * the client's address and the host check (core/input.c).
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "core/internal.h"

/* Chi-square critical values at p = 1e-6 by degrees of freedom: with a
 * dozen checks a correct generator fails about once in 10^5 runs, while the
 * biases these tests exist for land far above the limits. */
#define CHI2_P1E6_DF1	23.928
#define CHI2_P1E6_DF2	27.631
#define CHI2_P1E6_DF3	30.664
#define CHI2_P1E6_DF9	42.579

/* Chi-square statistic of counts[k] against a uniform expectation. */
static double
chi2_uniform(const long *counts, int k, long total)
{
	double e = (double)total / k, chi = 0;
	int i;

	for (i = 0; i < k; i++)
		chi += (counts[i] - e) * (counts[i] - e) / e;
	return chi;
}

/* Fails with the counts when the statistic exceeds the critical value. */
static void
check_chi2(const char *what, const long *counts, int k, long total,
    double crit)
{
	char buf[512];
	size_t off = 0;
	double chi = chi2_uniform(counts, k, total);
	int i;

	if (chi <= crit)
		return;
	for (i = 0; i < k && off < sizeof(buf) - 24; i++)
		off += snprintf(buf + off, sizeof(buf) - off, " %ld", counts[i]);
	fail_msg("%s: chi-square %.2f > %.3f (p=1e-6, df %d); expected "
	    "%.1f per bucket, saw%s", what, chi, crit, k - 1,
	    (double)total / k, buf);
}

/* ---- mobile pattern ---- */

static void
expect_match(const struct vc_mobile *m, const char *s, int want)
{
	int got = mobile_match(m, s);

	if (got != want)
		fail_msg("mobile_match(\"%s\"): expected %d, saw %d", s,
		    want, got);
}

static void
test_mobile_default(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_mobile *m;

	(void)state;
	m = mobile_compile("^1[3-9][0-9]{9}$", err, sizeof(err));
	if (m == NULL)
		fail_msg("mobile_compile(default): NULL, err \"%s\"", err);
	expect_match(m, "13812341234", 1);
	expect_match(m, "19900000000", 1);
	expect_match(m, "15012345678", 1);
	expect_match(m, "1381234123", 0);		/* 10 digits */
	expect_match(m, "138123412345", 0);		/* 12 digits */
	expect_match(m, "1381234123a", 0);		/* letter */
	expect_match(m, "abcdefghijk", 0);
	expect_match(m, "12812341234", 0);		/* leading 12 */
	expect_match(m, "10812341234", 0);		/* leading 10 */
	expect_match(m, "23812341234", 0);
	expect_match(m, "13812341234\n", 0);		/* trailing newline */
	expect_match(m, "\n13812341234", 0);
	expect_match(m, "13812341234\n13812341234", 0);	/* embedded newline */
	expect_match(m, "138123\n41234", 0);
	expect_match(m, " 13812341234", 0);
	expect_match(m, "+8613812341234", 0);
	expect_match(m, "", 0);
	mobile_free(m);
}

static void
test_mobile_custom(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_mobile *m;

	(void)state;
	m = mobile_compile("^\\+?[0-9]{8,15}$", err, sizeof(err));
	if (m == NULL)
		fail_msg("mobile_compile(custom): NULL, err \"%s\"", err);
	expect_match(m, "+4915112345678", 1);
	expect_match(m, "13812341234", 1);
	expect_match(m, "12812341234", 1);	/* fine for this pattern */
	expect_match(m, "1234567", 0);
	expect_match(m, "++4915112345678", 0);
	expect_match(m, "4915112345678x", 0);
	mobile_free(m);
}

/* mobile_match looks at no more than VC_MOBILE_MAX bytes. */
static void
test_mobile_length_bound(void **state)
{
	char err[VC_ERR_MAX] = "", s[VC_MOBILE_MAX + 2];
	struct vc_mobile *m;

	(void)state;
	m = mobile_compile("^[0-9]+$", err, sizeof(err));
	if (m == NULL)
		fail_msg("mobile_compile(\"^[0-9]+$\"): NULL, err \"%s\"", err);
	memset(s, '5', VC_MOBILE_MAX);
	s[VC_MOBILE_MAX] = '\0';
	expect_match(m, s, 1);
	s[VC_MOBILE_MAX] = '5';
	s[VC_MOBILE_MAX + 1] = '\0';
	expect_match(m, s, 0);
	mobile_free(m);
}

static void
test_mobile_bad_pattern(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_mobile *m;

	(void)state;
	m = mobile_compile("^1[3-9", err, sizeof(err));
	if (m != NULL) {
		mobile_free(m);
		fail_msg("mobile_compile(\"^1[3-9\"): expected NULL, saw a "
		    "compiled pattern");
	}
	if (err[0] == '\0')
		fail_msg("mobile_compile(\"^1[3-9\"): expected a message in "
		    "err, saw \"\"");
	mobile_free(NULL);
}

static void
test_mobile_mask(void **state)
{
	char out[32];

	(void)state;
	mobile_mask("13812341234", out, sizeof(out));
	assert_string_equal(out, "138****1234");

	/* Exactly the documented minimum buffer. */
	memset(out, 'X', sizeof(out));
	mobile_mask("13812341234", out, 16);
	assert_string_equal(out, "138****1234");
	assert_int_equal(out[16], 'X');

	/* Another length: never the whole number. */
	mobile_mask("+8613812341234", out, 16);
	assert_non_null(memchr(out, '\0', 16));
	assert_non_null(strstr(out, "****"));
	assert_null(strstr(out, "13812341234"));

	/* A short number shows 2 digits, not 7 of 8. */
	mobile_mask("12345678", out, sizeof(out));
	assert_string_equal(out, "****78");
	mobile_mask("1234567", out, sizeof(out));
	assert_string_equal(out, "****67");
	mobile_mask("123", out, sizeof(out));
	assert_string_equal(out, "****");
}

/* One phone, one identity: the spellings a pattern admits reduce to one. */
static void
test_mobile_canonical(void **state)
{
	static const char *const pats[] = {
		"^(\\+?86|0086)?1[3-9][0-9]{9}$",	/* the code optional */
		"^(\\+|00)?861[3-9][0-9]{9}$",		/* the code required */
	};
	static const char *const forms[] = { "+8613800138000",
	    "008613800138000", "8613800138000" };
	struct vc_mobile	*m;
	char			 out[VC_MOBILE_MAX + 1], err[VC_ERR_MAX];
	size_t			 p, f;

	(void)state;
	for (p = 0; p < 2; p++) {
		if ((m = mobile_compile(pats[p], err, sizeof(err))) == NULL)
			fail_msg("%s: %s", pats[p], err);
		for (f = 0; f < 3; f++) {
			if (!mobile_match(m, forms[f]))
				fail_msg("%s should admit %s", pats[p],
				    forms[f]);
			mobile_canonical(m, "86", forms[f], out, sizeof(out));
			if (strcmp(out, "13800138000") != 0)
				fail_msg("pattern %s, %s: expected 13800138000, "
				    "saw %s", pats[p], forms[f], out);
		}
		mobile_free(m);
	}
	/* No country code configured: nothing is stripped. */
	m = mobile_compile(pats[0], err, sizeof(err));
	mobile_canonical(m, "", "8613800138000", out, sizeof(out));
	assert_string_equal(out, "8613800138000");
	mobile_free(m);
}

/* ---- field validators ---- */

static void
expect_valid(int (*fn)(const char *), const char *fname, const char *s,
    int want)
{
	int got = fn(s);

	if (got != want)
		fail_msg("%s(\"%s\") (%zu bytes): expected %d, saw %d", fname,
		    s, strlen(s), want, got);
}

static void
test_valid_id(void **state)
{
	char s[VC_ID_MAX + 2];

	(void)state;
	assert_int_equal(VC_ID_MIN, 8);
	assert_int_equal(VC_ID_MAX, 64);
	memset(s, 'a', sizeof(s));
	s[7] = '\0';
	expect_valid(valid_id, "valid_id", s, 0);
	s[7] = 'a';
	s[8] = '\0';
	expect_valid(valid_id, "valid_id", s, 1);
	s[8] = 'a';
	s[64] = '\0';
	expect_valid(valid_id, "valid_id", s, 1);
	s[64] = 'a';
	s[65] = '\0';
	expect_valid(valid_id, "valid_id", s, 0);

	expect_valid(valid_id, "valid_id",
	    "0c5e5b5c-7f3a-4f7e-9d2b-1a2b3c4d5e6f", 1);
	expect_valid(valid_id, "valid_id", "ABCxyz_09-", 1);
	expect_valid(valid_id, "valid_id", "", 0);
	expect_valid(valid_id, "valid_id", "abcdefgh ", 0);
	expect_valid(valid_id, "valid_id", "abcd efgh", 0);
	expect_valid(valid_id, "valid_id", "abcd/efgh", 0);
	expect_valid(valid_id, "valid_id", "abcd.efgh", 0);
	expect_valid(valid_id, "valid_id", "abcd%2fefgh", 0);
	expect_valid(valid_id, "valid_id", "abcd:efgh", 0);
	expect_valid(valid_id, "valid_id", "abcd*efgh", 0);
	expect_valid(valid_id, "valid_id", "{abcdefgh}", 0);
	expect_valid(valid_id, "valid_id", "abcdefgh\n", 0);
	expect_valid(valid_id, "valid_id", "abcd\xc3\xa9" "efgh", 0);
}

static void
test_valid_captcha_text(void **state)
{
	char s[VC_CAPTCHA_TEXT_MAX + 2];

	(void)state;
	assert_int_equal(VC_CAPTCHA_TEXT_MAX, 16);
	expect_valid(valid_captcha_text, "valid_captcha_text", "aB3d", 1);
	expect_valid(valid_captcha_text, "valid_captcha_text", "x", 1);
	expect_valid(valid_captcha_text, "valid_captcha_text", "", 0);
	memset(s, 'k', sizeof(s));
	s[16] = '\0';
	expect_valid(valid_captcha_text, "valid_captcha_text", s, 1);
	s[16] = 'k';
	s[17] = '\0';
	expect_valid(valid_captcha_text, "valid_captcha_text", s, 0);
	expect_valid(valid_captcha_text, "valid_captcha_text", "ab\ncd", 0);
	expect_valid(valid_captcha_text, "valid_captcha_text", "\x01" "abc", 0);
	expect_valid(valid_captcha_text, "valid_captcha_text", "ab\tc", 0);
	expect_valid(valid_captcha_text, "valid_captcha_text", "abc\x7f", 0);
	/* UTF-8 captcha alphabets: 4 x 3 bytes fit, 6 x 3 do not. */
	expect_valid(valid_captcha_text, "valid_captcha_text",
	    "甲乙丙丁", 1);
	expect_valid(valid_captcha_text, "valid_captcha_text",
	    "甲乙丙丁戊己", 0);
}

static void
test_valid_sms_code(void **state)
{
	char s[VC_SMS_CODE_MAX + 2];

	(void)state;
	assert_int_equal(VC_SMS_CODE_MAX, 12);
	expect_valid(valid_sms_code, "valid_sms_code", "123456", 1);
	expect_valid(valid_sms_code, "valid_sms_code", "000000", 1);
	expect_valid(valid_sms_code, "valid_sms_code", "7", 1);
	expect_valid(valid_sms_code, "valid_sms_code", "", 0);
	memset(s, '9', sizeof(s));
	s[12] = '\0';
	expect_valid(valid_sms_code, "valid_sms_code", s, 1);
	s[12] = '9';
	s[13] = '\0';
	expect_valid(valid_sms_code, "valid_sms_code", s, 0);
	expect_valid(valid_sms_code, "valid_sms_code", "12345a", 0);
	expect_valid(valid_sms_code, "valid_sms_code", " 123456", 0);
	expect_valid(valid_sms_code, "valid_sms_code", "123456 ", 0);
	expect_valid(valid_sms_code, "valid_sms_code", "-12345", 0);
	expect_valid(valid_sms_code, "valid_sms_code", "+12345", 0);
	expect_valid(valid_sms_code, "valid_sms_code", "123456\n", 0);
	expect_valid(valid_sms_code, "valid_sms_code", "１２３４５６", 0);
}

/* ---- text comparison ---- */

static void
test_text_fold(void **state)
{
	char s[] = "AbC-xYz09_Ω甲Z";	/* Ω and 甲: bytes >= 0x80 stay */
	char e[] = "";

	(void)state;
	text_fold(s);
	assert_string_equal(s, "abc-xyz09_Ω甲z");
	text_fold(e);
	assert_string_equal(e, "");
}

static void
test_ct_equal(void **state)
{
	(void)state;
	assert_int_equal(ct_equal("abc", 3, "abcd", 4), 0);
	assert_int_equal(ct_equal("abcd", 4, "abc", 3), 0);
	assert_int_equal(ct_equal("123456", 6, "123456", 6), 1);
	assert_int_equal(ct_equal("123456", 6, "123457", 6), 0);
	assert_int_equal(ct_equal("123456", 6, "023456", 6), 0);
	assert_int_equal(ct_equal("", 0, "", 0), 1);
	assert_int_equal(ct_equal("", 0, "1", 1), 0);
	/* Only the given lengths count, and NUL bytes are bytes. */
	assert_int_equal(ct_equal("abcX", 3, "abcY", 3), 1);
	assert_int_equal(ct_equal("a\0b", 3, "a\0c", 3), 0);
	assert_int_equal(ct_equal("a\0b", 3, "a\0b", 3), 1);
}

/*
 * sms_code_value: the code as it is with plain storage; with hash, the hex
 * HMAC-SHA256 under sms_code_key of "MOBILE:CODE" that every reader of
 * Redis (and of the outbox) recomputes, so its bytes are fixed here.
 */
static void
test_sms_code_value(void **state)
{
	struct vc_config	 cfg;
	char			 out[VC_HMAC_HEX], small[VC_HMAC_HEX - 1];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.sms_code_key = "k3y-for-codes";
	cfg.sms_code_storage = VC_STORE_PLAIN;
	assert_int_equal(sms_code_value(&cfg, "13800138000", "932876", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "932876");
	cfg.sms_code_storage = VC_STORE_HASH;
	assert_int_equal(sms_code_value(&cfg, "13800138000", "932876", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "ba67eb8dc1ce3e98ee026fa15d1c27d01e9d533f"
	    "11f6acc91fe40565a27166b6");
	assert_int_equal(sms_code_value(&cfg, "13800138000", "932876", small,
	    sizeof(small)), -1);
}

/* ---- randomness ---- */

static void
test_rand_digits(void **state)
{
	char out[VC_SMS_CODE_MAX + 1];
	long counts[10] = { 0 }, first[10] = { 0 };
	int i, j, r, differ = 0;
	char prev[8] = "";

	(void)state;
	for (i = 0; i < 20000; i++) {
		memset(out, 'X', sizeof(out));
		r = rand_digits(out, sizeof(out), 6);
		if (r < 0)
			fail_msg("rand_digits(len 6): expected >= 0, saw %d", r);
		if (strlen(out) != 6)
			fail_msg("rand_digits(len 6): expected 6 characters, "
			    "saw \"%s\"", out);
		for (j = 0; j < 6; j++) {
			if (out[j] < '0' || out[j] > '9')
				fail_msg("rand_digits: expected digits, saw "
				    "\"%s\"", out);
			counts[out[j] - '0']++;
		}
		first[out[0] - '0']++;
		if (i > 0 && strcmp(prev, out) != 0)
			differ++;
		memcpy(prev, out, 7);
	}
	if (differ < 19000)
		fail_msg("rand_digits: expected codes to vary, only %d of "
		    "19999 differed from the one before", differ);
	check_chi2("rand_digits all positions", counts, 10, 120000,
	    CHI2_P1E6_DF9);
	/* Leading zeros are codes too (no 100000 + x % 900000). */
	check_chi2("rand_digits first digit", first, 10, 20000,
	    CHI2_P1E6_DF9);

	r = rand_digits(out, sizeof(out), VC_SMS_CODE_MAX);
	assert_true(r >= 0);
	assert_int_equal(strlen(out), VC_SMS_CODE_MAX);
	r = rand_digits(out, 1, 1);
	assert_int_equal(r, -1);		/* outlen must be > len */
	r = rand_digits(out, 6, 6);
	assert_int_equal(r, -1);
}

static void
draw_uniform(uint32_t n, long draws, long *counts)
{
	long i, v;

	for (i = 0; i < draws; i++) {
		v = rand_uniform(n);
		if (v < 0 || v >= (long)n)
			fail_msg("rand_uniform(%u): expected [0, %u), saw %ld",
			    n, n, v);
		counts[v]++;
	}
}

static void
test_rand_uniform(void **state)
{
	long c10[10] = { 0 }, c3[3] = { 0 }, c2[2] = { 0 }, c1[1] = { 0 };

	(void)state;
	draw_uniform(10, 200000, c10);
	check_chi2("rand_uniform(10)", c10, 10, 200000, CHI2_P1E6_DF9);
	draw_uniform(3, 200000, c3);
	check_chi2("rand_uniform(3)", c3, 3, 200000, CHI2_P1E6_DF2);
	draw_uniform(2, 100000, c2);
	check_chi2("rand_uniform(2)", c2, 2, 100000, CHI2_P1E6_DF1);
	draw_uniform(1, 1000, c1);
	assert_int_equal(c1[0], 1000);
}

/*
 * n = 3 * 2^30: a plain 32-bit draw taken modulo n makes [0, 2^30) twice as
 * likely as each other third. Rejection sampling keeps the thirds even.
 */
static void
test_rand_uniform_large_n(void **state)
{
	const uint32_t n = 3u << 30;
	long thirds[3] = { 0 }, i, v;

	(void)state;
	for (i = 0; i < 60000; i++) {
		v = rand_uniform(n);
		if (v < 0 || v >= (long)n)
			fail_msg("rand_uniform(%u): expected [0, %u), saw %ld",
			    n, n, v);
		thirds[v >> 30]++;
	}
	check_chi2("rand_uniform(3 << 30) by thirds (modulo bias?)", thirds,
	    3, 60000, CHI2_P1E6_DF2);
	v = rand_uniform(UINT32_MAX);
	assert_true(v >= 0 && v < (long)UINT32_MAX);
}

/* Index of the code point at s in the alphabet, -1 if absent. */
static int
alpha_index(const char *const *alpha, int k, const char *s, size_t *len)
{
	int i;

	for (i = 0; i < k; i++) {
		*len = strlen(alpha[i]);
		if (strncmp(s, alpha[i], *len) == 0)
			return i;
	}
	return -1;
}

/* Draws texts from charset and checks membership, length and spread. */
static void
check_rand_text(const char *charset, const char *const *alpha, int k,
    double crit)
{
	char out[VC_CAPTCHA_ANSWER_MAX + 8];
	long counts[8] = { 0 }, total = 0;
	int i, j, r, idx;
	size_t len, off;

	for (i = 0; i < 3000; i++) {
		r = rand_text(charset, 4, out, sizeof(out));
		if (r < 0)
			fail_msg("rand_text(\"%s\", 4): expected bytes "
			    "written, saw %d", charset, r);
		if ((size_t)r != strlen(out))
			fail_msg("rand_text(\"%s\", 4): returned %d but wrote "
			    "\"%s\" (%zu bytes)", charset, r, out, strlen(out));
		if (utf8_count(out) != 4)
			fail_msg("rand_text(\"%s\", 4): expected 4 characters, "
			    "saw \"%s\" (utf8_count %d)", charset, out,
			    utf8_count(out));
		for (off = 0, j = 0; out[off] != '\0'; j++, off += len) {
			idx = alpha_index(alpha, k, out + off, &len);
			if (idx < 0)
				fail_msg("rand_text(\"%s\"): \"%s\" has a "
				    "character outside the alphabet at byte "
				    "%zu", charset, out, off);
			counts[idx]++;
			total++;
		}
	}
	check_chi2(charset, counts, k, total, crit);
}

static void
test_rand_text(void **state)
{
	static const char *const ab[] = { "A", "B" };
	static const char *const han[] = { "甲", "乙", "丙", "丁" };
	static const char *const mixed[] = { "a", "é", "甲", "😀" };
	char out[16];

	(void)state;
	check_rand_text("AB", ab, 2, CHI2_P1E6_DF1);
	check_rand_text("甲乙丙丁", han, 4, CHI2_P1E6_DF3);
	/* 1-, 2-, 3- and 4-byte characters, drawn per character. */
	check_rand_text("aé甲😀", mixed, 4, CHI2_P1E6_DF3);

	assert_int_equal(rand_text("甲乙", 4, out, 13), 12);
	assert_int_equal(utf8_count(out), 4);
	assert_int_equal(rand_text("甲乙", 4, out, 12), -1);	/* no room */
	assert_int_equal(rand_text("AB", 4, out, 4), -1);
	assert_int_equal(rand_text("AB", 4, out, 5), 4);
}

static void
test_rand_text_bad_charset(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(rand_text("", 4, out, sizeof(out)), -1);
	assert_int_equal(rand_text("\xff", 4, out, sizeof(out)), -1);
	assert_int_equal(rand_text("ab\xfe", 4, out, sizeof(out)), -1);
	assert_int_equal(rand_text("\xe7\x94", 4, out, sizeof(out)), -1);
	assert_int_equal(rand_text("ab\x80" "cd", 4, out, sizeof(out)), -1);
	assert_int_equal(rand_text("\xe7\x94" "a", 4, out, sizeof(out)), -1);
}

static void
test_utf8_count(void **state)
{
	(void)state;
	assert_int_equal(utf8_count(""), 0);
	assert_int_equal(utf8_count("abc"), 3);
	assert_int_equal(utf8_count("甲乙丙丁"), 4);
	assert_int_equal(utf8_count("aé甲😀"), 4);
	assert_int_equal(utf8_count("\xff"), -1);
	assert_int_equal(utf8_count("\x80"), -1);		/* lone continuation */
	assert_int_equal(utf8_count("a\xc3"), -1);		/* truncated */
	assert_int_equal(utf8_count("\xe7\x94"), -1);
	assert_int_equal(utf8_count("\xe7\x94" "a"), -1);
	assert_int_equal(utf8_count("\xf0\x9f\x98"), -1);
}

/* What RFC 3629 rules out beyond bad framing. */
static void
test_utf8_count_strict(void **state)
{
	(void)state;
	assert_int_equal(utf8_count("\xc0\xaf"), -1);		/* overlong '/' */
	assert_int_equal(utf8_count("\xe0\x80\xaf"), -1);	/* overlong */
	assert_int_equal(utf8_count("\xed\xa0\x80"), -1);	/* surrogate */
	assert_int_equal(utf8_count("\xf4\x90\x80\x80"), -1);	/* > U+10FFFF */
	assert_int_equal(utf8_count("\xf8\x88\x80\x80\x80"), -1);
	assert_int_equal(utf8_count("\xef\xbf\xbf"), 1);	/* U+FFFF ok */
	assert_int_equal(utf8_count("\xf4\x8f\xbf\xbf"), 1);	/* U+10FFFF */
}

/*
 * client_ip: REMOTE_ADDR, or behind trusted_proxies the rightmost
 * X-Forwarded-For hop that is not trusted; an address is the same
 * address whether written as IPv4 or as IPv4-mapped IPv6, in REMOTE_ADDR,
 * in trusted_proxies and in a hop.
 */
static void
test_client_ip(void **state)
{
	static const struct {
		const char	*trusted, *remote, *xff, *want;
	} t[] = {
		{ "127.0.0.1", "127.0.0.1", "203.0.113.7", "203.0.113.7" },
		{ "127.0.0.1", "::ffff:127.0.0.1", "203.0.113.7",
		  "203.0.113.7" },
		{ "::ffff:127.0.0.1", "127.0.0.1", "203.0.113.7",
		  "203.0.113.7" },
		{ "10.0.0.9, 127.0.0.1", "::FFFF:127.0.0.1",
		  "198.51.100.9, ::ffff:10.0.0.9", "198.51.100.9" },
		{ "127.0.0.1", "::ffff:127.0.0.2", "203.0.113.7", "127.0.0.2" },
		{ "", "::ffff:127.0.0.1", "203.0.113.7", "127.0.0.1" },
		{ "127.0.0.1", "127.0.0.1", "203.0.113.7, 10.0.0.1",
		  "10.0.0.1" },
		{ "127.0.0.1", "127.0.0.1", "not-an-address", "127.0.0.1" },
		{ "::1", "::1", "2001:db8:1:2:3::1", "2001:db8:1:2::/64" },
		{ "127.0.0.1", "", "203.0.113.7", "unknown" },
	};
	struct vc_config	 cfg;
	struct vc_request	 req;
	char			 ip[VC_IP_MAX];
	size_t			 i;
	int			 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		memset(&req, 0, sizeof(req));
		cfg.trusted_proxies = (char *)t[i].trusted;
		cfg.ip6_prefix = 64;
		req.remote_addr = t[i].remote;
		req.forwarded_for = t[i].xff;
		client_ip(&cfg, &req, ip, sizeof(ip));
		if (strcmp(ip, t[i].want) != 0) {
			print_error("client_ip(trusted \"%s\", REMOTE_ADDR "
			    "\"%s\", X-Forwarded-For \"%s\"): expected \"%s\", "
			    "saw \"%s\"\n", t[i].trusted, t[i].remote, t[i].xff,
			    t[i].want, ip);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("expected every address above right, saw %d of %zu "
		    "wrong", bad, i);
}

/*
 * client_net: the fraud guard's network of an address as client_ip spells
 * it: an IPv4 address's /24, an IPv6 prefix as it is, anything else as it
 * is.
 */
static void
test_client_net(void **state)
{
	static const struct {
		const char	*ip, *want;
	} t[] = {
		{ "203.0.113.7", "203.0.113.0/24" },
		{ "203.0.113.255", "203.0.113.0/24" },
		{ "10.0.0.1", "10.0.0.0/24" },
		{ "2001:db8:1:2::/64", "2001:db8:1:2::/64" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "unknown", "unknown" },
	};
	char	 net[VC_IP_MAX];
	size_t	 i;
	int	 bad = 0;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		client_net(t[i].ip, net, sizeof(net));
		if (strcmp(net, t[i].want) != 0) {
			print_error("client_net(\"%s\"): expected \"%s\", saw "
			    "\"%s\"\n", t[i].ip, t[i].want, net);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("expected every network above right, saw %d of %zu "
		    "wrong", bad, i);
}

/*
 * peer_is_host: this host is 127.0.0.1 and ::1 in any spelling, nothing
 * else of 127/8 and nothing that is not an address; the address comes back
 * as inet_ntop(3) writes it, or "none".
 */
static void
test_peer_is_host(void **state)
{
	static const struct {
		const char	*addr;
		int		 host;
		const char	*spelled;
	} t[] = {
		{ "127.0.0.1", 1, "127.0.0.1" },
		{ "::1", 1, "::1" },
		{ "0:0:0:0:0:0:0:1", 1, "::1" },
		{ "::ffff:127.0.0.1", 1, "127.0.0.1" },
		{ "::FFFF:7f00:1", 1, "127.0.0.1" },
		{ "127.0.0.2", 0, "127.0.0.2" },
		{ "::ffff:127.0.0.2", 0, "127.0.0.2" },
		{ "127.1.0.1", 0, "127.1.0.1" },
		{ "::2", 0, "::2" },
		{ "::", 0, "::" },
		{ "::127.0.0.1", 0, "::127.0.0.1" },
		{ "203.0.113.7", 0, "203.0.113.7" },
		{ "127.0.0.1x", 0, "none" },
		{ " 127.0.0.1", 0, "none" },
		{ "127.0.0.1\nforged log line", 0, "none" },
		{ "", 0, "none" },
		{ NULL, 0, "none" },
	};
	char	 out[INET6_ADDRSTRLEN];
	size_t	 i;
	int	 bad = 0, host;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(out, 'x', sizeof(out));
		host = peer_is_host(t[i].addr, out, sizeof(out));
		if (host != t[i].host || strcmp(out, t[i].spelled) != 0) {
			print_error("peer_is_host(\"%s\"): expected %d \"%s\", "
			    "saw %d \"%s\"\n", t[i].addr != NULL ? t[i].addr :
			    "(null)", t[i].host, t[i].spelled, host, out);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("expected every address above right, saw %d of %zu "
		    "wrong", bad, i);
}

/* Every result a store step can answer has an outcome and a log word. */
static void
test_result_tables(void **state)
{
	(void)state;
	if (!flow_tables_complete())
		fail_msg("expected a row for every store_sms_result and "
		    "store_verify_result in core/flow.c, saw a missing one");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_tables),
		cmocka_unit_test(test_mobile_default),
		cmocka_unit_test(test_mobile_custom),
		cmocka_unit_test(test_mobile_length_bound),
		cmocka_unit_test(test_mobile_bad_pattern),
		cmocka_unit_test(test_mobile_mask),
		cmocka_unit_test(test_mobile_canonical),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_valid_captcha_text),
		cmocka_unit_test(test_valid_sms_code),
		cmocka_unit_test(test_text_fold),
		cmocka_unit_test(test_ct_equal),
		cmocka_unit_test(test_sms_code_value),
		cmocka_unit_test(test_rand_digits),
		cmocka_unit_test(test_rand_uniform),
		cmocka_unit_test(test_rand_uniform_large_n),
		cmocka_unit_test(test_rand_text),
		cmocka_unit_test(test_rand_text_bad_charset),
		cmocka_unit_test(test_utf8_count),
		cmocka_unit_test(test_utf8_count_strict),
		cmocka_unit_test(test_client_ip),
		cmocka_unit_test(test_client_net),
		cmocka_unit_test(test_peer_is_host),
	};

	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
