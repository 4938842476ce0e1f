"""What the Textual player needs from the world, as small protocols (no Textual import).

The CLI (or a test) hands these to :func:`branching.ui.app.make_app`: a store of unfinished
playthroughs, and a way to learn which endings a viewer has already found. Keeping them as
protocols lets the choice log plug in its own answers without the UI knowing about SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

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
