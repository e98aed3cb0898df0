#!/bin/sh
# Installs, on Debian, the packages vcode needs to build and run (deps.sh)
# or to build, run and test (deps.sh test), when any is missing. Needs root
# (or sudo) only when something is missing. The test tools: redis-sentinel
# (t_sentinel's three sentinels), mandoc (man page lint), apache2-bin and
# mod_fcgid (the Apache deployments, run as an unprivileged instance;
# apache2-bin starts no service), systemd (systemd-analyze verify of the
# units; nothing is booted), chromium, nodejs and npm (the demo page
# driven by playwright-core, which the browser test installs from npm into
# tests/browser/node_modules), python3-prometheus-client (GET /metrics
# read by Prometheus' parser), prometheus (promtool: the metrics linted,
# the alert rules tested) and logrotate (deploy/logrotate/vcode run).
# deps.sh load: what make loadtest and make bench add, wrk (the load),
# redis-sentinel (loadtest's Sentinel phase), and the seed's captcha view
# that make bench measures vcode against (tests/bench/seed_flask.py):
# python3-flask, python3-pil, python3-redis under gunicorn; libdeflate-dev
# (make bench's deflate comparison, tests/bench/deflate.c).
PKGS="build-essential pkg-config libfcgi-dev libhiredis-dev libpng-dev libisal-dev zlib1g-dev
libjansson-dev libcurl4-openssl-dev libfreetype-dev libssl-dev libcmocka-dev
fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-wqy-microhei redis-server redis-tools nginx-light spawn-fcgi curl jq python3"
if [ "${1:-}" = test ]; then
	PKGS="$PKGS redis-sentinel mandoc apache2-bin libapache2-mod-fcgid systemd
	    chromium python3-prometheus-client prometheus logrotate"
	# A machine's own Node.js (not Debian's) is used as it is.
	command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
fi
[ "${1:-}" = load ] && PKGS="$PKGS wrk redis-sentinel libdeflate-dev python3-flask python3-pil
    python3-redis gunicorn"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq &&
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
