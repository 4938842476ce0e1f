"""The export folder's layout, schemas, and the checks a folder passes before any engine reads it.

::

    DIR/events/story_id=S/story_version=V/date=YYYY-MM-DD/part-<batch>-<n>.parquet
    DIR/playthroughs/story_id=S/story_version=V/date=YYYY-MM-DD/part-<batch>-<n>.parquet
    DIR/exposures/story_id=S/story_version=V/date=YYYY-MM-DD/part-<batch>-<n>.parquet
    DIR/facts/part-<batch>.parquet
    DIR/first_choices/part-<batch>.parquet
    DIR/commits/part-<batch>.parquet

Hive-style partitions (DuckDB, Spark, Trino and ClickHouse read them as they are); ``date`` is
the UTC day the playthrough started, so a playthrough's rows share one partition. A *batch* is
what one export run of one log wrote; it counts only once its row is in ``commits``. ``facts``
holds each batch's per-node and per-choice counts (:data:`~branching.warehouse.metrics.FACTS_SQL`
over the batch's own events), written once at export since a committed batch never changes;
``first_choices`` holds, per exposure of the batch, the playthrough's first choice at each node
from the exposure on (:data:`~branching.warehouse.metrics.EXPOSED_FIRST_CHOICES_SQL`), what an
experiment's units are joined with.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from branching.story.untrusted import has_surrogate, printable

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

#: What Hive and Spark write for a NULL (or empty) partition value, and read back as NULL.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
PARTITION_COLUMNS = ("story_id", "story_version", "date")
#: Partitioned tables of the folder, in the order an export commits them.
TABLES = ("events", "playthroughs", "exposures")
#: A batch's pre-aggregated tables: one file per batch, written at export before its commit.
PRE_AGGREGATED = ("facts", "first_choices")

# Hive's escapePathName set (Hive FileUtils, Spark ExternalCatalogUtils): control characters,
# "#%'*/:=?\{[]^ and DEL. Only these ASCII characters are %XX-encoded; non-ASCII text is kept as
# is (Spark decodes %XX as one Latin-1 character, so UTF-8 bytes must not be encoded).
_ESCAPED = {chr(c) for c in range(0x20)} | set("\"#%'*/:=?\\\x7f{[]^")
# ASCII digits only: ``\d`` also takes other scripts' digits, which no engine reads as a date.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BATCH = re.compile(r"[A-Za-z0-9_.-]{1,120}")
#: A ``%`` and what follows it in a partition value: an escape only with two hex digits.
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})?")
#: A partitioned table's data file: ``part-<batch>-<n>.parquet``. The batch holds hyphens
#: (``<source>-<16 hex>``), so the shortest batch that leaves a whole suffix wins: the export's
#: file counter (the last hyphen part), or the UUID of DuckDB's ``FILENAME_PATTERN
#: 'part-<batch>-{uuid}'`` (how tests/benchmarks/scale_data.py appends batches).
_DATA_NAME = re.compile(
    r"part-(?P<batch>[A-Za-z0-9_.-]{1,120}?)-"
    r"(?:[0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.parquet"
)


def hive_value(value: str | None) -> str:
    """A partition value as a path segment, escaped as Hive and Spark do it.

    >>> hive_value("2.0/beta: 50%"), hive_value(None), hive_value("é")
    ('2.0%2Fbeta%3A 50%25', '__HIVE_DEFAULT_PARTITION__', 'é')
    """
    if value is None or value == "":
        return HIVE_NULL
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in value)


def batch_name(text: str) -> str:
    """``text`` reduced to the characters a batch id (and so a file name) may hold."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "log"


class FolderError(Exception):
    """The folder is not an export folder we can read; ``str()`` names the file and the fault."""


def _arrow_schemas() -> dict[str, pa.Schema]:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return {
        "events": pa.schema(
            [
                ("playthrough_id", pa.string()),
                ("seq", pa.int32()),
                ("at", ts),
                ("kind", pa.string()),
                ("node", pa.string()),
                ("choice", pa.string()),
                ("target", pa.string()),
                ("decision_ms", pa.int64()),
                ("timed_out", pa.bool_()),
                ("step", pa.int32()),
                ("detail", pa.string()),
                ("ending_kind", pa.string()),
                # Derived at export by analytics.tally's rules over the whole playthrough:
                ("visit", pa.bool_()),  # an entry that counts as a visit
                ("first_visit", pa.bool_()),  # the playthrough's first visit of the node
                # Copied from the playthrough, so event queries filter without a join:
                ("variant", pa.string()),
                ("origin", pa.string()),
                ("export_batch", pa.string()),
            ]
        ),
        "playthroughs": pa.schema(
            [
                ("playthrough_id", pa.string()),
                ("viewer", pa.string()),
                ("story_hash", pa.string()),
                ("variant", pa.string()),
                ("origin", pa.string()),
                ("started_at", ts),
                ("updated_at", ts),
                ("ended_at", ts),
                ("status", pa.string()),
                ("last_node", pa.string()),
                ("ending", pa.string()),
                ("ending_kind", pa.string()),
                ("failure", pa.string()),
                ("event_count", pa.int32()),
                # Derived at export (analytics.tally: outcome, path_steps; encoding.path_hash):
                ("rewound", pa.bool_()),
                ("path_hash", pa.int64()),
                ("path", pa.string()),  # steps joined by "\n" (node ids never contain one)
                ("language", pa.string()),  # as logged (BCP 47), NULL before schema 6
                ("export_batch", pa.string()),
            ]
        ),
        "exposures": pa.schema(
            [
                ("playthrough_id", pa.string()),
                ("experiment", pa.string()),
                ("arm", pa.string()),
                ("node", pa.string()),
                ("seq", pa.int32()),
                ("at", ts),
                ("viewer", pa.string()),
                ("origin", pa.string()),
                ("export_batch", pa.string()),
            ]
        ),
        # One batch's event counts, grouped by everything a selection filters on
        # (branching.warehouse.metrics.FACTS_SQL); not partitioned: ~1% of a batch's events.
        "facts": pa.schema(
            [
                ("story_id", pa.string()),
                ("story_version", pa.string()),
                ("date", pa.string()),
                ("variant", pa.string()),
                ("origin", pa.string()),
                ("language", pa.string()),
                ("kind", pa.string()),
                ("node", pa.string()),
                ("choice", pa.string()),
                ("target", pa.string()),
                ("timed_out", pa.bool_()),
                ("bucket", pa.int32()),
                ("n", pa.int64()),
                ("visits", pa.int64()),
                ("reached", pa.int64()),
                ("export_batch", pa.string()),
            ]
        ),
        # Per exposure (playthrough, experiment, exposure's seq) and node, the playthrough's
        # first choice there from the exposure on (metrics.EXPOSED_FIRST_CHOICES_SQL): a few rows
        # per exposed playthrough instead of its events.
        "first_choices": pa.schema(
            [
                ("story_id", pa.string()),
                ("playthrough_id", pa.string()),
                ("experiment", pa.string()),
                ("exposed_seq", pa.int32()),
                ("node", pa.string()),
                ("choice", pa.string()),
                ("timed_out", pa.bool_()),
                ("decision_ms", pa.int64()),
                ("export_batch", pa.string()),
            ]
        ),
        "commits": pa.schema(
            [
                ("export_batch", pa.string()),
                ("source", pa.string()),
                ("exported_at", ts),
                ("playthroughs", pa.int64()),
                ("events", pa.int64()),
            ]
        ),
    }


_SCHEMAS: dict[str, pa.Schema] = {}


def schema(table: str) -> pa.Schema:
    """The Arrow schema of a table's files (partition columns excluded)."""
    if not _SCHEMAS:
        _SCHEMAS.update(_arrow_schemas())
    return _SCHEMAS[table]


@dataclass(frozen=True)
class DataFile:
    table: str
    path: Path
    #: The partition values, decoded: story id, story version (None: Hive's NULL), date.
    partition: tuple[str, str | None, str]


def _unescape(segment: str) -> str:
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), segment)


def partition_value(raw: str) -> str:
    """A partition directory's value decoded, refused where engines would not agree on it.

    Every value :func:`hive_value` writes decodes back (control characters included: it
    escapes C0 and DEL as ``%XX`` and keeps non-ASCII text as it is).

    >>> partition_value("2.0%2Fbeta%3A 50%25"), partition_value("%1B[31m")
    ('2.0/beta: 50%', '\\x1b[31m')

    Raises:
        ValueError: what is wrong, for a located message: a ``%`` that is not a ``%XX`` escape
            (engines keep it as text, which no writer meant), an escape of a non-ASCII byte
            (Spark decodes it as one Latin-1 character, DuckDB as a UTF-8 byte: another value,
            a C1 control character or an error), or a name that is not UTF-8 text (read here
            as lone surrogates).
    """
    if has_surrogate(raw):
        raise ValueError("is not UTF-8 text")
    for match in _PERCENT.finditer(raw):
        if match.group(1) is None:
            raise ValueError(
                f"holds a % that is not a %XX escape (at {match.start() + 1}; "
                "a % in a value is written %25)"
            )
        if int(match.group(1), 16) >= 0x80:
            raise ValueError(
                f"holds the escape {match.group()}, which engines decode differently "
                "(non-ASCII text is written as it is, not escaped)"
            )
    return _unescape(raw)


def partition_date(raw: str) -> str:
    """``raw`` if it is a calendar date written ``YYYY-MM-DD`` (what the export writes).

    Raises:
        ValueError: what is wrong with it, for a located message.
    """
    if not _DATE.fullmatch(raw):
        raise ValueError("is not YYYY-MM-DD")
    try:
        dt.date.fromisoformat(raw)
    except ValueError as e:  # 2026-02-30, 2026-13-45, 0000-01-01
        raise ValueError(f"is not a calendar date ({e})") from e
    return raw


def data_file_batch(path: Path) -> str:
    """The batch a partitioned table's data file is named after (``part-<batch>-<n>.parquet``).

    >>> data_file_batch(Path("part-host-log-00ff00ff00ff00ff-0003.parquet"))
    'host-log-00ff00ff00ff00ff'

    Raises:
        FolderError: the name does not have that shape.
    """
    found = _DATA_NAME.fullmatch(path.name)
    if found is None:
        raise FolderError(
            f"{printable(path, one_line=True)}: not a data file name (part-<batch>-<n>.parquet)"
        )
    return found.group("batch")


def _is_data(name: str) -> bool:
    # Spark and Hive skip names starting with "." or "_" (temporary files, _SUCCESS markers);
    # DuckDB's glob only takes *.parquet: anything else is left alone by both.
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def data_files(folder: Path, table: str) -> Iterator[DataFile]:
    """The data files of one partitioned table, each with its partition, checked for shape.

    Raises:
        FolderError: a Parquet file outside ``story_id=/story_version=/date=`` directories,
            a directory that is not one of them, a date that is not a calendar date
            written YYYY-MM-DD, or a value engines would not decode alike
            (:func:`partition_value`).
    """
    root = folder / table
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not _is_data(path.name) or any(p.startswith((".", "_")) for p in path.parts[-4:-1]):
            continue
        rel = path.relative_to(root).parts
        where = printable(path, one_line=True)
        if not path.is_file():  # a FIFO would block the reader for good; a device never ends
            raise FolderError(f"{where}: not a regular file")
        if len(rel) != 4:
            raise FolderError(
                f"{where}: a data file outside the story_id=/story_version=/date= partitions "
                f"of {table}/"
            )
        values: list[str] = []
        for segment, column in zip(rel[:3], PARTITION_COLUMNS, strict=True):
            key, sep, value = segment.partition("=")
            if key != column or not sep or not value:
                raise FolderError(
                    f"{where}: directory {printable(segment, one_line=True)!s} should be "
                    f"{column}=VALUE"
                )
            values.append(value)
        story_id, version, day = values
        if story_id == HIVE_NULL:
            raise FolderError(f"{where}: a partition without a story id")
        decoded: list[str] = []
        for column, value in zip(PARTITION_COLUMNS, values, strict=True):
            try:
                decoded.append(
                    partition_date(value) if column == "date" else partition_value(value)
                )
            except ValueError as e:
                raise FolderError(
                    f"{where}: the {column} partition {printable(value, one_line=True)} {e}"
                ) from e
        yield DataFile(table, path, (decoded[0], None if version == HIVE_NULL else decoded[1], day))


def _footer(path: Path) -> pq.FileMetaData:
    """The file's footer (schema, row groups and their statistics), read once."""
    import pyarrow.parquet as pq

    try:
        return pq.read_metadata(path)
    except (OSError, ValueError) as e:
        where = printable(path, one_line=True)
        raise FolderError(f"{where}: not a readable Parquet file ({printable(e)})") from e


def check_file_schema(path: Path, table: str, footer: pq.FileMetaData | None = None) -> None:
    """Refuse a Parquet file that is unreadable or whose columns are not the table's
    (``footer``: the file's, when already read)."""
    where = printable(path, one_line=True)
    meta = footer if footer is not None else _footer(path)
    try:
        found = meta.schema.to_arrow_schema()
    except (OSError, ValueError) as e:
        raise FolderError(f"{where}: not a readable Parquet file ({printable(e)})") from e
    want = schema(table)
    got = {f.name: f.type for f in found}
    for field in want:
        if field.name not in got:
            raise FolderError(f"{where}: column {field.name!r} of {table} is missing")
        if got[field.name] != field.type:
            raise FolderError(
                f"{where}: column {field.name!r} is {got[field.name]}, {table} needs {field.type}"
            )
    extra = sorted(set(got) - set(want.names))
    if extra:
        listed = ", ".join(printable(n, one_line=True) for n in extra[:5])
        raise FolderError(f"{where}: columns {table} does not have: {listed}")


#: Per table, the columns that must never be null (besides ``export_batch``): a playthrough id
#: is what every report joins and counts on.
_NOT_NULL = {table: ("playthrough_id",) for table in TABLES}


def _statistics_vouch(meta: pq.FileMetaData, batch: str, not_null: tuple[str, ...]) -> bool:
    """True if every row group's statistics show ``export_batch`` is ``batch`` on every row and
    the ``not_null`` columns hold no null; False if any statistic is missing or says otherwise
    (the rows then decide: statistics may be absent, or truncated by some writers)."""
    index = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    if any(name not in index for name in ("export_batch", *not_null)):
        return False  # the read says which column is missing
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        if group.num_rows == 0:
            continue
        stats = group.column(index["export_batch"]).statistics
        if (
            stats is None
            or not stats.has_min_max
            or not stats.has_null_count
            or stats.null_count != 0
            or stats.min != batch
            or stats.max != batch
        ):
            return False
        for name in not_null:
            stats = group.column(index[name]).statistics
            if stats is None or not stats.has_null_count or stats.null_count != 0:
                return False
    return True


def _check_rows(path: Path, batch: str, not_null: tuple[str, ...]) -> None:
    """Read ``export_batch`` and the ``not_null`` columns to refuse rows of another batch or a
    null where there must be none."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    where = printable(path, one_line=True)
    columns = ["export_batch", *not_null]
    try:
        # Kept dictionary-encoded: the distinct values without decoding millions of strings.
        rows = pq.read_table(path, columns=columns, read_dictionary=columns)
        batches = rows.column("export_batch")
        found = pc.unique(batches).to_pylist()
    except (OSError, ValueError) as e:
        raise FolderError(f"{where}: not a readable Parquet file ({printable(e)})") from e
    if batches.null_count:
        raise FolderError(f"{where}: {batches.null_count} rows have no export_batch")
    strangers = [b for b in found if b != batch]
    if strangers:
        raise FolderError(
            f"{where}: holds rows of batch {printable(str(strangers[0]), one_line=True)}, "
            f"not of {batch}"
        )
    for name in not_null:
        nulls = rows.column(name).null_count
        if nulls:
            raise FolderError(f"{where}: {nulls} rows have no {name}")


def check_content(
    path: Path, table: str, batch: str, footer: pq.FileMetaData | None = None
) -> None:
    """Refuse a file holding rows of another batch than ``batch`` (the one it is named after:
    its rows would be counted as that batch's) or, in ``events``, ``playthroughs`` and
    ``exposures``, rows without a playthrough id.

    Folders hold 100 million events and this runs before every report: the footer's row-group
    statistics settle it, and the columns are read only where they cannot.
    """
    meta = footer if footer is not None else _footer(path)
    not_null = _NOT_NULL.get(table, ())
    if not _statistics_vouch(meta, batch, not_null):
        _check_rows(path, batch, not_null)


def _batch_files(folder: Path, table: str) -> list[Path]:
    """The files of an unpartitioned table (``commits``, ``facts``, ``first_choices``): one per
    batch."""
    root = folder / table
    if not root.exists():
        return []
    if not root.is_dir():
        raise FolderError(f"{printable(root, one_line=True)}: not a folder")
    found = []
    for path in sorted(root.iterdir()):
        if not _is_data(path.name):
            continue
        if not path.is_file():
            raise FolderError(f"{printable(path, one_line=True)}: not a file")
        found.append(path)
    return found


def file_batch(path: Path) -> str:
    """The batch a ``commits``, ``facts`` or ``first_choices`` file is named after
    (``part-<batch>.parquet``)."""
    return path.name.removeprefix("part-").removesuffix(".parquet")


def commit_files(folder: Path) -> list[Path]:
    return _batch_files(folder, "commits")


def facts_files(folder: Path) -> dict[str, Path]:
    """Per batch, its file of pre-aggregated event counts (batches exported before aggregates
    were written have none: their counts are computed from their events)."""
    return pre_aggregated_files(folder, "facts")


def pre_aggregated_files(folder: Path, table: str) -> dict[str, Path]:
    """Per batch, its file of the pre-aggregated ``table`` (one of :data:`PRE_AGGREGATED`;
    batches exported before that table was written have none: read from their events)."""
    return {file_batch(path): path for path in _batch_files(folder, table)}


def check_facts_content(path: Path, footer: pq.FileMetaData | None = None) -> None:
    """Refuse a pre-aggregated file (``facts``, ``first_choices``) holding rows of another batch
    than the one it is named after (its rows would be counted as that batch's)."""
    check_content(path, path.parent.name, file_batch(path), footer)


def check_folder(folder: Path, *, must_exist: bool = True) -> None:
    """Check every file an engine would read: layout, partitions, file names, schemas, and that
    each file's rows are of the batch it is named after (with a playthrough id, where rows
    have one). Reads footers, not data (see :func:`check_content`); a data page that cannot be
    decoded is found by :func:`find_unreadable` once an engine has failed.

    Raises:
        FolderError: with the file and what is wrong with it.
    """
    where = printable(folder, one_line=True)
    if not folder.exists():
        if must_exist:
            raise FolderError(f"{where}: no such folder (export one with `branching log export`)")
        return
    if not folder.is_dir():
        raise FolderError(f"{where}: not a folder")
    if must_exist and not (folder / "commits").is_dir():
        raise FolderError(
            f"{where}: not an export folder (no commits/ in it; `branching log export "
            "--format parquet -o DIR` writes one)"
        )
    for table in TABLES:
        root = folder / table
        if root.exists() and not root.is_dir():
            raise FolderError(f"{printable(root, one_line=True)}: not a folder")
        for data in data_files(folder, table):
            batch = data_file_batch(data.path)
            footer = _footer(data.path)
            check_file_schema(data.path, table, footer)
            check_content(data.path, table, batch, footer)
    for path in commit_files(folder):
        check_file_schema(path, "commits")
        if not _BATCH.fullmatch(file_batch(path)):
            raise FolderError(f"{printable(path, one_line=True)}: not a commit file name")
    for table in PRE_AGGREGATED:
        for path in pre_aggregated_files(folder, table).values():
            if not _BATCH.fullmatch(file_batch(path)):
                raise FolderError(f"{printable(path, one_line=True)}: not a {table} file name")
            footer = _footer(path)
            check_file_schema(path, table, footer)
            check_content(path, table, file_batch(path), footer)


def find_unreadable(folder: Path) -> FolderError | None:
    """The first data file of ``folder`` that pyarrow cannot decode, as a located error, or
    None if every file reads.

    :func:`check_folder` reads footers only, so a damaged data page (a ZSTD frame that does not
    decompress, a page header that does not deserialize) passes it and fails the engine
    mid-query with a message naming no file. Call this after an engine failed, to tell which
    file is broken: it decodes every column of every row group of every file (the whole
    folder, so seconds to minutes), small tables first, events last. None does not prove the
    folder sound: an engine may fail on what pyarrow reads.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        paths = [*commit_files(folder)]
        for table in PRE_AGGREGATED:
            paths += _batch_files(folder, table)
        for table in ("playthroughs", "exposures", "events"):
            paths += [d.path for d in data_files(folder, table)]
    except FolderError as e:
        return e
    for path in paths:
        try:
            # Checksums are verified where the writer stored them (our export does not).
            with pq.ParquetFile(path, page_checksum_verification=True) as file:
                for _ in file.iter_batches(batch_size=65_536, use_threads=True):
                    pass  # decoded, then dropped: one batch in memory at a time
        except (OSError, ValueError, pa.ArrowException) as e:
            return FolderError(
                f"{printable(path, one_line=True)}: cannot be decoded "
                f"({printable(e, one_line=True)})"
            )
    return None
