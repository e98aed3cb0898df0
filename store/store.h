/*
 * store: the only code that speaks Redis.
 *
 * One handle per worker process, made after fork. It connects lazily and
 * drops a broken connection, so the next call connects again: a Redis that
 * went away and came back is used again without a restart. Functions
 * returning int give -1 when Redis could not be reached or answered with
 * an error; store_strerror() then says why (never with a value in it).
 */
#ifndef VCODE_STORE_H
#define VCODE_STORE_H

#include <stddef.h>

struct store;

/*
 * store_new: parses url ("unix:PATH[?db=N]" or
 * "redis://[[USER]:PASS@]HOST[:PORT][/DB]", USER a Redis 6 ACL user) and
 * prepares a handle; it does not connect. NULL with err on a bad url.
 * A reply that says the server is no longer the primary (READONLY,
 * MASTERDOWN, LOADING) drops the connection like a network error does,
 * so the next call finds the primary again.
 */
struct store	*store_new(const char *url, int timeout_ms,
		    char *err, size_t errlen);
/* store_free: closes and frees; accepts NULL. */
void		 store_free(struct store *);
/* store_strerror: why the last call failed; never NULL. */
const char	*store_strerror(const struct store *);

/*
 * store_writable: 0 when the server answers and is the primary (ROLE
 * master), so writes will be taken; else -1 (and the connection is
 * dropped, so the next call looks for the primary again).
 */
int		 store_writable(struct store *);
/* store_put: SET key val EX ttl. 0 or -1. */
int		 store_put(struct store *, const char *key, const char *val,
		    int ttl);
/* store_del: DEL key (missing is fine). 0 or -1. */
int		 store_del(struct store *, const char *key);

/* What one SMS request decided, atomically (see store_sms_request). */
enum store_sms_result {
	STORE_SMS_OK = 0,
	STORE_SMS_INTERVAL,	/* resend flag present */
	STORE_SMS_DAILY,	/* per-mobile daily cap reached */
	STORE_SMS_IP,		/* per-IP hourly cap reached */
	STORE_SMS_NOCAPTCHA,	/* captcha missing or expired */
	STORE_SMS_WRONG,	/* captcha answer differs */
	STORE_SMS_BLOCK,	/* number block's hourly cap reached */
	STORE_SMS_BUDGET,	/* the site's hourly SMS budget is spent */
	STORE_SMS_RESULTS	/* how many; callers size their tables by it */
};

struct store_sms {
	const char	*flag_key;	/* the dialect's legacy resend flag */
	const char	*interval_key;	/* the one resend flag per mobile */
	const char	*daily_key, *ip_key, *block_key, *budget_key;
	const char	*captcha_key, *code_key, *attempts_key;
	const char	*answer;	/* typed captcha text, ASCII-folded */
	const char	*code_value;	/* what to store as the SMS code */
	int		 code_ttl;
	int		 interval;	/* 0: no resend flag */
	int		 daily_limit;	/* each limit: 0 is off */
	int		 ip_limit;
	int		 block_limit;	/* per number block and hour */
	int		 budget_limit;	/* the site's SMS per hour */
	int		 daily_window, ip_window;
};

/*
 * store_sms_request: in one Lua script: throttles (the one interval per
 * mobile, daily, IP, number block, site budget; the IP counter counts
 * every request that reaches it), then the captcha read and deleted,
 * compared case-insensitively, then the code stored with its TTL, its own
 * attempt counter reset, the resend flags (shared and legacy) set and the
 * daily, block and budget counters counted. Returns an enum
 * store_sms_result, or -1 if the store failed.
 */
int		 store_sms_request(struct store *, const struct store_sms *);

/*
 * store_sms_rollback: undoes a successful store_sms_request whose message
 * could not be handed over: the code (only if it is still code_value),
 * the resend flags, and one count of the daily, block and budget
 * counters. 0 or -1.
 */
int		 store_sms_rollback(struct store *, const struct store_sms *);

enum store_verify_result {
	STORE_VERIFY_OK = 0,	/* matched; code and attempts deleted */
	STORE_VERIFY_MISSING,	/* no code (expired, used, burned) */
	STORE_VERIFY_WRONG,	/* mismatch; one attempt counted */
	STORE_VERIFY_BURNED,	/* mismatch that reached the cap; deleted */
	STORE_VERIFY_RESULTS	/* how many */
};

/*
 * store_verify: in one Lua script, compares value (constant time) with
 * the stored code; on a match deletes it, else counts an attempt in
 * attempts_key (TTL ttl) and deletes the code at max_attempts (0: never).
 * Returns an enum store_verify_result, or -1 if the store failed.
 */
int		 store_verify(struct store *, const char *code_key,
		    const char *attempts_key, const char *value,
		    int max_attempts, int ttl);

#endif /* VCODE_STORE_H */
