/*
 * store: hiredis, one connection per worker; the request steps that must
 * be atomic as Lua scripts (an SMS request, its rollback, a
 * verification); outbox.c has the senders' steps.
 */
#include <sys/time.h>

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
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

/*
 * The request script and struct store_sms are bound by this one table:
 * each row is a key (K_name in the script) or an argument (A_name), in
 * the order they are passed, and the member of struct store_sms that
 * holds it. The script's header (local K_flag = KEYS[1] ...) is made
 * from it (script_text), so the two cannot drift apart; a unit test
 * checks that the body uses each name and no other (store_sms_script_check).
 */
enum slot_kind { SLOT_KEY, SLOT_STR, SLOT_INT, SLOT_LL, SLOT_CONST };
/* A key is a char array in struct store_sms; a string, a pointer. */
struct slot {
	const char	*name;
	enum slot_kind	 kind;
	size_t		 off;	/* in struct store_sms; or the constant */
};
#define SK(m, n)	{ n, SLOT_KEY, offsetof(struct store_sms, m) }
#define SS(m, n)	{ n, SLOT_STR, offsetof(struct store_sms, m) }
#define SI(m, n)	{ n, SLOT_INT, offsetof(struct store_sms, limits.m) }
#define SL(m, n)	{ n, SLOT_LL, offsetof(struct store_sms, m) }
static const struct slot sms_slots[] = {
	SK(flag_key, "flag"), SK(interval_key, "interval"),
	SK(daily_key, "daily"), SK(ip_key, "ip"), SK(captcha_key, "captcha"),
	SK(code_key, "code"), SK(attempts_key, "attempts"),
	SK(block_key, "block"), SK(budget_key, "budget"),
	SK(outbox_key, "outbox"),
	SK(fnet_key, "fnet"), SK(fblock_key, "fblock"),
	SK(fpool_key, "fpool"), SK(fmobile_key, "fmobile"),
	SK(fseen_key, "fseen"), SK(farmed_key, "farmed"),
	SK(fcode_key, "fcode"), SK(fstats_key, "fstats"),
	SS(answer, "answer"), SS(code_value, "code_value"),
	SI(code_ttl, "code_ttl"), SI(interval, "interval"),
	SI(daily_limit, "daily_limit"), SI(ip_limit, "ip_limit"),
	SI(daily_window, "daily_window"), SI(ip_window, "ip_window"),
	SI(block_limit, "block_limit"), SI(budget_limit, "budget_limit"),
	SI(hour, "hour"),
	SI(queue_max, "queue_max"),
	SS(mobile, "mobile"), SS(code, "code"), SI(minutes, "minutes"),
	SS(dialect, "dialect"), SL(queued_ms, "queued"),
	SL(expires, "expires"), SI(keep, "keep"),
	SI(fraud, "fraud"), SI(window, "window"),
	SI(net_floor, "net_floor"), SI(net_ratio, "net_ratio"),
	SI(block_floor, "block_floor"), SI(block_ratio, "block_ratio"),
	SI(untrusted, "untrusted"), SI(ip_earn, "ip_earn"),
	SI(window_keep, "window_keep"), SL(bucket, "bucket"),
	SI(learn, "learn"),
	{ "stats_keep", SLOT_CONST, STORE_DEAD_KEEP },
};
#undef SK
#undef SS
#undef SI
#undef SL
#define SMS_SLOTS	(sizeof(sms_slots) / sizeof(sms_slots[0]))

/*
 * The request script's body. Every limit of 0 is off. The per-address
 * counter counts every request that reaches it; the others count what
 * was sent. A full queue refuses before anything is counted; the message
 * is appended before the code is stored, so that a failed append leaves
 * no code without its message. Returns one word of sms_words[].
 *
 * The fraud guard (fraud > 0) reads, before the captcha, the sums of the
 * network's and the block's buckets (s<B> sent, v<B> verified, B the
 * hour) over the window, the untrusted pool (u sent, w verified) of the
 * budget's hour, whether the mobile or the network is trusted (a
 * verification within the trust period), and whether the site is armed
 * (its first verification within the trust period was at least learn
 * seconds ago). A bound is max(floor, ratio% x verified) on sent minus
 * verified; the pool's is untrusted. A mobile that verified before is
 * bound by none; a trusted network is not bound by the pool.
 *
 * Enforcing and armed, the first bound reached refuses ('f' word, counted
 * refused_*), and an address's cap grows by ip_earn for every code
 * verified from its network in the window. Once the pool has refused it
 * is full for the rest of its hour: a verification no longer gives a
 * place back, for the bot asking many times a second would take it (it
 * gets the share, not the share and what people earn). Otherwise a bound
 * reached is counted would_* and the request goes on ('r' word when
 * sent). A sent code records its counters' names in fcode, with a hash of
 * its stored value, for the verify step to credit or a sender that could
 * not deliver it to take back (queued, the record outlives the code as
 * the outbox does).
 */
static const char sms_body[] =
"local function over(key, limit)\n"
"  return limit > 0 and tonumber(redis.call('GET', key) or '0') >= limit\n"
"end\n"
"local function bump(key, limit, window)\n"
"  if limit > 0 then\n"
"    redis.call('INCR', key)\n"
"    if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end\n"
"  end\n"
"end\n"
"local B, win = tonumber(A_bucket), tonumber(A_window)\n"
"local function sums(key)\n"
"  local f = {}\n"
"  for i = 0, win - 1 do\n"
"    f[#f + 1] = 's' .. (B - i)\n"
"    f[#f + 1] = 'v' .. (B - i)\n"
"  end\n"
"  local r = redis.call('HMGET', key, unpack(f))\n"
"  local s, v = 0, 0\n"
"  for i = 1, #r, 2 do\n"
"    s = s + tonumber(r[i] or '0')\n"
"    v = v + tonumber(r[i + 1] or '0')\n"
"  end\n"
"  return s, v\n"
"end\n"
"local function within(s, v, floor, ratio)\n"
"  return math.max(s - v, 0) < math.max(tonumber(floor),\n"
"    tonumber(ratio) * v / 100)\n"
"end\n"
"local function sent(key)\n"
"  redis.call('HINCRBY', key, 's' .. B, 1)\n"
"  for _, f in ipairs(redis.call('HKEYS', key)) do\n"
"    if tonumber(string.sub(f, 2)) <= B - win then\n"
"      redis.call('HDEL', key, f)\n"
"    end\n"
"  end\n"
"  redis.call('EXPIRE', key, A_window_keep)\n"
"end\n"
"local function count(field)\n"
"  redis.call('HINCRBY', K_fstats, field, 1)\n"
"  redis.call('EXPIRE', K_fstats, A_stats_keep)\n"
"end\n"
"local interval = tonumber(A_interval)\n"
"local dl, il = tonumber(A_daily_limit), tonumber(A_ip_limit)\n"
"local pl, bl = tonumber(A_block_limit), tonumber(A_budget_limit)\n"
"local qmax, fraud = tonumber(A_queue_max), tonumber(A_fraud)\n"
"if qmax > 0 and redis.call('XLEN', K_outbox) >= qmax then\n"
"  return 'queuefull'\n"
"end\n"
"if interval > 0 and redis.call('EXISTS', K_interval) == 1 then\n"
"  return 'interval'\n"
"end\n"
"if over(K_daily, dl) then return 'daily' end\n"
"local armed, mtrust, ntrust, ns, nv = false, false, false, 0, 0\n"
"if fraud > 0 then\n"
"  local since = redis.call('GET', K_farmed)\n"
"  armed = fraud == 2 and since ~= false and\n"
"    tonumber(A_queued) / 1000 - (tonumber(since) or 0) >= tonumber(A_learn)\n"
"  mtrust = redis.call('EXISTS', K_fmobile) == 1\n"
"  ntrust = redis.call('EXISTS', K_fseen) == 1\n"
"  ns, nv = sums(K_fnet)\n"
"end\n"
"local cap = il\n"
"if armed and il > 0 then cap = il + tonumber(A_ip_earn) * nv end\n"
"if over(K_ip, cap) then return 'ip' end\n"
"bump(K_ip, il, A_ip_window)\n"
"if over(K_block, pl) then return 'block' end\n"
"if over(K_budget, bl) then return 'budget' end\n"
"local would = nil\n"
"if fraud > 0 and not mtrust then\n"
"  local bs, bv = sums(K_fblock)\n"
"  local pool = redis.call('HMGET', K_fpool, 'u', 'w')\n"
"  local pu = tonumber(pool[1] or '0') - tonumber(pool[2] or '0')\n"
"  if not within(ns, nv, A_net_floor, A_net_ratio) then would = 'net'\n"
"  elseif not within(bs, bv, A_block_floor, A_block_ratio) then\n"
"    would = 'block'\n"
"  elseif not ntrust and bl > 0 and pu >= tonumber(A_untrusted) then\n"
"    would = 'untrusted'\n"
"  end\n"
"  if would and armed then\n"
"    if would == 'untrusted' and redis.call('EXISTS', K_fpool) == 1 then\n"
"      redis.call('HSET', K_fpool, 'full', '1')\n"
"    end\n"
"    count('refused_' .. would)\n"
"    return 'f' .. would\n"
"  end\n"
"  if would then count('would_' .. would) end\n"
"end\n"
"local v = redis.call('GET', K_captcha)\n"
"if not v then return 'nocaptcha' end\n"
"redis.call('DEL', K_captcha)\n"
"if string.lower(v) ~= A_answer then return 'wrong' end\n"
"if qmax > 0 then\n"
"  redis.call('XADD', K_outbox, 'MAXLEN', '~', qmax, '*',\n"
"    'mobile', A_mobile, 'code', A_code, 'key', K_code,\n"
"    'minutes', A_minutes, 'dialect', A_dialect, 'queued', A_queued,\n"
"    'expires', A_expires, 'tries', '0')\n"
"  local keep = tonumber(A_keep)\n"
"  if redis.call('TTL', K_outbox) < keep then\n"
"    redis.call('EXPIRE', K_outbox, keep)\n"
"  end\n"
"end\n"
"redis.call('SET', K_code, A_code_value, 'EX', A_code_ttl)\n"
"redis.call('DEL', K_attempts)\n"
"if interval > 0 then\n"
"  redis.call('SET', K_interval, '1', 'EX', interval)\n"
"  redis.call('SET', K_flag, '1', 'EX', interval)\n"
"end\n"
"bump(K_daily, dl, A_daily_window)\n"
"bump(K_block, pl, A_hour)\n"
"bump(K_budget, bl, A_hour)\n"
"if fraud > 0 then\n"
"  local trusted = (mtrust or ntrust) and '1' or '0'\n"
"  sent(K_fnet)\n"
"  sent(K_fblock)\n"
"  if trusted == '0' and bl > 0 then\n"
"    redis.call('HINCRBY', K_fpool, 'u', 1)\n"
"    if redis.call('TTL', K_fpool) < 0 then\n"
"      local t = redis.call('TTL', K_budget)\n"
"      redis.call('EXPIRE', K_fpool, t > 0 and t or A_hour)\n"
"    end\n"
"  end\n"
"  redis.call('DEL', K_fcode)\n"
"  redis.call('HSET', K_fcode, 'net', K_fnet, 'block', K_fblock,\n"
"    'pool', K_fpool, 'mobile', K_fmobile, 'seen', K_fseen,\n"
"    'armed', K_farmed, 'stats', K_fstats, 'trusted', trusted,\n"
"    'bucket', A_bucket, 'value', redis.sha1hex(A_code_value))\n"
"  redis.call('EXPIRE', K_fcode, qmax > 0 and A_keep or A_code_ttl)\n"
"  count(trusted == '1' and 'sent_trusted' or 'sent_untrusted')\n"
"end\n"
"if would then return 'r' .. would end\n"
"return 'ok'\n";

/*
 * script_text: "local K_a = KEYS[1]\n..." for the keys of slots, then
 * "local A_b = ARGV[1]\n..." for the rest, prepended to body. A string
 * to free, or NULL.
 */
static char *
script_text(const struct slot *slots, size_t n, const char *body)
{
	size_t		 i, len = strlen(body) + 1;
	int		 k = 0, a = 0;
	char		*text, *p;

	for (i = 0; i < n; i++)
		len += strlen(slots[i].name) + 32;
	if ((text = malloc(len)) == NULL)
		return NULL;
	p = text;
	for (i = 0; i < n; i++)
		if (slots[i].kind == SLOT_KEY)
			p += sprintf(p, "local K_%s = KEYS[%d]\n",
			    slots[i].name, ++k);
	for (i = 0; i < n; i++)
		if (slots[i].kind != SLOT_KEY)
			p += sprintf(p, "local A_%s = ARGV[%d]\n",
			    slots[i].name, ++a);
	memcpy(p, body, strlen(body) + 1);
	return text;
}

const char *
store_sms_script_check(void)
{
	static char	 bad[64];
	const char	*p = sms_body, *q;
	size_t		 i, len;
	int		 used[SMS_SLOTS];

	memset(used, 0, sizeof(used));
	if (strstr(sms_body, "KEYS[") != NULL)
		return "KEYS[";
	if (strstr(sms_body, "ARGV[") != NULL)
		return "ARGV[";
	while ((p = strpbrk(p, "KA")) != NULL) {
		if (p[1] != '_' || (p > sms_body && (isalnum((unsigned char)
		    p[-1]) || p[-1] == '_'))) {
			p++;
			continue;
		}
		for (q = p + 2; isalnum((unsigned char)*q) || *q == '_'; q++)
			;
		len = (size_t)(q - p - 2);
		for (i = 0; i < SMS_SLOTS; i++)
			if ((sms_slots[i].kind == SLOT_KEY) == (*p == 'K') &&
			    strlen(sms_slots[i].name) == len &&
			    strncmp(sms_slots[i].name, p + 2, len) == 0)
				break;
		if (i == SMS_SLOTS) {
			snprintf(bad, sizeof(bad), "%.*s", (int)(q - p), p);
			return bad;
		}
		used[i] = 1;
		p = q;
	}
	for (i = 0; i < SMS_SLOTS; i++)
		if (!used[i])
			return sms_slots[i].name;
	return NULL;
}

/*
 * Takes back the guard's counts of a send whose record is KEYS[n] (the
 * sent count of its network's and block's bucket, the untrusted pool's if
 * it was untrusted) and deletes the record.
 */
#define UNSEND(n) \
"local m = redis.call('HMGET', KEYS[" #n "], 'net', 'block', 'pool',\n" \
"  'trusted', 'bucket')\n" \
"local function back(key, field)\n" \
"  if tonumber(redis.call('HGET', key, field) or '0') > 0 then\n" \
"    redis.call('HINCRBY', key, field, -1)\n" \
"  end\n" \
"end\n" \
"if m[1] and m[2] and m[3] and m[4] and m[5] then\n" \
"  back(m[1], 's' .. m[5])\n" \
"  back(m[2], 's' .. m[5])\n" \
"  if m[4] == '0' then back(m[3], 'u') end\n" \
"  redis.call('DEL', KEYS[" #n "])\n" \
"end\n"

/*
 * KEYS: code, legacy flag, interval, daily, block, budget, the guard's
 * record of the code. ARGV: code value.
 */
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
UNSEND(7)
"return 'ok'\n";

/*
 * KEYS: the guard's record of a code. ARGV: the code's stored value.
 * Only the record of this very code: a newer code of the same key has
 * its own.
 */
static const char unsent_lua[] =
"if redis.call('HGET', KEYS[1], 'value') ~= redis.sha1hex(ARGV[1]) then\n"
"  return 'none'\n"
"end\n"
UNSEND(1)
"return 'ok'\n";

/*
 * KEYS: code, attempts, the guard's record of the code. ARGV: value, max
 * attempts, attempts ttl, bucket, trust period, window keep, stats keep,
 * the guard on ('1') or off, the time (s): the site armed since its
 * first verification within the trust period.
 * The comparison touches every byte whatever the first difference. A
 * match with a record credits it: a verification in the network's and
 * the block's bucket, the mobile, the network and the site trusted for
 * the trust period, and one back to the untrusted pool if the code was
 * sent untrusted and the pool has not refused yet (full).
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
"  local m = redis.call('HMGET', KEYS[3], 'net', 'block', 'pool',\n"
"    'mobile', 'seen', 'armed', 'stats', 'trusted')\n"
"  if ARGV[8] == '1' and m[1] and m[2] and m[3] and m[4] and m[5] and\n"
"    m[6] and m[7] then\n"
"    for i = 1, 2 do\n"
"      redis.call('HINCRBY', m[i], 'v' .. ARGV[4], 1)\n"
"      redis.call('EXPIRE', m[i], ARGV[6])\n"
"    end\n"
"    for i = 4, 5 do\n"
"      redis.call('SET', m[i], '1', 'EX', ARGV[5])\n"
"    end\n"
"    redis.call('SET', m[6], ARGV[9], 'NX')\n"
"    redis.call('EXPIRE', m[6], ARGV[5])\n"
"    if m[8] == '0' and redis.call('EXISTS', m[3]) == 1 and\n"
"      redis.call('HGET', m[3], 'full') ~= '1' then\n"
"      redis.call('HINCRBY', m[3], 'w', 1)\n"
"    end\n"
"    redis.call('HINCRBY', m[7], 'verified', 1)\n"
"    redis.call('EXPIRE', m[7], ARGV[7])\n"
"    redis.call('DEL', KEYS[3])\n"
"  end\n"
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
	[STORE_SMS_FRAUD_NET] = "fnet",
	[STORE_SMS_FRAUD_BLOCK] = "fblock",
	[STORE_SMS_FRAUD_UNTRUSTED] = "funtrusted",
	[STORE_SMS_RECORD_NET] = "rnet",
	[STORE_SMS_RECORD_BLOCK] = "rblock",
	[STORE_SMS_RECORD_UNTRUSTED] = "runtrusted",
};
static const char *const verify_words[STORE_VERIFY_RESULTS] = {
	[STORE_VERIFY_OK] = "ok",
	[STORE_VERIFY_MISSING] = "missing",
	[STORE_VERIFY_WRONG] = "wrong",
	[STORE_VERIFY_BURNED] = "burned",
};
const char *
store_sms_word(int r)
{
	return r >= 0 && r < STORE_SMS_RESULTS ? sms_words[r] : "";
}

const char *
store_verify_word(int r)
{
	return r >= 0 && r < STORE_VERIFY_RESULTS ? verify_words[r] : "";
}

int
store_sms_refusal(int r)
{
	return r != STORE_SMS_OK && !store_sms_recorded(r) && r >= 0 &&
	    r < STORE_SMS_RESULTS;
}

int
store_sms_recorded(int r)
{
	return r == STORE_SMS_RECORD_NET || r == STORE_SMS_RECORD_BLOCK ||
	    r == STORE_SMS_RECORD_UNTRUSTED;
}

static const char *const rollback_words[] = { "ok" };
static const char *const unsent_words[] = { "none", "ok" };

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

/*
 * parse_sentinel: n bytes of s, "HOST:PORT" (HOST an IPv4 address or a
 * name) or "[IPv6]:PORT", into ep without the brackets. 0 or -1.
 */
static int
parse_sentinel(const char *s, size_t n, struct endpoint *ep)
{
	const char	*host, *colon, *rb, *ok;
	size_t		 hl, i;
	long		 port;

	memset(ep, 0, sizeof(*ep));
	if (n > 0 && s[0] == '[') {
		if ((rb = memchr(s, ']', n)) == NULL || rb + 1 == s + n ||
		    rb[1] != ':')
			return -1;
		host = s + 1;
		hl = (size_t)(rb - host);
		colon = rb + 1;
		/* Hex, colons, an embedded IPv4 address, a zone. */
		ok = "0123456789abcdefABCDEF:.%";
	} else {
		if ((colon = memchr(s, ':', n)) == NULL ||
		    memchr(colon + 1, ':', s + n - colon - 1) != NULL)
			return -1;
		host = s;
		hl = (size_t)(colon - s);
		ok = "0123456789abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_";
	}
	if (hl == 0 || hl >= sizeof(ep->host))
		return -1;
	for (i = 0; i < hl; i++) {
		if (strchr(ok, host[i]) == NULL || host[i] == '\0')
			return -1;
		/* An IPv6 zone (fe80::1%eth0) is an interface's name. */
		if (host[i] == '%')
			ok = "0123456789abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-_";
	}
	if (s + n - colon - 1 < 1 || s + n - colon - 1 > 5)
		return -1;
	for (port = 0, i = 1; colon + i < s + n; i++) {
		if (colon[i] < '0' || colon[i] > '9')
			return -1;
		port = port * 10 + (colon[i] - '0');
	}
	if (port < 1 || port > 65535)
		return -1;
	memcpy(ep->host, host, hl);
	ep->host[hl] = '\0';
	ep->port = (int)port;
	return 0;
}

/*
 * parse_sentinels: list (entries split by commas, blanks around them
 * ignored) into out (room for STORE_SENTINELS_MAX), their number into
 * *n; "" gives none. With any, master must be a name the sentinels can
 * hold. 0, or -1 with err naming the key at fault.
 */
static int
parse_sentinels(const char *list, const char *master, struct endpoint *out,
    int *n, char *err, size_t errlen)
{
	const char	*p = list, *e;
	size_t		 len, i;

	*n = 0;
	p += strspn(p, " \t");
	if (*p == '\0')
		return 0;
	for (;;) {
		len = strcspn(p, ",");
		e = p + len;
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (*n == STORE_SENTINELS_MAX) {
			snprintf(err, errlen, "key 'redis_sentinels': more "
			    "than %d sentinels", STORE_SENTINELS_MAX);
			return -1;
		}
		if (parse_sentinel(p, len, &out[*n]) == -1) {
			snprintf(err, errlen, "key 'redis_sentinels': expected "
			    "HOST:PORT[,HOST:PORT...] (HOST an IPv4 address, "
			    "[IPv6] or a name), saw '%.*s'", (int)(len > 64 ?
			    64 : len), p);
			return -1;
		}
		(*n)++;
		if (*e == '\0')
			break;
		p = e + 1;
		p += strspn(p, " \t");
	}
	len = strlen(master);
	for (i = 0; i < len; i++)
		if (master[i] <= ' ' || master[i] > '~')
			break;
	if (len == 0 || len >= STORE_MASTER_MAX || i < len) {
		snprintf(err, errlen, "key 'redis_master': 1 to %d printable "
		    "ASCII characters without blanks", STORE_MASTER_MAX - 1);
		return -1;
	}
	return 0;
}

int
store_sentinels_check(const char *list, const char *master,
    const char *password, char *err, size_t errlen)
{
	struct endpoint	 eps[STORE_SENTINELS_MAX];
	int		 n;

	if (parse_sentinels(list, master, eps, &n, err, errlen) == -1)
		return -1;
	if (strlen(password) >= STORE_PASS_MAX) {
		snprintf(err, errlen, "key 'redis_sentinel_password': longer "
		    "than %d bytes", STORE_PASS_MAX - 1);
		return -1;
	}
	return 0;
}

int
store_sentinels(struct store *st, const char *list, const char *master,
    const char *password, char *err, size_t errlen)
{
	if (store_sentinels_check(list, master, password, err, errlen) == -1)
		return -1;
	(void)parse_sentinels(list, master, st->sentinels, &st->nsentinels,
	    err, errlen);
	snprintf(st->master, sizeof(st->master), "%s", master);
	explicit_bzero(st->spass, sizeof(st->spass));
	snprintf(st->spass, sizeof(st->spass), "%s", password);
	return 0;
}

void
store_counters(struct store *st, unsigned long long *errors,
    unsigned long long *reconnects)
{
	st->errors = errors;
	st->reconnects = reconnects;
}

static void
count(unsigned long long *c)
{
	if (c != NULL)
		__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

int
failed(struct store *st, int rc)
{
	if (rc == -1)
		count(st->errors);
	return rc;
}

/* epname: ep as "host:port", "[v6]:port" or the socket path, for errors. */
static const char *
epname(const struct endpoint *ep, char *buf, size_t len)
{
	if (ep->unix_sock)
		snprintf(buf, len, "%s", ep->host);
	else
		snprintf(buf, len, strchr(ep->host, ':') != NULL ? "[%s]:%d" :
		    "%s:%d", ep->host, ep->port);
	return buf;
}

/*
 * ask_sentinel: the primary that sentinel s names for st->master, into
 * ep. 0, or -1 with why (what went wrong; never a password).
 */
static int
ask_sentinel(struct store *st, const struct endpoint *s, struct endpoint *ep,
    char *why, size_t whylen)
{
	redisContext	*c;
	redisReply	*r = NULL;
	const char	*argv[] = { "SENTINEL", "get-master-addr-by-name",
	    st->master };
	const char	*auth[] = { "AUTH", st->spass };
	const redisReply *h, *p;
	char		*end;
	long		 l;
	int		 rc = -1;

	c = redisConnectWithTimeout(s->host, s->port, st->timeout);
	if (c == NULL || c->err) {
		snprintf(why, whylen, "%s", c != NULL ? c->errstr :
		    "out of memory");
		goto out;
	}
	if (redisSetTimeout(c, st->timeout) != REDIS_OK) {
		snprintf(why, whylen, "cannot set timeout");
		goto out;
	}
	if (st->spass[0] != '\0') {
		if ((r = redisCommandArgv(c, 2, auth, NULL)) == NULL) {
			snprintf(why, whylen, "%s", c->err ? c->errstr :
			    "no reply");
			goto out;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "AUTH refused");
			goto out;
		}
		freeReplyObject(r);
	}
	if ((r = redisCommandArgv(c, 3, argv, NULL)) == NULL) {
		snprintf(why, whylen, "%s", c->err ? c->errstr : "no reply");
		goto out;
	}
	if (r->type == REDIS_REPLY_NIL) {
		snprintf(why, whylen, "it monitors no primary named '%s'",
		    st->master);
		goto out;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(why, whylen, "%s", r->str);
		goto out;
	}
	memset(ep, 0, sizeof(*ep));
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    reply_str(h = r->element[0], ep->host, sizeof(ep->host)) == -1 ||
	    h->len == 0 || (p = r->element[1])->type != REDIS_REPLY_STRING ||
	    (l = strtol(p->str, &end, 10)) < 1 || l > 65535 || *end != '\0') {
		snprintf(why, whylen, "a reply of an unexpected shape");
		goto out;
	}
	ep->port = (int)l;
	rc = 0;
out:
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return rc;
}

/*
 * locate: where the primary is now: the url's host, or what the first
 * sentinel that answers says, asked anew each time (a failover may have
 * moved it since). 0, or -1 with st->err.
 */
static int
locate(struct store *st, struct endpoint *ep)
{
	struct endpoint	 s;
	char		 why[STORE_ERR_MAX], name[STORE_HOST_MAX + 16];
	int		 i;

	if (st->nsentinels == 0) {
		*ep = st->url;
		return 0;
	}
	for (i = 0; i < st->nsentinels; i++) {
		if (ask_sentinel(st, &st->sentinels[i], ep, why,
		    sizeof(why)) == -1)
			continue;
		if (i > 0) {
			/* Asked first next time: the others may be down. */
			s = st->sentinels[i];
			memmove(&st->sentinels[1], &st->sentinels[0],
			    (size_t)i * sizeof(s));
			st->sentinels[0] = s;
		}
		return 0;
	}
	snprintf(st->err, sizeof(st->err), "redis: no sentinel named the "
	    "primary '%.48s' (the last, %.60s: %.90s)", st->master,
	    epname(&st->sentinels[st->nsentinels - 1], name, sizeof(name)),
	    why);
	return -1;
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
	if ((st->scripts[SCRIPT_SMS].owned = script_text(sms_slots, SMS_SLOTS,
	    sms_body)) == NULL) {
		snprintf(err, errlen, "out of memory");
		store_free(st);
		return NULL;
	}
	script_init(&st->scripts[SCRIPT_SMS], st->scripts[SCRIPT_SMS].owned);
	script_init(&st->scripts[SCRIPT_ROLLBACK], rollback_lua);
	script_init(&st->scripts[SCRIPT_VERIFY], verify_lua);
	script_init(&st->scripts[SCRIPT_UNSENT], unsent_lua);
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
	free(st->scripts[SCRIPT_SMS].owned);
	explicit_bzero(st->pass, sizeof(st->pass));
	explicit_bzero(st->user, sizeof(st->user));
	explicit_bzero(st->spass, sizeof(st->spass));
	free(st);
}

const char *
store_strerror(const struct store *st)
{
	return st->err;
}

int
store_refused(const struct store *st)
{
	return st->refused;
}

/*
 * transient: 1 for an error reply that says "not now" rather than "not
 * this" (out of memory, a script running long, a server loading, a
 * replica, a primary cut off from its replicas): waiting may fix it, so
 * it is an outage, not a refusal. A script's error begins with the
 * command's when a call inside it failed so.
 */
static int
transient(const char *err)
{
	static const char *const codes[] = { "OOM", "BUSY", "LOADING",
	    "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS",
	    NULL };
	const char *const	*c;

	for (c = codes; *c != NULL; c++)
		if (strncmp(err, *c, strlen(*c)) == 0)
			return 1;
	return 0;
}

/*
 * refuse: records r (an error reply, or a reply of another shape) as the
 * store's last failure, as what says so; refused unless transient.
 */
void
refuse(struct store *st, const char *what, const redisReply *r)
{
	int	 err = r->type == REDIS_REPLY_ERROR;

	snprintf(st->err, sizeof(st->err), "redis %s: %s", what,
	    err ? r->str : "a reply of an unexpected shape");
	st->refused = !(err && transient(r->str));
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
 * command_send: writes one command out on the current connection, so
 * that Redis works on it while the caller goes on; command_wait then
 * reads its reply. 0, or -1 with the connection dropped.
 */
static int
command_send(struct store *st, int argc, const char **argv,
    const size_t *lens)
{
	int	 done = 0;

	if (redisAppendCommandArgv(st->c, argc, argv, lens) == REDIS_OK)
		while (redisBufferWrite(st->c, &done) == REDIS_OK)
			if (done)
				return 0;
	snprintf(st->err, sizeof(st->err), "redis: %s",
	    st->c->err ? st->c->errstr : "cannot send");
	disconnect(st);
	return -1;
}

/*
 * command_wait: the reply to the command sent last. NULL (no reply) drops
 * the connection; so does a reply that not_primary() recognises, which
 * is still returned to the caller.
 */
static redisReply *
command_wait(struct store *st)
{
	void	*r = NULL;

	if (st->c == NULL) {
		snprintf(st->err, sizeof(st->err), "redis: not connected");
		return NULL;
	}
	if (redisGetReply(st->c, &r) != REDIS_OK || r == NULL) {
		snprintf(st->err, sizeof(st->err), "redis: %s",
		    st->c->err ? st->c->errstr : "no reply");
		disconnect(st);
		return NULL;
	}
	if (not_primary(r))
		disconnect(st);
	return r;
}

/* Runs one command on the current connection: command_send, command_wait. */
static redisReply *
command(struct store *st, int argc, const char **argv, const size_t *lens)
{
	if (command_send(st, argc, argv, lens) == -1)
		return NULL;
	return command_wait(st);
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

/* role: the first word of a ROLE reply ("master", "slave"), or NULL. */
static const char *
role(const redisReply *r)
{
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING)
		return r->element[0]->str;
	return NULL;
}

/*
 * check_role: the server just connected to at ep, which a sentinel named,
 * is the primary: a sentinel names the old one until its failover is
 * done, and a restarted old primary stays a replica. 0, or -1 with the
 * connection dropped.
 */
static int
check_role(struct store *st, const struct endpoint *ep)
{
	const char	*argv[] = { "ROLE" };
	const char	*w;
	char		 name[STORE_HOST_MAX + 16];
	redisReply	*r;

	if ((r = command(st, 1, argv, NULL)) == NULL)
		return -1;
	if ((w = role(r)) == NULL || strcmp(w, "master") != 0) {
		snprintf(st->err, sizeof(st->err), "redis: %s, which the "
		    "sentinels name as the primary '%s', is not one (ROLE "
		    "says %s)", epname(ep, name, sizeof(name)), st->master,
		    w != NULL ? w : r->type == REDIS_REPLY_ERROR ? r->str :
		    "nothing usable");
		freeReplyObject(r);
		disconnect(st);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/*
 * Makes sure a connection is up (AUTH and SELECT done; through the
 * sentinels, ROLE master). 0 or -1.
 */
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
	if (st->nsentinels > 0 && check_role(st, &ep) == -1)
		return -1;
	if (st->connected)
		count(st->reconnects);
	st->connected = 1;
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

/* ready: a call begins: no refusal yet, and a live connection. 0 or -1. */
static int
ready(struct store *st)
{
	st->refused = 0;
	return connect_store(st);
}

redisReply *
run_lens(struct store *st, int argc, const char **argv, const size_t *lens)
{
	if (ready(st) == -1)
		return NULL;
	return command(st, argc, argv, lens);
}

redisReply *
run_long(struct store *st, int argc, const char **argv, int extra_ms)
{
	struct timeval	 tv;
	redisReply	*r;

	if (extra_ms <= 0)
		return run_lens(st, argc, argv, NULL);
	if (ready(st) == -1)
		return NULL;
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

/* simple: r, expected an integer or status reply; 0 or -1. Frees r. */
static int
simple(struct store *st, const char *what, redisReply *r, long long *out)
{
	int	 rc = 0;

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR) {
		refuse(st, what, r);
		rc = -1;
	} else if (out != NULL)
		*out = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
	freeReplyObject(r);
	return rc;
}

/* Expects an integer or status reply; 0 or -1. */
int
run_simple(struct store *st, int argc, const char **argv, long long *out)
{
	return simple(st, argv[0], run(st, argc, argv), out);
}

int
store_writable(struct store *st)
{
	const char	*argv[] = { "ROLE" };
	redisReply	*r;
	int		 rc = -1;

	if ((r = run(st, 1, argv)) == NULL)
		return failed(st, -1);
	if (role(r) != NULL && strcmp(role(r), "master") == 0)
		rc = 0;
	else {
		snprintf(st->err, sizeof(st->err), "redis: not the primary "
		    "(ROLE says %s)", role(r) != NULL ? role(r) :
		    "nothing usable");
		/* Look for the primary again on the next call. */
		disconnect(st);
	}
	freeReplyObject(r);
	return failed(st, rc);
}

int
store_put_send(struct store *st, const char *key, const char *val, int ttl)
{
	char		 t[16];
	const char	*argv[] = { "SET", key, val, "EX", t };

	snprintf(t, sizeof(t), "%d", ttl);
	if (ready(st) == -1)
		return failed(st, -1);
	return failed(st, command_send(st, 5, argv, NULL));
}

int
store_put_wait(struct store *st)
{
	return failed(st, simple(st, "SET", command_wait(st), NULL));
}

int
store_put(struct store *st, const char *key, const char *val, int ttl)
{
	if (store_put_send(st, key, val, ttl) == -1)
		return -1;
	return store_put_wait(st);
}

int
store_del(struct store *st, const char *key)
{
	const char	*argv[] = { "DEL", key };

	return failed(st, run_simple(st, 2, argv, NULL));
}

int
reply_str(const redisReply *r, char *out, size_t outlen)
{
	if (r->type != REDIS_REPLY_STRING || r->len >= outlen ||
	    strlen(r->str) != r->len)
		return -1;
	memcpy(out, r->str, r->len + 1);
	return 0;
}

int
store_get(struct store *st, const char *key, char *out, size_t outlen)
{
	const char	*argv[] = { "GET", key };
	redisReply	*r;
	int		 rc = 0;

	if ((r = run(st, 2, argv)) == NULL)
		return failed(st, -1);
	if (reply_str(r, out, outlen) == 0)
		rc = 1;
	else if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING) {
		refuse(st, "GET", r);
		rc = -1;
	}
	freeReplyObject(r);
	return failed(st, rc);
}

/* EVALSHA, and EVAL once on NOSCRIPT (a restarted or flushed Redis). */
int
eval(struct store *st, int which, int nkeys, int nargs, const char **args,
    const char *const *words, int nwords)
{
	return eval_lens(st, which, nkeys, nargs, args, NULL, words, nwords);
}

int
eval_lens(struct store *st, int which, int nkeys, int nargs,
    const char **args, const size_t *lens, const char *const *words,
    int nwords)
{
	const struct script	*s = &st->scripts[which];
	const char		*argv[3 + EVAL_ARGS_MAX];
	size_t			 argl[3 + EVAL_ARGS_MAX];
	char			 nk[8];
	redisReply		*r;
	int			 i, rc;

	if (nkeys + nargs > EVAL_ARGS_MAX) {
		snprintf(st->err, sizeof(st->err), "store: %d script "
		    "arguments, at most %d", nkeys + nargs, EVAL_ARGS_MAX);
		st->refused = 1;
		return -1;
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVALSHA";
	argv[1] = s->sha;
	argv[2] = nk;
	for (i = 0; i < nkeys + nargs; i++) {
		argv[3 + i] = args[i];
		argl[3 + i] = lens != NULL ? lens[i] : strlen(args[i]);
	}
	for (i = 0; i < 3; i++)
		argl[i] = strlen(argv[i]);
	if ((r = run_lens(st, 3 + nkeys + nargs, argv, argl)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		argv[0] = "EVAL";
		argv[1] = s->body;
		argl[0] = 4;
		argl[1] = strlen(s->body);
		if ((r = run_lens(st, 3 + nkeys + nargs, argv, argl)) == NULL)
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
		refuse(st, "script", r);
	freeReplyObject(r);
	return rc;
}

int
store_sms_request(struct store *st, const struct store_sms *q)
{
	char		 num[SMS_SLOTS][24];
	const char	*keys[SMS_SLOTS], *args[SMS_SLOTS];
	const char	*v;
	size_t		 i, nk = 0, na = 0;

	for (i = 0; i < SMS_SLOTS; i++) {
		const struct slot	*s = &sms_slots[i];
		const char		*at = (const char *)q + s->off;

		switch (s->kind) {
		case SLOT_KEY:
			v = at;
			if (v[0] == '\0') {
				snprintf(st->err, sizeof(st->err), "store: "
				    "request without its %s key", s->name);
				st->refused = 0;
				return failed(st, -1);
			}
			break;
		case SLOT_STR:
			memcpy(&v, at, sizeof(v));
			break;
		case SLOT_INT:
			snprintf(num[i], sizeof(num[i]), "%d", *(const int *)at);
			v = num[i];
			break;
		case SLOT_LL:
			snprintf(num[i], sizeof(num[i]), "%lld",
			    *(const long long *)at);
			v = num[i];
			break;
		default:
			snprintf(num[i], sizeof(num[i]), "%zu", s->off);
			v = num[i];
			break;
		}
		if (s->kind == SLOT_KEY)
			keys[nk++] = v;
		else
			args[na++] = v != NULL ? v : "";
	}
	memcpy(keys + nk, args, na * sizeof(args[0]));
	return failed(st, eval(st, SCRIPT_SMS, (int)nk, (int)na, keys,
	    sms_words, STORE_SMS_RESULTS));
}

int
store_sms_rollback(struct store *st, const struct store_sms *q)
{
	const char	*args[] = { q->code_key, q->flag_key, q->interval_key,
	    q->daily_key, q->block_key, q->budget_key, q->fcode_key,
	    q->code_value };

	return failed(st, eval(st, SCRIPT_ROLLBACK, 7, 1, args,
	    rollback_words, 1) < 0 ? -1 : 0);
}

int
store_verify(struct store *st, const char *code_key, const char *attempts_key,
    const char *value, int max_attempts, int ttl,
    const struct store_credit *cr)
{
	char		 mx[16], t[16], b[24], tr[16], wk[16], sk[16], now[24];
	const char	*args[] = { code_key, attempts_key, cr->fcode_key, value,
	    mx, t, b, tr, wk, sk, cr->on ? "1" : "0", now };

	snprintf(mx, sizeof(mx), "%d", max_attempts);
	snprintf(t, sizeof(t), "%d", ttl);
	snprintf(b, sizeof(b), "%lld", cr->bucket);
	snprintf(tr, sizeof(tr), "%d", cr->trust);
	snprintf(wk, sizeof(wk), "%d", cr->window_keep);
	snprintf(sk, sizeof(sk), "%d", STORE_DEAD_KEEP);
	snprintf(now, sizeof(now), "%lld", cr->now);
	return failed(st, eval(st, SCRIPT_VERIFY, 3, 9, args, verify_words,
	    STORE_VERIFY_RESULTS));
}

int
store_fraud_unsent(struct store *st, const char *fcode_key,
    const char *code_value)
{
	const char	*args[] = { fcode_key, code_value };

	return failed(st, eval(st, SCRIPT_UNSENT, 1, 1, args, unsent_words,
	    2));
}
