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
	STORE_SMS_QUEUE_FULL,	/* queue delivery: sms_queue_max waiting */
	STORE_SMS_RESULTS	/* how many; callers size their tables by it */
};

/* The message a queued SMS request appends to the outbox stream. */
struct store_msg_out {
	const char	*outbox_key;
	int		 queue_max;	/* refuse (QUEUE_FULL) at this length */
	const char	*mobile;	/* as the provider is given it */
	const char	*code;
	const char	*dialect;
	int		 minutes;	/* the code's lifetime, for the text */
	long long	 queued_ms;	/* Unix time of the request, ms */
	long long	 expires;	/* Unix time the code expires, s */
	int		 keep;		/* TTL of the outbox, s, at least */
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
	const struct store_msg_out *queue;	/* NULL: inline delivery */
};

/*
 * store_sms_request: in one Lua script: throttles (the one interval per
 * mobile, daily, IP, number block, site budget; the IP counter counts
 * every request that reaches it), then the captcha read and deleted,
 * compared case-insensitively, then the code stored with its TTL, its own
 * attempt counter reset, the resend flags (shared and legacy) set and the
 * daily, block and budget counters counted; with q->queue, the message
 * appended to the outbox in the same step (refused, with nothing
 * counted, when the outbox holds queue_max). Returns an enum
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

/* ---- The outbox: queued SMS (sms_delivery = queue), for the senders. ---- */

/* The keys and names one sender works with; set once, borrowed. */
struct store_outbox {
	const char	*stream;	/* {prefix}outbox */
	const char	*retry;		/* {prefix}outbox:retry, a sorted set */
	const char	*dead;		/* {prefix}outbox:dead */
	const char	*stats;		/* {prefix}outbox:stats, a hash */
	const char	*group;		/* the consumer group */
	const char	*consumer;	/* this sender's name in it */
	int		 dead_max;	/* MAXLEN ~ of the dead-letter stream */
	int		 keep;		/* TTL, s, of the stream and the retry
					   set after a write: longer than any
					   code in them lives */
	int		 dead_keep;	/* TTL, s, of the dead letters and the
					   stats after a write */
};

#define STORE_ID_MAX	48
/* One message as read; wipe it (explicit_bzero) when done: it holds a code. */
struct store_msg {
	char		 id[STORE_ID_MAX];
	char		 mobile[64];
	char		 code[32];	/* "" in a replayed dead letter */
	char		 key[512];	/* the code's key */
	char		 dialect[16];
	int		 minutes;
	int		 tries;		/* failed sends so far */
	long long	 deliveries;	/* times read or claimed (0: unknown) */
	long long	 queued_ms;
	long long	 expires;
	int		 valid;		/* 0: a field missing or malformed */
};

/*
 * store_outbox_group: makes the consumer group (and the stream, with its
 * TTL), reading from the start, so messages queued before any sender ran
 * are sent. An existing group is fine. 0 or -1.
 */
int		 store_outbox_group(struct store *, const struct store_outbox *);
/*
 * store_outbox_read: one message for this sender: with pending, one it
 * was given before and has not acknowledged (after a restart of its
 * connection); else a new one, waiting up to block_ms. 1 with *m, 0 when
 * there is none, -1 if the store failed. A pending entry whose message
 * is gone is acknowledged and skipped.
 */
int		 store_outbox_read(struct store *, const struct store_outbox *,
		    int pending, int block_ms, struct store_msg *m);
/*
 * store_outbox_claim: takes over one message another sender has held for
 * min_idle_ms (XAUTOCLAIM from cursor, which is updated; "0-0" to
 * start). 1 with *m, 0 none, -1.
 */
int		 store_outbox_claim(struct store *, const struct store_outbox *,
		    int min_idle_ms, char *cursor, size_t cursorlen,
		    struct store_msg *m);
/* store_get: GET key into out. 1 found, 0 missing (or too long), -1. */
int		 store_get(struct store *, const char *key, char *out,
		    size_t outlen);
/*
 * store_outbox_done: the message id is finished (sent, or dropped):
 * acknowledged and deleted, and the stats field stat counted, in one
 * step. 1; 0 when it had been acknowledged already (another sender took
 * it over and finished it: if both sent it, "duplicates" is counted);
 * -1.
 */
int		 store_outbox_done(struct store *, const struct store_outbox *,
		    const char *id, const char *stat);
/*
 * store_outbox_retry: the message id failed and waits until due_ms (Unix
 * ms) in the retry set with one more try and error as its last error;
 * acknowledged and deleted from the stream in the same step. 1; 0 when
 * it is no longer ours; -1.
 */
int		 store_outbox_retry(struct store *, const struct store_outbox *,
		    const char *id, long long due_ms, const char *error);
/*
 * store_outbox_dead: the message id moves to the dead-letter stream with
 * error and without its code, acknowledged and deleted in the same step.
 * 1, 0 (not ours), -1.
 */
int		 store_outbox_dead(struct store *, const struct store_outbox *,
		    const char *id, const char *error);
/*
 * store_outbox_promote: retries due by now_ms (at most max) back into the
 * stream. How many moved, or -1.
 */
int		 store_outbox_promote(struct store *,
		    const struct store_outbox *, long long now_ms, int max);
/*
 * store_outbox_replay: up to max dead letters back into the stream with
 * their tries reset (and no code: see store_outbox_dead). How many moved,
 * or -1.
 */
int		 store_outbox_replay(struct store *, const struct store_outbox *,
		    int max);
/* store_outbox_count: adds n to the stats field stat. 0 or -1. */
int		 store_outbox_count(struct store *, const struct store_outbox *,
		    const char *stat, int n);
/*
 * store_outbox_leave: removes this sender from the group if it holds no
 * message (a clean exit), so the group lists live senders. 0 or -1.
 */
int		 store_outbox_leave(struct store *, const struct store_outbox *);

#endif /* VCODE_STORE_H */
