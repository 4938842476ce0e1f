"""Experiment exposures, and the per-arm counts the experiment report reads.

A playthrough is *exposed* to an experiment when it first enters a node whose text or choices
the experiment's arms change; the engine then records ``Exposed`` and the log keeps one row per
(playthrough, experiment) in ``exposures``. The experiment report counts **viewers**, the unit
of assignment, each through their **first exposed playthrough**: several playthroughs of one
viewer are not independent. Kept current in the log's write transaction, like the other
roll-ups (:mod:`branching.log.rollups`), so a report on a million playthroughs reads a few
hundred rows.

Tables (migration ``m005_experiments``, :data:`EXPERIMENT_DDL`):

* ``exposures``: (playthrough, experiment) -> arm, node, ``seq`` of the ``NodeEntered`` that
  exposed it, time.
* ``experiment_units``: one row per (story, origin, experiment, viewer): the viewer's arm and
  their first exposed playthrough (earliest exposure; ties broken by playthrough id, so every
  merge order gives the same unit).
* ``rollup_experiments``: viewers per (story, origin, experiment, arm, metric, node, key), over
  each unit's playthrough from its exposure on:

  ======== ======= ============ =====================================================
  metric   node    key          counts the units whose playthrough...
  ======== ======= ============ =====================================================
  exposed  ''      ''           (all units)
  outcome  ''      status       is now ``completed``, ``quit``, ``failed`` or ``open``
  ending   ''      ending id    completed at that ending
  choice   node    choice id    first chose that choice at that node after exposure
                                (explicit or timer default)
  timeout  node    ''           ... and that first choice was the timer's default
  time     node    bucket       ... explicit, with its decision time in that bucket
                                (:mod:`branching.log.encoding`)
  ======== ======= ============ =====================================================

Counts follow a unit's playthrough as it goes on (a status moves from ``open`` to
``completed``), move when an earlier exposure of the same viewer arrives by ``log merge``,
and go when a viewer is forgotten; :func:`rebuild_experiments` recomputes them from
``exposures`` and the events.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from branching.log.encoding import time_bucket
from branching.log.state import EVENT_COLUMNS

if TYPE_CHECKING:
    from branching.log.writer import Pending

EXPERIMENT_DDL: tuple[str, ...] = (
    """
    CREATE TABLE exposures (
        playthrough INTEGER NOT NULL REFERENCES playthroughs (pk),
        experiment TEXT NOT NULL,
        arm TEXT NOT NULL,
        node TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (playthrough, experiment)
    ) STRICT, WITHOUT ROWID
    """,
    """
    CREATE TABLE experiment_units (
        story_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        experiment TEXT NOT NULL,
        viewer TEXT NOT NULL,
        arm TEXT NOT NULL,
        playthrough INTEGER NOT NULL REFERENCES playthroughs (pk),
        exposed_at REAL NOT NULL,
        PRIMARY KEY (story_id, origin, experiment, viewer)
    ) STRICT, WITHOUT ROWID
    """,
    "CREATE INDEX experiment_units_by_playthrough ON experiment_units (playthrough)",
    """
    CREATE TABLE rollup_experiments (
        story_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        experiment TEXT NOT NULL,
        arm TEXT NOT NULL,
        metric TEXT NOT NULL,
        node TEXT NOT NULL,
        key TEXT NOT NULL,
        viewers INTEGER NOT NULL,
        PRIMARY KEY (story_id, origin, experiment, arm, metric, node, key)
    ) STRICT, WITHOUT ROWID
    """,
)
EXPERIMENT_TABLES = ("rollup_experiments", "experiment_units", "exposures")

#: (metric, node, key)
FactKey = tuple[str, str, str]

_KIND, _NODE, _CHOICE, _MS, _TIMED_OUT = (
    EVENT_COLUMNS.index(c) for c in ("kind", "node", "choice", "decision_ms", "timed_out")
)
_SEQ = EVENT_COLUMNS.index("seq")
_ROWS_FROM = (
    "SELECT " + ", ".join(EVENT_COLUMNS) + " FROM events WHERE playthrough = ? AND seq >= ? "
    "ORDER BY seq"
)


def unit_facts(status: str, ending: str | None, rows: Iterable[Sequence[Any]]) -> Counter[FactKey]:
    """What one unit counts for, from its playthrough's status and its events since exposure.

    >>> rows = [(3, 0.0, "enter", "cliff", None, None, None, None, None, None, None),
    ...         (4, 1.0, "choice", "cliff", "jump", "sea", 2500, 0, None, None, None),
    ...         (5, 2.0, "rewind", "sea", None, "cliff", 0, None, None, None, None),
    ...         (6, 3.0, "choice", "cliff", "walk", "path", 900, 0, None, None, None)]
    >>> sorted(unit_facts("completed", "path", rows))  # doctest: +NORMALIZE_WHITESPACE
    [('choice', 'cliff', 'jump'), ('ending', '', 'path'), ('exposed', '', ''),
     ('outcome', '', 'completed'), ('time', 'cliff', '19')]
    """
    facts: Counter[FactKey] = Counter({("exposed", "", ""): 1, ("outcome", "", status): 1})
    if status == "completed" and ending is not None:
        facts[("ending", "", ending)] = 1
    chosen: set[str] = set()
    for row in rows:
        if row[_KIND] != "choice":
            continue
        node = row[_NODE]
        if node in chosen:
            continue  # only the first decision at a node counts (a rewind may change it)
        chosen.add(node)
        facts[("choice", node, str(row[_CHOICE]))] = 1
        if row[_TIMED_OUT]:
            facts[("timeout", node, "")] = 1
        elif row[_MS] is not None:
            facts[("time", node, str(time_bucket(int(row[_MS]))))] = 1
    return facts


@dataclass(frozen=True, slots=True)
class _Unit:
    story_id: str
    origin: str
    experiment: str
    viewer: str
    arm: str
    playthrough: int
    exposed_at: float


_UNIT_COLUMNS = "story_id, origin, experiment, viewer, arm, playthrough, exposed_at"
_INSERT_UNIT = f"INSERT INTO experiment_units ({_UNIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_EXPOSURE = (
    "INSERT OR IGNORE INTO exposures (playthrough, experiment, arm, node, seq, at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_UPSERT_COUNT = (
    "INSERT INTO rollup_experiments "
    "(story_id, origin, experiment, arm, metric, node, key, viewers) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (story_id, origin, experiment, arm, metric, node, key) "
    "DO UPDATE SET viewers = viewers + excluded.viewers"
)
_DELETE_EMPTY = (
    "DELETE FROM rollup_experiments WHERE story_id = ? AND origin = ? AND experiment = ? "
    "AND arm = ? AND metric = ? AND node = ? AND key = ? AND viewers = 0"
)


class _Deltas:
    """Changes to ``rollup_experiments``, summed over a batch."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, ...]] = Counter()

    def add(self, unit: _Unit, facts: Counter[FactKey], sign: int) -> None:
        prefix = (unit.story_id, unit.origin, unit.experiment, unit.arm)
        for fact, n in facts.items():
            self.counts[(*prefix, *fact)] += sign * n

    def write(self, conn: sqlite3.Connection) -> None:
        changes = [(*key, n) for key, n in self.counts.items() if n]
        if changes:
            conn.executemany(_UPSERT_COUNT, changes)
            shrunk = [key for key, n in self.counts.items() if n < 0]
            if shrunk:  # rows that reach zero go, so the table equals a rebuild
                conn.executemany(_DELETE_EMPTY, shrunk)


def _facts_of(conn: sqlite3.Connection, pk: int, since: int) -> Counter[FactKey]:
    """A stored playthrough's facts from its exposure (``since``: seq) on."""
    row = conn.execute("SELECT status, ending FROM playthroughs WHERE pk = ?", (pk,)).fetchone()
    if row is None:
        return Counter()
    return unit_facts(row[0], row[1], conn.execute(_ROWS_FROM, (pk, since)))


def _exposure_seq(conn: sqlite3.Connection, pk: int, experiment: str) -> int:
    row = conn.execute(
        "SELECT seq FROM exposures WHERE playthrough = ? AND experiment = ?", (pk, experiment)
    ).fetchone()
    return int(row[0]) if row is not None else 0


def _public_id(conn: sqlite3.Connection, pk: int) -> str:
    row = conn.execute("SELECT id FROM playthroughs WHERE pk = ?", (pk,)).fetchone()
    return str(row[0]) if row is not None else ""


def update_experiments(conn: sqlite3.Connection, batch: Sequence[Pending]) -> None:
    """Bring exposures, units and per-arm counts up to date with ``batch`` (already written
    by the log's write path, in the caller's transaction).

    The batch's exposures go in one statement. A new playthrough's exposure whose viewer has
    no unit yet (in the file or earlier in the batch), the common case in a bulk write, becomes
    the unit with no query of its own: one look-up per few hundred viewers says which have one.
    """
    deltas = _Deltas()
    exposures = [(p.state.pk, *e) for p in batch for e in p.exposures]
    if not exposures:
        # Playthroughs already in the file may still move their units' counts.
        for pending in batch:
            if pending.before is not None and pending.rows:
                _follow_units(conn, pending, deltas)
        deltas.write(conn)
        return
    conn.executemany(_INSERT_EXPOSURE, exposures)
    known = _units_known(conn, batch)
    fresh: list[tuple[Any, ...]] = []  # new units, inserted together

    def flush() -> None:  # before anything that reads experiment_units
        if fresh:
            conn.executemany(_INSERT_UNIT, fresh)
            fresh.clear()

    for pending in batch:
        state = pending.state
        pk = state.pk
        assert pk is not None
        if pending.before is not None and pending.rows:
            flush()
            _follow_units(conn, pending, deltas)
        for experiment, arm, _node, seq, at in pending.exposures:
            candidate = _Unit(state.story_id, state.origin, experiment, state.viewer, arm, pk, at)
            key = (state.story_id, state.origin, experiment, state.viewer)
            if pending.before is None and key not in known:
                known.add(key)
                fresh.append((*key, arm, pk, at))
                facts = unit_facts(
                    state.status, state.ending, (r for r in pending.rows if r[_SEQ] >= seq)
                )
                deltas.add(candidate, facts, 1)
            else:
                flush()
                known.add(key)
                _offer_unit(conn, candidate, state.id, deltas, pending=pending, seq=seq)
    flush()
    deltas.write(conn)


#: Viewers per look-up in :func:`_units_known` (SQLite allows 999 parameters a statement).
_LOOKUP = 500


def _units_known(conn: sqlite3.Connection, batch: Sequence[Pending]) -> set[tuple[str, ...]]:
    """The (story, origin, experiment, viewer) keys of the batch's new exposures that already
    have a unit in the file."""
    wanted: dict[tuple[str, str, str], set[str]] = {}
    for pending in batch:
        if pending.before is None:
            state = pending.state
            for experiment, *_ in pending.exposures:
                wanted.setdefault((state.story_id, state.origin, experiment), set()).add(
                    state.viewer
                )
    known: set[tuple[str, ...]] = set()
    for group, viewers in wanted.items():
        ordered = sorted(viewers)
        for i in range(0, len(ordered), _LOOKUP):
            chunk = ordered[i : i + _LOOKUP]
            marks = ",".join("?" for _ in chunk)
            for (viewer,) in conn.execute(
                "SELECT viewer FROM experiment_units WHERE story_id = ? AND origin = ? "
                f"AND experiment = ? AND viewer IN ({marks})",
                (*group, *chunk),
            ):
                known.add((*group, viewer))
    return known


def _follow_units(conn: sqlite3.Connection, pending: Pending, deltas: _Deltas) -> None:
    """A unit's playthrough went on: move its counts from what it was to what it is."""
    state, before = pending.state, pending.before
    assert before is not None and state.pk is not None
    units = conn.execute(
        f"SELECT {_UNIT_COLUMNS} FROM experiment_units WHERE playthrough = ?", (state.pk,)
    ).fetchall()
    if not units:
        return
    first_new = pending.rows[0][_SEQ]
    # before = the playthrough's mutable columns before the batch: status first, ending fifth.
    old_status, old_ending = before[0], before[4]
    for values in units:
        unit = _Unit(*values)
        since = _exposure_seq(conn, state.pk, unit.experiment)
        rows = conn.execute(_ROWS_FROM, (state.pk, since)).fetchall()
        old = unit_facts(old_status, old_ending, [r for r in rows if r[_SEQ] < first_new])
        new = unit_facts(state.status, state.ending, rows)
        deltas.add(unit, new, 1)
        deltas.add(unit, old, -1)


def _offer_unit(
    conn: sqlite3.Connection,
    candidate: _Unit,
    public_id: str,
    deltas: _Deltas,
    *,
    pending: Pending | None = None,
    seq: int = 0,
) -> None:
    """Make ``candidate`` the viewer's unit if it is their first exposed playthrough."""
    key = (candidate.story_id, candidate.origin, candidate.experiment, candidate.viewer)
    row = conn.execute(
        f"SELECT {_UNIT_COLUMNS} FROM experiment_units "
        "WHERE story_id = ? AND origin = ? AND experiment = ? AND viewer = ?",
        key,
    ).fetchone()
    if row is not None:
        current = _Unit(*row)
        if current.playthrough == candidate.playthrough:
            return
        if (current.exposed_at, _public_id(conn, current.playthrough)) <= (
            candidate.exposed_at,
            public_id,
        ):
            return  # the viewer's unit stays their earlier playthrough
        since = _exposure_seq(conn, current.playthrough, current.experiment)
        deltas.add(current, _facts_of(conn, current.playthrough, since), -1)
        conn.execute(
            "DELETE FROM experiment_units "
            "WHERE story_id = ? AND origin = ? AND experiment = ? AND viewer = ?",
            key,
        )
    conn.execute(
        _INSERT_UNIT,
        (*key[:3], candidate.viewer, candidate.arm, candidate.playthrough, candidate.exposed_at),
    )
    if pending is not None and pending.before is None:
        # A new playthrough: its rows are all in the batch.
        state = pending.state
        facts = unit_facts(state.status, state.ending, (r for r in pending.rows if r[_SEQ] >= seq))
    else:
        facts = _facts_of(conn, candidate.playthrough, seq)
    deltas.add(candidate, facts, 1)


def forget_exposures(conn: sqlite3.Connection, pks: Sequence[int]) -> None:
    """Take playthroughs out of the experiments, before their rows are deleted: their units
    go (a viewer's next exposed playthrough, if one stays, becomes the unit) and their
    exposures are deleted."""
    if not pks:
        return
    gone = set(pks)
    deltas = _Deltas()
    marks = ",".join("?" for _ in gone)
    units = [
        _Unit(*row)
        for row in conn.execute(
            f"SELECT {_UNIT_COLUMNS} FROM experiment_units WHERE playthrough IN ({marks})",
            tuple(gone),
        ).fetchall()
    ]
    for unit in units:
        since = _exposure_seq(conn, unit.playthrough, unit.experiment)
        deltas.add(unit, _facts_of(conn, unit.playthrough, since), -1)
        conn.execute(
            "DELETE FROM experiment_units "
            "WHERE story_id = ? AND origin = ? AND experiment = ? AND viewer = ?",
            (unit.story_id, unit.origin, unit.experiment, unit.viewer),
        )
    conn.execute(f"DELETE FROM exposures WHERE playthrough IN ({marks})", tuple(gone))
    for unit in units:
        nxt = conn.execute(
            "SELECT x.playthrough, x.arm, x.seq, x.at, p.id FROM exposures x "
            "JOIN playthroughs p ON p.pk = x.playthrough "
            "WHERE x.experiment = ? AND p.story_id = ? AND p.origin = ? AND p.viewer = ? "
            "ORDER BY x.at, p.id LIMIT 1",
            (unit.experiment, unit.story_id, unit.origin, unit.viewer),
        ).fetchone()
        if nxt is not None:
            pk, arm, seq, at, public = nxt
            candidate = _Unit(unit.story_id, unit.origin, unit.experiment, unit.viewer, arm, pk, at)
            _offer_unit(conn, candidate, public, deltas, seq=seq)
    deltas.write(conn)


def first_exposures(conn: sqlite3.Connection) -> list[tuple[_Unit, int]]:
    """Each viewer's unit recomputed from ``exposures`` (with the exposure's ``seq``): their
    earliest exposure per (story, origin, experiment), ties broken by playthrough id."""
    first: dict[tuple[str, str, str, str], tuple[float, str, _Unit, int]] = {}
    for pk, experiment, arm, seq, at, public, story_id, origin, viewer in conn.execute(
        "SELECT x.playthrough, x.experiment, x.arm, x.seq, x.at, p.id, p.story_id, p.origin, "
        "p.viewer FROM exposures x JOIN playthroughs p ON p.pk = x.playthrough"
    ):
        key = (story_id, origin, experiment, viewer)
        if key not in first or (at, public) < first[key][:2]:
            first[key] = (at, public, _Unit(story_id, origin, experiment, viewer, arm, pk, at), seq)
    return [(unit, seq) for _, _, unit, seq in first.values()]


def recount_experiments(conn: sqlite3.Connection) -> Counter[tuple[str, ...]]:
    """The per-arm counts recomputed from ``exposures`` and the raw events, without writing
    (``report --exact`` and the rebuild use it): key (story, origin, experiment, arm,
    metric, node, key)."""
    deltas = _Deltas()
    for unit, seq in first_exposures(conn):
        deltas.add(unit, _facts_of(conn, unit.playthrough, seq), 1)
    return deltas.counts


def rebuild_experiments(conn: sqlite3.Connection) -> int:
    """Recompute units and per-arm counts from ``exposures`` and the events (in the caller's
    transaction); return the number of units."""
    conn.execute("DELETE FROM rollup_experiments")
    conn.execute("DELETE FROM experiment_units")
    units = first_exposures(conn)
    deltas = _Deltas()
    for unit, seq in units:
        conn.execute(
            f"INSERT INTO experiment_units ({_UNIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (unit.story_id, unit.origin, unit.experiment, unit.viewer, unit.arm,
             unit.playthrough, unit.exposed_at),
        )  # fmt: skip
        deltas.add(unit, _facts_of(conn, unit.playthrough, seq), 1)
    deltas.write(conn)
    return len(units)


def experiment_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """The experiment tables in a form two logs can be compared by (playthroughs by their
    public id, not this file's row number), sorted."""
    units = conn.execute(
        "SELECT u.story_id, u.origin, u.experiment, u.viewer, u.arm, p.id, u.exposed_at "
        "FROM experiment_units u JOIN playthroughs p ON p.pk = u.playthrough"
    ).fetchall()
    counts = conn.execute("SELECT * FROM rollup_experiments").fetchall()
    return {
        "experiment_units": sorted(units, key=repr),
        "rollup_experiments": sorted(counts, key=repr),
    }
