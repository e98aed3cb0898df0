#!/usr/bin/env python3
"""tests/integration/fd0_socket.py PATH PROGRAM ARGS...: binds and listens
on the unix socket PATH (mode 0660) and runs PROGRAM with it on fd 0, as
systemd does for a service with StandardInput=socket (vcoded.socket ->
vcoded.service). As root the socket is given to www-data, as the unit's
SocketUser and SocketGroup say. The program replaces this process."""
import grp
import os
import pwd
import socket
import sys

path = sys.argv[1]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o660)
if os.geteuid() == 0:
    os.chown(path, pwd.getpwnam("www-data").pw_uid,
             grp.getgrnam("www-data").gr_gid)
s.listen(128)
os.dup2(s.fileno(), 0)
os.set_inheritable(0, True)
s.close()
os.execv(sys.argv[2], sys.argv[2:])
