"""Runs to an ending, per viewer: the co-occurrence of choices and endings that suggestions use.

A **run** is a way to an ending: each time a playthrough reaches an ending, the choices on its
route at that moment (rewound choices cut out, timer defaults included) and the ending it
reached. A playthrough that goes back from its ending and reaches another one has two runs.
Runs only ever get added (an ending is never taken back), except when a viewer is forgotten.

Table (created by the log's migration ``m007_audience``, :data:`RUNS_DDL`):

* ``rollup_runs``: one row per run, clustered by story: the playthrough and ``seq`` of its
  ending event, origin, viewer, ending, and the route's choices (``node<TAB>choice`` lines).
  Read by ``branching suggest`` and the players' suggestions (:mod:`analytics.suggest`), which
  weigh viewers by how alike their endings and choices are, so runs are kept per viewer (and
  go with ``branching viewer forget``). Insert-only: a bulk write of a million playthroughs
  adds one row per ending reached, nothing to update.

Kept current in the log's write transaction (:func:`update_runs`);
:func:`rebuild_runs` recomputes it from the raw events. Suggestions read the most recent
:data:`MAX_RUNS` runs of a story, so an ending screen stays quick however big the log.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from branching.log.state import EVENT_COLUMNS

if TYPE_CHECKING:
    from branching.log.writer import Pending

RUNS_DDL: tuple[str, ...] = (
    """
    CREATE TABLE rollup_runs (
        story_id TEXT NOT NULL,
        playthrough INTEGER NOT NULL REFERENCES playthroughs (pk),
        seq INTEGER NOT NULL,
        origin TEXT NOT NULL,
        viewer TEXT NOT NULL,
        ending TEXT NOT NULL,
        route TEXT NOT NULL,
        PRIMARY KEY (story_id, playthrough, seq)
    ) STRICT, WITHOUT ROWID
    """,
    "CREATE INDEX rollup_runs_by_playthrough ON rollup_runs (playthrough)",
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
    #: When the ending was reached (Unix seconds), and its event's ``seq``.
    at: float
    seq: int = 0


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
                yield Run(str(row[_NODE]), tuple(route), float(row[_AT]), int(row[_SEQ]))


def run_facts(run: Run) -> Iterator[tuple[str, str, str]]:
    """The (ending, node, choice) rows one run counts in (``''`` for the run itself); a choice
    taken twice on one route (a loop) counts once."""
    yield (run.ending, "", "")
    for node, choice in dict.fromkeys(run.route):
        yield (run.ending, node, choice)


_INSERT = (
    "INSERT OR REPLACE INTO rollup_runs "
    "(story_id, playthrough, seq, origin, viewer, ending, route) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: Suggestions read at most this many runs of a story, the most recent first: thousands of
#: viewers to weigh, and an ending screen that waits well under a second (docs/suggestions.md).
MAX_RUNS = 10_000


def encode_route(route: Route) -> str:
    """``node<TAB>choice`` lines (story ids hold neither tabs nor newlines).

    >>> decode_route(encode_route((("a", "left"), ("b", "jump"))))
    (('a', 'left'), ('b', 'jump'))
    """
    return "\n".join(map("\t".join, route))


def decode_route(text: str) -> Route:
    pairs = (line.split("\t") for line in text.split("\n") if line)
    return tuple((p[0], p[1]) for p in pairs if len(p) == 2)


def _rows(story_id: str, pk: int, origin: str, viewer: str, runs: Iterable[Run]) -> list[Any]:
    return [
        (story_id, pk, run.seq, origin, viewer, run.ending, encode_route(run.route)) for run in runs
    ]


def update_runs(conn: sqlite3.Connection, batch: Sequence[Pending]) -> None:
    """Add the runs that ``batch`` completes (in the caller's write transaction). Only a
    playthrough with an ending in the batch costs anything; one already in the file has its
    earlier events read back (one indexed range) to know its route."""
    new: list[Any] = []
    for pending in batch:
        rows = pending.rows
        if not any(row[_KIND] == "ending" for row in rows):
            continue
        state = pending.state
        assert state.pk is not None
        tracker = RouteTracker()
        if pending.before is not None:
            for _ in tracker.follow(conn.execute(_ROWS, (state.pk, rows[0][_SEQ]))):
                pass
        new += _rows(state.story_id, state.pk, state.origin, state.viewer, tracker.follow(rows))
    if new:
        conn.executemany(_INSERT, new)


def runs_of(conn: sqlite3.Connection, pk: int) -> list[Run]:
    """A stored playthrough's runs, from its raw events."""
    return list(RouteTracker().follow(conn.execute(_ROWS, (pk, _ALL))))


def forget_runs(conn: sqlite3.Connection, pks: Sequence[int]) -> None:
    """Take playthroughs' runs out of the table (before their rows are deleted)."""
    gone = tuple(set(pks))
    if gone:
        marks = ",".join("?" for _ in gone)
        conn.execute(f"DELETE FROM rollup_runs WHERE playthrough IN ({marks})", gone)


@dataclass(frozen=True, slots=True)
class ViewerRuns:
    """One playthrough's runs, with who played it and when it started (for evaluation)."""

    viewer: str
    origin: str
    playthrough: str
    started_at: float
    runs: tuple[Run, ...]
    pk: int = 0


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
            pk, sid, viewer, origin, public, started = head
            yield str(sid), ViewerRuns(viewer, origin, public, float(started), tuple(runs), pk)

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
    total = 0
    for story_id, played in story_playthrough_runs(conn):
        conn.executemany(
            _INSERT, _rows(story_id, played.pk, played.origin, played.viewer, played.runs)
        )
        total += len(played.runs)
    return total


def runs_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The runs with playthroughs by public id (two logs compare equal whatever their row
    numbers), sorted."""
    rows = conn.execute(
        "SELECT r.story_id, p.id, r.seq, r.origin, r.viewer, r.ending, r.route "
        "FROM rollup_runs r JOIN playthroughs p ON p.pk = r.playthrough"
    ).fetchall()
    return {"rollup_runs": sorted(rows, key=repr)}


#: One row of :func:`story_runs`: (viewer, ending, node, choice, runs); node and choice ``''``
#: count the viewer's runs to the ending.
RunRow = tuple[str, str, str, str, int]


def story_runs(
    conn: sqlite3.Connection,
    story_id: str,
    origins: Iterable[str] | None = None,
    *,
    limit: int = MAX_RUNS,
) -> list[RunRow]:
    """Every viewer's runs of ``story_id`` (the latest ``limit``, of ``origins``, default all),
    counted per (viewer, ending, node, choice), for :mod:`analytics.suggest` (in no particular
    order)."""
    wanted = None if origins is None else set(origins)
    found: Counter[tuple[str, str, str, str]] = Counter()
    # run_facts() over decode_route(), inlined: an ending screen reads thousands of runs.
    for origin, viewer, ending, route in conn.execute(
        "SELECT origin, viewer, ending, route FROM rollup_runs WHERE story_id = ? "
        "ORDER BY playthrough DESC, seq DESC LIMIT ?",
        (story_id, limit),
    ):
        if wanted is not None and origin not in wanted:
            continue
        found[(viewer, ending, "", "")] += 1
        for line in dict.fromkeys(route.split("\n")):  # a choice taken twice counts once
            node, tab, choice = line.partition("\t")
            if tab:
                found[(viewer, ending, node, choice)] += 1
    return [(*key, n) for key, n in found.items()]
