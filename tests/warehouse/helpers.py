"""Logs to export: the analytics tests' scripted playthroughs, plus the cases simulations never
produce (a rewind then the same entry, a playthrough that goes on after an export, one reopened
by a rewind from its ending, no events, no version, odd versions, control characters)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from analytics.report import Selection
from analytics.rollups import cohorts, read_tally
from analytics.source import select_cohorts
from analytics.tally import Playthrough, Tally
from branching.log import ChoiceLog
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    NodeEntered,
    PlaythroughInfo,
    Quit,
    Rewound,
)
from tests.analytics import scripted
from tests.analytics.test_rollups import write_bulk


def ts(day: str, seconds: float = 0) -> float:
    return calendar.timegm(dt.date.fromisoformat(day).timetuple()) + seconds


def info(pid: str, viewer: str, version: str | None = "1", variant: str | None = None) -> Any:
    return PlaythroughInfo(pid, "caves", version, "sha256:test", viewer, variant)


ODD_VERSION = '2.0/β: "x=y" 50%'


def edge_cases(log: ChoiceLog) -> None:
    with log.bulk_writer(origin="live") as w:
        w.write_playthrough(
            info("edge-rewind-enter", "ve1"),
            [
                (ts("2026-11-04", 1), NodeEntered("hall")),
                (ts("2026-11-04", 2), ChoiceMade("hall", "left", "cave", 1500)),
                (ts("2026-11-04", 3), NodeEntered("cave")),
                (ts("2026-11-04", 4), Rewound("cave", "hall", 0)),
                (ts("2026-11-04", 5), NodeEntered("hall")),
                (ts("2026-11-04", 6), ChoiceMade("hall", "right", "river", 99)),
                (ts("2026-11-04", 7), NodeEntered("river")),
                (ts("2026-11-04", 8), Quit("river")),
            ],
            started_at=ts("2026-11-04"),
        )
        w.write_playthrough(
            info("edge-reopen", "ve2"),
            [
                (ts("2026-11-04", 1), NodeEntered("hall")),
                (ts("2026-11-04", 2), ChoiceMade("hall", "left", "cave", 100)),
                (ts("2026-11-04", 3), NodeEntered("cave")),
                (ts("2026-11-04", 4), ChoiceMade("cave", "deeper", "treasure", 100)),
                (ts("2026-11-04", 5), NodeEntered("treasure")),
                (ts("2026-11-04", 6), EndingReached("treasure", "Rich", "good")),
            ],
            started_at=ts("2026-11-04"),
        )
        w.write_playthrough(
            info("edge-grows\x1b[31m", "ve3\x07", variant="A"),
            [
                (ts("2026-11-04", 86399), NodeEntered("hall")),
                (ts("2026-11-05", 5), ChoiceMade("hall", "right", "river", None)),
            ],
            started_at=ts("2026-11-04", 86398),
        )
        w.write_playthrough(
            info("edge-no-version", "ve5", version=None),
            [
                (ts("2026-11-05", 1), NodeEntered("hall")),
                (ts("2026-11-05", 2), ChoiceMade("hall", "left", "cave", 10**9)),
            ],
            started_at=ts("2026-11-05"),
        )
        w.write_playthrough(
            info("edge-odd-version", "ve5", version=ODD_VERSION),
            [(ts("2026-11-05", 1), NodeEntered("hall"))],
            started_at=ts("2026-11-05"),
        )
    with log.bulk_writer(origin="imported") as w:
        w.write_playthrough(
            info("edge-imported", "ve6"),
            [
                (ts("2026-11-06", 1), NodeEntered("hall")),
                (ts("2026-11-06", 2), ChoiceMade("hall", "right", "river", None, timed_out=True)),
                (ts("2026-11-06", 3), NodeEntered("river")),
            ],
            started_at=ts("2026-11-06"),
        )


def grow(log: ChoiceLog) -> None:
    """The open playthrough goes on; the completed one is reopened by a rewind, then quits."""
    with log.bulk_writer(origin="live") as w:
        w.record("edge-grows\x1b[31m", NodeEntered("river"), at=ts("2026-11-05", 10))
        w.record("edge-grows\x1b[31m", Rewound("river", "hall", 0), at=ts("2026-11-05", 11))
        w.record("edge-reopen", Rewound("treasure", "cave", 0), at=ts("2026-11-05", 20))
        w.record("edge-reopen", NodeEntered("cave"), at=ts("2026-11-05", 21))
        w.record("edge-reopen", Quit("cave"), at=ts("2026-11-05", 22))


def scripted_log(log: ChoiceLog, extra: list[Playthrough] | None = None) -> None:
    write_bulk(log, scripted.playthroughs() + (extra or []))
    edge_cases(log)


SELECTIONS = {
    "everything": Selection("caves"),
    "version 1, viewers": Selection("caves", versions=("1",), origins=("live", "imported")),
    "variant A": Selection("caves", variant="A"),
    "dates": Selection("caves", since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 4)),
    "no version": Selection("caves", versions=(None,)),
    "odd version": Selection("caves", versions=(ODD_VERSION, "1")),
    "nothing": Selection("caves", versions=("9",)),
}


def rollup_tally(log: ChoiceLog, selection: Selection, top: int | None = None) -> Tally:
    chosen = select_cohorts(cohorts(log.conn, selection.story_id), selection)
    return read_tally(log.conn, [c.id for c in chosen], top=top) if chosen else Tally()
