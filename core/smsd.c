/*
 * smsd: the SMS sender's daemon loop, run as vcode-smsd and as the
 * senders vcoded's master supervises (smsd_workers): signals, reload,
 * waiting out Redis, and finding the next message (own pending ones after
 * a reconnection, due retries, those of dead senders, new ones). What
 * becomes of each message is core/delivery.c's. One message at a time:
 * a message is held for one provider call and a few store steps, which
 * sms_claim_idle_ms exceeds, so a live sender's message is not taken
 * over while Redis answers; one taken over during an outage carries the
 * mark of its request, so the new holder does not send it blindly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/proc.h"
#include "core/smsd.h"
#include "sms/sms.h"
#include "store/store.h"

#define SENDER_BLOCK_MS		1000	/* one wait for new messages */
#define SENDER_PROMOTE_MAX	100	/* due retries moved per round */
#define SENDER_PROMOTE_MS	250	/* how often the retry set is looked at:
					   back-offs are whole seconds */
#define OUTAGE_FIRST_MS		100	/* Redis away: retry after ... */
#define OUTAGE_MAX_MS		2000
#define METRICS_FILE_MS		15000	/* metrics_file rewritten */
#define REFUSED_LOG_MS		60000	/* a refused promotion said at most
					   this often */

static volatile sig_atomic_t	 got_stop, got_reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_stop = 1;
}

/* consumer_name: host:pid and a random part (two containers may share
 * both) into out. */
static void
consumer_name(char *out, size_t outlen)
{
	char	 host[64], tag[8];

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (rand_digits(tag, sizeof(tag), 6) == -1)
		snprintf(tag, sizeof(tag), "0");
	snprintf(out, outlen, "%s:%ld:%s", host, (long)getpid(), tag);
}

/*
 * sender_open: the store, the provider (unless !provider), the pattern
 * and the names of cfg, as the consumer named (NULL: a new name). 0 or -1
 * with err.
 */
static int
sender_open(struct sender *s, struct vc_config *cfg, int provider,
    const char *name, char *err, size_t errlen)
{
	char	 consumer[STORE_CONSUMER_MAX];

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->stop = &got_stop;
	if (name == NULL)
		consumer_name(consumer, sizeof(consumer));
	snprintf(s->cursor, sizeof(s->cursor), "0-0");
	s->fresh = 1;
	if (store_outbox_init(&s->ob, cfg->key_prefix, cfg->sms_code_ttl,
	    name != NULL ? name : consumer) == -1 || key_make(s->budget, cfg->key_prefix,
	    KEY_BUDGET, "") == -1) {
		snprintf(err, errlen, "key 'key_prefix': too long");
		return -1;
	}
	if ((s->mobile = mobile_compile(cfg->mobile_pattern, err,
	    errlen)) == NULL ||
	    (s->store = store_new(cfg->redis, cfg->redis_timeout_ms, err,
	    errlen)) == NULL ||
	    store_sentinels(s->store, cfg->redis_sentinels, cfg->redis_master,
	    cfg->redis_sentinel_password, err, errlen) == -1 ||
	    (provider && (s->sms = sms_from_config(cfg, err, errlen)) ==
	    NULL)) {
		mobile_free(s->mobile);
		store_free(s->store);
		s->mobile = NULL;
		s->store = NULL;
		return -1;
	}
	metrics_store(s->store);
	return 0;
}

static void
sender_close(struct sender *s)
{
	store_free(s->store);
	sms_free(s->sms);
	mobile_free(s->mobile);
	s->store = NULL;
	s->sms = NULL;
	s->mobile = NULL;
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

/* backoff: waits 100 ms, doubling to 2 s while the failures go on. */
static void
backoff(struct sender *s)
{
	if (s->outage_ms == 0)
		s->outage_ms = OUTAGE_FIRST_MS;
	else if ((s->outage_ms *= 2) > OUTAGE_MAX_MS)
		s->outage_ms = OUTAGE_MAX_MS;
	pause_ms(s->outage_ms);
}

void
smsd_outage(struct sender *s)
{
	if (s->outage_ms == 0)
		log_warn("redis unavailable (%s): waiting, nothing is lost",
		    store_strerror(s->store));
	s->fresh = 1;
	s->after[0] = '\0';
	backoff(s);
}

void
smsd_reachable(struct sender *s)
{
	if (s->outage_ms != 0)
		log_info("redis answers again");
	s->outage_ms = 0;
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
	long long	 now = mono_ms();
	int		 rc;

	if (s->fresh) {
		if (s->after[0] == '\0') {
			if (store_outbox_group(s->store, &s->ob) == -1)
				return -1;
			snprintf(s->after, sizeof(s->after), "0");
		}
		/* From past the last one read: one that stays pending (its
		 * steps refused) does not hide the others. */
		rc = store_outbox_read(s->store, &s->ob, s->after, 0, m);
		if (rc == 1)
			snprintf(s->after, sizeof(s->after), "%s", m->id);
		if (rc != 0)
			return rc;
		s->fresh = 0;
		s->after[0] = '\0';
	}
	if (now >= s->next_promote) {
		/* Due times are wall-clock ms, as the web host wrote them. */
		rc = store_outbox_promote(s->store, &s->ob, now_ms(),
		    SENDER_PROMOTE_MAX);
		if (rc == -1 && !store_refused(s->store))
			return -1;
		if (rc == -1) {
			/* Redis refuses the retry set, or a member of it: said
			 * at most once a minute, and delivery goes on. */
			if (now >= s->next_refused_log) {
				log_error("retry set %s: %s", s->ob.retry,
				    store_strerror(s->store));
				s->next_refused_log = now + REFUSED_LOG_MS;
			}
			rc = 0;
		}
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
				log_debug("stats: %s", store_strerror(s->store));
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
 * reload: path again, as the same consumer. Nothing changes unless the
 * new configuration makes every part a sender needs; the messages are
 * not touched.
 */
static void
reload(struct sender *s, const char *path)
{
	struct vc_config	 next_cfg;
	struct sender		 n;
	char			 err[VC_ERR_MAX];

	if (config_load(&next_cfg, path, err, sizeof(err)) == -1) {
		log_error("reload refused: %s", err);
		return;
	}
	if (sender_open(&n, &next_cfg, 1, s->ob.consumer, err,
	    sizeof(err)) == -1) {
		log_error("reload refused: %s", err);
		config_free(&next_cfg);
		return;
	}
	if (next_cfg.sms_delivery != VC_DELIVER_QUEUE)
		log_warn("reload: sms_delivery is not queue; still sending "
		    "what the outbox holds");
	sender_close(s);
	config_free(s->cfg);
	/* The caller's configuration is the one kept: n's parts borrow its
	 * strings, which the copy carries over. */
	*s->cfg = next_cfg;
	n.cfg = s->cfg;
	*s = n;
	vc_log_init("vcode-smsd", s->cfg->log_level);
	log_info("reloaded");
}

/*
 * textfile: vcode-smsd on its own writes metrics_file every
 * METRICS_FILE_MS, and at the end (last). A sender of vcoded's master
 * counts in the master's shared slots, served at /metrics.
 */
static void
textfile(struct sender *s, int last)
{
	static long long	 next;
	const char		*path = s->cfg->metrics_file;

	if (path[0] == '\0' || metrics_shared() ||
	    (!last && mono_ms() < next))
		return;
	next = mono_ms() + METRICS_FILE_MS;
	if (metrics_file_write(path, s->cfg, s->store, &s->ob) == -1)
		log_warn("metrics_file %s: %s", path, strerror(errno));
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
	if (sender_open(&s, cfg, 1, NULL, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	if (proc_drop(cfg) == -1) {
		sender_close(&s);
		return 1;
	}
	if (!metrics_shared())
		metrics_use(0, 1);	/* vcode-smsd: its own slot */
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
	/* Its log is stderr: nothing to reopen, and SIGUSR1 (sent to every
	 * vcode process by a careless logrotate rule) must not kill it. */
	signal(SIGUSR1, SIG_IGN);
	log_info("sending from %s as %s (provider %s, %d tries, %d resends "
	    "of an unknown delivery)", s.ob.stream, s.ob.consumer,
	    sms_provider_name(sms_provider_of(cfg)), cfg->sms_max_tries,
	    cfg->sms_resend_unknown);
	while (!got_stop) {
		textfile(&s, 0);
		if (got_reload) {
			got_reload = 0;
			reload(&s, path);
		}
		rc = next(&s, &m);
		if (rc == -1) {
			smsd_outage(&s);
			continue;
		}
		smsd_reachable(&s);
		/* One left pending (Redis refusing its every step): a pause,
		 * then the next, so that it cannot make the loop spin. */
		if (rc == 1 && delivery_handle(&s, &m) == -1 && !got_stop)
			backoff(&s);
		explicit_bzero(&m, sizeof(m));
	}
	if (store_outbox_leave(s.store, &s.ob) == -1)
		log_debug("leave: %s", store_strerror(s.store));
	textfile(&s, 1);
	sender_close(&s);
	log_info("stopped");
	return 0;
}

int
sender_check(struct vc_config *cfg, char *err, size_t errlen)
{
	struct sender	 s;

	if (sender_open(&s, cfg, 1, NULL, err, errlen) == -1)
		return -1;
	sender_close(&s);
	return 0;
}

long
sender_replay(struct vc_config *cfg, char *err, size_t errlen)
{
	struct sender	 s;
	char		 cursor[STORE_ID_MAX], end[STORE_ID_MAX];
	long		 moved = 0;
	int		 n;

	if (sender_open(&s, cfg, 0, NULL, err, errlen) == -1)
		return -1;
	snprintf(cursor, sizeof(cursor), "-");
	if ((n = store_outbox_last_dead(s.store, &s.ob, end,
	    sizeof(end))) == 1)
		do {
			n = store_outbox_replay(s.store, &s.ob, 100, end,
			    cursor, sizeof(cursor), &moved);
		} while (n > 0);
	if (n == -1) {
		snprintf(err, errlen, "%s", store_strerror(s.store));
		sender_close(&s);
		return -1;
	}
	sender_close(&s);
	return moved;
}
