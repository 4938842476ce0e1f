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
from dataclasses import dataclass, replace
from pathlib import Path

from branching.log.errors import LogError, LogOutdated, LogUnavailable, describe_sqlite_error
from branching.log.schema import APPLICATION_ID
from branching.log.state import (
    EVENT_COLUMNS,
    EventRow,
    ExposureRow,
    PlaythroughState,
    apply_event,
    row_to_event,
)
from branching.log.store import ChoiceLog
from branching.log.writer import SELECT_PLAYTHROUGH, Pending, load_state, write_batch

_CHUNK = 1000  # source playthroughs read at a time


@dataclass
class MergeStats:
    """What one merge did."""

    playthroughs_added: int = 0
    events_added: int = 0
    playthroughs_extended: int = 0  # already present, with new events added
    playthroughs_unchanged: int = 0  # already present with every event
    conflicts: int = 0  # same id and seq, different content: kept as in the target

    def __iadd__(self, other: MergeStats) -> MergeStats:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


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
                    sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True) as old,
                    sqlite3.connect(copy) as new,
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
    for chunk in _source_chunks(source):
        ids = [state.id for state, _, _ in chunk]
        present = {
            row[0]: row[1]
            for row in target.conn.execute(
                "SELECT id, event_count FROM playthroughs WHERE id IN ({})".format(
                    ", ".join("?" for _ in ids)
                ),
                ids,
            )
        }
        for state, rows, exposures in chunk:
            have = present.get(state.id)
            if have is None:
                pending = Pending(replace(state, pk=None), None, rows, exposures)
                stats.playthroughs_added += 1
            elif have >= state.event_count:
                stats.playthroughs_unchanged += 1
                continue
            else:
                extended = _extend(target, state.id, rows, stats)
                if extended is None:
                    continue
                pending = extended
                # Exposures the target lacks (it ignores the ones it has).
                pending.exposures = [x for x in exposures if x[3] >= have - 1]
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


def _extend(
    target: ChoiceLog, playthrough_id: str, rows: list[EventRow], stats: MergeStats
) -> Pending | None:
    """New events for a playthrough the target already has part of, its state replayed."""
    state = load_state(target.conn, id=playthrough_id)
    assert state is not None and state.pk is not None
    have = target.conn.execute(
        "SELECT seq, kind, node, choice, target FROM events WHERE playthrough = ? ORDER BY seq",
        (state.pk,),
    ).fetchall()
    # Rows share (seq, at, kind, node, choice, target, ...); compare what identifies a step.
    for mine, theirs in zip(have, rows, strict=False):
        if mine != (theirs[0], theirs[2], theirs[3], theirs[4], theirs[5]):
            stats.conflicts += 1
            return None
    before = state.snapshot()
    new_rows = []
    for row in rows[len(have) :]:
        new_rows.append(apply_event(state, row_to_event(row), row[1]))
    return Pending(state, before, new_rows)


#: A source playthrough with its event rows and its exposures.
_SourcePlaythrough = tuple[PlaythroughState, list[EventRow], list[ExposureRow]]


def _source_chunks(source: Source) -> Iterator[list[_SourcePlaythrough]]:
    """Source playthroughs with all their event rows, ``_CHUNK`` playthroughs at a time.

    A read error (a damaged page the open did not touch) becomes a :class:`LogError` naming
    the source, so it is not taken for a failed write to the target.
    """
    try:
        yield from _read_chunks(source.log.conn)
    except sqlite3.Error as e:
        raise LogError(
            f"cannot read the choice log {str(source.path)!r}: {describe_sqlite_error(e)}"
        ) from e


def _read_chunks(conn: sqlite3.Connection) -> Iterator[list[_SourcePlaythrough]]:
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
            by_pk[row[0]].append(row[1:])
        exposures: dict[int, list[ExposureRow]] = {pk: [] for pk in by_pk}
        for pk, *exposure in conn.execute(_EXPOSURE_SQL, (first, last)):
            exposures[pk].append((*exposure,))
        yield [(s, by_pk[s.pk], exposures[s.pk]) for s in states if s.pk is not None]


_EXPOSURE_SQL = (
    "SELECT playthrough, experiment, arm, node, seq, at FROM exposures "
    "WHERE playthrough BETWEEN ? AND ? ORDER BY playthrough, seq"
)
