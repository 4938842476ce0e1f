"""A choice log owned by one thread, for players with an event loop (the Textual UI).

SQLite connections belong to the thread that made them, and an fsync should not stall a UI.
:class:`LogThread` opens the log on its own thread and runs every call there, in order, from a
queue (datasette's write-thread pattern). The UI either blocks briefly in
:meth:`ThreadedRecorder.record` (about a millisecond: one committed transaction) or, better,
awaits :meth:`ThreadedRecorder.arecord`, which leaves the event loop free until the event is
on disk; either way the next passage is shown only after the choice is durable.
"""

from __future__ import annotations

import asyncio
import functools
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from branching.events import Event, PlaythroughInfo
from branching.log.errors import LogError
from branching.log.queries import LoggedEvent, PlaythroughSummary
from branching.log.store import DEFAULT_BUSY_TIMEOUT, ChoiceLog
from branching.log.writer import LogRecorder

T = TypeVar("T")
_Job = tuple[Callable[[ChoiceLog], Any], "Future[Any]"]


class LogThread:
    """A :class:`ChoiceLog` living on a dedicated daemon thread.

    Create with :meth:`open` (blocks until the log is open; raises
    :class:`~branching.log.LogUnavailable` just like :meth:`ChoiceLog.open`), then call
    :meth:`start_playthrough` / :meth:`resume_playthrough` for a :class:`ThreadedRecorder`.
    Call :meth:`close` when the app exits (it waits for queued writes).
    """

    def __init__(self, opener: Callable[[], ChoiceLog], *, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opener, opened), name="branching-log", daemon=True
        )
        self._thread.start()
        opened.result()  # re-raises LogUnavailable from the thread

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        create_parent: bool = False,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> LogThread:
        """Open the log at ``path`` on a new thread (arguments as :meth:`ChoiceLog.open`)."""
        opener = functools.partial(
            ChoiceLog.open,
            path,
            durable=durable,
            create_parent=create_parent,
            clock=clock,
            busy_timeout=busy_timeout,
        )
        return cls(opener, clock=clock)

    def _run(self, opener: Callable[[], ChoiceLog], opened: Future[None]) -> None:
        try:
            log = opener()
        except BaseException as e:
            opened.set_exception(e)
            return
        opened.set_result(None)
        try:
            while (job := self._queue.get()) is not None:
                fn, future = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(fn(log))
                except BaseException as e:
                    future.set_exception(e)
        finally:
            log.close()

    def submit(self, fn: Callable[[ChoiceLog], T]) -> Future[T]:
        """Run ``fn(log)`` on the log's thread; the future holds its result."""
        if self._closed:
            raise LogError("the choice log is closed")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future

    def call(self, fn: Callable[[ChoiceLog], T]) -> T:
        """Run ``fn(log)`` on the log's thread and wait for its result."""
        return self.submit(fn).result()

    def start_playthrough(self, info: PlaythroughInfo) -> ThreadedRecorder:
        at = self.clock()
        return ThreadedRecorder(self, self.call(lambda log: log.start_playthrough(info, at=at)))

    def resume_playthrough(self, playthrough_id: str) -> ThreadedRecorder:
        return ThreadedRecorder(self, self.call(lambda log: log.resume_playthrough(playthrough_id)))

    def find_open_playthrough(
        self, viewer: str, story_id: str, *, story_hash: str | None = None
    ) -> PlaythroughSummary | None:
        return self.call(
            lambda log: log.find_open_playthrough(viewer, story_id, story_hash=story_hash)
        )

    def events(self, playthrough_id: str) -> list[LoggedEvent]:
        return self.call(lambda log: log.events(playthrough_id))

    def close(self) -> None:
        """Finish queued work, close the file and end the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
        self._thread.join()


class ThreadedRecorder:
    """The :class:`~branching.events.Recorder` a Textual player uses.

    Events are stamped when handed over (the viewer's moment, not the disk's) and written in
    order on the log's thread.
    """

    def __init__(self, owner: LogThread, inner: LogRecorder) -> None:
        self._owner = owner
        self._inner = inner
        self.playthrough_id = inner.playthrough_id

    def record_async(self, event: Event) -> Future[None]:
        """Queue ``event``; the future completes once it is committed (or holds the error)."""
        at = self._owner.clock()
        inner = self._inner
        return self._owner.submit(lambda _log: inner.record(event, at=at))

    async def arecord(self, event: Event) -> None:
        """Await this in an async handler: returns once ``event`` is durable."""
        await asyncio.wrap_future(self.record_async(event))

    def record(self, event: Event) -> None:
        """Record ``event`` and wait until it is durable (the Recorder protocol)."""
        self.record_async(event).result()

    def close(self) -> None:
        """Stop recording (harmless after the :class:`LogThread` itself was closed)."""
        if self._owner._closed:
            self._inner.closed = True
            return
        self._owner.submit(lambda _log: self._inner.close()).result()
