/*
 * sender: queued delivery (sms_delivery = queue). Takes the messages the
 * SMS requests appended to the outbox stream, one at a time, and sends
 * each through the configured provider:
 *   - sent: acknowledged and deleted;
 *   - the code expired, was verified, or was replaced: dropped unsent;
 *     a replayed dead letter (no code kept) is sent its key's code;
 *   - refused, or fate unknown (a timeout after the request went out):
 *     retried after 1, 2, 4 ... 60 s, the same code, until sms_max_tries,
 *     then moved to the dead-letter stream with the last error;
 *   - held by a sender that died: taken over after sms_claim_idle_ms.
 * One message at a time: a message is never held longer than one
 * provider call, which sms_claim_idle_ms exceeds, so a live sender's
 * message is not taken over. Runs as vcode-smsd and as vcoded's
 * supervised children (smsd_workers).
 */
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/proc.h"
#include "sms/sms.h"
#include "store/store.h"

#define SENDER_GROUP		"vcode-smsd"
#define SENDER_BLOCK_MS		1000	/* one wait for new messages */
#define SENDER_PROMOTE_MAX	100	/* due retries moved per round */
#define SENDER_PROMOTE_MS	250	/* how often the retry set is looked at:
					   back-offs are whole seconds */
#define BACKOFF_FIRST_MS	1000	/* a failed message waits 1, 2, 4 ... */
#define BACKOFF_MAX_MS		60000	/* ... up to a minute */
#define OUTAGE_FIRST_MS		100	/* Redis away: retry after ... */
#define OUTAGE_MAX_MS		2000
#define DEAD_MAX		100000	/* dead letters kept (MAXLEN ~) */
#define STOP_ACK_MS		20000	/* after a stop, an acknowledgement is
					   still tried this long (vcoded's
					   master waits 30 s) */
#define CLOCK_SKEW_S		60	/* between the web host's clock, which
					   wrote expires, and ours */

long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t	 got_stop, got_reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_stop = 1;
}

struct sender {
	struct vc_config	*cfg;
	struct store		*store;
	struct sms		*sms;
	struct store_outbox	 ob;
	char			 stream[VC_KEY_MAX], retry[VC_KEY_MAX];
	char			 dead[VC_KEY_MAX], stats[VC_KEY_MAX];
	char			 consumer[128];
	char			 cursor[STORE_ID_MAX];	/* of the claim scan */
	long long		 next_claim;	/* ms */
	long long		 next_promote;	/* ms */
	int			 outage_ms;	/* 0: Redis answers */
	int			 fresh;		/* connection (re)made: group
						   and own pending first */
};

static int
outbox_keys(struct sender *s, char *err, size_t errlen)
{
	const char	*p = s->cfg->key_prefix;

	if ((size_t)snprintf(s->stream, sizeof(s->stream), "%soutbox", p) >=
	    sizeof(s->stream) ||
	    (size_t)snprintf(s->retry, sizeof(s->retry), "%soutbox:retry",
	    p) >= sizeof(s->retry) ||
	    (size_t)snprintf(s->dead, sizeof(s->dead), "%soutbox:dead", p) >=
	    sizeof(s->dead) ||
	    (size_t)snprintf(s->stats, sizeof(s->stats), "%soutbox:stats",
	    p) >= sizeof(s->stats)) {
		snprintf(err, errlen, "key 'key_prefix': too long");
		return -1;
	}
	s->ob.stream = s->stream;
	s->ob.retry = s->retry;
	s->ob.dead = s->dead;
	s->ob.stats = s->stats;
	s->ob.group = SENDER_GROUP;
	s->ob.consumer = s->consumer;
	s->ob.dead_max = DEAD_MAX;
	s->ob.keep = s->cfg->sms_code_ttl + VC_OUTBOX_MARGIN;
	s->ob.dead_keep = VC_DEAD_KEEP;
	return 0;
}

/* sender_open: the store, the provider and the names of cfg. 0 or -1. */
static int
sender_open(struct sender *s, struct vc_config *cfg, int provider, char *err,
    size_t errlen)
{
	char	 host[64], tag[8];

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* host:pid and a random part: two containers may share both. */
	if (rand_digits(tag, sizeof(tag), 6) == -1)
		snprintf(tag, sizeof(tag), "0");
	snprintf(s->consumer, sizeof(s->consumer), "%s:%ld:%s", host,
	    (long)getpid(), tag);
	snprintf(s->cursor, sizeof(s->cursor), "0-0");
	s->fresh = 1;
	if (outbox_keys(s, err, errlen) == -1 ||
	    (s->store = store_new(cfg->redis, cfg->redis_timeout_ms, err,
	    errlen)) == NULL)
		return -1;
	if (provider && (s->sms = sms_from_config(cfg, err, errlen)) == NULL) {
		store_free(s->store);
		s->store = NULL;
		return -1;
	}
	return 0;
}

static void
sender_close(struct sender *s)
{
	store_free(s->store);
	sms_free(s->sms);
	s->store = NULL;
	s->sms = NULL;
}

/* pause_ms: sleeps ms, or less when a signal comes. */
static void
pause_ms(int ms)
{
	struct timespec	 ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

/*
 * outage: the store failed. Said once per outage; then waits (100 ms,
 * doubling to 2 s) before the caller tries again. The connection, when
 * it comes back, is treated as new (group, own pending messages).
 */
static void
outage(struct sender *s)
{
	if (s->outage_ms == 0) {
		log_warn("redis unavailable (%s): waiting, nothing is lost",
		    store_strerror(s->store));
		s->outage_ms = OUTAGE_FIRST_MS;
	} else if ((s->outage_ms *= 2) > OUTAGE_MAX_MS)
		s->outage_ms = OUTAGE_MAX_MS;
	s->fresh = 1;
	pause_ms(s->outage_ms);
}

static void
reachable(struct sender *s)
{
	if (s->outage_ms != 0)
		log_info("redis answers again");
	s->outage_ms = 0;
}

/* backoff: how long a message waits after its tries-th failure. */
static long long
backoff(int tries)
{
	long long	 ms = BACKOFF_FIRST_MS;

	while (--tries > 0 && ms < BACKOFF_MAX_MS)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

enum fin { FIN_DONE, FIN_RETRY, FIN_DEAD };

/*
 * finish: records what became of m, retrying through an outage: a message
 * that was sent must not be sent again because the acknowledgement could
 * not be written. Gives up only STOP_ACK_MS after a stop (the message
 * stays pending, and another sender takes it over: a duplicate at worst).
 * Returns what the store step said (for a retry or a dead letter, 0: the
 * message is no longer this sender's), or -1 after giving up.
 */
static int
finish(struct sender *s, const struct store_msg *m, enum fin how,
    const char *stat_or_error)
{
	long long	 deadline = 0;
	int		 rc;

	for (;;) {
		switch (how) {
		case FIN_DONE:
			rc = store_outbox_done(s->store, &s->ob, m->id,
			    stat_or_error);
			break;
		case FIN_RETRY:
			rc = store_outbox_retry(s->store, &s->ob, m->id,
			    now_ms() + backoff(m->tries + 1), stat_or_error);
			break;
		default:
			rc = store_outbox_dead(s->store, &s->ob, m->id,
			    stat_or_error);
			break;
		}
		if (rc != -1) {
			reachable(s);
			return rc;
		}
		if (got_stop && deadline == 0)
			deadline = now_ms() + STOP_ACK_MS;
		if (got_stop && now_ms() > deadline) {
			log_warn("stopping with one message unacknowledged (%s):"
			    " another sender will take it over",
			    store_strerror(s->store));
			return -1;
		}
		outage(s);
	}
}

/* fail: m could not be sent (err says why): retried, or dead at the last. */
static void
fail(struct sender *s, const struct store_msg *m, const char *masked,
    const char *err)
{
	int	 last = m->tries + 1 >= s->cfg->sms_max_tries;

	if (finish(s, m, last ? FIN_DEAD : FIN_RETRY, err) == 0) {
		log_warn("sms to %s: try %d failed (%s); another sender has "
		    "taken the message over", masked, m->tries + 1, err);
		return;
	}
	if (last)
		log_error("sms to %s: try %d of %d failed (%s); moved to the "
		    "dead-letter stream", masked, m->tries + 1,
		    s->cfg->sms_max_tries, err);
	else
		log_warn("sms to %s: try %d of %d failed (%s); again in %lld "
		    "ms", masked, m->tries + 1, s->cfg->sms_max_tries, err,
		    backoff(m->tries + 1));
}

/*
 * live: 1 when the code of m is still the one its key holds (not
 * expired, verified or replaced by a newer request), 0 when not, -1 if
 * the store failed. A replayed dead letter carries no code: with plain
 * storage it is sent the code its key holds now, if any; with hash
 * storage that cannot be read back, and it is dropped.
 */
static int
live(struct sender *s, struct store_msg *m)
{
	char	 want[VC_HMAC_HEX], have[VC_HMAC_HEX];
	int	 rc;

	if (m->expires + CLOCK_SKEW_S <= now_ms() / 1000)
		return 0;
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
	return rc;
}

/* handle: one message, from reading to its acknowledgement. */
static void
handle(struct sender *s, struct store_msg *m)
{
	char	 masked[24], err[VC_ERR_MAX];
	int	 rc;

	if (!m->valid) {
		log_error("outbox message %s is malformed: moved to the "
		    "dead-letter stream", m->id);
		finish(s, m, FIN_DEAD, "malformed message");
		return;
	}
	mobile_mask(m->mobile, masked, sizeof(masked));
	if (m->deliveries > s->cfg->sms_max_tries) {
		log_error("sms to %s: handed out %lld times with no answer "
		    "(its senders died); moved to the dead-letter stream",
		    masked, m->deliveries);
		finish(s, m, FIN_DEAD, "its senders died while sending it");
		return;
	}
	/* Through an outage the message stays in hand: read again, its
	 * delivery count would grow with every blip. */
	while ((rc = live(s, m)) == -1) {
		if (got_stop)
			return;		/* pending: taken over later */
		outage(s);
	}
	reachable(s);
	if (rc == 0) {
		log_info("sms to %s dropped unsent: its code expired, was "
		    "used or was replaced", masked);
		finish(s, m, FIN_DONE, "dropped");
		return;
	}
	switch (sms_send(s->sms, m->mobile, m->code, m->minutes, err,
	    sizeof(err))) {
	case SMS_SENT:
		log_info("sms code sent to %s (%s, try %d, %lld ms after the "
		    "request)", masked, m->dialect, m->tries + 1,
		    now_ms() - m->queued_ms);
		finish(s, m, FIN_DONE, "sent");
		break;
	case SMS_UNKNOWN:
		/* It may have gone out: sent again, the same code. */
		if (store_outbox_count(s->store, &s->ob, "ambiguous", 1) == -1)
			log_warn("stats: %s", store_strerror(s->store));
		fail(s, m, masked, err);
		break;
	default:
		fail(s, m, masked, err);
		break;
	}
}

/*
 * next: the next message to handle into m: after a (re)connection, the
 * group made and this sender's own unacknowledged messages; every half
 * sms_claim_idle_ms, those of dead senders; else a new one, waiting up
 * to SENDER_BLOCK_MS. Due retries are moved into the stream first, every
 * SENDER_PROMOTE_MS, not for every message.
 * 1 with m, 0 none, -1 the store failed.
 */
static int
next(struct sender *s, struct store_msg *m)
{
	long long	 now = now_ms();
	int		 rc;

	if (s->fresh) {
		if (store_outbox_group(s->store, &s->ob) == -1)
			return -1;
		if ((rc = store_outbox_read(s->store, &s->ob, 1, 0, m)) != 0)
			return rc;
		s->fresh = 0;
	}
	if (now >= s->next_promote) {
		if ((rc = store_outbox_promote(s->store, &s->ob, now,
		    SENDER_PROMOTE_MAX)) == -1)
			return -1;
		/* A full round may have left more due: look again at once. */
		if (rc < SENDER_PROMOTE_MAX)
			s->next_promote = now + SENDER_PROMOTE_MS;
	}
	if (now >= s->next_claim) {
		rc = store_outbox_claim(s->store, &s->ob,
		    s->cfg->sms_claim_idle_ms, s->cursor, sizeof(s->cursor), m);
		if (rc == 1) {
			log_warn("took over message %s from a sender that "
			    "stopped answering", m->id);
			if (store_outbox_count(s->store, &s->ob, "claimed",
			    1) == -1)
				return -1;
			return 1;
		}
		if (rc == -1)
			return -1;
		/* Scanned to the end: again in half the idle time. */
		if (strcmp(s->cursor, "0-0") == 0)
			s->next_claim = now + s->cfg->sms_claim_idle_ms / 2;
	}
	return store_outbox_read(s->store, &s->ob, 0, SENDER_BLOCK_MS, m);
}

/*
 * reload: path again. Nothing changes unless the new configuration makes
 * a store handle and a provider; the messages are not touched.
 */
static void
reload(struct sender *s, const char *path)
{
	struct vc_config	 next_cfg;
	struct store		*st = NULL;
	struct sms		*sms = NULL;
	char			 err[VC_ERR_MAX];

	if (config_load(&next_cfg, path, err, sizeof(err)) == -1) {
		log_error("reload refused: %s", err);
		return;
	}
	if ((sms = sms_from_config(&next_cfg, err, sizeof(err))) == NULL ||
	    (st = store_new(next_cfg.redis, next_cfg.redis_timeout_ms, err,
	    sizeof(err))) == NULL) {
		log_error("reload refused: %s", err);
		sms_free(sms);
		config_free(&next_cfg);
		return;
	}
	if (next_cfg.sms_delivery != VC_DELIVER_QUEUE)
		log_warn("reload: sms_delivery is not queue; still sending "
		    "what the outbox holds");
	sender_close(s);
	config_free(s->cfg);
	*s->cfg = next_cfg;
	vc_log_init("vcode-smsd", s->cfg->log_level);
	s->store = st;
	s->sms = sms;
	/* key_prefix is at most 64 bytes (config.c): the names fit. */
	(void)outbox_keys(s, err, sizeof(err));
	s->fresh = 1;
	log_info("reloaded");
}

int
sender_run(struct vc_config *cfg, const char *path)
{
	struct sender		 s;
	struct store_msg	 m;
	struct sigaction	 sa;
	char			 err[VC_ERR_MAX];
	int			 rc;

	/* Opened before root is given up: the log file may be root's. */
	if (sender_open(&s, cfg, 1, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	if (proc_drop(cfg) == -1) {
		sender_close(&s);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (path != NULL)
		sigaction(SIGHUP, &sa, NULL);
	else
		signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	log_info("sending from %s as %s (provider %s, %d tries)", s.stream,
	    s.consumer, cfg->sms_provider == VC_PROVIDER_LOG ? "log" :
	    cfg->sms_provider == VC_PROVIDER_CCP ? "ccp" : "webhook",
	    cfg->sms_max_tries);
	while (!got_stop) {
		if (got_reload) {
			got_reload = 0;
			reload(&s, path);
		}
		rc = next(&s, &m);
		if (rc == -1) {
			outage(&s);
			continue;
		}
		reachable(&s);
		if (rc == 1)
			handle(&s, &m);
		explicit_bzero(&m, sizeof(m));
	}
	if (store_outbox_leave(s.store, &s.ob) == -1)
		log_debug("leave: %s", store_strerror(s.store));
	sender_close(&s);
	log_info("stopped");
	return 0;
}

int
sender_check(struct vc_config *cfg, char *err, size_t errlen)
{
	struct sender	 s;

	if (sender_open(&s, cfg, 1, err, errlen) == -1)
		return -1;
	sender_close(&s);
	return 0;
}

long
sender_replay(struct vc_config *cfg, char *err, size_t errlen)
{
	struct sender	 s;
	long		 total = 0;
	int		 n;

	if (sender_open(&s, cfg, 0, err, errlen) == -1)
		return -1;
	do {
		if ((n = store_outbox_replay(s.store, &s.ob, 100)) == -1) {
			snprintf(err, errlen, "%s", store_strerror(s.store));
			sender_close(&s);
			return -1;
		}
		total += n;
	} while (n > 0);
	sender_close(&s);
	return total;
}

void
delivery_describe(const struct vc_config *cfg, FILE *fp)
{
	if (cfg->sms_delivery == VC_DELIVER_INLINE) {
		fprintf(fp, "delivery: inline (sent inside the request)\n");
		return;
	}
	fprintf(fp, "delivery: queue (stream %soutbox, up to %d waiting; "
	    "%d tries, then %soutbox:dead; senders: %d run by vcoded's "
	    "master%s)\n", cfg->key_prefix, cfg->sms_queue_max,
	    cfg->sms_max_tries, cfg->key_prefix, cfg->smsd_workers,
	    cfg->smsd_workers == 0 ? ", so run vcode-smsd" : "");
}
