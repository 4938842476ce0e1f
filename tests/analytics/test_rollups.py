"""Roll-ups kept by the log's write path equal a recomputation from the raw events."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import pytest

from analytics.report import Selection
from analytics.rollups import cohorts, read_tally
from analytics.source import load_report, raw_playthroughs, select_cohorts
from analytics.tally import Playthrough, Tally, tally_playthroughs
from branching.log import ChoiceLog
from branching.log.rollups import ROLLUP_TABLES, rebuild_rollups, snapshot
from branching.play.events import PlaythroughInfo
from tests.analytics import scripted


def _ts(day: str, seconds: float = 0.0) -> float:
    return calendar.timegm(dt.date.fromisoformat(day).timetuple()) + seconds


def _info(p: Playthrough) -> PlaythroughInfo:
    return PlaythroughInfo(
        p.playthrough_id, p.story_id, p.story_version, p.story_hash, p.viewer, p.variant
    )


def write_live(log: ChoiceLog, playthroughs: list[Playthrough]) -> None:
    """Through the live recorder: one transaction per event, playthroughs interleaved."""
    recorders = {}
    for p in playthroughs:
        recorders[p.playthrough_id] = log.start_playthrough(
            _info(p),
            at=_ts(p.day),
            origin=p.origin,  # type: ignore[arg-type]
        )
    longest = max(len(p.events) for p in playthroughs)
    for i in range(longest):
        for p in playthroughs:
            if i < len(p.events):
                recorders[p.playthrough_id].record(p.events[i], at=_ts(p.day, i + 1))


def write_bulk(log: ChoiceLog, playthroughs: list[Playthrough], batch_size: int = 7) -> None:
    """Through the bulk writer (one per origin, as the simulator and imports use it)."""
    for origin in ("live", "simulated", "imported"):
        with log.bulk_writer(batch_size=batch_size, origin=origin) as writer:
            for p in playthroughs:
                if p.origin == origin:
                    writer.write_playthrough(
                        _info(p),
                        [(_ts(p.day, i + 1), e) for i, e in enumerate(p.events)],
                        started_at=_ts(p.day),
                    )


def all_days_tally(log: ChoiceLog, story_id: str = "caves") -> Tally:
    ids = [c.id for c in cohorts(log.conn, story_id) if c.day == ""]
    return read_tally(log.conn, ids, top=None)


@pytest.fixture
def log() -> Iterator[ChoiceLog]:
    with ChoiceLog.open(":memory:") as opened:
        yield opened


@pytest.mark.parametrize("writer", [write_live, write_bulk], ids=["live", "bulk"])
def test_rollups_equal_the_reference_tally(log: ChoiceLog, writer: Any) -> None:
    playthroughs = scripted.playthroughs()
    writer(log, playthroughs)
    assert all_days_tally(log) == tally_playthroughs(playthroughs)
    before = snapshot(log.conn)
    with log.write_transaction() as conn:
        assert rebuild_rollups(conn) == 8
    assert snapshot(log.conn) == before


def test_raw_events_read_back_as_written(log: ChoiceLog) -> None:
    playthroughs = scripted.playthroughs()
    write_bulk(log, playthroughs)
    assert list(raw_playthroughs(log.conn, "caves")) == playthroughs


def test_day_cohorts_add_up_and_filter(log: ChoiceLog) -> None:
    write_live(log, scripted.playthroughs())
    story = scripted.story()
    for since, until in [("2026-11-01", "2026-11-03"), ("2026-11-02", "2026-11-02")]:
        selection = Selection(
            "caves", since=dt.date.fromisoformat(since), until=dt.date.fromisoformat(until)
        )
        chosen = select_cohorts(cohorts(log.conn, "caves"), selection)
        assert chosen and all(c.day for c in chosen)
        fast = load_report(log.conn, story, selection, now=dt.datetime(2026, 1, 1))
        exact = load_report(log.conn, story, selection, exact=True, now=dt.datetime(2026, 1, 1))
        assert fast.to_json() == exact.to_json()


def test_forgetting_a_viewer_takes_them_out_of_the_rollups(log: ChoiceLog) -> None:
    playthroughs = scripted.playthroughs()
    write_bulk(log, playthroughs)
    log.forget_viewer("v1")  # p1, whose path p8 shares, and p3
    kept = [p for p in playthroughs if p.viewer != "v1"]
    assert all_days_tally(log) == tally_playthroughs(kept)
    report = load_report(log.conn, scripted.story(), Selection("caves"))
    # p8's path was stored with p1 as its example: its steps are still known.
    assert ("hall", "cave", "treasure") in {p.steps for p in report.paths}
    assert all(p.steps or p.last_node == "" for p in report.paths)
    assert log.conn.execute(
        "SELECT count(*) FROM rollup_viewers WHERE viewer = 'v1'"
    ).fetchone() == (0,)


def random_playthroughs(rng: random.Random, n: int) -> list[Playthrough]:
    """Random walks over the scripted story with loops, rewinds, timeouts, quits and faults."""
    from branching.play.events import ChoiceMade, EndingReached, Failed, NodeEntered, Quit, Rewound

    story = scripted.story()
    out = []
    for i in range(n):
        events: list[Any] = []
        node_id = story.start
        history: list[str] = []
        events.append(NodeEntered(node_id))
        for _ in range(rng.randint(0, 12)):
            node = story.nodes[node_id]
            if node.is_ending:
                events.append(EndingReached(node_id, None, "neutral"))
                break
            roll = rng.random()
            if roll < 0.08:
                events.append(Quit(node_id))
                break
            if roll < 0.1:
                events.append(Failed(node_id, "boom"))
                break
            if roll < 0.2 and history:
                back = rng.randrange(len(history))
                events.append(Rewound(node_id, history[back], back))
                node_id = history[back]
                if rng.random() < 0.5:  # some players record the node again: same visit
                    events.append(NodeEntered(node_id))
                del history[back:]
                continue
            choice = rng.choice(node.choices or [])
            timed = node.timer is not None and rng.random() < 0.3
            ms = None if timed or rng.random() < 0.1 else int(rng.lognormvariate(7.5, 1))
            events.append(ChoiceMade(node_id, choice.key, choice.to, ms, timed))
            history.append(node_id)
            node_id = choice.to
            events.append(NodeEntered(node_id))
        if rng.random() < 0.05:
            events = []
        out.append(
            Playthrough(
                f"r{i}",
                f"viewer{rng.randrange(n // 3 + 1)}",
                events,
                "caves",
                rng.choice(["1", "2", None]),
                "sha256:x",
                rng.choice([None, "A", "B"]),
                f"2026-10-{rng.randint(10, 13)}",
                rng.choice(["live", "simulated", "imported"]),
            )
        )
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_logs_rollups_equal_recomputation(log: ChoiceLog, seed: int) -> None:
    rng = random.Random(seed)
    playthroughs = random_playthroughs(rng, 120)
    half = len(playthroughs) // 2
    write_bulk(log, playthroughs[:half], batch_size=rng.randint(1, 60))
    write_live(log, playthroughs[half:])
    story = scripted.story()
    selections = [
        Selection("caves"),
        Selection("caves", versions=("1", None)),
        Selection("caves", variant="A"),
        Selection("caves", since=dt.date(2026, 10, 11), until=dt.date(2026, 10, 12)),
        Selection("caves", versions=("2",), variant="B", since=dt.date(2026, 10, 12)),
        Selection("caves", origins=("live", "imported")),
        Selection("caves", origins=("simulated",), since=dt.date(2026, 10, 11)),
    ]
    for selection in selections:
        chosen = select_cohorts(cohorts(log.conn, "caves"), selection)
        expected = tally_playthroughs(
            p
            for p in playthroughs
            if selection.matches(p.story_id, p.story_version, p.variant, p.day, p.origin)
        )
        assert read_tally(log.conn, [c.id for c in chosen], top=None) == expected
        fast = load_report(log.conn, story, selection, top=5, now=dt.datetime(2026, 1, 1))
        exact = load_report(
            log.conn, story, selection, top=5, exact=True, now=dt.datetime(2026, 1, 1)
        )
        assert fast.to_json() == exact.to_json()
    before = snapshot(log.conn)
    with log.write_transaction() as conn:
        rebuild_rollups(conn, flush_every=rng.randint(1, 50))
    assert snapshot(log.conn) == before


def test_upgrading_an_older_log_builds_the_rollups_from_its_events(tmp_path: Any) -> None:
    path = tmp_path / "old.db"
    playthroughs = scripted.playthroughs()
    with ChoiceLog.open(path) as log:
        write_bulk(log, playthroughs)
        # Make it a log from before the roll-ups: schema 3, no roll-up tables (and no language,
        # which came later still).
        for table in ROLLUP_TABLES:
            log.conn.execute(f"DROP TABLE {table}")
        log.conn.execute("ALTER TABLE playthroughs DROP COLUMN language")
        log.conn.execute(
            "DELETE FROM _sqlite_migrations "
            "WHERE name IN ('m004_analytics_rollups', 'm006_playthrough_language')"
        )
        log.conn.execute("PRAGMA user_version = 3")
    with ChoiceLog.open(path) as log:
        assert log.migrated_from == 3
        assert all_days_tally(log) == tally_playthroughs(playthroughs)


def test_merging_logs_keeps_the_rollups(tmp_path: Any) -> None:
    from branching.log import merge_into

    playthroughs = random_playthroughs(random.Random(11), 90)
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    # The first log has only the beginning of playthroughs 30-59; the second has all of them,
    # so merging it extends those playthroughs (the merge's "before" path).
    truncated = [
        Playthrough(
            p.playthrough_id,
            p.viewer,
            p.events[: len(p.events) // 2],
            p.story_id,
            p.story_version,
            p.story_hash,
            p.variant,
            p.day,
        )
        for p in playthroughs[30:60]
    ]
    with ChoiceLog.open(first) as log:
        write_bulk(log, playthroughs[:30] + truncated)
    with ChoiceLog.open(second) as log:
        write_bulk(log, playthroughs[30:])
    with ChoiceLog.open(tmp_path / "merged.db") as merged:
        merge_into(merged, first)
        assert merge_into(merged, second).playthroughs_extended > 20
        assert all_days_tally(merged) == tally_playthroughs(playthroughs)
        before = snapshot(merged.conn)
        with merged.write_transaction() as conn:
            rebuild_rollups(conn)
        assert snapshot(merged.conn) == before
