"""The choice log: opening a file safely and the operations players and tools call."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlite_utils import Database

from branching.log import queries, schema
from branching.log.errors import (
    LogError,
    LogMissing,
    LogOutdated,
    LogTooNew,
    LogUnavailable,
    LogWriteError,
    UnknownPlaythrough,
    describe_sqlite_error,
)
from branching.log.exposures import forget_exposures
from branching.log.rollups import forget_playthroughs
from branching.log.rollups import touch as touch_rollups
from branching.log.runs import forget_runs
from branching.log.shares import forget_shares
from branching.log.state import Origin, PlaythroughState, PlaythroughStatus
from branching.log.writer import BulkWriter, LogRecorder, Pending, load_state, write_batch
from branching.play.events import PlaythroughInfo

if TYPE_CHECKING:
    from branching.story.model import Story

MEMORY = ":memory:"
#: How long a writer waits for another process's transaction before giving up (seconds).
#: Log transactions last milliseconds; this only matters when something is badly stuck.
DEFAULT_BUSY_TIMEOUT = 30.0

F = TypeVar("F", bound=Callable[..., Any])


def _reads(method: F) -> F:
    """Report SQLite errors of a read (a damaged page...) as :class:`LogError`."""

    @functools.wraps(method)
    def wrapper(self: ChoiceLog, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise LogError(
                f"cannot read the choice log {self._shown}: {describe_sqlite_error(e)}"
            ) from e

    return wrapper  # type: ignore[return-value]


class ChoiceLog:
    """An open choice log (one SQLite file).

    Open with :meth:`open`; use from the thread that opened it (players record through
    :func:`branching.log.open_recorder`, which any thread may use). Live play:
    :meth:`start_playthrough` / :meth:`resume_playthrough` return a :class:`LogRecorder`.
    Simulations and imports: :meth:`bulk_writer`.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | None,
        *,
        durable: bool,
        readonly: bool,
        clock: Callable[[], float],
        migrated_from: int | None,
    ) -> None:
        self.conn = conn
        self.db = Database(conn, execute_plugins=False)
        self.path = path
        self.durable = durable
        self.readonly = readonly
        self.clock = clock
        #: The schema version the file had before this open upgraded it (``None``: no upgrade).
        self.migrated_from = migrated_from
        self._synchronous = "FULL" if durable else "NORMAL"

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        durable: bool = True,
        readonly: bool = False,
        outdated_ok: bool = False,
        create: bool = True,
        create_parent: bool = False,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        check_same_thread: bool = True,
        on_upgrade: Callable[[str], None] | None = None,
    ) -> ChoiceLog:
        """Open (creating and upgrading as needed) the log at ``path``.

        Args:
            path: the database file, or ``":memory:"`` (tests).
            durable: ``synchronous=FULL``, so a committed event survives power loss as well as
                a killed process. Use it for live play; bulk writers lower it themselves.
            readonly: open without writing anything, to the file or beside it (no upgrade, no
                WAL switch, no ``-wal``/``-shm`` file left behind; see :func:`readonly_uri`).
            outdated_ok: with ``readonly``, read a log of an older schema as it is instead of
                refusing it (:class:`LogOutdated`): for commands that read only the
                playthroughs and events, which every schema version has.
            create: create the file if missing (else :class:`LogMissing`).
            create_parent: create a missing parent directory (the default location); an
                explicit ``--db`` in a directory that does not exist is an error instead.
            clock: the time source for live events (Unix seconds).
            busy_timeout: seconds to wait for another process's write.
            check_same_thread: ``False`` lets other threads use the connection; the caller
                must then serialise every call (as :func:`open_recorder` does with a lock).
            on_upgrade: called with a one-line notice just before an older log is upgraded,
                which rebuilds roll-ups from every event (minutes for millions of events).

        Raises:
            LogUnavailable: with a message naming the file and the problem (subclasses
                :class:`LogMissing`, :class:`LogTooNew`, :class:`LogOutdated`).
        """
        memory = os.fspath(path) == MEMORY
        file = None if memory else Path(os.fspath(path)).expanduser()
        if file is not None:
            _preflight(file, readonly=readonly, create=create, create_parent=create_parent)
        shown = file if file is not None else MEMORY
        if file is None:
            targets = [(MEMORY, False)]
        elif readonly:
            targets = [(readonly_uri(file), True)]
        else:
            targets = [(str(file), False)]
        for target, uri_mode in targets:
            try:
                conn = sqlite3.connect(
                    target,
                    uri=uri_mode,
                    timeout=busy_timeout,
                    isolation_level=None,
                    check_same_thread=check_same_thread,
                )
            except sqlite3.Error as e:
                raise LogUnavailable(shown, describe_sqlite_error(e)) from e
            try:
                migrated_from = _prepare(
                    conn,
                    shown,
                    readonly=readonly,
                    outdated_ok=outdated_ok,
                    memory=memory,
                    on_upgrade=on_upgrade,
                )
                conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                conn.execute("PRAGMA foreign_keys = ON")
                if not readonly:
                    conn.execute("PRAGMA journal_size_limit = 67108864")  # trim the WAL: 64 MB
            except LogUnavailable as e:
                conn.close()
                if readonly and Path(f"{file}-wal").exists() and "cannot open" in e.reason:
                    raise LogUnavailable(
                        shown,
                        "its -wal file holds recent changes that SQLite can read only with a "
                        "-shm file beside it, and it cannot create one there (read-only "
                        "directory); copy the log with its -wal file to a writable folder",
                    ) from e
                raise
            except BaseException:
                conn.close()
                raise
            break
        return cls(
            conn,
            file,
            durable=durable,
            readonly=readonly,
            clock=clock,
            migrated_from=migrated_from,
        )

    @staticmethod
    def check_path(path: str | os.PathLike[str], *, create: bool = True) -> None:
        """Refuse a path :meth:`open` would refuse for writing (a directory, a missing or
        read-only directory, a read-only file) without creating or writing anything.

        Raises:
            LogUnavailable: with the message :meth:`open` would give.
        """
        _preflight(
            Path(os.fspath(path)).expanduser(), readonly=False, create=create, create_parent=False
        )

    def close(self) -> None:
        """Close the file. Recorders of this log must not be used afterwards."""
        self.conn.close()

    def __enter__(self) -> ChoiceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema.read_version(self.conn)

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: commits on success, rolls back on error.

        Taking the write lock up front means a busy database is waited for (busy timeout),
        never failed mid-transaction. SQLite errors come out as :class:`LogWriteError`.
        """
        if self.readonly:
            raise LogWriteError(f"the choice log {self._shown} was opened read-only")
        conn = self.conn
        for attempt in range(3):
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.Error as e:
                if attempt < 2 and schema._is_busy(e):
                    continue  # each attempt already waited the busy timeout
                raise LogWriteError(
                    f"cannot write to {self._shown}: {describe_sqlite_error(e)}"
                ) from e
            except BaseException:
                # A Ctrl-C lands when the call returns: the transaction may have begun. Left
                # open, it would hold the write lock and refuse every PRAGMA after it.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as e:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise LogWriteError(
                    f"cannot write to {self._shown}: {describe_sqlite_error(e)}"
                ) from e
            raise

    def set_bulk_mode(self, on: bool) -> None:
        """Big batched writes: ``synchronous=NORMAL`` and no per-row foreign-key lookups.

        Off again restores what :meth:`open` chose. Only for writers whose keys are correct by
        construction (:class:`BulkWriter`, merge).
        """
        self.conn.execute(f"PRAGMA synchronous = {'NORMAL' if on else self._synchronous}")
        self.conn.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")

    def start_playthrough(
        self, info: PlaythroughInfo, *, at: float | None = None, origin: Origin = "live"
    ) -> LogRecorder:
        """Record a new playthrough (status ``open``) and return its recorder.

        Raises:
            LogWriteError: e.g. the id is already in the log.
        """
        state = PlaythroughState.new(info, at=self.clock() if at is None else at, origin=origin)
        with self.write_transaction() as conn:
            write_batch(conn, [Pending(state, None)])
        return LogRecorder(self, state)

    @_reads
    def resume_playthrough(self, playthrough_id: str) -> LogRecorder:
        """A recorder that continues ``playthrough_id`` (its next event gets the next ``seq``).

        Raises:
            UnknownPlaythrough: no such playthrough (e.g. forgotten meanwhile).
        """
        state = load_state(self.conn, id=playthrough_id)
        if state is None:
            raise UnknownPlaythrough(playthrough_id)
        return LogRecorder(self, state)

    def bulk_writer(self, *, batch_size: int = 20_000, origin: Origin = "simulated") -> BulkWriter:
        """A :class:`BulkWriter` for many playthroughs with explicit times (simulator, imports)."""
        return BulkWriter(self, batch_size=batch_size, origin=origin)

    def forget_viewer(self, viewer: str) -> tuple[int, int]:
        """Delete every playthrough and event of ``viewer``; return ``(playthroughs, events)``.

        Deleted content is overwritten (``secure_delete``) and the WAL is checkpointed and
        truncated, so the data does not linger in the file.
        """
        self.conn.execute("PRAGMA secure_delete = ON")
        try:
            with self.write_transaction() as conn:
                # Take them out of the report roll-ups first (see branching/log/rollups.py).
                pks = conn.execute("SELECT pk FROM playthroughs WHERE viewer = ?", (viewer,))
                gone = [pk for (pk,) in pks.fetchall()]
                forget_playthroughs(conn, gone)
                forget_exposures(conn, gone)
                forget_shares(conn, gone)
                forget_runs(conn, gone)
                events = conn.execute(
                    "DELETE FROM events WHERE playthrough IN "
                    "(SELECT pk FROM playthroughs WHERE viewer = ?)",
                    (viewer,),
                ).rowcount
                playthroughs = conn.execute(
                    "DELETE FROM playthroughs WHERE viewer = ?", (viewer,)
                ).rowcount
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.conn.execute("PRAGMA secure_delete = OFF")
        return playthroughs, events

    # -- reading -----------------------------------------------------------------------------

    @_reads
    def playthrough(self, playthrough_id: str) -> queries.PlaythroughSummary | None:
        """One playthrough's summary, or ``None``."""
        return queries.get_playthrough(self.conn, playthrough_id)

    @_reads
    def playthroughs(
        self,
        *,
        viewer: str | None = None,
        story_id: str | None = None,
        status: PlaythroughStatus | None = None,
        story_hash: str | None = None,
        limit: int | None = None,
    ) -> list[queries.PlaythroughSummary]:
        """Playthroughs matching all filters given, most recently active first."""
        return queries.list_playthroughs(
            self.conn,
            viewer=viewer,
            story_id=story_id,
            status=status,
            story_hash=story_hash,
            limit=limit,
        )

    def find_open_playthrough(
        self, viewer: str, story_id: str, *, story_hash: str | None = None
    ) -> queries.PlaythroughSummary | None:
        """The viewer's most recently active ``open`` playthrough of the story, if any.

        A player offers to resume it (pass ``story_hash`` to ignore playthroughs of another
        version of the story); to resume, replay :meth:`events` into the engine and record
        through :meth:`resume_playthrough`.
        """
        found = self.playthroughs(
            viewer=viewer, story_id=story_id, status="open", story_hash=story_hash, limit=1
        )
        return found[0] if found else None

    @_reads
    def events(self, playthrough_id: str) -> list[queries.LoggedEvent]:
        """The playthrough's events in order (``seq`` 0, 1, ...), with their times.

        Raises:
            UnknownPlaythrough: no such playthrough.
        """
        row = self.conn.execute(
            "SELECT pk FROM playthroughs WHERE id = ?", (playthrough_id,)
        ).fetchone()
        if row is None:
            raise UnknownPlaythrough(playthrough_id)
        return queries.load_events(self.conn, row[0])

    @_reads
    def export_viewer(self, viewer: str) -> dict[str, Any]:
        """Everything stored about ``viewer``, as JSON-ready data."""
        return {
            "viewer": viewer,
            "log": None if self.path is None else str(self.path),
            "schema_version": self.schema_version,
            "exported_at": queries.iso(time.time()),
            "playthroughs": queries.export_viewer(self.conn, viewer),
        }

    @_reads
    def info(self) -> queries.LogInfo:
        """Counts and settings for ``branching log info``."""
        return queries.log_info(self.conn, self.path)

    @_reads
    def check(self, *, full: bool = False, limit: int = 20) -> queries.Problems:
        """Problems in the file or in the log's invariants (empty when sound); see
        :func:`branching.log.queries.check_log`."""
        return queries.check_log(self.conn, full=full, limit=limit)

    @_reads
    def check_story(self, story: Story, *, limit: int = 20) -> queries.StoryCheck:
        """Replay the playthroughs of ``story`` through the engine; see
        :func:`branching.log.queries.check_story`."""
        return queries.check_story(self.conn, story, limit=limit)

    @property
    def _shown(self) -> str:
        return MEMORY if self.path is None else str(self.path)


def _preflight(path: Path, *, readonly: bool, create: bool, create_parent: bool) -> None:
    """Refuse unusable paths with a message that says why, before SQLite gets to them."""
    if path.is_dir():
        raise LogUnavailable(path, "it is a directory (give a file name, e.g. choices.db)")
    if path.exists() and not path.is_file():
        # SQLite would open a device and create its -journal beside it (/dev/null-journal).
        raise LogUnavailable(
            path, "it is not a regular file (a device, pipe or socket); give a file name"
        )
    parent = path.parent
    if not create and path.is_file() and path.stat().st_size == 0:
        # SQLite takes an empty file for an empty database, and upgrading it would write a
        # whole log into a file a reader was only asked to read (a `touch`ed name, a typo).
        raise LogMissing(path, "it is empty: not a choice log (nothing was written there yet)")
    if not path.exists():
        if not create or readonly:
            raise LogMissing(path, "there is no choice log there yet")
        if not parent.exists():
            if not create_parent:
                raise LogUnavailable(path, f"the directory {str(parent)!r} does not exist")
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise LogUnavailable(
                    path, f"cannot create the directory {str(parent)!r} ({e.strerror})"
                ) from e
        if not parent.is_dir():
            raise LogUnavailable(path, f"{str(parent)!r} is not a directory")
    if readonly:
        if not os.access(path, os.R_OK):
            raise LogUnavailable(path, "the file is not readable (check its permissions)")
        return
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise LogUnavailable(path, "the file is read-only (check its permissions)")
    if not os.access(parent, os.W_OK | os.X_OK):
        # WAL mode keeps its -wal and -shm files next to the database.
        raise LogUnavailable(
            path, f"the directory {str(parent)!r} is not writable (the log needs its journal there)"
        )


#: Bytes 18 and 19 of an SQLite header: the file format versions, 2 and 2 in WAL mode.
_WAL_HEADER = b"\x02\x02"


def readonly_uri(file: Path) -> str:
    """The URI that reads ``file`` without writing anything, to it or beside it.

    ``mode=ro`` on a WAL database creates the ``-wal`` and ``-shm`` files beside it when they
    are missing and, being read-only, cannot remove them again: a "read-only" look left two
    files behind (and failed outright in a read-only directory). A WAL log with no ``-wal``
    file beside it has no connection open on it (SQLite keeps that file while any connection
    is open, and removes it when the last one closes cleanly) and nothing pending, so it is
    read as ``immutable=1``: no locks, no files. The one risk is a writer opening the log
    *during* the read and checkpointing into it, which a reader without locks cannot see
    (reads are short, except a long ``log merge``; do not merge a log someone is playing
    into). With a ``-wal`` file present, or a log not in WAL mode, ``mode=ro`` takes the
    ordinary read locks and creates nothing new.
    """
    uri = file.resolve().as_uri()
    try:
        with file.open("rb") as f:
            header = f.read(20)[18:20]
    except OSError:
        header = b""
    if header == _WAL_HEADER and not Path(f"{file}-wal").exists():
        return f"{uri}?immutable=1"
    return f"{uri}?mode=ro"


def _prepare(
    conn: sqlite3.Connection,
    shown: Path | str,
    *,
    readonly: bool,
    outdated_ok: bool = False,
    memory: bool,
    on_upgrade: Callable[[str], None] | None = None,
) -> int | None:
    """Check what the file is, switch to WAL and upgrade the schema; see :meth:`open`."""
    try:
        db = Database(conn, execute_plugins=False)
        # One read transaction, so both answers come from the same moment: read apart, a
        # process migrating the fresh file in between made it look like a foreign database
        # (no application id yet, but tables).
        conn.execute("BEGIN")
        try:
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            tables = [
                r[0]
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not r[0].startswith("sqlite_")
            ]
        finally:
            conn.execute("COMMIT")
        if app_id not in (0, schema.APPLICATION_ID) or (app_id == 0 and tables):
            raise LogUnavailable(
                shown,
                "it is an SQLite database but not a branching choice log"
                + (f" (it has tables {', '.join(sorted(tables)[:5])})" if tables else ""),
            )
        schema.check_not_newer(db)
        if app_id:
            # Before anything reads or writes a row: a view, a loose (non-STRICT) table or a
            # trigger put there by hand would otherwise crash a read or alter every write.
            problems = schema.catalog_problems(conn)
            if problems:
                raise LogUnavailable(
                    shown,
                    "its tables are not as branching creates them: "
                    + "; ".join(problems[:5])
                    + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                    + " (edited by hand or by another program? use a copy from before that)",
                )
            # Touch the right-hand edge of both tables: catches a truncated or damaged file
            # now, before a story starts, rather than at the first choice.
            conn.execute("SELECT max(pk) FROM playthroughs").fetchone()
            # (Not max(playthrough), max(seq): two aggregates scan all events, 2 s at 20 M.)
            conn.execute(
                "SELECT playthrough, seq FROM events ORDER BY playthrough DESC, seq DESC LIMIT 1"
            ).fetchone()
            touch_rollups(conn)
        if readonly:
            if schema.read_version(conn) < schema.SCHEMA_VERSION and not outdated_ok:
                raise LogOutdated(
                    shown,
                    "it was written by an older version of branching and must be upgraded, "
                    "which needs a file that may be written (make it writable, or copy it, "
                    "and run the command again: the upgrade keeps every row)",
                )
            return None
        if not memory:
            _enable_wal(conn)
        version = schema.read_version(conn)
        if version < schema.SCHEMA_VERSION:
            if on_upgrade is not None and app_id:
                (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
                on_upgrade(
                    f"Upgrading the choice log {shown} from schema version {version} to "
                    f"{schema.SCHEMA_VERSION} ({events:,} events; done once, it can take "
                    "minutes for millions of events)..."
                )
            before = schema.migrate(db)
            return before if before < schema.SCHEMA_VERSION else None
        return None
    except schema.SchemaTooNew as e:
        raise LogTooNew(
            shown, f"it was written by a newer version of branching ({e}); upgrade branching"
        ) from e
    except sqlite3.Error as e:
        raise LogUnavailable(shown, describe_sqlite_error(e)) from e


def _enable_wal(conn: sqlite3.Connection) -> None:
    for attempt in range(50):
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as e:
            # Switching a fresh file to WAL needs a moment alone with it.
            if schema._is_busy(e) and attempt < 49:
                time.sleep(0.02)
                continue
            raise
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch the journal to WAL (it is {mode})")
        return
