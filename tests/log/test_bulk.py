"""The bulk writer (simulator, imports): same rows as live play, batched, with given times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from branching.log import ChoiceLog, LogWriteError, UnknownPlaythrough
from branching.play.events import ChoiceMade, Event, NodeEntered, Quit
from tests.log.helpers import PATH_WITH_REWIND, failed_path, info, quit_path


def _stored(log: ChoiceLog, playthrough_id: str) -> tuple[Any, ...]:
    """Everything stored about one playthrough except its id and origin."""
    p = log.playthrough(playthrough_id)
    assert p is not None
    state = (
        p.status,
        p.started_at,
        p.updated_at,
        p.ended_at,
        p.last_node,
        p.ending,
        p.ending_kind,
        p.failure,
        p.event_count,
    )
    return state, [(e.seq, e.at, e.event) for e in log.events(playthrough_id)]


@pytest.mark.parametrize("path", [PATH_WITH_REWIND, quit_path(), failed_path(), []])
def test_bulk_rows_equal_live_rows(tmp_path: Path, path: list[Event]) -> None:
    times = [1000.0 + 7 * i for i in range(len(path) + 1)]
    live_info, bulk_info = info(), info()
    with ChoiceLog.open(tmp_path / "a.db") as log:
        recorder = log.start_playthrough(live_info, at=times[0])
        for at, event in zip(times[1:], path, strict=True):
            recorder.record(event, at=at)
        with log.bulk_writer(batch_size=3) as writer:
            writer.write_playthrough(
                bulk_info, list(zip(times[1:], path, strict=True)), started_at=times[0]
            )
        assert _stored(log, live_info.playthrough_id) == _stored(log, bulk_info.playthrough_id)
        assert log.playthroughs(viewer="viewer-1")[0].origin in {"live", "simulated"}
        origins = {p.id: p.origin for p in log.playthroughs()}
        assert origins[bulk_info.playthrough_id] == "simulated"
        assert origins[live_info.playthrough_id] == "live"
        assert log.check() == []


def test_interleaved_playthroughs_across_many_small_batches(tmp_path: Path) -> None:
    group = [info(viewer=f"sim-{i}") for i in range(5)]
    with ChoiceLog.open(tmp_path / "a.db") as log:
        with log.bulk_writer(batch_size=4, origin="imported") as writer:
            for who in group:
                writer.start(who, at=0.0)
            for step, event in enumerate(PATH_WITH_REWIND):
                for who in group:
                    writer.record(who.playthrough_id, event, at=float(step + 1))
        assert writer.events_written == 5 * len(PATH_WITH_REWIND)
        assert writer.playthroughs_written == 5
        for who in group:
            p = log.playthrough(who.playthrough_id)
            assert p is not None
            assert (p.status, p.ending, p.event_count, p.origin) == (
                "completed",
                "cellar",
                8,
                "imported",
            )
            assert [e.event for e in log.events(who.playthrough_id)] == PATH_WITH_REWIND
        assert log.check() == []


def test_bulk_can_continue_a_playthrough_already_in_the_log(tmp_path: Path) -> None:
    who = info()
    with ChoiceLog.open(tmp_path / "a.db") as log:
        log.start_playthrough(who).record(NodeEntered("start"), at=5.0)
        with log.bulk_writer() as writer:
            writer.record(who.playthrough_id, Quit("start"), at=9.0)
            with pytest.raises(UnknownPlaythrough):
                writer.record("not-there", Quit("start"), at=9.0)
        p = log.playthrough(who.playthrough_id)
        assert p is not None and (p.status, p.event_count, p.ended_at) == ("quit", 2, 9.0)


def test_a_failed_batch_is_dropped_whole_and_the_writer_goes_on(tmp_path: Path) -> None:
    taken = info()
    with ChoiceLog.open(tmp_path / "a.db") as log:
        log.start_playthrough(taken)
        writer = log.bulk_writer(batch_size=1000)
        fine = info()
        writer.write_playthrough(fine, [(1.0, NodeEntered("a"))])
        writer.write_playthrough(taken, [(1.0, NodeEntered("a"))])  # same id: refused
        with pytest.raises(LogWriteError, match="already in the log"):
            writer.flush()
        assert log.playthrough(fine.playthrough_id) is None  # same transaction, rolled back
        later = info()
        writer.write_playthrough(later, [(2.0, NodeEntered("a"))])
        writer.close()
        assert log.playthrough(later.playthrough_id) is not None
        assert writer.events_written == 1


def test_bulk_mode_ends_with_the_writer(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "a.db") as log:
        with log.bulk_writer() as writer:
            assert log.conn.execute("PRAGMA synchronous").fetchone() == (1,)
            writer.write_playthrough(info(), [(1.0, NodeEntered("a"))])
        assert log.conn.execute("PRAGMA synchronous").fetchone() == (2,)
        assert log.conn.execute("PRAGMA foreign_keys").fetchone() == (1,)


def test_bulk_writer_rejects_bad_arguments(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "a.db") as log:
        with pytest.raises(ValueError, match="batch_size"):
            log.bulk_writer(batch_size=0)
        with log.bulk_writer() as writer:
            with pytest.raises(ValueError, match="needs started_at"):
                writer.write_playthrough(info(), [])
            who = info()
            writer.start(who, at=1.0)
            with pytest.raises(ValueError, match="already started"):
                writer.start(who, at=1.0)
        with pytest.raises(ValueError, match="origin"):
            log.bulk_writer(origin="robots")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="origin"):
            log.start_playthrough(info(), origin="robots")  # type: ignore[arg-type]


def test_large_batches_keep_every_event(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "a.db") as log:
        with log.bulk_writer(batch_size=5000) as writer:
            for i in range(3000):
                steps: list[tuple[float, Event]] = [(float(i), NodeEntered("a"))]
                # A loop at "a": choose, enter, choose, ... (a sequence a player could write).
                steps += [
                    (float(i), ChoiceMade("a", "x", "a", k) if k % 2 == 0 else NodeEntered("a"))
                    for k in range(i % 9)
                ]
                writer.write_playthrough(info(viewer=f"v{i % 17}"), steps)
        expected = sum(1 + i % 9 for i in range(3000))
        assert writer.events_written == expected
        assert log.info().events == expected
        assert log.conn.execute("SELECT count(*) FROM events").fetchone() == (expected,)
        assert log.check() == []
