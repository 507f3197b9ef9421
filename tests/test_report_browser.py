"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Chromium (Debian's ``chromium`` package) is started with ``--remote-debugging-pipe``: commands
go in on its fd 3 and replies and events come out on fd 4 as NUL-separated JSON, so the test
needs only the standard library. It opens the report from a file, waits for every image to
decode, then checks what a reader would see: the headings, every image loaded and painted, a
screenshot that is not blank, no console errors, and no request for anything outside the file.

The test fails (it is never skipped) when Chromium is missing: ``apt-get install chromium``.
"""
# ruff: noqa: E402  (the Agg backend is chosen before anything imports pyplot)

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import base64
import io
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import SAAS
from PIL import Image

import revsim
from revsim.report import write_report

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/lib/chromium/chromium")
TIMEOUT = 30.0
WIDTH = 1280
KW: dict[str, Any] = dict(replications=3, seed=11, horizon="10 w", warmup="2 w", jobs=1, progress=False)
SCREENSHOT_ENV = "REVSIM_REPORT_SCREENSHOT"  # set to a path to keep the screenshot


def chromium_binary() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is needed for the report's browser test and was not found; install "
                "it with `apt-get install chromium` (Debian's package, binary /usr/bin/chromium)",
                pytrace=False)


class Browser:
    """A headless Chromium with one page, spoken to over --remote-debugging-pipe."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # in the child: the protocol wants fds 3 (in) and 4 (out)
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log_path = profile / "chromium.log"
        self._log = self.log_path.open("wb")
        args = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                "--enable-logging=stderr", "--v=0", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, pass_fds=(3, 4), preexec_fn=wire_pipes)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.session = ""

    def _read(self) -> None:
        buffer = b""
        with os.fdopen(self._from_browser, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(1 << 16)
                if not chunk:
                    break
                buffer += chunk
                while b"\0" in buffer:
                    message, buffer = buffer.split(b"\0", 1)
                    self._inbox.put(json.loads(message))
        self._inbox.put(None)

    def send(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = True) -> dict[str, Any]:
        """Send a command and wait for its reply (events arriving meanwhile are kept)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == self._next_id)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    def wait_event(self, method: str) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        return self._wait(lambda m: m.get("method") == method)

    def _wait(self, match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"Chromium did not answer in {TIMEOUT:.0f} s; log:\n"
                                     + self.log_path.read_text(errors="replace")[-3000:])
            try:
                message = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if message is None:
                raise AssertionError("Chromium closed the pipe; log:\n"
                                     + self.log_path.read_text(errors="replace")[-3000:])
            if "id" not in message:
                self.events.append(message)
            if match(message):
                return message

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.send("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True}, session=False)
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, height: int) -> Image.Image:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False})
        shot = self.send("Page.captureScreenshot", {"format": "png", "fromSurface": True,
                                                    "captureBeyondViewport": True})
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, failed loads, log errors."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error",
                                                                                "warning",
                                                                                "assert"):
                found.append(f"console.{params['type']}: " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error",
                                                                              "warning"):
                found.append(f"log {params['entry']['level']}: {params['entry']['text']}")
            elif method == "Network.loadingFailed":
                found.append(f"load failed: {params.get('errorText')}")
        return found

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", session=False)
                self.proc.wait(timeout=10)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self._to_browser)
            self._log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    b = Browser(profile)
    try:
        b.open_page()
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report with every kind of section: run, bottlenecks, comparison, cash."""
    folder = tmp_path_factory.mktemp("browser") / "results"
    scenario = revsim.load(SAAS)
    scenario.run(**KW).to_dir(folder, scenario_text=SAAS.read_text(encoding="utf-8"))
    scenario.bottlenecks(**KW).to_dir(folder)
    scenario.compare(("net 15", {"deals.contract.terms": "net 15"}), **KW).to_dir(folder)
    return write_report(folder, folder.parent / "report.html")


PAGE_STATE = """
(async () => {
  const images = [...document.images];
  const decoded = await Promise.all(images.map(i => i.decode().then(() => true, () => false)));
  return {
    title: document.title,
    lang: document.documentElement.lang,
    charset: document.characterSet,
    height: document.documentElement.scrollHeight,
    scripts: document.scripts.length,
    headings: [...document.querySelectorAll('h1,h2,h3')].map(h => [h.tagName, h.textContent]),
    images: images.map((img, k) => {
      const r = img.getBoundingClientRect();
      return {alt: img.alt, decoded: decoded[k], complete: img.complete,
              naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
              x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height};
    }),
    overflowing: document.documentElement.scrollWidth > document.documentElement.clientWidth,
  };
})()
"""


def test_report_renders_in_chromium(browser: Browser, report: Path) -> None:
    browser.navigate(report.resolve().as_uri())
    state = browser.evaluate(PAGE_STATE)
    # the document
    assert state["lang"] == "en" and state["charset"] == "UTF-8"
    assert state["title"].startswith("revsim report: Sales-led B2B SaaS")
    assert state["scripts"] == 0
    assert not state["overflowing"], "the page scrolls sideways at 1280 px"
    shown = [(tag, " ".join(text.split())) for tag, text in state["headings"]]
    assert shown[0] == ("H1", "Sales-led B2B SaaS")
    h2 = [text for tag, text in shown if tag == "H2"]
    for title in ("At a glance", "Scenario and run settings", "Reproduce",
                  "Key performance indicators", "Funnel", "Time in stage", "Staff utilisation",
                  "Bottlenecks", "Cash", "Comparison with variants", "Scenario file"):
        assert title in h2
    # every image loaded, decoded and laid out at its size
    images = state["images"]
    assert len(images) >= 8
    for img in images:
        assert img["complete"] and img["decoded"], f"image not loaded: {img['alt'][:60]}"
        assert img["naturalWidth"] > 0 and img["naturalHeight"] > 0
        assert img["width"] > 300 and img["height"] > 100 and img["alt"]
    # nothing but the file itself (and data: images) was requested; no errors on the console
    outside = [u for u in browser.requests()
               if not (u.startswith("data:") or u == report.resolve().as_uri())]
    assert outside == [], f"the report fetched {outside}"
    assert browser.problems() == []
    # a screenshot of the whole page: not blank, and every image painted (not empty boxes)
    shot = browser.screenshot(int(state["height"]))
    if os.environ.get(SCREENSHOT_ENV):
        shot.save(os.environ[SCREENSHOT_ENV])
    pixels = np.asarray(shot, dtype=float)
    assert shot.size[0] == WIDTH and shot.size[1] >= state["height"] - 1
    assert pixels.std() > 20, "the screenshot is blank"
    for img in images:
        box = pixels[int(img["y"]) + 2:int(img["y"] + img["height"]) - 2,
                     int(img["x"]) + 2:int(img["x"] + img["width"]) - 2]
        assert box.size and box.std() > 10, f"image not painted: {img['alt'][:60]}"
        assert (box < 128).mean() > 0.005, f"image has no dark ink: {img['alt'][:60]}"


def test_the_checks_catch_a_broken_page(browser: Browser, tmp_path: Path) -> None:
    """The harness itself: a console error, a failed image and an outside request are seen."""
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>x</title>'
                    "</head><body><h1>x</h1>"
                    '<img alt="broken" src="data:image/png;base64,iVBORw0KGgoAAAA=">'
                    '<img alt="outside" src="http://127.0.0.1:9/nothing.png">'
                    "<script>console.error('boom')</script></body></html>", encoding="utf-8")
    browser.navigate(page.as_uri())
    state = browser.evaluate(PAGE_STATE)
    assert [i["naturalWidth"] for i in state["images"]] == [0, 0]
    problems = " | ".join(browser.problems())
    assert "console.error: boom" in problems
    assert "load failed" in problems or "log error" in problems
    assert any(u.startswith("http://127.0.0.1:9/") for u in browser.requests())
