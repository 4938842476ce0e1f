"""The per-tab processes: how they are started, kept warm, talked to and stopped.

textual-serve's :class:`~textual_serve.app_service.AppService` runs one process per browser
connection. :class:`ViewerAppService` changes what matters here:

* the process is ``python -m branching.serve.child`` started from an argv list (no shell), in
  a session of its own (Ctrl+C in the server's terminal reaches only the server, which then
  quits every player in order), with an environment that carries none of the server user's
  viewer id, log or Textual settings;
* it may come from a :class:`WarmPool` of processes started ahead of time, and learns its
  viewer from a handshake line (see :mod:`branching.serve.child`);
* :meth:`ViewerAppService.stop` asks the player to quit (it records Quit and saves), then
  insists: SIGTERM after a grace period, SIGKILL after another (textual-serve's waits forever);
* the player may not open URLs in the browser or send it files;
* what the process writes on stderr goes to the server's log, neutralised;
* when the process ends, the browser's connection is closed with a reason the page shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from branching.play.i18n import N_
from branching.serve.child import WARM
from branching.story.untrusted import printable

log = logging.getLogger("branching.serve")

#: Seconds a player gets to quit when asked, then again after SIGTERM.
GRACE = 5.0
#: Seconds a new process may take to import and load the story.
START_TIMEOUT = 60.0

# Close reasons for the page (translated where they are sent: server.reason_bytes).
CLOSED = N_("The story was closed. An unfinished playthrough continues where it stopped.")
FAILED = N_("The story could not be started. Please try again later.")
#: Environment variables of the server user that must not reach a viewer's player.
PRIVATE_ENV = ("BRANCHING_VIEWER", "BRANCHING_DB", "COLUMNS", "ROWS", "NO_COLOR")


@dataclass(frozen=True, slots=True)
class ChildOptions:
    """What every per-tab process plays, and where it keeps what it writes."""

    story: Path
    db: Path
    home: Path
    timers: bool = True
    time_scale: float = 1.0
    python: str = sys.executable

    def argv(self) -> list[str]:
        argv = [
            self.python,
            "-P",  # never import from the current directory
            "-m",
            "branching.serve.child",
            str(self.story),
            "--db",
            str(self.db),
            "--home",
            str(self.home),
            "--time-scale",
            repr(self.time_scale),
        ]
        if not self.timers:
            argv.append("--no-timers")
        return argv

    def environment(self) -> dict[str, str]:
        """The server's environment without the server user's identity and Textual settings,
        plus what the web driver needs (as textual-serve sets it, and our own driver)."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in PRIVATE_ENV and not name.startswith("TEXTUAL")
        }
        env.update(
            {
                "BRANCHING_HOME": str(self.home),  # anything else a player keeps goes here too
                "TEXTUAL_DRIVER": "branching.serve.driver:ServeDriver",
                "TEXTUAL_FPS": "60",
                "TEXTUAL_COLOR_SYSTEM": "truecolor",
                "TEXTUAL_ANIMATIONS": "none",  # CPU for more viewers, not for sliding panels
                "TERM_PROGRAM": "textual",
                "TERM_PROGRAM_VERSION": version("textual-serve"),
            }
        )
        return env


class StartFailed(Exception):
    """A player process could not be started."""


class WarmPool:
    """Player processes started ahead of time: imported and story loaded, waiting for a viewer.

    A start costs about 0.75 s of CPU, mostly imports; a warm process draws at once. The pool
    refills in the background after each take, ``warming`` processes at a time, so a refill
    after a burst does not take the CPU from the sessions that just started. ``size`` 0: every
    process is started when a viewer arrives.
    """

    def __init__(self, options: ChildOptions, size: int, warming: int = 1) -> None:
        self.options = options
        self.size = size
        self.warming = asyncio.Semaphore(warming)
        self.ready: list[asyncio.subprocess.Process] = []
        self.filling = 0
        self.closing = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def spawn(self) -> asyncio.subprocess.Process:
        """A new process, ready for its handshake (:class:`StartFailed` if it is not)."""
        try:
            process = await asyncio.create_subprocess_exec(
                *self.options.argv(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.options.environment(),
                start_new_session=True,
            )
        except OSError as exc:
            raise StartFailed(f"cannot start a player: {exc}") from None
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        except (TimeoutError, ValueError):
            line = b""
        if line != WARM:
            await discard(process)
            raise StartFailed(f"a player did not start: {await error_text(process)}")
        return process

    def refill(self) -> None:
        while not self.closing.is_set() and len(self.ready) + self.filling < self.size:
            self.filling += 1
            task = asyncio.get_running_loop().create_task(self._add())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _add(self) -> None:
        try:
            async with self.warming:
                if self.closing.is_set():
                    return
                process = await self.spawn()
        except StartFailed as exc:
            log.error("%s", exc)
            return
        finally:
            self.filling -= 1
        if self.closing.is_set():
            await discard(process)
        else:
            self.ready.append(process)

    async def take(self) -> asyncio.subprocess.Process:
        """A warm process if there is one, else a new one (started at once)."""
        while self.ready:
            process = self.ready.pop(0)
            if process.returncode is None:
                self.refill()
                return process
        self.refill()
        return await self.spawn()

    async def close(self) -> None:
        self.closing.set()
        ready, self.ready = self.ready, []
        await asyncio.gather(*(discard(p) for p in ready), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()


async def discard(process: asyncio.subprocess.Process) -> None:
    """End a process that has no viewer: end of input makes it exit; else kill it."""
    if process.stdin is not None:
        process.stdin.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), GRACE)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def error_text(process: asyncio.subprocess.Process) -> str:
    """The last of what a failed process wrote on stderr, safe to log."""
    if process.stderr is None:
        return "no error output"
    with contextlib.suppress(TimeoutError):
        data = await asyncio.wait_for(process.stderr.read(), GRACE)
        text = printable(data[-2000:].decode("utf-8", "replace").strip())
        return text or f"exit status {process.returncode}"
    return "no error output"


class ViewerAppService(AppService):
    """One player process for one browser connection of one viewer."""

    def __init__(
        self,
        pool: WarmPool,
        viewer: str,
        *,
        write_bytes: Callable[[bytes], Awaitable[None]],
        write_str: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        download_manager: DownloadManager,
    ) -> None:
        super().__init__(
            "branching.serve.child",  # only shown in textual-serve's own log lines
            write_bytes=write_bytes,
            write_str=write_str,
            close=close,
            download_manager=download_manager,
        )
        self.pool = pool
        self.viewer = viewer
        self.last_input = time.monotonic()
        #: Shown in the page when the connection closes (plain text, at most 123 bytes).
        self.close_reason = CLOSED

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        process = await self.pool.take()
        assert process.stdin is not None
        self._process = process
        self._stdin = process.stdin
        hello = {"viewer": self.viewer, "width": width, "height": height}
        process.stdin.write(json.dumps(hello).encode() + b"\n")
        await process.stdin.drain()
        self.last_input = time.monotonic()  # idle from now: waiting for a start is not idling
        return process

    async def send_bytes(self, data: bytes) -> bool:
        self.last_input = time.monotonic()
        return await super().send_bytes(data)

    async def run(self) -> None:
        """Pass the player's packets to the browser until it exits; then close the page's
        connection (with the reason) however the player ended."""
        process = self._process
        assert process is not None and process.stdout is not None
        stdout = process.stdout
        stderr_task = asyncio.create_task(self._log_stderr(process))
        try:
            if await self._started(stdout):
                while True:
                    kind = await stdout.readexactly(1)
                    size = int.from_bytes(await stdout.readexactly(4), "big")
                    payload = await stdout.readexactly(size)
                    if kind == b"D":
                        await self.on_data(payload)
                    elif kind == b"M":
                        await self.on_meta(payload)
                    # b"P" (packed) carries only file deliveries, which players never make
            else:
                self.close_reason = FAILED
                log.error("session %s: the player did not start", self.app_service_id)
        except (
            asyncio.IncompleteReadError,
            ConnectionResetError,
            ValueError,
            asyncio.CancelledError,
        ):
            pass
        finally:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(stderr_task, GRACE)
            with contextlib.suppress(Exception):
                await self.remote_close()

    async def _started(self, stdout: asyncio.StreamReader) -> bool:
        """Wait for the web driver's first line (Textual's app is running)."""
        for _ in range(10):
            line = await stdout.readline()
            if not line:
                return False
            if line == b"__GANGLION__\n":
                return True
        return False

    async def _log_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for line in process.stderr:
            text = printable(line.decode("utf-8", "replace").rstrip())
            if text:
                log.warning("session %s: %s", self.app_service_id[:8], text)

    async def on_meta(self, data: bytes) -> None:
        meta = json.loads(data)
        kind = meta.get("type") if isinstance(meta, dict) else None
        if kind == "exit":
            await self.remote_close()
        else:  # open_url, deliver_file_start: a player never needs them
            log.warning("session %s: refused %r from the player", self.app_service_id[:8], kind)

    async def stop(self, grace: float = GRACE) -> None:
        """Ask the player to quit (it records Quit and saves), then insist.

        What counts is the process ending, not the task that reads its output: that task
        can end first (the browser went away mid-write) while the process still hangs."""
        task, process = self._task, self._process
        if task is None or process is None:
            return
        self._task = None
        if process.returncode is None:
            # a hung player reads nothing: a full pipe must not hold us here
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.send_meta({"type": "quit"}), grace)
        for how in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(process.wait(), grace)
                break
            except TimeoutError:
                log.warning(
                    "session %s did not quit in %.0f s: %s",
                    self.app_service_id[:8],
                    grace,
                    how.name,
                )
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(how)
        await process.wait()
        try:  # its output ends with the process
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            task.cancel()
