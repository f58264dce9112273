"""A small headless-Chromium driver over the Chrome DevTools protocol (the locked ``websockets``).

Debian's ``chromium`` (``scripts/ensure-system-packages.sh`` installs it for ``make test``) runs
headless with a fresh profile, its background networking off, and a host resolver that knows
no name but loopback, so a page that tried to reach another host would fail and be seen doing
so: every request a page makes is recorded (``Network.requestWillBeSent``, WebSockets too).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI; the page is our own
    "--disable-gpu",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--window-size=1400,900",
    # Nothing but loopback resolves: a request for any other host fails (and is still recorded).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str | None:
    """Debian's Chromium (``CHROMIUM`` overrides), or None when it is not installed."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@dataclass
class Page:
    """One tab: commands, the events seen so far, and the requests it made."""

    ws: ClientConnection
    session: str
    events: list[dict[str, Any]] = field(default_factory=list)
    _next_id: int = 0

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0) -> dict[str, Any]:
        """Run one command and return its result (events arriving meanwhile are kept)."""
        self._next_id += 1
        ident = self._next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}, "sessionId": self.session}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.append(message)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def until(self, condition: Callable[[], bool], timeout: float = 30.0, what: str = "a condition") -> None:
        """Collect events until ``condition()`` holds (it may look at :attr:`events` or at a server)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            self.pump(0.05)

    def wait_for(self, expression: str, timeout: float = 30.0, what: str = "") -> Any:
        """Poll ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what or expression}")
            self.pump(0.1)

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        """Open ``url`` and wait for its load event."""
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not load")
            self.pump(0.1)

    def screenshot(self, path: Path) -> Path:
        """A PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requested_urls(self) -> list[str]:
        """Every URL the page asked for: documents, scripts, styles, fetches, WebSockets."""
        urls = [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]
        urls += [e["params"]["url"] for e in self.events if e["method"] == "Network.webSocketCreated"]
        return urls

    def requests(self, method: str = "POST") -> list[dict[str, Any]]:
        """The recorded requests (``request`` objects, headers included) with ``method``."""
        return [
            e["params"]["request"]
            for e in self.events
            if e["method"] == "Network.requestWillBeSent" and e["params"]["request"]["method"] == method
        ]

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and security (CSP) messages the page produced."""
        found: list[str] = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
            elif event["method"] == "Log.entryAdded":
                entry = params.get("entry", {})
                if entry.get("level") == "error" or entry.get("source") == "security":
                    found.append(f"{entry.get('source')}: {entry.get('text')} ({entry.get('url', '')})")
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(
                    "console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
                )
        return found


@contextmanager
def chromium_page(binary: str, timeout: float = 20.0) -> Iterator[Page]:
    """A fresh headless Chromium with one blank tab, Page/Network/Runtime/Log events on."""
    workdir = Path(tempfile.mkdtemp(prefix="giql-chromium-"))
    profile = workdir / "profile"
    log = (workdir / "chromium.log").open("w")
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        endpoint = _devtools_endpoint(process, profile, workdir / "chromium.log", timeout)
        with connect(endpoint, max_size=None, open_timeout=timeout) as ws:
            target = _browser_call(ws, "Target.createTarget", {"url": "about:blank"})["targetId"]
            session = _browser_call(ws, "Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            page = Page(ws, session)
            for domain in ("Page", "Network", "Runtime", "Log"):
                page.send(f"{domain}.enable")
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _devtools_endpoint(process: subprocess.Popen[bytes], profile: Path, log: Path, timeout: float) -> str:
    """The browser's DevTools WebSocket URL, from the DevToolsActivePort file Chromium writes."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode}: {log.read_text()[-2000:]}")
        if port_file.exists():
            lines = port_file.read_text().split("\n")
            if len(lines) >= 2 and lines[1].strip():
                return f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        time.sleep(0.05)
    raise TimeoutError("chromium did not open its DevTools port")


def _browser_call(ws: ClientConnection, method: str, params: dict[str, Any]) -> dict[str, Any]:
    ident = int(time.monotonic() * 1000) % 1_000_000 + 1_000_000
    ws.send(json.dumps({"id": ident, "method": method, "params": params}))
    while True:
        message = json.loads(ws.recv(timeout=15))
        if message.get("id") == ident:
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            return dict(message["result"])
