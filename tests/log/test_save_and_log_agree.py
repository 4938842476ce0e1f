"""The save and the choice log never disagree, even when the player is killed between them.

The player records each step durably in the log, then writes the save. A SIGKILL in between
used to leave the save one step behind; the next ``play`` resumed from it into the same
playthrough, and the log then held a choice at a node the viewer was not at, which ``log check``
called sound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from branching.log import ChoiceLog
from branching.play.engine import Session, TimerOptions
from branching.play.events import (
    ChoiceMade,
    Event,
    Exposed,
    MemoryRecorder,
    NodeEntered,
    NullRecorder,
    Quit,
)
from branching.story.loader import read_story
from tests.log.helpers import ROOT, WORKER, record_all, rows, run_cli
from tests.story.test_experiments import cliff

LANTERN = ROOT / "tests" / "fixtures" / "lantern.json"


def gated_cliff() -> dict[str, object]:
    """The experiment story of tests/story: a gate, then the cliff whose wording has two arms."""
    data = cliff()
    data["start"] = "gate"
    data["nodes"]["gate"] = {
        "text": "A gate.",
        "choices": [{"label": "Through", "to": "edge"}, {"label": "Home", "to": "path"}],
    }
    return data


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "BRANCHING_HOME": str(home)}
    for name in ("BRANCHING_DB", "BRANCHING_VIEWER"):
        env.pop(name, None)
    return env


def _play(home: Path, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "branching",
            "play",
            str(LANTERN),
            "--plain",
            "--viewer",
            "ann",
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(home),
        timeout=60,
    )


def _play_killed(home: Path, stdin: str, where: str, n: int) -> None:
    """``branching play`` (plain), SIGKILLed at the ``n``-th save or durable event."""
    args = ["play", str(LANTERN), "--plain", "--viewer", "ann"]
    result = subprocess.run(
        [sys.executable, str(WORKER), "cli-kill", where, str(n), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(home),
        timeout=60,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


def _logged(home: Path) -> list[tuple[str, str, str | None]]:
    return rows(home / "choices.db", "SELECT kind, node, target FROM events ORDER BY seq")


def _assert_sound(home: Path) -> None:
    db = str(home / "choices.db")
    checked = run_cli("log", "check", "--db", db, "--story", str(LANTERN))
    assert checked.returncode == 0, checked.stderr
    assert "every event fits" in checked.stdout


@pytest.mark.slow
def test_killed_after_the_log_and_before_the_save_resumes_where_the_log_says(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    # Saves: 1 at the start, 2 after "take the lantern", 3 after "go down to the cellar".
    _play_killed(home, "1\n1\n", "save", 3)
    assert _logged(home)[-2:] == [("choice", "hall", "cellar"), ("enter", "cellar", None)]

    again = _play(home, "1\n")  # at the cellar: 1 opens the chest
    assert again.returncode == 0, again.stderr
    assert "behind the choice log" in again.stdout
    assert "A chest glints" in again.stdout.split("Note:")[-1]
    assert "Treasure" in again.stdout
    assert rows(home / "choices.db", "SELECT status, ending FROM playthroughs") == [
        ("completed", "treasure")
    ]
    kinds = [kind for kind, _, _ in _logged(home)]
    assert kinds == ["enter", "choice", "enter", "choice", "enter", "choice", "enter", "ending"]
    _assert_sound(home)


@pytest.mark.slow
def test_killed_between_a_choice_and_its_target_records_the_missing_entry(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # Events: enter hall, take, enter hall, choose the cellar: killed before entering it.
    _play_killed(home, "1\n1\n", "record", 4)
    assert _logged(home)[-1] == ("choice", "hall", "cellar")

    again = _play(home, "q\n")
    assert again.returncode == 0, again.stderr
    assert "A chest glints" in again.stdout
    assert _logged(home)[-2:] == [("enter", "cellar", None), ("quit", "cellar", None)]
    _assert_sound(home)


@pytest.mark.slow
def test_no_log_play_still_resumes_after_a_kill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _play_killed(home, "1\n1\n", "save", 3)
    quiet = _play(home, "q\n", "--no-log")
    assert quiet.returncode == 0, quiet.stderr
    assert "The Hall" in quiet.stdout  # the save's place: no log to compare with
    assert len(_logged(home)) == 5  # nothing more was logged


def test_log_check_finds_a_choice_where_the_viewer_was_not(tmp_path: Path) -> None:
    """What the old player wrote after such a kill: a choice at the save's node, while the log
    had already moved the viewer on."""
    db = tmp_path / "old.db"
    with ChoiceLog.open(db) as log:
        recorder = log.start_playthrough(Session(read_story(LANTERN)).playthrough_info("ann"))
        steps: list[Event] = [
            NodeEntered("hall"),
            ChoiceMade("hall", "take", "hall", 900),
            NodeEntered("hall"),
            ChoiceMade("hall", "cellar", "cellar", 800),
            NodeEntered("cellar"),
            ChoiceMade("hall", "cellar", "cellar", 700),  # resumed from the stale save
            NodeEntered("cellar"),
        ]
        record_all(recorder, steps)
    plain = run_cli("log", "check", "--db", str(db))
    assert plain.returncode == 1
    assert "impossible sequence: event 5" in plain.stderr
    assert "a choice at 'hall', but the viewer was at 'cellar'" in plain.stderr
    story = run_cli("log", "check", "--db", str(db), "--story", str(LANTERN))
    assert story.returncode == 1
    assert "impossible sequence" in story.stderr  # the invariants come first


@pytest.mark.parametrize(
    ("events", "why"),
    [
        ([ChoiceMade("hall", "go", "x", 1)], "the first event does not enter a node"),
        (
            [NodeEntered("a"), ChoiceMade("a", "go", "b", 1), NodeEntered("c")],
            "entered 'c', but the choice before it leads to 'b'",
        ),
        (
            [NodeEntered("a"), NodeEntered("a")],
            "entered 'a' without a choice leading there",
        ),
        (
            [NodeEntered("a"), ChoiceMade("a", "go", "b", 1), NodeEntered("b"), Quit("a")],
            "a quit at 'a', but the viewer was at 'b'",
        ),
    ],
)
def test_log_check_knows_what_no_player_writes(
    tmp_path: Path, events: list[Event], why: str
) -> None:
    db = tmp_path / "odd.db"
    with ChoiceLog.open(db) as log:
        recorder = log.start_playthrough(Session(read_story(LANTERN)).playthrough_info("ann"))
        for event in events:
            recorder.record(event)
        problems = log.check()
    assert any(why in p for p in problems), problems


def test_a_rewind_must_go_back_to_an_earlier_choice_point(tmp_path: Path) -> None:
    from branching.play.events import Rewound

    db = tmp_path / "rewind.db"
    with ChoiceLog.open(db) as log:
        recorder = log.start_playthrough(Session(read_story(LANTERN)).playthrough_info("ann"))
        steps: list[Event] = [
            NodeEntered("hall"),
            ChoiceMade("hall", "bridge", "bridge", 5),
            NodeEntered("bridge"),
            Rewound("bridge", "cellar", 0),
        ]
        record_all(recorder, steps)
        problems = log.check()
    assert any("went back to 'cellar', which is not an earlier choice point" in p for p in problems)


def test_log_check_with_the_story_replays_conditions(tmp_path: Path) -> None:
    """The cellar is offered only with the lantern: a log that goes there without it is
    possible as a sequence but not in this story."""
    db = tmp_path / "cond.db"
    with ChoiceLog.open(db) as log:
        recorder = log.start_playthrough(Session(read_story(LANTERN)).playthrough_info("ann"))
        steps: list[Event] = [
            NodeEntered("hall"),
            ChoiceMade("hall", "cellar", "cellar", 5),
            NodeEntered("cellar"),
        ]
        record_all(recorder, steps)
    assert run_cli("log", "check", "--db", str(db)).returncode == 0
    replayed = run_cli("log", "check", "--db", str(db), "--story", str(LANTERN))
    assert replayed.returncode == 1
    assert "does not fit the story: choice 'cellar' is not offered at 'hall'" in replayed.stderr


# --- resume() itself, with the log given as a function -------------------------------------


def _saved_after(steps: Sequence[str]) -> tuple[dict[str, object], list[Event]]:
    """A save after taking ``steps`` from the start, and the events recorded on the way."""
    recorder = MemoryRecorder()
    session = Session(read_story(LANTERN), recorder=recorder)
    for step in steps:
        session.choose(step)
    return session.to_json(), recorder.events


def _resume(
    saved: dict[str, object], logged: list[Event] | None
) -> tuple[Session, bool, list[MemoryRecorder]]:
    opened: list[MemoryRecorder] = []

    def recorder_for(_: str) -> MemoryRecorder:
        opened.append(MemoryRecorder())
        return opened[-1]

    from branching.play.lifecycle import resume

    session, resumed = resume(
        read_story(LANTERN), saved, TimerOptions(), recorder_for, lambda _: logged
    )
    return session, resumed, opened


def test_a_save_in_step_with_the_log_resumes_and_records_on() -> None:
    saved, events = _saved_after(["take"])
    session, resumed, opened = _resume(saved, events)
    assert resumed and session.node_id == "hall" and session.resume_notes == []
    assert len(opened) == 1 and session.recorder is opened[0]
    session.choose("cellar")
    assert session.event_count == len(events) + 2
    assert session.to_json()["events"] == len(events) + 2


def test_a_log_that_missed_events_keeps_the_save_and_logs_no_more() -> None:
    saved, events = _saved_after(["take"])
    session, resumed, opened = _resume(saved, events[:-1])
    assert resumed and session.node_id == "hall" and opened == []
    assert isinstance(session.recorder, NullRecorder)
    assert "lacks its last 1 event in the choice log" in session.resume_notes[-1]
    unknown, _, opened = _resume(saved, None)
    assert opened == [] and "is not in the choice log" in unknown.resume_notes[-1]


def test_a_log_that_does_not_fit_the_save_starts_a_new_playthrough() -> None:
    saved, events = _saved_after(["take"])
    strange = [*events, ChoiceMade("hall", "bridge", "river", 10)]  # bridge leads elsewhere
    session, resumed, opened = _resume(saved, strange)
    assert not resumed and session.playthrough_id != saved["playthrough"]
    assert "a new playthrough starts" in session.resume_notes[-1]
    assert len(opened) == 1 and opened[0].events == [NodeEntered("hall")]


def test_a_save_written_before_saves_counted_events_resumes_as_before() -> None:
    saved, events = _saved_after(["take"])
    del saved["events"]
    session, resumed, opened = _resume(saved, events)
    assert resumed and len(opened) == 1 and session.event_count == len(events)


def test_a_log_that_ends_with_the_quit_the_save_missed_resumes_playing() -> None:
    """Killed after recording the quit (or a restart's quit) and before saving."""
    saved, events = _saved_after(["take"])
    session, resumed, opened = _resume(saved, [*events, Quit("hall")])
    assert resumed and session.status == "playing" and session.node_id == "hall"
    assert "1 event behind the choice log" in session.resume_notes[-1]
    assert opened[0].events == []  # the quit is logged already
    session.choose("cellar")
    assert session.event_count == len(events) + 3


def test_exposures_are_not_counted_as_log_events(tmp_path: Path) -> None:
    """The log keeps experiment exposures apart from the numbered events: a save must count
    only the events, or every resume in an experiment would look like a disagreement; and a
    replay (`log check --story`) must not expect them among the events."""
    story_file = tmp_path / "cliff.json"
    story_file.write_text(json.dumps(gated_cliff()), encoding="utf-8")
    recorder = MemoryRecorder()
    session = Session(read_story(story_file), recorder=recorder, arms={"wording": "new"})
    session.choose("edge")
    session.choose("jump")
    assert any(isinstance(e, Exposed) for e in recorder.events)
    assert session.event_count == len([e for e in recorder.events if not isinstance(e, Exposed)])

    db = tmp_path / "arms.db"
    with ChoiceLog.open(db) as log:
        record_all(log.start_playthrough(session.playthrough_info("ann")), recorder.events)
        assert log.playthroughs()[0].event_count == session.event_count
    checked = run_cli("log", "check", "--db", str(db), "--story", str(story_file))
    assert checked.returncode == 0, checked.stderr
    assert "Replayed 1 playthrough of cliff" in checked.stdout
