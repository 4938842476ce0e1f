"""``branching log merge``: logs from several machines into one, idempotently."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from branching.events import EndingReached, NodeEntered
from branching.log import ChoiceLog, LogUnavailable, merge_into
from tests.unit._log_helpers import (
    PATH_WITH_REWIND,
    info,
    quit_path,
    record_all,
    rows,
    run_cli,
)

_CONTENT = (
    "SELECT p.id, p.story_id, p.viewer, p.origin, p.status, p.started_at, p.updated_at, "
    "p.ended_at, p.last_node, p.ending, p.failure, p.event_count, e.seq, e.at, e.kind, e.node, "
    "e.choice, e.target, e.decision_ms, e.timed_out, e.step, e.detail, e.ending_kind "
    "FROM playthroughs p LEFT JOIN events e ON e.playthrough = p.pk ORDER BY p.id, e.seq"
)


def _machine_log(path: Path, viewer: str, count: int) -> list[str]:
    ids = []
    with ChoiceLog.open(path) as log:
        for i in range(count):
            who = info(viewer=viewer)
            record_all(log.start_playthrough(who), PATH_WITH_REWIND if i % 2 else quit_path())
            ids.append(who.playthrough_id)
        with log.bulk_writer() as writer:
            writer.write_playthrough(info(viewer=f"sim-{viewer}"), [(5.0, NodeEntered("start"))])
    return ids


def test_merge_combines_and_merging_again_adds_nothing(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    _machine_log(a, "alice", 5)
    _machine_log(b, "bob", 3)
    with ChoiceLog.open(out) as target:
        first = merge_into(target, a)
        second = merge_into(target, b)
        assert (first.playthroughs_added, first.events_added) == (6, 2 * 8 + 3 * 4 + 1)
        assert (second.playthroughs_added, second.events_added) == (4, 8 + 2 * 4 + 1)
        merged = rows(out, _CONTENT)
        again = merge_into(target, a)
        again_b = merge_into(target, b)
        assert (again.playthroughs_added, again.events_added, again.playthroughs_unchanged) == (
            0,
            0,
            6,
        )
        assert again_b.events_added == 0
        assert target.check() == []
    assert rows(out, _CONTENT) == merged
    assert sorted(merged) == sorted(rows(a, _CONTENT) + rows(b, _CONTENT))


def test_merging_a_later_copy_adds_only_the_new_events(tmp_path: Path) -> None:
    machine, snapshot, out = tmp_path / "m.db", tmp_path / "snapshot.db", tmp_path / "all.db"
    who = info()
    with ChoiceLog.open(machine) as log:
        recorder = log.start_playthrough(who)
        record_all(recorder, PATH_WITH_REWIND[:3])
        log.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(machine, snapshot)  # gathered mid-playthrough
        record_all(recorder, PATH_WITH_REWIND[3:])
    with ChoiceLog.open(out) as target:
        merge_into(target, snapshot)
        early = target.playthrough(who.playthrough_id)
        assert early is not None and (early.status, early.event_count) == ("open", 3)
        stats = merge_into(target, machine)
        assert (stats.playthroughs_extended, stats.events_added) == (1, 5)
        late = target.playthrough(who.playthrough_id)
        assert late is not None and (late.status, late.ending, late.event_count) == (
            "completed",
            "cellar",
            8,
        )
        assert [e.event for e in target.events(who.playthrough_id)] == PATH_WITH_REWIND
        assert merge_into(target, snapshot).events_added == 0
        assert target.check() == []
    assert rows(out, _CONTENT) == rows(machine, _CONTENT)


def test_diverging_histories_of_one_playthrough_are_counted_not_mixed(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    who = info()
    with ChoiceLog.open(a) as log:
        record_all(log.start_playthrough(who), [NodeEntered("start")])
    with ChoiceLog.open(b) as log:
        record_all(
            log.start_playthrough(who),
            [NodeEntered("elsewhere"), EndingReached("elsewhere", None, "good")],
        )
    with ChoiceLog.open(out) as target:
        merge_into(target, a)
        stats = merge_into(target, b)
        assert stats.conflicts == 1 and stats.events_added == 0
        assert [e.event for e in target.events(who.playthrough_id)] == [NodeEntered("start")]


def test_sources_are_never_changed_and_self_merge_is_refused(tmp_path: Path) -> None:
    a, out = tmp_path / "a.db", tmp_path / "all.db"
    _machine_log(a, "alice", 2)
    before = a.read_bytes()
    with ChoiceLog.open(out) as target:
        merge_into(target, a)
        with pytest.raises(LogUnavailable, match="output log itself"):
            merge_into(target, out)
    assert a.read_bytes() == before


def test_an_older_source_is_upgraded_in_a_copy(tmp_path: Path) -> None:
    from tests.unit.test_log_schema import _log_at_version

    old, out = tmp_path / "old.db", tmp_path / "all.db"
    _log_at_version(old, 1)
    before = old.read_bytes()
    with ChoiceLog.open(out) as target:
        stats = merge_into(target, old)
        assert (stats.playthroughs_added, stats.events_added) == (1, 2)
        assert len(target.events("old-1")) == 2
    assert old.read_bytes() == before
    assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone() == (1,)


def test_merge_command(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    _machine_log(a, "alice", 2)
    _machine_log(b, "bob", 2)
    first = run_cli("log", "merge", str(a), str(b), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert "3 playthroughs and 13 events added" in first.stdout
    assert "it now holds 6 playthroughs and 26 events" in first.stdout
    second = run_cli("log", "merge", str(a), str(b), "-o", str(out))
    assert second.returncode == 0, second.stderr
    assert "0 playthroughs and 0 events added; it now holds 6 playthroughs" in second.stdout
