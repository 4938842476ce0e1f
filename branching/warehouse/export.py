"""``branching log export --format parquet``: the choice log as a Parquet folder, incrementally.

A playthrough is always exported whole: all its events (with the per-event flags the report
needs), its playthrough row (with its outcome and path) and its exposures, tagged with the
batch. Exporting again writes only playthroughs the folder does not hold yet, or holds with
fewer events (an open playthrough went on, or a rewind reopened an ended one), so running it
twice adds nothing.

The batch id is deterministic: the source's name and a digest of what it exports
(playthrough ids and event counts). A retry after a crash, or two machines exporting the same
merged playthroughs, write the same rows; readers count each playthrough once anyway: per
playthrough id the committed row with the most events wins (ties: the smallest batch id), and
only that batch's events and exposures count (:mod:`branching.warehouse.metrics`).

Files are written under hidden temporary names and renamed; the batch's row in ``commits``
comes last, and readers ignore batches without one, so a crash part-way shows nothing.

Every value is checked as it is converted to Arrow (:mod:`branching.warehouse.values`), before
any file of the batch is renamed: a value the export cannot write as it is stops it with a
located :class:`~branching.warehouse.values.ValueRefused`, and the batch's temporary files and
the folders this run made are removed, so the folder is left as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.tally import entries, outcome, path_steps
from branching.log.encoding import path_hash
from branching.log.rollups import utc_day
from branching.log.state import EVENT_COLUMNS, row_to_event
from branching.log.undecodable import is_undecodable
from branching.story.untrusted import printable
from branching.warehouse.layout import (
    PRE_AGGREGATED,
    TABLES,
    FolderError,
    batch_name,
    check_folder,
    commit_files,
    data_files,
    find_unreadable,
    hive_value,
    pre_aggregated_files,
    schema,
)
from branching.warehouse.values import (
    ValueRefused,
    check_partition,
    find_undecodable,
    to_arrow,
)

_PT_COLUMNS = (
    "pk, id, story_id, story_version, story_hash, viewer, variant, origin, started_at, "
    "updated_at, ended_at, status, last_node, ending, ending_kind, failure, event_count, "
    "language"
)
_EV_SELECT = "SELECT playthrough, " + ", ".join(EVENT_COLUMNS) + " FROM events"
#: What an export folder holds at its top.
_OWN_FOLDERS = frozenset((*TABLES, *PRE_AGGREGATED, "commits"))
#: Up to this many playthroughs to export, read their events one by one; beyond, scan once.
_SCAN_FROM = 2_000


def _us(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1_000_000)


@dataclass(frozen=True)
class Derived:
    """What the report needs from one playthrough's history, by analytics.tally's rules."""

    status: str
    last: str
    rewound: bool
    steps: list[str]
    visit: list[bool]
    first_visit: list[bool]


def derive(rows: Sequence[Sequence[Any]]) -> Derived:
    """The per-event visit flags, outcome and path of one playthrough from its event rows
    (:data:`~branching.log.state.EVENT_COLUMNS` order), by the reference definitions in
    :mod:`analytics.tally` (``entries``, ``outcome``, ``path_steps``), not a copy of them."""
    events = [row_to_event(tuple(r)) for r in rows]
    visits = {id(e) for e in entries(events)}
    seen: set[str] = set()
    visit: list[bool] = []
    first: list[bool] = []
    for event in events:
        is_visit = id(event) in visits
        node = getattr(event, "node", "")
        visit.append(is_visit)
        first.append(is_visit and node not in seen)
        if is_visit:
            seen.add(node)
    status, last = outcome(events)
    rewound = any(r[2] == "rewind" for r in rows)
    return Derived(status, last, rewound, path_steps(events), visit, first)


@dataclass
class _Columns:
    """Rows of one table and partition, column by column, until written."""

    values: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    rows: int = 0


@dataclass
class ExportResult:
    batch: str = ""
    playthroughs: int = 0
    events: int = 0
    files: int = 0
    #: Older batches given the pre-aggregated tables (facts, first choices) they lacked.
    upgraded: int = 0


def default_source(db: Path) -> str:
    """A name for this log on this machine: host name and file name."""
    return batch_name(f"{socket.gethostname()}-{db.resolve().stem}")


def exported_counts(out: Path) -> dict[str, int]:
    """Per playthrough id, the most events any committed batch in ``out`` holds for it."""
    import pyarrow.dataset as ds

    committed: set[str] = set()
    for path in commit_files(out):
        committed.update(_column(path, "export_batch"))
    files = [d.path for d in data_files(out, "playthroughs")]
    if not files or not committed:
        return {}
    table = ds.dataset(files, format="parquet").to_table(
        columns=["playthrough_id", "event_count", "export_batch"]
    )
    best: dict[str, int] = {}
    ids, counts, batches = (table.column(i).to_pylist() for i in range(3))
    for pid, n, batch in zip(ids, counts, batches, strict=True):
        if batch in committed and n > best.get(pid, -1):
            best[pid] = n
    return best


def _is_read_error(error: Exception) -> bool:
    """An error pyarrow or DuckDB raise for data they cannot decode."""
    module = type(error).__module__
    return isinstance(error, OSError | ValueError) or module.startswith(("duckdb", "_duckdb"))


def _column(path: Path, name: str) -> list[Any]:
    import pyarrow.parquet as pq

    return list(pq.read_table(path, columns=[name]).column(0).to_pylist())


def _events_of(
    conn: sqlite3.Connection, pks: list[int]
) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """(pk, event rows in order) for the given playthroughs, in ``pks`` order."""
    if len(pks) <= _SCAN_FROM:
        for pk in pks:
            rows = conn.execute(_EV_SELECT + " WHERE playthrough = ? ORDER BY seq", (pk,))
            yield pk, [r[1:] for r in rows]
        return
    wanted = set(pks)
    found: dict[int, list[tuple[Any, ...]]] = {pk: [] for pk in pks}
    current, rows_of = -1, None
    for row in conn.execute(_EV_SELECT + " ORDER BY playthrough, seq"):
        if row[0] != current:
            current = row[0]
            rows_of = found.get(current) if current in wanted else None
        if rows_of is not None:
            rows_of.append(row[1:])
    for pk in pks:
        yield pk, found.pop(pk)


@contextlib.contextmanager
def _reading_folder(out: Path) -> Iterator[None]:
    """Reading what the folder holds: a damaged data page (its footer was sound) is named as a
    :class:`FolderError`, rather than taken for a failed write."""
    try:
        yield
    except Exception as e:
        if isinstance(e, FolderError) or not _is_read_error(e):
            raise
        raise find_unreadable(out) or FolderError(
            f"{printable(out, one_line=True)}: a file in it cannot be read "
            f"({printable(str(e), one_line=True)[:300]})"
        ) from e


def _make_dirs(path: Path, made: list[Path]) -> None:
    """``mkdir -p path``, adding to ``made`` the folders it created (parents first)."""
    missing: list[Path] = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    path.mkdir(parents=True, exist_ok=True)
    made.extend(reversed(missing))


def _remove_dirs(made: list[Path]) -> None:
    """Remove the folders a failed run made, children first, where they are still empty."""
    for directory in reversed(made):
        with contextlib.suppress(OSError):
            directory.rmdir()


def export_log(
    conn: sqlite3.Connection,
    out: Path,
    *,
    source: str,
    max_rows_per_file: int = 1_000_000,
    clock: Callable[[], float] = time.time,
) -> ExportResult:
    """Export what ``out`` does not hold yet from the log on ``conn``.

    Raises:
        FolderError: ``out`` exists and is not an export folder we wrote (checked first).
        ValueRefused: a value of the log cannot be written as it is (nothing of the batch is
            left in ``out``, which is as it was).
        OSError: a write failed (the batch is then not committed).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    check_folder(out, must_exist=False)
    if out.exists() and not (out / "commits").is_dir():
        # Only the export's own folders (a first export interrupted before this version made
        # commits/ first) may be resumed; anything else is somebody else's folder.
        strangers = sorted(
            p.name
            for p in out.iterdir()
            if p.name not in _OWN_FOLDERS and not p.name.startswith((".", "_"))
        )
        if strangers:
            raise FolderError(
                f"{printable(out, one_line=True)}: not an export folder (it holds "
                f"{printable(strangers[0], one_line=True)} and no commits/)"
            )
    result = ExportResult()
    with _reading_folder(out):
        done = exported_counts(out) if out.exists() else {}
        # Batches from before facts or first choices were written: added once this export's
        # values have passed (a refused export leaves the folder as it was).
        older = sorted(missing_pre_aggregated(out).items()) if out.exists() else []

    def upgrade() -> None:
        with _reading_folder(out):
            for batch_id, tables in older:
                write_pre_aggregated(out, batch_id, tables)
                result.upgraded += 1

    # The folders this run made: removed again if a value is refused.
    made: list[Path] = []
    buffers: dict[tuple[str, str, tuple[str, str | None, str]], _Columns] = defaultdict(_Columns)
    pending: list[tuple[Path, Path]] = []
    file_no: defaultdict[tuple[str, tuple[str, str | None, str]], int] = defaultdict(int)
    days: dict[int, str] = {}
    batch = ""

    def flush(table: str, key: tuple[str, str | None, str]) -> None:
        buf = buffers.pop(("t", table, key), None)
        if buf is None or not buf.rows:
            return
        story_id, version, day = key
        # Every value checked and converted before anything of it is written.
        check_partition(story_id, version, buf.values["playthrough_id"][0])
        arrow = to_arrow(table, buf.values, schema(table))
        directory = (
            out / table / f"story_id={hive_value(story_id)}"
            / f"story_version={hive_value(version)}" / f"date={day}"
        )  # fmt: skip
        _make_dirs(directory, made)
        n = file_no[(table, key)]
        file_no[(table, key)] += 1
        name = f"part-{batch}-{n:04d}.parquet"
        # Hidden until renamed: DuckDB globs *.parquet, Spark skips names starting with ".".
        # Per process: two exports of one log racing into one folder write the same names.
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        pending.append((tmp, directory / name))
        pq.write_table(arrow, tmp, compression="zstd", row_group_size=max_rows_per_file)
        result.files += 1

    def add(table: str, key: tuple[str, str | None, str], row: dict[str, Any], n: int) -> None:
        buf = buffers[("t", table, key)]
        for column, value in row.items():
            if isinstance(value, list):
                buf.values[column].extend(value)
            else:
                buf.values[column].extend([value] * n if n != 1 else [value])
        buf.rows += n
        if table == "events" and buf.rows >= max_rows_per_file:
            flush(table, key)

    refused = False
    try:
        # Made before any data file, so a first export interrupted part-way leaves a folder
        # the next export resumes and readers see as holding no committed batch yet.
        _make_dirs(out / "commits", made)
        try:
            todo = [
                row
                for row in conn.execute(f"SELECT {_PT_COLUMNS} FROM playthroughs ORDER BY pk")
                if row[16] > done.get(row[1], -1)  # new (even with no events yet), or went on
            ]
            if not todo:
                upgrade()
                return result
            digest = hashlib.sha256()
            for row in todo:
                digest.update(f"{row[1]}\x00{row[16]}\x00".encode("utf-8", "surrogatepass"))
            batch = f"{batch_name(source)}-{digest.hexdigest()[:16]}"
            result.batch = batch
            exposures: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)
            has_exposures = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'exposures'"
            ).fetchone()
            if has_exposures:
                wanted = {row[0] for row in todo}
                for pk, *rest in conn.execute(
                    "SELECT playthrough, experiment, arm, node, seq, at FROM exposures"
                ):
                    if pk in wanted:
                        exposures[pk].append(tuple(rest))
            by_pk = {row[0]: row for row in todo}
            for pk, rows in _events_of(conn, list(by_pk)):
                (_, pid, story_id, version, story_hash, viewer, variant, origin, started_at,
                 updated_at, ended_at, status, last_node, ending, ending_kind, failure,
                 event_count, language) = by_pk[pk]  # fmt: skip
                d = derive(rows)
                key = (story_id, version, utc_day(started_at, days))
                n = len(rows)
                if n:
                    columns = list(zip(*rows, strict=True))
                    ev = dict(zip(EVENT_COLUMNS, (list(c) for c in columns), strict=True))
                    add(
                        "events",
                        key,
                        {
                            "playthrough_id": pid,
                            **ev,
                            "visit": d.visit,
                            "first_visit": d.first_visit,
                            "variant": variant,
                            "origin": origin,
                            "export_batch": batch,
                        },
                        n,
                    )
                # Times stay Unix seconds until converted (and checked) with the batch.
                add(
                    "playthroughs",
                    key,
                    {
                        "playthrough_id": pid, "viewer": viewer, "story_hash": story_hash,
                        "variant": variant, "origin": origin, "started_at": started_at,
                        "updated_at": updated_at, "ended_at": ended_at, "status": status,
                        "last_node": last_node, "ending": ending, "ending_kind": ending_kind,
                        "failure": failure, "event_count": event_count,
                        "rewound": d.rewound, "path_hash": path_hash(d.steps),
                        "path": "\n".join(d.steps), "language": language,
                        "export_batch": batch,
                    },
                    1,
                )  # fmt: skip
                for experiment, arm, node, seq, at in exposures.get(pk, ()):
                    add(
                        "exposures",
                        key,
                        {
                            "playthrough_id": pid, "experiment": experiment, "arm": arm,
                            "node": node, "seq": seq, "at": at, "viewer": viewer,
                            "origin": origin, "export_batch": batch,
                        },
                        1,
                    )  # fmt: skip
                result.playthroughs += 1
                result.events += n
            for _, table, key in list(buffers):
                flush(table, key)
        except sqlite3.Error as e:
            # Text SQLite cannot hand over as UTF-8: find where it is.
            if is_undecodable(e):
                raise find_undecodable(conn) from e
            raise
        # Every value has passed: the older batches' missing tables, then the commit: the
        # data files, the batch's pre-aggregated tables, then the commit row. Readers count
        # only committed batches.
        upgrade()
        for tmp, final in pending:
            os.replace(tmp, final)
        aggregated = write_pre_aggregated(out, batch)
        pending.extend(aggregated)
        result.files += len(aggregated) + 1  # and the commit
        commits = out / "commits"
        commits.mkdir(parents=True, exist_ok=True)
        tmp = commits / f".part-{batch}.{os.getpid()}.parquet.tmp"  # racing exports
        pending.append((tmp, tmp))
        pq.write_table(
            pa.table(
                {
                    "export_batch": [batch],
                    "source": [source],
                    "exported_at": [_us(clock())],
                    "playthroughs": [result.playthroughs],
                    "events": [result.events],
                },
                schema=schema("commits"),
            ),
            tmp,
        )
        os.replace(tmp, commits / f"part-{batch}.parquet")
    except ValueRefused:
        refused = True
        raise
    finally:
        for tmp, _ in pending:
            if tmp.exists():
                tmp.unlink()
        if refused:
            _remove_dirs(made)
    return result


def write_pre_aggregated(
    out: Path, batch: str, tables: tuple[str, ...] = PRE_AGGREGATED
) -> list[tuple[Path, Path]]:
    """Write the batch's pre-aggregated ``tables`` (``facts/part-<batch>.parquet``,
    ``first_choices/part-<batch>.parquet``) from its data files in ``out``; returns the
    temporary and final names (already renamed). A batch without exposures gets an empty
    ``first_choices`` file: it says that nothing is to be read from its events."""
    import pyarrow.parquet as pq

    from branching.warehouse.engines import batch_tables

    written = []
    for table, rows in batch_tables(out, batch, tables).items():
        directory = out / table
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / f"part-{batch}.parquet"
        tmp = directory / f".part-{batch}.{os.getpid()}.parquet.tmp"
        try:
            pq.write_table(rows, tmp, compression="zstd")
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        written.append((tmp, final))
    return written


def missing_pre_aggregated(out: Path) -> dict[str, tuple[str, ...]]:
    """Per committed batch lacking some, the pre-aggregated tables it lacks (exported before
    they were written)."""
    committed: set[str] = set()
    for path in commit_files(out):
        committed.update(_column(path, "export_batch"))
    missing: dict[str, tuple[str, ...]] = {}
    for table in PRE_AGGREGATED:
        for batch in sorted(committed - set(pre_aggregated_files(out, table))):
            missing[batch] = (*missing.get(batch, ()), table)
    return missing
