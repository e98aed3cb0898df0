#!/usr/bin/env python3
"""tests/bench/seed_view.py: what a legacy CGI host runs instead of vcode,
for make bench's comparison: the ihome tutorial's Flask captcha view done
as a CGI program (Python 3's standard library only, so it can run here:
the real view imports Flask, redis-py and an image library on top, which
only adds to the start-up measured).

  GET ?route=healthz          PING Redis, answer {"status": "ok"}
  GET ?route=captcha&uuid=ID  4 random characters stored as
                              image_code_ID (SETEX 300), a 120x40 PNG

Redis is reached on the unix socket in $VCODE_BENCH_REDIS."""
import json
import os
import random
import socket
import struct
import sys
import urllib.parse
import zlib


def redis(*args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["VCODE_BENCH_REDIS"])
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    reply = s.recv(4096)
    s.close()
    return reply


def png(width, height, text):
    """A noisy image with text-coloured blocks: the work of drawing one."""
    rnd = random.SystemRandom()
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            c = (x * len(text)) // width
            ink = (ord(text[c]) * 7 + y) % 3 == 0
            v = rnd.randrange(256) if not ink else 40
            row += bytes((v, 255 - v, 128))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                       0, 0, 0)) +
            chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def main():
    q = urllib.parse.parse_qs(os.environ.get("QUERY_STRING", ""))
    route = q.get("route", [""])[0]
    out = sys.stdout.buffer
    if route == "healthz":
        ok = redis("PING").startswith(b"+PONG")
        body = json.dumps({"status": "ok" if ok else "unavailable"})
        out.write(b"Status: %s\r\nContent-Type: application/json\r\n\r\n"
                  % (b"200 OK" if ok else b"503 Unavailable"))
        out.write(body.encode())
    elif route == "captcha":
        uuid = q.get("uuid", [""])[0]
        text = "".join(random.SystemRandom().choice(
            "ABCDEFGHJKLMNPQRSTUVWXY3456789") for _ in range(4))
        redis("SETEX", "image_code_" + uuid, "300", text)
        out.write(b"Content-Type: image/png\r\n\r\n")
        out.write(png(120, 40, text))
    else:
        out.write(b"Status: 404 Not Found\r\nContent-Type: application/json"
                  b"\r\n\r\n{}")


main()
