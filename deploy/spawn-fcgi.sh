#!/bin/sh
# deploy/spawn-fcgi.sh: vcoded under spawn-fcgi, for a web server that
# reaches it on a unix socket (nginx's fastcgi_pass, Apache's
# mod_proxy_fcgi).
#
#   spawn-fcgi.sh start|stop|status
#
# Settings, from the environment (defaults in brackets):
#   VCODED     the binary                   [/usr/local/sbin/vcoded]
#   VCODE_CONF its configuration            [/usr/local/etc/vcode/vcode.conf]
#   SOCKET     the socket to create         [/run/vcode/vcoded.sock]
#   PIDFILE    one pid a line, per process  [/run/vcode/spawn.pid]
#   CHILDREN   processes (-F)               [4]
#   RUN_USER, RUN_GROUP  who they run as, and who owns the socket, mode
#              0660 (-U, -G: only when started as root)   [www-data]
# start runs, in effect:
#   spawn-fcgi -s SOCKET -M 0660 -U RUN_USER -G RUN_GROUP -F CHILDREN \
#       -P PIDFILE -- VCODED -c VCODE_CONF
# vcoded sees a listening socket on fd 0 and serves it; SIGTERM lets each
# process finish the request it is on.
set -eu
VCODED=${VCODED:-/usr/local/sbin/vcoded}
VCODE_CONF=${VCODE_CONF:-/usr/local/etc/vcode/vcode.conf}
SOCKET=${SOCKET:-/run/vcode/vcoded.sock}
PIDFILE=${PIDFILE:-/run/vcode/spawn.pid}
CHILDREN=${CHILDREN:-4}
RUN_USER=${RUN_USER:-www-data}
RUN_GROUP=${RUN_GROUP:-www-data}

alive() {
	[ -s "$PIDFILE" ] || return 1
	for p in $(cat "$PIDFILE"); do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}

case ${1:-} in
start)
	if alive; then
		echo "spawn-fcgi.sh: already running ($(tr '\n' ' ' <"$PIDFILE"))" >&2
		exit 1
	fi
	"$VCODED" -t -c "$VCODE_CONF" >/dev/null || exit 1
	mkdir -p "$(dirname "$SOCKET")" "$(dirname "$PIDFILE")"
	rm -f "$PIDFILE"
	set -- -s "$SOCKET" -M 0660 -F "$CHILDREN" -P "$PIDFILE"
	[ "$(id -u)" = 0 ] && set -- "$@" -U "$RUN_USER" -G "$RUN_GROUP"
	spawn-fcgi "$@" -- "$VCODED" -c "$VCODE_CONF"
	;;
stop)
	[ -s "$PIDFILE" ] || { echo "spawn-fcgi.sh: not running" >&2; exit 0; }
	kill -TERM $(cat "$PIDFILE") 2>/dev/null || true
	n=100
	while alive && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	alive && kill -KILL $(cat "$PIDFILE") 2>/dev/null || true
	rm -f "$PIDFILE" "$SOCKET"
	;;
status)
	if alive; then
		echo "running: $(tr '\n' ' ' <"$PIDFILE")"
	else
		echo "stopped"
		exit 3
	fi
	;;
*)
	echo "usage: spawn-fcgi.sh start|stop|status" >&2
	exit 2
	;;
esac
