#!/usr/bin/env python3
"""tests/integration/fake_sms.py: a local stand-in for the SMS providers.

Plays the HTTP providers for the integration tests (t_providers.sh,
t_gateways.sh...), on 127.0.0.1 only, with the standard library only:

  POST /2013-12-26/Accounts/<sid>/SMS/TemplateSMS?sig=<SIG>   (ccp)
  POST /hook                                                 (webhook)
  POST /?PhoneNumbers=...  with x-acs-action: SendSms         (aliyun)
  POST /                   with X-TC-Action: SendSms          (tencent)

  python3 fake_sms.py --port-file FILE --log FILE --mode-file FILE \
      --ccp-sid SID --ccp-token TOKEN --ccp-app APP --webhook-secret SECRET \
      [--aliyun-id ID --aliyun-secret SECRET] \
      [--tencent-id ID --tencent-key KEY --tencent-app SDKAPPID]

It binds a free port (or --port PORT: the same one again after a
restart), writes it to --port-file (atomically, once it listens) and
serves until killed. It prints nothing per request.

Each request is verified in full:
  ccp: the sid in the path is --ccp-sid; the Authorization header is
       base64("sid:TS") with TS a local time YYYYmmddHHMMSS within 300 s of
       now; the only query parameter is sig = uppercase hex MD5 of
       sid + token + TS; Accept is application/json; Content-Type is
       application/json;charset=utf-8; the body is exactly
       {"to", "appId", "templateId", "datas"} with appId = --ccp-app,
       templateId a string, datas two strings (code, minutes).
  webhook: Content-Type is application/json; X-Vcode-Timestamp is unix
       seconds within 300 s of now; X-Vcode-Signature is "sha256=" +
       lowercase hex HMAC-SHA256(secret, TIMESTAMP + "." + BODY); the body
       is exactly {"mobile": string, "code": string, "minutes": integer}.
  aliyun: Alibaba Cloud's signature V3, recomputed here from the request
       as received (hashlib and hmac, not vcode's code): x-acs-action
       SendSms, x-acs-version 2017-05-25, x-acs-date UTC within 300 s,
       x-acs-signature-nonce 32 hex digits never seen before,
       x-acs-content-sha256 the body's; Authorization "ACS3-HMAC-SHA256
       Credential=ID,SignedHeaders=...,Signature=HEX" with ID --aliyun-id,
       the signed headers host and every x-acs- header sent, the signature
       HMAC-SHA256(--aliyun-secret, "ACS3-HMAC-SHA256\n" + SHA256 hex of
       the canonical request: POST, /, the query sorted and RFC 3986
       encoded, the signed headers, their names, the body's hash); the
       query exactly PhoneNumbers, RegionId, SignName, TemplateCode and
       TemplateParam, a JSON object of strings: "code" the code, "min" (if
       any) the minutes.
  tencent: TC3-HMAC-SHA256 recomputed likewise: X-TC-Action SendSms,
       X-TC-Version 2021-01-11, X-TC-Region set, X-TC-Timestamp within
       300 s; Authorization "TC3-HMAC-SHA256 Credential=ID/DATE/sms/
       tc3_request, SignedHeaders=content-type;host, Signature=HEX" with
       ID --tencent-id, DATE the timestamp's UTC date, the key derived
       from "TC3" + --tencent-key; Content-Type application/json;
       charset=utf-8; the body exactly {PhoneNumberSet: [one E.164
       number], SmsSdkAppId: --tencent-app, SignName, TemplateId,
       TemplateParamSet: [code, minutes]}.
A request that fails gets ccp 200 {"statusCode":"160031","statusMsg":
"bad auth"} / webhook 401 / aliyun 400 {"Code":"SignatureDoesNotMatch"} /
tencent 200 {"Response":{"Error":{"Code":"AuthFailure.SignatureFailure"}}}.

Each request appends one JSON line to --log (flushed):
  {"kind": "ccp"|"webhook"|"aliyun"|"tencent"|"other", "ok": bool,
   "reason": "...", "mobile": "...", "code": "...", "minutes": "...",
   "template": "...", "sign": "...", "region": "...", "mode": "..."}
"ok" says that the request passed verification (whatever the mode then
answered); "reason" is empty when ok. "template" is "" for webhook;
"sign" and "region" are set for aliyun and tencent only. tencent's
"mobile" is the E.164 number sent.

Behaviour, read from --mode-file at each request (one word; a missing or
empty file means ok), applied to requests that passed verification (an
unknown word: HTTP 500, logged ok=false):
  ok        ccp 200 {"statusCode":"000000","templateSMS":{...}}; webhook 200;
            aliyun 200 {"Code":"OK",...}; tencent 200 {"Response":
            {"SendStatusSet":[{"Code":"Ok",...}],...}}
  refuse    ccp 200 {"statusCode":"160040","statusMsg":"quota"}; webhook 422;
            aliyun 200 {"Code":"isv.BUSINESS_LIMIT_CONTROL"}; tencent 200,
            the number's Code LimitExceeded.PhoneNumberDailyLimit
            (a definite no: a 5xx may come after the message went out)
  refuse:W  aliyun 200 {"Code": W}; tencent 200, the number's Code W
  error:W   aliyun 400 {"Code": W}; tencent 200 {"Response":{"Error":
            {"Code": W}}} (the request refused whole)
  echo      a refusal whose text repeats the message, as gateways' error
            texts do: ccp 200 {"statusCode":"160038","statusMsg":"bad
            number MOBILE code CODE"}; webhook 422 {"error": the same}
  slow      sleeps 8 s, then answers as ok (the client gives up after 5 s)
  garbage   ccp, aliyun, tencent 200 with the body "not json"; webhook 502
  status500 HTTP 500 for all (the body is the success JSON: only the
            status says it failed)
  status204 HTTP 204 without a body for all (a success for webhook, any
            2xx; a failure for ccp, which must answer 200 with JSON; an
            unknown for aliyun and tencent, a 2xx they cannot read)
  hold:S    sleeps S seconds (a decimal), then answers as ok: a gateway
            that is slow but within the client's timeout
"""

import argparse
import base64
import binascii
import calendar
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

SKEW = 300
SLOW_SECONDS = 8
MAX_BODY = 64 * 1024
CCP_PATH = re.compile(r"^/2013-12-26/Accounts/([^/]+)/SMS/TemplateSMS$")
MODES = ("ok", "refuse", "echo", "slow", "garbage", "status500",
         "status204")
HOLD = re.compile(r"^hold:([0-9]{1,2}(\.[0-9]{1,3})?)$")
WORD = re.compile(r"^(refuse|error):([A-Za-z._-]{1,64})$")


def known(mode):
    return mode in MODES or HOLD.match(mode) is not None or \
        WORD.match(mode) is not None


def hold(mode):
    """Sleeps as a hold:S mode says; a no-op for other modes."""
    m = HOLD.match(mode)
    if m is not None:
        time.sleep(float(m.group(1)))


def echoed(fields):
    """A refusal's text that repeats the mobile and the code it was sent."""
    return "bad number %s code %s" % (fields.get("mobile", ""),
                                      fields.get("code", ""))


class Bad(Exception):
    """A request that fails verification; the message is the reason."""


def note_params(fields, params):
    """A template's parameters, [code, minutes], into fields (what the
    log records), as far as they are strings."""
    if isinstance(params, list):
        for i, name in enumerate(("code", "minutes")):
            if len(params) > i and isinstance(params[i], str):
                fields[name] = params[i]


def json_object(body):
    """The body as a JSON object, or Bad."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Bad("body is not JSON")
    if not isinstance(doc, dict):
        raise Bad("body is not a JSON object")
    return doc


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Quiet: a client that gave up (slow mode) is expected.
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle holds
    # the body until the client's delayed ACK, 40 ms a reply on a kept
    # connection.
    disable_nagle_algorithm = True
    server_version = "fake-sms/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    # ---- plumbing ------------------------------------------------------

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te.lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline(1024)
                try:
                    n = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise Bad("bad chunked encoding")
                if n == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline(1024)
                if len(out) > MAX_BODY:
                    raise Bad("body too large")
        cl = self.headers.get("Content-Length")
        if cl is None:
            raise Bad("no Content-Length")
        try:
            n = int(cl)
        except ValueError:
            raise Bad("bad Content-Length")
        if n < 0 or n > MAX_BODY:
            raise Bad("bad Content-Length")
        return self.rfile.read(n)

    def answer_mode(self, mode, success, failed=None,
                    garbage=(200, b"not json")):
        """What every provider answers alike, after its own refusals:
        garbage, HTTP 500 (with failed as the body, else success: the
        status decides), 204, and success, slow or held first as the
        mode says."""
        if mode == "garbage":
            self.answer(*garbage)
        elif mode == "status500":
            self.answer(500, success if failed is None else failed)
        elif mode == "status204":
            self.answer(204)
        else:
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            hold(mode)
            self.answer(200, success)

    def answer(self, status, body=b"", ctype="application/json"):
        try:
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204 and body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def record(self, kind, ok, reason, fields, mode):
        line = {"kind": kind, "ok": ok, "reason": reason,
                "mobile": fields.get("mobile", ""),
                "code": fields.get("code", ""),
                "minutes": fields.get("minutes", ""),
                "template": fields.get("template", ""),
                "sign": fields.get("sign", ""),
                "region": fields.get("region", ""),
                "mode": mode}
        srv = self.server
        with srv.log_lock:
            srv.log_fp.write(json.dumps(line, ensure_ascii=False) + "\n")
            srv.log_fp.flush()

    def mode(self):
        try:
            with open(self.server.opts.mode_file, encoding="utf-8") as f:
                word = f.read().strip()
        except OSError:
            return "ok"
        return word or "ok"

    # ---- routes --------------------------------------------------------

    def do_POST(self):
        url = urlsplit(self.path)
        m = CCP_PATH.match(url.path)
        mode = self.mode()
        if m is not None:
            self.ccp(m.group(1), url.query, mode)
        elif url.path == "/" and "x-acs-action" in self.headers:
            self.cloud("aliyun", url.query, mode)
        elif url.path == "/" and "X-TC-Action" in self.headers:
            self.cloud("tencent", url.query, mode)
        elif url.path == "/hook":
            self.webhook(url.query, mode)
        else:
            self.other("POST", mode)

    def do_GET(self):
        self.other("GET", self.mode())

    do_PUT = do_GET
    do_DELETE = do_GET
    do_HEAD = do_GET

    def other(self, method, mode):
        if method != "GET" and method != "HEAD":
            try:
                self.read_body()
            except Bad:
                self.close_connection = True
        self.record("other", False, "no route %s %s" % (method, self.path),
                    {}, mode)
        self.answer(404, b'{"error":"no such route"}')

    # ---- ccp -----------------------------------------------------------

    def ccp(self, path_sid, query, mode):
        fields = {}
        try:
            body = self.read_body()
            try:
                self.ccp_verify(path_sid, query, body, fields)
            except Bad as e:
                self.record("ccp", False, str(e), fields, mode)
                self.answer(200, json.dumps(
                    {"statusCode": "160031",
                     "statusMsg": "bad auth"}).encode())
                return
        except Bad as e:
            self.record("ccp", False, str(e), fields, mode)
            self.close_connection = True
            self.answer(400, b'{"statusCode":"111111","statusMsg":"bad"}')
            return
        if not known(mode):
            self.record("ccp", False, "unknown mode %r" % mode, fields, mode)
            self.answer(500, b'{"error":"unknown mode"}')
            return
        self.record("ccp", True, "", fields, mode)
        success = json.dumps({
            "statusCode": "000000",
            "templateSMS": {
                "smsMessageSid": uuid.uuid4().hex,
                "dateCreated": time.strftime("%Y%m%d%H%M%S"),
            },
        }).encode()
        if mode == "refuse":
            self.answer(200, json.dumps({"statusCode": "160040",
                                         "statusMsg": "quota"}).encode())
        elif mode == "echo":
            self.answer(200, json.dumps({"statusCode": "160038",
                                         "statusMsg": echoed(fields)}).encode())
        else:
            self.answer_mode(mode, success)

    def ccp_verify(self, path_sid, query, body, fields):
        opts = self.server.opts
        # Read the body first so that the log names the mobile even when
        # the credentials are what is wrong.
        doc = json_object(body)
        if isinstance(doc.get("to"), str):
            fields["mobile"] = doc["to"]
        datas = doc.get("datas")
        note_params(fields, datas)
        if isinstance(doc.get("templateId"), str):
            fields["template"] = doc["templateId"]

        if path_sid != opts.ccp_sid:
            raise Bad("account sid in the path is not the configured one")
        auth = self.headers.get("Authorization")
        if auth is None:
            raise Bad("no Authorization header")
        try:
            plain = base64.b64decode(auth.strip(), validate=True)
            plain = plain.decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise Bad("Authorization is not base64")
        sid, colon, ts = plain.partition(":")
        if not colon:
            raise Bad("Authorization does not decode to sid:TS")
        if sid != opts.ccp_sid:
            raise Bad("Authorization names another account sid")
        if not re.fullmatch(r"[0-9]{14}", ts):
            raise Bad("Authorization TS is not YYYYmmddHHMMSS")
        try:
            when = time.mktime(time.strptime(ts, "%Y%m%d%H%M%S"))
        except (ValueError, OverflowError):
            raise Bad("Authorization TS is not a date")
        if abs(time.time() - when) > SKEW:
            raise Bad("Authorization TS is more than %d s from local "
                      "time" % SKEW)
        q = parse_qs(query, keep_blank_values=True)
        if set(q) != {"sig"} or len(q["sig"]) != 1:
            raise Bad("query is not exactly sig=...")
        want = hashlib.md5((opts.ccp_sid + opts.ccp_token + ts)
                           .encode("utf-8")).hexdigest().upper()
        if not hmac.compare_digest(q["sig"][0].encode(), want.encode()):
            raise Bad("sig is not MD5(sid + token + TS) in uppercase hex")
        accept = self.headers.get("Accept", "")
        if accept.strip() != "application/json":
            raise Bad("Accept is %r, not application/json" % accept)
        ctype = self.headers.get("Content-Type", "")
        if re.sub(r"\s+", "", ctype).lower() != \
                "application/json;charset=utf-8":
            raise Bad("Content-Type is %r, not "
                      "application/json;charset=utf-8" % ctype)
        keys = set(doc)
        if keys != {"to", "appId", "templateId", "datas"}:
            raise Bad("body keys are %s, not to, appId, templateId, datas"
                      % ", ".join(sorted(keys)))
        if not isinstance(doc["to"], str) or not doc["to"]:
            raise Bad("to is not a non-empty string")
        if doc["appId"] != opts.ccp_app:
            raise Bad("appId is not the configured one")
        if not isinstance(doc["templateId"], str) or not doc["templateId"]:
            raise Bad("templateId is not a non-empty string")
        if not isinstance(datas, list) or len(datas) != 2 or \
                not all(isinstance(x, str) for x in datas):
            raise Bad("datas is not a list of two strings")
        if not re.fullmatch(r"[0-9]+", datas[0]):
            raise Bad("datas[0] (code) is not digits")
        if not re.fullmatch(r"[1-9][0-9]*", datas[1]):
            raise Bad("datas[1] (minutes) is not a positive integer string")

    # ---- webhook -------------------------------------------------------

    def webhook(self, query, mode):
        fields = {}
        try:
            body = self.read_body()
        except Bad as e:
            self.record("webhook", False, str(e), fields, mode)
            self.close_connection = True
            self.answer(400, b"")
            return
        try:
            self.webhook_verify(query, body, fields)
        except Bad as e:
            self.record("webhook", False, str(e), fields, mode)
            self.answer(401, b'{"error":"bad signature"}')
            return
        if not known(mode):
            self.record("webhook", False, "unknown mode %r" % mode, fields,
                        mode)
            self.answer(500, b'{"error":"unknown mode"}')
            return
        self.record("webhook", True, "", fields, mode)
        if mode == "refuse":
            self.answer(422, b'{"error":"refused"}')
        elif mode == "echo":
            self.answer(422, json.dumps({"error": echoed(fields)}).encode())
        else:
            self.answer_mode(mode, b'{"ok":true}',
                             failed=b'{"error":"server error"}',
                             garbage=(502, b"<html>bad gateway</html>",
                                      "text/html"))

    def webhook_verify(self, query, body, fields):
        opts = self.server.opts
        doc = json_object(body)
        for k in ("mobile", "code"):
            if isinstance(doc.get(k), str):
                fields[k] = doc[k]
        mins = doc.get("minutes")
        if mins is not None:
            fields["minutes"] = str(mins) if not isinstance(mins, str) \
                else mins

        if query:
            raise Bad("unexpected query string")
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            raise Bad("Content-Type is %r, not application/json" % ctype)
        ts = self.headers.get("X-Vcode-Timestamp")
        if ts is None:
            raise Bad("no X-Vcode-Timestamp header")
        if not re.fullmatch(r"[0-9]{1,12}", ts):
            raise Bad("X-Vcode-Timestamp is not unix seconds")
        if abs(time.time() - int(ts)) > SKEW:
            raise Bad("X-Vcode-Timestamp is more than %d s from now" % SKEW)
        sig = self.headers.get("X-Vcode-Signature")
        if sig is None:
            raise Bad("no X-Vcode-Signature header")
        want = "sha256=" + hmac.new(opts.webhook_secret.encode("utf-8"),
                                    ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sig.encode("utf-8", "replace"),
                                   want.encode()):
            raise Bad("X-Vcode-Signature is not sha256=HMAC-SHA256(secret, "
                      "TIMESTAMP.BODY) in lowercase hex")
        keys = set(doc)
        if keys != {"mobile", "code", "minutes"}:
            raise Bad("body keys are %s, not mobile, code, minutes"
                      % ", ".join(sorted(keys)))
        if not isinstance(doc["mobile"], str) or not doc["mobile"]:
            raise Bad("mobile is not a non-empty string")
        if not isinstance(doc["code"], str) or \
                not re.fullmatch(r"[0-9]+", doc["code"]):
            raise Bad("code is not a string of digits")
        if isinstance(mins, bool) or not isinstance(mins, int) or mins < 1:
            raise Bad("minutes is not a positive integer")


    # ---- aliyun and tencent -----------------------------------------

    def cloud(self, kind, query, mode):
        fields = {}
        try:
            body = self.read_body()
        except Bad as e:
            self.record(kind, False, str(e), fields, mode)
            self.close_connection = True
            self.answer(400, b"")
            return
        try:
            if kind == "aliyun":
                self.aliyun_verify(query, body, fields)
            else:
                self.tencent_verify(query, body, fields)
        except Bad as e:
            self.record(kind, False, str(e), fields, mode)
            if kind == "aliyun":
                self.answer(400, json.dumps(
                    {"Code": "SignatureDoesNotMatch", "Message": str(e),
                     "RequestId": str(uuid.uuid4())}).encode())
            else:
                self.answer(200, self.tencent_reply(
                    error=("AuthFailure.SignatureFailure", str(e))))
            return
        if not known(mode):
            self.record(kind, False, "unknown mode %r" % mode, fields, mode)
            self.answer(500, b'{"error":"unknown mode"}')
            return
        self.record(kind, True, "", fields, mode)
        w = WORD.match(mode)
        if kind == "aliyun":
            ok = self.aliyun_reply("OK", "OK")
            refuse = lambda c, m: self.answer(200, self.aliyun_reply(c, m))
            error = lambda c: self.answer(400, self.aliyun_reply(c, c))
        else:
            ok = self.tencent_reply(status=("Ok", "send success",
                                            fields.get("mobile", "")))
            refuse = lambda c, m: self.answer(200, self.tencent_reply(
                status=(c, m, fields.get("mobile", ""))))
            error = lambda c: self.answer(200, self.tencent_reply(
                error=(c, c)))
        if mode == "refuse":
            refuse("isv.BUSINESS_LIMIT_CONTROL" if kind == "aliyun" else
                   "LimitExceeded.PhoneNumberDailyLimit",
                   "daily limit of 10 reached")
        elif w is not None and w.group(1) == "refuse":
            refuse(w.group(2), "refused")
        elif w is not None:
            error(w.group(2))
        elif mode == "echo":
            refuse("isv.MOBILE_NUMBER_ILLEGAL" if kind == "aliyun" else
                   "InvalidParameterValue.IncorrectPhoneNumber",
                   echoed(fields))
        else:
            self.answer_mode(mode, ok)

    @staticmethod
    def aliyun_reply(code, message):
        doc = {"RequestId": str(uuid.uuid4()), "Message": message,
               "Code": code}
        if code == "OK":
            doc["BizId"] = "%d^0" % int(time.time() * 1000)
        return json.dumps(doc, ensure_ascii=False).encode()

    @staticmethod
    def tencent_reply(status=None, error=None):
        r = {"RequestId": str(uuid.uuid4())}
        if error is not None:
            r["Error"] = {"Code": error[0], "Message": error[1]}
        else:
            r["SendStatusSet"] = [{
                "SerialNo": uuid.uuid4().hex, "PhoneNumber": status[2],
                "Fee": 1, "SessionContext": "", "Code": status[0],
                "Message": status[1], "IsoCode": "CN"}]
        return json.dumps({"Response": r}, ensure_ascii=False).encode()

    def fresh(self, when, what):
        if abs(time.time() - when) > SKEW:
            raise Bad("%s is more than %d s from now" % (what, SKEW))

    def aliyun_verify(self, query, body, fields):
        opts = self.server.opts
        pairs = parse_qsl(query, keep_blank_values=True)
        q = dict(pairs)
        fields["mobile"] = q.get("PhoneNumbers", "")
        fields["template"] = q.get("TemplateCode", "")
        fields["sign"] = q.get("SignName", "")
        fields["region"] = q.get("RegionId", "")
        try:
            param = json.loads(q.get("TemplateParam", ""))
        except ValueError:
            param = None
        if isinstance(param, dict):
            fields["code"] = str(param.get("code", ""))
            fields["minutes"] = str(param.get("min", ""))

        h = self.headers
        if h.get("x-acs-action") != "SendSms":
            raise Bad("x-acs-action is not SendSms")
        if h.get("x-acs-version") != "2017-05-25":
            raise Bad("x-acs-version is not 2017-05-25")
        date = h.get("x-acs-date", "")
        try:
            when = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            raise Bad("x-acs-date is not yyyy-mm-ddThh:mm:ssZ")
        self.fresh(when, "x-acs-date")
        nonce = h.get("x-acs-signature-nonce", "")
        if not re.fullmatch(r"[0-9a-f]{32}", nonce):
            raise Bad("x-acs-signature-nonce is not 32 hex digits")
        with self.server.log_lock:
            if nonce in self.server.nonces:
                raise Bad("x-acs-signature-nonce seen before (a replay)")
            self.server.nonces.add(nonce)
        if h.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            raise Bad("x-acs-content-sha256 is not the body's SHA-256")
        m = re.fullmatch(r"ACS3-HMAC-SHA256 Credential=([^,]+),"
                         r"SignedHeaders=([a-z0-9;-]+),Signature=([0-9a-f]{64})",
                         h.get("Authorization", ""))
        if m is None:
            raise Bad("Authorization is not ACS3-HMAC-SHA256 Credential=,"
                      "SignedHeaders=,Signature=")
        if m.group(1) != opts.aliyun_id:
            raise Bad("Credential is not the configured AccessKey id")
        signed = m.group(2).split(";")
        sent = sorted(k.lower() for k in h.keys()
                      if k.lower().startswith("x-acs-") or
                      k.lower() in ("host", "content-type"))
        if signed != sorted(set(sent)):
            raise Bad("SignedHeaders %s is not host and every x-acs- header"
                      " sent (%s)" % (m.group(2), ";".join(sent)))
        canon_q = "&".join("%s=%s" % (quote(k, safe="-_.~"),
                                      quote(v, safe="-_.~"))
                           for k, v in sorted(pairs))
        canon_h = "".join("%s:%s\n" % (k, h.get(k, "").strip())
                          for k in signed)
        canon = "\n".join([self.command, "/", canon_q, canon_h, m.group(2),
                           hashlib.sha256(body).hexdigest()])
        sts = "ACS3-HMAC-SHA256\n" + \
            hashlib.sha256(canon.encode()).hexdigest()
        want = hmac.new(opts.aliyun_secret.encode(), sts.encode(),
                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, m.group(3)):
            raise Bad("Signature is not the ACS3-HMAC-SHA256 of the "
                      "canonical request")
        if set(q) != {"PhoneNumbers", "RegionId", "SignName", "TemplateCode",
                      "TemplateParam"} or len(pairs) != 5:
            raise Bad("query is %s, not PhoneNumbers, RegionId, SignName, "
                      "TemplateCode, TemplateParam" %
                      ",".join(sorted(k for k, _ in pairs)))
        if body:
            raise Bad("body is not empty")
        for k in ("PhoneNumbers", "RegionId", "SignName", "TemplateCode"):
            if not q[k]:
                raise Bad("%s is empty" % k)
        if not isinstance(param, dict) or \
                not all(isinstance(v, str) for v in param.values()):
            raise Bad("TemplateParam is not a JSON object of strings")
        if not re.fullmatch(r"[0-9]+", param.get("code", "")):
            raise Bad("TemplateParam's code is not digits")
        if "min" in param and not re.fullmatch(r"[1-9][0-9]*", param["min"]):
            raise Bad("TemplateParam's min is not a positive integer")
        if set(param) - {"code", "min"}:
            raise Bad("TemplateParam has names other than code and min")

    def tencent_verify(self, query, body, fields):
        opts = self.server.opts
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            doc = None
        if isinstance(doc, dict):
            nums = doc.get("PhoneNumberSet")
            if isinstance(nums, list) and nums and isinstance(nums[0], str):
                fields["mobile"] = nums[0]
            note_params(fields, doc.get("TemplateParamSet"))
            for k, f in (("TemplateId", "template"), ("SignName", "sign")):
                if isinstance(doc.get(k), str):
                    fields[f] = doc[k]
        h = self.headers
        fields["region"] = h.get("X-TC-Region", "")

        if query:
            raise Bad("unexpected query string")
        if h.get("X-TC-Action") != "SendSms":
            raise Bad("X-TC-Action is not SendSms")
        if h.get("X-TC-Version") != "2021-01-11":
            raise Bad("X-TC-Version is not 2021-01-11")
        if not fields["region"]:
            raise Bad("no X-TC-Region")
        ts = h.get("X-TC-Timestamp", "")
        if not re.fullmatch(r"[0-9]{1,12}", ts):
            raise Bad("X-TC-Timestamp is not unix seconds")
        self.fresh(int(ts), "X-TC-Timestamp")
        ctype = h.get("Content-Type", "")
        if ctype != "application/json; charset=utf-8":
            raise Bad("Content-Type is %r" % ctype)
        m = re.fullmatch(r"TC3-HMAC-SHA256 Credential=([^/]+)/([0-9-]{10})/"
                         r"([a-z]+)/tc3_request, SignedHeaders=([a-z;-]+), "
                         r"Signature=([0-9a-f]{64})",
                         h.get("Authorization", ""))
        if m is None:
            raise Bad("Authorization is not TC3-HMAC-SHA256 Credential=, "
                      "SignedHeaders=, Signature=")
        date = time.strftime("%Y-%m-%d", time.gmtime(int(ts)))
        if m.group(1) != opts.tencent_id:
            raise Bad("Credential is not the configured SecretId")
        if m.group(2) != date:
            raise Bad("Credential's date is not X-TC-Timestamp's UTC date")
        if m.group(3) != "sms":
            raise Bad("Credential's service is not sms")
        signed = m.group(4).split(";")
        if "content-type" not in signed or "host" not in signed or \
                signed != sorted(signed):
            raise Bad("SignedHeaders lacks content-type or host")
        canon_h = "".join("%s:%s\n" % (k, h.get(k, "").strip().lower())
                          for k in signed)
        canon = "\n".join(["POST", "/", "", canon_h, m.group(4),
                           hashlib.sha256(body).hexdigest()])
        sts = "\n".join(["TC3-HMAC-SHA256", ts,
                         "%s/sms/tc3_request" % date,
                         hashlib.sha256(canon.encode()).hexdigest()])

        def mac(k, msg):
            return hmac.new(k, msg.encode(), hashlib.sha256).digest()
        k = mac(mac(mac(("TC3" + opts.tencent_key).encode(), date), "sms"),
                "tc3_request")
        want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, m.group(5)):
            raise Bad("Signature is not the TC3-HMAC-SHA256 of the "
                      "canonical request")
        if not isinstance(doc, dict):
            raise Bad("body is not a JSON object")
        keys = set(doc)
        if keys != {"PhoneNumberSet", "SmsSdkAppId", "SignName", "TemplateId",
                    "TemplateParamSet"}:
            raise Bad("body keys are %s" % ", ".join(sorted(keys)))
        nums = doc["PhoneNumberSet"]
        if not isinstance(nums, list) or len(nums) != 1 or \
                not isinstance(nums[0], str) or \
                not re.fullmatch(r"\+[1-9][0-9]{6,14}", nums[0]):
            raise Bad("PhoneNumberSet is not one E.164 number")
        if doc["SmsSdkAppId"] != opts.tencent_app:
            raise Bad("SmsSdkAppId is not the configured one")
        for k in ("SignName", "TemplateId"):
            if not isinstance(doc[k], str) or not doc[k]:
                raise Bad("%s is not a non-empty string" % k)
        ps = doc["TemplateParamSet"]
        if not isinstance(ps, list) or len(ps) != 2 or \
                not all(isinstance(x, str) for x in ps):
            raise Bad("TemplateParamSet is not two strings")
        if not re.fullmatch(r"[0-9]+", ps[0]):
            raise Bad("TemplateParamSet[0] (code) is not digits")
        if not re.fullmatch(r"[1-9][0-9]*", ps[1]):
            raise Bad("TemplateParamSet[1] (minutes) is not a positive "
                      "integer")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--ccp-sid", required=True)
    ap.add_argument("--ccp-token", required=True)
    ap.add_argument("--ccp-app", required=True)
    ap.add_argument("--webhook-secret", required=True)
    ap.add_argument("--port", type=int, default=0,
                    help="port to bind (default: a free one)")
    ap.add_argument("--aliyun-id", default="")
    ap.add_argument("--aliyun-secret", default="")
    ap.add_argument("--tencent-id", default="")
    ap.add_argument("--tencent-key", default="")
    ap.add_argument("--tencent-app", default="")
    opts = ap.parse_args()

    srv = Server(("127.0.0.1", opts.port), Handler)
    srv.opts = opts
    srv.log_lock = threading.Lock()
    srv.nonces = set()
    srv.log_fp = open(opts.log, "a", encoding="utf-8")
    port = srv.server_address[1]
    tmp = opts.port_file + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, opts.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
