"""Runs to an ending, per viewer: the co-occurrence of choices and endings that suggestions use.

A **run** is a way to an ending: each time a playthrough reaches an ending, the choices on its
route at that moment (rewound choices cut out, timer defaults included) and the ending it
reached. A playthrough that goes back from its ending and reaches another one has two runs.
Runs only ever get added (an ending is never taken back), except when a viewer is forgotten.

Table (created by the log's migration ``m006_audience``, :data:`RUNS_DDL`):

* ``rollup_runs``: per (story, origin, viewer, ending, node, choice), the number of the
  viewer's runs to that ending that took that choice at that node; the row with node and
  choice ``''`` counts the viewer's runs to the ending. Read by ``branching suggest`` and
  the players' suggestions (:mod:`analytics.suggest`), which weigh viewers by how alike their
  endings are, so the table is kept per viewer (and goes with ``branching viewer forget``).

Kept current in the log's write transaction (:func:`update_runs`);
:func:`rebuild_runs` recomputes it from the raw events.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from branching.log.state import EVENT_COLUMNS, EventRow

RUNS_DDL: tuple[str, ...] = (
    """
    CREATE TABLE rollup_runs (
        story_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        viewer TEXT NOT NULL,
        ending TEXT NOT NULL,
        node TEXT NOT NULL,
        choice TEXT NOT NULL,
        runs INTEGER NOT NULL,
        PRIMARY KEY (story_id, origin, viewer, ending, node, choice)
    ) STRICT, WITHOUT ROWID
    """,
)
RUNS_TABLES = ("rollup_runs",)

_SEQ, _AT, _KIND, _NODE, _CHOICE, _TARGET, _STEP = (
    EVENT_COLUMNS.index(c) for c in ("seq", "at", "kind", "node", "choice", "target", "step")
)
_ROWS = (
    "SELECT " + ", ".join(EVENT_COLUMNS) + " FROM events WHERE playthrough = ? AND seq < ? "
    "ORDER BY seq"
)
_ALL = 2**62

#: The choices on a route: (node, choice) in order.
Route = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Run:
    """One way to an ending: the route's choices and the ending reached."""

    ending: str
    route: Route
    #: When the ending was reached (Unix seconds).
    at: float


class RouteTracker:
    """Follows a playthrough's route of choices as its events go by, and lists its runs.

    >>> t = RouteTracker()
    >>> rows = [(0, 0.0, "enter", "a", None, None, None, None, None, None, None),
    ...         (1, 1.0, "choice", "a", "left", "b", 900, 0, None, None, None),
    ...         (2, 2.0, "enter", "b", None, None, None, None, None, None, None),
    ...         (3, 3.0, "choice", "b", "jump", "end1", 900, 0, None, None, None),
    ...         (4, 3.0, "enter", "end1", None, None, None, None, None, None, None),
    ...         (5, 3.0, "ending", "end1", None, None, None, None, None, None, "good"),
    ...         (6, 4.0, "rewind", "end1", None, "b", None, None, 1, None, None),
    ...         (7, 5.0, "choice", "b", "wait", "end2", 900, 0, None, None, None)]
    >>> [(r.ending, r.route) for r in t.follow(rows)]
    [('end1', (('a', 'left'), ('b', 'jump')))]
    >>> t.route
    [('a', 'left'), ('b', 'wait')]
    """

    def __init__(self) -> None:
        self.route: list[tuple[str, str]] = []

    def follow(self, rows: Iterable[Sequence[Any]]) -> Iterator[Run]:
        route = self.route
        for row in rows:
            kind = row[_KIND]
            if kind == "choice":
                route.append((str(row[_NODE]), str(row[_CHOICE])))
            elif kind == "rewind":
                # The engine keeps the choice points before ``step`` and asks again at it.
                to, step = row[_TARGET], row[_STEP]
                if step is not None and 0 <= step < len(route) and route[step][0] == to:
                    del route[step:]
                else:
                    for i in range(len(route) - 1, -1, -1):
                        if route[i][0] == to:
                            del route[i:]
                            break
            elif kind == "ending":
                yield Run(str(row[_NODE]), tuple(route), float(row[_AT]))


def run_facts(run: Run) -> Iterator[tuple[str, str, str]]:
    """The (ending, node, choice) rows one run counts in (``''`` for the run itself); a choice
    taken twice on one route (a loop) counts once."""
    yield (run.ending, "", "")
    for node, choice in dict.fromkeys(run.route):
        yield (run.ending, node, choice)


class PlaythroughWho(Protocol):
    @property
    def pk(self) -> int | None: ...
    @property
    def story_id(self) -> str: ...
    @property
    def viewer(self) -> str: ...
    @property
    def origin(self) -> str: ...


class PendingRows(Protocol):
    @property
    def state(self) -> PlaythroughWho: ...
    @property
    def before(self) -> tuple[Any, ...] | None: ...
    @property
    def rows(self) -> list[EventRow]: ...


_UPSERT = (
    "INSERT INTO rollup_runs (story_id, origin, viewer, ending, node, choice, runs) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (story_id, origin, viewer, ending, node, choice) "
    "DO UPDATE SET runs = runs + excluded.runs"
)
_DELETE_EMPTY = (
    "DELETE FROM rollup_runs WHERE story_id = ? AND origin = ? AND viewer = ? AND ending = ? "
    "AND node = ? AND choice = ? AND runs = 0"
)

CountKey = tuple[str, str, str, str, str, str]


def _add(counts: Counter[CountKey], who: tuple[str, str, str], runs: Iterable[Run], n: int) -> None:
    for run in runs:
        for fact in run_facts(run):
            counts[(*who, *fact)] += n


def _write(conn: sqlite3.Connection, counts: Counter[CountKey]) -> None:
    changes = [(*key, n) for key, n in counts.items() if n]
    if changes:
        conn.executemany(_UPSERT, changes)
        shrunk = [key for key, n in counts.items() if n < 0]
        if shrunk:  # rows that reach zero go, so the table equals a rebuild
            conn.executemany(_DELETE_EMPTY, shrunk)


def update_runs(conn: sqlite3.Connection, batch: Sequence[PendingRows]) -> None:
    """Count the runs that ``batch`` completes (in the caller's write transaction). Only a
    batch with an ending in it costs anything; a playthrough already in the file has its
    earlier events read back (one indexed range) to know its route."""
    counts: Counter[CountKey] = Counter()
    for pending in batch:
        rows = pending.rows
        if not any(row[_KIND] == "ending" for row in rows):
            continue
        state = pending.state
        tracker = RouteTracker()
        if pending.before is not None:
            for _ in tracker.follow(conn.execute(_ROWS, (state.pk, rows[0][_SEQ]))):
                pass
        _add(counts, (state.story_id, state.origin, state.viewer), tracker.follow(rows), 1)
    _write(conn, counts)


def runs_of(conn: sqlite3.Connection, pk: int) -> list[Run]:
    """A stored playthrough's runs, from its raw events."""
    return list(RouteTracker().follow(conn.execute(_ROWS, (pk, _ALL))))


def forget_runs(conn: sqlite3.Connection, pks: Sequence[int]) -> None:
    """Take playthroughs' runs out of the table, before their rows are deleted."""
    counts: Counter[CountKey] = Counter()
    for pk in set(pks):
        row = conn.execute(
            "SELECT story_id, origin, viewer FROM playthroughs WHERE pk = ?", (pk,)
        ).fetchone()
        if row is not None:
            _add(counts, tuple(row), runs_of(conn, pk), -1)
    _write(conn, counts)


@dataclass(frozen=True, slots=True)
class ViewerRuns:
    """One playthrough's runs, with who played it and when it started (for evaluation)."""

    viewer: str
    origin: str
    playthrough: str
    started_at: float
    runs: tuple[Run, ...]


def story_playthrough_runs(
    conn: sqlite3.Connection, story_id: str | None = None
) -> Iterator[tuple[str, ViewerRuns]]:
    """Every playthrough with at least one run (of ``story_id``, or of every story), read from
    the raw events in one pass, as (story id, runs)."""
    where = "" if story_id is None else "WHERE p.story_id = ?"
    params: tuple[str, ...] = () if story_id is None else (story_id,)
    cursor = conn.execute(
        "SELECT p.pk, p.story_id, p.viewer, p.origin, p.id, p.started_at, "
        + ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        + f" FROM playthroughs p JOIN events e ON e.playthrough = p.pk {where} "
        "ORDER BY p.pk, e.seq",
        params,
    )
    current: int | None = None
    head: tuple[Any, ...] = ()
    tracker = RouteTracker()
    runs: list[Run] = []

    def done() -> Iterator[tuple[str, ViewerRuns]]:
        if runs:
            _pk, sid, viewer, origin, public, started = head
            yield str(sid), ViewerRuns(viewer, origin, public, float(started), tuple(runs))

    for row in cursor:
        if row[0] != current:
            yield from done()
            current, head, tracker, runs = row[0], row[:6], RouteTracker(), []
        runs.extend(tracker.follow((row[6:],)))
    yield from done()


def rebuild_runs(conn: sqlite3.Connection) -> int:
    """Recompute ``rollup_runs`` from the raw events (in the caller's transaction); return the
    number of runs."""
    conn.execute("DELETE FROM rollup_runs")
    counts: Counter[CountKey] = Counter()
    total = 0
    for story_id, played in story_playthrough_runs(conn):
        _add(counts, (story_id, played.origin, played.viewer), played.runs, 1)
        total += len(played.runs)
    _write(conn, counts)
    return total


def runs_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {"rollup_runs": sorted(conn.execute("SELECT * FROM rollup_runs").fetchall(), key=repr)}


#: One row of :func:`story_runs`: (viewer, ending, node, choice, runs).
RunRow = tuple[str, str, str, str, int]


def story_runs(
    conn: sqlite3.Connection, story_id: str, origins: Iterable[str] | None = None
) -> list[RunRow]:
    """Every viewer's runs of ``story_id`` as counted rows (summed over ``origins``, default
    all), for :mod:`analytics.suggest`."""
    wanted = None if origins is None else set(origins)
    found: Counter[tuple[str, str, str, str]] = Counter()
    for origin, viewer, ending, node, choice, runs in conn.execute(
        "SELECT origin, viewer, ending, node, choice, runs FROM rollup_runs WHERE story_id = ?",
        (story_id,),
    ):
        if wanted is None or origin in wanted:
            found[(viewer, ending, node, choice)] += int(runs)
    return [(*key, n) for key, n in sorted(found.items())]
