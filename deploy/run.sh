#!/bin/sh
# Runs vcode for development: a private redis-server, vcoded (prefork) and
# nginx serving the demo page, everything under run/ in the repository.
#   sh deploy/run.sh         (re)start; what `make run` calls after building
#   sh deploy/run.sh stop    stop what the last start left running
# Environment: PORT (default 8080) for nginx on 127.0.0.1.

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
RUN=$ROOT/run
PORT=${PORT:-8080}
BASE=http://127.0.0.1:$PORT
CONF=$ROOT/deploy/vcode.conf
VCODED=$ROOT/build/vcoded
WAIT_STEPS=50		# x 0.2 s: how long each start may take

say() { printf '%s\n' "$*"; }
die() { say "run.sh: $*" >&2; exit 1; }

# Prints the last lines of each log named, for a failed start.
show_logs() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		say "---- tail of $f" >&2
		tail -n 20 "$f" >&2
	done
}

# alive PIDFILE NAME: true when PIDFILE names a live process called NAME
# (so a stale pidfile whose pid was reused is never signalled).
alive() {
	[ -s "$1" ] || return 1
	pid=$(sed -n '1{s/[^0-9]//g;p;}' "$1")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	[ -r "/proc/$pid/cmdline" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"
}

# stop_one PIDFILE NAME: SIGTERM, wait, then SIGKILL; removes the pidfile.
stop_one() {
	if alive "$1" "$2"; then
		kill -TERM "$pid" 2>/dev/null
		n=0
		while kill -0 "$pid" 2>/dev/null && [ $n -lt $WAIT_STEPS ]; do
			sleep 0.2
			n=$((n + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "$2 (pid $pid) ignored SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
		say "stopped $2 (pid $pid)"
	fi
	rm -f "$1"
}

stop_all() {
	stop_one "$RUN/nginx.pid" nginx
	stop_one "$RUN/vcoded.pid" vcoded
	stop_one "$RUN/redis.pid" redis-server
	rm -f "$RUN/vcoded.sock" "$RUN/redis.sock"
}

# wait_for CMD...: runs CMD every 0.2 s until it succeeds, bounded.
wait_for() {
	n=0
	until "$@" >/dev/null 2>&1; do
		[ $n -ge $WAIT_STEPS ] && return 1
		sleep 0.2
		n=$((n + 1))
	done
}

# conf_value KEY DEFAULT: VCODE_<KEY>, else deploy/vcode.conf, else DEFAULT.
conf_value() {
	v=$(printenv "VCODE_$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')")
	if [ -z "$v" ] && [ -r "$CONF" ]; then
		v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" \
		    "$CONF" | sed 's/[[:space:]]*$//' | tail -n 1)
	fi
	printf '%s' "${v:-$2}"
}

# sed replacement text: escape \, & and the | delimiter.
esc() { printf '%s' "$1" | sed 's/[\\&|]/\\&/g'; }

healthz() {
	[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$BASE/healthz")" = 200 ]
}

case "${1:-start}" in
stop)
	stop_all
	exit 0 ;;
start)
	;;
*)
	die "usage: sh deploy/run.sh [stop]" ;;
esac

[ -x "$VCODED" ] || die "$VCODED is missing: run make first"
for p in redis-server redis-cli nginx curl; do
	command -v $p >/dev/null || die "$p not found: run make deps"
done

stop_all
mkdir -p "$RUN" || exit 1
# nginx workers (www-data when root) must reach the sockets in here.
chmod 0755 "$RUN"

ROOTUSER=0
[ "$(id -u)" -eq 0 ] && ROOTUSER=1
VUSER=$(conf_value user www-data)
VGROUP=$(conf_value group www-data)

# ---- redis: unix socket only, nothing kept on disk.
if [ $ROOTUSER -eq 1 ]; then SOCKPERM=770; else SOCKPERM=700; fi
: >"$RUN/redis.log"
redis-server --port 0 --unixsocket "$RUN/redis.sock" \
    --unixsocketperm $SOCKPERM --daemonize yes --pidfile "$RUN/redis.pid" \
    --dir "$RUN" --logfile "$RUN/redis.log" --save '' --appendonly no \
    >/dev/null 2>&1
if ! wait_for redis-cli -s "$RUN/redis.sock" ping; then
	show_logs "$RUN/redis.log"
	stop_all
	die "redis-server did not answer on $RUN/redis.sock"
fi
# vcoded's workers drop to VUSER:VGROUP; let that group in.
[ $ROOTUSER -eq 1 ] && chgrp "$VGROUP" "$RUN/redis.sock"

# ---- vcoded: prefork master; its log (stderr) goes to run/vcoded.log.
: >"$RUN/vcoded.log"
: >>"$RUN/sms.log"
[ $ROOTUSER -eq 1 ] && chown "$VUSER:$VGROUP" "$RUN/sms.log"
set -- -c "$CONF"
[ -r "$CONF" ] || set --		# built-in defaults
export VCODE_LISTEN="unix:$RUN/vcoded.sock"
export VCODE_REDIS="unix:$RUN/redis.sock"
export VCODE_SMS_LOG_FILE="$RUN/sms.log"
# -d: the master forks into the background once its socket is bound
# (a bad configuration fails here, with our exit status); its stderr is
# the log. It writes the pidfile after the fork, so wait for that too.
if ! "$VCODED" -d -p "$RUN/vcoded.pid" "$@" </dev/null \
    >>"$RUN/vcoded.log" 2>&1 ||
    ! wait_for test -s "$RUN/vcoded.pid" ||
    ! wait_for test -S "$RUN/vcoded.sock" ||
    ! alive "$RUN/vcoded.pid" vcoded; then
	show_logs "$RUN/vcoded.log"
	stop_all
	die "vcoded did not start on $RUN/vcoded.sock"
fi

# ---- nginx: the demo page and every vcode route.
if [ $ROOTUSER -eq 1 ]; then USER_LINE="user www-data www-data;"; else USER_LINE=""; fi
# /verify from this host only, unless an api_key guards it.
VERIFY_ACCESS="allow 127.0.0.1; allow ::1; deny all;"
[ -n "$(conf_value api_key '')" ] && VERIFY_ACCESS="# api_key set: the key guards it"
sed -e "s|@USER_LINE@|$(esc "$USER_LINE")|g" \
    -e "s|@VERIFY_ACCESS@|$(esc "$VERIFY_ACCESS")|g" \
    -e "s|@RUNDIR@|$(esc "$RUN")|g" \
    -e "s|@SOCKET@|$(esc "$RUN/vcoded.sock")|g" \
    -e "s|@LISTEN@|$(esc "127.0.0.1:$PORT")|g" \
    -e "s|@WWW@|$(esc "$ROOT/deploy/www")|g" \
    "$ROOT/deploy/nginx.conf.in" >"$RUN/nginx.conf" || die "cannot write $RUN/nginx.conf"
: >"$RUN/nginx-error.log"
if ! nginx -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf" -p "$RUN/" \
    >"$RUN/nginx-start.log" 2>&1; then
	show_logs "$RUN/nginx-start.log"
	stop_all
	die "nginx did not start (is port $PORT taken? try PORT=8081)"
fi

if ! wait_for healthz; then
	say "run.sh: $BASE/healthz did not answer 200" \
	    "(last: $(curl -s -m 2 -w ' HTTP %{http_code}' "$BASE/healthz"))" >&2
	show_logs "$RUN/vcoded.log" "$RUN/nginx-error.log" "$RUN/redis.log"
	stop_all
	exit 1
fi

AUTH=""
# shellcheck disable=SC2016 # printed for the user's shell to expand
[ -n "$(conf_value api_key '')" ] &&
    AUTH=' -H "Authorization: Bearer $VCODE_API_KEY"'
cat <<EOF

vcode is running: $BASE/
SMS codes (the 'log' provider only writes what it would send): $RUN/sms.log
Logs: $RUN/vcoded.log $RUN/nginx-error.log

Try it with curl:
  U=\$(cat /proc/sys/kernel/random/uuid); B=$BASE; M=13812341234
  curl -s -o captcha.png \$B/image_codes/\$U/   # read captcha.png (or: redis-cli -s $RUN/redis.sock get img_\$U)
  curl -s "\$B/sms_codes/\$M/?image_code=TEXT&uuid=\$U"; echo; tail -n 1 $RUN/sms.log
  curl -s -H 'Content-Type: application/json'$AUTH -d '{"sms_code":"CODE"}' \$B/sms_codes/\$M/verify

Stop it: make stop
EOF
