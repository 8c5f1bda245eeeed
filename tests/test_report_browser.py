"""The HTML report opened in headless Chromium, as a reader's browser would open it.

The report is built from the small hand-made tree of ``test_report.py`` (no DVC outputs
needed). Chromium is driven over the DevTools protocol (a websocket, ``websocket-client``):
every image must decode, every audio player must load its file's metadata, every relative
link must point to an existing file, and the page must log no error, throw no exception
and fail no load. A copy with one broken image and one broken player is the negative
control. Without a Chromium binary the tests skip (``apt-get install -y chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

import pytest
import websocket
from PIL import Image

import test_report  # the hand-made report tree: fixture `tree` and `build`

tree = test_report.tree

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SKIP_REASON = "Chromium not found (apt-get install -y chromium): browser test skipped"
DEADLINE_S = 60.0  # the whole check, browser start included: a hung browser fails the test
MEDIA_TIMEOUT_MS = 15_000  # per audio element, all loading at once
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--allow-file-access-from-files",
    "--autoplay-policy=no-user-gesture-required",
    "--remote-debugging-port=0",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--window-size=1280,900",
)

IMAGES_JS = """
Promise.all([...document.images].map(async (img) => {
  let decoded = true;
  try { await img.decode(); } catch (e) { decoded = false; }
  return {src: img.getAttribute('src'), url: img.currentSrc || img.src, decoded,
          complete: img.complete, width: img.naturalWidth, height: img.naturalHeight};
}))
"""

AUDIO_JS = """
Promise.all([...document.querySelectorAll('audio')].map((el) => new Promise((resolve) => {
  const done = (event) => {
    clearTimeout(timer);
    resolve({src: el.getAttribute('src'), url: el.currentSrc || el.src, event,
             error: el.error ? `code ${el.error.code} ${el.error.message || ''}`.trim() : null,
             readyState: el.readyState,
             duration: Number.isFinite(el.duration) ? el.duration : null});
  };
  const timer = setTimeout(() => done('timeout'), TIMEOUT_MS);
  el.addEventListener('loadedmetadata', () => done('loadedmetadata'), {once: true});
  el.addEventListener('error', () => done('error'), {once: true});
  el.preload = 'auto';  // the report's players say preload="none": make them load now
  el.load();
})))
""".replace("TIMEOUT_MS", str(MEDIA_TIMEOUT_MS))

LINKS_JS = "[...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))"


def find_chromium() -> str | None:
    """The first Chromium-like binary on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def without_fragment(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(fragment=""))


class DevTools:
    """A minimal Chrome DevTools Protocol client over the browser's websocket.

    Every wait is bounded by ``deadline`` (a ``time.monotonic()`` value): past it, a
    TimeoutError. Events that arrive while waiting are kept in ``events``.
    """

    def __init__(self, ws_url: str, deadline: float) -> None:
        self.deadline = deadline
        self.events: list[dict] = []
        self.last_id = 0
        # Chromium refuses websocket handshakes that carry an unexpected Origin header.
        self.ws = websocket.create_connection(ws_url, timeout=self.remaining(), suppress_origin=True)

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"browser check exceeded its {DEADLINE_S:.0f} s deadline")
        return left

    def receive(self, timeout: float | None = None) -> dict | None:
        """The next message; None if ``timeout`` (seconds, below the deadline) passes first."""
        limit = self.remaining() if timeout is None else min(timeout, self.remaining())
        self.ws.settimeout(limit)
        try:
            message = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            if timeout is None:
                raise TimeoutError(f"browser check exceeded its {DEADLINE_S:.0f} s deadline") from None
            return None
        if "method" in message:
            self.events.append(message)
        return message

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send a command and return its result (events received meanwhile are kept)."""
        self.last_id += 1
        request = {"id": self.last_id, "method": method, "params": params}
        if session:
            request["sessionId"] = session
        self.ws.send(json.dumps(request))
        while True:
            message = self.receive()
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def evaluate(self, session: str, expression: str):
        """The JSON value of ``expression`` in the page, promises awaited."""
        result = self.call(
            "Runtime.evaluate", session, expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, predicate: Callable[[dict], bool]) -> dict:
        """The first kept or coming event for which ``predicate`` holds."""
        seen = 0
        while True:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            self.receive()

    def settle(self, quiet: float = 0.3) -> None:
        """Read events until none has come for ``quiet`` seconds (late network and log events)."""
        while self.receive(timeout=quiet) is not None:
            pass

    def close(self) -> None:
        self.ws.close()


def start_chromium(binary: str, profile: Path, log, deadline: float) -> tuple[subprocess.Popen, str]:
    """Chromium on an ephemeral DevTools port: the process and its browser websocket URL."""
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: the finally block ends all of it
    )
    port_file = profile / "DevToolsActivePort"
    while True:
        lines = port_file.read_text().split("\n") if port_file.is_file() else []
        if len(lines) >= 2 and lines[0].strip().isdigit() and lines[1].strip():
            return process, f"ws://127.0.0.1:{lines[0].strip()}{lines[1].strip()}"
        if process.poll() is not None:
            raise RuntimeError(f"{binary} exited with {process.returncode} before DevTools was up")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{binary} gave no DevToolsActivePort within the deadline")
        time.sleep(0.05)


def stop_chromium(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass


def browse(html_path: Path, binary: str, screenshot: Path | None) -> dict:
    """Open ``html_path`` in Chromium; what the page showed, ran, loaded and logged."""
    deadline = time.monotonic() + DEADLINE_S
    with tempfile.TemporaryDirectory(prefix="scorelab-chromium-") as tmp:
        profile = Path(tmp) / "profile"
        profile.mkdir()
        with open(Path(tmp) / "chromium.log", "wb") as log:
            process, ws_url = start_chromium(binary, profile, log, deadline)
            try:
                cdp = DevTools(ws_url, deadline)
                try:
                    return visit(cdp, html_path.resolve().as_uri(), screenshot)
                finally:
                    cdp.close()
            except Exception as error:
                log.flush()
                tail = (Path(tmp) / "chromium.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{error}\n--- chromium output (tail) ---\n{tail}") from error
            finally:
                stop_chromium(process)


def visit(cdp: DevTools, url: str, screenshot: Path | None) -> dict:
    target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
    session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.call(f"{domain}.enable", session)
    start = len(cdp.events)
    navigation = cdp.call("Page.navigate", session, url=url)
    if not navigation.get("errorText"):
        cdp.wait_for(lambda e: e["method"] == "Page.loadEventFired" and e.get("sessionId") == session)
    page = {
        "navigation_error": navigation.get("errorText"),
        "images": cdp.evaluate(session, IMAGES_JS) or [],
        "audio": cdp.evaluate(session, AUDIO_JS) or [],
        "links": cdp.evaluate(session, LINKS_JS) or [],
    }
    cdp.settle()
    if screenshot is not None:
        size = cdp.call("Page.getLayoutMetrics", session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = cdp.call(
            "Page.captureScreenshot", session, format="png", captureBeyondViewport=True, clip=clip
        )
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    page["events"] = [e for e in cdp.events[start:] if e.get("sessionId") == session]
    return page


def check_page(html_path: Path, screenshot: Path | None = None) -> list[str]:
    """Problems a reader would meet opening ``html_path`` in Chromium, one line per resource.

    Evidence about one URL (a broken image is also a failed load and a logged error) is
    merged into one problem; console errors and exceptions not tied to a URL are one each.
    Skips the calling test when no Chromium binary is found.
    """
    binary = find_chromium()
    if binary is None:
        print(SKIP_REASON)
        pytest.skip(SKIP_REASON)
    page_url = html_path.resolve().as_uri()
    page = browse(html_path, binary, screenshot)

    found: dict[str, list[str]] = {}  # key (a URL without fragment, or a message) -> reasons
    labels: dict[str, str] = {}  # URL -> as written in the page

    def note(key: str, reason: str) -> None:
        reasons = found.setdefault(key, [])
        if reason not in reasons:
            reasons.append(reason)

    if page["navigation_error"]:
        note(page_url, f"page did not load: {page['navigation_error']}")
    for img in page["images"]:
        key = without_fragment(img["url"])
        labels.setdefault(key, img["src"] or key)
        if not (img["complete"] and img["decoded"] and img["width"] > 0):
            note(key, f"image not shown (naturalWidth {img['width']}, decoded {img['decoded']})")
    for audio in page["audio"]:
        key = without_fragment(audio["url"]) if audio["url"] else f"<audio> without src #{len(found)}"
        labels.setdefault(key, audio["src"] or key)
        if audio["event"] != "loadedmetadata" or audio["error"] or not audio["duration"]:
            state = f"{audio['event']}, error {audio['error']}, duration {audio['duration']}"
            note(key, f"audio not loaded ({state})")
    for raw in page["links"]:
        url = urljoin(page_url, raw)
        parts = urlsplit(url)
        if parts.scheme != "file" or raw.startswith("#"):
            continue  # http(s), mailto, ... and same-page anchors are not files here
        key = without_fragment(url)
        labels.setdefault(key, raw)
        if not Path(url2pathname(parts.path)).exists():
            note(key, "link target does not exist")

    requests: dict[str, str] = {}
    for event in page["events"]:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            requests[params["requestId"]] = without_fragment(params["request"]["url"])
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            key = requests.get(params["requestId"], f"request {params['requestId']}")
            note(key, f"load failed: {params.get('errorText')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            key = without_fragment(entry["url"]) if entry.get("url") else entry["text"]
            note(key, f"{entry['source']} error: {entry['text']}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            note(f"console: {text}", f"console.{params['type']}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text", "")
            note(f"exception: {text}", "uncaught exception")
    return [f"{labels.get(key, key)}: {'; '.join(reasons)}" for key, reasons in found.items()]


@pytest.fixture()
def report(tree: Path) -> Path:
    """index.html of the hand-made tree, with at least one image, player and MIDI link."""
    page = test_report.build(tree) / "index.html"
    text = page.read_text()
    assert text.count("<img ") > 0 and text.count("<audio ") > 0 and text.count('.mid"') > 0
    return page


def test_report_works_in_a_browser(report, tmp_path):
    screenshot = tmp_path / "report.png"
    started = time.monotonic()
    problems = check_page(report, screenshot=screenshot)
    print(f"\nbrowser check: {time.monotonic() - started:.1f} s; screenshot: {screenshot}")
    assert problems == []
    assert screenshot.stat().st_size > 0
    with Image.open(screenshot) as picture:
        picture.load()
        assert picture.format == "PNG" and picture.width > 0 and picture.height > 0


def test_broken_image_and_player_are_reported(report):
    broken = report.with_name("broken.html")
    extra = (
        '<p><img src="missing.png" alt="missing"></p>\n'
        '<p><audio controls preload="none" src="missing.wav"></audio></p>\n</body>'
    )
    broken.write_text(report.read_text().replace("</body>", extra))
    problems = check_page(broken)
    print("\n" + "\n".join(problems))
    assert len(problems) == 2, problems
    assert sorted(p.split(":")[0] for p in problems) == ["missing.png", "missing.wav"]


def test_the_committed_report_plays_from_a_clone_without_samples(tmp_path):
    """The report as committed, copied alone (what a fresh clone has: no samples/, no
    DVC outputs): every image shows, every player loads audio with a duration, every
    link points to a file inside the copy."""
    root = Path(__file__).resolve().parents[1] / "reports"
    clone = tmp_path / "clone" / "reports"
    shutil.copytree(root, clone)
    page = clone / "index.html"
    text = page.read_text()
    assert text.count("<audio ") > 0 and "../samples" not in text
    problems = check_page(page)
    assert problems == [], "\n".join(problems)
