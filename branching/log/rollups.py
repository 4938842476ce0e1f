"""Roll-ups: the report's counts, kept current in the same transaction as every event write.

The raw ``events`` table stays the source of truth; these tables only make reports cost the same
at a thousand or ten million events. The choice log's single write path
(:func:`branching.log.writer.write_batch`) calls :func:`update_rollups` with each batch, so the
live recorder (one event per transaction), the bulk writer (the simulator, imports) and
``branching log merge`` all keep them current; :func:`rebuild_rollups` recomputes them from the
raw events (``branching log rebuild-rollups``) and :func:`forget_playthroughs` takes deleted
playthroughs out of them (``branching viewer forget``).

Every count is kept per *cohort*: (story id, story version, story hash, variant, language
the text was shown in (since the log's migration ``m006``), origin (``live``, ``simulated``
or ``imported``), day the playthrough started, UTC). Each count is
written twice, to its day's cohort and to the same cohort with day ``''`` (all days), so a
report without a date filter reads one row per node whatever the age of the log, and a
date-range filter is a SUM over a few day cohorts.

Tables (created by the log's migration ``m004_analytics_rollups``, see :data:`ROLLUP_DDL`):

* ``rollup_cohorts``: the cohorts.
* ``rollup_nodes``: per node, ``reached`` (playthroughs that entered it at least once),
  ``visits``, ``explicit`` picks and ``timeouts`` there, ``rewinds`` away from it, and the
  decision-time histogram ``t0`` .. ``t61`` (see :mod:`analytics.stats`).
* ``rollup_choices``: per (node, choice id, target): explicit picks and timer defaults.
* ``rollup_outcomes``: playthroughs per (status, last node, rewound at least once): a
  playthrough moves from one row to another as its status or last node changes, so drop-offs,
  open playthroughs and endings are read straight from it.
* ``rollup_paths``: playthroughs per (path hash, status, last node), with the path's length and
  an example playthrough to read its steps from (a path only ever grows, so the first
  ``path_len`` steps of the example are the path). ``steps`` holds the steps instead when the
  example was forgotten.
* ``rollup_viewers``: playthroughs per (cohort, viewer), for the distinct-viewer count.
* ``rollup_cohort_totals``: per cohort, the number of rows in ``rollup_viewers`` (distinct
  viewers) and in ``rollup_paths`` (distinct paths with their outcome), kept as rows come and
  go, so a one-cohort report reads them instead of counting.

Rows whose count falls to zero are deleted, so the tables equal a fresh rebuild exactly.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from branching.log import times
from branching.log.encoding import EDGES_MS, NUM_BUCKETS, REWIND_MARK, path_hash
from branching.log.state import EVENT_COLUMNS, PlaythroughStatus

# --- Schema -----------------------------------------------------------------------------------

TIME_COLUMNS = tuple(f"t{i}" for i in range(NUM_BUCKETS))
NODE_COUNTERS = ("reached", "visits", "explicit", "timeouts", "rewinds")

#: The roll-up tables as first created. Frozen: the log's migration runs exactly this; a change
#: needs a new migration (and a rebuild).
ROLLUP_DDL: tuple[str, ...] = (
    """
    CREATE TABLE rollup_cohorts (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL,
        story_version TEXT,
        story_hash TEXT NOT NULL,
        variant TEXT,
        origin TEXT NOT NULL,
        day TEXT NOT NULL
    ) STRICT
    """,
    """
    CREATE UNIQUE INDEX rollup_cohorts_key ON rollup_cohorts (
        story_id, ifnull(story_version, char(0)), story_hash, ifnull(variant, char(0)), origin,
        day
    )
    """,
    """
    CREATE TABLE rollup_nodes (
        cohort INTEGER NOT NULL REFERENCES rollup_cohorts (id),
        node TEXT NOT NULL,
        reached INTEGER NOT NULL DEFAULT 0,
        visits INTEGER NOT NULL DEFAULT 0,
        explicit INTEGER NOT NULL DEFAULT 0,
        timeouts INTEGER NOT NULL DEFAULT 0,
        rewinds INTEGER NOT NULL DEFAULT 0,
        """
    + ",\n        ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in TIME_COLUMNS)
    + """,
        PRIMARY KEY (cohort, node)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE rollup_choices (
        cohort INTEGER NOT NULL REFERENCES rollup_cohorts (id),
        node TEXT NOT NULL,
        choice TEXT NOT NULL,
        target TEXT NOT NULL,
        explicit INTEGER NOT NULL DEFAULT 0,
        timeouts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cohort, node, choice, target)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE rollup_outcomes (
        cohort INTEGER NOT NULL REFERENCES rollup_cohorts (id),
        status TEXT NOT NULL,
        last_node TEXT NOT NULL,
        rewound INTEGER NOT NULL,
        playthroughs INTEGER NOT NULL,
        PRIMARY KEY (cohort, status, last_node, rewound)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE rollup_paths (
        cohort INTEGER NOT NULL REFERENCES rollup_cohorts (id),
        path_hash INTEGER NOT NULL,
        status TEXT NOT NULL,
        last_node TEXT NOT NULL,
        playthroughs INTEGER NOT NULL,
        path_len INTEGER NOT NULL,
        example INTEGER,
        steps TEXT,
        PRIMARY KEY (cohort, path_hash, status, last_node)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE INDEX rollup_paths_popular
        ON rollup_paths (cohort, playthroughs DESC, path_hash, status, last_node)
    """,
    """
    CREATE TABLE rollup_cohort_totals (
        cohort INTEGER PRIMARY KEY REFERENCES rollup_cohorts (id),
        viewers INTEGER NOT NULL DEFAULT 0,
        paths INTEGER NOT NULL DEFAULT 0
    ) STRICT
    """,
    """
    CREATE TABLE rollup_viewers (
        cohort INTEGER NOT NULL REFERENCES rollup_cohorts (id),
        viewer TEXT NOT NULL,
        playthroughs INTEGER NOT NULL,
        PRIMARY KEY (cohort, viewer)
    ) STRICT, WITHOUT ROWID
    """,
)

ROLLUP_TABLES = (
    "rollup_cohort_totals",
    "rollup_nodes",
    "rollup_choices",
    "rollup_outcomes",
    "rollup_paths",
    "rollup_viewers",
    "rollup_cohorts",
)

#: ``rollup_cohorts`` and its key as the migration ``m006_playthrough_language`` leaves them:
#: the language column added last, and in the key.
COHORTS_DDL: tuple[str, ...] = (
    """
    CREATE TABLE rollup_cohorts (
        id INTEGER PRIMARY KEY,
        story_id TEXT NOT NULL,
        story_version TEXT,
        story_hash TEXT NOT NULL,
        variant TEXT,
        origin TEXT NOT NULL,
        day TEXT NOT NULL,
        language TEXT
    ) STRICT
    """,
    """
    CREATE UNIQUE INDEX rollup_cohorts_key ON rollup_cohorts (
        story_id, ifnull(story_version, char(0)), story_hash, ifnull(variant, char(0)),
        ifnull(language, char(0)), origin, day
    )
    """,
)


def current_rollup_ddl() -> list[str]:
    """The roll-up tables as an up-to-date log has them (:data:`ROLLUP_DDL` is the first
    shape, which migration ``m004`` creates and ``m006`` alters)."""
    return [*COHORTS_DDL, *ROLLUP_DDL[len(COHORTS_DDL) :]]


# Positions in an event row as the log stores it (:data:`branching.log.state.EVENT_COLUMNS`).
_SEQ, _KIND, _NODE, _CHOICE, _TARGET, _MS, _TIMED_OUT = (
    EVENT_COLUMNS.index(c)
    for c in ("seq", "kind", "node", "choice", "target", "decision_ms", "timed_out")
)
_TERMINAL: dict[str, PlaythroughStatus] = {"ending": "completed", "quit": "quit", "fail": "failed"}

V = TypeVar("V")

# --- What the write path hands us ---------------------------------------------------------------


class PlaythroughRow(Protocol):
    """The parts of the log's playthrough state the roll-ups read."""

    @property
    def pk(self) -> int | None: ...
    @property
    def story_id(self) -> str: ...
    @property
    def story_version(self) -> str | None: ...
    @property
    def story_hash(self) -> str: ...
    @property
    def variant(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def viewer(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def started_at(self) -> float: ...


class PendingWrite(Protocol):
    """One playthrough's part of a log batch (``branching.log.writer.Pending``)."""

    @property
    def state(self) -> PlaythroughRow: ...
    @property
    def before(self) -> tuple[Any, ...] | None: ...
    @property
    def rows(self) -> list[tuple[Any, ...]]: ...


# --- One playthrough's running state ------------------------------------------------------------

#: (story id, version, hash, variant, language, origin, day)
CohortKey = tuple[str, str | None, str, str | None, str | None, str, str]


@dataclass(slots=True)
class Track:
    """What the roll-ups need to know about a playthrough while its events arrive."""

    status: PlaythroughStatus = "open"
    last: str = ""
    rewound: bool = False
    steps: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    #: The node the last event rewound to (a NodeEntered of it next is the same visit).
    rewound_to: str | None = None

    def outcome_key(self) -> tuple[PlaythroughStatus, str, int]:
        return (self.status, self.last, 1 if self.rewound else 0)

    def path_key(self) -> tuple[int, PlaythroughStatus, str]:
        return (path_hash(self.steps), self.status, self.last)


#: Node counters then the decision-time histogram, as one list per node in :class:`Deltas`.
_WIDTH = len(NODE_COUNTERS) + NUM_BUCKETS
_T0 = len(NODE_COUNTERS)


def _zero_node() -> list[int]:
    return [0] * _WIDTH


class Deltas:
    """Changes to the roll-up tables, summed over a batch before they are written."""

    __slots__ = ("choices", "nodes", "outcomes", "path_info", "paths", "viewers")

    def __init__(self) -> None:
        # cohort key -> node -> [reached, visits, explicit, timeouts, rewinds, t0..t61]
        self.nodes: defaultdict[CohortKey, defaultdict[str, list[int]]] = defaultdict(
            lambda: defaultdict(_zero_node)
        )
        self.choices: defaultdict[CohortKey, defaultdict[tuple[str, str, str], list[int]]] = (
            defaultdict(lambda: defaultdict(lambda: [0, 0]))
        )
        self.outcomes: defaultdict[
            CohortKey, defaultdict[tuple[PlaythroughStatus, str, int], int]
        ] = defaultdict(lambda: defaultdict(int))
        self.paths: defaultdict[CohortKey, defaultdict[tuple[int, PlaythroughStatus, str], int]] = (
            defaultdict(lambda: defaultdict(int))
        )
        # path key -> (length, example playthrough pk): what a new rollup_paths row needs
        self.path_info: dict[tuple[int, PlaythroughStatus, str], tuple[int, int | None]] = {}
        self.viewers: defaultdict[CohortKey, defaultdict[str, int]] = defaultdict(
            lambda: defaultdict(int)
        )

    def count_outcome(
        self, cohort: CohortKey, track: Track, sign: int = 1, example: int | None = None
    ) -> None:
        """Count (``sign`` 1) or take back (-1) a playthrough's outcome and path as ``track``
        has them; ``example`` is the playthrough, to read a newly counted path's steps from."""
        self.outcomes[cohort][track.outcome_key()] += sign
        path = track.path_key()
        self.paths[cohort][path] += sign
        if example is not None:
            self.path_info.setdefault(path, (len(track.steps), example))


def _apply_rows(
    track: Track,
    rows: Iterable[Sequence[Any]],
    deltas: Deltas | None,
    cohort: CohortKey,
    sign: int = 1,
) -> None:
    """Advance ``track`` over event rows, adding what they count to ``deltas`` (if given).

    The hot loop of bulk writes: plain locals, no method calls per event.
    """
    seen = track.seen
    steps = track.steps
    nodes = deltas.nodes[cohort] if deltas is not None else None
    choices = deltas.choices[cohort] if deltas is not None else None
    status, last = track.status, track.last
    rewound_to = track.rewound_to
    for row in rows:
        kind = row[_KIND]
        node = row[_NODE]
        if kind == "enter":
            if node == rewound_to:
                rewound_to = None
                continue
            if nodes is not None:
                counts = nodes[node]
                counts[1] += sign
                if node not in seen:
                    counts[0] += sign
            seen.add(node)
            steps.append(node)
            status, last = "open", node
        elif kind == "choice":
            target = row[_TARGET]
            if nodes is not None and choices is not None:
                counts = nodes[node]
                choice = choices[(node, row[_CHOICE], target)]
                if row[_TIMED_OUT]:
                    counts[3] += sign
                    choice[1] += sign
                else:
                    counts[2] += sign
                    choice[0] += sign
                    ms = row[_MS]
                    if ms is not None:
                        counts[_T0 + bisect_right(EDGES_MS, ms)] += sign
            status, last = "open", target
        elif kind == "rewind":
            if nodes is not None:
                nodes[node][4] += sign
            target = row[_TARGET]
            track.rewound = True
            steps.append(REWIND_MARK + target)
            status, last = "open", target
            rewound_to = target
            continue
        else:
            status, last = _TERMINAL[kind], node
        rewound_to = None
    track.status, track.last = status, last
    track.rewound_to = rewound_to


def utc_day(started_at: float, cache: dict[int, str]) -> str:
    """The UTC day (``YYYY-MM-DD``) of a Unix time; ``cache`` spares formatting the same day
    again across a batch. A time outside the years 1 to 9999 (a broken clock) is counted under
    the first or last day (:func:`branching.log.times.utc_day`), never a crash."""
    return times.utc_day(started_at, cache)


def _cohort_key(
    story_id: str,
    version: str | None,
    story_hash: str,
    variant: str | None,
    language: str | None,
    origin: str,
    started_at: float,
    days: dict[int, str],
) -> CohortKey:
    return (story_id, version, story_hash, variant, language, origin, utc_day(started_at, days))


#: A ``seq`` past any event, to read a playthrough's events with :data:`_PRIOR_ROWS`.
_ALL = 2**62
_PRIOR_ROWS = (
    "SELECT " + ", ".join(EVENT_COLUMNS) + " FROM events WHERE playthrough = ? AND seq < ? "
    "ORDER BY seq"
)


def update_rollups(conn: sqlite3.Connection, batch: Sequence[PendingWrite]) -> None:
    """Bring the roll-ups up to date with ``batch``, already written by the log's write path.

    Runs in the caller's write transaction. New playthroughs (``before is None``) are counted
    from their rows alone; for a playthrough already in the file, its earlier events are read
    back (one indexed range) to know which nodes it had entered and its path so far.
    """
    deltas = Deltas()
    days: dict[int, str] = {}
    for pending in batch:
        state = pending.state
        rows = pending.rows
        if pending.before is not None and not rows:
            continue
        cohort = _cohort_key(
            state.story_id,
            state.story_version,
            state.story_hash,
            state.variant,
            state.language,
            state.origin,
            state.started_at,
            days,
        )
        track = Track()
        if pending.before is not None:
            prior = conn.execute(_PRIOR_ROWS, (state.pk, rows[0][_SEQ])).fetchall()
            _apply_rows(track, prior, None, cohort)
            # Its outcome and path so far are counted already: move them, do not add them.
            deltas.count_outcome(cohort, track, -1)
        else:
            deltas.viewers[cohort][state.viewer] += 1
        _apply_rows(track, rows, deltas, cohort)
        deltas.count_outcome(cohort, track, example=state.pk)
    write_deltas(conn, deltas)


def forget_playthroughs(conn: sqlite3.Connection, pks: Sequence[int]) -> None:
    """Take playthroughs out of the roll-ups, before their rows are deleted.

    Runs in the caller's write transaction. A path that other playthroughs still share but whose
    example is among those forgotten keeps its steps as text, so it can still be shown.
    """
    if not pks:
        return
    deltas = Deltas()
    days: dict[int, str] = {}
    for pk in pks:
        row = conn.execute(
            "SELECT story_id, story_version, story_hash, variant, language, origin, started_at, "
            "viewer FROM playthroughs WHERE pk = ?",
            (pk,),
        ).fetchone()
        if row is None:
            continue
        story_id, version, story_hash, variant, language, origin, started_at, viewer = row
        cohort = _cohort_key(
            story_id, version, story_hash, variant, language, origin, started_at, days
        )
        track = Track()
        _apply_rows(track, conn.execute(_PRIOR_ROWS, (pk, _ALL)).fetchall(), deltas, cohort, -1)
        deltas.count_outcome(cohort, track, -1)
        deltas.viewers[cohort][viewer] -= 1
    write_deltas(conn, deltas)
    forgotten = tuple(set(pks))
    marks = ",".join("?" for _ in forgotten)
    orphans = conn.execute(
        "SELECT cohort, path_hash, status, last_node, path_len, example FROM rollup_paths "
        f"WHERE example IN ({marks}) AND steps IS NULL",
        forgotten,
    ).fetchall()
    for cohort_id, h, status, last, length, example in orphans:
        steps = steps_of(conn, example, length)
        conn.execute(
            "UPDATE rollup_paths SET steps = ?, example = NULL "
            "WHERE cohort = ? AND path_hash = ? AND status = ? AND last_node = ?",
            (encode_steps(steps), cohort_id, h, status, last),
        )


# --- Writing deltas ------------------------------------------------------------------------------


def _cohort_ids(
    conn: sqlite3.Connection, keys: Iterable[CohortKey], *, languages: bool = True
) -> dict[CohortKey, int]:
    """Ids of the cohorts, made when new. ``languages=False`` only while the log's migration
    ``m004`` rebuilds an older log, whose cohorts have no language column yet (``m006`` adds
    it; every language is ``NULL`` then)."""
    found: dict[CohortKey, int] = {}
    for key in keys:
        if key in found:
            continue
        if languages:
            row = conn.execute(
                "SELECT id FROM rollup_cohorts WHERE story_id = ? AND story_version IS ? "
                "AND story_hash = ? AND variant IS ? AND language IS ? AND origin = ? AND day = ?",
                key,
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "INSERT INTO rollup_cohorts "
                    "(story_id, story_version, story_hash, variant, language, origin, day) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    key,
                ).fetchone()
        else:
            legacy = key[:4] + key[5:]
            row = conn.execute(
                "SELECT id FROM rollup_cohorts WHERE story_id = ? AND story_version IS ? "
                "AND story_hash = ? AND variant IS ? AND origin = ? AND day = ?",
                legacy,
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "INSERT INTO rollup_cohorts "
                    "(story_id, story_version, story_hash, variant, origin, day) "
                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    legacy,
                ).fetchone()
        found[key] = int(row[0])
    return found


def _has_language(conn: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` has the language column (the log's schema is at ``m006`` or later)."""
    return any(row[1] == "language" for row in conn.execute(f"PRAGMA table_info({table})"))


def _fan_out(by_cohort: Iterable[CohortKey]) -> Iterator[tuple[CohortKey, CohortKey]]:
    """Each day cohort with its all-days cohort."""
    for key in by_cohort:
        yield key, (key[0], key[1], key[2], key[3], key[4], key[5], "")


def _by_cohort_id(
    ids: dict[CohortKey, int], table: Mapping[CohortKey, V]
) -> Iterator[tuple[int, V]]:
    """Each day cohort's changes, under its own id and again under its all-days cohort's."""
    for day_key, all_key in _fan_out(table):
        yield ids[day_key], table[day_key]
        yield ids[all_key], table[day_key]


def _row_key(cohort_id: int, key: Any) -> tuple[Any, ...]:
    """A table's primary key: the cohort, then the delta's key (a tuple, or one value)."""
    return (cohort_id, *key) if isinstance(key, tuple) else (cohort_id, key)


_NODE_COLUMNS = ("cohort", "node", *NODE_COUNTERS, *TIME_COLUMNS)
_UPSERT_NODE = (
    f"INSERT INTO rollup_nodes ({', '.join(_NODE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _NODE_COLUMNS)}) "
    "ON CONFLICT (cohort, node) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in (*NODE_COUNTERS, *TIME_COLUMNS))
)
# Rows whose counts fall to zero (after forgetting) go, so the tables equal a rebuild.
_DELETE_NODE = (
    "DELETE FROM rollup_nodes WHERE cohort = ? AND node = ? AND reached = 0 AND visits = 0 "
    "AND explicit = 0 AND timeouts = 0 AND rewinds = 0"
)
_DELETE_CHOICE = (
    "DELETE FROM rollup_choices WHERE cohort = ? AND node = ? AND choice = ? AND target = ? "
    "AND explicit = 0 AND timeouts = 0"
)
_UPSERT_CHOICE = (
    "INSERT INTO rollup_choices (cohort, node, choice, target, explicit, timeouts) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (cohort, node, choice, target) DO UPDATE SET "
    "explicit = explicit + excluded.explicit, timeouts = timeouts + excluded.timeouts"
)
_UPSERT_OUTCOME = (
    "INSERT INTO rollup_outcomes (cohort, status, last_node, rewound, playthroughs) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (cohort, status, last_node, rewound) DO UPDATE SET "
    "playthroughs = playthroughs + excluded.playthroughs"
)
_DELETE_OUTCOME = (
    "DELETE FROM rollup_outcomes WHERE cohort = ? AND status = ? AND last_node = ? "
    "AND rewound = ? AND playthroughs = 0"
)
# Paths and viewers are counted rows (add to those there, then insert those missing with their
# count) rather than upserts, so the number of rows added and deleted is known:
# rollup_cohort_totals keeps it.
_ADD_PATH = (
    "INSERT OR IGNORE INTO rollup_paths "
    "(cohort, path_hash, status, last_node, playthroughs, path_len, example) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_COUNT_PATH = (
    "UPDATE rollup_paths SET playthroughs = playthroughs + ? "
    "WHERE cohort = ? AND path_hash = ? AND status = ? AND last_node = ?"
)
_DELETE_PATH = (
    "DELETE FROM rollup_paths WHERE cohort = ? AND path_hash = ? AND status = ? "
    "AND last_node = ? AND playthroughs = 0"
)
_ADD_VIEWER = "INSERT OR IGNORE INTO rollup_viewers (cohort, viewer, playthroughs) VALUES (?, ?, ?)"
_COUNT_VIEWER = (
    "UPDATE rollup_viewers SET playthroughs = playthroughs + ? WHERE cohort = ? AND viewer = ?"
)
_DELETE_VIEWER = "DELETE FROM rollup_viewers WHERE cohort = ? AND viewer = ? AND playthroughs = 0"
_ADD_TOTALS = (
    "INSERT INTO rollup_cohort_totals (cohort, viewers, paths) VALUES (?, ?, ?) "
    "ON CONFLICT (cohort) DO UPDATE SET viewers = viewers + excluded.viewers, "
    "paths = paths + excluded.paths"
)


def write_deltas(conn: sqlite3.Connection, deltas: Deltas, *, languages: bool = True) -> None:
    """Add ``deltas`` to the roll-up tables (inside the caller's transaction)."""
    keys = {
        k
        for table in (deltas.nodes, deltas.choices, deltas.outcomes, deltas.paths, deltas.viewers)
        for pair in _fan_out(table)
        for k in pair
    }
    if not keys:
        return
    ids = _cohort_ids(conn, sorted(keys, key=repr), languages=languages)

    nodes: dict[tuple[int, str], list[int]] = {}
    for cohort_id, changes in _by_cohort_id(ids, deltas.nodes):
        for node, counts in changes.items():
            total = nodes.get((cohort_id, node))
            if total is None:
                nodes[(cohort_id, node)] = list(counts)
            else:
                for i, value in enumerate(counts):
                    if value:
                        total[i] += value
    if nodes:
        conn.executemany(
            _UPSERT_NODE, [(c, n, *counts) for (c, n), counts in nodes.items() if any(counts)]
        )
        shrunk = [key for key, counts in nodes.items() if min(counts) < 0]
        if shrunk:
            conn.executemany(_DELETE_NODE, shrunk)

    choices: defaultdict[tuple[int, str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for cohort_id, choice_changes in _by_cohort_id(ids, deltas.choices):
        for (node, choice, target), (explicit, timeouts) in choice_changes.items():
            total = choices[(cohort_id, node, choice, target)]
            total[0] += explicit
            total[1] += timeouts
    if choices:
        conn.executemany(_UPSERT_CHOICE, [(*k, e, t) for k, (e, t) in choices.items() if e or t])
        shrunk_choices = [k for k, (e, t) in choices.items() if e < 0 or t < 0]
        if shrunk_choices:
            conn.executemany(_DELETE_CHOICE, shrunk_choices)

    outcomes: defaultdict[tuple[Any, ...], int] = defaultdict(int)
    for cohort_id, outcome_changes in _by_cohort_id(ids, deltas.outcomes):
        for key, count in outcome_changes.items():
            outcomes[_row_key(cohort_id, key)] += count
    if any(outcomes.values()):
        conn.executemany(_UPSERT_OUTCOME, [(*k, n) for k, n in outcomes.items() if n])
        emptied = [k for k, n in outcomes.items() if n < 0]
        if emptied:
            conn.executemany(_DELETE_OUTCOME, emptied)

    viewers = _write_counted(conn, ids, deltas.viewers, _ADD_VIEWER, _COUNT_VIEWER, _DELETE_VIEWER)
    paths = _write_counted(
        conn,
        ids,
        deltas.paths,
        _ADD_PATH,
        _COUNT_PATH,
        _DELETE_PATH,
        extra=lambda path: deltas.path_info.get(path, (0, None)),
    )
    totals = [
        (c, viewers.get(c, 0), paths.get(c, 0))
        for c in sorted(viewers.keys() | paths.keys())
        if viewers.get(c) or paths.get(c)
    ]
    if totals:
        conn.executemany(_ADD_TOTALS, totals)


def _write_counted(
    conn: sqlite3.Connection,
    ids: dict[CohortKey, int],
    table: Mapping[CohortKey, Mapping[Any, int]],
    add: str,
    count: str,
    delete: str,
    extra: Callable[[Any], tuple[Any, ...]] | None = None,
) -> dict[int, int]:
    """Apply count changes to a table of one row per distinct thing in a cohort (a viewer, a
    path with its outcome): add the changes to the rows there, insert the missing rows with
    theirs (and the columns ``extra`` gives for the key), delete rows that reach zero. Returns
    each cohort's change in its number of rows."""
    per_cohort: defaultdict[int, defaultdict[Any, int]] = defaultdict(lambda: defaultdict(int))
    for cohort_id, changes in _by_cohort_id(ids, table):
        rows = per_cohort[cohort_id]
        for key, n in changes.items():
            rows[key] += n
    grown: dict[int, int] = {}
    for cohort_id, rows in per_cohort.items():
        counted = {_row_key(cohort_id, key): (key, n) for key, n in rows.items() if n}
        if not counted:
            continue
        # Adding first, then inserting with the count, writes a new row once (not inserted at
        # zero, then updated, which also moved it in rollup_paths_popular).
        conn.executemany(count, [(n, *row) for row, (_, n) in counted.items()])
        growing = [
            (*row, n, *(extra(key) if extra else ())) for row, (key, n) in counted.items() if n > 0
        ]
        added = conn.executemany(add, growing).rowcount if growing else 0
        shrinking = [row for row, (_, n) in counted.items() if n < 0]
        deleted = conn.executemany(delete, shrinking).rowcount if shrinking else 0
        grown[cohort_id] = max(added, 0) - max(deleted, 0)
    return grown


# --- Reading a path's steps back -------------------------------------------------------------


def encode_steps(steps: Sequence[str]) -> str:
    """Steps as stored in ``rollup_paths.steps`` (node ids never contain a newline)."""
    return "\n".join(steps)


def steps_of(conn: sqlite3.Connection, playthrough: int | None, length: int) -> list[str]:
    """The first ``length`` steps of a playthrough's path, from its raw events."""
    if playthrough is None:
        return []
    track = Track()
    _apply_rows(
        track,
        conn.execute(_PRIOR_ROWS, (playthrough, _ALL)),
        None,
        ("", None, "", None, None, "", ""),
    )
    return track.steps[:length]


# --- Rebuilding -----------------------------------------------------------------------------------


_CREATED = re.compile(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+(\w+)", re.IGNORECASE)


def derived_ddl() -> list[str]:
    """The statements that create every table the log derives from its events, and only
    those: the report roll-ups (:func:`current_rollup_ddl`) and the experiments' units and
    counts.
    Never ``exposures``, which holds recorded data (:mod:`branching.log.exposures`)."""
    from branching.log.exposures import EXPERIMENT_DDL

    derived = ("rollup_experiments", "experiment_units")
    return [
        *current_rollup_ddl(),
        *(s for s in EXPERIMENT_DDL if any(name in _object(s) for name in derived)),
    ]


def _object(statement: str) -> str:
    found = _CREATED.search(statement)
    assert found is not None, statement
    return found.group(1)


def _shape(
    conn: sqlite3.Connection, names: Iterable[str]
) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """Each named table's or index's type and columns as ``conn`` has them."""
    wanted = list(names)
    marks = ", ".join("?" for _ in wanted)
    found: dict[str, tuple[str, list[tuple[Any, ...]]]] = {}
    for kind, name in conn.execute(
        f"SELECT type, name FROM sqlite_master WHERE name IN ({marks})", wanted
    ).fetchall():
        if kind == "table":
            columns = [c[1:] for c in conn.execute(f'PRAGMA table_info("{name}")').fetchall()]
        elif kind == "index":
            columns = conn.execute(f'PRAGMA index_info("{name}")').fetchall()
        else:
            columns = []
        found[name] = (kind, columns)
    return found


@functools.cache
def _shapes(statements: tuple[str, ...]) -> dict[str, tuple[str, list[tuple[Any, ...]]]]:
    """The shape of every table and index ``statements`` create, as SQLite reports it."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute("CREATE TABLE playthroughs (pk INTEGER PRIMARY KEY)")  # a parent
        for statement in statements:
            scratch.execute(statement)
        return _shape(scratch, (_object(s) for s in statements))
    finally:
        scratch.close()


def _problems(conn: sqlite3.Connection, statements: Sequence[str]) -> list[str]:
    """What differs between the tables and indexes ``statements`` create and ``conn``'s."""
    expected = _shapes(tuple(statements))
    names = [_object(s) for s in statements]
    have = _shape(conn, names)
    problems = []
    for name in names:
        kind, columns = expected[name]
        if name not in have:
            problems.append(f"the roll-up {kind} {name} is missing")
        elif have[name][0] != kind:
            problems.append(f"{name} is a {have[name][0]}, not a {kind}")
        elif have[name][1] != columns:
            what = "columns" if kind == "table" else "indexed columns"
            problems.append(f"the roll-up {kind} {name} has other {what} than branching writes")
    return problems


def rollup_problems(conn: sqlite3.Connection) -> list[str]:
    """What is wrong with the structure of the tables the log derives from its events (empty
    when each one is there with the columns this code writes): a table dropped, replaced or
    altered by hand, which :func:`repair_structure` repairs."""
    return _problems(conn, derived_ddl())


def repair_structure(conn: sqlite3.Connection) -> list[str]:
    """Create afresh, empty, every derived table whose structure is wrong (and the others, so
    references stay whole); returns what was wrong. Run it in a write transaction before
    rebuilding the roll-ups and the experiments' counts."""
    problems = rollup_problems(conn)
    if problems:
        _recreate(conn, derived_ddl())
    return problems


def _recreate(conn: sqlite3.Connection, statements: Sequence[str]) -> None:
    """Drop the tables and indexes ``statements`` create (whatever they became) and create
    them afresh."""
    names = [_object(s) for s in statements]
    kinds = dict(
        conn.execute(
            f"SELECT name, type FROM sqlite_master WHERE name IN ({', '.join('?' for _ in names)})",
            names,
        ).fetchall()
    )
    # Tables that refer to rollup_cohorts go first, so no reference outlives its row.
    for name in sorted(names, key=lambda n: n == "rollup_cohorts"):
        kind = kinds.get(name)
        if kind in ("table", "view", "index", "trigger"):
            conn.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
    for statement in statements:
        conn.execute(statement)


def rebuild_rollups(conn: sqlite3.Connection, *, flush_every: int = 20_000) -> int:
    """Recompute every roll-up from the raw events; return the number of playthroughs read.

    Runs in the caller's write transaction (the result replaces the tables atomically). Tables
    that are missing or not as this code creates them (:func:`rollup_problems`) are created
    afresh first. Reads the events in file order, one playthrough at a time, and writes summed
    changes every ``flush_every`` playthroughs so memory stays bounded on big logs.
    """
    # Migration m004 rebuilds a log whose playthroughs have no language yet (m006 adds it).
    languages = _has_language(conn, "playthroughs")
    ddl = current_rollup_ddl() if languages else list(ROLLUP_DDL)
    if _problems(conn, ddl):
        _recreate(conn, ddl)
    else:
        for table in ROLLUP_TABLES:
            conn.execute(f"DELETE FROM {table}")
    deltas = Deltas()
    days: dict[int, str] = {}
    playthroughs = conn.execute(
        "SELECT pk, story_id, story_version, story_hash, variant, "
        + ("language" if languages else "NULL")
        + ", origin, started_at, viewer FROM playthroughs ORDER BY pk"
    )
    events = conn.cursor().execute(
        "SELECT playthrough, " + ", ".join(EVENT_COLUMNS) + " FROM events ORDER BY playthrough, seq"
    )
    pending_event = next(events, None)
    count = 0
    for row in playthroughs:
        pk, story_id, version, story_hash, variant, language, origin, started_at, viewer = row
        rows = []
        # Both queries run in pk order: skip the events of playthroughs no longer in the file.
        while pending_event is not None and pending_event[0] <= pk:
            if pending_event[0] == pk:
                rows.append(pending_event[1:])
            pending_event = next(events, None)
        cohort = _cohort_key(
            story_id, version, story_hash, variant, language, origin, started_at, days
        )
        track = Track()
        _apply_rows(track, rows, deltas, cohort)
        deltas.viewers[cohort][viewer] += 1
        deltas.count_outcome(cohort, track, example=pk)
        count += 1
        if count % flush_every == 0:
            write_deltas(conn, deltas, languages=languages)
            deltas = Deltas()
    write_deltas(conn, deltas, languages=languages)
    return count


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up row, with cohort ids replaced by their keys, sorted: two logs' roll-ups are
    equal when their snapshots are. A path's example playthrough is left out (any playthrough
    with the path will do)."""
    keys = {
        r[0]: tuple(r[1:])
        for r in conn.execute(
            "SELECT id, story_id, story_version, story_hash, variant, language, origin, day "
            "FROM rollup_cohorts"
        )
    }
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in ROLLUP_TABLES:
        if table == "rollup_cohorts":
            continue
        columns = "cohort, path_hash, status, last_node, playthroughs, path_len"
        sql = (
            f"SELECT {columns} FROM {table}"
            if table == "rollup_paths"
            else f"SELECT * FROM {table}"
        )
        rows = [(keys[r[0]], *r[1:]) for r in conn.execute(sql)]
        out[table] = sorted(rows, key=repr)
    return out


def differences(
    before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> dict[str, int]:
    """Rows in one snapshot and not the other, per table (empty when they are equal)."""
    found = {}
    for table in before.keys() | after.keys():
        old, new = set(before.get(table, [])), set(after.get(table, []))
        if old != new:
            found[table] = len(old ^ new)
    return found


def touch(conn: sqlite3.Connection) -> None:
    """Read the right-hand edge of every roll-up table (a few pages, whatever the size), so a
    truncated file is found when the log is opened rather than in the middle of a report (the
    log's open calls it)."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE 'rollup%' AND type = 'table'"
        )
    }
    for table in ROLLUP_TABLES:
        if table in present:
            conn.execute(f"SELECT max(rowid) FROM {table}" if table == "rollup_cohorts"
                         else f"SELECT max(cohort) FROM {table}").fetchone()  # fmt: skip
