#!/bin/bash
# make install and make uninstall into a DESTDIR (PREFIX /usr/local and
# /usr): what lands where, the installed vcoded -t and vcode-smsd -t
# reading the installed configuration, an existing configuration left
# alone, uninstall removing what install put. Then the man pages: mandoc
# -T lint finds nothing, style notes included, and every key of the
# configuration parser (vcoded -t prints them all) is in both
# deploy/vcode.conf and vcode.conf(5).
. "$(dirname "$0")/lib.sh"
need_vcoded
VCODED_SRC=$VCODED
it_init
command -v mandoc >/dev/null || it_bail "mandoc not found (apt-get install mandoc)"
B=$(dirname "$VCODED_SRC")
B=${B#"$ROOT"/}
D=$T/root

inst() { make -s -C "$ROOT" B="$B" DESTDIR="$D" "$@" >>"$T/make.out" 2>&1; }

inst install PREFIX=/usr/local
expect_eq "install: exit 0" 0 "$?"
want="usr/local/bin/vcode-render
usr/local/bin/vcode-smoke
usr/local/etc/vcode/vcode.conf
usr/local/sbin/vcode-smsd
usr/local/sbin/vcoded
usr/local/share/doc/vcode/README.md
usr/local/share/doc/vcode/nginx.conf.in
usr/local/share/doc/vcode/spawn-fcgi.sh
usr/local/share/doc/vcode/vcode.conf
usr/local/share/man/man1/vcode-render.1
usr/local/share/man/man5/vcode.conf.5
usr/local/share/man/man8/vcode-smsd.8
usr/local/share/man/man8/vcoded.8"
have=$(cd "$D" && find . -type f | sed 's|^\./||' | grep -v '/apache/\|/systemd/\|/prometheus/\|/logrotate/' | sort)
expect_eq "install: binaries in sbin and bin, config in etc/vcode, man pages, docs" "$want" "$have"
for f in deploy/apache deploy/systemd deploy/prometheus deploy/logrotate; do
	[ -d "$ROOT/$f" ] || continue
	n=$(ls "$ROOT/$f" | wc -l)
	expect_eq "install: $f's $n files in share/doc/vcode/$(basename $f)" "$n" \
	    "$(ls "$D/usr/local/share/doc/vcode/$(basename $f)" 2>/dev/null | wc -l)"
done
expect_eq "install: daemons and tool are executable, the config is 0644" "755 755 755 644" \
    "$(stat -c %a "$D/usr/local/sbin/vcoded" "$D/usr/local/sbin/vcode-smsd" "$D/usr/local/bin/vcode-render" "$D/usr/local/etc/vcode/vcode.conf" | tr '\n' ' ' | sed 's/ $//')"
out=$("$D/usr/local/sbin/vcoded" -t -c "$D/usr/local/etc/vcode/vcode.conf" 2>&1)
expect_match "installed vcoded -t reads the installed configuration" 'configuration ok' "$out"
out=$("$D/usr/local/sbin/vcode-smsd" -t -c "$D/usr/local/etc/vcode/vcode.conf" 2>&1)
expect_match "installed vcode-smsd -t reads it too" 'delivery: inline.*' "$(echo "$out" | tr '\n' ' ')"
expect_eq "installed: the config is the shipped default" same \
    "$(cmp -s "$ROOT/deploy/vcode.conf" "$D/usr/local/etc/vcode/vcode.conf" && echo same || echo differs)"

echo "workers = 2" >>"$D/usr/local/etc/vcode/vcode.conf"
inst install PREFIX=/usr/local
expect_eq "install again: an edited configuration is left alone" "workers = 2" \
    "$(tail -n 1 "$D/usr/local/etc/vcode/vcode.conf")"
expect_eq "install again: the default lands beside it" same \
    "$(cmp -s "$ROOT/deploy/vcode.conf" "$D/usr/local/etc/vcode/vcode.conf.default" && echo same || echo differs)"
inst uninstall PREFIX=/usr/local
expect_eq "uninstall: exit 0" 0 "$?"
expect_eq "uninstall: only the edited configuration is left" "usr/local/etc/vcode/vcode.conf" \
    "$(cd "$D" && find . -type f | sed 's|^\./||')"
rm -rf "$D"
inst install PREFIX=/usr
expect_eq "PREFIX=/usr: the configuration goes to /etc/vcode" "yes yes" \
    "$([ -f "$D/etc/vcode/vcode.conf" ] && echo yes) $([ -x "$D/usr/sbin/vcoded" ] && echo yes)"
inst uninstall PREFIX=/usr
expect_eq "PREFIX=/usr: uninstall leaves nothing (the config was the default)" 0 \
    "$(find "$D" -type f | wc -l)"

# ---- man pages ----------------------------------------------------------------
# Linted where they are installed, their index made, so that the pages'
# references to each other resolve: nothing at all, style notes included.
rm -rf "$D"
inst install PREFIX="$T/pfx" DESTDIR=
makewhatis "$T/pfx/share/man"
for m in "$T"/pfx/share/man/man*/*; do
	out=$(cd "$T/pfx/share/man" && MANPATH=$T/pfx/share/man mandoc -T lint -W style "$m" 2>&1)
	expect_eq "mandoc -T lint -W style $(basename "$m"): clean" "" "$out"
done
expect_eq "the four pages installed" 4 "$(ls "$T"/pfx/share/man/man*/* | wc -l)"
keys=$("$VCODED" -t 2>/dev/null | sed -n 's/^\([a-z0-9_]*\) = .*/\1/p')
n=$(echo "$keys" | wc -l)
miss_conf="" miss_man=""
for k in $keys; do
	grep -q "^$k =" "$ROOT/deploy/vcode.conf" || miss_conf="$miss_conf $k"
	grep -q "^\.It Cm $k " "$ROOT/deploy/man/vcode.conf.5" || miss_man="$miss_man $k"
done
expect_range "the parser knows many keys" 50 200 "$n"
expect_eq "every one of the parser's $n keys is in deploy/vcode.conf" "" "${miss_conf# }"
expect_eq "every one of the parser's $n keys is in vcode.conf(5)" "" "${miss_man# }"
# And the defaults agree: what vcoded -t prints with no file is what
# deploy/vcode.conf says and what the page says.
bad=""
while IFS= read -r line; do
	k=${line%% = *}
	v=${line#* = }
	[ "$v" = "$line" ] && v=""
	v=${v% }
	case $k in *[!a-z0-9_]*|"") continue ;; esac
	[ "$v" = "(set)" ] && continue	# a URL that may hold a password
	c=$(sed -n "s/^$k = *//p" "$ROOT/deploy/vcode.conf")
	[ "$c" = "$v" ] || bad="$bad $k(conf:$c,parser:$v)"
done < <("$VCODED" -t 2>/dev/null | grep ' = \| =$')
expect_eq "deploy/vcode.conf's values are the parser's defaults" "" "${bad# }"
it_done
