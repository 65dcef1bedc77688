#!/usr/bin/env python3
"""A pass-through proxy in front of one etcd member's JSON gateway that can end the
watches going through it the way etcd does when their start revision was compacted:
a last message {"result": {"canceled": true, "compact_revision": R}}. With a real etcd
that answer only comes in a race (a compaction between a node's read and its watch
request), so the cluster test makes it happen on purpose.

usage: etcd_watch_compactor.py UPSTREAM_URL PORT_FILE TRIGGER_FILE
  listens on 127.0.0.1:0 and writes its port to PORT_FILE; while TRIGGER_FILE exists, every
  watch stream open through it (and every one opened later) gets the compaction message with
  the revision written in TRIGGER_FILE and ends. Other calls are forwarded unchanged.
"""
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

upstream = urllib.parse.urlparse(sys.argv[1])
port_file, trigger_file = sys.argv[2], sys.argv[3]


def compacted_revision():
    try:
        with open(trigger_file) as f:
            return int(f.read().strip() or "1")
    except (OSError, ValueError):
        return None


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        conn.request("POST", self.path, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        if self.path != "/v3/watch":
            data = resp.read()
            self.send_response(resp.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            return
        self.send_response(resp.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lock = threading.Lock()
        done = threading.Event()

        def chunk(data):
            with lock:
                if done.is_set():
                    return False
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                return True

        def pump():  # etcd's messages, as they come
            try:
                while not done.is_set():
                    data = resp.read1(65536)
                    if not data or not chunk(data):
                        break
            except (OSError, ValueError):
                pass
            done.set()

        threading.Thread(target=pump, daemon=True).start()
        try:
            while not done.is_set():
                revision = compacted_revision()
                if revision is not None:
                    message = {"result": {"header": {"revision": str(revision)}, "canceled": True,
                                          "compact_revision": str(revision)}}
                    chunk(json.dumps(message).encode() + b"\n")
                    with lock:
                        done.set()
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                    break
                time.sleep(0.05)
        except OSError:
            pass
        done.set()
        conn.close()
        self.close_connection = True


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
