/*
 * Unit tests of config_load (vcode.conf(5)): defaults, the file format,
 * environment overrides and the messages of a refused configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/core.h"
#include "core/internal.h"

extern char **environ;

#define DIALECTS_ALL	((1u << VC_MEIDUO) | (1u << VC_IHOME) | (1u << VC_NEWS))

static char cfgpath[64];

/* Unsets every VCODE_* variable so that the caller's environment is moot. */
static void
clear_vcode_env(void)
{
	char name[256];
	size_t n;
	int again = 1;
	char **e;

	while (again) {
		again = 0;
		for (e = environ; e != NULL && *e != NULL; e++) {
			if (strncmp(*e, "VCODE_", 6) != 0)
				continue;
			n = strcspn(*e, "=");
			if (n >= sizeof(name))
				continue;
			memcpy(name, *e, n);
			name[n] = '\0';
			unsetenv(name);
			again = 1;
			break;
		}
	}
}

/* Writes text to a fresh temporary file whose name lands in cfgpath. */
static const char *
write_cfg(const char *text)
{
	FILE *fp;
	int fd;

	strcpy(cfgpath, "/tmp/vcode-test-cfg-XXXXXX");
	fd = mkstemp(cfgpath);
	if (fd == -1)
		fail_msg("mkstemp failed");
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return cfgpath;
}

static int
setup(void **state)
{
	(void)state;
	clear_vcode_env();
	cfgpath[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (cfgpath[0] != '\0')
		unlink(cfgpath);
	clear_vcode_env();
	return 0;
}

/* Loads and expects success, failing with the message otherwise. */
static void
load_ok(struct vc_config *cfg, const char *path)
{
	char err[VC_ERR_MAX] = "";
	int r;

	memset(cfg, 0, sizeof(*cfg));
	r = config_load(cfg, path, err, sizeof(err));
	if (r != 0)
		fail_msg("config_load(%s): expected 0, saw %d, err \"%s\"",
		    path ? path : "NULL", r, err);
}

/*
 * Loads the text (and/or the environment already set) and expects -1 with
 * every string of want[] in the message (case-insensitive).
 */
static void
load_fails(const char *text, const char *const *want, int nwant)
{
	char err[VC_ERR_MAX];
	struct vc_config cfg;
	const char *path = text ? write_cfg(text) : NULL;
	int r, i;

	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0, sizeof(err));
	r = config_load(&cfg, path, err, sizeof(err));
	if (r == 0) {
		config_free(&cfg);
		fail_msg("config_load of \"%s\": expected -1, saw 0",
		    text ? text : "(environment)");
	}
	assert_int_equal(r, -1);
	for (i = 0; i < nwant; i++)
		if (strcasestr(err, want[i]) == NULL)
			fail_msg("config_load of \"%s\": expected the message "
			    "to name \"%s\", saw \"%s\"",
			    text ? text : "(environment)", want[i], err);
	if (path != NULL) {
		unlink(cfgpath);
		cfgpath[0] = '\0';
	}
}

static void
test_defaults(void **state)
{
	struct vc_config c;
	int d;

	(void)state;
	load_ok(&c, NULL);
	assert_string_equal(c.listen, "unix:/run/vcode/vcoded.sock");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.mount, "");
	assert_int_equal(c.dialects, DIALECTS_ALL);
	assert_string_equal(c.redis, "redis://127.0.0.1:6379/0");
	assert_int_equal(c.redis_timeout_ms, 200);
	assert_string_equal(c.redis_sentinels, "");
	assert_string_equal(c.redis_master, "mymaster");
	assert_string_equal(c.redis_sentinel_password, "");
	assert_string_equal(c.key_prefix, "vcode:");
	assert_int_equal(c.captcha_length, 4);
	assert_non_null(c.captcha_charset);
	assert_true(utf8_count(c.captcha_charset) > 1);
	assert_int_equal(c.captcha_width, 120);
	assert_int_equal(c.captcha_height, 40);
	assert_int_equal(c.captcha_ttl, 300);
	assert_non_null(c.captcha_font);
	assert_string_equal(c.mobile_pattern, "^1[3-9][0-9]{9}$");
	assert_int_equal(c.sms_code_length, 6);
	assert_int_equal(c.sms_code_ttl, 300);
	assert_int_equal(c.sms_code_storage, VC_STORE_PLAIN);
	assert_int_equal(c.sms_interval, 60);
	assert_int_equal(c.sms_daily_limit, 10);
	assert_int_equal(c.ip_hourly_limit, 20);
	assert_int_equal(c.verify_attempts, 5);
	assert_int_equal(c.sms_delivery, VC_DELIVER_INLINE);
	assert_int_equal(c.sms_queue_max, 100000);
	assert_int_equal(c.sms_max_tries, 8);
	assert_int_equal(c.sms_claim_idle_ms, 30000);
	assert_int_equal(c.smsd_workers, 0);
	assert_int_equal(c.sms_provider, VC_PROVIDER_LOG);
	assert_string_equal(c.ccp_base_url, "https://app.cloopen.com:8883");
	assert_string_equal(c.ccp_account_sid, "");
	assert_string_equal(c.ccp_auth_token, "");
	assert_string_equal(c.ccp_app_id, "");
	assert_string_equal(c.ccp_template_id, "1");
	assert_string_equal(c.webhook_url, "");
	assert_string_equal(c.webhook_secret, "");
	assert_non_null(c.sms_log_file);
	if (strcmp(c.sms_log_file, "") != 0 &&
	    strcmp(c.sms_log_file, "stderr") != 0)
		fail_msg("sms_log_file: expected \"\" or \"stderr\", saw "
		    "\"%s\"", c.sms_log_file);
	assert_string_equal(c.sms_code_key, "");
	assert_string_equal(c.api_key, "");
	assert_string_equal(c.trusted_proxies, "");
	assert_int_equal(c.lang, VC_LANG_ZH);
	assert_string_equal(c.user, "www-data");
	assert_string_equal(c.group, "www-data");
	assert_int_equal(c.log_level, VC_LOG_INFO);
	assert_int_equal(c.hour_seconds, 3600);
	assert_int_equal(c.fraud_guard, VC_FRAUD_ENFORCE);
	assert_int_equal(c.fraud_window, 2);
	assert_int_equal(c.fraud_net_floor, 10);
	assert_int_equal(c.fraud_net_ratio, 50);
	assert_int_equal(c.fraud_block_floor, 5);
	assert_int_equal(c.fraud_block_ratio, 50);
	assert_int_equal(c.fraud_untrusted_share, 10);
	assert_int_equal(c.fraud_ip_earn, 2);
	assert_int_equal(c.fraud_trust_days, 30);
	assert_int_equal(c.fraud_learn_hours, 24);

	assert_string_equal(c.keys[VC_MEIDUO].captcha, "img_");
	assert_string_equal(c.keys[VC_MEIDUO].sms, "sms_");
	assert_string_equal(c.keys[VC_MEIDUO].flag, "send_flag_");
	assert_string_equal(c.keys[VC_IHOME].captcha, "image_code_");
	assert_string_equal(c.keys[VC_IHOME].sms, "sms_code_");
	assert_string_equal(c.keys[VC_IHOME].flag, "send_sms_code_");
	assert_string_equal(c.keys[VC_NEWS].captcha, "ImageCode_");
	assert_string_equal(c.keys[VC_NEWS].sms, "SMS_");
	assert_string_equal(c.keys[VC_NEWS].flag, "send_flag_");
	for (d = 0; d < VC_DIALECT_COUNT; d++) {
		assert_non_null(c.keys[d].captcha);
		assert_non_null(c.keys[d].sms);
		assert_non_null(c.keys[d].flag);
	}
	config_free(&c);
}

/*
 * The default alphabet: upper-case letters and digits only (answers fold
 * case), and at most one character of each group that readers confused.
 */
static void
test_default_charset(void **state)
{
	static const char *const groups[] = {
		"0OQD", "1IJ", "2Z", "4A", "5S", "8B", "6G", "9gq", "T7Y",
		"KX", "WX", "VY", NULL
	};
	struct vc_config c;
	const char *p, *const *g;
	int n;

	(void)state;
	load_ok(&c, NULL);
	if (strlen(c.captcha_charset) < 16)
		fail_msg("captcha_charset \"%s\": expected at least 16 "
		    "characters (65,536 answers of 4)", c.captcha_charset);
	for (p = c.captcha_charset; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
			fail_msg("captcha_charset \"%s\": expected upper-case "
			    "letters and digits, saw '%c'", c.captcha_charset,
			    *p);
	for (g = groups; *g != NULL; g++) {
		for (n = 0, p = *g; *p != '\0'; p++)
			n += strchr(c.captcha_charset, *p) != NULL;
		if (n > 1)
			fail_msg("captcha_charset \"%s\": expected at most one "
			    "of the look-alikes \"%s\", saw %d",
			    c.captcha_charset, *g, n);
	}
	config_free(&c);
}

static void
test_file_values(void **state)
{
	struct vc_config c;

	(void)state;
	load_ok(&c, write_cfg(
	    "# vcode test configuration\n"
	    "\n"
	    "   \n"
	    "\t\n"
	    "# workers = 99\n"
	    "workers = 3\n"
	    "listen = 127.0.0.1:9000\n"
	    "mount=/api\n"
	    "dialects = meiduo news\n"
	    "redis = unix:/tmp/redis.sock\n"
	    "captcha_charset = 甲乙丙丁\n"
	    "captcha_ttl = 120\n"
	    "mobile_pattern = ^\\+?[0-9]{8,15}$\n"
	    "sms_code_length = 4\n"
	    "sms_code_storage = hash\n"
	    "sms_code_key = 0123456789abcdef-hmac\n"
	    "sms_interval = 0\n"
	    "sms_delivery = queue\n"
	    "sms_provider = webhook\n"
	    "webhook_url = http://127.0.0.1:9/hook\n"
	    "trusted_proxies = 127.0.0.1, 10.0.0.1\n"
	    "lang = en\n"
	    "log_level = debug\n"
	    "user = nobody\n"));
	assert_int_equal(c.workers, 3);
	assert_string_equal(c.listen, "127.0.0.1:9000");
	assert_string_equal(c.mount, "/api");
	assert_int_equal(c.dialects, (1u << VC_MEIDUO) | (1u << VC_NEWS));
	assert_string_equal(c.redis, "unix:/tmp/redis.sock");
	assert_string_equal(c.captcha_charset, "甲乙丙丁");
	assert_int_equal(c.captcha_ttl, 120);
	assert_string_equal(c.mobile_pattern, "^\\+?[0-9]{8,15}$");
	assert_int_equal(c.sms_code_length, 4);
	assert_int_equal(c.sms_code_storage, VC_STORE_HASH);
	assert_int_equal(c.sms_interval, 0);		/* 0 = off */
	assert_int_equal(c.sms_delivery, VC_DELIVER_QUEUE);
	assert_int_equal(c.sms_provider, VC_PROVIDER_WEBHOOK);
	assert_string_equal(c.webhook_url, "http://127.0.0.1:9/hook");
	assert_string_equal(c.trusted_proxies, "127.0.0.1, 10.0.0.1");
	assert_int_equal(c.lang, VC_LANG_EN);
	assert_int_equal(c.log_level, VC_LOG_DEBUG);
	assert_string_equal(c.user, "nobody");
	/* Keys the file did not name keep their defaults. */
	assert_int_equal(c.captcha_length, 4);
	assert_int_equal(c.sms_code_ttl, 300);
	assert_string_equal(c.group, "www-data");
	config_free(&c);
}

static void
test_env_override(void **state)
{
	struct vc_config c;

	(void)state;
	setenv("VCODE_WORKERS", "7", 1);
	setenv("VCODE_REDIS", "unix:/tmp/env.sock", 1);
	setenv("VCODE_API_KEY", "s3cret", 1);
	load_ok(&c, write_cfg("workers = 3\nredis = unix:/tmp/file.sock\n"));
	assert_int_equal(c.workers, 7);
	assert_string_equal(c.redis, "unix:/tmp/env.sock");
	assert_string_equal(c.api_key, "s3cret");
	config_free(&c);

	/* Without a file too. */
	load_ok(&c, NULL);
	assert_int_equal(c.workers, 7);
	config_free(&c);
}

static void
test_env_bad_value(void **state)
{
	static const char *const want[] = { "workers" };

	(void)state;
	setenv("VCODE_WORKERS", "abc", 1);
	load_fails(NULL, want, 1);
}

static void
test_unknown_key(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_config c;
	const char *path;
	int r;

	(void)state;
	path = write_cfg("# comment\n\nworkers = 2\n\n\n\ncolour = blue\n");
	memset(&c, 0, sizeof(c));
	r = config_load(&c, path, err, sizeof(err));
	if (r == 0) {
		config_free(&c);
		fail_msg("unknown key: expected -1, saw 0");
	}
	assert_int_equal(r, -1);
	if (strstr(err, path) == NULL)
		fail_msg("unknown key: expected the file \"%s\" in the "
		    "message, saw \"%s\"", path, err);
	if (strstr(err, ":7") == NULL && strcasestr(err, "line 7") == NULL)
		fail_msg("unknown key: expected line 7 (\":7\" or \"line 7\") "
		    "in the message, saw \"%s\"", err);
	if (strstr(err, "colour") == NULL)
		fail_msg("unknown key: expected \"colour\" in the message, "
		    "saw \"%s\"", err);
}

/* A line that is not key = value: the message still names file and line. */
static void
test_malformed_line(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_config c;
	const char *path;
	int r;

	(void)state;
	path = write_cfg("workers = 2\nworkers 4\n");
	memset(&c, 0, sizeof(c));
	r = config_load(&c, path, err, sizeof(err));
	if (r == 0) {
		config_free(&c);
		fail_msg("line without '=': expected -1, saw 0");
	}
	assert_int_equal(r, -1);
	if (strstr(err, path) == NULL ||
	    (strstr(err, ":2") == NULL && strcasestr(err, "line 2") == NULL))
		fail_msg("line without '=': expected file \"%s\" and line 2 "
		    "in the message, saw \"%s\"", path, err);
}

static void
test_missing_file(void **state)
{
	char err[VC_ERR_MAX] = "";
	struct vc_config c;
	int r;

	(void)state;
	memset(&c, 0, sizeof(c));
	r = config_load(&c, "/nonexistent/vcode.conf", err, sizeof(err));
	if (r == 0) {
		config_free(&c);
		fail_msg("missing file: expected -1, saw 0");
	}
	if (strstr(err, "/nonexistent/vcode.conf") == NULL)
		fail_msg("missing file: expected the path in the message, "
		    "saw \"%s\"", err);
}

static void
test_bad_values(void **state)
{
	static const char *const workers[] = { "workers" };
	static const char *const lang[] = { "lang" };
	static const char *const dialects[] = { "dialects" };
	static const char *const delivery[] = { "sms_delivery" };
	static const char *const provider[] = { "sms_provider" };
	static const char *const storage[] = { "sms_code_storage" };
	static const char *const ttl[] = { "captcha_ttl" };
	static const char *const level[] = { "log_level" };
	static const char *const codelen[] = { "sms_code_length" };
	static const char *const caplen[] = { "captcha_length" };

	(void)state;
	load_fails("workers = abc\n", workers, 1);
	load_fails("workers = -1\n", workers, 1);
	load_fails("workers = 0\n", workers, 1);
	load_fails("workers = 4x\n", workers, 1);
	load_fails("workers =\n", workers, 1);
	load_fails("workers = 99999999999999999999\n", workers, 1);
	load_fails("lang = fr\n", lang, 1);
	load_fails("dialects = meiduo flask\n", dialects, 1);
	load_fails("sms_delivery = pigeon\n", delivery, 1);
	load_fails("sms_provider = twilio\n", provider, 1);
	load_fails("sms_code_storage = rot13\n", storage, 1);
	/* hash storage without a key long enough is refused, naming the key */
	{
		static const char *const hkey[] = { "sms_code_key" };

		load_fails("sms_code_storage = hash\nsms_code_key = short\n",
		    hkey, 1);
	}
	load_fails("captcha_ttl = 5m\n", ttl, 1);
	load_fails("log_level = loud\n", level, 1);
	load_fails("sms_code_length = 13\n", codelen, 1);	/* > VC_SMS_CODE_MAX */
	load_fails("sms_code_length = 0\n", codelen, 1);
	load_fails("captcha_length = 13\n", caplen, 1);	/* > VC_CAPTCHA_LEN_MAX */
	/* Queued delivery's bounds. */
	{
		static const char *const idle[] = { "sms_claim_idle_ms" };
		static const char *const tries[] = { "sms_max_tries" };
		static const char *const qmax[] = { "sms_queue_max" };
		static const char *const senders[] = { "smsd_workers" };

		/* Shorter than one provider call: a live sender's message
		 * would be taken over. */
		load_fails("sms_claim_idle_ms = 5999\n", idle, 1);
		load_fails("sms_max_tries = 0\n", tries, 1);
		load_fails("sms_queue_max = 99\n", qmax, 1);
		load_fails("smsd_workers = 65\n", senders, 1);
		/* A queue the log provider would write nowhere. */
		load_fails("sms_delivery = queue\nsms_provider = log\n",
		    (const char *const[]){ "sms_delivery" }, 1);
	}
	/* The fraud guard's. */
	load_fails("fraud_guard = on\n",
	    (const char *const[]){ "fraud_guard" }, 1);
	load_fails("fraud_window = 0\n",
	    (const char *const[]){ "fraud_window" }, 1);
	load_fails("fraud_window = 25\n",
	    (const char *const[]){ "fraud_window" }, 1);
	load_fails("fraud_net_floor = 0\n",
	    (const char *const[]){ "fraud_net_floor" }, 1);
	load_fails("fraud_block_ratio = -1\n",
	    (const char *const[]){ "fraud_block_ratio" }, 1);
	load_fails("fraud_untrusted_share = 101\n",
	    (const char *const[]){ "fraud_untrusted_share" }, 1);
	load_fails("fraud_trust_days = 0\n",
	    (const char *const[]){ "fraud_trust_days" }, 1);
	load_fails("fraud_learn_hours = 721\n",
	    (const char *const[]){ "fraud_learn_hours" }, 1);
	load_fails("hour_seconds = 9\n",
	    (const char *const[]){ "hour_seconds" }, 1);
	load_fails("hour_seconds = 3601\n",
	    (const char *const[]){ "hour_seconds" }, 1);
	/* Sentinel: the list's syntax, and the name it needs. */
	load_fails("redis_sentinels = 127.0.0.1\n",
	    (const char *const[]){ "redis_sentinels" }, 1);
	load_fails("redis_sentinels = a:1,,b:2\n",
	    (const char *const[]){ "redis_sentinels" }, 1);
	load_fails("redis_sentinels = ::1:26379\n",
	    (const char *const[]){ "redis_sentinels" }, 1);
	load_fails("redis_sentinels = a:1\nredis_master =\n",
	    (const char *const[]){ "redis_master" }, 1);
}

/* Sentinel keys that are right load; -t masks the sentinels' password. */
static void
test_sentinel_keys(void **state)
{
	struct vc_config c;
	char *out = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	load_ok(&c, write_cfg("redis_sentinels = 10.0.0.1:26379, "
	    "[::1]:26380,sentinel-3.example:26381\n"
	    "redis_master = vcode\n"
	    "redis_sentinel_password = s3ntinel-pw\n"));
	assert_string_equal(c.redis_sentinels,
	    "10.0.0.1:26379, [::1]:26380,sentinel-3.example:26381");
	assert_string_equal(c.redis_master, "vcode");
	assert_non_null(fp = open_memstream(&out, &len));
	config_dump(&c, fp);
	fclose(fp);
	if (strstr(out, "s3ntinel-pw") != NULL)
		fail_msg("config_dump: expected the sentinel password masked, "
		    "saw it");
	assert_non_null(strstr(out, "redis_sentinel_password = (set)\n"));
	assert_non_null(strstr(out, "redis_master = vcode\n"));
	free(out);
	config_free(&c);
}

static void
test_free_zeroed(void **state)
{
	struct vc_config c;

	(void)state;
	memset(&c, 0, sizeof(c));
	config_free(&c);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_charset, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_env_override, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_env_bad_value, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malformed_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sentinel_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_zeroed, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
