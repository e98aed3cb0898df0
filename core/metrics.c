/*
 * Metrics: counters every process of a pool adds to without a lock or a
 * Redis round trip, and the Prometheus text (format 0.0.4) that sums
 * them when scraped.
 *
 * vcoded's master maps one shared anonymous region before it forks: one
 * slot per row of its child table, each slot its own cache lines, so
 * workers never write the same line. A child adds to its row's slot with
 * relaxed atomic adds; a child that dies and is respawned in the row adds
 * on top of what its predecessor left, so no count is lost. The scrape,
 * served by any worker, reads every slot. A process without a master
 * (spawn-fcgi's children, CGI, vcode-smsd) has one private slot: its own
 * counts only.
 */
#include <sys/mman.h>

#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "store/store.h"

/* Request duration buckets, seconds: Prometheus' "le" bounds. */
static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define NBOUNDS		(sizeof(bounds) / sizeof(bounds[0]))

/* The statuses vcode answers; anything else is counted as the last. */
static const int statuses[] = { 200, 400, 401, 404, 405, 413, 414, 415, 500,
    503, 502 };
#define NSTATUS		(sizeof(statuses) / sizeof(statuses[0]))

#define NROUTE		(VC_ROUTES_MAX + 1)	/* the last: no route */
#define NDIAL		(VC_DIALECT_COUNT + 1)	/* the last: no dialect */

enum slot_kind { SLOT_FREE, SLOT_WORKER, SLOT_SENDER, SLOT_MASTER };

typedef _Atomic unsigned long long counter;

/* One process's counters: cache-line aligned, written by it alone. */
struct slot {
	_Atomic int	 kind;		/* enum slot_kind */
	counter		 req[NROUTE][NSTATUS];
	counter		 dur[NROUTE][NBOUNDS + 1];	/* the last: +Inf */
	counter		 dur_ns[NROUTE];
	counter		 captcha[NDIAL][2];		/* image, audio */
	counter		 sms[NDIAL][STORE_SMS_RESULTS];
	counter		 delivery[NDIAL][MD_COUNT];
	counter		 verify[NDIAL][STORE_VERIFY_RESULTS];
	counter		 smsd[MD_COUNT];		/* a sender's own */
	counter		 smsd_retried;
	counter		 redis_errors, redis_reconnects;
	/* The master's: */
	counter		 respawns[2];			/* worker, sender */
	counter		 recycles, reloads;
	_Atomic long	 workers, senders;		/* alive now */
} __attribute__((aligned(64)));

static struct slot	*slots;		/* nslots of them */
static int		 nslots;
static struct slot	*mine;		/* this process's */

static const char *const delivery_names[MD_COUNT] = {
	[MD_SENT] = "sent", [MD_FAILED] = "failed", [MD_UNKNOWN] = "unknown",
	[MD_QUEUED] = "queued",
};

int
metrics_init(int n)
{
	void	*p;

	if (slots != NULL)
		return 0;
	if (n < 1)
		n = 1;
	p = mmap(NULL, sizeof(struct slot) * (size_t)n, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_error("metrics: cannot map %d slots", n);
		return -1;
	}
	slots = p;
	nslots = n;
	mine = &slots[0];
	atomic_store(&mine->kind, SLOT_MASTER);
	return 0;
}

void
metrics_use(int i, int sender)
{
	if (slots == NULL && metrics_init(1) == -1)
		return;
	if (i < 0 || i >= nslots)
		i = 0;
	mine = &slots[i];
	atomic_store(&mine->kind, sender ? SLOT_SENDER : SLOT_WORKER);
}

/* The slot to add to: one private slot made on first use. */
static struct slot *
own(void)
{
	if (mine == NULL && metrics_init(1) == 0)
		atomic_store(&mine->kind, SLOT_WORKER);
	return mine;
}

#define ADD(f)	do {							\
	struct slot *s_ = own();					\
	if (s_ != NULL)							\
		atomic_fetch_add_explicit(&s_->f, 1, memory_order_relaxed); \
} while (0)

static int
dial(int d)
{
	return d >= 0 && d < VC_DIALECT_COUNT ? d : VC_DIALECT_COUNT;
}

void
metrics_request(int route, int status, double seconds)
{
	struct slot	*s = own();
	size_t		 st, b;
	int		 r = route >= 0 && route < VC_ROUTES_MAX ? route :
	    VC_ROUTES_MAX;

	if (s == NULL)
		return;
	for (st = 0; st < NSTATUS - 1 && statuses[st] != status; st++)
		;
	for (b = 0; b < NBOUNDS && seconds > bounds[b]; b++)
		;
	atomic_fetch_add_explicit(&s->req[r][st], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->dur[r][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->dur_ns[r], seconds > 0 ?
	    (unsigned long long)llround(seconds * 1e9) : 0,
	    memory_order_relaxed);
}

void
metrics_captcha(int dialect, int audio)
{
	ADD(captcha[dial(dialect)][audio ? 1 : 0]);
}

void
metrics_sms(int dialect, int result)
{
	if (result >= 0 && result < STORE_SMS_RESULTS)
		ADD(sms[dial(dialect)][result]);
}

void
metrics_delivery(int dialect, enum metric_delivery d)
{
	ADD(delivery[dial(dialect)][d]);
}

void
metrics_verify(int dialect, int result)
{
	if (result >= 0 && result < STORE_VERIFY_RESULTS)
		ADD(verify[dial(dialect)][result]);
}

void
metrics_sender(enum metric_delivery d)
{
	ADD(smsd[d]);
	ADD(delivery[VC_DIALECT_COUNT][d]);
}

void
metrics_sender_retry(void)
{
	ADD(smsd_retried);
}

void
metrics_store(struct store *st)
{
	struct slot	*s = own();

	if (s != NULL)
		store_counters(st, (unsigned long long *)&s->redis_errors,
		    (unsigned long long *)&s->redis_reconnects);
}

void
metrics_respawn(int sender)
{
	ADD(respawns[sender ? 1 : 0]);
}

void
metrics_recycle(void)
{
	ADD(recycles);
}

void
metrics_reload(void)
{
	ADD(reloads);
}

void
metrics_alive(int workers, int senders)
{
	struct slot	*s = own();

	if (s == NULL)
		return;
	atomic_store(&s->workers, workers);
	atomic_store(&s->senders, senders);
}

/* ---- The scrape. ---- */

/* at: the counter at byte offset off of slot i. */
static unsigned long long
at(int i, size_t off)
{
	return atomic_load((counter *)((char *)&slots[i] + off));
}

/* sum: the counter at byte offset off, summed over every slot in use. */
static unsigned long long
sum(size_t off)
{
	unsigned long long	 t = 0;
	int			 i;

	for (i = 0; i < nslots; i++)
		if (atomic_load(&slots[i].kind) != SLOT_FREE)
			t += at(i, off);
	return t;
}

#define SUM(f)	sum(offsetof(struct slot, f))

static const char *
dialect_label(int d)
{
	return d < VC_DIALECT_COUNT ? dialect_names[d] : "none";
}

/* route_label: row r's route label ("none": no route), NULL if unused. */
static const char *
route_label(int r)
{
	if (r == VC_ROUTES_MAX)
		return "none";
	return r < route_count() ? route_name(r) : NULL;
}

static void
head(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* scalar: a metric of one sample, without labels. */
static void
scalar(FILE *fp, const char *name, const char *type, const char *help,
    long long v)
{
	head(fp, name, type, help);
	fprintf(fp, "%s %lld\n", name, v);
}

static void
requests(FILE *fp)
{
	unsigned long long	 n, cum;
	size_t			 st, b;
	int			 r;
	const char		*rn;
	char			 le[16];

	head(fp, "vcode_requests_total", "counter",
	    "Requests answered, by route, dialect and HTTP status.");
	for (r = 0; r < NROUTE; r++) {
		if ((rn = route_label(r)) == NULL)
			continue;
		for (st = 0; st < NSTATUS; st++)
			if ((n = SUM(req[r][st])) > 0)
				fprintf(fp, "vcode_requests_total{route=\"%s\","
				    "dialect=\"%s\",code=\"%d\"} %llu\n", rn,
				    dialect_label(dial(route_dialect_of(r))),
				    statuses[st], n);
	}
	head(fp, "vcode_request_duration_seconds", "histogram",
	    "Time from a request's first byte read to its last written.");
	for (r = 0; r < NROUTE; r++) {
		if ((rn = route_label(r)) == NULL)
			continue;
		for (cum = 0, b = 0; b <= NBOUNDS; b++) {
			cum += SUM(dur[r][b]);
			if (b < NBOUNDS)
				snprintf(le, sizeof(le), "%g", bounds[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			fprintf(fp, "vcode_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%s\"} %llu\n", rn, le, cum);
		}
		fprintf(fp, "vcode_request_duration_seconds_sum{route=\"%s\"} "
		    "%.9f\n", rn, SUM(dur_ns[r]) / 1e9);
		fprintf(fp, "vcode_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n", rn, cum);
	}
}

static void
flows(FILE *fp)
{
	int	 d, k;

	head(fp, "vcode_captchas_total", "counter",
	    "Challenges issued, by dialect and kind (image, audio).");
	for (d = 0; d < VC_DIALECT_COUNT; d++)
		for (k = 0; k < 2; k++)
			fprintf(fp, "vcode_captchas_total{dialect=\"%s\","
			    "kind=\"%s\"} %llu\n", dialect_names[d],
			    k ? "audio" : "image", SUM(captcha[d][k]));
	head(fp, "vcode_sms_requests_total", "counter",
	    "SMS requests that reached the store's limits, by dialect.");
	for (d = 0; d < VC_DIALECT_COUNT; d++) {
		unsigned long long	 t = 0;

		for (k = 0; k < STORE_SMS_RESULTS; k++)
			t += SUM(sms[d][k]);
		fprintf(fp, "vcode_sms_requests_total{dialect=\"%s\"} %llu\n",
		    dialect_names[d], t);
	}
	head(fp, "vcode_sms_refused_total", "counter",
	    "SMS requests refused, by dialect and reason (a limit, the "
	    "captcha, the fraud guard, a full outbox).");
	for (d = 0; d < VC_DIALECT_COUNT; d++)
		for (k = 0; k < STORE_SMS_RESULTS; k++)
			if (store_sms_refusal(k))
				fprintf(fp, "vcode_sms_refused_total{dialect="
				    "\"%s\",reason=\"%s\"} %llu\n",
				    dialect_names[d], store_sms_word(k),
				    SUM(sms[d][k]));
	head(fp, "vcode_fraud_would_refuse_total", "counter",
	    "SMS sent that the fraud guard would have refused (record mode, "
	    "or not armed yet), by reason.");
	for (k = 0; k < STORE_SMS_RESULTS; k++) {
		unsigned long long	 t = 0;

		if (!store_sms_recorded(k))
			continue;
		for (d = 0; d < VC_DIALECT_COUNT; d++)
			t += SUM(sms[d][k]);
		fprintf(fp, "vcode_fraud_would_refuse_total{reason=\"%s\"} "
		    "%llu\n", store_sms_word(k), t);
	}
	for (k = 0; k < MD_COUNT; k++) {
		char	 name[64];

		snprintf(name, sizeof(name), "vcode_sms_%s_total",
		    delivery_names[k]);
		head(fp, name, "counter", k == MD_QUEUED ?
		    "SMS codes put in the outbox for the senders." :
		    k == MD_SENT ? "SMS the gateway took, by who sent them "
		    "(a worker inline, or a sender from the outbox)." :
		    k == MD_FAILED ? "SMS the gateway refused for good (inline)"
		    " or that died in the outbox." :
		    "SMS whose delivery is unknown: sent, no answer.");
		for (d = 0; d < NDIAL; d++) {
			if (d == VC_DIALECT_COUNT && k == MD_QUEUED)
				continue;
			fprintf(fp, "%s{dialect=\"%s\",via=\"%s\"} %llu\n",
			    name, dialect_label(d), d == VC_DIALECT_COUNT ?
			    "queue" : "inline", SUM(delivery[d][k]));
		}
	}
	head(fp, "vcode_verify_total", "counter",
	    "Verifications of SMS codes, by dialect and result.");
	for (d = 0; d < VC_DIALECT_COUNT; d++)
		for (k = 0; k < STORE_VERIFY_RESULTS; k++)
			fprintf(fp, "vcode_verify_total{dialect=\"%s\",result="
			    "\"%s\"} %llu\n", dialect_names[d],
			    store_verify_word(k), SUM(verify[d][k]));
}

static void
senders(FILE *fp)
{
	/* Each sender's counters, by their place in its slot. */
	static const struct {
		const char	*name;
		size_t		 off;
	} what[] = {
		{ "vcode_smsd_sent_total", offsetof(struct slot, smsd[MD_SENT]) },
		{ "vcode_smsd_dead_total",
		  offsetof(struct slot, smsd[MD_FAILED]) },
		{ "vcode_smsd_unknown_total",
		  offsetof(struct slot, smsd[MD_UNKNOWN]) },
		{ "vcode_smsd_retried_total",
		  offsetof(struct slot, smsd_retried) },
	};
	size_t		 k;
	int		 i;

	for (k = 0; k < sizeof(what) / sizeof(what[0]); k++) {
		head(fp, what[k].name, "counter", "Each sender's messages: "
		    "sent, dead (tries spent), unknown (no answer), retried.");
		for (i = 0; i < nslots; i++)
			if (atomic_load(&slots[i].kind) == SLOT_SENDER)
				fprintf(fp, "%s{sender=\"%d\"} %llu\n",
				    what[k].name, i, at(i, what[k].off));
	}
}

static void
process(FILE *fp)
{
	long	 w = 0, s = 0;
	int	 i, master = 0;

	scalar(fp, "vcode_redis_errors_total", "counter",
	    "Store calls that failed: Redis unreachable or answering an "
	    "error.", SUM(redis_errors));
	scalar(fp, "vcode_redis_reconnects_total", "counter",
	    "Connections to Redis made again after a first one.",
	    SUM(redis_reconnects));
	for (i = 0; i < nslots; i++)
		if (atomic_load(&slots[i].kind) == SLOT_MASTER) {
			w += atomic_load(&slots[i].workers);
			s += atomic_load(&slots[i].senders);
			master = 1;
		}
	if (master) {
		scalar(fp, "vcode_workers", "gauge",
		    "FastCGI workers vcoded's master has alive.", w);
		scalar(fp, "vcode_senders", "gauge",
		    "SMS senders vcoded's master has alive.", s);
	}
	head(fp, "vcode_respawns_total", "counter",
	    "Children that died unexpectedly and were replaced, by kind.");
	fprintf(fp, "vcode_respawns_total{kind=\"worker\"} %llu\n",
	    SUM(respawns[0]));
	fprintf(fp, "vcode_respawns_total{kind=\"sender\"} %llu\n",
	    SUM(respawns[1]));
	scalar(fp, "vcode_recycles_total", "counter",
	    "Workers replaced after max_requests requests.", SUM(recycles));
	scalar(fp, "vcode_reloads_total", "counter",
	    "Configurations loaded again on SIGHUP.", SUM(reloads));
}

/* The gauges read from Redis at the scrape: the queue and the budget. */
static void
gauges(FILE *fp, const struct vc_config *cfg, struct store *st,
    const struct store_outbox *ob)
{
	struct store_gauges	 g;
	char			 budget[VC_KEY_MAX];
	size_t			 i;
	int			 up;
	const struct {
		const char		*name, *help;
		const long long		*v;	/* filled by store_gauges */
	} read[] = {
		{ "vcode_sms_budget_used",
		  "SMS counted against the budget in its current hour.",
		  &g.budget_used },
		{ "vcode_outbox_length",
		  "Messages in the outbox stream (queued delivery).",
		  &g.length },
		{ "vcode_outbox_pending",
		  "Outbox messages a sender holds and has not acknowledged.",
		  &g.pending },
		{ "vcode_outbox_retry", "Messages waiting to be tried again.",
		  &g.retry },
		{ "vcode_outbox_dead",
		  "Dead letters: messages that used up their tries.",
		  &g.dead },
	};

	up = key_make(budget, cfg->key_prefix, KEY_BUDGET, "") == 0 &&
	    store_gauges(st, ob, budget, &g) == 0;
	scalar(fp, "vcode_redis_up", "gauge",
	    "1 when the scrape could read the store's gauges.", up);
	scalar(fp, "vcode_sms_budget", "gauge",
	    "sms_hourly_budget: SMS the site sends an hour at most.",
	    cfg->sms_hourly_budget);
	for (i = 0; up && i < sizeof(read) / sizeof(read[0]); i++)
		scalar(fp, read[i].name, "gauge", read[i].help, *read[i].v);
}

/* counters: every counter of every slot, summed. */
static void
counters(FILE *fp)
{
	requests(fp);
	flows(fp);
	senders(fp);
	process(fp);
}

int
metrics_write(FILE *fp, struct vc_ctx *ctx)
{
	if (own() == NULL)
		return -1;
	counters(fp);
	if (ctx != NULL)
		gauges(fp, ctx->cfg, ctx->store, &ctx->outbox);
	return ferror(fp) ? -1 : 0;
}

int
metrics_file_write(const char *path, const struct vc_config *cfg,
    struct store *st, const struct store_outbox *ob)
{
	char	 tmp[PATH_MAX];
	FILE	*fp;
	int	 n, rc;

	n = snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) || (fp = fopen(tmp, "w")) ==
	    NULL)
		return -1;
	counters(fp);
	gauges(fp, cfg, st, ob);
	rc = ferror(fp) ? -1 : 0;
	if (fclose(fp) == EOF)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1)
		unlink(tmp);
	return rc;
}

void
vc_observe(const struct vc_response *resp, double seconds)
{
	metrics_request(resp->route, resp->status, seconds);
	access_log_write(resp, seconds);
}

int
metrics_shared(void)
{
	return nslots > 1;
}

void
flow_metrics(struct hreq *h)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		reply_outcome(h, R_INTERNAL);
		return;
	}
	if (metrics_write(fp, h->ctx) == -1 || fclose(fp) == EOF) {
		free(buf);
		reply_outcome(h, R_INTERNAL);
		return;
	}
	reply_bytes(h, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (unsigned char *)buf, len);
	h->resp->outcome = "metrics";
}
