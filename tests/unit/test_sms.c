/*
 * Unit tests of sms/, written against sms/sms.h: what a gateway's reply
 * leaves in the message that callers log and store, and the helpers sms/
 * owns for its callers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "sms/sms.h"
#include "tests/digits.h"

/*
 * expect_digits: fails unless every run of ASCII digits in err is one of
 * the NULL-terminated allowed strings (the HTTP status, a statusCode).
 */
static void
expect_digits(const char *what, const char *err, const char *const *allowed)
{
	const char	*p = err, *run;
	size_t		 n, i;

	while ((run = digit_run(&p, &n)) != NULL) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == n &&
			    strncmp(allowed[i], run, n) == 0)
				break;
		if (allowed[i] == NULL)
			fail_msg("%s: expected no digits but the HTTP status "
			    "and a statusCode, saw '%.*s' in \"%s\"", what,
			    (int)n, run, err);
	}
}

/* ccp_refused: err of a refusal with body, which must say SMS_REFUSED. */
static void
ccp_refused(const char *body, char *err, size_t errlen)
{
	int	 rc;

	err[0] = '\0';
	rc = sms_ccp_reply(200, body, strlen(body), err, errlen);
	if (rc != SMS_REFUSED)
		fail_msg("%s: expected SMS_REFUSED (%d), saw %d", body,
		    SMS_REFUSED, rc);
}

/* The verdict of each kind of reply; err is set for all but SMS_SENT. */
static void
test_ccp_reply_verdicts(void **state)
{
	static const char	ok[] = "{\"statusCode\":\"000000\"}";
	static const struct {
		long		 http;
		const char	*body;
		int		 want;
	} c[] = {
		{ 200, ok, SMS_SENT },
		{ 201, ok, SMS_REFUSED },	/* CCP answers 200 */
		{ 500, ok, SMS_UNKNOWN },	/* the status decides */
		{ 502, "<html>502</html>", SMS_UNKNOWN },
		{ 200, "not json", SMS_UNKNOWN },
		{ 200, "[\"000000\"]", SMS_UNKNOWN },
		{ 204, "", SMS_UNKNOWN },
		{ 400, "not json", SMS_REFUSED },
		{ 404, "", SMS_REFUSED },
		{ 200, "{\"statusCode\":\"160040\"}", SMS_REFUSED },
		{ 200, "{\"statusCode\":0}", SMS_REFUSED },
		{ 200, "{}", SMS_REFUSED },
	};
	char	 err[256];
	size_t	 i;
	int	 rc;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err[0] = '\0';
		rc = sms_ccp_reply(c[i].http, c[i].body, strlen(c[i].body),
		    err, sizeof(err));
		if (rc != c[i].want)
			fail_msg("HTTP %ld %s: expected %d, saw %d (\"%s\")",
			    c[i].http, c[i].body, c[i].want, rc, err);
		if (rc != SMS_SENT && strncmp(err, "ccp: HTTP ", 10) != 0)
			fail_msg("HTTP %ld %s: expected err to say why, saw "
			    "\"%s\"", c[i].http, c[i].body, err);
	}
}

/* A refusal's statusMsg echoing the mobile and the code keeps neither. */
static void
test_ccp_reply_masks_digits(void **state)
{
	static const char *const ok[] = { "200", "160038", NULL };
	static const struct {
		const char	*body, *secret[3];
	} c[] = {
		{ "{\"statusCode\":\"160038\",\"statusMsg\":"
		  "\"bad number 13300133005 code 932876\"}",
		  { "13300133005", "932876", NULL } },
		/* Separators split what a length threshold would catch. */
		{ "{\"statusCode\":\"160038\",\"statusMsg\":"
		  "\"number 133-0013-3005, code 932 876, +86 133 0013 3005\"}",
		  { "0013", "876", "3005" } },
	};
	char	 err[256];
	size_t	 i, k;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ccp_refused(c[i].body, err, sizeof(err));
		for (k = 0; k < 3 && c[i].secret[k] != NULL; k++)
			if (strstr(err, c[i].secret[k]) != NULL)
				fail_msg("%s: expected no '%s' in err, saw \"%s\"",
				    c[i].body, c[i].secret[k], err);
		expect_digits(c[i].body, err, ok);
		/* The gateway's statusCode is what an operator looks up. */
		if (strstr(err, "160038") == NULL)
			fail_msg("%s: expected statusCode 160038 in err, saw "
			    "\"%s\"", c[i].body, err);
	}
}

/*
 * A statusCode of another shape than the gateway's six digits is outside
 * text like any other: a code or a number put there is masked too.
 */
static void
test_ccp_reply_masks_odd_status(void **state)
{
	static const char *const ok[] = { "200", NULL };
	static const char *const body[] = {
		"{\"statusCode\":\"13300133005\",\"statusMsg\":\"no\"}",
		"{\"statusCode\":\"9328\",\"statusMsg\":\"no\"}",
		"{\"statusCode\":\"1600380\",\"statusMsg\":\"no\"}",
		"{\"statusCode\":\"16003a\",\"statusMsg\":\"no\"}",
		"{\"statusCode\":\" 160038\",\"statusMsg\":\"no\"}",
	};
	char	 err[256];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(body) / sizeof(body[0]); i++) {
		ccp_refused(body[i], err, sizeof(err));
		expect_digits(body[i], err, ok);
	}
}

/* No control character of a reply reaches err (a forged log line). */
static void
test_ccp_reply_printable(void **state)
{
	char	 err[256];
	size_t	 k;

	(void)state;
	ccp_refused("{\"statusCode\":\"16\\n38\",\"statusMsg\":"
	    "\"a\\nb\\rc\\u001b[31m\\u007f\"}", err, sizeof(err));
	for (k = 0; err[k] != '\0'; k++)
		if ((unsigned char)err[k] < 0x20 || err[k] == 0x7f)
			fail_msg("expected no control character in err, saw "
			    "0x%02x at %zu of \"%s\"", (unsigned char)err[k], k,
			    err);
	if (strstr(err, "a?b?c?") == NULL)
		fail_msg("expected the controls as '?', saw \"%s\"", err);
}

/* sms_hmac_sha256_hex: RFC 4231 test case 2, in lowercase hex. */
static void
test_hmac_sha256_hex(void **state)
{
	static const char	 msg[] = "what do ya want for nothing?";
	char			 out[SMS_HMAC_HEX], small[SMS_HMAC_HEX - 1];

	(void)state;
	assert_int_equal(sms_hmac_sha256_hex("Jefe", msg, strlen(msg), out,
	    sizeof(out)), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	/* len bytes, not up to a NUL. */
	assert_int_equal(sms_hmac_sha256_hex("Jefe", "what do ya want for "
	    "nothing?!", strlen(msg), out, sizeof(out)), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
	assert_int_equal(sms_hmac_sha256_hex("Jefe", msg, strlen(msg), small,
	    sizeof(small)), -1);
}

/* sms_json_dump: compact text of malloc(3), NUL-terminated; takes o. */
static void
test_json_dump(void **state)
{
	char	*s;
	size_t	 n = 99;

	(void)state;
	s = sms_json_dump(json_pack("{s:s, s:i}", "errno", "0", "n", 5), &n);
	assert_non_null(s);
	assert_string_equal(s, "{\"errno\":\"0\",\"n\":5}");
	assert_int_equal(n, strlen(s));
	free(s);
	s = sms_json_dump(json_pack("[s]", "\u77ed\u4fe1"), NULL);
	assert_non_null(s);
	assert_string_equal(s, "[\"\u77ed\u4fe1\"]");
	free(s);
	n = 99;
	assert_null(sms_json_dump(NULL, &n));
	assert_int_equal(n, 99);
}

/* sms_provider_name: each provider's name, NULL past the table. */
static void
test_provider_name(void **state)
{
	(void)state;
	assert_string_equal(sms_provider_name(SMS_LOG), "log");
	assert_string_equal(sms_provider_name(SMS_CCP), "ccp");
	assert_string_equal(sms_provider_name(SMS_WEBHOOK), "webhook");
	assert_string_equal(sms_provider_name(SMS_ALIYUN), "aliyun");
	assert_string_equal(sms_provider_name(SMS_TENCENT), "tencent");
	assert_null(sms_provider_name((enum sms_provider)(SMS_TENCENT + 1)));
	assert_null(sms_provider_name((enum sms_provider)-1));
}

/*
 * A Chinese statusMsg longer than what is kept is cut at a character,
 * not inside one: what is stored must be valid UTF-8 (a retry-set member
 * is JSON, which cannot hold a cut sequence).
 */
static void
test_ccp_reply_utf8_cut(void **state)
{
	char	 body[512], err[256];
	size_t	 i;
	json_t	*j;

	(void)state;
	/* "号码无效" (3 bytes each) 10 times: 120 bytes, cut at 80. */
	snprintf(body, sizeof(body), "{\"statusCode\":\"160038\","
	    "\"statusMsg\":\"x");
	for (i = 0; i < 10; i++)
		strcat(body, "\xe5\x8f\xb7\xe7\xa0\x81\xe6\x97\xa0"
		    "\xe6\x95\x88");
	strcat(body, "\"}");
	ccp_refused(body, err, sizeof(err));
	if ((j = json_string(err)) == NULL)
		fail_msg("expected err to be valid UTF-8, saw \"%s\"", err);
	json_decref(j);
}

typedef int	(*reply_fn)(long, const char *, size_t, char *, size_t);

struct verdict {
	long		 http;
	const char	*body;
	int		 want;
	const char	*says;	/* in err, for all but SMS_SENT */
};

/* verdicts: each case of c through f; err set and saying why. */
static void
verdicts(const char *name, reply_fn f, const struct verdict *c, size_t n)
{
	char	 err[256];
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		rc = f(c[i].http, c[i].body, strlen(c[i].body), err,
		    sizeof(err));
		if (rc != c[i].want)
			fail_msg("%s: HTTP %ld %s: expected %d, saw %d (\"%s\")",
			    name, c[i].http, c[i].body, c[i].want, rc, err);
		if (rc != SMS_SENT && (strncmp(err, name, strlen(name)) != 0 ||
		    strstr(err, c[i].says) == NULL))
			fail_msg("%s: HTTP %ld %s: expected err to say \"%s\", "
			    "saw \"%s\"", name, c[i].http, c[i].body, c[i].says,
			    err);
	}
}

/* Alibaba Cloud's SendSms: "Code":"OK" or a refusal by Code. */
static void
test_aliyun_reply_verdicts(void **state)
{
	static const char	ok[] = "{\"RequestId\":\"F655A8D5\",\"Message\":"
	    "\"OK\",\"BizId\":\"900619746936498440^0\",\"Code\":\"OK\"}";
	static const struct verdict c[] = {
		{ 200, ok, SMS_SENT, "" },
		{ 500, ok, SMS_UNKNOWN, "HTTP 500, server error" },
		{ 503, "busy", SMS_UNKNOWN, "HTTP 503" },
		{ 200, "not json", SMS_UNKNOWN, "not a JSON object" },
		{ 204, "", SMS_UNKNOWN, "not a JSON object" },
		{ 200, "{\"Message\":\"OK\"}", SMS_UNKNOWN, "no Code" },
		{ 200, "{\"Code\":\"isv.BUSINESS_LIMIT_CONTROL\",\"Message\":"
		  "\"\u89e6\u53d1\u5929\u7ea7\u6d41\u63a7Permits:10\"}",
		  SMS_REFUSED, "Code 'isv.BUSINESS_LIMIT_CONTROL'" },
		{ 200, "{\"Code\":\"isv.MOBILE_NUMBER_ILLEGAL\"}", SMS_REFUSED,
		  "Code 'isv.MOBILE_NUMBER_ILLEGAL'" },
		{ 200, "{\"Code\":\"isv.AMOUNT_NOT_ENOUGH\"}", SMS_REFUSED,
		  "Code 'isv.AMOUNT_NOT_ENOUGH'" },
		{ 400, "{\"Code\":\"SignatureDoesNotMatch\"}", SMS_REFUSED,
		  "HTTP 400, Code 'SignatureDoesNotMatch'" },
		{ 403, "{\"Code\":\"OK\"}", SMS_REFUSED, "HTTP 403, Code 'OK'" },
		{ 404, "", SMS_REFUSED, "not a JSON object" },
		{ 400, "{}", SMS_REFUSED, "no Code" },
		{ 200, "{\"Code\":\"ok\"}", SMS_REFUSED, "Code 'ok'" },
	};

	(void)state;
	verdicts("aliyun: ", sms_aliyun_reply, c, sizeof(c) / sizeof(c[0]));
}

/* Tencent Cloud's SendSms: Response.Error, or the number's status. */
static void
test_tencent_reply_verdicts(void **state)
{
	static const char	ok[] = "{\"Response\":{\"SendStatusSet\":[{"
	    "\"SerialNo\":\"5000:104571066915705365784949\",\"PhoneNumber\":"
	    "\"+8618511122233\",\"Fee\":1,\"Code\":\"Ok\",\"Message\":"
	    "\"send success\",\"IsoCode\":\"CN\"}],\"RequestId\":\"a0\"}}";
	static const struct verdict c[] = {
		{ 200, ok, SMS_SENT, "" },
		{ 500, ok, SMS_UNKNOWN, "HTTP 500, server error" },
		{ 200, "not json", SMS_UNKNOWN, "not a JSON object" },
		{ 200, "{\"Response\":{\"RequestId\":\"x\"}}", SMS_UNKNOWN,
		  "neither" },
		{ 200, "{\"Response\":{\"SendStatusSet\":[]}}", SMS_UNKNOWN,
		  "neither" },
		{ 200, "{\"Response\":{\"Error\":{\"Code\":"
		  "\"AuthFailure.SignatureFailure\",\"Message\":\"bad\"}}}",
		  SMS_REFUSED, "Error 'AuthFailure.SignatureFailure' (bad)" },
		{ 200, "{\"Response\":{\"Error\":{\"Code\":"
		  "\"FailedOperation.InsufficientBalanceInSmsPackage\"}}}",
		  SMS_REFUSED,
		  "Error 'FailedOperation.InsufficientBalanceInSmsPackage'" },
		/* An Error wins over a status that says Ok. */
		{ 200, "{\"Response\":{\"Error\":{\"Code\":\"InternalError\"},"
		  "\"SendStatusSet\":[{\"Code\":\"Ok\"}]}}", SMS_REFUSED,
		  "Error 'InternalError'" },
		{ 200, "{\"Response\":{\"SendStatusSet\":[{\"Code\":"
		  "\"LimitExceeded.PhoneNumberDailyLimit\",\"Message\":"
		  "\"limit for 18511122233\"}]}}", SMS_REFUSED,
		  "SendStatus 'LimitExceeded.PhoneNumberDailyLimit' (limit for "
		  "***********)" },
		{ 400, ok, SMS_REFUSED, "HTTP 400, SendStatus 'Ok'" },
		{ 404, "", SMS_REFUSED, "not a JSON object" },
	};

	(void)state;
	verdicts("tencent: ", sms_tencent_reply, c, sizeof(c) / sizeof(c[0]));
}

/*
 * A Code or Message that repeats the mobile and the code keeps neither:
 * a Code off the vocabulary's shape is masked like the text.
 */
static void
test_cloud_reply_masks(void **state)
{
	static const char *const only200[] = { "200", NULL };
	static const struct {
		reply_fn	 f;
		const char	*body;
	} c[] = {
		{ sms_aliyun_reply, "{\"Code\":\"isv.MOBILE_NUMBER_ILLEGAL\","
		  "\"Message\":\"bad number 13300133005 code 932 876\"}" },
		{ sms_aliyun_reply, "{\"Code\":\"13300133005-932876\"}" },
		{ sms_aliyun_reply, "{\"Code\":\"x\\nforged log line\"}" },
		{ sms_tencent_reply, "{\"Response\":{\"Error\":{\"Code\":"
		  "\"932876\",\"Message\":\"+86 133 0013 3005\"}}}" },
		{ sms_tencent_reply, "{\"Response\":{\"SendStatusSet\":[{"
		  "\"Code\":\"Bad.133-0013-3005\",\"Message\":\"\\r\\n\"}]}}" },
	};
	char	 err[256];
	size_t	 i, k;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		err[0] = '\0';
		if (c[i].f(200, c[i].body, strlen(c[i].body), err,
		    sizeof(err)) != SMS_REFUSED)
			fail_msg("%s: expected SMS_REFUSED", c[i].body);
		expect_digits(c[i].body, err, only200);
		for (k = 0; err[k] != '\0'; k++)
			if ((unsigned char)err[k] < 0x20)
				fail_msg("%s: expected no control character in "
				    "err, saw \"%s\"", c[i].body, err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ccp_reply_verdicts),
		cmocka_unit_test(test_ccp_reply_masks_digits),
		cmocka_unit_test(test_ccp_reply_masks_odd_status),
		cmocka_unit_test(test_ccp_reply_printable),
		cmocka_unit_test(test_ccp_reply_utf8_cut),
		cmocka_unit_test(test_hmac_sha256_hex),
		cmocka_unit_test(test_json_dump),
		cmocka_unit_test(test_provider_name),
		cmocka_unit_test(test_aliyun_reply_verdicts),
		cmocka_unit_test(test_tencent_reply_verdicts),
		cmocka_unit_test(test_cloud_reply_masks),
	};

	return cmocka_run_group_tests_name("sms", tests, NULL, NULL);
}
