#!/bin/sh
# tests/bench/bench.sh: speed and size of the captcha renderer (make bench).
#
#   sh tests/bench/bench.sh [N] [CONFIG]
#
# Runs build/vcode-render --bench N (default 2000) on one core with the
# given configuration (default: built-in defaults, 120x40, 4 characters)
# and prints its figures. The goal at 120x40 x 4 is <= 100 us and
# <= 1200 bytes per image (medians, PNG encoding included); missing it is
# reported, not failed: this is a benchmark, not a test.
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=$here/build/vcode-render
n=${1:-2000}
[ -x "$bin" ] || { echo "bench: $bin missing (run make)" >&2; exit 1; }
set -- --bench "$n" ${2:+-c "$2"}
out=$("$bin" "$@") || { echo "bench: vcode-render failed" >&2; exit 1; }
echo "$out"
echo "$out" | tail -n 1 | awk -F'[= ]' '
	{ us = $2; bytes = $4 }
	END {
		printf "goal (120x40, 4 chars): <= 100 us, <= 1200 bytes: %s\n",
		    (us <= 100 && bytes <= 1200) ? "met" : "NOT met"
	}'
