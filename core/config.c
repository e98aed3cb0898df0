/*
 * Configuration: defaults, then a key = value file, then VCODE_<KEY>
 * environment overrides. Every key is described by one row of a table.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/internal.h"
#include "render/render.h"
#include "sms/sms.h"

/* Every bound a key accepts is one the renderer takes. */
_Static_assert(VC_CAPTCHA_LEN_MAX <= RENDER_CHARS_MAX,
    "captcha_length may exceed what render_png draws");
_Static_assert(VC_CAPTCHA_LEN_MAX <= RENDER_AUDIO_DIGITS_MAX,
    "captcha_audio_length may exceed what render_wav speaks");
_Static_assert(VC_WIDTH_MIN >= RENDER_WIDTH_MIN &&
    VC_WIDTH_MAX <= RENDER_WIDTH_MAX, "captcha_width outside render_new's");
_Static_assert(VC_HEIGHT_MIN >= RENDER_HEIGHT_MIN &&
    VC_HEIGHT_MAX <= RENDER_HEIGHT_MAX, "captcha_height outside render_new's");
_Static_assert(VC_CLAIM_IDLE_MIN > SMS_SEND_MAX_MS,
    "sms_claim_idle_ms may be shorter than one provider call");

enum ktype { K_STR, K_INT, K_ENUM, K_DIALECTS };

struct kdef {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	const char	*def;
	long		 min, max;	/* K_INT bounds */
	const char *const *names;	/* K_ENUM values, index = enum value;
					   NULL: sms_provider_name()'s */
	int		 secret;	/* config_dump: 1 masked, 2 a URL's host only */
};

static const char *const captcha_modes[] = { "text", "math", NULL };
static const char *const storages[] = { "plain", "hash", NULL };
static const char *const deliveries[] = { "inline", "queue", NULL };
static const char *const langs[] = { "zh", "en", NULL };
static const char *const frauds[] = { "off", "record", "enforce", NULL };
static const char *const levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const logformats[] = { "text", "json", NULL };
const char *const dialect_names[] = { "meiduo", "ihome", "news", NULL };

/*
 * Upper-case letters and digits that readers shown only the pictures did
 * not confuse (README, "The captcha"). Answers compare case-insensitively,
 * so lower case adds nothing and its short letters shrink at 32 px. Left
 * out as look-alikes: 0 O Q (and D's kin), 1 I J, 2 Z, 4 A, 5 S, 8 B,
 * G 6, Y (T V), 7 (a rotated T), X (K, and W crossed by the wave).
 */
#define DEFAULT_CHARSET	"369ACDEFHKLMNPRTUVW"

#define O(f)		offsetof(struct vc_config, f)
#define STR(k, d)	{ #k, K_STR, O(k), d, 0, 0, NULL, 0 }
#define SECRET(k)	{ #k, K_STR, O(k), "", 0, 0, NULL, 1 }
#define INT(k, d, lo, hi) { #k, K_INT, O(k), #d, lo, hi, NULL, 0 }
#define ENUM(k, d, t)	{ #k, K_ENUM, O(k), d, 0, 0, t, 0 }
#define KEYS(d, i, c, s, f) \
	{ #d "_captcha_prefix", K_STR, O(keys[i].captcha), c, 0, 0, NULL, 0 }, \
	{ #d "_sms_prefix", K_STR, O(keys[i].sms), s, 0, 0, NULL, 0 }, \
	{ #d "_flag_prefix", K_STR, O(keys[i].flag), f, 0, 0, NULL, 0 }

static const struct kdef keydefs[] = {
	STR(listen, "unix:/run/vcode/vcoded.sock"),
	INT(workers, 4, 1, VC_WORKERS_MAX),
	STR(mount, ""),
	{ "dialects", K_DIALECTS, O(dialects), "meiduo ihome news",
	    0, 0, NULL, 0 },
	{ "redis", K_STR, O(redis), "redis://127.0.0.1:6379/0", 0, 0, NULL, 1 },
	INT(redis_timeout_ms, 200, 1, 60000),
	STR(redis_sentinels, ""),
	STR(redis_master, "mymaster"),
	SECRET(redis_sentinel_password),
	STR(key_prefix, "vcode:"),
	INT(captcha_length, 4, 1, VC_CAPTCHA_LEN_MAX),
	STR(captcha_charset, DEFAULT_CHARSET),
	INT(captcha_width, 120, VC_WIDTH_MIN, VC_WIDTH_MAX),
	INT(captcha_height, 40, VC_HEIGHT_MIN, VC_HEIGHT_MAX),
	INT(captcha_ttl, 300, 10, 86400),
	STR(captcha_font, ""),
	ENUM(captcha_mode, "text", captcha_modes),
	INT(captcha_audio_length, 6, 4, VC_CAPTCHA_LEN_MAX),
	STR(mobile_pattern, "^1[3-9][0-9]{9}$"),
	STR(country_code, "86"),
	INT(sms_code_length, 6, 4, VC_SMS_CODE_MAX),
	INT(sms_code_ttl, 300, 10, 86400),
	ENUM(sms_code_storage, "plain", storages),
	INT(sms_interval, 60, 0, 86400),
	INT(sms_daily_limit, 10, 0, 100000),
	INT(ip_hourly_limit, 20, 0, 1000000),
	INT(verify_attempts, 5, 0, 1000),
	INT(prefix_digits, 7, 1, VC_PREFIX_MAX),
	INT(prefix_hourly_limit, 30, 0, 1000000),
	INT(sms_hourly_budget, 1000, 0, 100000000),
	INT(hour_seconds, 3600, 10, 3600),
	ENUM(fraud_guard, "enforce", frauds),
	INT(fraud_window, 2, 1, 24),
	INT(fraud_net_floor, 10, 1, 1000000),
	INT(fraud_net_ratio, 50, 0, 10000),
	INT(fraud_block_floor, 5, 1, 1000000),
	INT(fraud_block_ratio, 50, 0, 10000),
	INT(fraud_untrusted_share, 10, 0, 100),
	INT(fraud_ip_earn, 2, 0, 1000),
	INT(fraud_trust_days, 30, 1, 365),
	INT(fraud_learn_hours, 24, 0, 720),
	ENUM(sms_delivery, "inline", deliveries),
	INT(sms_queue_max, 100000, 100, 100000000),
	INT(sms_max_tries, 8, 1, 100),
	INT(sms_resend_unknown, 0, 0, 3),
	INT(sms_claim_idle_ms, 30000, VC_CLAIM_IDLE_MIN, 86400000),
	INT(smsd_workers, 0, 0, VC_SENDERS_MAX),
	STR(metrics_file, ""),
	ENUM(sms_provider, "log", NULL),
	STR(ccp_base_url, "https://app.cloopen.com:8883"),
	STR(ccp_account_sid, ""),
	SECRET(ccp_auth_token),
	STR(ccp_app_id, ""),
	STR(ccp_template_id, "1"),
	{ "webhook_url", K_STR, O(webhook_url), "", 0, 0, NULL, 2 },
	SECRET(webhook_secret),
	STR(aliyun_access_key_id, ""),
	SECRET(aliyun_access_key_secret),
	STR(aliyun_sign_name, ""),
	STR(aliyun_template_code, ""),
	STR(aliyun_template_param, "code"),
	STR(aliyun_endpoint, "https://dysmsapi.aliyuncs.com"),
	STR(aliyun_region, "cn-hangzhou"),
	STR(tencent_secret_id, ""),
	SECRET(tencent_secret_key),
	STR(tencent_sdk_app_id, ""),
	STR(tencent_sign_name, ""),
	STR(tencent_template_id, ""),
	STR(tencent_region, "ap-guangzhou"),
	STR(tencent_endpoint, "https://sms.tencentcloudapi.com"),
	STR(sms_log_file, ""),
	SECRET(sms_code_key),
	SECRET(api_key),
	STR(trusted_proxies, ""),
	INT(ip6_prefix, 64, 16, 128),
	ENUM(lang, "zh", langs),
	STR(user, "www-data"),
	STR(group, "www-data"),
	ENUM(log_level, "info", levels),
	STR(access_log, "off"),
	ENUM(log_format, "text", logformats),
	INT(max_requests, 0, 0, 100000000),
	KEYS(meiduo, VC_MEIDUO, "img_", "sms_", "send_flag_"),
	KEYS(ihome, VC_IHOME, "image_code_", "sms_code_", "send_sms_code_"),
	KEYS(news, VC_NEWS, "ImageCode_", "SMS_", "send_flag_"),
};
#define NKEYS	(sizeof(keydefs) / sizeof(keydefs[0]))

static const struct kdef *
kdef_find(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (strlen(keydefs[i].name) == len &&
		    strncmp(keydefs[i].name, name, len) == 0)
			return &keydefs[i];
	return NULL;
}

/* Parses a space/comma separated list of dialect names into a bit set. */
static int
parse_dialects(const char *v, unsigned *out)
{
	char		 word[32];
	size_t		 n;
	unsigned	 set = 0;
	int		 i, found;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		n = strcspn(v, " \t,");
		if (n == 0)
			break;
		if (n >= sizeof(word))
			return -1;
		memcpy(word, v, n);
		word[n] = '\0';
		v += n;
		for (found = 0, i = 0; dialect_names[i] != NULL; i++)
			if (strcmp(word, dialect_names[i]) == 0) {
				set |= 1u << i;
				found = 1;
			}
		if (!found)
			return -1;
	}
	if (set == 0)
		return -1;
	*out = set;
	return 0;
}

/*
 * kname: the name of value i of K_ENUM key k, NULL past the last: the
 * providers' names are sms/'s table's, the one place they are written.
 */
static const char *
kname(const struct kdef *k, int i)
{
	return k->names != NULL ? k->names[i] :
	    sms_provider_name((enum sms_provider)i);
}

/*
 * Stores value v for key k into cfg. Returns 0, or -1 with a description
 * of what a good value is in why.
 */
static int
kdef_set(struct vc_config *cfg, const struct kdef *k, const char *v,
    const char **why)
{
	char	*p = (char *)cfg + k->off, *end, *s;
	long	 l;
	int	 i;

	switch (k->type) {
	case K_STR:
		if ((s = strdup(v)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		free(*(char **)p);
		*(char **)p = s;
		return 0;
	case K_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' ||
		    l < k->min || l > k->max) {
			*why = "an integer out of range";
			return -1;
		}
		*(int *)p = (int)l;
		return 0;
	case K_ENUM:
		for (i = 0; kname(k, i) != NULL; i++)
			if (strcmp(v, kname(k, i)) == 0) {
				*(int *)p = i;
				return 0;
			}
		*why = "not one of the allowed values";
		return -1;
	case K_DIALECTS:
		if (parse_dialects(v, (unsigned *)p) == -1) {
			*why = "not a list of meiduo, ihome, news";
			return -1;
		}
		return 0;
	}
	*why = "unknown type";
	return -1;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Describes the allowed values of k into buf, for error messages. */
static void
kdef_allowed(const struct kdef *k, char *buf, size_t len)
{
	int	 i;

	buf[0] = '\0';
	if (k->type == K_INT)
		snprintf(buf, len, " (%ld..%ld)", k->min, k->max);
	else if (k->type == K_ENUM) {
		strncat(buf, " (", len - strlen(buf) - 1);
		for (i = 0; kname(k, i) != NULL; i++) {
			if (i > 0)
				strncat(buf, ", ", len - strlen(buf) - 1);
			strncat(buf, kname(k, i), len - strlen(buf) - 1);
		}
		strncat(buf, ")", len - strlen(buf) - 1);
	}
}

static int
load_file(struct vc_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE			*fp;
	char			*line = NULL, *s, *eq, *key, *val, allowed[128];
	size_t			 cap = 0;
	ssize_t			 n;
	int			 lineno = 0, rc = 0;
	const struct kdef	*k;
	const char		*why;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) != -1) {
		lineno++;
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected key = value",
			    path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		/* Optional double quotes keep leading or trailing blanks. */
		if (strlen(val) >= 2 && val[0] == '"' &&
		    val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		if ((k = kdef_find(key, strlen(key))) == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'",
			    path, lineno, key);
			rc = -1;
			break;
		}
		if (kdef_set(cfg, k, val, &why) == -1) {
			kdef_allowed(k, allowed, sizeof(allowed));
			snprintf(err, errlen, "%s:%d: key '%s': bad value, %s%s",
			    path, lineno, key, why, allowed);
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(fp);
	return rc;
}

static int
load_env(struct vc_config *cfg, char *err, size_t errlen)
{
	char			 env[64], allowed[128];
	const char		*v, *why;
	size_t			 i, j;

	for (i = 0; i < NKEYS; i++) {
		snprintf(env, sizeof(env), "VCODE_%s", keydefs[i].name);
		for (j = 6; env[j] != '\0'; j++)
			env[j] = toupper((unsigned char)env[j]);
		if ((v = getenv(env)) == NULL)
			continue;
		if (kdef_set(cfg, &keydefs[i], v, &why) == -1) {
			kdef_allowed(&keydefs[i], allowed, sizeof(allowed));
			snprintf(err, errlen,
			    "environment %s: key '%s': bad value, %s%s",
			    env, keydefs[i].name, why, allowed);
			return -1;
		}
	}
	return 0;
}

/* Checks that span keys, once everything is loaded. */
static int
check_config(const struct vc_config *cfg, char *err, size_t errlen)
{
	int	 n;

	if ((n = utf8_count(cfg->captcha_charset)) < 1) {
		snprintf(err, errlen, "key 'captcha_charset': empty or not "
		    "valid UTF-8");
		return -1;
	}
	if (cfg->sms_code_storage == VC_STORE_HASH &&
	    strlen(cfg->sms_code_key) < 16) {
		snprintf(err, errlen, "key 'sms_code_key': at least 16 bytes "
		    "are needed when sms_code_storage = hash");
		return -1;
	}
	if (strlen(cfg->country_code) > 4 ||
	    strspn(cfg->country_code, "0123456789") !=
	    strlen(cfg->country_code)) {
		snprintf(err, errlen, "key 'country_code': up to 4 digits "
		    "(86), or empty");
		return -1;
	}
	if (cfg->sms_delivery == VC_DELIVER_QUEUE &&
	    cfg->sms_provider == VC_PROVIDER_LOG &&
	    cfg->sms_log_file[0] == '\0') {
		snprintf(err, errlen, "key 'sms_delivery': queue with "
		    "sms_provider = log and no sms_log_file: the senders would "
		    "write every message nowhere");
		return -1;
	}
	/* A sender holds a message for one provider call and a few store
	 * round trips; only past that may another take it over. */
	if (cfg->sms_claim_idle_ms <= SMS_SEND_MAX_MS +
	    2 * cfg->redis_timeout_ms) {
		snprintf(err, errlen, "key 'sms_claim_idle_ms': must exceed "
		    "%d ms (one provider call, %d ms, and two redis_timeout_ms)",
		    SMS_SEND_MAX_MS + 2 * cfg->redis_timeout_ms,
		    SMS_SEND_MAX_MS);
		return -1;
	}
	/* store/ owns the syntax; its message names the key. */
	if (store_sentinels_check(cfg->redis_sentinels, cfg->redis_master,
	    cfg->redis_sentinel_password, err, errlen) == -1)
		return -1;
	if (strcmp(cfg->access_log, "off") != 0 &&
	    strcmp(cfg->access_log, "syslog") != 0 &&
	    cfg->access_log[0] != '/') {
		snprintf(err, errlen, "key 'access_log': a full path, syslog "
		    "or off");
		return -1;
	}
	/* The development provider's file holds codes by design. */
	if (strcmp(cfg->access_log, cfg->sms_log_file) == 0) {
		snprintf(err, errlen, "key 'access_log': the same file as "
		    "sms_log_file, where codes go");
		return -1;
	}
	if (strlen(cfg->key_prefix) > 64) {
		snprintf(err, errlen, "key 'key_prefix': longer than 64 bytes");
		return -1;
	}
	return 0;
}

int
config_load(struct vc_config *cfg, const char *path, char *err,
    size_t errlen)
{
	size_t		 i;
	const char	*why;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (kdef_set(cfg, &keydefs[i], keydefs[i].def, &why) == -1) {
			snprintf(err, errlen, "default of '%s': %s",
			    keydefs[i].name, why);
			goto fail;
		}
	if (path != NULL && load_file(cfg, path, err, errlen) == -1)
		goto fail;
	if (load_env(cfg, err, errlen) == -1)
		goto fail;
	if (check_config(cfg, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void
config_free(struct vc_config *cfg)
{
	size_t	 i;
	char	**p;

	for (i = 0; i < NKEYS; i++) {
		if (keydefs[i].type != K_STR)
			continue;
		p = (char **)((char *)cfg + keydefs[i].off);
		if (*p != NULL && keydefs[i].secret)
			explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

/*
 * dump_url_host: a URL as "scheme://host[:port]/" and a mark when there
 * was more: its user, password, path and query may carry a token.
 */
static void
dump_url_host(const char *url, FILE *fp)
{
	const char	*sep, *host, *end, *at;
	size_t		 n;

	if ((sep = strstr(url, "://")) == NULL) {
		fprintf(fp, "%s\n", url[0] != '\0' ? "(set)" : "");
		return;
	}
	host = sep + 3;
	/* The user part ends at the last '@' before any query or fragment,
	 * even if an unescaped '/' in a password came first. */
	n = strcspn(host, "?#");
	if ((at = memrchr(host, '@', n)) != NULL)
		host = at + 1;
	end = host + strcspn(host, "/?#");
	fprintf(fp, "%.*s%.*s/%s\n", (int)(sep + 3 - url), url,
	    (int)(end - host), host,
	    at != NULL || *end != '\0' ? "(rest masked)" : "");
}

void
config_dump(const struct vc_config *cfg, FILE *fp)
{
	size_t			 i;
	int			 d, v;
	const struct kdef	*k;
	const char		*p;

	for (i = 0; i < NKEYS; i++) {
		k = &keydefs[i];
		p = (const char *)cfg + k->off;
		fprintf(fp, "%s = ", k->name);
		switch (k->type) {
		case K_STR:
			if (k->secret == 2)
				dump_url_host(*(char *const *)p, fp);
			else
				fprintf(fp, "%s\n", k->secret &&
				    **(char **)p != '\0' ? "(set)" :
				    *(char *const *)p);
			break;
		case K_INT:
			fprintf(fp, "%d\n", *(const int *)p);
			break;
		case K_ENUM:
			v = *(const int *)p;
			fprintf(fp, "%s\n", kname(k, v));
			break;
		case K_DIALECTS:
			for (d = 0; d < VC_DIALECT_COUNT; d++)
				if (cfg->dialects & (1u << d))
					fprintf(fp, "%s ", dialect_names[d]);
			fprintf(fp, "\n");
			break;
		}
	}
}
