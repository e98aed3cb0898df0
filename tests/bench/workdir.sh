# tests/bench/workdir.sh: sourced by the attack benchmarks.
#
#   bench_workdir NAME KEEP_DIR
#
# Sets work to KEEP_DIR (emptied first) when it is set, so the samples
# stay for a look, else to a fresh /tmp/vcode-NAME.XXXXXX removed on
# exit; INT and TERM exit with the usual statuses (which runs the trap).
bench_workdir() {
	if [ -n "$2" ]; then
		rm -rf "$2" && mkdir -p "$2" && work=$2 || exit 1
	else
		work=$(mktemp -d "/tmp/vcode-$1.XXXXXX") || exit 1
		trap 'rm -rf "$work"' EXIT
	fi
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
