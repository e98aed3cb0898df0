#!/bin/sh
# tests/bench/bench.sh: speed and size of the captcha renderer (make bench).
#
#   sh tests/bench/bench.sh [N] [CONFIG]
#
# Runs build/vcode-render --bench N (default 2000) on one core with the
# given configuration (default: built-in defaults, 120x40, 4 characters)
# and prints its figures: medians per image, PNG encoding included. The
# goal at 120x40 x 4 characters is <= 100 us and <= 1200 bytes; missing it
# is reported, not failed: this is a benchmark, not a test.
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$here/build/vcode-render
n=${1:-2000}
[ -x "$bin" ] || { echo "bench: $bin missing (run make)" >&2; exit 1; }
out=$("$bin" --bench "$n" ${2:+-c "$2"}) ||
    { echo "bench: vcode-render failed" >&2; exit 1; }
echo "$out"
echo "$out" | awk '
	/^images=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
	    v[kv[1]] = kv[2] } }
	/^us_per_image=/ { split($1, a, "="); split($2, b, "="); us = a[2];
	    bytes = b[2] }
	END {
		if (v["size"] != "120x40" || v["length"] != 4) {
			print "goal: stated for 120x40, 4 characters only"
			exit
		}
		printf "goal (<= 100 us, <= 1200 bytes per image): %s\n",
		    (us <= 100 && bytes <= 1200) ? "met" : "NOT met"
	}'
