"""The choice log as players use it: playthroughs, events, statuses, resume, paths, privacy."""

from __future__ import annotations

from pathlib import Path

import pytest

from branching.log import (
    ChoiceLog,
    LogMissing,
    LogWriteError,
    UnknownPlaythrough,
    full_path,
    route,
)
from branching.play.events import ChoiceMade, EndingReached, Event, NodeEntered, Quit, Rewound
from tests.log.helpers import (
    PATH_WITH_REWIND,
    FakeClock,
    failed_path,
    info,
    quit_path,
    record_all,
    rows,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "choices.db"


@pytest.fixture
def log(db: Path) -> ChoiceLog:
    return ChoiceLog.open(db, clock=FakeClock())


def test_events_come_back_exactly_in_order_with_the_clock_times(log: ChoiceLog) -> None:
    who = info()
    recorder = log.start_playthrough(who)  # started_at = 1_700_000_000.0
    record_all(recorder, PATH_WITH_REWIND)

    logged = log.events(who.playthrough_id)
    assert [e.event for e in logged] == PATH_WITH_REWIND
    assert [e.seq for e in logged] == list(range(len(PATH_WITH_REWIND)))
    assert [e.at for e in logged] == [1_700_000_000.0 + 1.5 * (i + 1) for i in range(8)]
    summary = log.playthrough(who.playthrough_id)
    assert summary is not None
    assert summary.started_at == 1_700_000_000.0
    assert summary.event_count == 8


def test_a_timed_default_is_told_apart_from_a_pick(log: ChoiceLog) -> None:
    who = info()
    record_all(log.start_playthrough(who), PATH_WITH_REWIND)
    choices = [e.event for e in log.events(who.playthrough_id) if isinstance(e.event, ChoiceMade)]
    assert [(c.choice, c.timed_out, c.decision_ms) for c in choices] == [
        ("left", False, 1800),
        ("right", True, 5000),
    ]


def test_ending_completes_the_playthrough_with_its_ending(log: ChoiceLog) -> None:
    who = info()
    record_all(log.start_playthrough(who), PATH_WITH_REWIND)
    p = log.playthrough(who.playthrough_id)
    assert p is not None
    assert (p.status, p.ending, p.ending_kind, p.last_node) == (
        "completed",
        "cellar",
        "bad",
        "cellar",
    )
    assert p.ended_at == p.updated_at is not None


def test_quit_and_failure_record_where_they_happened(log: ChoiceLog) -> None:
    quitter, broken = info(), info()
    record_all(log.start_playthrough(quitter), quit_path("hall"))
    record_all(log.start_playthrough(broken), failed_path())
    q = log.playthrough(quitter.playthrough_id)
    f = log.playthrough(broken.playthrough_id)
    assert q is not None and f is not None
    assert (q.status, q.last_node, q.ending) == ("quit", "hall", None)
    assert (f.status, f.last_node, f.failure) == ("failed", "start", "every choice is disabled")


def test_without_an_ending_the_playthrough_stays_open_at_its_last_node(log: ChoiceLog) -> None:
    who = info()
    recorder = log.start_playthrough(who)
    record_all(recorder, [NodeEntered("start"), ChoiceMade("start", "go", "hall", 10)])
    recorder.close()
    p = log.playthrough(who.playthrough_id)
    assert p is not None
    assert (p.status, p.last_node, p.ended_at) == ("open", "hall", None)


def test_a_rewind_from_an_ending_reopens_until_the_next_ending(log: ChoiceLog) -> None:
    who = info()
    recorder = log.start_playthrough(who)
    record_all(recorder, PATH_WITH_REWIND)
    recorder.record(Rewound("cellar", "start", 0))
    p = log.playthrough(who.playthrough_id)
    assert p is not None
    assert (p.status, p.ending, p.ended_at, p.last_node) == ("open", None, None, "start")
    record_all(
        recorder,
        [
            ChoiceMade("start", "left", "hall", 300),
            NodeEntered("hall"),
            EndingReached("hall", None, "good"),
        ],
    )
    p = log.playthrough(who.playthrough_id)
    assert p is not None
    assert (p.status, p.ending, p.ending_kind) == ("completed", "hall", "good")


def test_route_cuts_out_what_was_rewound_and_full_path_keeps_it(log: ChoiceLog) -> None:
    who = info()
    record_all(log.start_playthrough(who), PATH_WITH_REWIND)
    events = log.events(who.playthrough_id)
    assert route(events) == ["start", "cellar"]
    steps = full_path(events)
    assert steps[3] == "rewind  hall << back to start (step 0)"
    assert "timer default" in steps[5]


def test_route_unrolls_loops_and_handles_players_that_do_not_re_enter() -> None:
    loop: list[Event] = [
        NodeEntered("a"),
        NodeEntered("b"),
        NodeEntered("a"),
        NodeEntered("b"),
        Rewound("b", "a", 2),  # back to the second visit of a, no NodeEntered after it
        NodeEntered("c"),
    ]
    assert route(loop) == ["a", "b", "a", "c"]


def test_find_open_playthrough_offers_the_latest_open_one_of_that_viewer_and_story(
    log: ChoiceLog,
) -> None:
    older, newer, done, other = info(), info(), info(), info(viewer="someone-else")
    for who in (older, newer):
        log.start_playthrough(who).record(NodeEntered("start"))
    record_all(log.start_playthrough(done), PATH_WITH_REWIND)
    log.start_playthrough(other).record(NodeEntered("start"))

    found = log.find_open_playthrough("viewer-1", "demo")
    assert found is not None and found.id == newer.playthrough_id
    assert log.find_open_playthrough("viewer-1", "demo", story_hash="another-version") is None
    assert log.find_open_playthrough("viewer-1", "other-story") is None


def test_resume_continues_numbering_and_survives_reopening(db: Path) -> None:
    who = info()
    with ChoiceLog.open(db) as first:
        first.start_playthrough(who).record(NodeEntered("start"))
    with ChoiceLog.open(db) as second:
        open_one = second.find_open_playthrough(who.viewer, who.story_id)
        assert open_one is not None
        recorder = second.resume_playthrough(open_one.id)
        record_all(recorder, quit_path()[1:])
        assert [e.seq for e in second.events(who.playthrough_id)] == [0, 1, 2, 3]
        p = second.playthrough(who.playthrough_id)
        assert p is not None and p.status == "quit"


def test_two_recorders_on_one_playthrough_never_collide(log: ChoiceLog) -> None:
    who = info()
    a = log.start_playthrough(who)
    b = log.resume_playthrough(who.playthrough_id)
    a.record(NodeEntered("start"))
    b.record(ChoiceMade("start", "go", "hall", 1))
    a.record(NodeEntered("hall"))
    assert [e.seq for e in log.events(who.playthrough_id)] == [0, 1, 2]


def test_unknown_and_duplicate_playthroughs_are_clear_errors(log: ChoiceLog) -> None:
    who = info()
    log.start_playthrough(who)
    with pytest.raises(UnknownPlaythrough):
        log.resume_playthrough("nope")
    with pytest.raises(UnknownPlaythrough):
        log.events("nope")
    with pytest.raises(LogWriteError, match="already in the log"):
        log.start_playthrough(who)
    assert len(log.playthroughs()) == 1


def test_a_closed_recorder_refuses_events(log: ChoiceLog) -> None:
    recorder = log.start_playthrough(info())
    recorder.close()
    with pytest.raises(LogWriteError, match="closed"):
        recorder.record(NodeEntered("start"))


def test_a_failed_write_keeps_nothing_of_the_event(log: ChoiceLog) -> None:
    who = info()
    recorder = log.start_playthrough(who)
    recorder.record(NodeEntered("start"))
    # Stand-in for a disk error in the middle of the transaction.
    log.conn.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    with pytest.raises(LogWriteError, match="disk"):
        recorder.record(ChoiceMade("start", "go", "hall", 5))
    log.conn.execute("DROP TRIGGER boom")
    p = log.playthrough(who.playthrough_id)
    assert p is not None and (p.event_count, p.last_node) == (1, "start")
    recorder.record(ChoiceMade("start", "go", "hall", 5))
    assert [e.seq for e in log.events(who.playthrough_id)] == [0, 1]


def test_every_live_event_is_its_own_committed_transaction(db: Path) -> None:
    who = info()
    log = ChoiceLog.open(db)
    recorder = log.start_playthrough(who)
    recorder.record(NodeEntered("start"))
    # Another connection sees it at once: record() returned only after COMMIT.
    assert rows(db, "SELECT count(*) FROM events") == [(1,)]
    assert log.conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert log.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    log.close()


def test_non_durable_logs_use_normal_sync(db: Path) -> None:
    with ChoiceLog.open(db, durable=False) as log:
        assert log.conn.execute("PRAGMA synchronous").fetchone() == (1,)


def test_in_memory_log_for_tests(tmp_path: Path) -> None:
    with ChoiceLog.open(":memory:") as log:
        who = info()
        record_all(log.start_playthrough(who), quit_path())
        assert log.path is None
        assert log.info().events == 4


def test_read_only_open_reads_but_never_writes(db: Path) -> None:
    who = info()
    with ChoiceLog.open(db) as log:
        record_all(log.start_playthrough(who), quit_path())
    with ChoiceLog.open(db, readonly=True) as ro:
        assert len(ro.events(who.playthrough_id)) == 4
        with pytest.raises(LogWriteError, match="read-only"):
            ro.start_playthrough(info())


def test_missing_log_is_not_created_when_not_asked(tmp_path: Path) -> None:
    with pytest.raises(LogMissing):
        ChoiceLog.open(tmp_path / "none.db", create=False)
    with pytest.raises(LogMissing):
        ChoiceLog.open(tmp_path / "none.db", readonly=True)
    assert not (tmp_path / "none.db").exists()


def test_export_holds_everything_about_the_viewer_and_nothing_else(log: ChoiceLog) -> None:
    mine, also_mine, theirs = info(), info(story="other"), info(viewer="stranger")
    record_all(log.start_playthrough(mine), PATH_WITH_REWIND)
    record_all(log.start_playthrough(also_mine), quit_path())
    record_all(log.start_playthrough(theirs), quit_path())

    data = log.export_viewer("viewer-1")
    assert data["viewer"] == "viewer-1"
    assert [p["id"] for p in data["playthroughs"]] == [
        mine.playthrough_id,
        also_mine.playthrough_id,
    ]
    first = data["playthroughs"][0]
    assert first["status"] == "completed" and first["ending"] == "cellar"
    assert first["started_at"] == "2023-11-14T22:13:20Z"
    assert len(first["events"]) == 8
    assert first["events"][5] == {
        "seq": 5,
        "at": first["events"][5]["at"],
        "kind": "choice",
        "node": "start",
        "choice": "right",
        "target": "cellar",
        "decision_ms": 5000,
        "timed_out": True,
    }
    assert first["events"][3]["kind"] == "rewind" and first["events"][3]["step"] == 0
    assert "stranger" not in str(data)


def test_forget_deletes_all_of_a_viewer_and_overwrites_it(db: Path) -> None:
    log = ChoiceLog.open(db)
    mine, theirs = info(viewer="forget-me"), info(viewer="keep-me")
    record_all(log.start_playthrough(mine), [*PATH_WITH_REWIND, Quit("cellar")])
    failing = info(viewer="forget-me")
    recorder = log.start_playthrough(failing)
    recorder.record(NodeEntered("start"))
    recorder.record(EndingReached("start", "SECRET-TITLE-4711", "neutral"))
    record_all(log.start_playthrough(theirs), quit_path())

    assert log.forget_viewer("forget-me") == (2, 11)
    assert log.export_viewer("forget-me")["playthroughs"] == []
    assert log.playthroughs(viewer="keep-me")[0].event_count == 4
    assert log.forget_viewer("forget-me") == (0, 0)
    log.close()
    raw = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name))
    assert b"SECRET-TITLE-4711" not in raw
    assert b"forget-me" not in raw


def test_check_reports_broken_invariants(log: ChoiceLog) -> None:
    who = info()
    record_all(log.start_playthrough(who), PATH_WITH_REWIND)
    assert log.check() == []
    log.conn.execute("DELETE FROM events WHERE seq = 3")
    log.conn.execute("UPDATE playthroughs SET status = 'open'")
    problems = log.check()
    assert any("event_count 8 but 7 events" in p for p in problems)
    assert any("status open but its last event is 'ending'" in p for p in problems)


def test_info_counts(log: ChoiceLog) -> None:
    record_all(log.start_playthrough(info()), PATH_WITH_REWIND)
    record_all(log.start_playthrough(info(viewer="v2")), quit_path())
    log.start_playthrough(info(story="other"))
    data = log.info()
    assert (data.playthroughs, data.events, data.viewers) == (3, 12, 2)
    assert data.by_status == {"completed": 1, "quit": 1, "open": 1}
    assert [(s.story_id, s.playthroughs, s.completed) for s in data.stories] == [
        ("demo", 2, 1),
        ("other", 1, 0),
    ]
