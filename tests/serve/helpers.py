"""Shared by the serve tests: a running ``branching serve``, a websocket player that speaks
textual.js's protocol, the way through a story, and what the log holds.

The terminal in the page is drawn on a canvas, so tests read what the app sends instead: every
binary websocket frame is terminal output; :func:`screen_text` strips the escape sequences.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from branching.play.engine import Session
from branching.play.events import NullRecorder
from branching.story.experiments import assignments
from branching.story.loader import read_story

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"
HOSTILE = ROOT / "tests" / "fixtures" / "hostile.json"

_ANSI = re.compile(
    r"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"
)


def screen_text(frames: list[str]) -> str:
    """What the frames draw, as text (escape sequences removed)."""
    return _ANSI.sub("", "".join(frames))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_viewer() -> str:
    return "web-" + secrets.token_urlsafe(16)


@dataclass
class Served:
    """A ``branching serve`` process."""

    process: subprocess.Popen[str]
    port: int
    home: Path
    db: Path
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"server did not stop in {timeout}s: {self.text()}") from None

    def text(self) -> str:
        return "".join(self.output)

    def children(self) -> list[int]:
        """Every process the server started (players, warm or in play)."""
        return children_of(self.process.pid)


def children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(proc.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextlib.contextmanager
def serving(
    tmp_path: Path, *args: str, story: Path = DEMO, port: int | None = None
) -> Iterator[Served]:
    """``branching serve STORY --home H --db H/choices.db --port P *args`` until the block
    ends (then SIGTERM, and the server must exit 0)."""
    port = port or free_port()
    home = tmp_path / "serve-home"
    db = home / "choices.db"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "branching", "serve", str(story)),
            *("--port", str(port), "--home", str(home), "--db", str(db), *args),
        ],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    served = Served(process, port, home, db)
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            served.output.append(line)
            if "Serving" in line:
                started.set()
        started.set()

    threading.Thread(target=read, daemon=True).start()
    started.wait(60)
    if process.poll() is not None or "Serving" not in served.text():
        process.kill()
        raise AssertionError(f"server did not start: {served.text()}")
    try:
        yield served
    finally:
        status = served.stop()
        assert status == 0, served.text()


def wait_warm(served: Served, count: int, timeout: float = 60) -> None:
    """Wait until the warm pool holds ``count`` ready players (so timings measure play)."""
    deadline = time.monotonic() + timeout
    while len(served.children()) < count:
        assert time.monotonic() < deadline, "the warm pool did not fill"
        time.sleep(0.1)
    time.sleep(1.5)  # a started process still imports for a moment


# --- the way through a story -----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    node: str
    choice: str
    shows: str  # text on the passage that follows (its title, else its first words)


def _shows(session: Session) -> str:
    node = session.node
    if node.title:
        return node.title
    return session.text().split("\n")[0][:20]


def shortest_steps(story_path: Path, viewer: str, limit: int = 12) -> list[Step]:
    """The fewest key presses (1-9) from the start to an ending, for this viewer's arms."""
    story = read_story(story_path)
    arms = assignments(story, viewer, {})
    start = Session(story, recorder=NullRecorder(), arms=arms)
    frontier: list[tuple[dict[str, Any], list[Step]]] = [(start.to_json(), [])]
    seen: set[str] = set()
    for _ in range(limit):
        next_frontier = []
        for state, steps in frontier:
            session = Session.from_json(story, state, recorder=NullRecorder(), arms=arms)
            for index, offer in enumerate(session.available_choices()[:9], start=1):
                probe = Session.from_json(story, state, recorder=NullRecorder(), arms=arms)
                node = probe.node_id
                probe.choose(offer.id)
                path = [*steps, Step(str(index), node, offer.id, _shows(probe))]
                if probe.status == "ended":
                    return path
                key = json.dumps([probe.node_id, probe.to_json().get("variables")], default=str)
                if probe.status == "playing" and key not in seen:
                    seen.add(key)
                    next_frontier.append((probe.to_json(), path))
        frontier = next_frontier
    raise AssertionError("no ending within reach")


# --- a player over the websocket ---------------------------------------------------------------


class Player:
    """One browser tab, without the browser: textual.js's messages over the websocket.

    A task reads the connection all the time, as a browser does (so the server's heartbeat
    pings are answered while a test waits)."""

    def __init__(self, served: Served, viewer: str | None = None) -> None:
        self.served = served
        self.viewer = viewer or new_viewer()
        self.frames: list[str] = []
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def connect(
        self, http: aiohttp.ClientSession, width: int = 100, height: int = 30
    ) -> None:
        self.frames, self.close_code, self.close_reason = [], None, None
        self.ws = await http.ws_connect(
            f"{self.served.ws_url}?width={width}&height={height}",
            headers={"Cookie": f"branching_viewer={self.viewer}"},
        )
        self._reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                self.frames.append(message.data.decode("utf-8", "replace"))
                self._changed.set()
            elif message.type == aiohttp.WSMsgType.CLOSE:
                self.close_reason = str(message.extra or "")
                break
            elif message.type in (
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                break
        self.close_code = ws.close_code
        self._changed.set()

    @property
    def is_closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    def text(self, since: int = 0) -> str:
        return screen_text(self.frames[since:])

    def mark(self) -> int:
        return len(self.frames)

    async def _wait(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(what)
            self._changed.clear()
            if done():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def read_until(self, needle: str, since: int = 0, timeout: float = 60) -> None:
        def shown() -> bool:
            if needle in self.text(since):
                return True
            if self.is_closed:
                raise ConnectionError(f"closed ({self.close_code}): {self.close_reason!r}")
            return False

        await self._wait(shown, timeout, f"{needle!r} not shown; got {self.text(since)[-500:]!r}")

    async def closed(self, timeout: float = 30) -> tuple[int | None, str]:
        """Wait for the server to close the connection: (code, reason)."""
        await self._wait(lambda: self.is_closed, timeout, "the server did not close")
        return self.close_code, self.close_reason or ""

    async def press(self, key: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(["stdin", key]))

    async def choose(self, step: Step, timeout: float = 60) -> float:
        """Press the step's key and wait for the next passage; the seconds it took."""
        mark = self.mark()
        started = time.monotonic()
        await self.press(step.key)
        await self.read_until(step.shows, since=mark, timeout=timeout)
        return time.monotonic() - started

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await self._reader


# --- the log ---------------------------------------------------------------------------------


def logged(db: Path, viewer: str) -> list[tuple[str, str, str | None, str | None]]:
    """(playthrough id, kind, node, choice) of every event of ``viewer``, in order."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        rows = con.execute(
            "SELECT p.id, e.kind, e.node, e.choice FROM events e "
            "JOIN playthroughs p ON p.pk = e.playthrough WHERE p.viewer = ? "
            "ORDER BY p.pk, e.seq",
            (viewer,),
        ).fetchall()
    return [(str(a), str(b), c, d) for a, b, c, d in rows]


def choices(db: Path, viewer: str) -> list[tuple[str | None, str | None]]:
    return [(node, choice) for _, kind, node, choice in logged(db, viewer) if kind == "choice"]


async def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
