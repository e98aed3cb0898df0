/*
 * store: hiredis, one connection per worker, Lua scripts for the two
 * steps that must be atomic (an SMS request, a verification).
 */
#include <sys/time.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include "store/store.h"
#include "store/priv.h"

#define STORE_DB_MAX	1024	/* highest database number accepted */
#define STORE_HOUR	"3600"	/* window of the block and budget counters */

/*
 * KEYS: legacy flag, interval, daily, ip, captcha, code, attempts, block,
 *       budget, outbox.
 * ARGV: answer, code value, code ttl, interval, daily limit, ip limit,
 *       daily window, ip window, block limit, budget limit, hour,
 *       queue max (0: inline delivery, nothing queued), then the message:
 *       mobile, code, minutes, dialect, queued (ms), expires (s), keep
 *       (the outbox's TTL: it outlives every code in it).
 * Every limit of 0 is off. The per-address counter counts every request
 * that reaches it; the others count what was sent. A full queue refuses
 * before anything is counted; the message is appended before the code is
 * stored, so that a failed append leaves no code without its message.
 * Returns one word of sms_words[].
 */
static const char sms_lua[] =
"local function over(key, limit)\n"
"  return limit > 0 and tonumber(redis.call('GET', key) or '0') >= limit\n"
"end\n"
"local function bump(key, limit, window)\n"
"  if limit > 0 then\n"
"    redis.call('INCR', key)\n"
"    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end\n"
"  end\n"
"end\n"
"local interval = tonumber(ARGV[4])\n"
"local dl, il = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
"local pl, bl = tonumber(ARGV[9]), tonumber(ARGV[10])\n"
"local qmax = tonumber(ARGV[12])\n"
"if qmax > 0 and redis.call('XLEN', KEYS[10]) >= qmax then\n"
"  return 'queuefull'\n"
"end\n"
"if interval > 0 and redis.call('EXISTS', KEYS[2]) == 1 then\n"
"  return 'interval'\n"
"end\n"
"if over(KEYS[3], dl) then return 'daily' end\n"
"if over(KEYS[4], il) then return 'ip' end\n"
"bump(KEYS[4], il, ARGV[8])\n"
"if over(KEYS[8], pl) then return 'block' end\n"
"if over(KEYS[9], bl) then return 'budget' end\n"
"local v = redis.call('GET', KEYS[5])\n"
"if not v then return 'nocaptcha' end\n"
"redis.call('DEL', KEYS[5])\n"
"if string.lower(v) ~= ARGV[1] then return 'wrong' end\n"
"if qmax > 0 then\n"
"  redis.call('XADD', KEYS[10], 'MAXLEN', '~', qmax, '*',\n"
"    'mobile', ARGV[13], 'code', ARGV[14], 'key', KEYS[6],\n"
"    'minutes', ARGV[15], 'dialect', ARGV[16], 'queued', ARGV[17],\n"
"    'expires', ARGV[18], 'tries', '0')\n"
"  local keep = tonumber(ARGV[19])\n"
"  if redis.call('TTL', KEYS[10]) < keep then\n"
"    redis.call('EXPIRE', KEYS[10], keep)\n"
"  end\n"
"end\n"
"redis.call('SET', KEYS[6], ARGV[2], 'EX', ARGV[3])\n"
"redis.call('DEL', KEYS[7])\n"
"if interval > 0 then\n"
"  redis.call('SET', KEYS[2], '1', 'EX', interval)\n"
"  redis.call('SET', KEYS[1], '1', 'EX', interval)\n"
"end\n"
"bump(KEYS[3], dl, ARGV[7])\n"
"bump(KEYS[8], pl, ARGV[11])\n"
"bump(KEYS[9], bl, ARGV[11])\n"
"return 'ok'\n";

/* KEYS: code, legacy flag, interval, daily, block, budget. ARGV: code value. */
static const char rollback_lua[] =
"if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
"  redis.call('DEL', KEYS[1])\n"
"end\n"
"redis.call('DEL', KEYS[2], KEYS[3])\n"
"for i = 4, 6 do\n"
"  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then\n"
"    redis.call('DECR', KEYS[i])\n"
"  end\n"
"end\n"
"return 'ok'\n";

/*
 * KEYS: code, attempts. ARGV: value, max attempts, attempts ttl.
 * The comparison touches every byte whatever the first difference.
 * Returns one word of verify_words[].
 */
static const char verify_lua[] =
"local c = redis.call('GET', KEYS[1])\n"
"if not c then return 'missing' end\n"
"local t = ARGV[1]\n"
"local d = 0\n"
"if #c ~= #t then d = 1 end\n"
"for i = 1, #c do\n"
"  d = bit.bor(d, bit.bxor(string.byte(c, i), string.byte(t, i) or 0))\n"
"end\n"
"if d == 0 then\n"
"  redis.call('DEL', KEYS[1], KEYS[2])\n"
"  return 'ok'\n"
"end\n"
"local n = redis.call('INCR', KEYS[2])\n"
"if redis.call('TTL', KEYS[2]) < 0 then\n"
"  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
"end\n"
"local max = tonumber(ARGV[2])\n"
"if max > 0 and n >= max then\n"
"  redis.call('DEL', KEYS[1], KEYS[2])\n"
"  return 'burned'\n"
"end\n"
"return 'wrong'\n";

/*
 * What each script may answer, by result: the scripts return these words,
 * so that a result is one enum value, one word here and one row in the
 * caller's table, whatever order they are in.
 */
static const char *const sms_words[STORE_SMS_RESULTS] = {
	[STORE_SMS_OK] = "ok",
	[STORE_SMS_INTERVAL] = "interval",
	[STORE_SMS_DAILY] = "daily",
	[STORE_SMS_IP] = "ip",
	[STORE_SMS_NOCAPTCHA] = "nocaptcha",
	[STORE_SMS_WRONG] = "wrong",
	[STORE_SMS_BLOCK] = "block",
	[STORE_SMS_BUDGET] = "budget",
	[STORE_SMS_QUEUE_FULL] = "queuefull",
};
static const char *const verify_words[STORE_VERIFY_RESULTS] = {
	[STORE_VERIFY_OK] = "ok",
	[STORE_VERIFY_MISSING] = "missing",
	[STORE_VERIFY_WRONG] = "wrong",
	[STORE_VERIFY_BURNED] = "burned",
};
static const char *const rollback_words[] = { "ok" };

void
script_init(struct script *s, const char *body)
{
	unsigned char	 md[SHA_DIGEST_LENGTH];
	int		 i;

	s->body = body;
	SHA1((const unsigned char *)body, strlen(body), md);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(s->sha + i * 2, 3, "%02x", md[i]);
}

/* parse_db: a database number 0..STORE_DB_MAX ending the URL; 0 or -1. */
static int
parse_db(const char *s, int *db)
{
	char	*end;
	long	 l;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	l = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || l < 0 || l > STORE_DB_MAX)
		return -1;
	*db = (int)l;
	return 0;
}

/*
 * Parses "redis://[[USER]:PASS@]HOST[:PORT][/DB]" or "unix:PATH[?db=N]".
 * USER is a Redis 6 ACL user (AUTH USER PASS); without it AUTH PASS.
 */
static int
parse_url(struct store *st, const char *url, char *err, size_t errlen)
{
	const char	*p, *at, *colon, *slash, *q;
	char		*end;
	long		 l;
	size_t		 n;

	if (strncmp(url, "unix:", 5) == 0) {
		st->url.unix_sock = 1;
		p = url + 5;
		n = (q = strchr(p, '?')) != NULL ? (size_t)(q - p) : strlen(p);
		if (n == 0 || n >= sizeof(st->url.host))
			goto bad;
		if (q != NULL && (strncmp(q, "?db=", 4) != 0 ||
		    parse_db(q + 4, &st->db) == -1))
			goto bad;
		memcpy(st->url.host, p, n);
		st->url.host[n] = '\0';
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	p = url + 8;
	if ((at = strrchr(p, '@')) != NULL) {
		if ((colon = memchr(p, ':', at - p)) == NULL)
			goto bad;
		n = colon - p;
		if (n >= sizeof(st->user))
			goto bad;
		memcpy(st->user, p, n);
		st->user[n] = '\0';
		n = at - colon - 1;
		if (n >= sizeof(st->pass))
			goto bad;
		memcpy(st->pass, colon + 1, n);
		st->pass[n] = '\0';
		p = at + 1;
	}
	slash = strchr(p, '/');
	n = slash != NULL ? (size_t)(slash - p) : strlen(p);
	colon = memchr(p, ':', n);
	st->url.port = 6379;
	if (colon != NULL) {
		l = strtol(colon + 1, &end, 10);
		if (end != p + n || l < 1 || l > 65535)
			goto bad;
		st->url.port = (int)l;
		n = colon - p;
	}
	if (n == 0 || n >= sizeof(st->url.host))
		goto bad;
	memcpy(st->url.host, p, n);
	st->url.host[n] = '\0';
	if (slash != NULL && slash[1] != '\0' &&
	    parse_db(slash + 1, &st->db) == -1)
		goto bad;
	return 0;
bad:
	/* The url may hold a password: do not echo it. */
	snprintf(err, errlen, "key 'redis': expected redis://[[USER]:PASSWORD@]"
	    "HOST[:PORT][/DB] or unix:PATH[?db=N]");
	return -1;
}

/* locate: where the primary is now. 0, or -1 with st->err. */
static int
locate(struct store *st, struct endpoint *ep)
{
	*ep = st->url;
	return 0;
}

struct store *
store_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
	struct store	*st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_url(st, url, err, errlen) == -1) {
		store_free(st);
		return NULL;
	}
	st->timeout.tv_sec = timeout_ms / 1000;
	st->timeout.tv_usec = (timeout_ms % 1000) * 1000;
	script_init(&st->scripts[SCRIPT_SMS], sms_lua);
	script_init(&st->scripts[SCRIPT_ROLLBACK], rollback_lua);
	script_init(&st->scripts[SCRIPT_VERIFY], verify_lua);
	outbox_scripts_init(st);
	snprintf(st->err, sizeof(st->err), "no error");
	return st;
}

static void
disconnect(struct store *st)
{
	if (st->c != NULL)
		redisFree(st->c);
	st->c = NULL;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	disconnect(st);
	explicit_bzero(st->pass, sizeof(st->pass));
	explicit_bzero(st->user, sizeof(st->user));
	free(st);
}

const char *
store_strerror(const struct store *st)
{
	return st->err;
}

/*
 * not_primary: 1 for an error reply that says this server cannot take our
 * writes now (a replica after a failover, a primary cut off from its
 * replicas, one still loading its data): the connection is dropped, so
 * the next call locates the primary and connects again.
 */
static int
not_primary(const redisReply *r)
{
	static const char *const codes[] = { "READONLY", "MASTERDOWN",
	    "LOADING", NULL };
	const char *const	*c;

	if (r->type != REDIS_REPLY_ERROR || r->str == NULL)
		return 0;
	for (c = codes; *c != NULL; c++)
		if (strncmp(r->str, *c, strlen(*c)) == 0 &&
		    (r->str[strlen(*c)] == ' ' || r->str[strlen(*c)] == '\0'))
			return 1;
	return 0;
}

/*
 * Runs one command on the current connection. NULL (no reply) drops the
 * connection; so does a reply that not_primary() recognises, which is
 * still returned to the caller.
 */
static redisReply *
command(struct store *st, int argc, const char **argv, const size_t *lens)
{
	redisReply	*r;

	r = redisCommandArgv(st->c, argc, argv, lens);
	if (r == NULL) {
		snprintf(st->err, sizeof(st->err), "redis: %s",
		    st->c->err ? st->c->errstr : "no reply");
		disconnect(st);
	} else if (not_primary(r))
		disconnect(st);
	return r;
}

/*
 * stale: 1 when a kept connection has been closed by the other side (a
 * restarted or failed-over Redis): between requests nothing may arrive,
 * so a readable or hung-up socket is dead. Checked before each use, so the
 * first request after Redis comes back is served, not failed.
 */
static int
stale(redisContext *c)
{
	struct pollfd	 p;

	p.fd = c->fd;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	return poll(&p, 1, 0) != 0;
}

/* Makes sure a connection is up (AUTH and SELECT done). 0 or -1. */
static int
connect_store(struct store *st)
{
	struct endpoint	 ep;
	redisReply	*r;
	const char	*argv[3];
	char		 db[16];
	int		 n;

	if (st->c != NULL && !stale(st->c))
		return 0;
	disconnect(st);
	if (locate(st, &ep) == -1)
		return -1;
	if (ep.unix_sock)
		st->c = redisConnectUnixWithTimeout(ep.host, st->timeout);
	else
		st->c = redisConnectWithTimeout(ep.host, ep.port,
		    st->timeout);
	if (st->c == NULL || st->c->err) {
		snprintf(st->err, sizeof(st->err), "redis connect: %s",
		    st->c != NULL ? st->c->errstr : "out of memory");
		disconnect(st);
		return -1;
	}
	if (redisSetTimeout(st->c, st->timeout) != REDIS_OK) {
		snprintf(st->err, sizeof(st->err), "redis: cannot set timeout");
		disconnect(st);
		return -1;
	}
	if (st->pass[0] != '\0') {
		n = 0;
		argv[n++] = "AUTH";
		if (st->user[0] != '\0')
			argv[n++] = st->user;
		argv[n++] = st->pass;
		if ((r = command(st, n, argv, NULL)) == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(st->err, sizeof(st->err), "redis AUTH refused");
			freeReplyObject(r);
			disconnect(st);
			return -1;
		}
		freeReplyObject(r);
	}
	if (st->db != 0) {
		snprintf(db, sizeof(db), "%d", st->db);
		argv[0] = "SELECT";
		argv[1] = db;
		if ((r = command(st, 2, argv, NULL)) == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(st->err, sizeof(st->err), "redis SELECT: %s",
			    r->str);
			freeReplyObject(r);
			disconnect(st);
			return -1;
		}
		freeReplyObject(r);
	}
	return 0;
}

/*
 * Runs a command, connecting first if needed. An error reply is returned
 * to the caller as is; NULL means the store could not be reached.
 */
redisReply *
run(struct store *st, int argc, const char **argv)
{
	return run_long(st, argc, argv, 0);
}

redisReply *
run_long(struct store *st, int argc, const char **argv, int extra_ms)
{
	struct timeval	 tv;
	redisReply	*r;

	if (connect_store(st) == -1)
		return NULL;
	if (extra_ms <= 0)
		return command(st, argc, argv, NULL);
	tv = st->timeout;
	tv.tv_sec += extra_ms / 1000;
	tv.tv_usec += (extra_ms % 1000) * 1000;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	if (redisSetTimeout(st->c, tv) != REDIS_OK) {
		snprintf(st->err, sizeof(st->err), "redis: cannot set timeout");
		disconnect(st);
		return NULL;
	}
	r = command(st, argc, argv, NULL);
	if (st->c != NULL && redisSetTimeout(st->c, st->timeout) != REDIS_OK)
		disconnect(st);
	return r;
}

/* Expects an integer or status reply; 0 or -1. */
int
run_simple(struct store *st, int argc, const char **argv, long long *out)
{
	redisReply	*r;
	int		 rc = 0;

	if ((r = run(st, argc, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(st->err, sizeof(st->err), "redis %s: %s", argv[0],
		    r->str);
		rc = -1;
	} else if (out != NULL)
		*out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	return rc;
}

int
store_writable(struct store *st)
{
	const char	*argv[] = { "ROLE" };
	redisReply	*r;
	int		 rc = -1;

	if ((r = run(st, 1, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "master") == 0)
		rc = 0;
	else {
		snprintf(st->err, sizeof(st->err), "redis: not the primary "
		    "(ROLE says %s)", r->type == REDIS_REPLY_ARRAY &&
		    r->elements > 0 && r->element[0]->type ==
		    REDIS_REPLY_STRING ? r->element[0]->str : "nothing usable");
		/* Look for the primary again on the next call. */
		disconnect(st);
	}
	freeReplyObject(r);
	return rc;
}

int
store_put(struct store *st, const char *key, const char *val, int ttl)
{
	char		 t[16];
	const char	*argv[] = { "SET", key, val, "EX", t };

	snprintf(t, sizeof(t), "%d", ttl);
	return run_simple(st, 5, argv, NULL);
}

int
store_del(struct store *st, const char *key)
{
	const char	*argv[] = { "DEL", key };

	return run_simple(st, 2, argv, NULL);
}

/*
 * EVALSHA the script with nkeys keys followed by args; on NOSCRIPT (a
 * restarted or flushed Redis) EVAL it once, which caches it again.
 * Returns the index in words (nwords of them) of the word the script
 * answered, or -1 (store unreachable, an error, a word not in words).
 */
int
eval(struct store *st, int which, int nkeys, int nargs, const char **args,
    const char *const *words, int nwords)
{
	const struct script	*s = &st->scripts[which];
	const char		*argv[3 + EVAL_ARGS_MAX];
	char			 nk[8];
	redisReply		*r;
	int			 i, rc;

	if (nkeys + nargs > EVAL_ARGS_MAX)
		return -1;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = s->sha;
	argv[2] = nk;
	for (i = 0; i < nkeys + nargs; i++)
		argv[3 + i] = args[i];
	if ((r = run(st, 3 + nkeys + nargs, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = s->body;
		if ((r = run(st, 3 + nkeys + nargs, argv)) == NULL)
			return -1;
	}
	rc = -1;
	if (words == NULL && r->type == REDIS_REPLY_INTEGER &&
	    r->integer >= 0 && r->integer <= INT_MAX)
		rc = (int)r->integer;
	else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		for (i = 0; i < nwords; i++)
			if (words[i] != NULL && strcmp(r->str, words[i]) == 0) {
				rc = i;
				break;
			}
	if (rc == -1)
		snprintf(st->err, sizeof(st->err), "redis script: %s",
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return rc;
}

int
store_sms_request(struct store *st, const struct store_sms *q)
{
	char		 n[13][24];
	const char	*args[30];
	const struct store_msg_out *m = q->queue;

	snprintf(n[0], sizeof(n[0]), "%d", q->code_ttl);
	snprintf(n[1], sizeof(n[1]), "%d", q->interval);
	snprintf(n[2], sizeof(n[2]), "%d", q->daily_limit);
	snprintf(n[3], sizeof(n[3]), "%d", q->ip_limit);
	snprintf(n[4], sizeof(n[4]), "%d", q->daily_window);
	snprintf(n[5], sizeof(n[5]), "%d", q->ip_window);
	snprintf(n[6], sizeof(n[6]), "%d", q->block_limit);
	snprintf(n[7], sizeof(n[7]), "%d", q->budget_limit);
	snprintf(n[8], sizeof(n[8]), "%d", m != NULL ? m->queue_max : 0);
	snprintf(n[9], sizeof(n[9]), "%d", m != NULL ? m->minutes : 0);
	snprintf(n[10], sizeof(n[10]), "%lld", m != NULL ? m->queued_ms : 0);
	snprintf(n[11], sizeof(n[11]), "%lld", m != NULL ? m->expires : 0);
	snprintf(n[12], sizeof(n[12]), "%d", m != NULL ? m->keep : 0);
	args[0] = q->flag_key;
	args[1] = q->interval_key;
	args[2] = q->daily_key;
	args[3] = q->ip_key;
	args[4] = q->captcha_key;
	args[5] = q->code_key;
	args[6] = q->attempts_key;
	args[7] = q->block_key;
	args[8] = q->budget_key;
	/* Inline: a key of ours that XLEN never reads (queue max is 0). */
	args[9] = m != NULL ? m->outbox_key : q->budget_key;
	args[10] = q->answer;
	args[11] = q->code_value;
	args[12] = n[0];
	args[13] = n[1];
	args[14] = n[2];
	args[15] = n[3];
	args[16] = n[4];
	args[17] = n[5];
	args[18] = n[6];
	args[19] = n[7];
	args[20] = STORE_HOUR;
	args[21] = n[8];
	args[22] = m != NULL ? m->mobile : "";
	args[23] = m != NULL ? m->code : "";
	args[24] = n[9];
	args[25] = m != NULL ? m->dialect : "";
	args[26] = n[10];
	args[27] = n[11];
	args[28] = n[12];
	return eval(st, SCRIPT_SMS, 10, 19, args, sms_words,
	    STORE_SMS_RESULTS);
}

int
store_sms_rollback(struct store *st, const struct store_sms *q)
{
	const char	*args[] = { q->code_key, q->flag_key, q->interval_key,
	    q->daily_key, q->block_key, q->budget_key, q->code_value };

	return eval(st, SCRIPT_ROLLBACK, 6, 1, args, rollback_words, 1) < 0 ?
	    -1 : 0;
}

int
store_verify(struct store *st, const char *code_key, const char *attempts_key,
    const char *value, int max_attempts, int ttl)
{
	char		 mx[16], t[16];
	const char	*args[] = { code_key, attempts_key, value, mx, t };

	snprintf(mx, sizeof(mx), "%d", max_attempts);
	snprintf(t, sizeof(t), "%d", ttl);
	return eval(st, SCRIPT_VERIFY, 2, 3, args, verify_words,
	    STORE_VERIFY_RESULTS);
}
