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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from branching.story.untrusted import printable

if TYPE_CHECKING:
    import pyarrow as pa

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
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BATCH = re.compile(r"[A-Za-z0-9_.-]{1,120}")


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


def _is_data(name: str) -> bool:
    # Spark and Hive skip names starting with "." or "_" (temporary files, _SUCCESS markers);
    # DuckDB's glob only takes *.parquet: anything else is left alone by both.
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def data_files(folder: Path, table: str) -> Iterator[DataFile]:
    """The data files of one partitioned table, each with its partition, checked for shape.

    Raises:
        FolderError: a Parquet file outside ``story_id=/story_version=/date=`` directories,
            a directory that is not one of them, or a date that is not YYYY-MM-DD.
    """
    root = folder / table
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if not _is_data(path.name) or any(p.startswith((".", "_")) for p in path.parts[-4:-1]):
            continue
        rel = path.relative_to(root).parts
        where = printable(path, one_line=True)
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
        if not _DATE.fullmatch(day):
            raise FolderError(
                f"{where}: the date partition {printable(day, one_line=True)} is not YYYY-MM-DD"
            )
        decoded = None if version == HIVE_NULL else _unescape(version)
        yield DataFile(table, path, (_unescape(story_id), decoded, day))


def check_file_schema(path: Path, table: str) -> None:
    """Refuse a Parquet file that is unreadable or whose columns are not the table's."""
    import pyarrow.parquet as pq

    where = printable(path, one_line=True)
    try:
        found = pq.read_schema(path)
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


def check_facts_content(path: Path) -> None:
    """Refuse a pre-aggregated file (``facts``, ``first_choices``) holding rows of another batch
    than the one it is named after (its rows would be counted as that batch's)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    batch = file_batch(path)
    where = printable(path, one_line=True)
    try:
        # Kept dictionary-encoded: the distinct values without decoding millions of strings.
        column = pq.read_table(
            path, columns=["export_batch"], read_dictionary=["export_batch"]
        ).column(0)
        found = pc.unique(column).to_pylist()
    except (OSError, ValueError) as e:
        raise FolderError(f"{where}: not a readable Parquet file ({printable(e)})") from e
    strangers = [b for b in found if b != batch]
    if strangers:
        raise FolderError(
            f"{where}: holds rows of batch {printable(str(strangers[0]), one_line=True)}, "
            f"not of {batch}"
        )


def check_folder(folder: Path, *, must_exist: bool = True) -> None:
    """Check every file an engine would read: layout, partitions and schemas.

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
            check_file_schema(data.path, table)
    for path in commit_files(folder):
        check_file_schema(path, "commits")
        if not _BATCH.fullmatch(file_batch(path)):
            raise FolderError(f"{printable(path, one_line=True)}: not a commit file name")
    for table in PRE_AGGREGATED:
        for path in pre_aggregated_files(folder, table).values():
            if not _BATCH.fullmatch(file_batch(path)):
                raise FolderError(f"{printable(path, one_line=True)}: not a {table} file name")
            check_file_schema(path, table)
            check_facts_content(path)
