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

#define STORE_KEY_MAX	256	/* the longest key a caller builds */

/*
 * store_new: parses url ("unix:PATH[?db=N]" or
 * "redis://[[USER]:PASS@]HOST[:PORT][/DB]", USER a Redis 6 ACL user) and
 * prepares a handle; it does not connect. NULL with err on a bad url.
 * A reply that says the server is no longer the primary (READONLY,
 * MASTERDOWN, LOADING) drops the connection like a network error does,
 * so the next call finds the primary again (through the sentinels when
 * store_sentinels was called).
 */
struct store	*store_new(const char *url, int timeout_ms,
		    char *err, size_t errlen);
/*
 * store_sentinels: the primary is found through Redis Sentinel instead of
 * the url's host. list is "HOST:PORT[,HOST:PORT...]" (HOST an IPv4
 * address, [IPv6] or a name; at most 16; "" leaves the url's host in
 * use), master the name the sentinels monitor, password their AUTH
 * password ("": none). The url still gives the data server's user,
 * password and database. Each connection, the first and every one after
 * a drop, asks the sentinels in turn (each within the timeout) with
 * SENTINEL get-master-addr-by-name, the one that answers moves to the
 * front, and the server it names is used only if ROLE says master: an
 * address is never kept from one connection to the next. 0, or -1 with
 * err (naming the configuration key) on a bad argument.
 */
int		 store_sentinels(struct store *, const char *list,
		    const char *master, const char *password, char *err,
		    size_t errlen);
/*
 * store_sentinels_check: what store_sentinels would say of its
 * arguments, without a handle (the configuration's checks). 0 or -1 with
 * err.
 */
int		 store_sentinels_check(const char *list, const char *master,
		    const char *password, char *err, size_t errlen);
/*
 * store_counters: from now on, the store adds one (atomically, relaxed)
 * to *errors for each public call that returns -1, and to *reconnects
 * for each connection made after the first. Either may be NULL. The
 * counters must outlive the handle.
 */
void		 store_counters(struct store *, unsigned long long *errors,
		    unsigned long long *reconnects);
/*
 * The words of the results, for logs and metrics labels:
 * store_sms_word ("ip", "fnet", "rnet"), store_verify_word ("wrong").
 * store_sms_refusal: 1 when result r refused the request;
 * store_sms_recorded: 1 when r is sent, and the fraud guard would have
 * refused it.
 */
const char	*store_sms_word(int r);
const char	*store_verify_word(int r);
int		 store_sms_refusal(int r);
int		 store_sms_recorded(int r);
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
/*
 * store_put: SET key val EX ttl. 0 or -1. In two halves, so that the
 * caller works while Redis answers: store_put_send writes the command
 * out, store_put_wait (to be called after a send that returned 0, before
 * any other call) reads the reply. 0 or -1 each.
 */
int		 store_put_send(struct store *, const char *key,
		    const char *val, int ttl);
int		 store_put_wait(struct store *);
int		 store_put(struct store *, const char *key, const char *val,
		    int ttl);
/* store_del: DEL key (missing is fine). 0 or -1. */
int		 store_del(struct store *, const char *key);

/*
 * store_refused: 1 when the last failure was Redis answering with an
 * error (the command or the data it met is at fault: a key of the wrong
 * type, a script error), 0 when Redis could not be reached or gave no
 * usable answer. The first is not an outage: waiting will not fix it.
 */
int		 store_refused(const struct store *);
/* store_get: GET key into out. 1 found, 0 missing (or too long), -1. */
int		 store_get(struct store *, const char *key, char *out,
		    size_t outlen);

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
	/* The fraud guard refused (enforce, armed): */
	STORE_SMS_FRAUD_NET,	/* the network's unverified codes */
	STORE_SMS_FRAUD_BLOCK,	/* the number block's unverified codes */
	STORE_SMS_FRAUD_UNTRUSTED, /* untrusted share of the budget spent */
	/* Sent, and the guard would have refused it (record, not armed): */
	STORE_SMS_RECORD_NET,
	STORE_SMS_RECORD_BLOCK,
	STORE_SMS_RECORD_UNTRUSTED,
	STORE_SMS_RESULTS	/* how many; callers size their tables by it */
};

/*
 * One SMS request, by name: each member is one key or argument of the
 * request script, bound to it by one table in store.c (a member, its
 * name in the script, its kind), from which the script's header is made.
 * Every key is required (non-empty); a limit of 0 is off.
 */
/* The limits of every SMS request, made once from the configuration. */
enum store_fraud { STORE_FRAUD_OFF, STORE_FRAUD_RECORD, STORE_FRAUD_ENFORCE };
struct store_sms_limits {
	int		 code_ttl;
	int		 hour;		/* seconds: block, budget, address */
	int		 interval;	/* 0: no resend flag */
	int		 daily_limit;
	int		 ip_limit;
	int		 block_limit;	/* per number block and hour */
	int		 budget_limit;	/* the site's SMS per hour */
	int		 daily_window, ip_window;
	int		 queue_max;	/* 0: inline delivery, nothing queued;
					   else refuse (QUEUE_FULL) at this
					   many waiting */
	int		 minutes;	/* the code's lifetime, for the text */
	int		 keep;		/* TTL of the outbox, s, at least */
	/* The fraud guard (README, "Fraud guard"). */
	enum store_fraud fraud;
	int		 window;	/* buckets (hours) the bounds sum */
	int		 net_floor, net_ratio;		/* ratio in % */
	int		 block_floor, block_ratio;
	int		 untrusted;	/* unverified untrusted codes an hour of
					   the budget, at most (0: no bound) */
	int		 ip_earn;	/* address cap += this x verified from
					   its network in the window */
	int		 trust;		/* s a verification trusts for */
	int		 learn;		/* s from the first verification to
					   enforcing */
	int		 window_keep;	/* TTL of the bucketed hashes, s */
};

struct store_sms {
	/* Keys, written in place by the caller. */
	char		 flag_key[STORE_KEY_MAX];	/* the dialect's legacy
							   resend flag */
	char		 interval_key[STORE_KEY_MAX];	/* the one resend flag
							   per mobile */
	char		 daily_key[STORE_KEY_MAX], ip_key[STORE_KEY_MAX];
	char		 block_key[STORE_KEY_MAX], budget_key[STORE_KEY_MAX];
	char		 captcha_key[STORE_KEY_MAX], code_key[STORE_KEY_MAX];
	char		 attempts_key[STORE_KEY_MAX];
	char		 outbox_key[STORE_KEY_MAX];	/* store_outbox's stream */
	/* The guard's: bucketed hashes of sent (s<B>) and verified (v<B>). */
	char		 fnet_key[STORE_KEY_MAX], fblock_key[STORE_KEY_MAX];
	char		 fpool_key[STORE_KEY_MAX];	/* untrusted u and w,
							   the budget's hour */
	char		 fmobile_key[STORE_KEY_MAX];	/* verified: trusted */
	char		 fseen_key[STORE_KEY_MAX];	/* network verified */
	char		 farmed_key[STORE_KEY_MAX];	/* site verified */
	char		 fcode_key[STORE_KEY_MAX];	/* what verify credits */
	char		 fstats_key[STORE_KEY_MAX];
	/* Arguments. */
	struct store_sms_limits limits;
	const char	*answer;	/* typed captcha text, ASCII-folded */
	const char	*code_value;	/* what to store as the SMS code */
	/* The message queued in the same step (limits.queue_max > 0). */
	const char	*mobile;	/* as the provider is given it */
	const char	*code;
	const char	*dialect;
	long long	 queued_ms;	/* Unix time of the request, ms */
	long long	 expires;	/* Unix time the code expires, s */
	long long	 bucket;	/* Unix time / limits.hour */
};

/*
 * store_sms_request: in one Lua script: throttles (the one interval per
 * mobile, daily, IP, number block, site budget; the IP counter counts
 * every request that reaches it), the fraud guard's bounds (README,
 * "Fraud guard"; limits.fraud), then the captcha read and deleted,
 * compared case-insensitively, then the code stored with its TTL, its own
 * attempt counter reset, the resend flags (shared and legacy) set and the
 * daily, block and budget counters counted; with queue_max, the message
 * appended to the outbox in the same step (refused, with nothing
 * counted, when the outbox holds queue_max); with the guard on, the
 * send counted by network, block and untrusted pool and recorded for the
 * verify step (fcode_key). Returns an enum
 * store_sms_result, or -1 if the store failed (or a key is NULL).
 */
int		 store_sms_request(struct store *, const struct store_sms *);

/*
 * store_sms_rollback: undoes a successful store_sms_request whose message
 * could not be handed over: the code (only if it is still code_value),
 * the resend flags, one count of the daily, block and budget counters,
 * and the guard's counts of the send and its record. 0 or -1.
 */
int		 store_sms_rollback(struct store *, const struct store_sms *);

/*
 * store_fraud_unsent: a queued code that was never delivered (it died,
 * or expired unsent) takes back the guard's counts of its send: its
 * record (fcode_key) is undone if it is still the record of code_value
 * (the stored form). 1 undone, 0 none (no guard, or a newer code), -1.
 */
int		 store_fraud_unsent(struct store *, const char *fcode_key,
		    const char *code_value);

/*
 * store_sms_script_check: NULL when the request script's body names
 * exactly the keys and arguments of the table that binds struct
 * store_sms to it (each used, none unknown, no positional KEYS[] or
 * ARGV[]); else the first name that disagrees. For the unit tests.
 */
const char	*store_sms_script_check(void);

enum store_verify_result {
	STORE_VERIFY_OK = 0,	/* matched; code and attempts deleted */
	STORE_VERIFY_MISSING,	/* no code (expired, used, burned) */
	STORE_VERIFY_WRONG,	/* mismatch; one attempt counted */
	STORE_VERIFY_BURNED,	/* mismatch that reached the cap; deleted */
	STORE_VERIFY_RESULTS	/* how many */
};

/*
 * What a verification credits to the fraud guard: the record the request
 * step left of the code (fcode_key), the hour's bucket, how long a
 * verification trusts its mobile and network, the TTL of the bucketed
 * hashes.
 */
struct store_credit {
	int		 on;		/* 0: the guard is off, credit nothing */
	const char	*fcode_key;
	long long	 now;		/* Unix time, s */
	long long	 bucket;
	int		 trust;
	int		 window_keep;
};

/*
 * store_verify: in one Lua script, compares value (constant time) with
 * the stored code; on a match deletes it and credits the guard's record
 * of it (if the code was sent with the guard on), else counts an attempt
 * in attempts_key (TTL ttl) and deletes the code at max_attempts (0:
 * never). Returns an enum store_verify_result, or -1 if the store failed.
 */
int		 store_verify(struct store *, const char *code_key,
		    const char *attempts_key, const char *value,
		    int max_attempts, int ttl, const struct store_credit *);

/* ---- The outbox: queued SMS (sms_delivery = queue). ---- */

#define STORE_ID_MAX		48
#define STORE_CONSUMER_MAX	128
#define STORE_OUTBOX_MARGIN	3600	/* the stream and retry set outlive
					   the longest code by this, s */
#define STORE_DEAD_KEEP		(7 * 86400)	/* dead letters and stats,
					   s after their last write */
#define STORE_DEAD_MAX		100000	/* dead letters kept (MAXLEN ~) */
#define STORE_GROUP		"vcode-smsd"	/* the senders' group */

/*
 * The outbox's keys and the facts a producer or a sender needs of it:
 * its one owner is store_outbox_init().
 */
struct store_outbox {
	char		 stream[STORE_KEY_MAX];	/* {prefix}outbox */
	char		 retry[STORE_KEY_MAX];	/* {prefix}outbox:retry, zset */
	char		 dead[STORE_KEY_MAX];	/* {prefix}outbox:dead */
	char		 stats[STORE_KEY_MAX];	/* {prefix}outbox:stats, hash */
	char		 sending[STORE_KEY_MAX]; /* {prefix}outbox:sending,
					   hash: id -> the sender whose
					   gateway request is under way */
	char		 consumer[STORE_CONSUMER_MAX];	/* "" for a producer */
	int		 keep;		/* TTL, s, of the stream, the retry set
					   and the sending hash after a write:
					   longer than any code in them lives */
	int		 dead_keep;	/* TTL, s, of the dead letters and the
					   stats after a write */
};

/*
 * store_outbox_init: the names under prefix for codes living code_ttl
 * seconds, and this sender's consumer name (NULL for a producer). 0, or
 * -1 when a name does not fit.
 */
int		 store_outbox_init(struct store_outbox *, const char *prefix,
		    int code_ttl, const char *consumer);

/*
 * One message as read, from the stream, the retry set or the dead
 * letters. Wipe it (explicit_bzero) when done: it may hold a code.
 * The store checks its shape (each field once, a string without NUL
 * that fits, numbers in range); what the values mean (the mobile's
 * pattern, the key's name) is the caller's to check.
 */
struct store_msg {
	char		 id[STORE_ID_MAX];
	char		 mobile[64];
	char		 code[32];	/* "" in a replayed dead letter */
	char		 key[512];	/* the code's key */
	char		 dialect[16];
	int		 minutes;
	int		 tries;		/* refused sends so far */
	int		 unknown;	/* gateway requests whose fate is
					   unknown (may have been delivered) */
	long long	 deliveries;	/* times read or claimed (0: unknown) */
	long long	 queued_ms;
	long long	 expires;
	const char	*why;		/* NULL, or why the message is malformed
					   (static text) */
};

/*
 * store_msg_fields: fills m from n (name, value) pairs (lengths given,
 * not NUL-terminated): the fields of a stream entry. A field given twice,
 * a value with a NUL or too long, a number out of range, a required field
 * missing, or more than STORE_MSG_FIELDS_MAX pairs make m->why say so;
 * unknown names are ignored. The code may be missing: a replayed dead
 * letter has none. m->id is the caller's to fill.
 */
#define STORE_MSG_FIELDS_MAX	32
void		 store_msg_fields(struct store_msg *m, size_t n,
		    const char *const *names, const size_t *namelens,
		    const char *const *values, const size_t *valuelens);
/*
 * store_msg_json: fills m from a retry-set member (a JSON object of
 * string values, as store_outbox_retry writes it; its "from" is the id).
 * m->why says why it is not one.
 */
void		 store_msg_json(struct store_msg *m, const char *text,
		    size_t len);

/*
 * store_outbox_group: makes the consumer group (and the stream, with its
 * TTL), reading from the start, so messages queued before any sender ran
 * are sent. An existing group is fine. 0 or -1.
 */
int		 store_outbox_group(struct store *, const struct store_outbox *);
/*
 * store_outbox_read: one message for this sender: with after, one it
 * was given before and has not acknowledged (after a restart of its
 * connection), of an id after after ("0": the first); else (NULL) a new
 * one, waiting up to block_ms. 1 with *m (check m->why), 0 when there is
 * none, -1 if the store failed. A pending entry whose message is gone is
 * acknowledged and skipped. A group or stream that went away is made
 * again (0).
 */
int		 store_outbox_read(struct store *, const struct store_outbox *,
		    const char *after, int block_ms, struct store_msg *m);
/*
 * store_outbox_claim: takes over one message another sender has held for
 * min_idle_ms (XAUTOCLAIM from cursor, which is updated; "0-0" to
 * start). 1 with *m, 0 none, -1.
 */
int		 store_outbox_claim(struct store *, const struct store_outbox *,
		    int min_idle_ms, char *cursor, size_t cursorlen,
		    struct store_msg *m);

/* What store_outbox_begin() found. */
enum store_begin {
	STORE_BEGIN_OK = 0,	/* marked: send it */
	STORE_BEGIN_GONE,	/* no longer this sender's: do not send */
	STORE_BEGIN_UNKNOWN,	/* a sender began a gateway request for it
				   and did not finish: it may be delivered */
	STORE_BEGIN_BUDGET,	/* a resend, and the hourly budget is spent */
	STORE_BEGIN_RESULTS
};
/*
 * store_outbox_begin: before a gateway request for m, in one step: checks
 * m is still this sender's, that no earlier request for it is unfinished
 * (a mark of another sender or of an earlier delivery; this call's own,
 * left by a try whose answer was lost, is fine),
 * and, for a resend (a request that may repeat a delivered one), takes
 * one from the budget at budget_key (limit budget_limit an hour of
 * hour_seconds, 0: no budget); then marks the request as under way. An enum store_begin, or
 * -1.
 */
int		 store_outbox_begin(struct store *, const struct store_outbox *,
		    const struct store_msg *m, int resend,
		    const char *budget_key, int budget_limit, int hour_seconds);
/*
 * store_outbox_done: the message id is finished (sent, dropped, or its
 * fate unknown and not to be sent again): acknowledged and deleted, its
 * mark cleared, and the stats field stat counted, in one step, whoever
 * holds it. 1; 0 when it had been finished already ("late" is counted
 * instead of stat); -1.
 */
int		 store_outbox_done(struct store *, const struct store_outbox *,
		    const char *id, const char *stat);
/*
 * store_outbox_retry: m, refused (or of unknown fate, to be sent again),
 * waits until due_ms (Unix ms) in the retry set with tries and unknown as
 * m holds them now and error as its last error; acknowledged, deleted
 * and unmarked in the same step. 1; 0 when it is no longer ours; -1.
 */
int		 store_outbox_retry(struct store *, const struct store_outbox *,
		    const struct store_msg *m, long long due_ms,
		    const char *error);
/*
 * store_outbox_dead: m moves to the dead-letter stream with error and
 * without its code (a malformed m: its id and error only), acknowledged,
 * deleted and unmarked in the same step. 1, 0 (not ours), -1.
 */
int		 store_outbox_dead(struct store *, const struct store_outbox *,
		    const struct store_msg *m, const char *error);
/*
 * store_outbox_discard: the last resort for a finished entry the done
 * step cannot move (Redis refuses it): XACK, XDEL and its mark cleared,
 * plain commands. 0 or -1.
 */
int		 store_outbox_discard(struct store *,
		    const struct store_outbox *, const char *id);
/*
 * store_outbox_promote: retries due by now_ms (at most max) back into the
 * stream; a member that does not decode becomes a dead letter saying why
 * (counted "malformed"). Each member moves in one step. How many were
 * looked at, or -1 (st->refused when Redis refused to move a member: it
 * stays, and the others were moved).
 */
int		 store_outbox_promote(struct store *,
		    const struct store_outbox *, long long now_ms, int max);
/*
 * store_outbox_last_dead: the id of the newest dead letter into out. 1,
 * 0 when there is none, -1.
 */
int		 store_outbox_last_dead(struct store *,
		    const struct store_outbox *, char *out, size_t outlen);
/*
 * store_outbox_replay: up to max dead letters after cursor (updated;
 * "-" to start) and up to end (the last one there when the replay began,
 * so that letters dead again meanwhile are not chased) back into the
 * stream with their tries reset, without a code; one that is malformed
 * stays. Adds how many moved to *moved; returns how many were looked at
 * (0: the end), or -1.
 */
int		 store_outbox_replay(struct store *, const struct store_outbox *,
		    int max, const char *end, char *cursor, size_t cursorlen,
		    long *moved);
/* What the metrics scrape reads of the store, in one script call. */
struct store_gauges {
	long long	 length;	/* messages in the outbox stream */
	long long	 pending;	/* held by a sender, not acknowledged */
	long long	 retry;		/* waiting in the retry set */
	long long	 dead;		/* dead letters */
	long long	 budget_used;	/* the budget key's count this hour */
};
/* store_gauges: the outbox's sizes and the budget key's value. 0 or -1. */
int		 store_gauges(struct store *, const struct store_outbox *,
		    const char *budget_key, struct store_gauges *);
/* store_outbox_count: adds n to the stats field stat. 0 or -1. */
int		 store_outbox_count(struct store *, const struct store_outbox *,
		    const char *stat, int n);
/*
 * store_outbox_leave: removes this sender from the group if it holds no
 * message (a clean exit), so the group lists live senders. 0 or -1.
 */
int		 store_outbox_leave(struct store *, const struct store_outbox *);

#endif /* VCODE_STORE_H */
