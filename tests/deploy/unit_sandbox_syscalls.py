#!/usr/bin/env python3
"""meridian stays inside deploy/meridian.service's sandbox: run under strace through
start, DNS over UDP and TCP, health checks, the admin routes, a POST /reload, a reload
on a file change and SIGTERM, every system call it makes is allowed by the unit's
SystemCallFilter= lines and none is denied, and every socket it opens is of a family in
RestrictAddressFamilies=. (systemd cannot run the unit here: this checks what the
filter would see.)

Usage: unit_sandbox_syscalls.py SOURCE_DIR MERIDIAN_BINARY
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SOURCE, MERIDIAN = sys.argv[1], sys.argv[2]


def unit_settings(name):
    with open(os.path.join(SOURCE, "deploy", "meridian.service")) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(name + "=")]


def expand(names, seen=None):
    """System call names of a list of names and @groups (systemd-analyze syscall-filter)."""
    seen = set() if seen is None else seen
    out = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        text = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                              check=True).stdout
        members = [l.strip() for l in text.splitlines()[1:] if l.strip() and not l.strip().startswith("#")]
        out |= expand(members, seen)
    return out


def filter_sets():
    allowed, denied = set(), set()
    for value in unit_settings("SystemCallFilter"):
        if value.startswith("~"):
            denied |= expand(value[1:].split())
        else:
            allowed |= expand(value.split())
    if not allowed:
        sys.exit("deploy/meridian.service has no SystemCallFilter= allow list")
    return allowed, denied


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def main():
    allowed, denied = filter_sets()
    families = set()
    for value in unit_settings("RestrictAddressFamilies"):
        families |= set(value.split())
    work = tempfile.mkdtemp(prefix="meridian-sandbox-")
    try:
        with open(os.path.join(SOURCE, "meridian.json")) as f:
            config = json.load(f)
        config["dns"]["listen"] = ["127.0.0.1:0", "[::1]:0"]
        config["admin"] = {"listen": "127.0.0.1:0"}
        shutil.copytree(os.path.join(SOURCE, "zones"), os.path.join(work, "zones"))
        config["zones"] = os.path.join(work, "zones")
        config["health"] = os.path.join(SOURCE, "health")
        config["geoip"] = {"city": os.path.join(SOURCE, "geodata", "demo-city.mmdb")}
        config["latency"] = os.path.join(SOURCE, "geodata", "latency.json")
        for service in config["services"].values():
            for region in service["regions"].values():
                for listener in region.get("forward", {}).values():
                    if isinstance(listener, dict) and "listen" in listener:
                        listener["listen"] = listener["listen"].rsplit(":", 1)[0] + ":0"
        config_path = os.path.join(work, "meridian.json")
        with open(config_path, "w") as f:
            json.dump(config, f)
        trace = os.path.join(work, "trace")
        log_path = os.path.join(work, "log")
        log = open(log_path, "w")
        # systemd's notify socket, so that READY=1, STATUS= and WATCHDOG=1 are sent as under the unit.
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(os.path.join(work, "notify"))
        # Read as systemd does, all along: a full socket would block meridian's sends.
        notified = []
        notify.settimeout(0.2)

        def drain():
            while notify.fileno() >= 0:
                try:
                    notified.append(notify.recv(4096).decode())
                except socket.timeout:
                    continue
                except OSError:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        env = dict(os.environ, NOTIFY_SOCKET=os.path.join(work, "notify"), WATCHDOG_USEC="1000000")
        server = subprocess.Popen(["strace", "-f", "-qq", "-o", trace, MERIDIAN, "serve", "--config", config_path],
                                  stdout=log, stderr=log, env=env)

        def address(transport):
            with open(log_path) as f:
                m = re.search(r"address=127\.0\.0\.1:(\d+) transports=" + transport, f.read())
            return int(m.group(1)) if m else None

        admin = wait_for(lambda: address("admin-http"), 60)
        dns = wait_for(lambda: address("udp,tcp"), 60)
        if not admin or not dns:
            server.kill()
            sys.exit("meridian did not start:\n" + open(log_path).read())
        for extra in ([], ["+tcp"]):
            r = subprocess.run(["dig", "-p", str(dns), "@127.0.0.1", "+short", "+tries=3", "app.example.com"] + extra,
                               capture_output=True, text=True, timeout=60)
            if not r.stdout.strip():
                sys.exit("no DNS answer: " + r.stdout + r.stderr)
        base = f"http://127.0.0.1:{admin}"
        for path in ("/healthz", "/readyz", "/status", "/metrics", "/explain?name=app.example.com&client=192.0.2.1"):
            urllib.request.urlopen(base + path, timeout=30).read()
        report = json.loads(urllib.request.urlopen(urllib.request.Request(base + "/reload", method="POST"), timeout=90).read())
        if report.get("result") != "ok":
            sys.exit("POST /reload: " + json.dumps(report))
        # A reload on a file change, then a few health check rounds (interval 2 s).
        zone = os.path.join(work, "zones", "example.com.json")
        with open(zone) as f:
            text = f.read()
        with open(zone, "w") as f:
            f.write(text.replace("2026112701", "2026112702"))
        wait_for(lambda: open(log_path).read().count("event=reload_done") >= 2, 30)
        time.sleep(3)
        # SIGTERM to meridian itself (strace, signalled, would detach and leave it running).
        children = open(f"/proc/{server.pid}/task/{server.pid}/children").read().split()
        if len(children) != 1:
            server.kill()
            sys.exit(f"strace should have one child, has {children}")
        os.kill(int(children[0]), signal.SIGTERM)
        try:
            code = server.wait(timeout=60)  # strace exits with its tracee's status
        except subprocess.TimeoutExpired:
            os.kill(int(children[0]), signal.SIGKILL)
            server.kill()
            sys.exit("meridian did not stop on SIGTERM")
        log.close()
        notify.close()
        reader.join(timeout=5)
        used, socket_families = set(), set()
        with open(trace) as f:
            for line in f:
                m = re.match(r"\d+\s+([a-z_0-9]+)\(", line)
                if not m:
                    continue
                name = m.group(1)
                used.add(name)
                if name == "socket":
                    socket_families.add(line.split("(", 1)[1].split(",", 1)[0])
        problems = []
        if code != 0:
            problems.append(f"meridian exited {code}")
        if not any("READY=1" in n for n in notified):
            problems.append("no READY=1 on the notify socket")
        if len(used) < 20:
            problems.append(f"only {len(used)} system calls traced: is strace working?")
        outside = sorted(used - allowed)
        if outside:
            problems.append("not in the unit's SystemCallFilter= allow list: " + " ".join(outside))
        refused = sorted(used & denied)
        if refused:
            problems.append("denied by the unit's SystemCallFilter=~: " + " ".join(refused))
        if not socket_families <= families:
            problems.append("socket families outside RestrictAddressFamilies=: " + " ".join(sorted(socket_families - families)))
        print(f"{len(used)} system calls used: {' '.join(sorted(used))}")
        print(f"socket families: {' '.join(sorted(socket_families))}")
        for p in problems:
            print("FAIL: " + p)
        return 1 if problems else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
