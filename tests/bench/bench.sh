#!/bin/sh
# tests/bench/bench.sh: speed and size of the captcha renderer (make bench).
#
#   sh tests/bench/bench.sh [N] [CONFIG]
#
# vcoded's routes against a do-nothing FastCGI responder and the seed's
# Flask view behind the same nginx (tests/bench/fcgi.sh, when NOTHING
# names its binary). Then
# runs build/vcode-render --bench N (default 2000) on one core with the
# given configuration (default: built-in defaults, 120x40, 4 characters)
# and prints its figures: medians per image, PNG encoding included, then
# per audio challenge (captcha_audio_length digits, WAV included) in each
# language. Goals: at 120x40 x 4 characters <= 30 us and <= 1200 bytes
# an image; an audio reply < 1000 us and < 50,000 bytes. Then the image
# figure again with the portable inner loops (--portable: what a
# processor without AVX2 takes; the same pixels). Missing one is
# reported, not failed: this is a benchmark, not a test. Then vcoded as a
# CGI program (tests/bench/cgi.py): /healthz, a 404 and a captcha, each a
# new process, against a private Redis.
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$here/build/vcode-render
n=${1:-2000}
[ -x "$bin" ] || { echo "bench: $bin missing (run make)" >&2; exit 1; }
# First, while nothing else of the bench runs: the captcha route against a
# FastCGI responder that does nothing (fcgi.sh; NOTHING is its binary,
# make bench builds it).
if [ -n "${NOTHING:-}" ] && command -v wrk >/dev/null &&
    command -v nginx >/dev/null; then
	VCODED=${VCODED:-$here/build/vcoded} bash "$here/tests/bench/fcgi.sh" \
	    "$NOTHING" || echo "bench: the FastCGI comparison failed"
fi
out=$("$bin" --bench "$n" ${2:+-c "$2"}) ||
    { echo "bench: vcode-render failed" >&2; exit 1; }
echo "$out"
echo "$out" | awk '
	/^images=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
	    v[kv[1]] = kv[2] } }
	/^us_per_image=/ { split($1, a, "="); split($2, b, "="); us = a[2];
	    bytes = b[2] }
	/^audio_.* us_per_reply=/ { split($3, a, "="); split($4, b, "=");
	    au = a[2] > au ? a[2] : au; ab = b[2] > ab ? b[2] : ab }
	END {
		printf "audio goal (< 1000 us, < 50000 bytes per reply): %s\n",
		    (au != "" && au < 1000 && ab < 50000) ? "met" : "NOT met"
		if (v["size"] != "120x40" || v["length"] != 4) {
			print "goal: stated for 120x40, 4 characters only"
			exit
		}
		printf "goal (<= 30 us, <= 1200 bytes per image): %s\n",
		    (us <= 30 && bytes <= 1200) ? "met" : "NOT met"
	}'
portable=$("$bin" --portable --bench "$n" ${2:+-c "$2"}) ||
    { echo "bench: vcode-render --portable failed" >&2; exit 1; }
echo "portable inner loops: $(echo "$portable" | tail -n 1)"
# The PNG's deflate four ways on 300 captchas' rows (tests/bench/deflate.c).
if [ -n "${DEFLATE:-}" ] && [ -x "$DEFLATE" ]; then
	d=$(mktemp -d) && "$bin" -n 300 -o "$d" >/dev/null && "$DEFLATE" "$d" ||
	    echo "bench: the deflate comparison failed"
	rm -rf "$d"
fi
# What a request costs on CGI hosting (a new process each time).
if command -v python3 >/dev/null && command -v redis-server >/dev/null; then
	python3 "$here/tests/bench/cgi.py" "$here/build/vcoded" 200 ||
	    echo "bench: the CGI timing failed"
fi
# Queued delivery: sender throughput and the captcha route under an SMS flood.
if command -v python3 >/dev/null && command -v nginx >/dev/null; then
	bash "$here/tests/bench/queue.sh" || echo "bench: the queue benchmark failed"
fi
# Legacy CGI hosting through Apache, against the seed's view as a Python CGI.
if command -v apache2 >/dev/null && command -v python3 >/dev/null; then
	bash "$here/tests/bench/apache-cgi.sh" || echo "bench: the Apache CGI benchmark failed"
fi
