"""The choice log's schema: tables, indexes and the migrations that build them.

Tables are created explicitly here, never by a first insert, so every column has its declared
type (``STRICT`` tables), ``CHECK`` constraints guard the few enumerations, and indexes exist
before the first row. The DDL is plain SQL run inside :class:`sqlite_utils.Migrations`
functions because ``Table.create`` can express neither ``CHECK`` constraints nor
``WITHOUT ROWID``. (``CHECK`` constraints are written as ``OR`` chains: SQLite 3.40 evaluates
``x IN ('a', 'b')`` in a constraint by building a temporary index per row, which halved bulk
insert speed.)

The schema version is the number of migrations applied. It is kept in ``PRAGMA user_version``
(read on every open without touching a table) and, name by name, in sqlite-utils'
``_sqlite_migrations`` table. :func:`migrate` is the only place migrations run: under an
exclusive lock, re-checking the version once the lock is held, so any number of processes may
open a fresh file at the same moment.

To change the schema, append a migration to :data:`LOG_SCHEMA` (never edit an applied one);
``tests/unit/test_log_schema.py`` builds a log at every earlier version and checks it upgrades.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlite_utils import Database, Migrations

#: ``PRAGMA application_id`` of a choice log (ASCII ``brnc``): tells our files from other
#: SQLite databases, so ``--db`` pointed at someone else's database is refused, not altered.
APPLICATION_ID = 0x62726E63

MIGRATION_SET = "branching-log"

MigrationFn = Callable[[Database], None]


@dataclass
class LogSchema:
    """An ordered list of migrations; its version is how many there are."""

    name: str
    migrations: Migrations = field(init=False)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.migrations = Migrations(self.name)

    def migration(self, fn: MigrationFn) -> MigrationFn:
        """Register ``fn`` as the next migration (decorator)."""
        self.migrations(name=fn.__name__)(fn)
        self.names.append(fn.__name__)
        return fn

    @property
    def version(self) -> int:
        return len(self.names)


LOG_SCHEMA = LogSchema(MIGRATION_SET)


@LOG_SCHEMA.migration
def m001_playthroughs_and_events(db: Database) -> None:
    """One row per playthrough (its current state) and one per event, in order."""
    db.execute(
        """
        CREATE TABLE playthroughs (
            pk INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            story_id TEXT NOT NULL,
            story_version TEXT,
            story_hash TEXT NOT NULL,
            viewer TEXT NOT NULL,
            variant TEXT,
            origin TEXT NOT NULL DEFAULT 'live'
                CHECK (origin = 'live' OR origin = 'simulated' OR origin = 'imported'),
            status TEXT NOT NULL DEFAULT 'open'
                CHECK (status = 'open' OR status = 'completed' OR status = 'quit'
                       OR status = 'failed'),
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            ended_at REAL,
            last_node TEXT,
            ending TEXT,
            ending_kind TEXT
                CHECK (ending_kind = 'good' OR ending_kind = 'bad' OR ending_kind = 'neutral'),
            failure TEXT,
            event_count INTEGER NOT NULL DEFAULT 0
        ) STRICT
        """
    )
    # Clustered by (playthrough, seq): a path is one contiguous range, and bulk writes of new
    # playthroughs append at the end of the B-tree.
    db.execute(
        """
        CREATE TABLE events (
            playthrough INTEGER NOT NULL REFERENCES playthroughs (pk),
            seq INTEGER NOT NULL,
            at REAL NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind = 'enter' OR kind = 'choice' OR kind = 'rewind' OR kind = 'ending'
                       OR kind = 'quit' OR kind = 'fail'),
            node TEXT NOT NULL,
            choice TEXT,
            target TEXT,
            decision_ms INTEGER,
            timed_out INTEGER,
            step INTEGER,
            detail TEXT,
            ending_kind TEXT,
            PRIMARY KEY (playthrough, seq)
        ) STRICT, WITHOUT ROWID
        """
    )


@LOG_SCHEMA.migration
def m002_lookup_indexes(db: Database) -> None:
    """Indexes for resume/privacy lookups by viewer and for drop-offs by story."""
    db.table("playthroughs").create_index(
        ["viewer", "story_id", "status"], index_name="playthroughs_by_viewer"
    )
    db.table("playthroughs").create_index(
        ["story_id", "status", "last_node"], index_name="playthroughs_by_story"
    )


@LOG_SCHEMA.migration
def m003_playthrough_events_view(db: Database) -> None:
    """A view of events with the playthrough's public id, story and viewer, for ad-hoc SQL."""
    db.execute(
        """
        CREATE VIEW playthrough_events AS
        SELECT p.id AS playthrough_id, p.story_id, p.viewer, p.origin, e.seq, e.at, e.kind,
               e.node, e.choice, e.target, e.decision_ms, e.timed_out, e.step, e.detail,
               e.ending_kind
        FROM events e JOIN playthroughs p ON p.pk = e.playthrough
        """
    )


@LOG_SCHEMA.migration
def m004_analytics_rollups(db: Database) -> None:
    """Roll-up tables for ``branching report``, filled from the events already logged.

    Defined and kept current by :mod:`branching.log.rollups` (from :func:`write_batch`).
    """
    from branching.log.rollups import ROLLUP_DDL, rebuild_rollups

    for statement in ROLLUP_DDL:
        db.execute(statement)
    rebuild_rollups(db.conn)


@LOG_SCHEMA.migration
def m005_experiments(db: Database) -> None:
    """Experiment exposures, each viewer's first exposed playthrough, and per-arm counts.

    Defined and kept current by :mod:`branching.log.exposures` (from :func:`write_batch`).
    Older logs hold no exposures, so the tables start empty.
    """
    from branching.log.exposures import EXPERIMENT_DDL

    for statement in EXPERIMENT_DDL:
        db.execute(statement)


@LOG_SCHEMA.migration
def m006_playthrough_language(db: Database) -> None:
    """The language each playthrough was shown in, and roll-up cohorts split by it.

    Playthroughs logged before have no language (``NULL``), and so have the roll-up cohorts
    built from them: the counts stay exactly as they were, and no rebuild is needed.
    """
    db.execute("ALTER TABLE playthroughs ADD COLUMN language TEXT")
    db.execute("ALTER TABLE rollup_cohorts ADD COLUMN language TEXT")
    db.execute("DROP INDEX rollup_cohorts_key")
    db.execute(
        """
        CREATE UNIQUE INDEX rollup_cohorts_key ON rollup_cohorts (
            story_id, ifnull(story_version, char(0)), story_hash, ifnull(variant, char(0)),
            ifnull(language, char(0)), origin, day
        )
        """
    )


@LOG_SCHEMA.migration
def m007_audience(db: Database) -> None:
    """What the viewers' side reads: choice shares per node (distinct viewers, each by their
    first decision there) and each viewer's runs to an ending, filled from the events already
    logged.

    Defined and kept current by :mod:`branching.log.shares` and :mod:`branching.log.runs`
    (from :func:`write_batch`).
    """
    from branching.log.runs import RUNS_DDL, rebuild_runs
    from branching.log.shares import SHARES_DDL, rebuild_shares

    for statement in (*SHARES_DDL, *RUNS_DDL):
        db.execute(statement)
    rebuild_shares(db.conn)
    rebuild_runs(db.conn)


SCHEMA_VERSION = LOG_SCHEMA.version


class SchemaTooNew(Exception):
    """The database holds a schema newer than the code (version or migration names)."""


def read_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_not_newer(db: Database, schema: LogSchema = LOG_SCHEMA) -> None:
    """Raise :class:`SchemaTooNew` if the file has migrations this code does not know."""
    version = read_version(db.conn)
    if version > schema.version:
        raise SchemaTooNew(f"schema version {version}, this branching knows up to {schema.version}")
    if "_sqlite_migrations" in db.table_names():
        known = set(schema.names)
        unknown = [m.name for m in schema.migrations.applied(db) if m.name not in known]
        if unknown:
            raise SchemaTooNew(f"unknown migrations {', '.join(unknown)}")


def migrate(db: Database, schema: LogSchema = LOG_SCHEMA, *, attempts: int = 3) -> int:
    """Bring ``db`` to ``schema.version`` and return the version it had before.

    Runs under ``BEGIN EXCLUSIVE`` (which waits for the busy timeout) and re-reads the version
    once the lock is held, so when several processes open a fresh file at once exactly one of
    them creates the tables and the others find them done. All pending migrations, the
    ``user_version`` and the ``application_id`` commit together or not at all.
    """
    conn = db.conn
    for attempt in range(attempts):
        try:
            conn.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as e:
            if attempt + 1 < attempts and _is_busy(e):
                time.sleep(0.05 * (attempt + 1))
                continue
            raise
        try:
            before = read_version(conn)
            check_not_newer(db, schema)
            if before < schema.version:
                schema.migrations.apply(db)
                conn.execute(f"PRAGMA user_version = {schema.version:d}")
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            conn.execute("COMMIT")
            return before
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _is_busy(error: sqlite3.Error) -> bool:
    name = getattr(error, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(error)


# -- the catalog a log must have --------------------------------------------------------------

#: The tables that hold what was recorded (the source of truth). Every other table is derived
#: (roll-ups, shares, runs, experiment counts): ``log rebuild-rollups`` checks and repairs those.
RECORDED_TABLES = ("playthroughs", "events", "exposures")

#: One column as ``PRAGMA table_xinfo`` shows it: name, declared type, not null, default,
#: primary-key position, hidden (generated).
_Column = tuple[str, str, int, object, int, int]


@dataclass(frozen=True)
class _TableShape:
    kind: str  # 'table' or 'view' (sqlite_master's type)
    strict: bool
    without_rowid: bool
    columns: tuple[_Column, ...]
    #: (parent table, column, parent column) of each foreign key.
    references: tuple[tuple[str, str, str], ...]


def _shapes(conn: sqlite3.Connection, names: tuple[str, ...]) -> dict[str, _TableShape]:
    """The shape of each of ``names`` present in the main schema of ``conn``."""
    found: dict[str, _TableShape] = {}
    for _, name, kind, _, wr, strict in conn.execute("PRAGMA main.table_list"):
        if name in names:
            columns = tuple(
                (str(col[1]), str(col[2]).upper(), int(col[3]), col[4], int(col[5]), int(col[6]))
                for col in conn.execute("SELECT * FROM pragma_table_xinfo(?, 'main')", (name,))
            )
            references = tuple(
                sorted(
                    (str(fk[2]), str(fk[3]), str(fk[4]))
                    for fk in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (name,))
                )
            )
            found[name] = _TableShape(str(kind), bool(strict), bool(wr), columns, references)
    return found


@functools.cache
def _expected_shapes(version: int) -> dict[str, _TableShape]:
    """The recorded tables as the first ``version`` migrations build them (built once per
    version in memory: a few milliseconds)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        stop = LOG_SCHEMA.names[version] if version < LOG_SCHEMA.version else None
        LOG_SCHEMA.migrations.apply(Database(conn, execute_plugins=False), stop_before=stop)
        return _shapes(conn, RECORDED_TABLES)
    finally:
        conn.close()


def catalog_problems(conn: sqlite3.Connection) -> list[str]:
    """What is wrong with the catalog of the log open on ``conn`` (empty when sound).

    A log edited by hand or written by another program can hold a view where a table should
    be, a table that is not ``STRICT`` (so any value goes into any column), columns missing or
    added, or triggers (which would run, unseen, inside every write branching makes). Each
    recorded table (:data:`RECORDED_TABLES`) must be exactly what the migrations up to the
    file's ``user_version`` create (kind, ``STRICT``, rowid, columns, foreign keys), and no
    trigger may exist; derived tables are left to ``log rebuild-rollups``. The ``CHECK``
    constraints are not compared: ``m001``'s text was rewritten once (``IN`` to ``OR``
    chains), so logs of both texts exist. Reads only the catalog, whatever the log's size.
    """
    version = read_version(conn)
    expected = _expected_shapes(min(max(version, 0), LOG_SCHEMA.version))
    found = _shapes(conn, RECORDED_TABLES)
    problems: list[str] = []
    for name, want in expected.items():
        have = found.get(name)
        if have is None:
            problems.append(f"the table {name!r} is missing")
            continue
        if have.kind != want.kind:
            problems.append(f"{name!r} is a {have.kind}, not a table")
            continue
        if have.strict != want.strict:
            problems.append(f"the table {name!r} is not STRICT (its columns accept any value)")
        if have.without_rowid != want.without_rowid:
            problems.append(f"the table {name!r} has a rowid, unlike the one branching creates")
        if have.columns != want.columns:
            problems.append(f"the table {name!r} has {_column_difference(have, want)}")
        elif have.references != want.references:
            problems.append(f"the table {name!r} has other foreign keys than branching creates")
    for name, table in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    ):
        problems.append(f"it has a trigger {name!r} on {table!r}, and branching creates none")
    return problems


def _column_difference(have: _TableShape, want: _TableShape) -> str:
    names = [c[0] for c in have.columns]
    wanted = [c[0] for c in want.columns]
    missing = [n for n in wanted if n not in names]
    extra = [n for n in names if n not in wanted]
    parts = []
    if missing:
        parts.append("no column " + ", ".join(repr(n) for n in missing))
    if extra:
        parts.append("unknown column(s) " + ", ".join(repr(n) for n in extra))
    if not parts:
        changed = [h[0] for h, w in zip(have.columns, want.columns, strict=False) if h != w]
        shown = ", ".join(repr(n) for n in changed) or "columns in another order"
        parts.append(f"column(s) {shown} declared differently")
    return " and ".join(parts)
