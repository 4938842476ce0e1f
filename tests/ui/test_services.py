"""The player's helpers that keep disk work off the screen's path: background recording and
saving, and the endings-found file. No Textual here."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import click
import pytest

from branching.events import ChoiceMade, Event, MemoryRecorder, NodeEntered, Quit
from branching.ui.services import BackgroundRecorder, BackgroundSaves, EndingsFile, MemorySaves

EVENTS: list[Event] = [
    NodeEntered("a"),
    ChoiceMade("a", "go", "b", 1200),
    NodeEntered("b"),
    Quit("b"),
]


class ThreadNotingRecorder(MemoryRecorder):
    """Remembers which threads opened it and recorded into it."""

    def __init__(self) -> None:
        super().__init__()
        self.opened_on = threading.get_ident()
        self.recorded_on: set[int] = set()

    def record(self, event: Event) -> None:
        self.recorded_on.add(threading.get_ident())
        super().record(event)


def test_background_recorder_keeps_order_and_owns_the_inner_recorder() -> None:
    inner: list[ThreadNotingRecorder] = []

    def open_inner() -> ThreadNotingRecorder:
        inner.append(ThreadNotingRecorder())
        return inner[0]

    recorder = BackgroundRecorder(open_inner)
    for event in EVENTS:
        recorder.record(event)
    recorder.flush()
    assert inner[0].events == EVENTS
    assert not inner[0].closed
    recorder.close()
    assert inner[0].closed
    # Opened and used on one thread that is not the caller's (SQLite connections need that).
    assert inner[0].recorded_on == {inner[0].opened_on}
    assert inner[0].opened_on != threading.get_ident()
    with pytest.raises(RuntimeError):
        recorder.record(Quit("b"))
    recorder.close()  # harmless twice


def test_background_recorder_raises_what_opening_raised() -> None:
    def open_inner() -> MemoryRecorder:
        raise click.ClickException("the choice log cannot be opened")

    with pytest.raises(click.ClickException, match="cannot be opened"):
        BackgroundRecorder(open_inner)


def test_background_recorder_keeps_going_after_a_failed_event() -> None:
    class Flaky(MemoryRecorder):
        def record(self, event: Event) -> None:
            if event == NodeEntered("b"):
                raise OSError("disk full")
            super().record(event)

    flaky = Flaky()
    recorder = BackgroundRecorder(lambda: flaky)
    for event in EVENTS:
        recorder.record(event)
    recorder.close()
    assert isinstance(recorder.error, OSError)
    assert flaky.events == [EVENTS[0], EVENTS[1], EVENTS[3]]
    assert flaky.closed


def test_background_saves_write_in_order() -> None:
    inner = MemorySaves()
    saves = BackgroundSaves(inner)
    for step in range(50):
        saves.save("story", "ann", {"step": step})
    assert saves.load("story", "ann") == {"step": 49}
    saves.save("story", "ann", {"step": 50})
    saves.delete("story", "ann")
    assert saves.load("story", "ann") is None
    saves.close()


def test_background_saves_keep_the_error_for_the_player() -> None:
    class Broken(MemorySaves):
        def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
            raise PermissionError("read-only folder")

    saves = BackgroundSaves(Broken())
    saves.save("story", "ann", {})
    saves.flush()
    assert isinstance(saves.error, PermissionError)
    saves.close()


def test_endings_file_counts_per_viewer_and_story(tmp_path: Path) -> None:
    endings = EndingsFile(tmp_path)
    assert endings("story", "ann") == set()
    endings.add("story", "ann", "lit")
    endings.add("story", "ann", "rocks")
    endings.add("story", "ann", "lit")
    assert endings("story", "ann") == {"lit", "rocks"}
    assert endings("story", "bob") == set()
    assert endings("other", "ann") == set()
    # A viewer name is never a path.
    endings.add("story", "../../x", "lit")
    assert all(tmp_path in p.parents for p in tmp_path.rglob("*.json"))


def test_a_damaged_endings_file_counts_as_none_found(tmp_path: Path) -> None:
    endings = EndingsFile(tmp_path)
    path = endings.path("story", "ann")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert endings("story", "ann") == set()
    endings.add("story", "ann", "lit")
    assert endings("story", "ann") == {"lit"}
