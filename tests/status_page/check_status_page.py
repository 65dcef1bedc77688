#!/usr/bin/env python3
"""The admin status page in headless Chromium, driven over the DevTools protocol.

Starts meridian (admin token set, a service with two regions, one forwarded) and
Chromium, opens http://ADMIN/#token=..., and requires that the page renders the
zones, regions and backends from /status, drops the token from the address, shows
eu-west going down (source override, with the file's reason) after an override file
is written, with no console message, exception or failed load on the way; then,
without a token, that the page asks for one and renders once it is entered.

Usage: check_status_page.py SOURCE_DIR MERIDIAN_BINARY   (Debian chromium and
python3-websocket, from scripts/deps.sh: their absence fails the test).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket  # python3-websocket

DEADLINE = 60  # seconds, for anything a loaded 2-core machine may be slow at
TOKEN = "page-t0ken"


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def wait_for(what, probe, deadline=DEADLINE, every=0.2):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        time.sleep(every)
    fail("timed out waiting for " + what)


def write_files(work):
    os.makedirs(os.path.join(work, "zones"))
    os.makedirs(os.path.join(work, "health"))
    zone = {"origin": "example.test.", "ttl": 3600,
            "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026120601,
                    "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300},
            "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web"}}}
    with open(os.path.join(work, "zones", "example.test.json"), "w") as f:
        json.dump(zone, f)
    config = {
        "dns": {"listen": ["127.0.0.1:0"]},
        "zones": "zones/",
        "health": "health/",
        "admin": {"listen": "127.0.0.1:0", "token": TOKEN},
        "services": {"web": {
            "policy": "failover", "ttl": 300, "failover_ttl": 30, "order": ["eu-west", "us-east"],
            "regions": {
                "eu-west": {"endpoints": ["192.0.2.11", "192.0.2.12"],
                            "backends": [{"address": "127.0.0.1:9"}],
                            "forward": {"l7": {"listen": "127.0.0.1:0"}}},
                "us-east": {"endpoints": ["192.0.2.21"]}}}},
    }
    with open(os.path.join(work, "meridian.json"), "w") as f:
        json.dump(config, f)


def start_meridian(binary, work):
    log_path = os.path.join(work, "meridian.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([binary, "serve", "--config", os.path.join(work, "meridian.json")],
                            stdout=log, stderr=log)

    def admin_address():
        if proc.poll() is not None:
            fail("meridian exited with %d:\n%s" % (proc.returncode, open(log_path).read()))
        text = open(log_path).read()
        if "event=ready" not in text:
            return None
        m = re.search(r"event=listening address=(\S+) transports=admin-http", text)
        return m.group(1) if m else None

    return proc, wait_for("meridian to be ready", admin_address)


class Chromium:
    """One headless Chromium and a DevTools session on its first page."""

    def __init__(self, work):
        binary = shutil.which("chromium")
        if not binary:
            fail("chromium is not installed (scripts/deps.sh installs it)")
        # /dev/shm is small in containers: Chromium's shared memory goes to /tmp instead.
        args = [binary, "--headless", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--remote-debugging-port=0",
                "--user-data-dir=" + os.path.join(work, "chromium"), "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.stderr_path = os.path.join(work, "chromium.log")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))

        def devtools_port():
            if self.proc.poll() is not None:
                fail("chromium exited with %d:\n%s" % (self.proc.returncode, open(self.stderr_path).read()))
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", open(self.stderr_path).read())
            return m.group(1) if m else None

        port = wait_for("chromium's DevTools port", devtools_port)

        def page_target():
            with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=10) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        self.ws = websocket.create_connection(wait_for("a page target", page_target), timeout=DEADLINE,
                                              suppress_origin=True)
        self.next_id = 0
        self.problems = []  # console messages, exceptions and failed loads, as text
        for method in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(method)

    def _record(self, event):
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.problems.append("console.%s: %s" % (params.get("type"), text))
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.problems.append("exception: %s %s" % (d.get("text"), d.get("exception", {}).get("description", "")))
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            if e.get("level") in ("error", "warning"):
                self.problems.append("log %s (%s): %s %s" % (e.get("level"), e.get("source"), e.get("text"),
                                                             e.get("url", "")))

    def call(self, method, tolerate=False, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            message = json.loads(self.ws.recv())
            if message.get("id") == my_id:
                if "error" in message:
                    if tolerate:
                        return None
                    fail("%s: %s" % (method, message["error"]))
                return message.get("result", {})
            self._record(message)
        fail("no answer to " + method)

    def evaluate(self, expression, tolerate=False):
        """The expression's value; with tolerate, None when it cannot be evaluated (a page
        being replaced by the next one)."""
        result = self.call("Runtime.evaluate", tolerate=tolerate, expression=expression, returnByValue=True)
        if result is None:
            return None
        if "exceptionDetails" in result:
            if tolerate:
                return None
            fail("evaluating %s: %s" % (expression, result["exceptionDetails"]))
        return result.get("result", {}).get("value")

    def wait_until(self, what, expression, expected):
        """Polls expression until it evaluates to expected (while pages load, it may not evaluate)."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if self.evaluate(expression, tolerate=True) == expected:
                return
            time.sleep(0.2)
        fail("timed out waiting for %s; the page logged:\n  %s\nand shows:\n%s" % (
            what, "\n  ".join(self.problems) or "nothing", self.evaluate("document.body.innerText", tolerate=True)))

    def require_no_banner(self):
        """The page's error banner (a failed fetch, or an exception while rendering) is hidden."""
        if not self.evaluate("document.getElementById('banner').hidden"):
            fail("the page shows an error: " + str(self.evaluate("document.getElementById('banner').innerText")))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def attr(selector, name):
    """JS: the attribute of the element matching selector, or null."""
    return "(() => { const e = document.querySelector(%s); return e ? e.getAttribute(%s) : null; })()" % (
        json.dumps(selector), json.dumps(name))


def text(selector):
    return "(() => { const e = document.querySelector(%s); return e ? e.innerText : null; })()" % json.dumps(selector)


def main():
    if len(sys.argv) != 3:
        fail("usage: check_status_page.py SOURCE_DIR MERIDIAN_BINARY")
    binary = sys.argv[2]
    work = tempfile.mkdtemp(prefix="meridian-status-page.")
    meridian = browser = None
    try:
        write_files(work)
        meridian, admin = start_meridian(binary, work)
        browser = Chromium(work)
        url = "http://%s/" % admin

        # 1. With the token in the address: everything /status holds is rendered.
        browser.call("Page.navigate", url=url + "#token=" + TOKEN)
        browser.wait_until("eu-west shown up", attr('[data-region="web/eu-west"]', "data-state"), "up")
        if browser.evaluate("location.hash") != "":
            fail("the token stays in the address bar: " + browser.evaluate("location.href"))
        checks = {
            "us-east shown up": (attr('[data-region="web/us-east"]', "data-state"), "up"),
            "an endpoint of eu-west": (attr('[data-endpoint="web/eu-west/192.0.2.11"]', "data-state"), "up"),
            "the zone": (attr('[data-zone="example.test."]', "data-state"), "loaded"),
            "the backend's circuit": (attr('[data-backend="web/eu-west/backend/127.0.0.1:9"]', "data-circuit"),
                                      "closed"),
            "the last reload": (attr("[data-reload]", "data-reload"), "ok"),
        }
        for what, (expression, expected) in checks.items():
            got = browser.evaluate(expression)
            if got != expected:
                fail("%s: %r, expected %r\n%s" % (what, got, expected, browser.evaluate("document.body.innerText")))
        browser.require_no_banner()
        if "2026120601" not in browser.evaluate(text("#zones")):
            fail("the zone's serial is not shown")

        # 2. An override file takes eu-west down: the page shows it at its next refresh.
        with open(os.path.join(work, "health", "maintenance.json"), "w") as f:
            json.dump({"web/eu-west": {"state": "down", "reason": "status page test maintenance"}}, f)
        browser.wait_until("eu-west shown down", attr('[data-region="web/eu-west"]', "data-state"), "down")
        row = browser.evaluate(text('[data-region="web/eu-west"]'))
        if "override" not in row or "status page test maintenance" not in row:
            fail("eu-west's row lacks the override's source or reason: %r" % row)
        if browser.evaluate(attr('[data-region="web/us-east"]', "data-state")) != "up":
            fail("us-east is not shown up any more")
        browser.require_no_banner()
        if browser.problems:
            fail("the page logged:\n  " + "\n  ".join(browser.problems))

        # 3. No token: the page asks for one (the 401 is expected here), then renders with it.
        browser.evaluate("sessionStorage.clear()")
        browser.call("Page.navigate", url=url)
        browser.wait_until("the token form",
                           "document.readyState === 'complete' && !document.getElementById('login').hidden", True)
        if browser.evaluate("document.body.dataset.loaded") is not None:
            fail("the page rendered without the token")
        browser.problems.clear()
        browser.evaluate("document.getElementById('token').value = %s; "
                         "document.getElementById('login').requestSubmit()" % json.dumps(TOKEN))
        browser.wait_until("the page rendered after the token was entered",
                           attr('[data-region="web/eu-west"]', "data-state"), "down")
        browser.require_no_banner()
        if browser.problems:
            fail("the page logged after the token was entered:\n  " + "\n  ".join(browser.problems))
        print("status page: rendered, eu-west went down after the override, token form works, no console messages")
    finally:
        if browser:
            browser.close()
        if meridian:
            meridian.terminate()
            try:
                meridian.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                meridian.kill()
        if not os.environ.get("MERIDIAN_KEEP_TEMP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
