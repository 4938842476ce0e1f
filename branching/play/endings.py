"""Which endings a viewer has found, for "you have found 3 of the story's 7 endings".

Both players count them: the full-screen player through :mod:`branching.ui.services`, the plain
player directly. The choice log can answer the same question (a :data:`EndingsSeen`); these
notebooks are the fallback when it is off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from branching.play.home import file_part
from branching.story.json_input import loads, read_limited

#: How an ending's kind is said to the viewer, in both players.
KIND_WORDS = {"good": "A good ending", "bad": "A bad ending", "neutral": "An ending"}

#: (story id, viewer) -> ids of the ending nodes this viewer has reached in any playthrough.
EndingsSeen = Callable[[str, str], set[str]]


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
            data = loads(read_limited(self.path(story_id, viewer)).decode("utf-8"))
        except (OSError, ValueError):  # JsonInputError, InputTooLarge, UnicodeDecodeError
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
