#!/bin/sh
# tests/fuzz/run.sh: runs each libFuzzer harness for SECONDS (make fuzz
# FUZZ_SECONDS=N, default 30) from its seed corpus tests/fuzz/corpus/NAME
# (copied: the committed seeds are not changed), and ends with one line
# "fuzz: N passed, N failed" (a harness passes when it ran and found no
# crash, leak or timeout). Findings are kept in build-fuzz/findings/NAME.
#
#   sh tests/fuzz/run.sh SECONDS FUZZER...
here=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-30}
shift
passed=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	work=$(mktemp -d /tmp/vcode-fuzz.XXXXXX) || exit 1
	found=$here/build-fuzz/findings/$name
	mkdir -p "$found"
	cp "$here/tests/fuzz/corpus/$name/"* "$work/" 2>/dev/null
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$found/" "$work" \
	    >"$work.log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - fuzz $name: $execs execs in ${secs} s, nothing found"
		passed=$((passed + 1))
	else
		echo "FAIL - fuzz $name: exit $rc after ${execs:-?} execs; see $found"
		grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$work.log" |
		    head -n 20
		cp "$work.log" "$found/log"
		failed=$((failed + 1))
	fi
	rm -rf "$work" "$work.log"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
