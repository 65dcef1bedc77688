#!/usr/bin/env python3
"""A gRPC backend for the forwarding tier's tests, with generic handlers and raw bytes
(no protoc): /echo.Echo/Unary echoes the request (trailing metadata x-trailer: t-value),
/echo.Echo/Stream answers N messages (N is the request's text), one every 300 ms,
/echo.Echo/Fail fails with NOT_FOUND and a message, /echo.Echo/Chat echoes each message of
a bidirectional stream as it arrives, /echo.Echo/Upload answers the byte count and
message count of a client stream. Usage: grpc_echo_server.py PORT_FILE; it binds 127.0.0.1:0 and
writes the port it got to PORT_FILE."""
import sys
import time
from concurrent import futures

import grpc

FAIL_MESSAGE = "no such thing: caf\u00e9 / 100% \"quoted\""


def unary(request, context):
    context.set_trailing_metadata((("x-trailer", "t-value"),))
    return b"echo:" + request


def stream(request, context):
    for i in range(int(request.decode())):
        if i:
            time.sleep(0.3)
        yield b"message %d at %f" % (i, time.time())


def fail(request, context):
    context.set_trailing_metadata((("x-why", "missing"),))
    context.abort(grpc.StatusCode.NOT_FOUND, FAIL_MESSAGE)


def chat(requests, context):
    for r in requests:
        yield b"chat:" + r


def upload(requests, context):
    total = count = 0
    for r in requests:
        total += len(r)
        count += 1
    return b"%d bytes in %d messages" % (total, count)


def ident(b):
    return b


handlers = {
    "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
    "Stream": grpc.unary_stream_rpc_method_handler(stream, ident, ident),
    "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
    "Chat": grpc.stream_stream_rpc_method_handler(chat, ident, ident),
    "Upload": grpc.stream_unary_rpc_method_handler(upload, ident, ident),
}

server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.wait_for_termination()
