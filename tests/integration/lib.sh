# tests/integration/lib.sh: the harness every integration test sources.
#
# It owns a temporary folder (short, for unix socket paths), a throwaway
# redis-server on a socket there, vcoded (spawn-fcgi or prefork mode) and
# nginx on a free 127.0.0.1 port, and removes all of it on exit, failure
# or interrupt: every process it starts is recorded by PID and ended by PID.
#
# Each check prints one line, "ok - NAME" or "FAIL - NAME: expected X,
# saw Y"; tests/run.sh counts them. A test file ends with it_done, which
# prints "# done FILE" (run.sh treats a missing marker as a failure) and
# exits 1 when any check failed.
#
# Knobs (environment): VCODED (default build/vcoded), IT_KEEP=1 keeps the
# temporary folder, IT_VERBOSE=1 shows the body of every failed reply.

set -u

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$IT_DIR/../.." && pwd)
VCODED=${VCODED:-$ROOT/build/vcoded}
case $VCODED in /*) ;; *) VCODED=$ROOT/$VCODED ;; esac
IT_NAME=$(basename "$0")
PASSN=0
FAILN=0
T=""
PORT=""
BASE=""
MODE=none
VC_MASTER=""
VC_PIDFILE=""
REDIS_PID=""
CURL_MAX=${CURL_MAX:-10}

# ---- checks ---------------------------------------------------------------

# show VALUE: one line, at most 300 characters, for a FAIL message.
show() {
	local s=${1//$'\r'/\\r}
	s=${s//$'\n'/\\n}
	[ ${#s} -gt 300 ] && s="${s:0:300}...(${#1} chars)"
	printf '%s' "$s"
}

ok() {
	PASSN=$((PASSN + 1))
	echo "ok - $1"
}

# fail NAME EXPECTED SAW
fail() {
	FAILN=$((FAILN + 1))
	echo "FAIL - $1: expected $(show "$2"), saw $(show "$3")"
	if [ "${IT_VERBOSE:-0}" = 1 ] && [ -n "${H_STATUS:-}" ]; then
		echo "#   last reply: $H_STATUS $(show "${H_BODY:-}")"
	fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "$2" "$3"; fi
}

# expect_match NAME ERE ACTUAL
expect_match() {
	if [[ $3 =~ $2 ]]; then ok "$1"; else fail "$1" "match of /$2/" "$3"; fi
}

# expect_nomatch NAME ERE ACTUAL
expect_nomatch() {
	if [[ $3 =~ $2 ]]; then fail "$1" "no match of /$2/" "$3"; else ok "$1"; fi
}

# expect_in NAME "A|B|C" ACTUAL: ACTUAL is one of the listed values.
expect_in() {
	local v
	local IFS='|'
	for v in $2; do
		if [ "$v" = "$3" ]; then ok "$1"; return; fi
	done
	fail "$1" "one of $2" "$3"
}

# expect_range NAME LO HI ACTUAL: integer LO <= ACTUAL <= HI.
expect_range() {
	if [[ $4 =~ ^-?[0-9]+$ ]] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then
		ok "$1"
	else
		fail "$1" "integer in [$2, $3]" "$4"
	fi
}

# it_note TEXT: a comment line, not a check.
it_note() { echo "# $*"; }

# it_bail TEXT: a setup step failed; counts as a failure and ends the file.
it_bail() {
	FAILN=$((FAILN + 1))
	echo "FAIL - setup: $*"
	it_logs
	it_done
}

# it_logs: the tails of the logs, as comments, to explain a setup failure.
it_logs() {
	local f
	[ -n "$T" ] || return 0
	for f in "$T"/vcoded.stderr "$T"/spawn.out "$T"/redis.log \
	    "$T"/nginx-error.log "$T"/nginx-start.log; do
		[ -s "$f" ] || continue
		echo "# --- $f (tail)"
		tail -n 15 "$f" | sed 's/^/#   /'
	done
}

# it_secrets: one check over the logs of vcode's own programs that this
# file left (vcoded's stderr, spawn-fcgi's, the senders', the request
# logs, named vcode-access*.log; not nginx's, which a test may set up as
# a site of its own would): none holds an SMS code or a full mobile number that the test
# saw. Codes and mobiles come from the development provider's file and
# the stand-in provider's log, where they belong. A number is matched as
# a whole run of digits, after the runs that name a process (the line's
# [PID], "worker PID", pid=PID) are dropped; codes shorter than 6 digits
# are left out, as likely to be some other number by chance.
it_secrets() {
	local logs=() f seen
	[ -n "$T" ] && [ -d "$T" ] || return 0
	for f in "$T"/vcoded.stderr "$T"/spawn.out "$T"/smsd-*.log \
	    "$T"/vcode-access*.log*; do
		[ -f "$f" ] && logs+=("$f")
	done
	{
		[ -f "${SMS_LOG:-}" ] && tr ' ' '\n' <"$SMS_LOG" |
		    sed -n 's/^\(mobile\|code\)=\([0-9]\{6,\}\)$/\2/p'
		[ -f "${FLOG:-}" ] && jq -r 'select(type == "object") |
		    (.mobile // empty), (.code // empty)' "$FLOG" 2>/dev/null |
		    grep -E '^[0-9]{6,}$'
	} | sort -u >"$T/secrets.want"
	if [ ${#logs[@]} = 0 ] || [ ! -s "$T/secrets.want" ]; then
		return 0
	fi
	seen=$(awk 'NR == FNR { want[$1] = 1; next }
	    {
		l = $0
		gsub(/\[[0-9]+\]/, "", l)
		gsub(/(worker|sender|child|pid)[ =:]+[0-9]+/, "", l)
		gsub(/"pid":[0-9]+/, "", l)
		while (match(l, /[0-9]+/)) {
			t = substr(l, RSTART, RLENGTH)
			if ((t in want) && !((FILENAME, t) in said)) {
				said[FILENAME, t] = 1
				n = split(FILENAME, p, "/")
				printf "%s%s has %s", sep, p[n], t
				sep = "; "
			}
			l = substr(l, RSTART + RLENGTH)
		}
	    }' "$T/secrets.want" "${logs[@]}")
	expect_eq "no SMS code or full mobile ($(wc -l <"$T/secrets.want") seen) in vcode's own logs" "" "$seen"
}

# it_done: the secrets check, then the marker and the tally; exits 0 or 1.
it_done() {
	# Once: a check that bails out calls it_done again.
	if [ -z "${IT_SECRETS_DONE:-}" ]; then
		IT_SECRETS_DONE=1
		it_secrets
	fi
	echo "# $IT_NAME: $PASSN passed, $FAILN failed"
	echo "# done $IT_NAME"
	[ "$FAILN" -eq 0 ] && exit 0
	exit 1
}

# ---- processes ------------------------------------------------------------

# alive PID: the process exists and is not a zombie.
alive() {
	local st
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# track PID: remember a process for the final clean-up.
track() { [ -n "$1" ] && echo "$1" >>"$T/pids"; }

# children PID: live children of PID, sorted, space separated.
children() {
	local c out=""
	for c in $(pgrep -P "$1" 2>/dev/null | sort -n); do
		alive "$c" && out="$out $c"
	done
	echo "${out# }"
}

# wait_gone SECONDS PID...: polls until none is alive; 1 on timeout.
wait_gone() {
	local n=$(($1 * 20)) p any
	shift
	while [ $n -gt 0 ]; do
		any=0
		for p in "$@"; do alive "$p" && any=1; done
		[ $any = 0 ] && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# wait_for SECONDS 'CODE': polls the shell code CODE (evaluated anew each
# time, every 50 ms) until it succeeds; 1 on timeout.
wait_for() {
	local n=$(($1 * 20))
	while [ $n -gt 0 ]; do
		eval "$2" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# stop_pid PID [SIGNAL]: signal, wait up to 3 s, then SIGKILL it and its
# children.
stop_pid() {
	local p=$1 c
	alive "$p" || return 0
	c=$(children "$p")
	kill -CONT "$p" 2>/dev/null
	kill "-${2:-TERM}" "$p" 2>/dev/null
	if ! wait_gone 3 "$p"; then
		kill -KILL "$p" 2>/dev/null
		wait_gone 1 "$p"
	fi
	for p in $c; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
	return 0
}

it_cleanup() {
	local p
	trap - EXIT INT TERM HUP
	[ -n "$T" ] && [ -d "$T" ] || return 0
	if [ -s "$T/nginx.pid" ]; then
		for p in $(children "$(cat "$T/nginx.pid")"); do track "$p"; done
		stop_pid "$(cat "$T/nginx.pid")"
	fi
	[ -n "$VC_MASTER" ] && for p in $(children "$VC_MASTER"); do track "$p"; done
	if [ -f "$T/pids" ]; then
		for p in $(tac "$T/pids"); do stop_pid "$p"; done
	fi
	if [ "${IT_KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}

# it_init: the temporary folder and the traps. Call first.
it_init() {
	T=$(mktemp -d /tmp/vcode-it.XXXXXX) || { echo "FAIL - setup: mktemp"; exit 1; }
	# nginx workers and vcoded workers run as www-data when we are root:
	# they must reach the sockets and the SMS log in here.
	chmod 755 "$T"
	: >"$T/pids"
	: >"$T/sms.log"
	chmod 666 "$T/sms.log"
	trap it_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# A private copy of the binary: a rebuild during the run (make in
	# another terminal) cannot swap or half-write it under the tests.
	local n=20
	while [ $n -gt 0 ]; do
		if cp "$VCODED" "$T/vcoded" 2>/dev/null && "$T/vcoded" -h >/dev/null 2>&1; then
			break
		fi
		sleep 0.5
		n=$((n - 1))
	done
	[ $n -gt 0 ] || it_bail "cannot copy a working $VCODED"
	it_paths
	write_conf
}

# it_paths: the paths of the test's own files, inside $T.
it_paths() {
	VCODED=$T/vcoded
	REDIS_SOCK=$T/redis.sock
	VC_SOCK=$T/vcoded.sock
	SMS_LOG=$T/sms.log
	CONF=$T/vcode.conf
}

# it_move NAME: the test's folder, before anything has started in it,
# renamed /tmp/NAME.SUFFIX, so that a clean-up of stale /tmp/vcode-it.*
# folders (test runs elsewhere) cannot take a long run's.
it_move() {
	local to=/tmp/$1.${T##*.}
	mv "$T" "$to" || it_bail "cannot rename $T"
	T=$to
	it_paths
}

# write_conf [EXTRA LINES...]: the base configuration file that every mode
# reads with -c; scenarios override keys through VCODE_* variables.
write_conf() {
	{
		echo "# written by $IT_NAME"
		echo "listen = unix:$VC_SOCK"
		echo "redis = unix:$REDIS_SOCK"
		echo "sms_log_file = $SMS_LOG"
		echo "sms_provider = log"
		echo "workers = 3"
		# The suite runs 50 curls at once on a 2-core, shared machine:
		# a Redis reply can then take longer than the 200 ms default.
		# Tests of the timeout itself set VCODE_REDIS_TIMEOUT_MS.
		echo "redis_timeout_ms = 2000"
		# The fraud guard shuts a network whose codes are not verified,
		# and the tests' requests come from one address and verify few:
		# the other tests check today's limits with it off (as the
		# guard's own tests do with VCODE_FRAUD_GUARD=enforce or record).
		echo "fraud_guard = off"
		for l in "$@"; do echo "$l"; done
	} >"$CONF"
	chmod 644 "$CONF"
}

# ---- redis ----------------------------------------------------------------

# rcli ARGS...: redis-cli on the test's Redis (database RCLI_DB if set).
rcli() { timeout 5 redis-cli -s "$REDIS_SOCK" ${RCLI_DB:+-n "$RCLI_DB"} "$@"; }

# start_redis [redis-server ARGS...]: the test's Redis on $REDIS_SOCK; ARGS
# override the defaults (--appendonly yes: data that outlives a restart).
start_redis() {
	local n=100
	rm -f "$REDIS_SOCK"
	redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 777 \
	    --save '' --appendonly no --daemonize no --dir "$T" \
	    --logfile "$T/redis.log" "$@" >/dev/null 2>&1 &
	REDIS_PID=$!
	track "$REDIS_PID"
	while [ $n -gt 0 ]; do
		[ "$(rcli ping 2>/dev/null)" = PONG ] && return 0
		alive "$REDIS_PID" || break
		sleep 0.05
		n=$((n - 1))
	done
	it_bail "redis-server did not answer PING on $REDIS_SOCK"
}

# start_tcp_redis NAME [redis-server ARGS...]: a second redis-server on a
# free loopback port, retried on another port when one is taken between
# the check and the bind. Sets TCP_REDIS_PORT and TCP_REDIS_PID; 1 when
# none answered (the log is $T/NAME.log).
start_tcp_redis() {
	local name=$1 tries=5 n
	shift
	while [ $tries -gt 0 ]; do
		TCP_REDIS_PORT=$(free_port) || return 1
		redis-server --port "$TCP_REDIS_PORT" --bind 127.0.0.1 --save '' \
		    --appendonly no --daemonize no --dir "$T" \
		    --logfile "$T/$name.log" "$@" >/dev/null 2>&1 &
		TCP_REDIS_PID=$!
		track "$TCP_REDIS_PID"
		n=100
		while [ $n -gt 0 ] && alive "$TCP_REDIS_PID"; do
			redis-cli -h 127.0.0.1 -p "$TCP_REDIS_PORT" --no-auth-warning \
			    ${TCP_REDIS_PASS:+-a "$TCP_REDIS_PASS"} ping 2>/dev/null |
			    grep -q PONG && return 0
			sleep 0.05
			n=$((n - 1))
		done
		stop_pid "$TCP_REDIS_PID"
		tries=$((tries - 1))
	done
	return 1
}

stop_redis() {
	stop_pid "$REDIS_PID"
	REDIS_PID=""
}

# ---- nginx ----------------------------------------------------------------

# free_port: a high TCP port nothing listens on at 127.0.0.1.
free_port() {
	local n=50 p
	while [ $n -gt 0 ]; do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
		n=$((n - 1))
	done
	return 1
}

# start_nginx: nginx from deploy/nginx.conf.in, or from the template
# NGINX_CONF_IN names (a bench's copy with a location of its own), its
# @...@ placeholders filled; sets PORT and BASE.
start_nginx() {
	local user_line="" tries=5
	[ "$(id -u)" = 0 ] && user_line="user www-data www-data;"
	while [ $tries -gt 0 ]; do
		PORT=$(free_port) || it_bail "no free port"
		# NGINX_VERIFY_OPEN=1: /verify open to all, as run.sh
		# leaves it when an api_key is set.
		local va="allow 127.0.0.1; allow ::1; deny all;"
		[ "${NGINX_VERIFY_OPEN:-0}" = 1 ] && va="# open"
		sed -e "s|@USER_LINE@|$user_line|" -e "s|@RUNDIR@|$T|g" \
		    -e "s|@VERIFY_ACCESS@|$va|" \
		    -e "s|@SOCKET@|$VC_SOCK|g" -e "s|@LISTEN@|127.0.0.1:$PORT|g" \
		    -e "s|@WWW@|$ROOT/deploy/www|g" \
		    "${NGINX_CONF_IN:-$ROOT/deploy/nginx.conf.in}" \
		    >"$T/nginx.conf"
		if nginx -e "$T/nginx-start.log" -c "$T/nginx.conf" -p "$T" \
		    >>"$T/nginx-start.log" 2>&1; then
			if wait_for 5 '[ -s "$T/nginx.pid" ]'; then
				track "$(cat "$T/nginx.pid")"
				BASE=http://127.0.0.1:$PORT
				return 0
			fi
		fi
		tries=$((tries - 1))
	done
	it_bail "nginx did not start (see nginx-start.log)"
}

# answers_pipe TAG N TTL: N captcha answers as redis-cli --pipe input
# (SET img_ls-TAG-K ANSWER EX TTL), the answer of K spelled as
# tests/load/sms.lua's answer() spells it, so that a load that cannot
# read pictures can still pass the captcha (make loadtest, make bench).
answers_pipe() {
	awk -v tag="$1" -v n="$2" -v ttl="$3" 'BEGIN {
		cs = "369ACDEFHKLMNPRTUVW"
		for (k = 0; k < n; k++) {
			a = ""; m = k
			for (i = 0; i < 4; i++) {
				a = a substr(cs, m % 19 + 1, 1); m = int(m / 19)
			}
			printf "SET img_ls-%s-%d %s EX %d\r\n", tag, k, a, ttl
		}
	}'
}

# ---- apache ---------------------------------------------------------------

# start_apache SNIPPET: Debian's apache2 as an unprivileged instance of its
# own (ServerRoot, PidFile, logs, IPC in $T/apache) on a free loopback
# port, including deploy/apache/SNIPPET with the test's paths Defined
# (socket, binary, configuration, CGI folder $T/cgi-bin), and each name
# of APACHE_DEFINES Defined (VCODE_API_KEY_SET). Sets APORT and ABASE; as
# root its children run as www-data.
start_apache() {
	local snip=$1 tries=5 user="" defs="" d
	for d in ${APACHE_DEFINES:-}; do defs="${defs}Define $d
"; done
	local A=$T/apache M=/usr/lib/apache2/modules
	command -v apache2 >/dev/null || it_bail "apache2 not found (apt-get install apache2-bin libapache2-mod-fcgid)"
	mkdir -p "$A/fcgid" "$T/cgi-bin"
	chmod 777 "$A/fcgid"
	[ "$(id -u)" = 0 ] && user="User www-data
Group www-data"
	while [ $tries -gt 0 ]; do
		APORT=$(free_port) || it_bail "no free port"
		cat >"$A/httpd.conf" <<EOC
Define VCODE_SOCKET $VC_SOCK
Define VCODED $VCODED
Define VCODE_CONFIG $CONF
Define VCODE_CGI_DIR $T/cgi-bin
$defs
ServerRoot $A
ServerName 127.0.0.1
Listen 127.0.0.1:$APORT
PidFile $A/httpd.pid
ErrorLog $A/error.log
LogLevel warn
LogFormat "%h \"%m %U\" %>s %b" vcode
CustomLog $A/access.log vcode
DefaultRuntimeDir $A
Mutex file:$A
$user
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_host_module $M/mod_authz_host.so
LoadModule alias_module $M/mod_alias.so
LoadModule env_module $M/mod_env.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_fcgi_module $M/mod_proxy_fcgi.so
LoadModule fcgid_module $M/mod_fcgid.so
LoadModule cgid_module $M/mod_cgid.so
FcgidIPCDir $A/fcgid
FcgidProcessTableFile $A/fcgid/shm
ScriptSock $A/cgid.sock
Include $ROOT/deploy/apache/$snip
EOC
		rm -f "$A/httpd.pid"
		if apache2 -f "$A/httpd.conf" -k start >>"$A/start.log" 2>&1; then
			if wait_for 5 '[ -s "$A/httpd.pid" ]'; then
				track "$(cat "$A/httpd.pid")"
				ABASE=http://127.0.0.1:$APORT
				return 0
			fi
		fi
		tries=$((tries - 1))
	done
	it_bail "apache2 did not start: $(tail -n 5 "$A/start.log" "$A/error.log" 2>/dev/null)"
}

# stop_apache: the instance and every process it started.
stop_apache() {
	local p
	[ -s "$T/apache/httpd.pid" ] || return 0
	p=$(cat "$T/apache/httpd.pid")
	apache2 -f "$T/apache/httpd.conf" -k stop >/dev/null 2>&1
	wait_gone 5 "$p" || stop_pid "$p"
	rm -f "$T/apache/httpd.pid"
}

# ---- vcoded ---------------------------------------------------------------

# start_vcoded MODE [VCODE_KEY=VALUE...]: MODE is spawn (spawn-fcgi, 4
# processes) or prefork (vcoded alone, config workers). Waits until
# /healthz answers 200 through nginx. Returns 1 (after a FAIL) when it
# does not come up.
start_vcoded() {
	local mode=$1 n p
	shift
	MODE=$mode
	VC_MASTER=""
	rm -f "$VC_SOCK"
	case $mode in
	spawn)
		VC_PIDFILE=$T/spawn.pid
		rm -f "$VC_PIDFILE"
		local own=""
		[ "$(id -u)" = 0 ] && own="-U www-data -G www-data"
		# shellcheck disable=SC2086
		env "$@" spawn-fcgi -s "$VC_SOCK" -M 0660 $own -F 4 \
		    -P "$VC_PIDFILE" -- "$VCODED" -c "$CONF" >"$T/spawn.out" 2>&1
		for p in $(cat "$VC_PIDFILE" 2>/dev/null); do track "$p"; done
		;;
	prefork)
		env "$@" "$VCODED" -c "$CONF" >>"$T/vcoded.stderr" 2>&1 &
		VC_MASTER=$!
		track "$VC_MASTER"
		;;
	*)
		echo "start_vcoded: unknown mode $mode" >&2
		return 1
		;;
	esac
	n=100
	local hc ready
	while [ $n -gt 0 ]; do
		ready=no
		if [ -S "$VC_SOCK" ]; then
			hc=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz")
			[ "$hc" = 200 ] && ready=yes
			# VC_READY_ANY=1: any answer from vcoded will do (Redis
			# deliberately unreachable)
			[ "${VC_READY_ANY:-0}" = 1 ] && [ "$hc" = 503 ] && ready=yes
		fi
		if [ $ready = yes ]; then
			# the pool may still be forking: wait for all workers.
			[ "$mode" = spawn ] && return 0
			[ "$(set -- $(children "$VC_MASTER"); echo $#)" -ge 1 ] &&
			    return 0
		fi
		if [ "$mode" = prefork ] && ! alive "$VC_MASTER"; then
			break
		fi
		sleep 0.05
		n=$((n - 1))
	done
	FAILN=$((FAILN + 1))
	echo "FAIL - start vcoded ($mode): /healthz did not answer through nginx within 5 s (last: ${hc:-none})"
	it_logs
	return 1
}

# workers: the live worker PIDs, sorted, space separated.
workers() {
	local p out=""
	if [ "$MODE" = prefork ]; then
		children "$VC_MASTER"
		return
	fi
	for p in $(sort -n "$VC_PIDFILE" 2>/dev/null); do
		alive "$p" && out="$out $p"
	done
	echo "${out# }"
}

# nworkers: how many.
nworkers() { set -- $(workers); echo $#; }

# wait_workers N: polls up to 5 s for exactly N live workers.
wait_workers() {
	local n=100
	while [ $n -gt 0 ]; do
		[ "$(nworkers)" = "$1" ] && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

stop_vcoded() {
	local p
	if [ "$MODE" = prefork ] && [ -n "$VC_MASTER" ]; then
		local c
		c=$(children "$VC_MASTER")
		stop_pid "$VC_MASTER"
		for p in $c; do stop_pid "$p"; done
	elif [ "$MODE" = spawn ]; then
		for p in $(cat "$VC_PIDFILE" 2>/dev/null); do stop_pid "$p"; done
	fi
	VC_MASTER=""
	MODE=none
	rm -f "$VC_SOCK"
}

# restart [VCODE_KEY=VALUE...]: vcoded (prefork) again with these overrides.
restart() {
	stop_vcoded
	start_vcoded prefork "$@"
}

# it_up MODE [VCODE_KEY=VALUE...]: redis (if not running), nginx (if not
# running) and vcoded.
it_up() {
	[ -n "$REDIS_PID" ] || start_redis
	[ -n "$BASE" ] || start_nginx
	start_vcoded "$@"
}

# ---- HTTP -----------------------------------------------------------------

# http METHOD PATH [CURL ARGS...]: one request through nginx. Sets H_STATUS
# (or "curl-error:..."), H_BODY (NULs dropped), H_CTYPE; the raw reply is
# in $T/last.body and headers in $T/last.hdr.
http() {
	local m=$1 p=$2
	shift 2
	local -a mflag=(-X "$m")
	[ "$m" = HEAD ] && mflag=(-I)
	: >"$T/last.hdr"
	: >"$T/last.body"
	H_STATUS=$(curl -sS --path-as-is --max-time "$CURL_MAX" "${mflag[@]}" \
	    -o "$T/last.body" -D "$T/last.hdr" -w '%{http_code}' "$@" \
	    "$BASE$p" 2>"$T/last.err") || H_STATUS="curl-error:$(head -c 200 "$T/last.err")"
	H_BODY=$(tr -d '\000' <"$T/last.body")
	H_CTYPE=$(hdr Content-Type)
}

# hdr NAME: a header of the last reply (last occurrence), without CR.
hdr() {
	grep -i "^$1:" "$T/last.hdr" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# jv FILTER: jq -c FILTER over the last body, or "<not json: ...>".
jv() {
	local out
	if out=$(printf '%s' "$H_BODY" | jq -c "$1" 2>/dev/null) && [ -n "$out" ]; then
		printf '%s' "$out"
	else
		printf '<not json: %s>' "$(show "${H_BODY:0:200}")"
	fi
}

# expect_reply NAME STATUS FILTER VALUE: HTTP status and one JSON value.
expect_reply() {
	expect_eq "$1" "$2 $4" "$H_STATUS $(jv "$3")"
}

# ---- dialects -------------------------------------------------------------

DIALECTS="meiduo ihome news"

# code DIALECT NAME: the JSON value (jq -c form) of an outcome.
code() {
	local m i
	case $2 in
	OK)		m=0	i=0 ;;
	IMG_MISSING)	m=4001	i=4002 ;;
	IMG_WRONG)	m=4001	i=4103 ;;
	THROTTLE)	m=4002	i=4201 ;;
	NECESSARY)	m=4003	i=4002 ;;
	MOBILE)		m=4007	i=4004 ;;
	PARAM)		m=5006	i=4103 ;;
	DB)		m=5000	i=4001 ;;
	SEND)		m=5010	i=4301 ;;
	*) echo "code: unknown $2" >&2; return 1 ;;
	esac
	if [ "$1" = meiduo ]; then echo "$m"; else echo "\"$i\""; fi
}

# field DIALECT: the JSON field holding the code.
field() { if [ "$1" = meiduo ]; then echo .code; else echo .errno; fi; }

# expect_code NAME DIALECT STATUS OUTCOME: status and the dialect's code.
expect_code() {
	expect_reply "$1" "$3" "$(field "$2")" "$(code "$2" "$4")"
}

# expect_shape NAME DIALECT: the reply is exactly the dialect's JSON shape.
expect_shape() {
	if [ "$2" = meiduo ]; then
		expect_eq "$1" '[["code","errmsg"],"number","string"]' \
		    "$(jv '[keys, (.code|type), (.errmsg|type)]')"
	else
		expect_eq "$1" '[["errmsg","errno"],"string","string"]' \
		    "$(jv '[keys, (.errno|type), (.errmsg|type)]')"
	fi
}

ckey() {
	case $1 in
	meiduo) echo "img_$2" ;; ihome) echo "image_code_$2" ;;
	news) echo "ImageCode_$2" ;;
	esac
}
skey() {
	case $1 in
	meiduo) echo "sms_$2" ;; ihome) echo "sms_code_$2" ;;
	news) echo "SMS_$2" ;;
	esac
}
fkey() {
	case $1 in
	meiduo|news) echo "send_flag_$2" ;; ihome) echo "send_sms_code_$2" ;;
	esac
}

new_id() { cat /proc/sys/kernel/random/uuid; }

# new_mobile: a mobile number this file has not used yet, each in a number
# block of its own (the first 7 digits vary), so that prefix_hourly_limit
# only bites where a test means it to. The counter is kept in a file:
# new_mobile runs in $(...) subshells.
new_mobile() {
	local n
	n=$(($(cat "$T/mseq" 2>/dev/null || echo 0) + 1))
	echo "$n" >"$T/mseq"
	printf '1%d%05d%04d\n' $((3 + (n / 100000) % 7)) $((n % 100000)) $((n % 10000))
}

# image DIALECT ID [EXTRA QUERY]: GET the captcha image.
image() {
	local q=${3:+&$3}
	case $1 in
	meiduo) http GET "/image_codes/$2/${3:+?$3}" ;;
	ihome)	http GET "/image_code/?uuid=$2$q" ;;
	news)	http GET "/passport/image_code?code_id=$2$q" ;;
	esac
}

# captcha DIALECT ID: fetches an image and sets ANSWER from Redis (the
# test plays the human). Returns 1 when either step failed.
captcha() {
	ANSWER=""
	image "$1" "$2"
	[ "$H_STATUS" = 200 ] || return 1
	ANSWER=$(rcli get "$(ckey "$1" "$2")")
	[ -n "$ANSWER" ]
}

# sms DIALECT MOBILE TEXT ID [CURL ARGS...]: ask for an SMS code.
sms() {
	local d=$1 m=$2 t=$3 id=$4
	shift 4
	case $d in
	meiduo)
		http GET "/sms_codes/$m/" -G --data-urlencode "image_code=$t" \
		    --data-urlencode "uuid=$id" "$@" ;;
	ihome)
		http POST /sms_code -H 'Content-Type: application/json' \
		    --data-binary "$(jq -cn --arg m "$m" --arg t "$t" --arg u "$id" \
		    '{mobile:$m, image_code:$t, uuid:$u}')" "$@" ;;
	news)
		http POST /passport/sms_code -H 'Content-Type: application/json' \
		    --data-binary "$(jq -cn --arg m "$m" --arg t "$t" --arg u "$id" \
		    '{mobile:$m, image_code:$t, image_code_id:$u}')" "$@" ;;
	esac
}

# sms_raw DIALECT BODY [CURL ARGS]: POST a raw body to the dialect's SMS
# route (ihome/news only).
sms_raw() {
	local d=$1 b=$2 path=/sms_code
	shift 2
	[ "$d" = news ] && path=/passport/sms_code
	http POST "$path" -H 'Content-Type: application/json' --data-binary "$b" "$@"
}

# sms_json DIALECT MOBILE TEXT ID: the JSON body for ihome/news.
sms_json() {
	local idf=uuid
	[ "$1" = news ] && idf=image_code_id
	jq -cn --arg m "$2" --arg t "$3" --arg u "$4" --arg f "$idf" \
	    '{mobile:$m, image_code:$t} + {($f):$u}'
}

# try_send DIALECT MOBILE: a full captcha + SMS round (the reply in H_*);
# 1 when the captcha could not be fetched.
try_send() {
	local id
	id=$(new_id)
	captcha "$1" "$id" || return 1
	sms "$1" "$2" "$ANSWER" "$id"
}

# try_new VAR DIALECT: try_send to a new mobile, which is kept in VAR and
# in USED (the values logs_clean looks for in the logs).
try_new() {
	printf -v "$1" %s "$(new_mobile)"
	USED+=("${!1}")
	try_send "$2" "${!1}"
}

# send_ok DIALECT MOBILE: try_send; 0 when the reply is OK.
send_ok() {
	try_send "$1" "$2" || return 1
	[ "$(jv "$(field "$1")")" = "$(code "$1" OK)" ]
}

# rolled_back NAME DIALECT MOBILE: a refused delivery left no code, no
# resend flag and no count of the daily limit.
rolled_back() {
	local v
	expect_eq "$1: code and resend flag rolled back" "0 0" \
	    "$(rcli exists "$(skey "$2" "$3")") $(rcli exists "$(fkey "$2" "$3")")"
	v=$(rcli get "vcode:daily:$3")
	expect_eq "$1: not counted in the daily limit" 0 "${v:-0}"
}

# log_code MOBILE: the code of the last dev-SMS line for MOBILE.
log_code() {
	grep -a "mobile=$1 " "$SMS_LOG" | tail -n 1 | sed -n 's/.* code=\([^ ]*\).*/\1/p'
}

# log_count MOBILE: how many dev-SMS lines name MOBILE.
log_count() { grep -ac "mobile=$1 " "$SMS_LOG"; }

# verify MOBILE CODE [CURL ARGS]: the meiduo verify route.
verify() {
	local m=$1 c=$2
	shift 2
	http POST "/sms_codes/$m/verify" -H 'Content-Type: application/json' \
	    --data-binary "$(jq -cn --arg c "$c" '{sms_code:$c}')" "$@"
}

# check_ttls NAME: every key in Redis has a TTL (> 0).
check_ttls() {
	local k t bad="" n=0
	while IFS= read -r k; do
		[ -n "$k" ] || continue
		n=$((n + 1))
		t=$(rcli ttl "$k")
		# -2: expired between SCAN and TTL; 0: under a second left. Both fine.
		[ "$t" -ge 0 ] 2>/dev/null || [ "$t" = -2 ] || bad="$bad $k($t)"
	done < <(rcli --scan)
	expect_eq "$1 (over $n keys)" "" "${bad# }"
}

# png_size FILE: "WIDTHxHEIGHT" from the IHDR of a PNG, or "not png".
png_size() {
	local sig w h
	sig=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
	if [ "$sig" != 89504e470d0a1a0a ]; then echo "not png"; return; fi
	w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	echo "${w}x$h"
}

# ---- the stand-in SMS provider (fake_sms.py) --------------------------------

# fake_init: the stand-in's files ($FLOG: one JSON line per request; $FMODE:
# how it answers). Call after it_init.
fake_init() {
	FLOG=$T/fake_sms.log
	FMODE=$T/fake_sms.mode
	FPORTF=$T/fake_sms.port
	FAKE_PID=""
	FP=""
	: >"$FLOG"
}

# Local test data, not real credentials. The wrong ones have the same
# lengths as the right ones, so that no length rule can refuse them at
# start-up: only the provider side can tell.
SID=8aaf0708fakefake0123456789abcdef
TOKEN=fake-auth-token-0123456789abcdef
TOKEN_BAD=wrong-auth-token-123456789abcdef
APP=8a216da8fakeapp0123456789abcdef0
WSECRET=fake-webhook-secret-0123456789ab
WSECRET_BAD=wrong-webhook-secret-123456789ab
AKID=LTAI5tFakeFakeFake01234567
AKSECRET=fake-aliyun-secret-0123456789abc
AKSECRET_BAD=wrong-aliyun-secret-123456789abc
TCID=AKIDfakefakefake0123456789abcdefghij
TCKEY=fake-tencent-key-0123456789abcde
TCKEY_BAD=wrong-tencent-key-123456789abcde
TCAPP=1400000001


# fake_start [PORT]: runs the stand-in on PORT (the one it had, after
# fake_stop), else on a new free port (sets FAKE_PID, FP).
fake_start() {
	local n=100
	rm -f "$FPORTF"
	python3 "$IT_DIR/fake_sms.py" --port-file "$FPORTF" --log "$FLOG" \
	    --mode-file "$FMODE" --ccp-sid "$SID" --ccp-token "$TOKEN" \
	    --ccp-app "$APP" --webhook-secret "$WSECRET" ${1:+--port "$1"} \
	    --aliyun-id "$AKID" --aliyun-secret "$AKSECRET" \
	    --tencent-id "$TCID" --tencent-key "$TCKEY" --tencent-app "$TCAPP" \
	    >>"$T/fake_sms.stderr" 2>&1 &
	FAKE_PID=$!
	track "$FAKE_PID"
	while [ $n -gt 0 ]; do
		if [ -s "$FPORTF" ]; then
			FP=$(cat "$FPORTF")
			return 0
		fi
		alive "$FAKE_PID" || break
		sleep 0.05
		n=$((n - 1))
	done
	it_bail "fake_sms.py wrote no port within 5 s: $(head -c 300 "$T/fake_sms.stderr" 2>/dev/null)"
}

fake_stop() { stop_pid "$FAKE_PID"; }

set_mode() { printf '%s\n' "$1" >"$FMODE"; }

# fcount MOBILE: how many requests for MOBILE reached the stand-in.
fcount() {
	jq -s --arg m "$1" '[.[] | select(.mobile == $m)] | length' "$FLOG"
}

# flast MOBILE FILTER: FILTER (jq -c) over the stand-in's last line for
# MOBILE; flast_r: the same, raw.
flast() {
	jq -sc --arg m "$1" "[.[] | select(.mobile == \$m)] | last | $2" "$FLOG"
}
flast_r() {
	jq -sr --arg m "$1" "[.[] | select(.mobile == \$m)] | last | $2 // \"\"" "$FLOG"
}

# xentries KEY [START END]: the entries of stream KEY as JSON objects
# [{"id": ID, FIELD: VALUE...}], from redis-cli's flat arrays.
xentries() {
	rcli --json xrange "$1" "${2:--}" "${3:-+}" |
	    jq -c '[.[] | .[1] as $f | {id: .[0]} + ([range(0; $f | length; 2) as $i | {($f[$i]): $f[$i + 1]}] | add // {})]'
}

# ---- the SMS senders (sms_delivery = queue) ---------------------------------
# Set SMSD to the vcode-smsd binary and CONF to the configuration first.

# smsd_init: it_init for a test of the senders: vcode-smsd (built beside
# VCODED) copied in as SMSD, and the stand-in provider started.
smsd_init() {
	local src
	src=$(dirname "$VCODED")/vcode-smsd
	need_vcoded
	[ -x "$src" ] || it_bail "$src not built (run make)"
	it_init
	command -v python3 >/dev/null || it_bail "python3 not found (fake_sms.py needs it)"
	cp "$src" "$T/vcode-smsd" || it_bail "cannot copy $src"
	SMSD=$T/vcode-smsd
	fake_init
	fake_start
}

# queue_conf [LINE...]: vcode.conf for queued delivery through the
# stand-in's webhook (fake_start first), every limit off, debug log, then
# the lines given.
queue_conf() {
	write_conf "sms_delivery = queue" "sms_provider = webhook" \
	    "webhook_url = http://127.0.0.1:$FP/hook" \
	    "webhook_secret = $WSECRET" "sms_interval = 0" \
	    "ip_hourly_limit = 0" "prefix_hourly_limit = 0" \
	    "sms_hourly_budget = 0" "sms_daily_limit = 0" \
	    "log_level = debug" "$@"
}

SMSD_PIDS=()
# smsd_start NAME [VCODE_KEY=VALUE...]: a sender in the foreground of a
# background job, its log in $T/NAME.log; sets SPID. Waits for its first
# log line.
smsd_start() {
	local name=$1 n=100
	shift
	env "$@" "$SMSD" -c "$CONF" >>"$T/smsd-$name.log" 2>&1 &
	SPID=$!
	track "$SPID"
	SMSD_PIDS+=("$SPID")
	while [ $n -gt 0 ]; do
		grep -q "sending from" "$T/smsd-$name.log" 2>/dev/null && return 0
		alive "$SPID" || break
		sleep 0.05
		n=$((n - 1))
	done
	it_bail "vcode-smsd ($name) did not start: $(tail -n 3 "$T/smsd-$name.log")"
}

# smsd_stop PID: SIGTERM and wait; its exit status in SRC.
smsd_stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	SRC=$?
}

# queue_n N FILE [DIALECT]: N SMS requests, each for a new mobile, whose
# mobiles (OK replies only) are appended to FILE. Sets QOK to how many
# answered OK.
queue_n() {
	local i m d=${3:-meiduo}
	QOK=0
	for i in $(seq "$1"); do
		m=$(new_mobile)
		if send_ok "$d" "$m"; then
			QOK=$((QOK + 1))
			echo "$m" >>"$2"
		fi
	done
}

# accepted: per mobile, how many requests the stand-in accepted (verified
# and answered as sent), as "MOBILE COUNT" lines.
accepted() {
	jq -r 'select(.ok and .mode != "refuse") | .mobile' "$FLOG" | sort | uniq -c |
	    awk '{print $2, $1}'
}

# tally FILE: "once=N missing=N extra=N" over the mobiles in FILE.
tally() {
	accepted >"$T/acc"
	awk 'NR == FNR { n[$1] = $2; next }
	    { c = n[$1] + 0; if (c == 1) o++; else if (c == 0) m++; else x += c - 1 }
	    END { printf "once=%d missing=%d extra=%d\n", o, m, x }' \
	    "$T/acc" "$1"
}

all_once() { [ "$(tally "$1")" = "once=$(wc -l <"$1") missing=0 extra=0" ]; }
outbox_empty() { [ "$(rcli xlen vcode:outbox)" = 0 ] && [ "$(rcli zcard vcode:outbox:retry)" = 0 ]; }
ostat() { local v; v=$(rcli hget vcode:outbox:stats "$1"); echo "${v:-0}"; }
pending() { rcli xpending vcode:outbox vcode-smsd | head -n 1; }
stats_reset() { rcli del vcode:outbox:stats >/dev/null; }

# logs_clean WHAT SECRET_VAR... : no value of USED (the codes and mobiles
# a test used), as a whole run of digits, and no value of the named
# variables (credentials) in $LOGS; the stand-in wrote nothing on its
# stderr. WHAT names the logs read.
logs_clean() {
	local what=$1 v hits="" n=0
	shift
	for v in "${USED[@]}"; do
		[ -n "$v" ] || continue
		n=$((n + 1))
		grep -Eq "(^|[^0-9])$v([^0-9]|\$)" <<<"$LOGS" && hits="$hits $v"
	done
	expect_eq "no code or full mobile in $what ($n values)" "" "${hits# }"
	hits=""
	for v in "$@"; do
		grep -qF -- "${!v}" <<<"$LOGS" && hits="$hits $v"
	done
	expect_eq "no credential in $what" "" "${hits# }"
	expect_eq "the stand-in wrote nothing on stderr" "" \
	    "$(head -c 300 "$T/fake_sms.stderr" 2>/dev/null)"
}

# fake_refused NAME JSON: what the stand-in refused, as a sorted JSON list
# of "kind: reason", is JSON (anything else is a wire format that does not
# match the provider's).
fake_refused() {
	expect_eq "$1" "$2" \
	    "$(jq -sc '[.[] | select(.ok == false) | "\(.kind): \(.reason)"] | unique' "$FLOG")"
}

# cfgt NAME EXPECTED_STATUS KEY_OR_EMPTY [VCODE_KEY=VALUE...]: vcoded -t
# on $CONF with these overrides exits so, its message naming KEY.
cfgt() {
	local name=$1 want=$2 key=$3 rc
	shift 3
	env "$@" "$VCODED" -t -c "$CONF" >"$T/cfg.out" 2>"$T/cfg.err"
	rc=$?
	expect_eq "$name: exit status" "$want" "$rc"
	[ -n "$key" ] && expect_match "$name: the message names $key" "$key" \
	    "$(cat "$T/cfg.err")"
	return 0
}

# ---- the verify route from a stranger ----------------------------------

# other CODE: a 6-digit code that is not CODE.
other() { printf '%06d\n' $(((10#$1 + 1) % 1000000)); }

# outsider NAME STATUS: five wrong guesses at a fresh code from 127.0.0.2
# with "Authorization: Bearer anything": each answered STATUS, none
# counted, and the code verifies from this host after.
outsider() {
	local name=$1 want=$2 m c i seen=""
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(rcli get "sms_$m")
	for i in 1 2 3 4 5; do
		verify "$m" "$(other "$c")" --interface 127.0.0.2 \
		    -H 'Authorization: Bearer anything'
		seen="$seen $H_STATUS"
	done
	expect_eq "$name: 5 wrong guesses from 127.0.0.2 with 'Bearer anything': $want each" \
	    "$(printf " $want%.0s" 1 2 3 4 5)" "$seen"
	[ "$want" = 401 ] && expect_reply "$name: ... vcoded's 401 4101" 401 .code 4101
	expect_eq "$name: ... no attempt counted" 0 "$(rcli exists "vcode:verify:sms_$m")"
	verify "$m" "$c"
	expect_code "$name: ... the code then verifies from 127.0.0.1" meiduo 200 OK
}

# need_vcoded: bail out early (one FAIL) when the binary is not built.
need_vcoded() {
	[ -x "$VCODED" ] || it_bail "$VCODED not built (run make)"
}
