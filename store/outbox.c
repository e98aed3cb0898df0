/*
 * outbox: the queue of SMS messages (sms_delivery = queue) as the senders
 * see it. A Redis stream read through one consumer group; a message is
 * in exactly one place at a time: the stream (waiting, or held by one
 * sender until acknowledged), the retry set (waiting for its back-off),
 * or the dead-letter stream. Each move between them is one script.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/priv.h"

/*
 * Every key of the outbox has a TTL (contract §4), renewed by each write:
 * the stream and the retry set outlive every code in them (keep), the
 * dead letters and the stats are kept dead_keep.
 */

/* KEYS: stream, stats. ARGV: group, id, stat, dead keep. */
static const char done_lua[] =
"local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HINCRBY', KEYS[2], ARGV[3], 1)\n"
"redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
"if n == 0 then\n"
"  if ARGV[3] == 'sent' then redis.call('HINCRBY', KEYS[2], 'duplicates', 1) end\n"
"  return 'again'\n"
"end\n"
"return 'ok'\n";

/*
 * The message id is still this sender's (XPENDING names it as the
 * consumer): one another sender took over is not this one's to move.
 */
#define OWNED \
"local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n" \
"if #p == 0 or p[1][2] ~= ARGV[#ARGV] then return 'gone' end\n" \
"local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])\n" \
"if #e == 0 then\n" \
"  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n" \
"  return 'gone'\n" \
"end\n"

/*
 * KEYS: stream, retry set, stats. ARGV: group, id, due (ms), error, keep,
 * dead keep, consumer. The message, one try more and its last error,
 * becomes a member of the retry set (JSON, unique by the id it came from)
 * scored by when it is due; written before the entry is acknowledged, so
 * a failing write loses nothing.
 */
static const char retry_lua[] =
OWNED
"local f, t = e[1][2], {}\n"
"for i = 1, #f, 2 do t[f[i]] = f[i + 1] end\n"
"t.tries = tostring((tonumber(t.tries) or 0) + 1)\n"
"t.error = ARGV[4]\n"
"t.from = ARGV[2]\n"
"redis.call('ZADD', KEYS[2], ARGV[3], cjson.encode(t))\n"
"if redis.call('TTL', KEYS[2]) < tonumber(ARGV[5]) then\n"
"  redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
"end\n"
"redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HINCRBY', KEYS[3], 'retried', 1)\n"
"redis.call('EXPIRE', KEYS[3], ARGV[6])\n"
"return 'ok'\n";

/*
 * KEYS: stream, dead stream, stats. ARGV: group, id, error, dead max,
 * dead keep, consumer. The dead letter keeps everything but the code: it
 * is kept a week, a code lives minutes (a replayed message is sent the
 * code its key holds then, if any). Written before the entry is
 * acknowledged.
 */
static const char dead_lua[] =
OWNED
"local f, a = e[1][2], {}\n"
"for i = 1, #f, 2 do\n"
"  if f[i] == 'tries' then\n"
"    a[#a + 1] = 'tries'\n"
"    a[#a + 1] = tostring((tonumber(f[i + 1]) or 0) + 1)\n"
"  elseif f[i] ~= 'error' and f[i] ~= 'code' then\n"
"    a[#a + 1] = f[i]\n"
"    a[#a + 1] = f[i + 1]\n"
"  end\n"
"end\n"
"a[#a + 1] = 'error'\n"
"a[#a + 1] = ARGV[3]\n"
"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', unpack(a))\n"
"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
"redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HINCRBY', KEYS[3], 'dead', 1)\n"
"redis.call('EXPIRE', KEYS[3], ARGV[5])\n"
"return 'ok'\n";

/*
 * KEYS: retry set, stream, stats. ARGV: now (ms), max, keep. Returns how
 * many moved. A member that does not decode (none of ours) is counted as
 * malformed and removed.
 */
static const char promote_lua[] =
"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1],\n"
"  'LIMIT', 0, tonumber(ARGV[2]))\n"
"for _, m in ipairs(due) do\n"
"  local ok, t = pcall(cjson.decode, m)\n"
"  if not ok or type(t) ~= 'table' then\n"
"    redis.call('HINCRBY', KEYS[3], 'malformed', 1)\n"
"  else\n"
"    local a = {}\n"
"    for k, v in pairs(t) do\n"
"      if k ~= 'from' then\n"
"        a[#a + 1] = k\n"
"        a[#a + 1] = tostring(v)\n"
"      end\n"
"    end\n"
"    redis.call('XADD', KEYS[2], '*', unpack(a))\n"
"  end\n"
"  redis.call('ZREM', KEYS[1], m)\n"
"end\n"
"if #due > 0 and redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then\n"
"  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
"end\n"
"return #due\n";

/* KEYS: dead stream, stream. ARGV: max, keep. Returns how many moved. */
static const char replay_lua[] =
"local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT',\n"
"  tonumber(ARGV[1]))\n"
"for _, x in ipairs(e) do\n"
"  local f, a = x[2], {}\n"
"  for i = 1, #f, 2 do\n"
"    if f[i] ~= 'tries' and f[i] ~= 'error' then\n"
"      a[#a + 1] = f[i]\n"
"      a[#a + 1] = f[i + 1]\n"
"    end\n"
"  end\n"
"  a[#a + 1] = 'tries'\n"
"  a[#a + 1] = '0'\n"
"  redis.call('XADD', KEYS[2], '*', unpack(a))\n"
"  redis.call('XDEL', KEYS[1], x[1])\n"
"end\n"
"if #e > 0 and redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then\n"
"  redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
"end\n"
"return #e\n";

/* KEYS: stream. ARGV: group, keep. The group reads from the start. */
static const char group_lua[] =
"local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0',\n"
"  'MKSTREAM')\n"
"if type(r) == 'table' and r.err and not string.find(r.err, '^BUSYGROUP') then\n"
"  return r\n"
"end\n"
"if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then\n"
"  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
"end\n"
"return 'ok'\n";

/* KEYS: stream. ARGV: group, consumer. */
static const char leave_lua[] =
"local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])\n"
"if #p == 0 then\n"
"  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
"end\n"
"return 'ok'\n";

static const char *const done_words[] = { "ok", "again" };
static const char *const move_words[] = { "gone", "ok" };
static const char *const ok_words[] = { "ok" };

void
outbox_scripts_init(struct store *st)
{
	script_init(&st->scripts[SCRIPT_DONE], done_lua);
	script_init(&st->scripts[SCRIPT_RETRY], retry_lua);
	script_init(&st->scripts[SCRIPT_DEAD], dead_lua);
	script_init(&st->scripts[SCRIPT_PROMOTE], promote_lua);
	script_init(&st->scripts[SCRIPT_REPLAY], replay_lua);
	script_init(&st->scripts[SCRIPT_LEAVE], leave_lua);
	script_init(&st->scripts[SCRIPT_GROUP], group_lua);
}

int
store_outbox_group(struct store *st, const struct store_outbox *ob)
{
	char		 keep[16];
	const char	*args[] = { ob->stream, ob->group, keep };

	snprintf(keep, sizeof(keep), "%d", ob->keep);
	return eval(st, SCRIPT_GROUP, 1, 2, args, ok_words, 1) < 0 ? -1 : 0;
}

/* copy: a string reply into out; 0, or -1 if it is not one or too long. */
static int
copy(const redisReply *r, char *out, size_t outlen)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS) || r->len >= outlen)
		return -1;
	memcpy(out, r->str, r->len);
	out[r->len] = '\0';
	return 0;
}

/* number: a decimal field into *v within lo..hi; 0 or -1. */
static int
number(const char *s, long long lo, long long hi, long long *v)
{
	char	*end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' || *v < lo || *v > hi ?
	    -1 : 0;
}

/*
 * parse_entry: [id, [field, value, ...]] into m. 1 with m->valid saying
 * whether every field was there and well formed; 0 for an entry whose
 * message is gone (its fields nil: deleted while pending); -1 for a reply
 * of the wrong shape.
 */
static int
parse_entry(const redisReply *e, struct store_msg *m)
{
	const redisReply	*f;
	char			 v[32];
	long long		 n;
	size_t			 i;
	unsigned		 seen = 0;

	memset(m, 0, sizeof(*m));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    copy(e->element[0], m->id, sizeof(m->id)) == -1)
		return -1;
	f = e->element[1];
	if (f->type == REDIS_REPLY_NIL)
		return 0;
	if (f->type != REDIS_REPLY_ARRAY)
		return -1;
	for (i = 0; i + 1 < f->elements; i += 2) {
		const redisReply	*k = f->element[i], *x = f->element[i + 1];

		if (k->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "mobile") == 0 &&
		    copy(x, m->mobile, sizeof(m->mobile)) == 0)
			seen |= 1;
		else if (strcmp(k->str, "code") == 0 &&
		    copy(x, m->code, sizeof(m->code)) == 0)
			seen |= 2;
		else if (strcmp(k->str, "key") == 0 &&
		    copy(x, m->key, sizeof(m->key)) == 0)
			seen |= 4;
		else if (strcmp(k->str, "dialect") == 0 &&
		    copy(x, m->dialect, sizeof(m->dialect)) == 0)
			seen |= 8;
		else if (copy(x, v, sizeof(v)) == -1)
			continue;
		else if (strcmp(k->str, "minutes") == 0 &&
		    number(v, 1, 100000, &n) == 0) {
			m->minutes = (int)n;
			seen |= 16;
		} else if (strcmp(k->str, "tries") == 0 &&
		    number(v, 0, 100000, &n) == 0) {
			m->tries = (int)n;
			seen |= 32;
		} else if (strcmp(k->str, "queued") == 0 &&
		    number(v, 0, LLONG_MAX, &n) == 0) {
			m->queued_ms = n;
			seen |= 64;
		} else if (strcmp(k->str, "expires") == 0 &&
		    number(v, 0, LLONG_MAX, &n) == 0) {
			m->expires = n;
			seen |= 128;
		}
	}
	explicit_bzero(v, sizeof(v));
	/* The code may be missing: a replayed dead letter has none. */
	m->valid = (seen | 2) == 255 && m->mobile[0] != '\0' &&
	    m->key[0] != '\0';
	return 1;
}

/* deliveries: how often the group has handed out id (XPENDING), or 0. */
static long long
deliveries(struct store *st, const struct store_outbox *ob, const char *id)
{
	const char	*argv[] = { "XPENDING", ob->stream, ob->group, id, id,
	    "1" };
	redisReply	*r;
	long long	 n = 0;

	if ((r = run(st, 6, argv)) == NULL)
		return 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 4 &&
	    r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
		n = r->element[0]->element[3]->integer;
	freeReplyObject(r);
	return n;
}

/* ack_gone: an entry pending in the group whose message was deleted. */
static void
ack_gone(struct store *st, const struct store_outbox *ob, const char *id)
{
	const char	*argv[] = { "XACK", ob->stream, ob->group, id };

	(void)run_simple(st, 4, argv, NULL);
}

/*
 * take: the first entry of entries into m, skipping (and acknowledging)
 * the ones whose message is gone. 1, 0 (none), -1.
 */
static int
take(struct store *st, const struct store_outbox *ob,
    const redisReply *entries, struct store_msg *m)
{
	size_t	 i;
	int	 rc;

	if (entries->type != REDIS_REPLY_ARRAY)
		goto bad;
	for (i = 0; i < entries->elements; i++) {
		/* Redis 6.2's XAUTOCLAIM: nil for an entry deleted while
		 * pending (7.0 lists those apart). */
		if (entries->element[i]->type == REDIS_REPLY_NIL)
			continue;
		if ((rc = parse_entry(entries->element[i], m)) == -1)
			goto bad;
		if (rc == 1)
			return 1;
		ack_gone(st, ob, m->id);
	}
	return 0;
bad:
	snprintf(st->err, sizeof(st->err), "redis: a stream reply of an "
	    "unexpected shape");
	return -1;
}

int
store_outbox_read(struct store *st, const struct store_outbox *ob,
    int pending, int block_ms, struct store_msg *m)
{
	char		 ms[16];
	const char	*argv[11];
	const redisReply *s;
	redisReply	*r;
	int		 n = 0, rc = -1;

	argv[n++] = "XREADGROUP";
	argv[n++] = "GROUP";
	argv[n++] = ob->group;
	argv[n++] = ob->consumer;
	argv[n++] = "COUNT";
	argv[n++] = "1";
	/* BLOCK 0 would wait forever: a pending read does not block. */
	if (!pending) {
		snprintf(ms, sizeof(ms), "%d", block_ms);
		argv[n++] = "BLOCK";
		argv[n++] = ms;
	}
	argv[n++] = "STREAMS";
	argv[n++] = ob->stream;
	argv[n++] = pending ? "0" : ">";
	if ((r = run_long(st, n, argv, pending ? 0 : block_ms)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (r->type == REDIS_REPLY_ERROR) {
		snprintf(st->err, sizeof(st->err), "redis XREADGROUP: %s",
		    r->str);
		/* The stream and its group went away (its TTL ran out while
		 * idle, a flushed Redis): made again, the error was that. */
		if ((strncmp(r->str, "NOGROUP", 7) == 0 ||
		    strncmp(r->str, "UNBLOCKED", 9) == 0) &&
		    store_outbox_group(st, ob) == 0)
			rc = 0;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    (s = r->element[0])->type == REDIS_REPLY_ARRAY &&
	    s->elements == 2)
		rc = take(st, ob, s->element[1], m);
	freeReplyObject(r);
	if (rc == 1)
		m->deliveries = pending ? deliveries(st, ob, m->id) : 1;
	return rc;
}

int
store_outbox_claim(struct store *st, const struct store_outbox *ob,
    int min_idle_ms, char *cursor, size_t cursorlen, struct store_msg *m)
{
	char		 idle[16];
	const char	*argv[] = { "XAUTOCLAIM", ob->stream, ob->group,
	    ob->consumer, idle, cursor, "COUNT", "1" };
	redisReply	*r;
	int		 rc = -1;

	snprintf(idle, sizeof(idle), "%d", min_idle_ms);
	if ((r = run(st, 8, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(st->err, sizeof(st->err), "redis XAUTOCLAIM: %s",
		    r->str);
		if (strncmp(r->str, "NOGROUP", 7) == 0 &&
		    store_outbox_group(st, ob) == 0)
			rc = 0;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
	    copy(r->element[0], cursor, cursorlen) == 0)
		rc = take(st, ob, r->element[1], m);
	freeReplyObject(r);
	if (rc == 1)
		m->deliveries = deliveries(st, ob, m->id);
	return rc;
}

int
store_get(struct store *st, const char *key, char *out, size_t outlen)
{
	const char	*argv[] = { "GET", key };
	redisReply	*r;
	int		 rc;

	if ((r = run(st, 2, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (r->type == REDIS_REPLY_STRING)
		rc = copy(r, out, outlen) == 0 ? 1 : 0;
	else {
		snprintf(st->err, sizeof(st->err), "redis GET: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "not a string");
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

int
store_outbox_done(struct store *st, const struct store_outbox *ob,
    const char *id, const char *stat)
{
	char		 dk[16];
	const char	*args[] = { ob->stream, ob->stats, ob->group, id, stat,
	    dk };
	int		 rc;

	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	rc = eval(st, SCRIPT_DONE, 2, 4, args, done_words, 2);
	return rc < 0 ? -1 : rc == 0;
}

int
store_outbox_retry(struct store *st, const struct store_outbox *ob,
    const char *id, long long due_ms, const char *error)
{
	char		 due[24], k[16], dk[16];
	const char	*args[] = { ob->stream, ob->retry, ob->stats, ob->group,
	    id, due, error, k, dk, ob->consumer };

	snprintf(due, sizeof(due), "%lld", due_ms);
	snprintf(k, sizeof(k), "%d", ob->keep);
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	return eval(st, SCRIPT_RETRY, 3, 7, args, move_words, 2);
}

int
store_outbox_dead(struct store *st, const struct store_outbox *ob,
    const char *id, const char *error)
{
	char		 max[16], dk[16];
	const char	*args[] = { ob->stream, ob->dead, ob->stats, ob->group,
	    id, error, max, dk, ob->consumer };

	snprintf(max, sizeof(max), "%d", ob->dead_max);
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	return eval(st, SCRIPT_DEAD, 3, 6, args, move_words, 2);
}

int
store_outbox_promote(struct store *st, const struct store_outbox *ob,
    long long now_ms, int max)
{
	char		 now[24], n[16], k[16];
	const char	*args[] = { ob->retry, ob->stream, ob->stats, now, n, k };

	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(n, sizeof(n), "%d", max);
	snprintf(k, sizeof(k), "%d", ob->keep);
	return eval(st, SCRIPT_PROMOTE, 3, 3, args, NULL, 0);
}

int
store_outbox_replay(struct store *st, const struct store_outbox *ob, int max)
{
	char		 n[16], k[16];
	const char	*args[] = { ob->dead, ob->stream, n, k };

	snprintf(n, sizeof(n), "%d", max);
	snprintf(k, sizeof(k), "%d", ob->keep);
	return eval(st, SCRIPT_REPLAY, 2, 2, args, NULL, 0);
}

int
store_outbox_count(struct store *st, const struct store_outbox *ob,
    const char *stat, int n)
{
	char		 by[16], dk[16];
	const char	*argv[] = { "HINCRBY", ob->stats, stat, by };
	const char	*ttl[] = { "EXPIRE", ob->stats, dk };

	snprintf(by, sizeof(by), "%d", n);
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	return run_simple(st, 4, argv, NULL) == -1 ||
	    run_simple(st, 3, ttl, NULL) == -1 ? -1 : 0;
}

int
store_outbox_leave(struct store *st, const struct store_outbox *ob)
{
	const char	*args[] = { ob->stream, ob->group, ob->consumer };

	return eval(st, SCRIPT_LEAVE, 1, 2, args, ok_words, 1) < 0 ? -1 : 0;
}
