"""What the Textual player needs from the world, as small protocols (no Textual import).

The CLI (or a test) hands these to :func:`branching.ui.app.make_app`: a store of unfinished
playthroughs, and a way to learn which endings a viewer has already found. Keeping them as
protocols lets the choice log plug in its own answers without the UI knowing about SQLite.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from branching.play.home import file_part

#: (story id, viewer) -> ids of the ending nodes this viewer has reached in any playthrough.
EndingsSeen = Callable[[str, str], set[str]]


class Saves(Protocol):
    """Unfinished playthroughs, one per (story, viewer), as the engine's JSON state."""

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None: ...

    def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None: ...

    def delete(self, story_id: str, viewer: str) -> None: ...


class MemorySaves:
    """Saves kept in a dict: for tests and ``--no-save`` style runs."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], dict[str, Any]] = {}

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None:
        return self.states.get((story_id, viewer))

    def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
        self.states[(story_id, viewer)] = state

    def delete(self, story_id: str, viewer: str) -> None:
        self.states.pop((story_id, viewer), None)


class BackgroundSaves:
    """Writes saves on one background thread, in order, so a slow disk (each save is fsynced)
    never delays the next passage. ``load`` and :meth:`flush` wait for queued writes.

    A failed write is kept in :attr:`error` for the player to report; play goes on.
    """

    def __init__(self, inner: Saves) -> None:
        self.inner = inner
        self.error: Exception | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="branching-saves")
        self._pending: list[Future[None]] = []

    def _run(self, write: Callable[[], None]) -> None:
        try:
            write()
        except Exception as exc:  # the viewer is told; the story goes on
            self.error = exc

    def _submit(self, write: Callable[[], None]) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._pool.submit(self._run, write))

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None:
        self.flush()
        return self.inner.load(story_id, viewer)

    def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
        self._submit(lambda: self.inner.save(story_id, viewer, state))

    def delete(self, story_id: str, viewer: str) -> None:
        self._submit(lambda: self.inner.delete(story_id, viewer))

    def flush(self) -> None:
        """Wait until every queued write is done."""
        for future in self._pending:
            future.result()
        self._pending = []

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)


@runtime_checkable
class EndingsNotebook(Protocol):
    """An :data:`EndingsSeen` that the player also tells about each ending reached (used
    when no choice log answers the question)."""

    def __call__(self, story_id: str, viewer: str) -> set[str]: ...

    def add(self, story_id: str, viewer: str, node_id: str) -> None: ...


class EndingsFile:
    """Endings found per (viewer, story), one small JSON list per file under ``root``.

    The fallback for "you have found 3 of 23 endings" when the choice log is off. A damaged
    or unreadable file counts as no endings found rather than stopping play.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, story_id: str, viewer: str) -> Path:
        return self.root / file_part(viewer) / f"{file_part(story_id)}.json"

    def __call__(self, story_id: str, viewer: str) -> set[str]:
        try:
            data = json.loads(self.path(story_id, viewer).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        if not isinstance(data, list):
            return set()
        return {item for item in data if isinstance(item, str)}

    def add(self, story_id: str, viewer: str, node_id: str) -> None:
        found = self(story_id, viewer)
        if node_id in found:
            return
        path = self.path(story_id, viewer)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        temp.write_text(json.dumps(sorted(found | {node_id})), encoding="utf-8")
        os.replace(temp, path)


class MemoryEndings:
    """Endings found, kept in memory: for tests, and counting within one run."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], set[str]] = {}

    def __call__(self, story_id: str, viewer: str) -> set[str]:
        return set(self.found.get((story_id, viewer), set()))

    def add(self, story_id: str, viewer: str, node_id: str) -> None:
        self.found.setdefault((story_id, viewer), set()).add(node_id)
