#!/bin/sh
# tests/fraudsim/fraudsim.sh: people and a bot against the real stack, with
# the fraud guard off and enforcing (make fraudsim; not part of make test).
#
#   sh tests/fraudsim/fraudsim.sh
#
# The stack is the integration tests' (tests/integration/lib.sh): one
# redis-server on a socket in a temporary folder, nginx on a free
# 127.0.0.1 port, vcoded's prefork pool. For each scenario and mode,
# Redis and vcoded start afresh; fraudsim.py plays two simulated hours
# (see its header) and prints one row. The table, with the goals, is
# printed at the end and written to tests/fraudsim/last.txt.
#
# Knobs (environment): FRAUDSIM_ONLY="spread blocks slow quiet" (or a
# subset, commas allowed), FRAUDSIM_MODES="off enforce" (record too),
# FRAUDSIM_HOUR (seconds per simulated hour, 60), FRAUDSIM_BOT_RATE
# (requests a second of the bursting bots, 16), FRAUDSIM_BOT_START
# (fraction of the hour at which they start, 0.35), FRAUDSIM_SEED (one
# seed for every run), FRAUDSIM_DIALECTS (meiduo,ihome,news when the
# build has their verify routes, else meiduo), IT_KEEP=1 keeps the
# temporary folder (vcoded's log of each run as vcoded-SCENARIO-MODE.log).
# Runtime: about 2.5 minutes per scenario and mode, 20 for all.
#
# Exit status: 0 when every goal holds in enforce mode (attacks: the bot
# gets at most 10 % of the budget and at least 95 % of people from known
# networks are served; quiet hour: nobody refused), 1 otherwise.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

FS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$FS_DIR/../integration/lib.sh"

HOUR=${FRAUDSIM_HOUR:-60}
ONLY=${FRAUDSIM_ONLY:-spread blocks slow quiet}
MODES=${FRAUDSIM_MODES:-off enforce}
ONLY=${ONLY//,/ }
MODES=${MODES//,/ }
export FRAUDSIM_HOUR=$HOUR

for s in $ONLY; do
	case $s in spread|blocks|slow|quiet) ;;
	*) echo "fraudsim: unknown scenario '$s' (spread blocks slow quiet)" >&2
	   exit 2 ;;
	esac
done
for m in $MODES; do
	case $m in off|record|enforce) ;;
	*) echo "fraudsim: unknown mode '$m' (off record enforce)" >&2; exit 2 ;;
	esac
done
command -v python3 >/dev/null || { echo "fraudsim: python3 not found" >&2; exit 2; }

need_vcoded
it_init
it_move vcode-fraudsim
ROWS=$T/rows.jsonl
: >"$ROWS"
FRAUDSIM_API_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export FRAUDSIM_API_KEY

# sim_conf [LINE...]: the simulation's vcode.conf (lib.sh's base plus the
# scaled limits). The site's history is the warm-up hour: the guard
# enforces from the first verification (fraud_learn_hours = 0).
sim_conf() {
	write_conf "sms_hourly_budget = ${FRAUDSIM_BUDGET:-200}" \
	    "ip_hourly_limit = 20" "prefix_hourly_limit = 30" \
	    "sms_daily_limit = 10" "sms_interval = 60" \
	    "trusted_proxies = 127.0.0.1" "api_key = $FRAUDSIM_API_KEY" \
	    "lang = en" "fraud_learn_hours = 0" "$@"
}

# A build without the guard (before it landed) runs the off mode only,
# with hours made by deleting the hourly counters.
GUARD=yes
LEGACY=""
sim_conf "hour_seconds = $HOUR" "fraud_guard = off"
if ! "$VCODED" -t -c "$CONF" >/dev/null 2>"$T/probe.err"; then
	it_note "this vcoded has no hour_seconds/fraud_guard:" \
	    "$(head -n 1 "$T/probe.err")"
	GUARD=no
	LEGACY=--legacy-hours
	sim_conf
fi
DIALECTS=${FRAUDSIM_DIALECTS:-meiduo}
[ -z "${FRAUDSIM_DIALECTS:-}" ] && [ $GUARD = yes ] &&
    DIALECTS=meiduo,ihome,news

start_redis
start_nginx
it_note "nginx on $BASE, budget ${FRAUDSIM_BUDGET:-200} SMS per hour of $HOUR s," \
    "dialects $DIALECTS"

began=$(date +%s)
for s in $ONLY; do
	for m in $MODES; do
		if [ $GUARD = no ] && [ "$m" != off ]; then
			python3 "$FS_DIR/fraudsim.py" failed --rows "$ROWS" \
			    --scenario "$s" --mode "$m" --why "no fraud guard in this build"
			continue
		fi
		stop_vcoded
		stop_redis
		start_redis
		: >"$SMS_LOG"
		: >"$T/vcoded.stderr"
		env=""
		[ $GUARD = yes ] && env="VCODE_FRAUD_GUARD=$m"
		# shellcheck disable=SC2086
		if ! start_vcoded prefork $env; then
			python3 "$FS_DIR/fraudsim.py" failed --rows "$ROWS" \
			    --scenario "$s" --mode "$m" --why "vcoded did not start"
			continue
		fi
		# In the background and waited for, so that an interrupt
		# reaches lib.sh's trap at once; tracked, so that its clean-up
		# ends the driver too.
		python3 "$FS_DIR/fraudsim.py" run --scenario "$s" --mode "$m" \
		    --port "$PORT" --redis "$REDIS_SOCK" --sms-log "$SMS_LOG" \
		    --rows "$ROWS" --vcoded-log "$T/vcoded.stderr" \
		    --dialects "$DIALECTS" $LEGACY \
		    ${FRAUDSIM_SEED:+--seed "$FRAUDSIM_SEED"} &
		drv=$!
		track "$drv"
		wait "$drv"
		st=$?
		[ $st = 0 ] || python3 "$FS_DIR/fraudsim.py" failed --rows "$ROWS" \
		    --scenario "$s" --mode "$m" --why "driver exited $st"
		cp "$T/vcoded.stderr" "$T/vcoded-$s-$m.log"
	done
done
stop_vcoded

echo
python3 "$FS_DIR/fraudsim.py" report --rows "$ROWS" --out "$FS_DIR/last.txt"
rc=$?
it_note "runtime $(( ($(date +%s) - began) / 60 )) min $(( ($(date +%s) - began) % 60 )) s"
exit $rc
