#!/bin/bash
# tests/bench/apache-cgi.sh [N]: what a request costs on legacy CGI hosting
# (make bench). Debian's apache2 with deploy/apache/vcode-cgi.conf runs
# vcoded as /cgi-bin/vcode.cgi, one process a request, beside
# tests/bench/seed_view.py, the ihome tutorial's captcha view as a Python
# CGI program; N (default 200) requests each, one after another, with
# curl; medians and 90th percentiles of the wall time. Goals for vcode:
# /healthz under 5 ms, a 120x40 captcha under 15 ms.
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-200}
command -v apache2 >/dev/null || { echo "bench: apache2 missing (make testdeps)" >&2; exit 1; }
it_init
start_redis
mkdir -p "$T/cgi-bin"
cp "$VCODED" "$T/cgi-bin/vcode.cgi"
cp "$ROOT/tests/bench/seed_view.py" "$T/cgi-bin/seed.py"
chmod 755 "$T/cgi-bin/seed.py"
write_conf "log_level = error"
start_apache vcode-cgi.conf
# seed.py finds Redis through this (the vcode-cgi.conf Directory passes
# SetEnv only for vcode's keys): a small extra conf.
cat >>"$T/apache/httpd.conf" <<EOC
<Directory "$T/cgi-bin">
	SetEnv VCODE_BENCH_REDIS $REDIS_SOCK
</Directory>
EOC
apache2 -f "$T/apache/httpd.conf" -k graceful >/dev/null 2>&1
sleep 1

# time_url KEY NAME URL: N requests; prints NAME, median and p90 (ms), and
# keeps the median in $T/KEY.median.
time_url() {
	local key=$1 name=$2 url=$3 i bad
	for i in $(seq "$N"); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "${url//@ID@/$(new_id)}"
	done >"$T/$key.t"
	bad=$(grep -vc '^200 ' "$T/$key.t")
	awk '{ print $2 * 1000 }' "$T/$key.t" | sort -n | awk -v n="$name" -v bad="$bad" -v f="$T/$key.median" '
	    { v[NR] = $1 }
	    END { m = v[int((NR + 1) / 2)]; print m > f
		printf "%-28s median %6.1f ms  p90 %6.1f ms%s\n", n, m, v[int(NR * 0.9)],
		    (bad > 0 ? "  (" bad " not 200)" : "") }'
}
B=http://127.0.0.1:$APORT/cgi-bin
echo "CGI through Apache, $N requests each (a new process every time):"
time_url vh "vcode /healthz" "$B/vcode.cgi/healthz"
time_url vc "vcode captcha 120x40" "$B/vcode.cgi/image_codes/@ID@/"
time_url ph "Python seed view, healthz" "$B/seed.py?route=healthz"
time_url pc "Python seed view, captcha" "$B/seed.py?route=captcha&uuid=@ID@"
awk -v vh="$(cat "$T/vh.median")" -v vc="$(cat "$T/vc.median")" \
    -v ph="$(cat "$T/ph.median")" -v pc="$(cat "$T/pc.median")" 'BEGIN {
	printf "goal (vcode /healthz < 5 ms, captcha < 15 ms): %s; the Python view takes %.1fx (healthz) and %.1fx (captcha) vcode'"'"'s time\n",
	    (vh < 5 && vc < 15) ? "met" : "NOT met", ph / vh, pc / vc }'
stop_apache
it_cleanup
