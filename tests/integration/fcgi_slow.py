#!/usr/bin/env python3
"""fcgi_slow.py SOCKET PAUSE_FILE: one FastCGI request (GET /healthz) to
vcoded's socket, written only once PAUSE_FILE exists, so that the worker
that accepted the connection waits in the middle of reading it. Prints the
CGI status line of the answer, or "closed" when the connection was dropped
without one."""
import os
import socket
import struct
import sys
import time


def record(rtype, content, req_id=1):
    return struct.pack(">BBHHBB", 1, rtype, req_id, len(content), 0, 0) + content


def pair(name, value):
    n, v = name.encode(), value.encode()
    return bytes([len(n), len(v)]) + n + v


def main():
    sock_path, pause_file = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    deadline = time.time() + 20
    while not os.path.exists(pause_file) and time.time() < deadline:
        time.sleep(0.02)
    params = b"".join(pair(k, v) for k, v in (
        ("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/healthz"),
        ("REMOTE_ADDR", "127.0.0.1"), ("QUERY_STRING", "")))
    try:
        s.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) +
                  record(4, b"") + record(5, b""))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        data = b""
    out, i = b"", 0
    while i + 8 <= len(data):
        _, rtype, _, clen, plen, _ = struct.unpack(">BBHHBB", data[i:i + 8])
        if rtype == 6:
            out += data[i + 8:i + 8 + clen]
        i += 8 + clen + plen
    line = out.split(b"\r\n", 1)[0].decode(errors="replace")
    print(line if line.startswith("Status:") else "closed")


main()
