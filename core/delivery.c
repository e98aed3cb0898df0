/*
 * delivery: what becomes of one queued message, from the moment a sender
 * holds it to its acknowledgement (sms_delivery = queue). The rules:
 *   - malformed (a field missing, twice, of the wrong shape; a mobile off
 *     the pattern; a key that is not its mobile's code key), or refused
 *     by Redis whatever it holds: a dead letter saying why, once;
 *   - its code no longer the one its key holds (expired, verified,
 *     replaced): dropped unsent. The key is the authority, not the
 *     message's clock;
 *   - sent: acknowledged and deleted;
 *   - refused by the gateway: retried after 1, 2, 4 ... 60 s with the
 *     same code until sms_max_tries, then a dead letter;
 *   - fate unknown (the request went out, no answer; or a sender began a
 *     request for it and never finished): it may have been delivered, so
 *     it is not sent again unless sms_resend_unknown allows, after
 *     sms_claim_idle_ms (the gateway may still be delivering it: the
 *     wait of a take-over), and each such resend takes one from the hourly
 *     budget. A gateway thus sees at most 1 + sms_resend_unknown requests
 *     that may deliver per code.
 * The daemon around it (core/smsd.c) finds the messages.
 */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "core/smsd.h"
#include "sms/sms.h"
#include "store/store.h"

#define BACKOFF_FIRST_MS	1000	/* a refused message waits 1, 2, 4 ... */
#define BACKOFF_MAX_MS		60000	/* ... up to a minute */
#define STOP_ACK_MS		20000	/* after a stop, an acknowledgement is
					   still tried this long (vcoded's
					   master waits 30 s) */
#define CLOCK_SKEW_S		60	/* between the web host's clock, which
					   wrote expires, and ours */

/* backoff: how long a message waits after its tries-th refusal. */
static long long
backoff(int tries)
{
	long long	 ms = BACKOFF_FIRST_MS;

	while (--tries > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/*
 * check: NULL when m is a message vcode could have queued: well formed,
 * a known dialect, a mobile the pattern takes, its key the dialect's
 * code key of that mobile, a code of digits if any. Else why not.
 */
static const char *
check(const struct sender *s, const struct store_msg *m)
{
	const struct vc_config	*cfg = s->cfg;
	char			 key[VC_KEY_MAX];
	int			 d;

	if (m->why != NULL)
		return m->why;
	for (d = 0; d < VC_DIALECT_COUNT; d++)
		if (strcmp(m->dialect, dialect_names[d]) == 0)
			break;
	if (d == VC_DIALECT_COUNT)
		return "an unknown dialect";
	if (strlen(m->mobile) > VC_MOBILE_MAX ||
	    !mobile_match(s->mobile, m->mobile))
		return "a mobile the pattern refuses";
	if (key_make(key, cfg->keys[d].sms, "", m->mobile) == -1 ||
	    strcmp(key, m->key) != 0)
		return "a key that is not its mobile's code key";
	if (m->code[0] != '\0' && !valid_sms_code(m->code))
		return "a code that is not digits";
	return NULL;
}

/*
 * live: 1 when the code of m is still the one its key holds, 0 when not,
 * -1 if the store failed (store_refused() tells an error reply from an
 * outage). A replayed dead letter carries no code: with plain storage it
 * is sent the code its key holds now, if any; with hash storage that
 * cannot be read back, and it is dropped.
 */
static int
live(struct sender *s, struct store_msg *m, const char *masked)
{
	char	 want[VC_HMAC_HEX], have[VC_HMAC_HEX];
	int	 rc;

	rc = store_get(s->store, m->key, have, sizeof(have));
	if (rc == 1 && m->code[0] == '\0') {
		rc = s->cfg->sms_code_storage == VC_STORE_PLAIN &&
		    valid_sms_code(have) && strlen(have) < sizeof(m->code);
		if (rc)
			memcpy(m->code, have, strlen(have) + 1);
	} else if (rc == 1)
		rc = sms_code_value(s->cfg, m->mobile, m->code, want,
		    sizeof(want)) == 0 &&
		    ct_equal(want, strlen(want), have, strlen(have));
	explicit_bzero(want, sizeof(want));
	explicit_bzero(have, sizeof(have));
	if (rc == 1 && m->expires + CLOCK_SKEW_S <= now_ms() / 1000)
		log_warn("sms to %s: its code key is live %lld s after the "
		    "message says it expired: the clocks of this host and the "
		    "web host differ by more than %d s", masked,
		    now_ms() / 1000 - m->expires, CLOCK_SKEW_S);
	return rc;
}

enum fin { FIN_DONE, FIN_RETRY, FIN_DEAD };

/*
 * finish: records what became of m (stat for FIN_DONE, the error for the
 * others; due for FIN_RETRY), retrying through an outage: a message that
 * was sent must not be sent again because the acknowledgement could not
 * be written. Redis refusing the step is no outage: a retry becomes a
 * dead letter (its cause kept), a finished message is discarded, and a
 * dead letter Redis refuses stays pending (-1: the caller pauses), so
 * that one entry cannot stop delivery. Gives up only STOP_ACK_MS after a
 * stop (the
 * message stays pending, marked if a request was under way, so the
 * sender that takes it over does not send it blindly). Returns what the
 * store step said (0: the message is no longer this sender's), or -1.
 */
static int
finish(struct sender *s, const struct store_msg *m, enum fin how,
    const char *what, long long due)
{
	char		 why[VC_ERR_MAX];
	long long	 deadline = 0;
	int		 rc;

	for (;;) {
		switch (how) {
		case FIN_DONE:
			rc = store_outbox_done(s->store, &s->ob, m->id, what);
			break;
		case FIN_RETRY:
			rc = store_outbox_retry(s->store, &s->ob, m, due, what);
			break;
		default:
			rc = store_outbox_dead(s->store, &s->ob, m, what);
			break;
		}
		if (rc == 0)
			log_warn("message %s: another sender has taken the "
			    "message over; it is that sender's now", m->id);
		if (rc != -1) {
			smsd_reachable(s);
			return rc;
		}
		if (store_refused(s->store)) {
			log_error("message %s: redis refused to move it (%s)%s",
			    m->id, store_strerror(s->store), how == FIN_RETRY ?
			    ": a dead letter instead" : how == FIN_DONE ?
			    ": discarded" : ": left pending");
			if (how == FIN_RETRY) {
				snprintf(why, sizeof(why), "%.200s (redis refused its "
				    "retry)", what);
				what = why;
				how = FIN_DEAD;
				continue;
			}
			if (how == FIN_DEAD)
				return -1;
			if (store_outbox_discard(s->store, &s->ob, m->id) == 0)
				return 1;
			if (store_refused(s->store))
				return -1;
		}
		if (*s->stop && deadline == 0)
			deadline = mono_ms() + STOP_ACK_MS;
		if (*s->stop && mono_ms() > deadline) {
			log_warn("stopping with one message unacknowledged (%s):"
			    " another sender will take it over",
			    store_strerror(s->store));
			return -1;
		}
		smsd_outage(s);
	}
}

/* dead: m becomes a dead letter saying why. What finish() says. */
static int
dead(struct sender *s, const struct store_msg *m, const char *masked,
    const char *why)
{
	int	 rc;

	if ((rc = finish(s, m, FIN_DEAD, why, 0)) == 1) {
		log_error("sms to %s (message %s): %s; moved to the dead-letter "
		    "stream", masked, m->id, why);
		metrics_sender(MD_FAILED);
	}
	return rc;
}

/*
 * unsent: m was never delivered (its code expired unsent, or the gateway
 * refused every try): the fraud guard takes its send back, so a slow or
 * failing gateway does not make people's networks look like a bot's. A
 * message whose delivery was ever unknown may have been delivered, and
 * keeps its count. Best effort: a failure is logged.
 */
static void
unsent(struct sender *s, const struct store_msg *m)
{
	char	 key[VC_KEY_MAX], value[VC_HMAC_HEX];

	if (s->cfg->fraud_guard == VC_FRAUD_OFF || m->unknown > 0 ||
	    m->code[0] == '\0' ||
	    key_make(key, s->cfg->key_prefix, KEY_FCODE, m->key) == -1 ||
	    sms_code_value(s->cfg, m->mobile, m->code, value,
	    sizeof(value)) == -1)
		return;
	if (store_fraud_unsent(s->store, key, value) == -1)
		log_warn("message %s: the fraud guard's count of it stays: %s",
		    m->id, store_strerror(s->store));
	explicit_bzero(value, sizeof(value));
}

/*
 * refused: the gateway said no (err): retried, or dead at the last. What
 * finish() says.
 */
static int
refused(struct sender *s, struct store_msg *m, const char *masked,
    const char *err)
{
	int	 last = m->tries + 1 >= s->cfg->sms_max_tries, rc;

	m->tries++;
	if (last) {
		if ((rc = dead(s, m, masked, err)) == 1)
			unsent(s, m);
		return rc;
	}
	if ((rc = finish(s, m, FIN_RETRY, err, now_ms() +
	    backoff(m->tries))) == 1) {
		log_warn("sms to %s: try %d of %d refused (%s); again in %lld "
		    "ms", masked, m->tries, s->cfg->sms_max_tries, err,
		    backoff(m->tries));
		metrics_sender_retry();
	}
	return rc;
}

/*
 * unknown: a request for m may have gone out (err says why it is not
 * known). Sent again only within sms_resend_unknown and sms_max_tries;
 * else finished as "unknown_final". What finish() says.
 */
static int
unknown(struct sender *s, struct store_msg *m, const char *masked,
    const char *err)
{
	int	 rc;

	m->unknown++;
	metrics_sender(MD_UNKNOWN);
	if (store_outbox_count(s->store, &s->ob, "unknown", 1) == -1)
		log_debug("stats: %s", store_strerror(s->store));
	if (m->unknown <= s->cfg->sms_resend_unknown &&
	    m->tries + 1 < s->cfg->sms_max_tries) {
		m->tries++;
		if ((rc = finish(s, m, FIN_RETRY, err, now_ms() +
		    s->cfg->sms_claim_idle_ms)) == 1) {
			log_warn("sms to %s: delivery unknown (%s); sent again "
			    "in %d ms (sms_resend_unknown = %d)", masked, err,
			    s->cfg->sms_claim_idle_ms,
			    s->cfg->sms_resend_unknown);
			metrics_sender_retry();
		}
		return rc;
	}
	if ((rc = finish(s, m, FIN_DONE, "unknown_final", 0)) == 1)
		log_warn("sms to %s: delivery unknown (%s); not sent again: "
		    "it may have been delivered", masked, err);
	return rc;
}

/*
 * wait_out: step (the code key read, the mark) until it answers or Redis
 * refuses it, waiting out an outage: the message stays in hand, since
 * read again its delivery count would grow with every blip. -2 after a
 * stop (the message stays pending, to be taken over), else what step
 * said.
 */
static int
wait_out(struct sender *s, int (*step)(struct sender *, struct store_msg *,
    const char *), struct store_msg *m, const char *masked)
{
	int	 rc;

	while ((rc = step(s, m, masked)) == -1 && !store_refused(s->store)) {
		if (*s->stop)
			return -2;
		smsd_outage(s);
	}
	if (rc != -1)
		smsd_reachable(s);
	return rc;
}

/* begin: store_outbox_begin for m, a resend if its fate was unknown. */
static int
begin(struct sender *s, struct store_msg *m, const char *masked)
{
	(void)masked;
	return store_outbox_begin(s->store, &s->ob, m, m->unknown > 0,
	    s->budget, s->cfg->sms_hourly_budget, s->cfg->hour_seconds);
}

int
delivery_handle(struct sender *s, struct store_msg *m)
{
	char		 masked[24], err[VC_ERR_MAX];
	const char	*why;
	int		 rc;

	mobile_mask(m->mobile, masked, sizeof(masked));
	if ((why = check(s, m)) != NULL)
		return dead(s, m, masked, why) == -1 ? -1 : 0;
	if (m->deliveries > s->cfg->sms_max_tries)
		return dead(s, m, masked, "its senders died while holding "
		    "it") == -1 ? -1 : 0;
	if ((rc = wait_out(s, live, m, masked)) == -2)
		return -1;
	if (rc == -1) {
		snprintf(err, sizeof(err), "its key cannot be read (%s)",
		    store_strerror(s->store));
		return dead(s, m, masked, err) == -1 ? -1 : 0;
	}
	if (rc == 0) {
		if ((rc = finish(s, m, FIN_DONE, "dropped", 0)) == 1) {
			log_info("sms to %s dropped unsent: its code expired, "
			    "was used or was replaced", masked);
			unsent(s, m);
		}
		return rc == -1 ? -1 : 0;
	}
	switch ((rc = wait_out(s, begin, m, masked))) {
	case STORE_BEGIN_OK:
		break;
	case STORE_BEGIN_GONE:
		log_info("message %s was taken over by another sender: not "
		    "sent here", m->id);
		return 0;
	case STORE_BEGIN_UNKNOWN:
		rc = unknown(s, m, masked, "a sender began sending it and "
		    "stopped answering");
		return rc == -1 ? -1 : 0;
	case STORE_BEGIN_BUDGET:
		if ((rc = finish(s, m, FIN_DONE, "unknown_final", 0)) == 1)
			log_warn("sms to %s: delivery unknown, and the hourly "
			    "budget is spent: not sent again", masked);
		return rc == -1 ? -1 : 0;
	case -2:
		return -1;
	default:
		snprintf(err, sizeof(err), "redis refused to mark it (%s)",
		    store_strerror(s->store));
		return dead(s, m, masked, err) == -1 ? -1 : 0;
	}
	switch (sms_send(s->sms, m->mobile, m->code, m->minutes, err,
	    sizeof(err))) {
	case SMS_SENT:
		metrics_sender(MD_SENT);
		rc = finish(s, m, FIN_DONE, m->unknown > 0 ? "resent" : "sent",
		    0);
		if (rc != -1)
			log_info("sms code sent to %s (%s, try %d, %lld ms "
			    "after the request)", masked, m->dialect,
			    m->tries + 1, now_ms() - m->queued_ms);
		break;
	case SMS_UNKNOWN:
		rc = unknown(s, m, masked, err);
		break;
	default:
		rc = refused(s, m, masked, err);
		break;
	}
	return rc == -1 ? -1 : 0;
}
