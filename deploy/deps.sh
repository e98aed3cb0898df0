#!/bin/sh
# Installs, on Debian, the packages vcode needs to build, run and test,
# when any is missing. Needs root (or sudo) only when something is missing.
PKGS="build-essential pkg-config libfcgi-dev libhiredis-dev libpng-dev
libjansson-dev libcurl4-openssl-dev libfreetype-dev libssl-dev libcmocka-dev
fonts-dejavu-core fonts-liberation2 fonts-noto-core fonts-wqy-microhei redis-server redis-tools nginx-light spawn-fcgi curl jq python3"
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
