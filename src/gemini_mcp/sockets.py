"""Listening sockets for uvicorn that answer without Nagle delays.

uvicorn creates its socket with protocol 0, and asyncio enables TCP_NODELAY only on sockets whose protocol
says TCP; without it a response written in two parts (headers, then body) waits for the client's delayed
ACK, about 40 ms on Linux, on every request. Creating the socket ourselves fixes that.
"""

from __future__ import annotations

import ipaddress
import socket


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET
    try:
        if ipaddress.ip_address(host).version == 6:
            family = socket.AF_INET6
    except ValueError:
        if host not in ("localhost", ""):
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
