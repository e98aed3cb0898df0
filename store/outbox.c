/*
 * outbox: the queue of SMS messages (sms_delivery = queue) as the senders
 * see it. A Redis stream read through one consumer group; a message is
 * in exactly one place at a time: the stream (waiting, or held by one
 * sender until acknowledged), the retry set (waiting for its back-off),
 * or the dead-letter stream. Each move between them is one script, and
 * moves only what the C side has parsed and checked: a script never
 * copies an entry's fields it has not been given.
 *
 * Every key of the outbox has a TTL, renewed by each write: the stream,
 * the retry set and the sending hash outlive every code in them (keep),
 * the dead letters and the stats are kept dead_keep.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store.h"
#include "store/priv.h"

/*
 * The move scripts take ARGV[1] group, ARGV[2] id, ARGV[3] consumer
 * first. OWNED returns 'gone' unless the id is still this consumer's
 * (XPENDING names it) and its entry is still there: a message another
 * sender took over is not this one's to move.
 */
#define OWNED \
"local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n" \
"if #p == 0 or p[1][2] ~= ARGV[3] then return 'gone' end\n" \
"if #redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2]) == 0 then\n" \
"  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n" \
"  return 'gone'\n" \
"end\n"

/* Renews the TTL of key to at least keep. */
#define KEEP(key, keep) \
"if redis.call('TTL', " key ") < tonumber(" keep ") then\n" \
"  redis.call('EXPIRE', " key ", " keep ")\n" \
"end\n"

/*
 * KEYS: stream, sending, budget. ARGV: group, id, consumer, resend,
 * budget limit, hour, keep, token. The mark (token: this sender and this
 * delivery of the message) in the sending hash says a gateway request
 * for id is under way; it is cleared by whichever step finishes the
 * message. Found there with another token, an earlier request may have
 * gone out; with this one, this call is a retry of one whose answer was
 * lost.
 */
static const char begin_lua[] =
OWNED
"local mark = redis.call('HGET', KEYS[2], ARGV[2])\n"
"if mark == ARGV[8] then return 'ok' end\n"
"if mark then return 'unknown' end\n"
"local limit = tonumber(ARGV[5])\n"
"if ARGV[4] == '1' and limit > 0 then\n"
"  if tonumber(redis.call('GET', KEYS[3]) or '0') >= limit then\n"
"    return 'budget'\n"
"  end\n"
"  redis.call('INCR', KEYS[3])\n"
"  if redis.call('TTL', KEYS[3]) < 0 then\n"
"    redis.call('EXPIRE', KEYS[3], ARGV[6])\n"
"  end\n"
"end\n"
"redis.call('HSET', KEYS[2], ARGV[2], ARGV[8])\n"
KEEP("KEYS[2]", "ARGV[7]")
"return 'ok'\n";

/*
 * KEYS: stream, stats, sending. ARGV: group, id, stat, dead keep.
 * Whoever holds it: a message that was sent is finished.
 */
static const char done_lua[] =
"local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HDEL', KEYS[3], ARGV[2])\n"
"if n == 0 then\n"
"  redis.call('HINCRBY', KEYS[2], 'late', 1)\n"
"else\n"
"  redis.call('HINCRBY', KEYS[2], ARGV[3], 1)\n"
"end\n"
"redis.call('EXPIRE', KEYS[2], ARGV[4])\n"
"if n == 0 then return 'again' end\n"
"return 'ok'\n";

/*
 * KEYS: stream, retry set, stats, sending. ARGV: group, id, consumer,
 * due (ms), member, keep, dead keep. The member (the message as JSON,
 * made by store_outbox_retry) is written before the entry is
 * acknowledged, so a failing write loses nothing.
 */
static const char retry_lua[] =
OWNED
"redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])\n"
KEEP("KEYS[2]", "ARGV[6]")
"redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HDEL', KEYS[4], ARGV[2])\n"
"redis.call('HINCRBY', KEYS[3], 'retried', 1)\n"
"redis.call('EXPIRE', KEYS[3], ARGV[7])\n"
"return 'ok'\n";

/*
 * KEYS: stream, dead stream, stats, sending. ARGV: group, id, consumer,
 * dead max, dead keep, then the dead letter's fields and values.
 */
static const char dead_lua[] =
OWNED
"redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',\n"
"  unpack(ARGV, 6))\n"
"redis.call('EXPIRE', KEYS[2], ARGV[5])\n"
"redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
"redis.call('XDEL', KEYS[1], ARGV[2])\n"
"redis.call('HDEL', KEYS[4], ARGV[2])\n"
"redis.call('HINCRBY', KEYS[3], 'dead', 1)\n"
"redis.call('EXPIRE', KEYS[3], ARGV[5])\n"
"return 'ok'\n";

/*
 * KEYS: retry set, target stream, stats. ARGV: member, max length of the
 * target (0: none), its keep, the stats field to count ("" none), the
 * stats' keep, then the fields and values to append. Appended before it
 * is removed, so a refused append leaves it where it was; a script runs
 * alone, so two senders never both move it.
 */
static const char unretry_lua[] =
"if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 'gone' end\n"
"if tonumber(ARGV[2]) > 0 then\n"
"  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 6))\n"
"else\n"
"  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))\n"
"end\n"
"redis.call('ZREM', KEYS[1], ARGV[1])\n"
KEEP("KEYS[2]", "ARGV[3]")
"if ARGV[4] ~= '' then\n"
"  redis.call('HINCRBY', KEYS[3], ARGV[4], 1)\n"
"  redis.call('EXPIRE', KEYS[3], ARGV[5])\n"
"end\n"
"return 'ok'\n";

/*
 * KEYS: dead stream, stream. ARGV: id, keep, then the fields and values
 * to append. Appended before the dead letter is deleted.
 */
static const char replay_lua[] =
"if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then\n"
"  return 'gone'\n"
"end\n"
"redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))\n"
"redis.call('XDEL', KEYS[1], ARGV[1])\n"
KEEP("KEYS[2]", "ARGV[2]")
"return 'ok'\n";

/* KEYS: stream. ARGV: group, keep. The group reads from the start. */
static const char group_lua[] =
"local r = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0',\n"
"  'MKSTREAM')\n"
"if type(r) == 'table' and r.err and not string.find(r.err, '^BUSYGROUP') then\n"
"  return r\n"
"end\n"
KEEP("KEYS[1]", "ARGV[2]")
"return 'ok'\n";

/* KEYS: stream. ARGV: group, consumer. */
static const char leave_lua[] =
"local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])\n"
"if #p == 0 then\n"
"  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])\n"
"end\n"
"return 'ok'\n";

static const char *const begin_words[STORE_BEGIN_RESULTS] = {
	[STORE_BEGIN_OK] = "ok",
	[STORE_BEGIN_GONE] = "gone",
	[STORE_BEGIN_UNKNOWN] = "unknown",
	[STORE_BEGIN_BUDGET] = "budget",
};
static const char *const done_words[] = { "ok", "again" };
static const char *const move_words[] = { "gone", "ok" };
static const char *const ok_words[] = { "ok" };

void
outbox_scripts_init(struct store *st)
{
	script_init(&st->scripts[SCRIPT_BEGIN], begin_lua);
	script_init(&st->scripts[SCRIPT_DONE], done_lua);
	script_init(&st->scripts[SCRIPT_RETRY], retry_lua);
	script_init(&st->scripts[SCRIPT_DEAD], dead_lua);
	script_init(&st->scripts[SCRIPT_UNRETRY], unretry_lua);
	script_init(&st->scripts[SCRIPT_REPLAY], replay_lua);
	script_init(&st->scripts[SCRIPT_LEAVE], leave_lua);
	script_init(&st->scripts[SCRIPT_GROUP], group_lua);
}

int
store_outbox_init(struct store_outbox *ob, const char *prefix, int code_ttl,
    const char *consumer)
{
	static const struct {
		size_t		 off;
		const char	*suffix;
	} names[] = {
		{ offsetof(struct store_outbox, stream), "outbox" },
		{ offsetof(struct store_outbox, retry), "outbox:retry" },
		{ offsetof(struct store_outbox, dead), "outbox:dead" },
		{ offsetof(struct store_outbox, stats), "outbox:stats" },
		{ offsetof(struct store_outbox, sending), "outbox:sending" },
	};
	size_t	 i;
	int	 n;

	memset(ob, 0, sizeof(*ob));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = snprintf((char *)ob + names[i].off, STORE_KEY_MAX, "%s%s",
		    prefix, names[i].suffix);
		if (n < 0 || n >= STORE_KEY_MAX)
			return -1;
	}
	if (consumer != NULL && (size_t)snprintf(ob->consumer,
	    sizeof(ob->consumer), "%s", consumer) >= sizeof(ob->consumer))
		return -1;
	ob->keep = code_ttl + STORE_OUTBOX_MARGIN;
	ob->dead_keep = STORE_DEAD_KEEP;
	return 0;
}

/* ---- Messages: one table of fields, for every place one is read. ---- */

enum mkind { MF_TEXT, MF_INT, MF_LL };
static const struct mfield {
	const char	*name;
	enum mkind	 kind;
	size_t		 off, size;	/* text: the buffer in store_msg */
	long long	 lo, hi;	/* numbers */
	int		 required;
} mfields[] = {
#define T(f, req) { #f, MF_TEXT, offsetof(struct store_msg, f), \
	sizeof(((struct store_msg *)0)->f), 0, 0, req }
#define N(f, name, k, lo, hi, req) { name, k, offsetof(struct store_msg, f), \
	0, lo, hi, req }
	T(mobile, 1),
	/* A replayed dead letter has none: the sender reads its key. */
	T(code, 0),
	T(key, 1),
	T(dialect, 1),
	N(minutes, "minutes", MF_INT, 1, 100000, 1),
	N(tries, "tries", MF_INT, 0, 100000, 1),
	N(unknown, "unknown", MF_INT, 0, 100000, 0),
	N(queued_ms, "queued", MF_LL, 0, LLONG_MAX, 1),
	N(expires, "expires", MF_LL, 0, LLONG_MAX, 1),
#undef T
#undef N
};
#define MFIELDS	(sizeof(mfields) / sizeof(mfields[0]))
/* The longest script call: a dead letter's 9 first, its fields, error
 * and from. */
_Static_assert(9 + 2 * MFIELDS + 4 <= EVAL_ARGS_MAX,
    "a dead letter's arguments fit one script call");

/*
 * decimal: n bytes of s, 1 to 18 ASCII digits (so the sum cannot
 * overflow), into *v in lo..hi.
 */
static int
decimal(const char *s, size_t n, long long lo, long long hi, long long *v)
{
	size_t	 i;

	if (n == 0 || n > 18)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return *v < lo || *v > hi ? -1 : 0;
}

void
store_msg_fields(struct store_msg *m, size_t n, const char *const *names,
    const size_t *namelens, const char *const *values,
    const size_t *valuelens)
{
	unsigned char	 seen[MFIELDS];
	long long	 v;
	size_t		 i, j, k;

	memset(seen, 0, sizeof(seen));
	m->why = NULL;
	if (n > STORE_MSG_FIELDS_MAX) {
		m->why = "too many fields";
		return;
	}
	for (i = 0; i < n && m->why == NULL; i++) {
		for (j = 0; j < MFIELDS; j++)
			if (strlen(mfields[j].name) == namelens[i] &&
			    memcmp(mfields[j].name, names[i], namelens[i]) == 0)
				break;
		if (j == MFIELDS)
			continue;	/* not ours: ignored */
		if (seen[j]++) {
			m->why = "a field given twice";
			break;
		}
		switch (mfields[j].kind) {
		case MF_TEXT:
			if (valuelens[i] >= mfields[j].size) {
				m->why = "a field too long";
				break;
			}
			for (k = 0; k < valuelens[i]; k++)
				if ((unsigned char)values[i][k] < 0x20 ||
				    values[i][k] == 0x7f)
					m->why = "a control byte in a field";
			if (m->why != NULL)
				break;
			memcpy((char *)m + mfields[j].off, values[i],
			    valuelens[i]);
			((char *)m + mfields[j].off)[valuelens[i]] = '\0';
			break;
		case MF_INT:
		case MF_LL:
			if (decimal(values[i], valuelens[i], mfields[j].lo,
			    mfields[j].hi, &v) == -1) {
				m->why = "a number out of range";
				break;
			}
			if (mfields[j].kind == MF_INT)
				*(int *)((char *)m + mfields[j].off) = (int)v;
			else
				*(long long *)((char *)m + mfields[j].off) = v;
			break;
		}
	}
	for (j = 0; j < MFIELDS && m->why == NULL; j++)
		if (mfields[j].required && !seen[j])
			m->why = "a field missing";
	if (m->why == NULL && (m->mobile[0] == '\0' || m->key[0] == '\0' ||
	    m->dialect[0] == '\0'))
		m->why = "an empty field";
}

void
store_msg_json(struct store_msg *m, const char *text, size_t len)
{
	const char	*names[STORE_MSG_FIELDS_MAX];
	const char	*values[STORE_MSG_FIELDS_MAX];
	size_t		 nl[STORE_MSG_FIELDS_MAX], vl[STORE_MSG_FIELDS_MAX];
	const char	*k;
	json_t		*j, *v, *from;
	size_t		 n = 0;

	memset(m, 0, sizeof(*m));
	if ((j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j)) {
		m->why = "not a JSON object, or a key given twice";
		goto out;
	}
	if (json_object_size(j) > STORE_MSG_FIELDS_MAX) {
		m->why = "too many fields";
		goto out;
	}
	from = json_object_get(j, "from");
	if (!json_is_string(from) || json_string_length(from) == 0 ||
	    json_string_length(from) >= sizeof(m->id) ||
	    strlen(json_string_value(from)) != json_string_length(from)) {
		m->why = "no id it came from";
		goto out;
	}
	memcpy(m->id, json_string_value(from), json_string_length(from) + 1);
	json_object_foreach(j, k, v) {
		if (!json_is_string(v)) {
			m->why = "a field that is not a string";
			goto out;
		}
		names[n] = k;
		nl[n] = strlen(k);
		values[n] = json_string_value(v);
		vl[n] = json_string_length(v);
		n++;
	}
	store_msg_fields(m, n, names, nl, values, vl);
out:
	json_decref(j);
}

/*
 * parse_entry: [id, [field, value, ...]] into m. 1 with m->why saying
 * whether it is a message; 0 for an entry whose message is gone (its
 * fields nil: deleted while pending); -1 for a reply of the wrong shape.
 */
static int
parse_entry(const redisReply *e, struct store_msg *m)
{
	const char	*names[STORE_MSG_FIELDS_MAX];
	const char	*values[STORE_MSG_FIELDS_MAX];
	size_t		 nl[STORE_MSG_FIELDS_MAX], vl[STORE_MSG_FIELDS_MAX];
	const redisReply *f;
	size_t		 i;

	memset(m, 0, sizeof(*m));
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    reply_str(e->element[0], m->id, sizeof(m->id)) == -1)
		return -1;
	f = e->element[1];
	if (f->type == REDIS_REPLY_NIL)
		return 0;
	if (f->type != REDIS_REPLY_ARRAY)
		return -1;
	if (f->elements % 2 != 0 || f->elements / 2 > STORE_MSG_FIELDS_MAX) {
		m->why = f->elements % 2 ? "a field without a value" :
		    "too many fields";
		return 1;
	}
	for (i = 0; i < f->elements / 2; i++) {
		const redisReply *k = f->element[2 * i];
		const redisReply *x = f->element[2 * i + 1];

		if (k->type != REDIS_REPLY_STRING ||
		    x->type != REDIS_REPLY_STRING) {
			m->why = "a field that is not a string";
			return 1;
		}
		names[i] = k->str;
		nl[i] = k->len;
		values[i] = x->str;
		vl[i] = x->len;
	}
	store_msg_fields(m, f->elements / 2, names, nl, values, vl);
	return 1;
}

/*
 * msg_args: the fields of a well-formed m as (name, value) strings into
 * args (room for 2 * MFIELDS), numbers written into num; the code only
 * with_code. Returns how many strings.
 */
static int
msg_args(const struct store_msg *m, int with_code, const char **args,
    char num[][24])
{
	size_t	 j;
	int	 n = 0;

	for (j = 0; j < MFIELDS; j++) {
		const char	*at = (const char *)m + mfields[j].off;

		if (mfields[j].off == offsetof(struct store_msg, code) &&
		    (!with_code || m->code[0] == '\0'))
			continue;
		args[n++] = mfields[j].name;
		switch (mfields[j].kind) {
		case MF_TEXT:
			args[n++] = at;
			break;
		case MF_INT:
			snprintf(num[j], 24, "%d", *(const int *)at);
			args[n++] = num[j];
			break;
		case MF_LL:
			snprintf(num[j], 24, "%lld", *(const long long *)at);
			args[n++] = num[j];
			break;
		}
	}
	return n;
}

/* ---- Reading. ---- */

/* deliveries: how often the group has handed out id (XPENDING), or 0. */
static long long
deliveries(struct store *st, const struct store_outbox *ob, const char *id)
{
	const char	*argv[] = { "XPENDING", ob->stream, STORE_GROUP, id, id,
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
	const char	*argv[] = { "XACK", ob->stream, STORE_GROUP, id };

	(void)run_simple(st, 4, argv, NULL);
}

/*
 * take: the first entry of entries into m, skipping (and acknowledging)
 * the ones whose message is gone. 1, 0 (none), -1.
 */
static int
take(struct store *st, const struct store_outbox *ob,
    const redisReply *entries, struct store_msg *m, const char *what)
{
	size_t	 i;
	int	 rc;

	if (entries->type != REDIS_REPLY_ARRAY) {
		refuse(st, what, entries);
		return -1;
	}
	for (i = 0; i < entries->elements; i++) {
		/* Redis 6.2's XAUTOCLAIM: nil for an entry deleted while
		 * pending (7.0 lists those apart). */
		if (entries->element[i]->type == REDIS_REPLY_NIL)
			continue;
		if ((rc = parse_entry(entries->element[i], m)) == -1) {
			refuse(st, what, entries->element[i]);
			return -1;
		}
		if (rc == 1)
			return 1;
		ack_gone(st, ob, m->id);
	}
	return 0;
}

/* group: store_outbox_group, for the calls here that make it again. */
static int
group(struct store *st, const struct store_outbox *ob)
{
	char		 keep[16];
	const char	*args[] = { ob->stream, STORE_GROUP, keep };

	snprintf(keep, sizeof(keep), "%d", ob->keep);
	return eval(st, SCRIPT_GROUP, 1, 2, args, ok_words, 1) < 0 ? -1 : 0;
}

/*
 * regroup: r is an error reply to what. When it says the group (or the
 * stream) went away, its TTL having run out while idle or Redis flushed,
 * the group is made again and 0 returned; else -1 with the error.
 */
static int
regroup(struct store *st, const struct store_outbox *ob, const redisReply *r,
    const char *what)
{
	refuse(st, what, r);
	if ((strncmp(r->str, "NOGROUP", 7) == 0 ||
	    strncmp(r->str, "UNBLOCKED", 9) == 0) &&
	    group(st, ob) == 0)
		return 0;
	return -1;
}

int
store_outbox_group(struct store *st, const struct store_outbox *ob)
{
	return failed(st, group(st, ob));
}

int
store_outbox_read(struct store *st, const struct store_outbox *ob,
    const char *after, int block_ms, struct store_msg *m)
{
	char		 ms[16];
	const char	*argv[11];
	const redisReply *s;
	redisReply	*r;
	int		 n = 0, rc;

	argv[n++] = "XREADGROUP";
	argv[n++] = "GROUP";
	argv[n++] = STORE_GROUP;
	argv[n++] = ob->consumer;
	argv[n++] = "COUNT";
	argv[n++] = "1";
	/* BLOCK 0 would wait forever: a pending read does not block. */
	if (after == NULL) {
		snprintf(ms, sizeof(ms), "%d", block_ms);
		argv[n++] = "BLOCK";
		argv[n++] = ms;
	}
	argv[n++] = "STREAMS";
	argv[n++] = ob->stream;
	argv[n++] = after != NULL ? after : ">";
	if ((r = run_long(st, n, argv, after != NULL ? 0 : block_ms)) == NULL)
		return failed(st, -1);
	if (r->type == REDIS_REPLY_NIL)
		rc = 0;
	else if (r->type == REDIS_REPLY_ERROR)
		rc = regroup(st, ob, r, "XREADGROUP");
	else if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    (s = r->element[0])->type == REDIS_REPLY_ARRAY &&
	    s->elements == 2)
		rc = take(st, ob, s->element[1], m, "XREADGROUP");
	else {
		refuse(st, "XREADGROUP", r);
		rc = -1;
	}
	freeReplyObject(r);
	if (rc == 1)
		m->deliveries = after != NULL ? deliveries(st, ob, m->id) : 1;
	return failed(st, rc);
}

int
store_outbox_claim(struct store *st, const struct store_outbox *ob,
    int min_idle_ms, char *cursor, size_t cursorlen, struct store_msg *m)
{
	char		 idle[16];
	const char	*argv[] = { "XAUTOCLAIM", ob->stream, STORE_GROUP,
	    ob->consumer, idle, cursor, "COUNT", "1" };
	redisReply	*r;
	int		 rc;

	snprintf(idle, sizeof(idle), "%d", min_idle_ms);
	if ((r = run(st, 8, argv)) == NULL)
		return failed(st, -1);
	if (r->type == REDIS_REPLY_ERROR)
		rc = regroup(st, ob, r, "XAUTOCLAIM");
	else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
	    reply_str(r->element[0], cursor, cursorlen) == 0)
		rc = take(st, ob, r->element[1], m, "XAUTOCLAIM");
	else {
		refuse(st, "XAUTOCLAIM", r);
		rc = -1;
	}
	freeReplyObject(r);
	if (rc == 1)
		m->deliveries = deliveries(st, ob, m->id);
	return failed(st, rc);
}

/* ---- Moving. ---- */

int
store_outbox_begin(struct store *st, const struct store_outbox *ob,
    const struct store_msg *m, int resend, const char *budget_key,
    int budget_limit, int hour_seconds)
{
	char		 lim[16], hour[16], keep[16];
	char		 token[STORE_CONSUMER_MAX + 24];
	const char	*args[] = { ob->stream, ob->sending, budget_key,
	    STORE_GROUP, m->id, ob->consumer, resend ? "1" : "0", lim, hour,
	    keep, token };

	snprintf(token, sizeof(token), "%s/%lld", ob->consumer, m->deliveries);
	snprintf(lim, sizeof(lim), "%d", budget_limit);
	snprintf(hour, sizeof(hour), "%d", hour_seconds);
	snprintf(keep, sizeof(keep), "%d", ob->keep);
	return failed(st, eval(st, SCRIPT_BEGIN, 3, 8, args, begin_words,
	    STORE_BEGIN_RESULTS));
}

int
store_outbox_done(struct store *st, const struct store_outbox *ob,
    const char *id, const char *stat)
{
	char		 dk[16];
	const char	*args[] = { ob->stream, ob->stats, ob->sending,
	    STORE_GROUP, id, stat, dk };
	int		 rc;

	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	rc = eval(st, SCRIPT_DONE, 3, 4, args, done_words, 2);
	return rc < 0 ? failed(st, -1) : rc == 0;
}

/*
 * member: the retry-set member of m (its fields, its last error and the
 * id it came from, as a JSON object of strings), in a buffer to wipe and
 * free, or NULL.
 */
static char *
member(const struct store_msg *m, const char *error)
{
	const char	*args[2 * MFIELDS];
	char		 num[MFIELDS][24], *text = NULL;
	json_t		*o;
	size_t		 len;
	int		 i, n;

	if ((o = json_object()) == NULL)
		return NULL;
	n = msg_args(m, 1, args, num);
	for (i = 0; i < n; i += 2)
		if (json_object_set_new(o, args[i], json_string(args[i + 1])))
			goto out;
	if (json_object_set_new(o, "error", json_string(error)) ||
	    json_object_set_new(o, "from", json_string(m->id)) ||
	    (len = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    0 || (text = malloc(len + 1)) == NULL)
		goto out;
	if (json_dumpb(o, text, len, JSON_COMPACT | JSON_SORT_KEYS) != len) {
		free(text);
		text = NULL;
		goto out;
	}
	text[len] = '\0';
out:
	json_decref(o);
	explicit_bzero(num, sizeof(num));
	return text;
}

/*
 * move_head: the first 7 arguments of a move script (OWNED): KEYS
 * stream, to, stats, sending; ARGV group, id, consumer.
 */
static void
move_head(const char **args, const struct store_outbox *ob, const char *to,
    const char *id)
{
	args[0] = ob->stream;
	args[1] = to;
	args[2] = ob->stats;
	args[3] = ob->sending;
	args[4] = STORE_GROUP;
	args[5] = id;
	args[6] = ob->consumer;
}

int
store_outbox_retry(struct store *st, const struct store_outbox *ob,
    const struct store_msg *m, long long due_ms, const char *error)
{
	char		 due[24], k[16], dk[16], *mb;
	const char	*args[11];
	int		 rc;

	if ((mb = member(m, error)) == NULL) {
		/* Not an outage: its fields or error cannot be JSON text
		 * (jansson takes UTF-8 only), or memory ran out. */
		snprintf(st->err, sizeof(st->err), "store: the retry of %s "
		    "cannot be written as JSON", m->id);
		st->refused = 1;
		return failed(st, -1);
	}
	snprintf(due, sizeof(due), "%lld", due_ms);
	snprintf(k, sizeof(k), "%d", ob->keep);
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	move_head(args, ob, ob->retry, m->id);
	args[7] = due;
	args[8] = mb;
	args[9] = k;
	args[10] = dk;
	rc = eval(st, SCRIPT_RETRY, 4, 7, args, move_words, 2);
	explicit_bzero(mb, strlen(mb));
	free(mb);
	return failed(st, rc);
}

/*
 * dead_args: the fields of m's dead letter into args from at: a
 * well-formed m without its code, then error and the id it came from.
 * How many strings.
 */
static int
dead_args(const struct store_msg *m, const char *error, const char **args,
    char num[][24])
{
	int	 n = m->why == NULL ? msg_args(m, 0, args, num) : 0;

	args[n++] = "error";
	args[n++] = error;
	args[n++] = "from";
	args[n++] = m->id;
	return n;
}

int
store_outbox_dead(struct store *st, const struct store_outbox *ob,
    const struct store_msg *m, const char *error)
{
	char		 max[16], dk[16], num[MFIELDS][24];
	const char	*args[9 + 2 * MFIELDS + 4];
	int		 n;

	snprintf(max, sizeof(max), "%d", STORE_DEAD_MAX);
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	move_head(args, ob, ob->dead, m->id);
	args[7] = max;
	args[8] = dk;
	n = dead_args(m, error, args + 9, num);
	return failed(st, eval(st, SCRIPT_DEAD, 4, 5 + n, args, move_words,
	    2));
}

int
store_outbox_discard(struct store *st, const struct store_outbox *ob,
    const char *id)
{
	const char	*ack[] = { "XACK", ob->stream, STORE_GROUP, id };
	const char	*del[] = { "XDEL", ob->stream, id };
	const char	*unmark[] = { "HDEL", ob->sending, id };

	if (run_simple(st, 4, ack, NULL) == -1 ||
	    run_simple(st, 3, del, NULL) == -1)
		return failed(st, -1);
	(void)run_simple(st, 3, unmark, NULL);
	return 0;
}

/*
 * unretry: member mb (len bytes) out of the retry set, into the stream
 * if it decodes as a message, else into the dead letters saying why.
 * 0, or -1 (the store failed; st->refused when Redis refused).
 */
static int
unretry(struct store *st, const struct store_outbox *ob, const char *mb,
    size_t len)
{
	struct store_msg m;
	char		 num[MFIELDS][24], max[16], keep[16], dk[16];
	const char	*args[8 + 2 * MFIELDS + 4];
	size_t		 lens[8 + 2 * MFIELDS + 4];
	int		 i, n, rc;

	store_msg_json(&m, mb, len);
	if (m.why == NULL)
		n = msg_args(&m, 1, args + 8, num);
	else {
		/* None of ours: kept as a dead letter for an operator. */
		if (m.id[0] == '\0')
			snprintf(m.id, sizeof(m.id), "retry set");
		n = dead_args(&m, m.why, args + 8, num);
	}
	snprintf(dk, sizeof(dk), "%d", ob->dead_keep);
	snprintf(max, sizeof(max), "%d", m.why == NULL ? 0 : STORE_DEAD_MAX);
	snprintf(keep, sizeof(keep), "%d", m.why == NULL ? ob->keep :
	    ob->dead_keep);
	args[0] = ob->retry;
	args[1] = m.why == NULL ? ob->stream : ob->dead;
	args[2] = ob->stats;
	args[3] = mb;
	args[4] = max;
	args[5] = keep;
	args[6] = m.why == NULL ? "" : "malformed";
	args[7] = dk;
	for (i = 0; i < 8 + n; i++)
		lens[i] = strlen(args[i]);
	lens[3] = len;		/* the member as stored, whatever it holds */
	rc = eval_lens(st, SCRIPT_UNRETRY, 3, 5 + n, args, lens, move_words,
	    2);
	explicit_bzero(&m, sizeof(m));
	explicit_bzero(num, sizeof(num));
	return rc < 0 ? -1 : 0;
}

int
store_outbox_promote(struct store *st, const struct store_outbox *ob,
    long long now_ms, int max)
{
	char		 now[24], n[16];
	const char	*argv[] = { "ZRANGEBYSCORE", ob->retry, "-inf", now,
	    "LIMIT", "0", n };
	redisReply	*r;
	size_t		 i;
	int		 rc, refused = 0;

	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(n, sizeof(n), "%d", max);
	if ((r = run(st, 7, argv)) == NULL)
		return failed(st, -1);
	if (r->type != REDIS_REPLY_ARRAY) {
		refuse(st, "ZRANGEBYSCORE", r);
		freeReplyObject(r);
		return failed(st, -1);
	}
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING)
			continue;
		if (unretry(st, ob, e->str, e->len) == 0)
			continue;
		if (!st->refused) {
			freeReplyObject(r);
			return failed(st, -1);
		}
		/* Refused: it stays where it is, and the members behind it
		 * are still moved. */
		refused++;
	}
	rc = refused > 0 ? -1 : (int)r->elements;
	freeReplyObject(r);
	return failed(st, rc);
}

int
store_outbox_last_dead(struct store *st, const struct store_outbox *ob,
    char *out, size_t outlen)
{
	const char	*argv[] = { "XREVRANGE", ob->dead, "+", "-", "COUNT",
	    "1" };
	redisReply	*r;
	int		 rc = 0;

	if ((r = run(st, 6, argv)) == NULL)
		return failed(st, -1);
	if (r->type != REDIS_REPLY_ARRAY) {
		refuse(st, "XREVRANGE", r);
		rc = -1;
	} else if (r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2 &&
	    reply_str(r->element[0]->element[0], out, outlen) == 0)
		rc = 1;
	freeReplyObject(r);
	return failed(st, rc);
}

int
store_outbox_replay(struct store *st, const struct store_outbox *ob, int max,
    const char *end, char *cursor, size_t cursorlen, long *moved)
{
	struct store_msg m;
	char		 n[16], start[STORE_ID_MAX + 1], keep[16];
	char		 num[MFIELDS][24];
	const char	*argv[] = { "XRANGE", ob->dead, start, end, "COUNT", n };
	const char	*args[4 + 2 * MFIELDS];
	redisReply	*r;
	size_t		 i;
	int		 k, rc;

	snprintf(n, sizeof(n), "%d", max);
	snprintf(keep, sizeof(keep), "%d", ob->keep);
	/* "(" makes the start exclusive: the cursor was looked at. */
	snprintf(start, sizeof(start), "%s%s", strcmp(cursor, "-") == 0 ?
	    "" : "(", cursor);
	if ((r = run(st, 6, argv)) == NULL)
		return failed(st, -1);
	if (r->type != REDIS_REPLY_ARRAY) {
		refuse(st, "XRANGE", r);
		freeReplyObject(r);
		return failed(st, -1);
	}
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		/* The cursor moves past every entry, whatever it holds. */
		if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1)
			(void)reply_str(e->element[0], cursor, cursorlen);
		if (parse_entry(e, &m) != 1 || m.why != NULL)
			continue;	/* stays, for an operator to read */
		m.tries = 0;
		m.code[0] = '\0';
		args[0] = ob->dead;
		args[1] = ob->stream;
		args[2] = m.id;
		args[3] = keep;
		k = msg_args(&m, 0, args + 4, num);
		if ((rc = eval(st, SCRIPT_REPLAY, 2, 2 + k, args, move_words,
		    2)) == -1) {
			freeReplyObject(r);
			return failed(st, -1);
		}
		*moved += rc;
	}
	rc = (int)r->elements;
	freeReplyObject(r);
	explicit_bzero(&m, sizeof(m));
	return rc;
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
	return failed(st, run_simple(st, 4, argv, NULL) == -1 ||
	    run_simple(st, 3, ttl, NULL) == -1 ? -1 : 0);
}

int
store_outbox_leave(struct store *st, const struct store_outbox *ob)
{
	const char	*args[] = { ob->stream, STORE_GROUP, ob->consumer };

	return failed(st, eval(st, SCRIPT_LEAVE, 1, 2, args, ok_words, 1) < 0 ?
	    -1 : 0);
}

/*
 * The gauges of a metrics scrape, in one call: the stream's length, what
 * its group holds unacknowledged (0 before a sender made the group), the
 * retry set, the dead letters, the budget's count.
 */
static const char gauges_lua[] =
	"local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])\n"
	"local pending = 0\n"
	"if type(p) == 'table' and p[1] then pending = p[1] end\n"
	"return { redis.call('EXISTS', KEYS[1]) == 1 and\n"
	"    redis.call('XLEN', KEYS[1]) or 0, pending,\n"
	"    redis.call('ZCARD', KEYS[2]),\n"
	"    redis.call('EXISTS', KEYS[3]) == 1 and\n"
	"    redis.call('XLEN', KEYS[3]) or 0,\n"
	"    tonumber(redis.call('GET', KEYS[4]) or '0') or 0 }\n";

int
store_gauges(struct store *st, const struct store_outbox *ob,
    const char *budget_key, struct store_gauges *g)
{
	const char	*argv[] = { "EVAL", gauges_lua, "4", ob->stream,
	    ob->retry, ob->dead, budget_key, STORE_GROUP };
	long long	*out[] = { &g->length, &g->pending, &g->retry,
	    &g->dead, &g->budget_used };
	redisReply	*r;
	size_t		 i;

	memset(g, 0, sizeof(*g));
	if ((r = run(st, 8, argv)) == NULL)
		return failed(st, -1);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
		refuse(st, "EVAL gauges", r);
		freeReplyObject(r);
		return failed(st, -1);
	}
	for (i = 0; i < 5; i++)
		*out[i] = r->element[i]->type == REDIS_REPLY_INTEGER ?
		    r->element[i]->integer : 0;
	freeReplyObject(r);
	return 0;
}
