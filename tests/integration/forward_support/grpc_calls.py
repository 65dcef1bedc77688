#!/usr/bin/env python3
"""Calls of grpc_echo_server.py's methods for the forwarding tier's tests, one mode per run.
Usage: grpc_calls.py HOST:PORT stream N  (a server stream of N messages, 300 ms apart;
prints the count) | grpc_calls.py HOST:PORT unary N  (N unary calls one after the other;
prints the count answered)."""
import sys

import grpc

target, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
channel = grpc.insecure_channel(target)
ident = lambda b: b
if mode == "stream":
    stream = channel.unary_stream("/echo.Echo/Stream", request_serializer=ident, response_deserializer=ident)
    print(sum(1 for _ in stream(str(n).encode(), timeout=60)))
else:
    unary = channel.unary_unary("/echo.Echo/Unary", request_serializer=ident, response_deserializer=ident)
    print(sum(1 for i in range(n) if unary(b"%d" % i, timeout=20) == b"echo:%d" % i))
