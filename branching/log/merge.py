"""Merging logs gathered on several machines into one.

Playthroughs are matched by their globally unique id and events by ``(playthrough id, seq)``,
so merging the same log twice adds nothing, and merging a later copy of a log adds only the
events recorded since (a playthrough that went on is extended, its state replayed).

A merge is all-or-nothing: :func:`open_sources` opens and checks every source before anything
is written, and :func:`merge_all` writes every source in one write transaction, so a source that
fails half-way (a damaged page, a full disk, an interrupt) leaves the target as it was. Every
row goes through :func:`branching.log.writer.write_batch`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from branching.log import times
from branching.log.consistency import event_problems
from branching.log.errors import LogError, LogOutdated, LogUnavailable, describe_sqlite_error
from branching.log.schema import APPLICATION_ID
from branching.log.state import (
    EVENT_COLUMNS,
    FIXED_COLUMNS,
    EventRow,
    ExposureRow,
    PlaythroughState,
    apply_event,
    row_to_event,
)
from branching.log.store import ChoiceLog, readonly_uri
from branching.log.writer import SELECT_PLAYTHROUGH, Pending, load_state, write_batch

_CHUNK = 1000  # source playthroughs read at a time


#: How many ids or reasons a :class:`MergeStats` keeps as examples.
EXAMPLES = 3


@dataclass
class MergeStats:
    """What one merge did."""

    playthroughs_added: int = 0
    events_added: int = 0
    playthroughs_extended: int = 0  # already present, with new events added
    playthroughs_unchanged: int = 0  # already present with every event
    conflicts: int = 0  # same id and seq, different content: kept as in the target
    #: Source playthroughs left out because they cannot be merged faithfully (times outside
    #: the calendar, events not numbered 0, 1, 2, ...): ``branching log check`` shows them.
    quarantined: int = 0
    #: Source events whose playthrough is not in the source (nothing to attach them to).
    orphan_events: int = 0
    #: A few conflicting playthrough ids, and a few reasons for leaving playthroughs out.
    conflict_examples: list[str] = field(default_factory=list)
    quarantine_examples: list[str] = field(default_factory=list)

    def __iadd__(self, other: MergeStats) -> MergeStats:
        for name in self.__dataclass_fields__:
            mine, theirs = getattr(self, name), getattr(other, name)
            if isinstance(mine, list):
                mine.extend(theirs[: max(0, EXAMPLES - len(mine))])
            else:
                setattr(self, name, mine + theirs)
        return self

    def conflict(self, playthrough_id: str) -> None:
        self.conflicts += 1
        if len(self.conflict_examples) < EXAMPLES:
            self.conflict_examples.append(playthrough_id)

    def quarantine(self, reason: str) -> None:
        self.quarantined += 1
        if len(self.quarantine_examples) < EXAMPLES:
            self.quarantine_examples.append(reason)


@dataclass(frozen=True)
class Source:
    """A source log opened for merging: the path given and the open (read-only) log."""

    path: Path
    log: ChoiceLog


def merge_into(
    target: ChoiceLog, source: str | os.PathLike[str], *, batch_size: int = 20_000
) -> MergeStats:
    """Add to ``target`` every playthrough and event of the log at ``source`` it lacks.

    ``source`` is opened read-only and never modified (an older-schema source is upgraded in
    a temporary copy). All or nothing, like :func:`merge_all`.

    Raises:
        LogUnavailable: ``source`` cannot be read, or is the target itself.
        LogError: reading ``source`` failed part-way (nothing was written).
    """
    with open_sources([source], output=target.path) as sources:
        return merge_all(target, sources, batch_size=batch_size)[0]


@contextlib.contextmanager
def open_sources(
    paths: Sequence[str | os.PathLike[str]], *, output: Path | None = None
) -> Iterator[list[Source]]:
    """Open every source read-only for the block, checking each before the caller writes.

    Each must be readable, a choice log, and of a schema version this code can read (older
    ones are upgraded in a temporary copy). ``output``, when given, may not be one of them.

    Raises:
        LogUnavailable: for the first source that fails, naming it; the ones already opened
            are closed again.
    """
    with contextlib.ExitStack() as stack:
        opened = []
        for given in paths:
            path = Path(os.fspath(given)).expanduser()
            if output is not None and path.exists() and _same_file(path, output):
                raise LogUnavailable(path, "it is the output log itself")
            opened.append(Source(path, stack.enter_context(_open_source(path))))
        yield opened


def merge_all(
    target: ChoiceLog, sources: Sequence[Source], *, batch_size: int = 20_000
) -> list[MergeStats]:
    """Merge every source into ``target`` in one write transaction: all of them, or nothing.

    Returns one :class:`MergeStats` per source, in order. A later source sees what earlier
    ones added (the same log given twice adds nothing the second time).

    Raises:
        LogError: a source could not be read part-way (the message names it), or the target
            could not be written (:class:`LogWriteError`); the target is left unchanged.
    """
    results = []
    # PRAGMA foreign_keys is a no-op inside a transaction: switch bulk mode on before it.
    target.set_bulk_mode(True)
    try:
        with target.write_transaction():
            for source in sources:
                results.append(_merge(target, source, batch_size=batch_size))
    finally:
        target.set_bulk_mode(False)
    return results


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


class _open_source:
    """Open a source log read-only, upgrading an older one in a temporary copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmpdir: str | None = None
        self.log: ChoiceLog | None = None

    def __enter__(self) -> ChoiceLog:
        try:
            self.log = ChoiceLog.open(self.path, readonly=True, create=False, durable=False)
        except LogOutdated:
            self.tmpdir = tempfile.mkdtemp(prefix="branching-merge-")
            copy = Path(self.tmpdir) / "source.db"
            try:
                with (
                    # Read as read-only opens do: no -wal or -shm file left beside the source.
                    contextlib.closing(sqlite3.connect(readonly_uri(self.path), uri=True)) as old,
                    contextlib.closing(sqlite3.connect(copy)) as new,
                ):
                    # An older log has our application id; a database without one (an empty
                    # file, /dev/null) holds nothing to merge and is a mistake worth naming.
                    if old.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                        raise LogUnavailable(
                            self.path, "it is empty: not a choice log with anything to merge"
                        )
                    old.backup(new)
                self.log = ChoiceLog.open(copy, durable=False)
            except BaseException as e:
                # __exit__ does not run when __enter__ fails: remove the copy here.
                shutil.rmtree(self.tmpdir, ignore_errors=True)
                if isinstance(e, sqlite3.Error):
                    raise LogUnavailable(self.path, f"cannot copy it to upgrade it ({e})") from e
                raise
        return self.log

    def __exit__(self, *exc: object) -> None:
        if self.log is not None:
            self.log.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _merge(target: ChoiceLog, source: Source, *, batch_size: int) -> MergeStats:
    """Write ``source`` into ``target`` inside the caller's write transaction."""
    stats = MergeStats()
    batch: list[Pending] = []
    size = 0
    for chunk in _source_chunks(source, stats):
        ids = [state.id for state, _, _ in chunk]
        present: dict[str, tuple[int, int, tuple[str, str, str]]] = {
            row[0]: (row[1], row[2], (row[3], row[4], row[5]))
            for row in target.conn.execute(
                "SELECT id, pk, event_count, story_id, story_hash, viewer FROM playthroughs "
                "WHERE id IN ({})".format(", ".join("?" for _ in ids)),
                ids,
            )
        }
        have_rows = _target_rows(target, [pk for pk, _, _ in present.values()])
        for state, rows, exposures in chunk:
            reason = _unmergeable(state, rows, exposures)
            if reason is not None:
                stats.quarantine(f"playthrough {state.id}: {reason}")
                continue
            found = present.get(state.id)
            if found is None:
                pending = _replayed(state, rows)
                pending.exposures = exposures
                stats.playthroughs_added += 1
            elif found[2] != (state.story_id, state.story_hash, state.viewer):
                # The same id for another viewer's or story's playthrough: extending it would
                # credit one viewer with another's choices.
                stats.conflict(state.id)
                continue
            else:
                have = have_rows.get(found[0], [])
                # Every event both logs hold must be the same event: same id and seq but
                # another step is a conflict, whichever log holds more.
                shared = min(len(have), len(rows))
                if have[:shared] != rows[:shared]:  # list comparison: C speed
                    stats.conflict(state.id)
                    continue
                if len(have) >= len(rows):
                    stats.playthroughs_unchanged += 1
                    continue
                pending = _extend(target, state.id, rows[len(have) :])
                # Exposures the target lacks (it ignores the ones it has).
                pending.exposures = [x for x in exposures if x[3] >= len(have) - 1]
                stats.playthroughs_extended += 1
            stats.events_added += len(pending.rows)
            batch.append(pending)
            size += len(pending.rows) + 1
            if size >= batch_size:
                write_batch(target.conn, batch)
                batch, size = [], 0
    if batch:  # written before the next source's look-ups, which must see these playthroughs
        write_batch(target.conn, batch)
    return stats


def _unmergeable(
    state: PlaythroughState,
    rows: list[EventRow],
    exposures: Sequence[ExposureRow] = (),
) -> str | None:
    """Why a source playthrough cannot be merged as it is, or ``None``.

    Its row's state is recomputed from its events, so only what the events themselves get
    wrong counts: a time outside 1970 to 9999 (a machine with a broken clock; every report and
    listing would have to guess where it belongs), events not numbered 0, 1, 2, ... (some are
    missing, and a later merge could not tell which), and whatever else ``log check`` calls
    impossible in events (:func:`branching.log.consistency.event_problems`) or exposures.
    """
    if not times.recordable(state.started_at):
        return f"it starts at {times.unrecordable_text(state.started_at)}"
    for row in rows:
        if not times.recordable(row[1]):
            return f"event {row[0]} is at {times.unrecordable_text(row[1])}"
    for exposure in exposures:
        if not times.recordable(exposure[4]):
            return f"its exposure to {exposure[0]!r} is at {times.unrecordable_text(exposure[4])}"
    if any(row[0] != seq for seq, row in enumerate(rows)):
        return "its events are not numbered 0, 1, 2, ... (some are missing)"
    # What `log check` calls impossible (times before 1970 or going backwards, a choice
    # without a target, an impossible sequence...) would be copied and counted as played.
    problems = event_problems(state.started_at, rows)
    if problems:
        return "; ".join(problems)
    for experiment, arm, node, seq, _ in exposures:
        if not (0 <= seq < len(rows) and rows[seq][2] == "enter" and rows[seq][3] == node):
            return (
                f"its exposure to experiment {experiment!r} (arm {arm!r}) is at {node!r}, "
                f"but event {seq} is not an entry into it"
            )
    return None


def _replayed(state: PlaythroughState, rows: list[EventRow]) -> Pending:
    """A new playthrough for the target: every one of the source's fixed columns, and a state
    replayed from its events (the source of truth), whatever the source's row said."""
    # Copied column by column from FIXED_COLUMNS, not through PlaythroughInfo: a column added
    # to the log (as ``language`` was) then survives a merge without this code knowing it.
    fixed = {column: getattr(state, column) for column in FIXED_COLUMNS}
    fresh = PlaythroughState(pk=None, **fixed, updated_at=state.started_at)
    new_rows = [apply_event(fresh, row_to_event(row), row[1]) for row in rows]
    return Pending(fresh, None, new_rows)


def _target_rows(target: ChoiceLog, pks: list[int]) -> dict[int, list[EventRow]]:
    """The event rows of the target's playthroughs ``pks``, to compare with a source's."""
    found: dict[int, list[EventRow]] = {pk: [] for pk in pks}
    if pks:
        sql = "SELECT playthrough, {} FROM events WHERE playthrough IN ({}) ORDER BY 1, 2".format(
            ", ".join(EVENT_COLUMNS), ", ".join("?" for _ in pks)
        )
        for row in target.conn.execute(sql, pks):
            found[row[0]].append(row[1:])
    return found


def _extend(target: ChoiceLog, playthrough_id: str, new: list[EventRow]) -> Pending:
    """New events for a playthrough the target already has part of, its state replayed."""
    state = load_state(target.conn, id=playthrough_id)
    assert state is not None and state.pk is not None
    before = state.snapshot()
    new_rows = [apply_event(state, row_to_event(row), row[1]) for row in new]
    return Pending(state, before, new_rows)


#: A source playthrough with its event rows and its exposures.
_SourcePlaythrough = tuple[PlaythroughState, list[EventRow], list[ExposureRow]]


def _source_chunks(source: Source, stats: MergeStats) -> Iterator[list[_SourcePlaythrough]]:
    """Source playthroughs with all their event rows, ``_CHUNK`` playthroughs at a time.

    A read error (a damaged page the open did not touch) becomes a :class:`LogError` naming
    the source, so it is not taken for a failed write to the target. Events whose playthrough
    is missing are counted in ``stats`` and left out.
    """
    try:
        yield from _read_chunks(source.log.conn, stats)
        (stats.orphan_events,) = source.log.conn.execute(
            "SELECT count(*) FROM events e "
            "WHERE NOT EXISTS (SELECT 1 FROM playthroughs p WHERE p.pk = e.playthrough)"
        ).fetchone()
    except sqlite3.Error as e:
        raise LogError(
            f"cannot read the choice log {str(source.path)!r}: {describe_sqlite_error(e)}"
        ) from e


def _read_chunks(conn: sqlite3.Connection, stats: MergeStats) -> Iterator[list[_SourcePlaythrough]]:
    last = 0
    event_sql = (
        "SELECT playthrough, {} FROM events WHERE playthrough BETWEEN ? AND ? "
        "ORDER BY playthrough, seq".format(", ".join(EVENT_COLUMNS))
    )
    while True:
        states = [
            PlaythroughState(*row)
            for row in conn.execute(
                SELECT_PLAYTHROUGH + " WHERE pk > ? ORDER BY pk LIMIT ?", (last, _CHUNK)
            )
        ]
        if not states:
            return
        by_pk: dict[int, list[EventRow]] = {s.pk: [] for s in states if s.pk is not None}
        first, top = states[0].pk, states[-1].pk
        assert first is not None and top is not None
        last = top
        for row in conn.execute(event_sql, (first, last)):
            rows = by_pk.get(row[0])
            if rows is not None:  # else an orphan, counted once the source is read
                rows.append(row[1:])
        exposures: dict[int, list[ExposureRow]] = {pk: [] for pk in by_pk}
        for pk, *exposure in conn.execute(_EXPOSURE_SQL, (first, last)):
            if pk in exposures:
                exposures[pk].append((*exposure,))
        yield [(s, by_pk[s.pk], exposures[s.pk]) for s in states if s.pk is not None]


_EXPOSURE_SQL = (
    "SELECT playthrough, experiment, arm, node, seq, at FROM exposures "
    "WHERE playthrough BETWEEN ? AND ? ORDER BY playthrough, seq"
)
