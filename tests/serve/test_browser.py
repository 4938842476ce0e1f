"""The served player in a real browser: Debian's Chromium, driven by Playwright.

These run wherever ``chromium`` and the ``playwright`` package are installed (the ``test``
extra has the package; ``.ci/run`` installs Chromium). Without them they are skipped with the
reason, except under CI (``$CI`` set, or ``BRANCHING_BROWSER_TESTS=required`` as ``.ci/run``
sets it), where a missing browser fails instead: CI must run them.
Playwright never downloads a browser here: it drives the system's Chromium.

The terminal is drawn on a canvas, so what it shows is read from the websocket frames the page
receives; keys go to xterm's hidden textarea. Screenshots are written to ``$BRANCHING_SHOTS``
when set (to look at them), else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.helpers import (
    DEMO,
    HOSTILE,
    choices,
    logged,
    screen_text,
    serving,
    shortest_steps,
)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TEXTAREA = "textarea.xterm-helper-textarea"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI") or os.environ.get("BRANCHING_BROWSER_TESTS") == "required":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BRANCHING_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Screen:
    """Everything the player sent to one page, as text."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.frames: list[str] = []
        page.on("websocket", self._attach)

    def _attach(self, ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            if isinstance(payload, bytes):
                self.frames.append(payload.decode("utf-8", "replace"))

        ws.on("framereceived", received)

    def mark(self) -> int:
        return len(self.frames)

    def text(self, since: int = 0) -> str:
        return screen_text(self.frames[since:])

    def wait_for(self, needle: str, since: int = 0, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text(since):
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not shown; got {self.text(since)[-400:]!r}")
            self.page.wait_for_timeout(50)


def open_player(context: Any, url: str) -> tuple[Any, Screen]:
    page = context.new_page()
    screen = Screen(page)
    page.goto(url)
    page.wait_for_selector("body.-first-byte", timeout=60_000)
    return page, screen


def test_a_viewer_with_only_a_browser_plays_to_an_ending_and_resumes(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    with serving(tmp_path, "--no-timers") as served:
        context = browser.new_context(viewport={"width": 1100, "height": 720})
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page, screen = open_player(context, served.url + "/")
        screen.wait_for("Last Light")
        cookie = next(c for c in context.cookies() if c["name"] == "branching_viewer")
        viewer = cookie["value"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert cookie["expires"] > time.time() + 399 * 24 * 3600
        screen.wait_for(viewer)  # the first visit says what is recorded, under which id
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "1-first-passage.png"))
        steps = shortest_steps(DEMO, viewer)

        # Keys reach the app through xterm's textarea (a click on the canvas would be a mouse
        # click in the app).
        page.focus(TEXTAREA)
        mark = screen.mark()
        page.keyboard.press(steps[0].key)
        screen.wait_for(steps[0].shows, since=mark)
        page.close()  # gone mid-story: the player quits and keeps the place

        page, screen = open_player(context, served.url + "/")
        screen.wait_for("Resume")
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "2-welcome-back.png"))
        page.focus(TEXTAREA)
        mark = screen.mark()
        page.keyboard.press("r")
        screen.wait_for(steps[0].shows, since=mark)
        for step in steps[1:]:
            mark = screen.mark()
            page.keyboard.press(step.key)
            screen.wait_for(step.shows, since=mark)
        screen.wait_for("The End")
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "3-ending.png"))
        fonts = page.evaluate("() => [...document.fonts].map(f => f.status)")
        page.close()
        context.close()

    assert "loaded" in fonts  # Roboto Mono from this server, not a font service
    outside = [u for u in requests if not u.startswith((served.url, served.ws_url))]
    assert outside == []
    assert choices(served.db, viewer) == [(s.node, s.choice) for s in steps]
    events = logged(served.db, viewer)
    assert len({pid for pid, *_ in events}) == 1
    assert [kind for _, kind, _, _ in events].count("quit") == 1  # the closed tab
    assert events[-1][1] == "ending"


def test_story_text_is_inert_in_the_browser(browser: Any, tmp_path: Path, shots: Path) -> None:
    """Markup, links and bare URLs in a story show as text: clicking them anywhere opens
    nothing, fetches nothing, runs no action and writes no file."""
    story = json.loads(HOSTILE.read_text(encoding="utf-8"))
    story["title"] = "<script>alert(1)</script> " + story["title"]
    story["nodes"]["a"]["text"] += "\n\nBare: http://127.0.0.1:9/bare and https://example.com/x"
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(story), encoding="utf-8")
    planted = Path("/tmp/pwn.svg")
    before = planted.stat().st_mtime if planted.exists() else None

    with serving(tmp_path, "--no-timers", story=hostile) as served:
        context = browser.new_context(viewport={"width": 1000, "height": 600})
        popups: list[Any] = []
        requests: list[str] = []
        context.on("page", lambda popup: popups.append(popup))
        context.on("request", lambda request: requests.append(request.url))
        page, screen = open_player(context, served.url + "/")
        screen.wait_for("Bare")
        popups.clear()  # the player's own page
        assert "<script>" not in page.content().split("<body>")[0].replace("&lt;", "")
        assert "[@click=app.quit]Start[/]" in screen.text()  # shown literally
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "hostile.png"))
        box = page.evaluate(
            "() => { const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
            " return {x: r.x, y: r.y, w: r.width, h: r.height}; }"
        )
        clicks = 0
        # Every row, every other cell (a cell is about 10 by 21 pixels): each link is hit.
        for y in range(int(box["y"]) + 8, int(box["y"] + min(box["h"], 360)), 12):
            for x in range(int(box["x"]) + 5, int(box["x"] + box["w"]) - 5, 19):
                page.mouse.click(x, y)
                clicks += 1
        page.wait_for_timeout(1000)
        connected = page.evaluate("() => !document.body.classList.contains('-closed')")
        page.screenshot(path=str(shots / "hostile-after-clicks.png"))
        context.close()

    assert clicks > 500
    assert popups == []
    assert [u for u in requests if ":9/" in u or "example.com" in u] == []
    assert connected  # no click quit the app
    after = planted.stat().st_mtime if planted.exists() else None
    assert after == before  # no screenshot action ran


def test_the_page_explains_a_full_house_and_a_tab_taken_over(
    browser: Any, tmp_path: Path, shots: Path
) -> None:
    with serving(tmp_path, "--max-sessions", "1", "--warm", "0") as served:
        first = browser.new_context(viewport={"width": 900, "height": 500})
        page, screen = open_player(first, served.url + "/")
        screen.wait_for("Last Light")

        other = browser.new_context(viewport={"width": 900, "height": 500})
        full = other.new_page()
        response = full.goto(served.url + "/")
        assert response is not None and response.status == 503
        assert "The only seat for Whiteout is taken right now." in full.inner_text("body")
        full.screenshot(path=str(shots / "full.png"))
        other.close()

        _, second_screen = open_player(first, served.url + "/")  # the same browser
        second_screen.wait_for("Resume")
        page.wait_for_selector("body.-closed", timeout=30_000)
        assert "another tab" in page.inner_text("#closed-message")
        page.screenshot(path=str(shots / "taken-over.png"))
        first.close()
