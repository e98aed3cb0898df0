#!/bin/sh
# tests/run.sh: runs the unit test binaries (cmocka, TAP output) and then
# the integration suite, and ends with one line "N passed, N failed".
#
#   sh tests/run.sh [--unit-only | --integration-only] [UNIT_BINARY...]
#
# A unit binary counts its "ok" and "not ok" TAP lines; one that crashes or
# exits non-zero without a "not ok" line counts one failure. Each file
# tests/integration/t_*.sh (bash) counts its "ok - " and "FAIL - " lines;
# one that does not reach its "# done" marker counts one failure.
# IT_ONLY=PATTERN runs only the integration files whose name matches the
# shell pattern (e.g. IT_ONLY='t_cgi*'). VALGRIND="valgrind ..." runs each
# unit binary under that command (make valgrind).
# Exit status: 0 when nothing failed, 1 otherwise.

unit=1
integration=1
case ${1:-} in
--unit-only)		integration=0; shift ;;
--integration-only)	unit=0; shift ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vcode-run.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
passed=0
failed=0

# count PATTERN FILE: lines of FILE matching the ERE PATTERN.
count() {
	grep -Ec "$1" "$2" 2>/dev/null || true
}

if [ "$unit" = 1 ]; then
	for bin in "$@"; do
		name=$(basename "$bin")
		echo "# unit: $name"
		if [ ! -x "$bin" ]; then
			echo "not ok - $name: not built"
			failed=$((failed + 1))
			continue
		fi
		# shellcheck disable=SC2086
		{ CMOCKA_MESSAGE_OUTPUT=tap ${VALGRIND:-} "$bin" 2>&1
		    echo $? >"$work/rc"; } |
		    tee "$work/out"
		rc=$(cat "$work/rc")
		p=$(count '^ok ' "$work/out")
		f=$(count '^not ok ' "$work/out")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "not ok - $name: exited with status $rc"
			f=1
		elif [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			echo "not ok - $name: no test results"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
fi

if [ "$integration" = 1 ]; then
	for t in "$here"/integration/t_*.sh; do
		[ -f "$t" ] || continue
		name=$(basename "$t")
		# shellcheck disable=SC2254
		case $name in ${IT_ONLY:-*}) ;; *) continue ;; esac
		echo "# integration: $name"
		{ bash "$t" </dev/null 2>&1; echo $? >"$work/rc"; } | tee "$work/out"
		rc=$(cat "$work/rc")
		p=$(count '^ok - ' "$work/out")
		f=$(count '^FAIL - ' "$work/out")
		if ! grep -q "^# done $name\$" "$work/out"; then
			echo "FAIL - $name: stopped early (status $rc)"
			f=$((f + 1))
		elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "FAIL - $name: exited with status $rc"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
