#!/bin/bash
# The shipped nginx configuration at the edge: /verify answers this host
# only unless an api_key guards it (a second loopback address, 127.0.0.2,
# plays the outside client), and vcoded refuses it too when nginx lets
# it through without an api_key; and X-Forwarded-For lines are joined, so
# a trusted proxy that appends its own line is believed, not the client's
# first line.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

P="[edge]"

if start_vcoded spawn VCODE_SMS_INTERVAL=0 'VCODE_TRUSTED_PROXIES=127.0.0.1'; then
	m=$(new_mobile)
	verify "$m" 123456 --interface 127.0.0.2
	expect_eq "$P /verify from 127.0.0.2 (outside): 403 from nginx" 403 "$H_STATUS"
	verify "$m" 123456
	expect_reply "$P /verify from 127.0.0.1: reaches vcode" 200 .code 4008
	http GET "/image_codes/$(new_id)/" --interface 127.0.0.2
	expect_eq "$P other routes from 127.0.0.2: served" 200 "$H_STATUS"
	outsider "$P no api_key, /verify for this host (run.sh's nginx)" 403

	# Two X-Forwarded-For lines: the client's (spoofed) and the trusted
	# proxy's appended one. nginx joins them; the proxy's hop counts.
	sms ihome "$(new_mobile)" abcd "$(new_id)" \
	    -H 'X-Forwarded-For: 6.6.6.6' -H 'X-Forwarded-For: 203.0.113.50'
	expect_code "$P two X-Forwarded-For lines: served" ihome 200 IMG_MISSING
	expect_eq "$P counted for the proxy's hop 203.0.113.50, not 6.6.6.6" "1 0" \
	    "$(rcli get vcode:ip:203.0.113.50) $(rcli exists vcode:ip:6.6.6.6)"
	stop_vcoded
fi
expect_match "$P trusted_proxies without api_key: start-up warns" \
    'trusted_proxies is set but api_key is not' \
    "$(VCODE_TRUSTED_PROXIES=127.0.0.1 timeout 10 "$VCODED" -t -c "$CONF" 2>&1 >/dev/null)"
expect_nomatch "$P ... and not with an api_key" 'trusted_proxies is set' \
    "$(VCODE_TRUSTED_PROXIES=127.0.0.1 VCODE_API_KEY=k0123456789 timeout 10 "$VCODED" -t -c "$CONF" 2>&1 >/dev/null)"

# With an api_key, run.sh leaves /verify open and the key guards it.
stop_pid "$(cat "$T/nginx.pid")"
BASE=""
NGINX_VERIFY_OPEN=1 start_nginx
if start_vcoded spawn VCODE_API_KEY=edge-key-0123456789 VCODE_SMS_INTERVAL=0; then
	verify "$(new_mobile)" 123456 --interface 127.0.0.2
	expect_reply "$P api_key set: /verify from 127.0.0.2 reaches vcode: 401" 401 .code 4101
	verify "$(new_mobile)" 123456 --interface 127.0.0.2 \
	    -H 'Authorization: Bearer edge-key-0123456789'
	expect_reply "$P ... and with the key: an answer (no code: 4008)" 200 .code 4008
	m=$(new_mobile)
	send_ok meiduo "$m"
	verify "$m" "$(rcli get "sms_$m")" --interface 127.0.0.2 \
	    -H 'Authorization: Bearer edge-key-0123456789'
	expect_code "$P ... the right code with the key from 127.0.0.2: OK" meiduo 200 OK
	stop_vcoded
fi
# nginx open in front of a vcoded without api_key: vcoded refuses.
if start_vcoded spawn VCODE_SMS_INTERVAL=0; then
	outsider "$P nginx open, no api_key" 401
	stop_vcoded
fi
it_done
