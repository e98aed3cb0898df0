#!/usr/bin/env python3
"""tests/fraudsim/fraudsim.py: people and a bot asking the real stack for SMS.

    python3 fraudsim.py run --scenario S --mode M --port P --redis SOCK \
        --sms-log FILE --rows FILE [--vcoded-log FILE] [--legacy-hours]
    python3 fraudsim.py report --rows FILE [--out FILE]

fraudsim.sh starts Redis, nginx and vcoded (tests/integration/lib.sh) and
runs one "run" per scenario and mode, each appending one JSON line to the
rows file; "report" prints the table and the goals and exits 0 when every
goal holds in enforce mode, 1 otherwise.

One run is two simulated hours of FRAUDSIM_HOUR real seconds (vcoded's
hour_seconds, default 60):

  phase 1  ordinary sign-ups (120 people from 60 /24 networks, three of
           them carrier NATs with many people on one address); 9 in 10
           verify the code they read from the SMS log, 1 in 10 never do.
           In enforce mode their verifications arm the guard.
  (wait)   until vcode:budget expires, so that phase 2 is one budget hour.
  phase 2  the measured hour: people keep arriving (85 % from networks seen
           in phase 1, 15 % from new ones) beside the scenario's bot:
           spread  a fresh /24 and a random mobile per request, bursting
                   from FRAUDSIM_BOT_START of the hour at FRAUDSIM_BOT_RATE
                   requests a second (4 threads) to the end of the hour;
           blocks  the same, mobiles inside five 7-digit number blocks;
           slow    150 requests spread over the hour from 10 addresses in
                   10 /24s (15 each: under ip_hourly_limit), fresh mobiles
                   (under the daily cap and the interval), random blocks
                   (under prefix_hourly_limit);
           quiet   no bot, a busier hour (160 people, 25 % new networks).

Every actor fetches the captcha through nginx and reads its answer from
Redis (people mistype 3 % of the time and retry once; the bot misreads
0.1 %). Python 3 standard library only. Nothing printed holds a code or a
whole mobile number.
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
import uuid

BUDGET = int(os.environ.get("FRAUDSIM_BUDGET", "200"))
HOUR = float(os.environ.get("FRAUDSIM_HOUR", "60"))
BOT_RATE = float(os.environ.get("FRAUDSIM_BOT_RATE", "16"))
BOT_START = float(os.environ.get("FRAUDSIM_BOT_START", "0.35"))
BOT_THREADS = 4
SLOW_REQUESTS = 150
SLOW_ADDRESSES = 10
BLOCKS = 5

PHASE1_PEOPLE = 120
PHASE1_NETWORKS = 60
NAT_SIZES = (25, 10, 8)		# people behind one address, phase 1
VERIFY_SHARE = 0.9
MISTYPE_SHARE = 0.03
BOT_MISREAD = 0.001
SMS_WAIT = 5.0			# seconds a person waits for the SMS
# A person reads the SMS and types the code in 20 to 90 s of a real hour;
# scaled like every other time here (an hour is HOUR seconds).
READ_DELAY = (20.0 * HOUR / 3600, 90.0 * HOUR / 3600)

SCENARIOS = {
    # name: (phase-2 people, share from new networks, bot)
    "spread": (120, 0.15, "spread"),
    "blocks": (120, 0.15, "blocks"),
    "slow": (120, 0.15, "slow"),
    "quiet": (160, 0.25, None),
}
ORDER = ("spread", "blocks", "slow", "quiet")

# First octets of addresses taken as public: not 0, 10, 100 (CGN), 127,
# 169 (link-local), 172, 192, 198 (private or test ranges within them),
# not multicast or above.
PUBLIC_FIRST = [a for a in range(1, 224)
                if a not in (10, 100, 127, 169, 172, 192, 198)]


def note(*args):
    print("#", *args, flush=True)


# ---- Redis (RESP over the unix socket, one connection per thread) ----------

class RedisError(Exception):
    pass


class Redis:
    def __init__(self, path):
        self.path = path
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(self.path)
            c = (s, s.makefile("rb"))
            self.local.c = c
        return c

    def cmd(self, *args):
        s, f = self._conn()
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        s.sendall(b"".join(out))
        return self._read(f)

    def _read(self, f):
        line = f.readline()
        if not line:
            raise RedisError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return f.read(n + 2)[:-2].decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read(f) for _ in range(n)]
        raise RedisError("unexpected reply %r" % line[:20])

    def scan(self, match):
        cur, keys = "0", []
        while True:
            cur, batch = self.cmd("SCAN", cur, "MATCH", match, "COUNT", 500)
            keys.extend(batch)
            if cur == "0":
                return keys

    def hgetall(self, key):
        r = self.cmd("HGETALL", key) or []
        return dict(zip(r[0::2], r[1::2]))


# ---- the SMS log: where a person's phone is --------------------------------

LOG_RE = re.compile(r"\[vcode dev sms\] mobile=(\S+) code=(\S+) ")


class SmsLog(threading.Thread):
    """Follows the log provider's file; codes by mobile, in order."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.cv = threading.Condition()
        self.codes = collections.defaultdict(list)
        self.mobiles = []		# every line's mobile, in order
        self.stop = False

    def run(self):
        with open(self.path, "r", errors="replace") as f:
            buf = ""
            while not self.stop:
                chunk = f.read()
                if not chunk:
                    time.sleep(0.02)
                    continue
                buf += chunk
                lines = buf.split("\n")
                buf = lines.pop()
                with self.cv:
                    for ln in lines:
                        m = LOG_RE.search(ln)
                        if m:
                            self.codes[m.group(1)].append(m.group(2))
                            self.mobiles.append(m.group(1))
                    self.cv.notify_all()

    def wait_code(self, mobile, n_before, timeout):
        """The code of the first line for mobile after its n_before-th."""
        end = time.monotonic() + timeout
        with self.cv:
            while len(self.codes[mobile]) <= n_before:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.codes[mobile][n_before]

    def count(self, mobile):
        with self.cv:
            return len(self.codes[mobile])

    def total(self):
        with self.cv:
            return len(self.mobiles)

    def since(self, start):
        with self.cv:
            return list(self.mobiles[start:])


# ---- addresses and mobiles -------------------------------------------------

class Numbers:
    """Fresh /24 networks and mobile numbers, never handed out twice."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.nets = set()
        self.mob = set()
        self.lock = threading.Lock()

    def net(self):
        with self.lock:
            while True:
                n = "%d.%d.%d" % (self.rnd.choice(PUBLIC_FIRST),
                                  self.rnd.randrange(256),
                                  self.rnd.randrange(256))
                if n not in self.nets:
                    self.nets.add(n)
                    return n

    def host(self, net):
        with self.lock:
            return "%s.%d" % (net, self.rnd.randint(1, 254))

    def mobile(self, block=None):
        with self.lock:
            while True:
                if block is None:
                    m = "1%d%09d" % (self.rnd.randint(3, 9),
                                     self.rnd.randrange(10 ** 9))
                else:
                    m = "%s%04d" % (block, self.rnd.randrange(10 ** 4))
                if m not in self.mob:
                    self.mob.add(m)
                    return m

    def block(self):
        with self.lock:
            return "1%d%05d" % (self.rnd.randint(3, 9),
                                self.rnd.randrange(10 ** 5))


# ---- the service, through nginx --------------------------------------------

REASONS = (
    # (substring of the English errmsg, label); the guard's first.
    ("new visitors", "guard-share"),
    ("unverified sms codes from this network", "guard-net"),
    ("unverified sms codes to this number range", "guard-block"),
    ("this address", "ip"),
    ("number range", "block"),
    ("sending is busy", "budget"),
    ("too often", "interval"),
    ("daily", "daily"),
    ("image code", "captcha"),
)

DIALECTS = {
    "meiduo": {
        "image": lambda u: "/image_codes/%s/" % u,
        "ckey": "img_%s",
    },
    "ihome": {
        "image": lambda u: "/image_code/?uuid=%s" % u,
        "ckey": "image_code_%s",
    },
    "news": {
        "image": lambda u: "/passport/image_code?code_id=%s" % u,
        "ckey": "ImageCode_%s",
    },
}


def reason_of(body):
    try:
        msg = json.loads(body).get("errmsg", "")
    except (ValueError, AttributeError):
        return "bad-reply"
    low = msg.lower()
    for sub, label in REASONS:
        if sub in low:
            return label
    return "other"


class Site:
    def __init__(self, port, redis, api_key):
        self.port = port
        self.redis = redis
        self.api_key = api_key
        self.errors = collections.Counter()
        self.lock = threading.Lock()

    def http(self, method, path, headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException) as e:
            with self.lock:
                self.errors[type(e).__name__] += 1
            return None, b""
        finally:
            c.close()

    def captcha(self, dialect, addr):
        """(uuid, answer) or (uuid, None): the picture and its reading."""
        uid = str(uuid.uuid4())
        st, _ = self.http("GET", DIALECTS[dialect]["image"](uid),
                          {"X-Forwarded-For": addr})
        if st != 200:
            return uid, None
        return uid, self.redis.cmd("GET", DIALECTS[dialect]["ckey"] % uid)

    def sms(self, dialect, mobile, text, uid, addr):
        """(True, None) when sent, else (False, reason label)."""
        h = {"X-Forwarded-For": addr}
        if dialect == "meiduo":
            q = urllib.parse.urlencode({"image_code": text, "uuid": uid})
            st, body = self.http("GET", "/sms_codes/%s/?%s" % (mobile, q), h)
        else:
            h["Content-Type"] = "application/json"
            idf = "uuid" if dialect == "ihome" else "image_code_id"
            path = "/sms_code" if dialect == "ihome" else "/passport/sms_code"
            st, body = self.http("POST", path, h, json.dumps(
                {"mobile": mobile, "image_code": text, idf: uid}))
        if st is None:
            return False, "http-error"
        try:
            j = json.loads(body)
        except ValueError:
            return False, "bad-reply"
        if j.get("code", j.get("errno")) in (0, "0"):
            return True, None
        return False, reason_of(body)

    def verify(self, dialect, mobile, code):
        h = {"Content-Type": "application/json",
             "Authorization": "Bearer " + self.api_key}
        if dialect == "meiduo":
            st, body = self.http("POST", "/sms_codes/%s/verify" % mobile, h,
                                 json.dumps({"sms_code": code}))
        else:
            path = ("/sms_code/verify" if dialect == "ihome"
                    else "/passport/sms_code/verify")
            st, body = self.http("POST", path, h, json.dumps(
                {"mobile": mobile, "sms_code": code}))
        try:
            j = json.loads(body)
        except ValueError:
            return False
        return st == 200 and j.get("code", j.get("errno")) in (0, "0")


def misread(ans, rnd):
    """A different answer of the same length."""
    alt = "abcdefghjkmnpqrstuvwxyz23456789"
    i = rnd.randrange(len(ans))
    c = rnd.choice([a for a in alt if a != ans[i].lower()])
    return ans[:i] + c + ans[i + 1:]


# ---- people ----------------------------------------------------------------

class Person:
    def __init__(self, kind, net, addr, mobile, dialect, verifies, mistypes,
                 at):
        self.kind, self.net, self.addr = kind, net, addr
        self.mobile, self.dialect = mobile, dialect
        self.verifies, self.mistypes, self.at = verifies, mistypes, at
        self.asked = False
        self.snap = None
        self.p1n, self.nat = 0, False
        self.served = False
        self.reason = None
        self.verified = None

    def live(self, site, log, rnd):
        for attempt in (0, 1):
            uid, ans = site.captcha(self.dialect, self.addr)
            if ans is None:
                self.reason = "captcha-fetch"
                return
            if attempt == 0 and self.mistypes:
                ans = misread(ans, rnd)
            before = log.count(self.mobile)
            self.asked = True
            ok, why = site.sms(self.dialect, self.mobile, ans, uid, self.addr)
            if ok:
                break
            if why == "captcha" and attempt == 0:
                continue
            self.reason = why
            if why.startswith("guard-"):
                self.snap = net_snapshot(site.redis, self.net)
            return
        code = log.wait_code(self.mobile, before, SMS_WAIT)
        if code is None:
            self.reason = "no-sms"
            return
        self.served = True
        if not self.verifies:
            return
        time.sleep(rnd.uniform(*READ_DELAY))
        self.verified = site.verify(self.dialect, self.mobile, code)


def pick_dialect(rnd, dialects):
    if len(dialects) == 1:
        return dialects[0]
    r = rnd.random()
    if r < 0.8:
        return "meiduo"
    return dialects[1] if r < 0.9 else dialects[-1]


def run_people(people, site, log, t0, seed):
    """Starts each person at t0 + p.at; returns the threads."""
    threads = []
    for i, p in enumerate(sorted(people, key=lambda p: p.at)):
        d = t0 + p.at - time.monotonic()
        if d > 0:
            time.sleep(d)
        t = threading.Thread(target=p.live,
                             args=(site, log, random.Random(seed * 7919 + i)),
                             daemon=True)
        t.start()
        threads.append(t)
    return threads


def phase1_people(nums, rnd, dialects):
    """120 people from 60 networks; three NATs of one address each."""
    nets = []
    rest = PHASE1_PEOPLE - sum(NAT_SIZES)
    plain = PHASE1_NETWORKS - len(NAT_SIZES)
    sizes = [1] * plain
    for _ in range(rest - plain):
        sizes[rnd.randrange(plain)] += 1
    for n in NAT_SIZES:
        net = nums.net()
        nets.append({"net": net, "nat": nums.host(net), "n": n})
    for n in sizes:
        nets.append({"net": nums.net(), "nat": None, "n": n})
    people = []
    for nw in nets:
        for _ in range(nw["n"]):
            people.append(person("p1", nw, nums, rnd, dialects, HOUR))
    return nets, people


def person(kind, nw, nums, rnd, dialects, hour):
    addr = nw["nat"] or nums.host(nw["net"])
    p = Person(kind, nw["net"], addr, nums.mobile(),
               pick_dialect(rnd, dialects), rnd.random() < VERIFY_SHARE,
               rnd.random() < MISTYPE_SHARE, rnd.uniform(0, hour))
    p.p1n = nw["n"] if kind != "new" else 0
    p.nat = nw["nat"] is not None
    return p


def net_snapshot(redis, net):
    """The guard's view of a /24 when it refused someone there: whether it
    is trusted, and its buckets relative to the current one (s0 sent in
    this hour, v-1 verified in the one before)."""
    b = int(time.time() // HOUR)
    h = redis.hgetall("vcode:fraud:net:%s.0/24" % net)
    rel = {"%s%d" % (k[0], int(k[1:]) - b): int(v) for k, v in h.items()}
    seen = redis.cmd("EXISTS", "vcode:fraud:seen:%s.0/24" % net) == 1
    return {"seen": seen, "buckets": rel}


def phase2_people(nets, n, new_share, nums, rnd, dialects):
    weights = [nw["n"] for nw in nets]
    people = []
    for _ in range(n):
        if rnd.random() < new_share:
            nw = {"net": nums.net(), "nat": None, "n": 1}
            people.append(person("new", nw, nums, rnd, dialects, HOUR))
        else:
            nw = rnd.choices(nets, weights)[0]
            people.append(person("known", nw, nums, rnd, dialects, HOUR))
    return people


# ---- the bot ---------------------------------------------------------------

class Bot:
    """Never verifies; reads every captcha (misreads BOT_MISREAD)."""

    def __init__(self, kind, site, nums, rnd, t0):
        self.kind, self.site, self.nums, self.rnd = kind, site, nums, rnd
        self.lock = threading.Lock()
        self.next = 0
        self.sent = 0
        self.asked = 0
        self.refused = collections.Counter()
        self.mobiles = set()
        self.sent_at = []
        if kind == "slow":
            self.n = SLOW_REQUESTS
            step = HOUR / SLOW_REQUESTS
            self.times = [t0 + step * (k + 0.5) for k in range(self.n)]
            self.pool = [nums.host(nums.net()) for _ in range(SLOW_ADDRESSES)]
            self.threads = 2
        else:
            start = t0 + BOT_START * HOUR
            self.n = int((1 - BOT_START) * HOUR * BOT_RATE)
            self.times = [start + k / BOT_RATE for k in range(self.n)]
            self.threads = BOT_THREADS
        self.start_at = self.times[0] if self.times else t0
        if kind == "blocks":
            self.blocks = [nums.block() for _ in range(BLOCKS)]

    def slot(self):
        with self.lock:
            k = self.next
            self.next += 1
        return k if k < self.n else None

    def one(self, k, rnd):
        if self.kind == "slow":
            addr = self.pool[k % len(self.pool)]
        else:
            addr = self.nums.host(self.nums.net())
        if self.kind == "blocks":
            mobile = self.nums.mobile(self.blocks[k % len(self.blocks)])
        else:
            mobile = self.nums.mobile()
        uid, ans = self.site.captcha("meiduo", addr)
        if ans is None:
            with self.lock:
                self.refused["captcha-fetch"] += 1
            return
        if rnd.random() < BOT_MISREAD:
            ans = misread(ans, rnd)
        with self.lock:
            self.mobiles.add(mobile)
            self.asked += 1
        ok, why = self.site.sms("meiduo", mobile, ans, uid, addr)
        with self.lock:
            if ok:
                self.sent += 1
                self.sent_at.append(time.monotonic())
            else:
                self.refused[why] += 1

    def work(self, seed):
        rnd = random.Random(seed)
        while True:
            k = self.slot()
            if k is None:
                return
            d = self.times[k] - time.monotonic()
            if d > 0:
                time.sleep(d)
            self.one(k, rnd)

    def launch(self, seed):
        ts = [threading.Thread(target=self.work, args=(seed * 31 + i,),
                               daemon=True) for i in range(self.threads)]
        for t in ts:
            t.start()
        return ts


# ---- one run ---------------------------------------------------------------

def join(threads, timeout):
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    return sum(t.is_alive() for t in threads)


def new_hour(redis, legacy):
    """Waits until vcode:budget is gone: the next SMS starts its hour."""
    if legacy:
        keys = [k for pat in ("vcode:budget", "vcode:ip:*", "vcode:block:*")
                for k in redis.scan(pat)]
        if keys:
            redis.cmd("DEL", *keys)
        note("legacy build (no hour_seconds): hourly counters deleted "
             "to start a new hour")
        return 0.0
    t = time.monotonic()
    end = t + 2 * HOUR + 10
    while time.monotonic() < end:
        if redis.cmd("TTL", "vcode:budget") == -2:
            return time.monotonic() - t
        time.sleep(0.1)
    raise SystemExit("vcode:budget did not expire within %.0f s"
                     % (2 * HOUR + 10))


class PoolWatch(threading.Thread):
    """Samples the untrusted pool and the budget's TTL every 0.2 s."""

    def __init__(self, redis, t0):
        super().__init__(daemon=True)
        self.redis, self.t0 = redis, t0
        self.stop = False
        self.max_open = 0
        self.last = {}
        self.resets = []	# offsets at which the pool was seen gone

    def run(self):
        had = False
        while not self.stop:
            p = self.redis.hgetall("vcode:fraud:pool")
            if p:
                had = True
                self.last = p
                self.max_open = max(self.max_open, int(p.get("u", 0)) -
                                    int(p.get("w", 0)))
            elif had:
                had = False
                self.resets.append(round(time.monotonic() - self.t0, 1))
            time.sleep(0.2)


def tally(people):
    out = {}
    for kind in ("p1", "known", "new"):
        ps = [p for p in people if p.kind == kind]
        out[kind] = [sum(p.served for p in ps), len(ps)]
    return out


def guard_log(path):
    """Counts of the guard's lines in vcoded's log (masked mobiles only)."""
    c = collections.Counter()
    if not path or not os.path.exists(path):
        return {}
    pat = re.compile(r"sms refused for \S+ \(\w+\): (.*)$|"
                     r"fraud guard \((\w[\w ]*)\) would refuse: (.*)$")
    with open(path, errors="replace") as f:
        for ln in f:
            m = pat.search(ln.rstrip())
            if not m:
                continue
            if m.group(1):
                c["refused: " + m.group(1)] += 1
            else:
                c["would (%s): %s" % (m.group(2), m.group(3))] += 1
    return dict(c)


def run(a):
    scen = SCENARIOS[a.scenario]
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(
        1 << 30)
    rnd = random.Random(seed)
    redis = Redis(a.redis)
    site = Site(a.port, redis, os.environ.get("FRAUDSIM_API_KEY", ""))
    nums = Numbers(random.Random(seed + 1))
    dialects = a.dialects.split(",")
    log = SmsLog(a.sms_log)
    log.start()
    started = time.monotonic()
    row = {"scenario": a.scenario, "mode": a.mode, "seed": seed,
           "budget": BUDGET, "hour": HOUR}

    note("%s/%s: phase 1, %d people for %.0f s (seed %d)"
         % (a.scenario, a.mode, PHASE1_PEOPLE, HOUR, seed))
    nets, p1 = phase1_people(nums, rnd, dialects)
    t0 = time.monotonic()
    th = run_people(p1, site, log, t0, seed)
    stuck = join(th, max(0.0, t0 + HOUR - time.monotonic()) + SMS_WAIT + 10)
    row["phase1_verified"] = sum(bool(p.verified) for p in p1)
    row["armed"] = redis.cmd("EXISTS", "vcode:fraud:armed") == 1
    row["phase1_stats"] = redis.hgetall("vcode:fraud:stats")
    waited = new_hour(redis, a.legacy_hours)
    note("%s/%s: waited %.1f s for a new budget hour; phase 2"
         % (a.scenario, a.mode, waited))

    n2, new_share, botkind = scen
    # People "come from the networks that signed up in the hour before":
    # a sign-up is a verified code.
    signed = {p.net for p in p1 if p.verified}
    known = [nw for nw in nets if nw["net"] in signed]
    row["known_networks"] = [len(known), len(nets)]
    p2 = phase2_people(known, n2, new_share, nums, rnd, dialects)
    log_start = log.total()
    t0 = time.monotonic()
    bot_threads, bot = [], None
    watch = PoolWatch(Redis(a.redis), t0)
    watch.start()
    if botkind:
        bot = Bot(botkind, site, nums, random.Random(seed + 2), t0)
        bot_threads = bot.launch(seed)
    th = run_people(p2, site, log, t0, seed + 3)
    stuck += join(bot_threads, max(0.0, t0 + HOUR - time.monotonic()) + 30)
    stuck += join(th, SMS_WAIT + READ_DELAY[1] + 10)
    time.sleep(0.5)
    sent2 = log.since(log_start)
    log.stop = True
    watch.stop = True
    row["pool"] = {"last": watch.last, "max_unverified": watch.max_open,
                   "gone_at": watch.resets}

    people = p1 + p2
    row["people"] = tally(people)
    row["refused"] = dict(collections.Counter(
        p.reason for p in p2 if not p.served))
    row["refused_p1"] = dict(collections.Counter(
        p.reason for p in p1 if not p.served))
    row["guard_refused"] = [
        {"phase": 1 if p.kind == "p1" else 2, "kind": p.kind, "nat": p.nat,
         "p1_people": p.p1n, "reason": p.reason, "at": round(p.at, 1),
         "net": p.snap} for p in people if p.snap]
    served2 = [p for p in p2 if p.served]
    row["verified"] = sum(bool(p.verified) for p in served2)
    row["verify_tried"] = sum(p.verified is not None for p in served2)
    row["served"] = len(served2)
    row["sms_hour"] = len(sent2)
    if bot:
        bm = bot.mobiles
        row["bot"] = {"sms": sum(1 for m in sent2 if m in bm),
                      "replied_ok": bot.sent, "asked": bot.asked,
                      "refused": dict(bot.refused),
                      "start": round((bot.start_at - t0) / HOUR, 3),
                      "sms_by_tenth": tenths(bot.sent_at, t0)}
        after = [p for p in p2 if t0 + p.at >= bot.start_at]
        row["after_bot"] = [sum(p.served for p in after), len(after)]
    row["stats"] = redis.hgetall("vcode:fraud:stats")
    row["guard_log"] = guard_log(a.vcoded_log)
    row["errors"] = dict(site.errors)
    row["stuck_threads"] = stuck
    row["seconds"] = round(time.monotonic() - started, 1)
    with open(a.rows, "a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
    print(format_row(row), flush=True)
    for ln in details(row):
        print("#   " + ln, flush=True)
    return 0


# ---- the report ------------------------------------------------------------

def tenths(times, t0):
    """How many of times fall in each tenth of the hour from t0 (the
    last slot also takes what came after the hour)."""
    out = [0] * 10
    for t in times:
        out[min(9, max(0, int((t - t0) * 10 / HOUR)))] += 1
    return out


def pct(a, b):
    return 100.0 * a / b if b else 0.0


def frac(ab):
    return "%3d/%-3d (%5.1f%%)" % (ab[0], ab[1], pct(ab[0], ab[1]))


HEAD = ("%-7s %-8s | %-14s | %-20s | %-20s | %-7s | %s"
        % ("bot", "guard", "bot SMS/budget", "known nets served",
           "new nets served", "refused", "verify rate"))


def format_row(r):
    if r.get("failed"):
        return "%-7s %-8s | run failed: %s" % (r["scenario"], r["mode"],
                                              r["failed"])
    b = r.get("bot")
    bot = ("%4d (%5.1f%%)" % (b["sms"], pct(b["sms"], r["budget"]))
           if b else "   - (no bot)")
    pk, pn = r["people"]["known"], r["people"]["new"]
    refused = pk[1] - pk[0] + pn[1] - pn[0]
    vr = "%5.1f%% site, %5.1f%% people" % (
        pct(r["verified"], r["sms_hour"]), pct(r["verified"], r["served"]))
    return ("%-7s %-8s | %-14s | %-20s | %-20s | %7d | %s"
            % (r["scenario"], r["mode"], bot, frac(pk), frac(pn), refused,
               vr))


def details(r):
    if r.get("failed"):
        return []
    out = []
    p1 = r["people"]["p1"]
    kn = r.get("known_networks", [0, 0])
    out.append("phase 1: %d/%d served, %d verified, armed=%s, refused %s; "
               "%d of its %d networks signed up (known)"
               % (p1[0], p1[1], r["phase1_verified"],
                  "yes" if r["armed"] else "no",
                  fmt_counts(r["refused_p1"]), kn[0], kn[1]))
    line = "phase 2: %d SMS in the hour (budget %d), people refused %s" % (
        r["sms_hour"], r["budget"], fmt_counts(r["refused"]))
    out.append(line)
    b = r.get("bot")
    if b:
        out.append("bot: %d asked, %d answered 0, %d SMS logged, refused %s;"
                   " people after it (from %.0f%% of the hour): %s served"
                   % (b["asked"], b["replied_ok"], b["sms"],
                      fmt_counts(b["refused"]), 100 * b["start"],
                      frac(r["after_bot"]).strip()))
    if b and "sms_by_tenth" in b:
        out.append("bot SMS per tenth of the hour: %s"
                   % " ".join(str(n) for n in b["sms_by_tenth"]))
    if r.get("pool"):
        pl = r["pool"]
        out.append("vcode:fraud:pool last seen %s, most unverified at once "
                   "%d, seen gone at %s s" % (fmt_counts(pl["last"]),
                                             pl["max_unverified"],
                                             pl["gone_at"] or "-"))
    gr = r.get("guard_refused", [])
    fresh = collections.Counter("phase %d %s" % (g["phase"], g["reason"])
                                for g in gr if g["kind"] == "new")
    if fresh:
        out.append("guard refused people of new networks: "
                   + fmt_counts(fresh))
    for g in gr:
        if g["kind"] == "new":
            continue
        out.append("guard refused a person: phase %d, %s network%s (%d "
                   "people in the warm-up), %s at %.0f s; its /24 then: "
                   "trusted=%s %s" % (g["phase"], g["kind"],
                                      " (NAT)" if g["nat"] else "",
                                      g["p1_people"], g["reason"], g["at"],
                                      "yes" if g["net"]["seen"] else "no",
                                      fmt_counts(g["net"]["buckets"])))
    if r.get("stats"):
        out.append("vcode:fraud:stats " + fmt_counts(r["stats"]))
    if r.get("guard_log"):
        out.append("vcoded log: " + fmt_counts(r["guard_log"]))
    if r.get("errors") or r.get("stuck_threads"):
        out.append("client errors %s, threads not finished %d"
                   % (fmt_counts(r.get("errors", {})),
                      r.get("stuck_threads", 0)))
    out.append("seed %d, %.0f s" % (r["seed"], r["seconds"]))
    return out


def fmt_counts(d):
    if not d:
        return "{}"
    return "{" + ", ".join("%s %s" % (k, v) for k, v in sorted(
        d.items(), key=lambda kv: str(kv[0]))) + "}"


def goals(r):
    """(holds, text) for one enforce row."""
    if r.get("failed"):
        return False, "run failed"
    pk, pn = r["people"]["known"], r["people"]["new"]
    if r.get("bot"):
        bot = r["bot"]["sms"]
        ok1 = pct(bot, r["budget"]) <= 10.0
        ok2 = pct(pk[0], pk[1]) >= 95.0
        return ok1 and ok2, "bot %.1f%% of budget (<= 10%%: %s), known " \
            "networks %.1f%% served (>= 95%%: %s)" % (
                pct(bot, r["budget"]), "yes" if ok1 else "NO",
                pct(pk[0], pk[1]), "yes" if ok2 else "NO")
    refused = pk[1] - pk[0] + pn[1] - pn[0]
    return refused == 0, "%d people refused (0: %s)" % (
        refused, "yes" if refused == 0 else "NO")


def report(a):
    rows = []
    if os.path.exists(a.rows):
        with open(a.rows) as f:
            rows = [json.loads(ln) for ln in f if ln.strip()]
    rank = {s: i for i, s in enumerate(ORDER)}
    rows.sort(key=lambda r: (rank.get(r["scenario"], 9),
                             r["mode"] != "off"))
    lines = ["fraudsim: %d SMS budget per hour of %.0f s; \"served\" = "
             "answered 0 and in the SMS log" % (BUDGET, HOUR), HEAD,
             "-" * len(HEAD)]
    lines += [format_row(r) for r in rows]
    lines.append("")
    lines.append("goals (fraud_guard = enforce):")
    good = True
    seen = False
    for r in rows:
        if r["mode"] != "enforce":
            continue
        seen = True
        ok, text = goals(r)
        good = good and ok
        lines.append("  %-7s %s  %s" % (r["scenario"], "ok  " if ok else
                                        "FAIL", text))
    if not seen:
        good = False
        lines.append("  no enforce run")
    lines.append("all goals hold" if good else "goals NOT met")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
            f.write("\ndetails:\n")
            for r in rows:
                f.write("%s/%s\n" % (r["scenario"], r["mode"]))
                for ln in details(r):
                    f.write("  " + ln + "\n")
    return 0 if good else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    r.add_argument("--mode", required=True)
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--redis", required=True)
    r.add_argument("--sms-log", required=True)
    r.add_argument("--rows", required=True)
    r.add_argument("--vcoded-log")
    r.add_argument("--dialects", default="meiduo")
    r.add_argument("--seed", type=int)
    r.add_argument("--legacy-hours", action="store_true")
    f = sub.add_parser("report")
    f.add_argument("--rows", required=True)
    f.add_argument("--out")
    f2 = sub.add_parser("failed")
    f2.add_argument("--rows", required=True)
    f2.add_argument("--scenario", required=True)
    f2.add_argument("--mode", required=True)
    f2.add_argument("--why", required=True)
    a = ap.parse_args()
    if a.cmd == "run":
        return run(a)
    if a.cmd == "failed":
        with open(a.rows, "a") as fh:
            fh.write(json.dumps({"scenario": a.scenario, "mode": a.mode,
                                 "failed": a.why}) + "\n")
        return 0
    return report(a)


if __name__ == "__main__":
    sys.exit(main())
