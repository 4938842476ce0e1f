"""What the Textual player needs from the world, as small protocols (no Textual import).

The CLI (or a test) hands these to :func:`branching.ui.app.make_app`: a store of unfinished
playthroughs, and a store of viewers' profiles (what they bring from earlier playthroughs:
profile values, the playthrough count, the endings found). Keeping them as protocols lets
tests and other front ends plug in their own without the UI knowing about files.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

# Profiles live in the play layer (the plain player keeps them too).
from branching.play.profiles import FIRST_VISIT, ProfileStore, ViewerProfile

__all__ = [
    "BackgroundSaves",
    "MemoryProfiles",
    "MemorySaves",
    "ProfileStore",
    "Profiles",
    "Saves",
]


class Saves(Protocol):
    """Unfinished playthroughs, one per (story, viewer), as the engine's JSON state."""

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None: ...

    def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None: ...

    def delete(self, story_id: str, viewer: str) -> None: ...


class Profiles(Protocol):
    """Viewers' profiles, one per (story, viewer) (see :mod:`branching.play.profiles`)."""

    def load(self, story_id: str, viewer: str) -> ViewerProfile: ...

    def save(self, story_id: str, viewer: str, profile: ViewerProfile) -> None: ...


class MemoryProfiles:
    """Profiles kept in a dict: for tests."""

    def __init__(self) -> None:
        self.profiles: dict[tuple[str, str], ViewerProfile] = {}

    def load(self, story_id: str, viewer: str) -> ViewerProfile:
        return self.profiles.get((story_id, viewer), FIRST_VISIT)

    def save(self, story_id: str, viewer: str, profile: ViewerProfile) -> None:
        self.profiles[(story_id, viewer)] = profile


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

    def keep_profile(
        self, profiles: Profiles, story_id: str, viewer: str, profile: ViewerProfile
    ) -> None:
        """Write a profile on the same thread, in order with the saves."""
        self._submit(lambda: profiles.save(story_id, viewer, profile))

    def flush(self) -> None:
        """Wait until every queued write is done."""
        for future in self._pending:
            future.result()
        self._pending = []

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)
