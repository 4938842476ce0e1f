"""Merging logs gathered on several machines into one.

Playthroughs are matched by their globally unique id and events by ``(playthrough id, seq)``,
so merging the same log twice adds nothing, and merging a later copy of a log adds only the
events recorded since (a playthrough that went on is extended, its state replayed). Every row
goes through :func:`branching.log.writer.write_batch`, one whole playthrough per transaction
at least, so an interrupted merge can simply be run again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from branching.log.errors import LogOutdated, LogUnavailable
from branching.log.state import (
    EVENT_COLUMNS,
    EventRow,
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


def merge_into(
    target: ChoiceLog, source: str | os.PathLike[str], *, batch_size: int = 20_000
) -> MergeStats:
    """Add to ``target`` every playthrough and event of the log at ``source`` it lacks.

    ``source`` is opened read-only and never modified (an older-schema source is upgraded in
    a temporary copy).

    Raises:
        LogUnavailable: ``source`` cannot be read, or is the target itself.
    """
    src_path = Path(os.fspath(source)).expanduser()
    if target.path is not None and src_path.exists() and _same_file(src_path, target.path):
        raise LogUnavailable(src_path, "it is the output log itself")
    with _open_source(src_path) as src:
        return _merge(target, src, batch_size=batch_size)


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
                    old.backup(new)
            except sqlite3.Error as e:
                raise LogUnavailable(self.path, f"cannot copy it to upgrade it ({e})") from e
            self.log = ChoiceLog.open(copy, durable=False)
        return self.log

    def __exit__(self, *exc: object) -> None:
        if self.log is not None:
            self.log.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _merge(target: ChoiceLog, src: ChoiceLog, *, batch_size: int) -> MergeStats:
    stats = MergeStats()
    batch: list[Pending] = []
    size = 0
    target.set_bulk_mode(True)
    try:
        for chunk in _source_chunks(src):
            ids = [state.id for state, _ in chunk]
            present = {
                row[0]: row[1]
                for row in target.conn.execute(
                    "SELECT id, event_count FROM playthroughs WHERE id IN ({})".format(
                        ", ".join("?" for _ in ids)
                    ),
                    ids,
                )
            }
            for state, rows in chunk:
                have = present.get(state.id)
                if have is None:
                    pending = Pending(replace(state, pk=None), None, rows)
                    stats.playthroughs_added += 1
                elif have >= state.event_count:
                    stats.playthroughs_unchanged += 1
                    continue
                else:
                    extended = _extend(target, state.id, rows, stats)
                    if extended is None:
                        continue
                    pending = extended
                    stats.playthroughs_extended += 1
                stats.events_added += len(pending.rows)
                batch.append(pending)
                size += len(pending.rows) + 1
                if size >= batch_size:
                    _flush(target, batch)
                    batch, size = [], 0
        _flush(target, batch)
    finally:
        target.set_bulk_mode(False)
    return stats


def _flush(target: ChoiceLog, batch: list[Pending]) -> None:
    if batch:
        with target.write_transaction() as conn:
            write_batch(conn, batch)


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
        values = dict(zip(EVENT_COLUMNS, row, strict=True))
        new_rows.append(apply_event(state, row_to_event(values["kind"], values), values["at"]))
    return Pending(state, before, new_rows)


def _source_chunks(src: ChoiceLog) -> Iterator[list[tuple[PlaythroughState, list[EventRow]]]]:
    """Source playthroughs with all their event rows, ``_CHUNK`` playthroughs at a time."""
    last = 0
    conn = src.conn
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
        yield [(s, by_pk[s.pk]) for s in states if s.pk is not None]
