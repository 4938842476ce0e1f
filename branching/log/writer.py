"""Writing to the log: the one write path, the live recorder and the bulk writer.

Every row that enters the log goes through :func:`write_batch`, inside a write transaction:
live play (one event per transaction, ``synchronous=FULL``), the bulk writer (many
playthroughs per transaction) and ``branching log merge``. Roll-up tables that must stay
current with the events (analytics) belong in :func:`write_batch`: it sees each playthrough's
state before and after the batch and every new event row, all in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from branching.log.errors import LogWriteError, UnknownPlaythrough
from branching.log.exposures import update_experiments
from branching.log.rollups import update_rollups
from branching.log.runs import update_runs
from branching.log.shares import update_shares
from branching.log.state import (
    EVENT_COLUMNS,
    MUTABLE_COLUMNS,
    ORIGINS,
    PLAYTHROUGH_COLUMNS,
    EventRow,
    ExposureRow,
    Origin,
    PlaythroughState,
    Snapshot,
    apply_event,
    exposure_row,
)
from branching.log.times import EARLIEST, LAST, unrecordable_text
from branching.play.events import Event, Exposed, PlaythroughInfo

if TYPE_CHECKING:
    from branching.log.store import ChoiceLog

# Python's sqlite3 (3.11) looks every bound None up as something to adapt: a miss in its adapter
# registry, then an AttributeError raised, formatted and cleared on its protocol type. Event
# rows are mostly NULLs, and that was half the cost of inserting them (7.9 vs 4.1 us a row,
# measured). An adapter for None that returns it unchanged is one dictionary hit and binds the
# same NULL. It is process-wide, and changes no value any connection stores.
# (A builtin, not a lambda: a Python-level call per None would cost most of what this saves.)
sqlite3.register_adapter(type(None), cast("Callable[[None], None]", {}.get))

_INSERT_PLAYTHROUGH = "INSERT INTO playthroughs ({}) VALUES ({})".format(
    ", ".join(PLAYTHROUGH_COLUMNS), ", ".join("?" * len(PLAYTHROUGH_COLUMNS))
)
# The event_count guard makes a concurrent writer to the same playthrough an error, not a
# silent overwrite of its state.
_UPDATE_PLAYTHROUGH = "UPDATE playthroughs SET {} WHERE pk = ? AND event_count = ?".format(
    ", ".join(f"{c} = ?" for c in MUTABLE_COLUMNS)
)
_INSERT_EVENT = "INSERT INTO events (playthrough, {}) VALUES (?, {})".format(
    ", ".join(EVENT_COLUMNS), ", ".join("?" for _ in EVENT_COLUMNS)
)
# Bulk batches insert this many events per statement: binding a long VALUES list costs SQLite
# about a quarter less per row than one statement per row (measured: 386k vs 307k rows/s).
_ROWS_PER_INSERT = 64
_INSERT_EVENTS = "INSERT INTO events (playthrough, {}) VALUES {}".format(
    ", ".join(EVENT_COLUMNS),
    ", ".join(["({})".format(", ".join("?" * (len(EVENT_COLUMNS) + 1)))] * _ROWS_PER_INSERT),
)
SELECT_PLAYTHROUGH = "SELECT {} FROM playthroughs".format(", ".join(PLAYTHROUGH_COLUMNS))


@dataclass(slots=True)
class Pending:
    """One playthrough's part of a batch.

    ``state`` is the playthrough after ``rows``; ``before`` its mutable columns before them
    (``None`` for a playthrough not yet in the file, whose row is inserted and whose ``pk`` is
    assigned by :func:`write_batch`). ``rows`` are new event rows, in ``seq`` order;
    ``exposures`` new experiment exposures (:mod:`branching.log.exposures`).
    """

    state: PlaythroughState
    before: Snapshot | None
    rows: list[EventRow] = field(default_factory=list)
    exposures: list[ExposureRow] = field(default_factory=list)

    def add(self, event: Event, at: float) -> None:
        """Apply ``event`` to the state and keep its row (or its exposure)."""
        if isinstance(event, Exposed):
            self.exposures.append(exposure_row(self.state, event, at))
        else:
            self.rows.append(apply_event(self.state, event, at))


class Prepared(NamedTuple):
    """A whole new playthrough with its rows worked out, ready to write: plain tuples, so it
    crosses a process boundary cheaply (``branching simulate`` prepares playthroughs in worker
    processes and one process writes them). Made by :func:`prepare_playthrough`, written by
    :meth:`BulkWriter.write_prepared`."""

    #: The playthrough's set-once columns (:data:`~branching.log.state.FIXED_COLUMNS`).
    fixed: tuple[Any, ...]
    #: Its mutable columns after its events (:data:`~branching.log.state.MUTABLE_COLUMNS`).
    snapshot: Snapshot
    rows: list[EventRow]
    exposures: list[ExposureRow]

    def pending(self) -> Pending:
        return Pending(PlaythroughState(None, *self.fixed, *self.snapshot), None, self.rows,
                       self.exposures)  # fmt: skip


def prepare_playthrough(
    info: PlaythroughInfo,
    events: Iterable[tuple[float, Event]],
    *,
    started_at: float,
    origin: Origin = "simulated",
) -> Prepared:
    """A new playthrough's rows and final state, by the same rules as every writer
    (:func:`~branching.log.state.apply_event`), without touching a log."""
    pending = Pending(PlaythroughState.new(info, at=started_at, origin=origin), None)
    add = pending.add
    for at, event in events:
        add(event, at)
    state = pending.state
    return Prepared(state.fixed_values(), state.snapshot(), pending.rows, pending.exposures)


def write_batch(conn: sqlite3.Connection, batch: Sequence[Pending]) -> None:
    """Write ``batch``: insert new playthroughs, update changed ones, insert event rows.

    Must run inside a write transaction (``ChoiceLog.write_transaction()``); it is the only
    code that inserts events or changes a playthrough's state. On error nothing is kept (the
    caller's transaction rolls back) and the ``pk`` of new playthroughs is reset.
    """
    new = [p.state for p in batch if p.before is None]
    _check_times(batch)
    try:
        if new:
            (top,) = conn.execute("SELECT coalesce(max(pk), 0) FROM playthroughs").fetchone()
            for offset, state in enumerate(new, start=top + 1):
                state.pk = offset
            conn.executemany(
                _INSERT_PLAYTHROUGH,
                [(s.pk, *s.fixed_values(), *s.snapshot()) for s in new],
            )
        updates = [
            (*p.state.snapshot(), p.state.pk, p.before[-1])
            for p in batch
            if p.before is not None and p.rows
        ]
        if updates:
            cursor = conn.executemany(_UPDATE_PLAYTHROUGH, updates)
            if cursor.rowcount != len(updates):
                raise LogWriteError(
                    "another writer changed the same playthrough at the same time; "
                    "nothing from this batch was recorded"
                )
        _insert_events(conn, batch)
        # Report roll-ups, in the same transaction (see branching/log/rollups.py), and the
        # experiments' exposures and per-arm counts (branching/log/exposures.py), and what
        # viewers see of each other: choice shares and runs to endings (shares.py, runs.py).
        update_rollups(conn, batch)
        update_experiments(conn, batch)
        update_shares(conn, batch)
        update_runs(conn, batch)
    except BaseException as e:
        for state in new:
            state.pk = None
        if isinstance(e, sqlite3.IntegrityError):
            raise LogWriteError(_integrity_message(e)) from e
        raise


_AT = EVENT_COLUMNS.index("at")


def _check_times(batch: Sequence[Pending]) -> None:
    """Refuse a time no event can have (a broken clock, a simulation spread over a million
    days): before 1970 or after 9999, or not a number. The log never stores one (``branching
    log check`` reports those already stored)."""
    for pending in batch:
        state = pending.state
        if not EARLIEST <= state.started_at <= LAST:
            raise LogWriteError(
                f"playthrough {state.id} starts at {unrecordable_text(state.started_at)}: "
                "outside the years 1970 to 9999 (is the clock wrong?); nothing was recorded"
            )
        for row in pending.rows:
            if not EARLIEST <= row[_AT] <= LAST:
                raise LogWriteError(
                    f"event {row[0]} of playthrough {state.id} is at "
                    f"{unrecordable_text(row[_AT])}: outside the years 1970 to 9999 (is the clock "
                    "wrong?); nothing was recorded"
                )
        for exposure in pending.exposures:
            if not EARLIEST <= exposure[4] <= LAST:
                raise LogWriteError(
                    f"the exposure of playthrough {state.id} to {exposure[0]!r} is at "
                    f"{unrecordable_text(exposure[4])}: outside the years 1970 to 9999 (is the "
                    "clock wrong?); nothing was recorded"
                )


def _insert_events(conn: sqlite3.Connection, batch: Sequence[Pending]) -> None:
    # One flat list of every value, cut into statements of _ROWS_PER_INSERT rows (a pass over
    # the rows instead of a tuple per row and then per statement).
    flat: list[Any] = []
    extend = flat.extend
    for pending in batch:
        head = (pending.state.pk,)
        for row in pending.rows:
            extend(head)
            extend(row)
    width = len(EVENT_COLUMNS) + 1
    rows = len(flat) // width
    whole = rows - rows % _ROWS_PER_INSERT
    step = _ROWS_PER_INSERT * width
    if whole:
        conn.executemany(
            _INSERT_EVENTS, [flat[i : i + step] for i in range(0, whole * width, step)]
        )
    if whole < rows:
        conn.executemany(
            _INSERT_EVENT, [flat[i : i + width] for i in range(whole * width, rows * width, width)]
        )


def _integrity_message(error: sqlite3.IntegrityError) -> str:
    text = str(error)
    if "playthroughs.id" in text:
        return "a playthrough with this id is already in the log (ids must be unique)"
    if "events.playthrough, events.seq" in text:
        return "an event with this sequence number is already recorded (two writers at once?)"
    return f"the log refused the batch ({text})"


def load_state(
    conn: sqlite3.Connection, *, pk: int | None = None, id: str | None = None
) -> PlaythroughState | None:
    """Read one playthrough's state by ``pk`` or by public ``id``."""
    if pk is not None:
        row = conn.execute(SELECT_PLAYTHROUGH + " WHERE pk = ?", (pk,)).fetchone()
    else:
        row = conn.execute(SELECT_PLAYTHROUGH + " WHERE id = ?", (id,)).fetchone()
    return None if row is None else PlaythroughState(*row)


class LogRecorder:
    """Records one playthrough's events, each durably before :meth:`record` returns.

    Get one from :meth:`ChoiceLog.start_playthrough` or :meth:`ChoiceLog.resume_playthrough`.
    It implements :class:`branching.play.events.Recorder`. Use it from the thread that opened the
    log, or through :func:`branching.log.open_recorder`, whose lock lets any thread record.
    """

    def __init__(self, log: ChoiceLog, state: PlaythroughState) -> None:
        assert state.pk is not None
        self._log = log
        self._pk = state.pk
        self.playthrough_id = state.id
        self.closed = False

    def record(self, event: Event, *, at: float | None = None) -> None:
        """Append ``event`` (stamped ``at``, default the log's clock) and commit it.

        With a durable log (the default) the event is on disk when this returns.

        Raises:
            LogWriteError: the event could not be written (nothing was recorded).
        """
        if self.closed:
            raise LogWriteError(f"the recorder of playthrough {self.playthrough_id} is closed")
        when = self._log.clock() if at is None else at
        with self._log.write_transaction() as conn:
            state = load_state(conn, pk=self._pk)
            if state is None:
                raise LogWriteError(
                    f"playthrough {self.playthrough_id} is no longer in the log (forgotten?)"
                )
            if at is None and state.event_count and when < state.updated_at:
                # The wall clock stepped back (NTP, a resume on another machine): stamp the
                # event at the last one's time, so a playthrough's times never go backwards
                # (`log check` calls that impossible).
                when = state.updated_at
            pending = Pending(state, state.snapshot())
            pending.add(event, when)
            write_batch(conn, [pending])

    def close(self) -> None:
        """Stop recording. The playthrough keeps its status (``open`` unless it ended)."""
        self.closed = True


class BulkWriter:
    """Writes many playthroughs fast, in big transactions, with times given by the caller.

    For the simulator and imports. Events are buffered and written ``batch_size`` at a time.
    While the writer is open the connection uses ``synchronous=NORMAL`` (a killed process
    loses at most the unflushed buffer, never a committed batch; a power cut may lose the last
    batches) and does not re-check foreign keys per row (:func:`write_batch` assigns the keys
    itself; ``branching log check`` verifies them). A whole playthrough given to
    :meth:`write_playthrough` is always written in one transaction.

    Use it as a context manager; leaving the block flushes what is buffered::

        with log.bulk_writer(batch_size=20_000) as writer:
            # whole playthroughs at once (fastest):
            writer.write_playthrough(info, [(t0, NodeEntered("start")),
                                            (t1, ChoiceMade("start", "a", "a", 1200))])
            # or event by event, interleaving playthroughs:
            writer.start(info2, at=t0)
            writer.record(info2.playthrough_id, NodeEntered("start"), at=t0)

    Times are Unix seconds (floats). Playthroughs get ``origin`` (default ``"simulated"``) so
    reports can tell them from viewers' ``"live"`` ones. ``playthroughs_written`` and
    ``events_written`` count what has been committed so far.
    """

    def __init__(
        self, log: ChoiceLog, *, batch_size: int = 20_000, origin: Origin = "simulated"
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
        self._log = log
        self.batch_size = batch_size
        self.origin: Origin = origin
        self._batch: list[Pending] = []
        self._in_batch: dict[str, Pending] = {}
        self._states: dict[str, PlaythroughState] = {}
        self._buffered = 0
        self.playthroughs_written = 0
        self.events_written = 0
        self._closed = False
        log.set_bulk_mode(True)

    def write_playthrough(
        self,
        info: PlaythroughInfo,
        events: Iterable[tuple[float, Event]],
        *,
        started_at: float | None = None,
    ) -> None:
        """Add a whole playthrough: ``events`` are ``(time, event)`` pairs in order.

        ``started_at`` defaults to the first event's time. The playthrough's status follows
        its events (see :func:`branching.log.state.apply_event`).
        """
        items = events if isinstance(events, list) else list(events)
        if started_at is None:
            if not items:
                raise ValueError("a playthrough without events needs started_at")
            started_at = items[0][0]
        pending = Pending(PlaythroughState.new(info, at=started_at, origin=self.origin), None)
        for at, event in items:
            pending.add(event, at)
        self._batch.append(pending)
        self._buffered += len(pending.rows) + 1
        if self._buffered >= self.batch_size:
            self.flush()

    def write_prepared(self, playthroughs: Iterable[Prepared]) -> None:
        """Add new playthroughs made by :func:`prepare_playthrough` (for example in other
        processes); written like :meth:`write_playthrough`'s, with the ``origin`` they were
        prepared with."""
        for prepared in playthroughs:
            pending = prepared.pending()
            self._batch.append(pending)
            self._buffered += len(pending.rows) + 1
        if self._buffered >= self.batch_size:
            self.flush()

    def start(self, info: PlaythroughInfo, *, at: float) -> None:
        """Open a playthrough whose events will come through :meth:`record`."""
        state = PlaythroughState.new(info, at=at, origin=self.origin)
        if info.playthrough_id in self._states:
            raise ValueError(f"playthrough {info.playthrough_id} already started")
        self._states[info.playthrough_id] = state
        pending = Pending(state, None)
        self._batch.append(pending)
        self._in_batch[state.id] = pending
        self._buffered += 1

    def record(self, playthrough_id: str, event: Event, *, at: float) -> None:
        """Append one event to a playthrough opened with :meth:`start` (or already logged)."""
        pending = self._in_batch.get(playthrough_id)
        if pending is None:
            state = self._states.get(playthrough_id)
            if state is None:
                state = load_state(self._log.conn, id=playthrough_id)
                if state is None:
                    raise UnknownPlaythrough(playthrough_id)
                self._states[playthrough_id] = state
            pending = Pending(state, state.snapshot() if state.pk is not None else None)
            self._batch.append(pending)
            self._in_batch[playthrough_id] = pending
        pending.add(event, at)
        self._buffered += 1
        if self._buffered >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Commit everything buffered, in one transaction."""
        if not self._batch:
            return
        batch = self._batch
        self._batch = []
        self._in_batch = {}
        self._buffered = 0
        # A failed batch is dropped (the error says nothing of it was recorded), so closing
        # the writer afterwards does not try it again.
        try:
            with self._log.write_transaction() as conn:
                write_batch(conn, batch)
        except BaseException as stop:
            # A Ctrl-C can land as COMMIT returns: the batch is then in the file, and the
            # counts must say so (simulate's stop message reports them).
            if not (isinstance(stop, KeyboardInterrupt) and self._committed(batch)):
                for p in batch:  # their in-memory state ran ahead of the file
                    self._states.pop(p.state.id, None)
                raise
            self._count(batch)
            raise
        self._count(batch)

    def _committed(self, batch: list[Pending]) -> bool:
        """Whether the file holds ``batch``, judged by its last playthrough with new rows: its
        row (by the key :func:`write_batch` gave it) has the event count the batch left."""
        last = next((p.state for p in reversed(batch) if p.rows or p.before is None), None)
        if last is None or last.pk is None:
            return False
        try:
            row = self._log.conn.execute(
                "SELECT event_count FROM playthroughs WHERE pk = ? AND id = ?", (last.pk, last.id)
            ).fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] == last.event_count

    def _count(self, batch: list[Pending]) -> None:
        self.playthroughs_written += sum(1 for p in batch if p.before is None)
        self.events_written += sum(len(p.rows) for p in batch)
        # Finished playthroughs need no state in memory; a later event reloads it.
        self._states = {k: s for k, s in self._states.items() if s.status == "open"}

    def close(self) -> None:
        """Flush and give the log back its normal durability."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._log.set_bulk_mode(False)

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
