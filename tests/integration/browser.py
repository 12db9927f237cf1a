"""A real headless Chromium (Debian's ``chromium``) driven over the DevTools protocol, for the tests and
the dashboard benchmark: open a page, watch its console and network, click like a user, screenshot.

The flags are the ones that work on these machines (no sandbox as root, no background networking,
which a closed network answers with refused connections); each browser gets a new empty profile.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time

import websocket

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserError(AssertionError):
    pass


class Chromium:
    """One browser process with one page; a context manager."""

    def __init__(self, width: int = 1400, height: int = 1000, timeout: float = 120.0):
        self.width, self.height, self.timeout = width, height, timeout
        self.profile = tempfile.mkdtemp(prefix="wsman-chromium-")
        self.process: subprocess.Popen | None = None
        self.socket: websocket.WebSocket | None = None
        self.session: str | None = None
        self.events: list[dict] = []
        self._ids = itertools.count(1)

    def __enter__(self) -> "Chromium":
        path = chromium_path()
        if not path:
            raise BrowserError("chromium is not installed (Debian packages chromium and chromium-driver; "
                               "make system-deps installs them)")
        self.process = subprocess.Popen(
            [path, *FLAGS, "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
             "--window-size=%d,%d" % (self.width, self.height), "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while not (os.path.exists(port_file) and len(open(port_file, encoding="ascii").read().split()) >= 2):
            if self.process.poll() is not None:
                raise BrowserError("chromium exited with %s before it listened" % self.process.returncode)
            if time.monotonic() > deadline:
                raise BrowserError("chromium did not start in %ss" % self.timeout)
            time.sleep(0.05)
        port, path_ = open(port_file, encoding="ascii").read().split()[:2]
        self.socket = websocket.create_connection("ws://127.0.0.1:%s%s" % (port, path_), timeout=self.timeout,
                                                  suppress_origin=True)
        target = self.call("Target.createTarget", url="about:blank", session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log", "Performance"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                  mobile=False)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self.socket:
                try:
                    self.call("Browser.close", session=False)
                except Exception:  # pylint: disable=broad-except
                    pass
                self.socket.close()
        finally:
            if self.process:
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=20)
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol ----------------------------------------------------------------------------------

    def call(self, method: str, session: bool = True, **params) -> dict:
        message = {"id": next(self._ids), "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        self.socket.settimeout(self.timeout)  # wait_event may have left a short one
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(self, method: str, since: int = 0) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for event in self.events[since:]:
                if event["method"] == method:
                    return event
            if time.monotonic() > deadline:
                raise BrowserError("no %s within %ss" % (method, self.timeout))
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            reply = json.loads(self.socket.recv())
            if "method" in reply:
                self.events.append(reply)

    # -- a user's actions --------------------------------------------------------------------------

    def open(self, url: str) -> None:
        since = len(self.events)
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", since)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError("%s raised %s" % (expression, result["exceptionDetails"].get("exception", {})
                                                 .get("description") or result["exceptionDetails"].get("text")))
        return result["result"].get("value")

    def wait_for(self, expression: str):
        deadline = time.monotonic() + self.timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError("%s stayed false for %ss" % (expression, self.timeout))
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (scrolled into view), as a user makes it."""
        box = self.evaluate(
            "(function(){var e=document.querySelector(%s); if(!e) return null; e.scrollIntoView({block:'center'});"
            "var r=e.getBoundingClientRect(); return [r.left+r.width/2, r.top+r.height/2, r.width, r.height];})()"
            % json.dumps(selector))
        if not box or box[2] == 0 or box[3] == 0:
            raise BrowserError("nothing visible to click at %s" % selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left",
                      clickCount=0 if kind == "mouseMoved" else 1)

    def screenshot(self, path: str) -> str:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))
        return path

    # -- what the page did -------------------------------------------------------------------------

    def console_problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, and browser log errors (CSP, failed loads)."""
        problems = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                problems.append("console.%s: %s" % (params["type"], " ".join(
                    str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))))
            elif event["method"] == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                problems.append("exception: %s" % (details.get("exception", {}).get("description") or details.get("text")))
            elif event["method"] == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                problems.append("log %s: %s" % (params["entry"].get("source"), params["entry"].get("text")))
        return problems

    def requests(self) -> list[str]:
        return [event["params"]["request"]["url"] for event in self.events
                if event["method"] == "Network.requestWillBeSent"]

    def metrics(self) -> dict[str, float]:
        return {item["name"]: item["value"] for item in self.call("Performance.getMetrics")["metrics"]}
