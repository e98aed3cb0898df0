#!/bin/bash
# nginx with vcode mounted under /api/ (deploy/nginx-mount.conf included
# in a site's server block as shipped, its socket path replaced; vcoded
# with mount = /api): every dialect's flow under /api, the site's own
# pages untouched, vcode's routes not answered outside the mount, the
# verify route for this host only, and X-Forwarded-For from a trusted
# proxy counted on the client's address.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
mkdir -p "$T/site"
echo "the site's own page" >"$T/site/index.html"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user www-data www-data;"
sed "s|unix:/run/vcode/vcoded.sock|unix:$VC_SOCK|" "$ROOT/deploy/nginx-mount.conf" >"$T/vcode-mount.conf"
# A free port may be taken between the look and the bind (other runs on
# the machine): up to five ports, as start_nginx does.
tries=5
while :; do
PORT=$(free_port) || it_bail "no free port"
cat >"$T/nginx.conf" <<EOC
$user_line
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log warn;
events { worker_connections 256; }
http {
	include /etc/nginx/mime.types;
	access_log $T/nginx-access.log;
	client_body_temp_path $T/nginx-body;
	fastcgi_temp_path $T/nginx-fastcgi;
	proxy_temp_path $T/nginx-proxy;
	uwsgi_temp_path $T/nginx-uwsgi;
	scgi_temp_path $T/nginx-scgi;
	server {
		listen 127.0.0.1:$PORT;
		root $T/site;
		location / { try_files \$uri \$uri/ =404; }
		include $T/vcode-mount.conf;
	}
}
EOC
nginx -e "$T/nginx-start.log" -c "$T/nginx.conf" -p "$T" >>"$T/nginx-start.log" 2>&1 && break
tries=$((tries - 1))
[ $tries -gt 0 ] && grep -q "Address already in use" "$T/nginx-start.log" ||
    it_bail "nginx did not start: $(tail -n 3 "$T/nginx-start.log")"
done
wait_for 5 '[ -s "$T/nginx.pid" ]'
track "$(cat "$T/nginx.pid")"
BASE=http://127.0.0.1:$PORT/api
start_vcoded prefork VCODE_MOUNT=/api VCODE_TRUSTED_PROXIES=127.0.0.1 || it_done

for d in $DIALECTS; do
	m=$(new_mobile)
	send_ok "$d" "$m"
	expect_code "/api: $d captcha then SMS" "$d" 200 OK
done
expect_eq "/api: the site's nginx log has no line of vcode's (no mobile, no typed answer)" \
    0 "$(cat "$T/nginx-access.log" 2>/dev/null | grep -c '/api/')"
m=$(new_mobile)
send_ok meiduo "$m"
verify "$m" "$(rcli get "sms_$m")"
expect_code "/api: the code verifies from this host" meiduo 200 OK
verify "$m" 123456 --interface 127.0.0.2
expect_eq "/api: verify from another address: 403 from nginx" 403 "$H_STATUS"
m=$(new_mobile)
send_ok meiduo "$m"
c=$(rcli get "sms_$m")
seen=""
for i in 1 2 3 4 5; do
	verify "$m" "$(printf '%06d' $(((10#$c + 1) % 1000000)))" --interface 127.0.0.2 \
	    -H 'Authorization: Bearer anything'
	seen="$seen $H_STATUS"
done
expect_eq "/api: 5 wrong guesses from 127.0.0.2 with 'Bearer anything': 403 each" \
    " 403 403 403 403 403" "$seen"
verify "$m" "$c"
expect_code "/api: ... the code then verifies from this host" meiduo 200 OK
http GET /no_such_route
expect_reply "/api: an unknown route under the mount: vcode's 404 JSON" 404 .code 5006
BASE=http://127.0.0.1:$PORT
http GET /index.html
expect_eq "the site's own page is untouched" "200 the site's own page" "$H_STATUS $H_BODY"
http GET "/image_codes/$(new_id)/"
expect_eq "vcode's routes outside the mount are not vcode's" 404 "$H_STATUS"
expect_nomatch "... (nginx's page, not vcode's JSON)" 'errmsg' "$H_BODY"
BASE=http://127.0.0.1:$PORT/api
m=$(new_mobile)
id=$(new_id)
captcha ihome "$id"
sms ihome "$m" "$ANSWER" "$id" -H "X-Forwarded-For: 203.0.113.77"
expect_code "/api: SMS through a trusted proxy" ihome 200 OK
expect_eq "/api: counted on the forwarded client's address" 1 "$(rcli get vcode:ip:203.0.113.77)"
it_done
