#!/usr/bin/env python3
"""tests/bench/cgi.py VCODED [N]: what one request costs on CGI hosting,
where every request starts vcoded anew. Starts a private redis-server on a
socket in a temporary folder, runs VCODED N times (default 200) as a CGI
program for /healthz, an unknown route and a 120x40 captcha, and prints
the median and 90th percentile wall time of each (process start included;
the timing loop's own fork and exec are in it too, about what a web
server's are). Goals: /healthz and 404 under 5 ms, a captcha under 15 ms.
Last line: cgi_healthz_ms=A cgi_404_ms=B cgi_captcha_ms=C (medians)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

vcoded = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
tmp = tempfile.mkdtemp(prefix="vcode-cgibench.")
sock = os.path.join(tmp, "redis.sock")
redis = subprocess.Popen(
    ["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
     "--appendonly", "no", "--dir", tmp],
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
            "REMOTE_ADDR": "127.0.0.1", "VCODE_REDIS": "unix:" + sock,
            "VCODE_LOG_LEVEL": "error"}
    cases = [("healthz", {"SCRIPT_NAME": "/healthz"}, b"200"),
             ("404", {"SCRIPT_NAME": "/no/such/route"}, b"404"),
             ("captcha", {"SCRIPT_NAME": "/image_code/"}, b"200")]
    medians = {}
    # The loop's own cost: starting a program that does nothing.
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        subprocess.run(["true"], env=base, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print("cgi %-8s ms: median=%.2f (starting true(1): the floor)" %
          ("spawn", times[n // 2]))
    for name, env, want in cases:
        times = []
        for i in range(n):
            e = dict(base, **env)
            if name == "captcha":
                e["QUERY_STRING"] = "uuid=cgibench%08d" % i
            t0 = time.perf_counter()
            out = subprocess.run([vcoded], env=e, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL).stdout
            times.append((time.perf_counter() - t0) * 1000)
            if not out.startswith(b"Status: " + want):
                sys.exit("cgi bench: %s answered %r" % (name, out[:40]))
        times.sort()
        medians[name] = times[n // 2]
        print("cgi %-8s ms: median=%.2f p90=%.2f min=%.2f" %
              (name, times[n // 2], times[n * 9 // 10], times[0]))
    print("cgi goal (healthz and 404 < 5 ms, captcha < 15 ms): %s" %
          ("met" if medians["healthz"] < 5 and medians["404"] < 5 and
           medians["captcha"] < 15 else "NOT met"))
    print("cgi_healthz_ms=%.2f cgi_404_ms=%.2f cgi_captcha_ms=%.2f" %
          (medians["healthz"], medians["404"], medians["captcha"]))
finally:
    redis.terminate()
    redis.wait()
    shutil.rmtree(tmp, ignore_errors=True)
