#!/usr/bin/env python3
"""The gRPC client of the forwarding tier's tests: calls grpc_echo_server.py's methods
through the proxy and prints what came back as one JSON object. Usage:
grpc_echo_client.py HOST:PORT [CA_FILE SERVER_NAME] (with a CA: TLS, verified for SERVER_NAME)."""
import json
import queue
import sys
import time

import grpc

target = sys.argv[1]
if len(sys.argv) > 2:
    with open(sys.argv[2], "rb") as f:
        credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
    channel = grpc.secure_channel(target, credentials, options=(("grpc.ssl_target_name_override", sys.argv[3]),))
else:
    channel = grpc.insecure_channel(target)
ident = lambda b: b
out = {}

unary = channel.unary_unary("/echo.Echo/Unary", request_serializer=ident, response_deserializer=ident)
response, call = unary.with_call(b"hello", timeout=20)
out["unary"] = response.decode()
out["unary_trailers"] = {k: v for k, v in call.trailing_metadata()}
out["unary_code"] = call.code().name

stream = channel.unary_stream("/echo.Echo/Stream", request_serializer=ident, response_deserializer=ident)
arrivals = []
messages = []
for m in stream(b"4", timeout=20):
    arrivals.append(time.time())
    messages.append(m.decode().split(" at ")[0])
out["stream"] = messages
out["stream_spread"] = arrivals[-1] - arrivals[0] if arrivals else 0

fail = channel.unary_unary("/echo.Echo/Fail", request_serializer=ident, response_deserializer=ident)
try:
    fail(b"x", timeout=20)
    out["fail_code"] = "OK"
except grpc.RpcError as e:
    out["fail_code"] = e.code().name
    out["fail_message"] = e.details()
    out["fail_trailers"] = {k: v for k, v in (e.trailing_metadata() or ())}

chat = channel.stream_stream("/echo.Echo/Chat", request_serializer=ident, response_deserializer=ident)
out["chat"] = [m.decode() for m in chat(iter([b"a", b"b", b"c"]), timeout=20)]

# Ping-pong: each message is sent only once the answer to the previous one came back (the
# client half-closes at the end), which needs the request body streamed to the backend.
outbox = queue.Queue()


def pings():
    while True:
        m = outbox.get()
        if m is None:
            return
        yield m


answers = chat(pings(), timeout=10)
pongs = []
try:
    for word in (b"1", b"2", b"3"):
        outbox.put(word)
        pongs.append(next(answers).decode())
    outbox.put(None)
    pongs.extend(m.decode() for m in answers)
    out["pingpong_code"] = "OK"
except grpc.RpcError as e:
    out["pingpong_code"] = e.code().name
    outbox.put(None)
out["pingpong"] = pongs

# Client streaming: an upload of 64 messages of 64 KiB, answered with the bytes counted.
upload = channel.stream_unary("/echo.Echo/Upload", request_serializer=ident, response_deserializer=ident)
out["upload"] = upload(iter([bytes([i]) * 65536 for i in range(64)]), timeout=30).decode()
print(json.dumps(out))
