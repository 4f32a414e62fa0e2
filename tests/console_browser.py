#!/usr/bin/python3
"""Drive headless Chromium through every page of zcqrs-console, as a person
would: look at the cluster, send a command with the CLI and find it in the
log, open its stream, run a query, send a command from the page, stop a
query node and see its lag, see the charts drawn. Saves a screenshot of
each page.

usage: tests/console_browser.py --dir CLUSTER_DIR --shots DIR [--readonly URL]
                               [--seconds N]
       tests/console_browser.py --secured CLUSTER_DIR

CLUSTER_DIR is a cluster that `deploy/cluster up --console-send` started.
--readonly URL names a second console of the same cluster, with sending
off: its send page must say so, and its JSON API must refuse a command and
bad requests with the right status and a reason. --secured checks, without
a browser, the console of a cluster started with --secure --console: it
reaches every node with its CURVE key and reads the log, who appended
each event included.
Chromium talks the DevTools protocol over a pipe (--remote-debugging-pipe:
JSON messages ending in a NUL byte, commands on its fd 3, answers on fd 4),
so nothing but the standard library is needed. Every wait is bounded; the
browser runs in a process group of its own, which is ended by its id at
the end, whatever happened. Exit 0 when every check passed.
"""

import argparse
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from cluster_kit import Failed, cli, cluster_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Browser:
    """One headless Chromium and one page in it, over the DevTools pipe."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.profile = tempfile.mkdtemp(prefix="zcq-chromium-")
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()

        def wire():
            # Runs in the child before exec: its fd 3 and 4 become the
            # pipe's ends (copied out of the way first: either may be 3 or 4)
            ends = os.dup(commands_read), os.dup(answers_write)
            os.dup2(ends[0], 3)
            os.dup2(ends[1], 4)

        binary = shutil.which("chromium") or "/usr/bin/chromium"
        self.log = open(os.path.join(self.profile, "chromium.log"), "w")
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-sync", "--mute-audio",
             "--hide-scrollbars", "--remote-debugging-pipe", f"--user-data-dir={self.profile}",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, close_fds=False,
            preexec_fn=wire, start_new_session=True)
        os.close(commands_read)
        os.close(answers_write)
        self.next_id = 0
        self.buffer = b""
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def _read(self):
        """One message from the browser, waiting at most until the deadline."""
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Failed("the browser did not answer in time")
            ready, _, _ = select.select([self.answers], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.answers, 1 << 20)
                if not chunk:
                    raise Failed("the browser closed its pipe (see its log)")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None):
        """Send one DevTools command and return its result."""
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise Failed(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def eval(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression,
                                                "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise Failed(f"in the page: {expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def go(self, url):
        self.call("Page.navigate", {"url": url})

    def wait(self, expression, what, seconds=15):
        """Poll the page until expression is true (bounded)."""
        until = min(self.deadline, time.monotonic() + seconds)
        # An element found is true (it comes back as {}, which Python holds false)
        expression = f"(() => {{ const v = ({expression}); return v instanceof Node || v; }})()"
        while time.monotonic() < until:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.1)
        text = self.eval("document.getElementById('page').innerText.slice(0, 600)")
        raise Failed(f"{what}: not seen in {seconds} s; the page shows:\n{text}")

    def shot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def close(self):
        """Close the browser; end its process group by its id if it lingers."""
        try:
            if self.process.poll() is None:
                os.write(self.commands, json.dumps(
                    {"id": 0, "method": "Browser.close"}).encode() + b"\0")
                self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # helpers left in its group
        except ProcessLookupError:
            pass
        for fd in (self.commands, self.answers):
            os.close(fd)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def http(url, body=None, host=None, kind="application/json"):
    """(status, headers, text) of one request to the console."""
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        request.add_header("Content-Type", kind)
    if host:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read().decode()


def check_api(url):
    """The JSON API of a console whose sending is off."""
    status, headers, text = http(f"{url}/")
    if status != 200 or "text/html" not in headers["Content-Type"] or \
            "default-src 'self'" not in headers.get("Content-Security-Policy", ""):
        raise Failed(f"GET /: {status} {headers['Content-Type']}")
    status, headers, _ = http(f"{url}/console.js")
    if status != 200 or "javascript" not in headers["Content-Type"]:
        raise Failed(f"GET /console.js: {status}")
    refusals = [
        (f"{url}/nothing-here", None, None, None, 404, "nothing at /nothing-here"),
        (f"{url}/api/log?count=0", None, None, None, 400, "'count' must be a whole number"),
        (f"{url}/api/log?from=x", None, None, None, 400, "'from' must be a whole number"),
        (f"{url}/api/stream", None, None, None, 400, "'name' must be a stream name"),
        (f"{url}/api/query?name=account&params=%5B1%5D", None, None, None, 400,
         "params must be a JSON object"),
        (f"{url}/api/query?name=account&node=9", None, None, None, 400,
         "'node' must be a whole number from 0 to 1"),
        (f"{url}/api/command", b'{"type":"Deposit","stream":"a","data":{"amount":1}}', None,
         None, 403, "sending commands is off"),
        (f"{url}/api/command", b"type=Deposit", None, "application/x-www-form-urlencoded", 415,
         "a command is a JSON object"),
        (f"{url}/api/cluster", None, "console.example:80", None, 403,
         "this console answers requests for"),
    ]
    for target, body, host, kind, want, reason in refusals:
        status, headers, text = http(target, body, host, kind or "application/json")
        if status != want or reason not in json.loads(text).get("error", ""):
            raise Failed(f"{target}: {status} {text!r}, not {want} {reason!r}")
    status, _, text = http(f"{url}/api/log?from=1&count=2")
    events = json.loads(text)["events"]
    if status != 200 or [event["position"] for event in events] != [1, 2]:
        raise Failed(f"GET /api/log?from=1&count=2: {status} {text!r}")


def check_secured(folder):
    """The console of a secured cluster sees every node and the log."""
    env = cluster_env(folder)
    url = env["console"].rstrip("/")
    until = time.monotonic() + 20
    while True:
        cluster = json.loads(http(f"{url}/api/cluster")[2])
        if cluster["secure"] and all(node["state"] == "up" for node in cluster["nodes"]):
            break
        if time.monotonic() > until:
            raise Failed(f"the secured console does not see every node up: {cluster}")
        time.sleep(0.1)
    status, _, text = http(f"{url}/api/log?from=1")
    events = json.loads(text).get("events", [])
    if status != 200 or not events or events[0]["meta"].get("user") != "client":
        raise Failed(f"the secured console's log: {status} {text!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secured")
    parser.add_argument("--dir")
    parser.add_argument("--shots")
    parser.add_argument("--readonly")
    parser.add_argument("--seconds", type=float, default=150)
    args = parser.parse_args()
    if args.secured:
        try:
            check_secured(args.secured)
        except Failed as error:
            print(f"console_browser: FAILED: {error}", file=sys.stderr)
            return 1
        print("console_browser: the secured cluster's console sees every node and the log")
        return 0
    env = cluster_env(args.dir)
    url = env["console"].rstrip("/")
    os.makedirs(args.shots, exist_ok=True)
    deadline = time.monotonic() + args.seconds
    browser = Browser(deadline)
    step = "starting"
    try:
        # --- The cluster: every node, up
        step = "cluster page"
        browser.go(f"{url}/#/cluster")
        browser.wait("document.querySelectorAll('#nodes tr[data-node]').length === 3 && "
                     "[...document.querySelectorAll('#nodes tr[data-node]')].every("
                     "r => r.innerText.includes('up'))", "three nodes up")
        rows = browser.eval("[...document.querySelectorAll('#nodes tr[data-node]')]"
                            ".map(r => r.dataset.node).join(' ')")
        assert rows == "write query-1 query-2", rows
        # --- A command sent with the CLI appears in the log
        step = "log page"
        opened = cli(env, "send", "OpenAccount", "acc-web", "owner=Zoë", "--expect", "0")
        deposit = cli(env, "send", "Deposit", "acc-web", "amount=250",
                      "--correlation", "browser-test")
        browser.go(f"{url}/#/log")
        browser.wait(f"document.querySelector('tr[data-position=\"{deposit['position']}\"]')",
                     "the deposit in the log page")
        row = browser.eval(f"document.querySelector('tr[data-position=\"{deposit['position']}\"]')"
                           ".innerText")
        for text in ("acc-web", "MoneyDeposited", '"amount": 250', "browser-test"):
            if text not in row:
                raise Failed(f"the log row of the deposit lacks {text!r}: {row!r}")
        first = browser.eval(f"document.querySelector('tr[data-position=\"{opened['position']}\"]')"
                             ".innerText")
        if '"owner": "Zoë"' not in first:
            raise Failed(f"the opening's data is not shown as formatted JSON: {first!r}")
        browser.shot(os.path.join(args.shots, "log.png"))
        # --- Its stream, from the link in the log
        step = "stream page"
        browser.eval("document.querySelector('a[href=\"#/stream?name=acc-web\"]').click()")
        browser.wait("document.getElementById('stream-note') && "
                     "document.getElementById('stream-note').innerText.startsWith('2 events')",
                     "two events of acc-web")
        versions = browser.eval("[...document.querySelectorAll('#stream-result tr[data-position]')]"
                                ".map(r => r.cells[2].innerText).join(',')")
        if versions != "1,2":
            raise Failed(f"the stream page shows versions {versions}, not 1,2")
        browser.shot(os.path.join(args.shots, "stream.png"))
        # --- A query, answered with its position
        step = "query page"
        browser.go(f"{url}/#/query")
        browser.wait("document.getElementById('query-name')", "the query form")
        browser.eval("document.getElementById('query-name').value = 'account';"
                     "document.getElementById('query-params').value = '{\"id\": \"acc-web\"}';"
                     f"document.getElementById('query-min').value = '{deposit['position']}';"
                     "document.querySelector('#page form button[type=submit]').click()")
        answer = browser.wait("document.querySelector('#query-result .panel') && "
                              "document.getElementById('query-result').innerText",
                              "the query's answer")
        for text in ("ok", f"position {deposit['position']}", '"balance": 250'):
            if text not in answer:
                raise Failed(f"the query's answer lacks {text!r}: {answer!r}")
        browser.shot(os.path.join(args.shots, "query.png"))
        # --- A command sent from the page
        step = "send page"
        browser.go(f"{url}/#/send")
        browser.wait("document.getElementById('send-type')", "the send form")
        browser.eval("document.getElementById('send-type').value = 'Withdraw';"
                     "document.getElementById('send-stream').value = 'acc-web';"
                     "document.getElementById('send-expect').value = '2';"
                     "document.getElementById('send-data').value = '{\"amount\": 40}';"
                     "document.querySelector('#page form button[type=submit]').click()")
        reply = browser.wait("document.querySelector('#send-result .panel') && "
                             "document.getElementById('send-result').innerText",
                             "the command's reply")
        if "accepted" not in reply or "version 3" not in reply:
            raise Failed(f"the page's command was not accepted at version 3: {reply!r}")
        balance = cli(env, "query", "account", "id=acc-web", "--node",
                      env["queries"].split()[0], "--min-position", str(deposit["position"] + 1))
        if balance["result"]["balance"] != 210:
            raise Failed(f"after the page's withdrawal the balance is {balance['result']}")
        browser.shot(os.path.join(args.shots, "send.png"))
        # --- The lag of a stopped query node shows
        step = "a stopped query node"
        subprocess.run([os.path.join(ROOT, "deploy", "cluster"), "stop", "query-2", "--dir",
                        args.dir], check=True, timeout=20)
        try:
            for amount in range(1, 6):
                cli(env, "send", "Deposit", "acc-web", f"amount={amount}")
            browser.go(f"{url}/#/cluster")
            lag = browser.wait(
                "(() => { const row = document.querySelector('#nodes tr[data-node=\"query-2\"]');"
                " return row && row.innerText.includes('down') &&"
                " Number(row.querySelector('td.lag').innerText.split(' ')[0]) >= 5 &&"
                " row.querySelector('td.lag').innerText; })()",
                "query-2 down with a lag of 5 or more")
            if "estimated" not in lag:
                raise Failed(f"the lag of the stopped node is not marked estimated: {lag!r}")
            # --- The charts are drawn: commands went through in the last minute
            step = "charts"
            browser.wait("Number(document.getElementById('throughput').dataset.points) >= 3 &&"
                         " Number(document.getElementById('lag').dataset.points) >= 3 &&"
                         " document.querySelectorAll('#throughput polyline').length >= 1",
                         "the throughput and lag charts drawn")
            browser.wait("[...document.querySelectorAll('#throughput polyline')].some(line =>"
                         " line.getAttribute('points').split(' ').some(p =>"
                         " Number(p.split(',')[1]) < 150))",
                         "a throughput above zero on the chart")
            browser.shot(os.path.join(args.shots, "cluster-stopped-node.png"))
        finally:
            subprocess.run([os.path.join(ROOT, "deploy", "cluster"), "cont", "query-2", "--dir",
                            args.dir], timeout=20)
        step = "the node back"
        browser.wait("(() => { const row = document.querySelector('#nodes tr[data-node=\"query-2\"]');"
                     " return row && !row.innerText.includes('down') &&"
                     " row.querySelector('td.lag').innerText === '0'; })()",
                     "query-2 up again and caught up", seconds=20)
        browser.shot(os.path.join(args.shots, "cluster.png"))
        errors = browser.eval("document.querySelectorAll('.error').length")
        if errors:
            raise Failed("the page shows an error")
        if args.readonly:
            step = "a console with sending off"
            readonly = args.readonly.rstrip("/")
            browser.go(f"{readonly}/#/send")
            browser.wait("document.getElementById('send-off')", "the send page saying it is off")
            browser.shot(os.path.join(args.shots, "send-off.png"))
            check_api(readonly)
    except (Failed, AssertionError) as error:
        try:
            browser.shot(os.path.join(args.shots, "failed.png"))
        except Failed:
            pass
        print(f"console_browser: FAILED at {step}: {error}", file=sys.stderr)
        return 1
    finally:
        browser.close()
    print(f"console_browser: every page checked; screenshots in {args.shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
