"""What others chose: distinct viewers per (story, node, choice), for "62% of viewers chose this".

The unit is the **viewer**, and each viewer counts once per node with their **first decision
there**: the earliest choice event at that node in any of their playthroughs of the story
(earliest by the event's time, ties broken by playthrough id, then by order in the
playthrough). A timer's default counts as the choice it took. Later decisions at the same node
(after a rewind, or in a later playthrough) never change it, so a viewer who tries every branch
still counts once, for what they chose first. Kept per origin (``live``, ``simulated``,
``imported``): a reader sums the origins it wants.

Kept current in the log's write transaction like the other roll-ups
(:mod:`branching.log.rollups`), so reading one node's shares is one index range, whatever the
size of the log (``tests/benchmarks/bench_shares.py``).

Tables (created by the log's migration ``m007_audience``, :data:`SHARES_DDL`):

* ``share_units``: one row per (story, node, viewer, origin): the choice of that viewer's first
  decision there, with the playthrough (row and public id), ``seq`` and time of the event.
* ``rollup_shares``: viewers per (story, node, choice, origin): the number of ``share_units``
  rows with that choice.

A unit moves when an earlier decision of the same viewer arrives (``branching log merge``),
and goes when its playthrough is forgotten (the viewer's next decision there, if any is left,
takes its place); :func:`rebuild_shares` recomputes both tables from the raw events.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from branching.log.state import EVENT_COLUMNS

if TYPE_CHECKING:
    from branching.log.writer import Pending

SHARES_DDL: tuple[str, ...] = (
    """
    CREATE TABLE share_units (
        story_id TEXT NOT NULL,
        node TEXT NOT NULL,
        viewer TEXT NOT NULL,
        origin TEXT NOT NULL,
        choice TEXT NOT NULL,
        playthrough INTEGER NOT NULL REFERENCES playthroughs (pk),
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        public TEXT NOT NULL,
        PRIMARY KEY (story_id, node, viewer, origin)
    ) STRICT, WITHOUT ROWID
    """,
    "CREATE INDEX share_units_by_playthrough ON share_units (playthrough)",
    """
    CREATE TABLE rollup_shares (
        story_id TEXT NOT NULL,
        node TEXT NOT NULL,
        choice TEXT NOT NULL,
        origin TEXT NOT NULL,
        viewers INTEGER NOT NULL,
        PRIMARY KEY (story_id, node, choice, origin)
    ) STRICT, WITHOUT ROWID
    """,
)
SHARES_TABLES = ("rollup_shares", "share_units")

_SEQ, _AT, _KIND, _NODE, _CHOICE = (
    EVENT_COLUMNS.index(c) for c in ("seq", "at", "kind", "node", "choice")
)

#: (story id, node, viewer, origin)
UnitKey = tuple[str, str, str, str]
#: What decides which decision is first: (time, playthrough public id, seq); then the choice
#: and the playthrough's row number.
Candidate = tuple[float, str, int, str, int]


_PUT_UNIT = (
    "INSERT OR REPLACE INTO share_units "
    "(story_id, node, viewer, origin, choice, playthrough, seq, at, public) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_DELETE_UNIT = (
    "DELETE FROM share_units WHERE story_id = ? AND node = ? AND viewer = ? AND origin = ?"
)
_UPSERT_COUNT = (
    "INSERT INTO rollup_shares (story_id, node, choice, origin, viewers) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (story_id, node, choice, origin) DO UPDATE SET viewers = viewers + "
    "excluded.viewers"
)
_DELETE_EMPTY = (
    "DELETE FROM rollup_shares WHERE story_id = ? AND node = ? AND choice = ? AND origin = ? "
    "AND viewers = 0"
)


def _earliest(candidates: dict[UnitKey, Candidate], key: UnitKey, candidate: Candidate) -> None:
    current = candidates.get(key)
    if current is None or candidate[:3] < current[:3]:
        candidates[key] = candidate


def _put(conn: sqlite3.Connection, key: UnitKey, candidate: Candidate) -> None:
    at, public, seq, choice, pk = candidate
    conn.execute(_PUT_UNIT, (*key, choice, pk, seq, at, public))


def _write_counts(conn: sqlite3.Connection, counts: Counter[tuple[str, str, str, str]]) -> None:
    changes = [(*key, n) for key, n in counts.items() if n]
    if changes:
        conn.executemany(_UPSERT_COUNT, changes)
        shrunk = [key for key, n in counts.items() if n < 0]
        if shrunk:  # rows that reach zero go, so the table equals a rebuild
            conn.executemany(_DELETE_EMPTY, shrunk)


def _count(counts: Counter[tuple[str, str, str, str]], key: UnitKey, choice: str, n: int) -> None:
    story_id, node, _viewer, origin = key
    counts[(story_id, node, choice, origin)] += n


_BATCH_TABLE = """
    CREATE TEMP TABLE IF NOT EXISTS share_batch (
        story_id TEXT, node TEXT, viewer TEXT, origin TEXT, choice TEXT, playthrough INTEGER,
        seq INTEGER, at REAL, public TEXT
    )
"""
# Units that an earlier decision replaces (a merge brought in older playthroughs): rare.
_EARLIER = (
    "SELECT b.story_id, b.node, b.viewer, b.origin, u.choice, b.choice, b.playthrough, b.seq, "
    "b.at, b.public FROM share_batch b JOIN share_units u ON u.story_id = b.story_id "
    "AND u.node = b.node AND u.viewer = b.viewer AND u.origin = b.origin "
    "WHERE (b.at, b.public, b.seq) < (u.at, u.public, u.seq)"
)
# Every candidate without a unit becomes one; RETURNING says which, to count them.
_INSERT_NEW = (
    "INSERT OR IGNORE INTO share_units "
    "(story_id, node, viewer, origin, choice, playthrough, seq, at, public) "
    "SELECT story_id, node, viewer, origin, choice, playthrough, seq, at, public "
    "FROM share_batch WHERE true RETURNING story_id, node, choice, origin"
)


def update_shares(conn: sqlite3.Connection, batch: Sequence[Pending]) -> None:
    """Bring the shares up to date with ``batch`` (already written by the log's write path, in
    the caller's transaction): each new choice event that is its viewer's first decision at its
    node becomes (or replaces) that viewer's unit there.

    A viewer with no playthrough of the story in the file before the batch has no unit of it
    yet (units come from the viewer's own playthroughs), the usual case in a bulk write: their
    candidates (their earliest decision per node in the batch) become units in one statement.
    The others' go to a temporary table and are compared with the units in a few set-wise
    statements, so a bulk write of a million playthroughs costs a few statements per batch,
    not a query per choice.
    """
    candidates: dict[UnitKey, Candidate] = {}
    get = candidates.get
    for pending in batch:
        state = pending.state
        assert state.pk is not None
        story_id, viewer, origin, public, pk = (
            state.story_id, state.viewer, state.origin, state.id, state.pk
        )  # fmt: skip
        for row in pending.rows:
            if row[_KIND] != "choice":
                continue
            key = (story_id, row[_NODE], viewer, origin)
            current = get(key)
            # Rows come in order: within a playthrough the first decision at a node is earliest.
            if current is None or (row[_AT], public, row[_SEQ]) < current[:3]:
                candidates[key] = (row[_AT], public, row[_SEQ], row[_CHOICE], pk)
    if not candidates:
        return
    counts: Counter[tuple[str, str, str, str]] = Counter()
    new = _new_viewers(conn, batch)
    if new and _add_new_units(conn, candidates, new, counts):
        candidates = {k: c for k, c in candidates.items() if (k[0], k[2]) not in new}
    if candidates:
        _compare_units(conn, candidates, counts)
    _write_counts(conn, counts)


def _add_new_units(
    conn: sqlite3.Connection,
    candidates: dict[UnitKey, Candidate],
    new: set[tuple[str, str]],
    counts: Counter[tuple[str, str, str, str]],
) -> bool:
    """Make the candidates of viewers in ``new`` (story, viewer) their units, with no
    comparison, and count them; False (and nothing written) if one had a unit after all."""
    units = []
    added: Counter[tuple[str, str, str, str]] = Counter()
    for (story_id, node, viewer, origin), c in candidates.items():
        if (story_id, viewer) in new:
            units.append((story_id, node, viewer, origin, c[3], c[4], c[2], c[0], c[1]))
            added[(story_id, node, c[3], origin)] += 1
    # INSERT OR IGNORE counts what it inserts: every unit, unless the log is damaged (units
    # left by playthroughs deleted behind its back), when the comparison decides instead.
    conn.execute("SAVEPOINT new_units")
    if conn.executemany(_NEW_UNIT, units).rowcount != len(units):
        conn.execute("ROLLBACK TO new_units")
        conn.execute("RELEASE new_units")
        return False
    conn.execute("RELEASE new_units")
    counts.update(added)
    return True


_NEW_UNIT = (
    "INSERT OR IGNORE INTO share_units "
    "(story_id, node, viewer, origin, choice, playthrough, seq, at, public) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Viewers per look-up in :func:`_new_viewers` (SQLite allows 999 parameters a statement).
_LOOKUP = 500


def _new_viewers(conn: sqlite3.Connection, batch: Sequence[Pending]) -> set[tuple[str, str]]:
    """The (story, viewer) pairs of the batch's new playthroughs that have no playthrough of
    the story in the file before the batch (one look-up per few hundred viewers)."""
    new = [p.state for p in batch if p.before is None]
    if not new:
        return set()
    # New playthroughs' rows are numbered after every other one (write_batch).
    first = min(s.pk for s in new if s.pk is not None)
    wanted: dict[str, set[str]] = {}
    for state in new:
        wanted.setdefault(state.story_id, set()).add(state.viewer)
    found: set[tuple[str, str]] = set()
    for story_id, viewers in wanted.items():
        ordered = sorted(viewers)
        for i in range(0, len(ordered), _LOOKUP):
            chunk = ordered[i : i + _LOOKUP]
            marks = ",".join("?" for _ in chunk)
            old = {
                viewer
                for (viewer,) in conn.execute(
                    f"SELECT viewer FROM playthroughs WHERE viewer IN ({marks}) "
                    "AND story_id = ? AND pk < ?",
                    (*chunk, story_id, first),
                )
            }
            found.update((story_id, v) for v in chunk if v not in old)
    return found


def _compare_units(
    conn: sqlite3.Connection,
    candidates: dict[UnitKey, Candidate],
    counts: Counter[tuple[str, str, str, str]],
) -> None:
    """Make each candidate its viewer's unit where it has none or is earlier than theirs,
    set-wise through a temporary table; add the changes to ``counts``."""
    conn.execute(_BATCH_TABLE)
    conn.execute("DELETE FROM temp.share_batch")
    conn.executemany(
        "INSERT INTO temp.share_batch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(*key, c[3], c[4], c[2], c[0], c[1]) for key, c in candidates.items()],
    )
    earlier = conn.execute(_EARLIER).fetchall()
    counts.update(tuple(row) for row in conn.execute(_INSERT_NEW).fetchall())
    for story_id, node, viewer, origin, old, new, pk, seq, at, public in earlier:
        key = (story_id, node, viewer, origin)
        _count(counts, key, old, -1)
        _count(counts, key, new, 1)
        conn.execute(_PUT_UNIT, (*key, new, pk, seq, at, public))
    conn.execute("DELETE FROM temp.share_batch")


def _first_decision(
    conn: sqlite3.Connection, key: UnitKey, excluding: Collection[int]
) -> Candidate | None:
    """The viewer's earliest decision at the node, from the raw events, leaving out the
    playthroughs in ``excluding``."""
    story_id, node, viewer, origin = key
    best: Candidate | None = None
    for at, public, seq, choice, pk in conn.execute(
        "SELECT e.at, p.id, e.seq, e.choice, p.pk FROM playthroughs p "
        "JOIN events e ON e.playthrough = p.pk "
        "WHERE p.viewer = ? AND p.story_id = ? AND p.origin = ? AND e.kind = 'choice' "
        "AND e.node = ?",
        (viewer, story_id, origin, node),
    ):
        if pk in excluding:
            continue
        candidate = (float(at), str(public), int(seq), str(choice), int(pk))
        if best is None or candidate[:3] < best[:3]:
            best = candidate
    return best


def forget_shares(conn: sqlite3.Connection, pks: Sequence[int]) -> None:
    """Take playthroughs out of the shares, before their rows are deleted (in the caller's
    transaction): their units go, and the viewer's next decision at the node, if one is left
    in another playthrough, takes its place."""
    if not pks:
        return
    gone = set(pks)
    marks = ",".join("?" for _ in gone)
    units = conn.execute(
        "SELECT story_id, node, viewer, origin, choice FROM share_units "
        f"WHERE playthrough IN ({marks})",
        tuple(gone),
    ).fetchall()
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for story_id, node, viewer, origin, choice in units:
        key = (story_id, node, viewer, origin)
        _count(counts, key, choice, -1)
        conn.execute(_DELETE_UNIT, key)
        replacement = _first_decision(conn, key, gone)
        if replacement is not None:
            _put(conn, key, replacement)
            _count(counts, key, replacement[3], 1)
    _write_counts(conn, counts)


def first_decisions(conn: sqlite3.Connection) -> dict[UnitKey, Candidate]:
    """Every viewer's first decision at every node, recomputed from the raw events."""
    candidates: dict[UnitKey, Candidate] = {}
    for story_id, viewer, origin, public, pk, node, choice, seq, at in conn.execute(
        "SELECT p.story_id, p.viewer, p.origin, p.id, p.pk, e.node, e.choice, e.seq, e.at "
        "FROM events e JOIN playthroughs p ON p.pk = e.playthrough WHERE e.kind = 'choice'"
    ):
        _earliest(candidates, (story_id, node, viewer, origin), (at, public, seq, choice, pk))
    return candidates


def rebuild_shares(conn: sqlite3.Connection) -> int:
    """Recompute units and counts from the raw events (in the caller's transaction); return the
    number of units (viewer and node pairs)."""
    for table in SHARES_TABLES:
        conn.execute(f"DELETE FROM {table}")
    units = first_decisions(conn)
    conn.executemany(
        _PUT_UNIT, [(*key, c[3], c[4], c[2], c[0], c[1]) for key, c in sorted(units.items())]
    )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for key, candidate in units.items():
        _count(counts, key, candidate[3], 1)
    _write_counts(conn, counts)
    return len(units)


def shares_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Both tables in a form two logs can be compared by (playthroughs by public id), sorted."""
    units = conn.execute(
        "SELECT u.story_id, u.node, u.viewer, u.origin, u.choice, p.id, u.public, u.seq, u.at "
        "FROM share_units u JOIN playthroughs p ON p.pk = u.playthrough"
    ).fetchall()
    counts = conn.execute("SELECT * FROM rollup_shares").fetchall()
    return {"share_units": sorted(units, key=repr), "rollup_shares": sorted(counts, key=repr)}


def node_shares(
    conn: sqlite3.Connection, story_id: str, node: str, origins: Iterable[str] | None = None
) -> dict[str, int]:
    """Distinct viewers per choice at ``node`` (their first decision there), summed over
    ``origins`` (default: all). One range of the table's primary key."""
    wanted = None if origins is None else set(origins)
    found: Counter[str] = Counter()
    for choice, origin, viewers in conn.execute(
        "SELECT choice, origin, viewers FROM rollup_shares WHERE story_id = ? AND node = ?",
        (story_id, node),
    ):
        if wanted is None or origin in wanted:
            found[str(choice)] += int(viewers)
    return dict(found)
