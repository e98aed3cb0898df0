#!/bin/bash
# The systemd units of deploy/systemd, as make install writes them
# (PREFIX substituted): systemd-analyze verify finds nothing wrong (and
# does find a unit whose program is missing); each has the hardening the
# deployment promises; and vcoded -m, which vcoded.service runs, serves the
# socket handed over on fd 0 (StandardInput=socket) with its prefork pool,
# reloads on SIGHUP and stops on SIGTERM leaving the socket to its owner.
. "$(dirname "$0")/lib.sh"
need_vcoded
VCODED_SRC=$VCODED
it_init
command -v systemd-analyze >/dev/null || it_bail "systemd-analyze not found (apt-get install systemd)"
B=$(dirname "$VCODED_SRC")
B=${B#"$ROOT"/}
P=$T/prefix
make -s -C "$ROOT" B="$B" PREFIX="$P" install >"$T/make.out" 2>&1 ||
    it_bail "make install PREFIX=$P failed: $(tail -n 3 "$T/make.out")"
U=$P/share/doc/vcode/systemd
UNITS="vcoded.socket vcoded.service vcoded-prefork.service vcode-smsd.service"
out=$(cd "$U" && MANPATH=$P/share/man: systemd-analyze verify $UNITS 2>&1)
rc=$?
expect_eq "systemd-analyze verify of the four units: exit 0, nothing said" "0 " "$rc $out"
sed "s|$P/sbin/vcoded|$P/sbin/no-such-program|" "$U/vcoded.service" >"$T/broken.service"
out=$(cd "$T" && MANPATH=$P/share/man: systemd-analyze verify broken.service 2>&1)
expect_match "systemd-analyze verify does find a missing program" "no-such-program.*not executable" "$out"
expect_match "vcoded.service runs the installed vcoded -m with the installed config" \
    "^ExecStart=$P/sbin/vcoded -m -c $P/etc/vcode/vcode.conf$" "$(grep '^ExecStart=' "$U/vcoded.service")"
for u in vcoded.service vcoded-prefork.service vcode-smsd.service; do
	miss=""
	for d in Restart= NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	    RuntimeDirectory= "EnvironmentFile=-$P/etc/vcode/vcode.env" User=www-data; do
		grep -q "^$d" "$U/$u" || miss="$miss $d"
	done
	expect_eq "$u: Restart, NoNewPrivileges, ProtectSystem=strict, PrivateTmp, RuntimeDirectory, EnvironmentFile, User" \
	    "" "${miss# }"
done
expect_eq "vcoded.service takes its socket on fd 0" "StandardInput=socket" \
    "$(grep '^StandardInput=' "$U/vcoded.service")"
expect_eq "vcoded.socket: the socket nginx's config names, mode 0660" \
    "ListenStream=/run/vcode/vcoded.sock SocketMode=0660" \
    "$(grep -h '^ListenStream=\|^SocketMode=' "$U/vcoded.socket" | tr '\n' ' ' | sed 's/ $//')"

# ---- what vcoded.service does: vcoded -m on the socket on fd 0 ----------------
start_redis
start_nginx
write_conf "workers = 3"
python3 "$IT_DIR/fd0_socket.py" "$VC_SOCK" "$VCODED" -m -c "$CONF" \
    >>"$T/vcoded.stderr" 2>&1 &
VC_MASTER=$!
MODE=prefork
track "$VC_MASTER"
wait_for 5 '[ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/healthz")" = 200 ]'
http GET /healthz
expect_eq "vcoded -m: /healthz through nginx" 200 "$H_STATUS"
wait_workers 3
expect_eq "vcoded -m: the master runs workers = 3 on the handed-over socket" 3 "$(nworkers)"
m=$(new_mobile)
send_ok ihome "$m"
expect_code "vcoded -m: captcha then SMS" ihome 200 OK
old=$(workers)
write_conf "workers = 2"
kill -HUP "$VC_MASTER"
wait_for 5 '[ "$(nworkers)" = 2 ] && [ "$(workers)" != "$old" ]'
expect_eq "vcoded -m: SIGHUP brings a new pool of workers = 2" 2 "$(nworkers)"
http GET /healthz
expect_eq "vcoded -m: still serving after the reload" 200 "$H_STATUS"
kill -TERM "$VC_MASTER"
wait "$VC_MASTER"
expect_eq "vcoded -m: SIGTERM, exit 0" 0 "$?"
expect_eq "vcoded -m: the socket is left to its owner (systemd)" yes \
    "$([ -S "$VC_SOCK" ] && echo yes || echo no)"
VC_MASTER=""
MODE=none
out=$("$VCODED" -m -c "$CONF" </dev/null 2>&1)
expect_eq "vcoded -m without a socket on fd 0: exit 1, saying so" "1 yes" \
    "$? $(echo "$out" | grep -q 'fd 0 is not a listening socket' && echo yes)"
it_done
