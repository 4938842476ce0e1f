"""What ``check_folder`` refuses before an engine reads a folder, and what ``find_unreadable``
finds after one failed: a real export, broken one way at a time, must be refused with the file
named and the fault said (never a raw control character), and the clean export must pass."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from branching.log import ChoiceLog
from branching.play.events import Exposed, NodeEntered, PlaythroughInfo, Quit
from branching.warehouse.export import export_log
from branching.warehouse.layout import (
    HIVE_NULL,
    TABLES,
    FolderError,
    check_folder,
    data_file_batch,
    data_files,
    find_unreadable,
    hive_value,
    partition_value,
)
from tests.warehouse.helpers import scripted_log, ts

#: Story ids and versions holding everything Hive escapes, non-ASCII text and control
#: characters (C0, DEL, C1), each written by ``hive_value`` and read back as it was.
ODD_STORIES = [
    ("a/b:c=d%e é#f?g*h", "v 1/2:3=4%5é#?*"),
    (" spaced out ", "tab\there"),
    ("ctl\x01\x1b[31m\x7f\x85\x9b", "nul\x00bell\x07"),
    ("quotes'\"\\{[]}^", None),
    ("%25 already escaped %2F", "%ZZ"),
]
LONG_DAY = "2026-11-08"


def _export(folder: Path, *, odd: bool = True) -> str:
    """Export the scripted log, a long playthrough (data pages big enough to damage) and the
    odd story ids into ``folder``; the batch id."""
    with ChoiceLog.open(":memory:") as log:
        scripted_log(log)
        with log.bulk_writer(origin="live") as writer:
            events = [(ts(LONG_DAY, i + 1), NodeEntered(f"room-{i % 97}")) for i in range(4000)]
            writer.write_playthrough(
                PlaythroughInfo("long", "caves", "1", "sha256:test", "v-long", None),
                [
                    events[0],
                    (ts(LONG_DAY, 1), Exposed("wording", "new", "room-0")),
                    *events[1:],
                    (ts(LONG_DAY, 5000), Quit("room-0")),
                ],
                started_at=ts(LONG_DAY),
            )
            if odd:
                for i, (story_id, version) in enumerate(ODD_STORIES):
                    writer.write_playthrough(
                        PlaythroughInfo(f"odd-{i}", story_id, version, "sha256:x", "v", None),
                        [(ts("2026-11-09", 1), NodeEntered("hall"))],
                        started_at=ts("2026-11-09"),
                    )
        return export_log(log.conn, folder, source="trial").batch


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("export") / "out"
    return folder, _export(folder)


@pytest.fixture
def folder(exported: tuple[Path, str], tmp_path: Path) -> Path:
    """A copy of the export, to break."""
    return Path(shutil.copytree(exported[0], tmp_path / "copy"))


def _file(folder: Path, table: str = "events", day: str = LONG_DAY) -> Path:
    return next(p for p in sorted((folder / table).rglob("*.parquet")) if f"date={day}" in str(p))


def _refused(folder: Path, *says: str) -> str:
    with pytest.raises(FolderError) as caught:
        check_folder(folder)
    message = str(caught.value)
    for text in says:
        assert text in message, message
    assert not any(c in message for c in "\x00\x07\x1b\x7f\x85\x9b"), message
    return message


def _rewrite(path: Path, change: Callable[[Any], Any], **options: Any) -> None:
    import pyarrow.parquet as pq

    rows = pq.read_table(path)
    pq.write_table(change(rows), path, compression="zstd", **options)


def _set_column(name: str, values: Callable[[int], list[Any]]) -> Callable[[Any], Any]:
    import pyarrow as pa

    def change(rows: Any) -> Any:
        i = rows.schema.get_field_index(name)
        typed = pa.array(values(rows.num_rows), type=rows.schema.field(i).type)
        return rows.set_column(i, rows.schema.field(i), typed)

    return change


def test_a_clean_export_passes_both_checks(exported: tuple[Path, str]) -> None:
    folder, batch = exported
    check_folder(folder)
    assert find_unreadable(folder) is None
    names = [d.path.name for table in TABLES for d in data_files(folder, table)]
    assert names and all(data_file_batch(Path(n)) == batch for n in names)


def test_every_value_hive_value_writes_reads_back_as_it_was(exported: tuple[Path, str]) -> None:
    folder, _ = exported
    found = {d.partition[:2] for d in data_files(folder, "events")}
    for story_id, version in ODD_STORIES:
        assert (story_id, version) in found
    every_char = "".join(chr(c) for c in range(0x250) if not 0xD800 <= c <= 0xDFFF)
    for value in [every_char, "%", "%%", "%2", "50%", "é%C3%A9", HIVE_NULL + "x", "😀 \u2028"]:
        assert partition_value(hive_value(value)) == value


@pytest.mark.parametrize(
    "day",
    ["2026-02-30", "2026-13-45", "2025-02-29", "0000-01-01", "2026-11-4", "20261104",
     "２０２６-11-04", "2026-11-04T00", "2026-02-30\x1b[2J"],
)  # fmt: skip
def test_a_date_that_is_not_on_the_calendar_is_refused(folder: Path, day: str) -> None:
    path = _file(folder)
    path.parent.rename(path.parent.with_name(f"date={day}"))
    _refused(folder, path.name, "date partition", "2026" if "2026" in day else "")


def test_a_leap_day_is_a_date(folder: Path) -> None:
    path = _file(folder)
    path.parent.rename(path.parent.with_name("date=2028-02-29"))
    check_folder(folder)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("%ZZ", "not a %XX escape"),
        ("50%", "not a %XX escape"),
        ("caves%2", "not a %XX escape"),
        ("%C3%A9", "%C3"),  # é as UTF-8 bytes: DuckDB reads é, Spark Ã©
        ("%85", "%85"),  # a C1 control character for Spark, invalid UTF-8 for DuckDB
        ("%ED%A0%80", "%ED"),  # a lone surrogate, UTF-8 encoded
        ("%C2%9B", "%C2"),  # CSI, UTF-8 encoded
        ("bell\x07%G1", "not a %XX escape"),
    ],
)
def test_an_escape_engines_would_not_decode_alike_is_refused(
    folder: Path, value: str, says: str
) -> None:
    path = _file(folder)
    story_dir = path.parents[2]
    story_dir.rename(story_dir.with_name(f"story_id={value}"))
    _refused(folder, path.name, "story_id partition", says)


def test_a_version_with_a_bad_escape_is_refused(folder: Path) -> None:
    path = _file(folder)
    path.parents[1].rename(path.parents[1].with_name("story_version=1%"))
    _refused(folder, path.name, "story_version partition", "not a %XX escape")


def test_a_directory_name_that_is_not_utf8_is_refused(folder: Path) -> None:
    path = _file(folder)
    story_dir = path.parents[2]
    try:
        os.rename(os.fsencode(story_dir), os.fsencode(story_dir.parent) + b"/story_id=caf\xe9")
    except OSError:  # pragma: no cover - a file system that only takes UTF-8 names
        pytest.skip("this file system refuses names that are not UTF-8")
    _refused(folder, path.name, "story_id partition", "caf\\udce9", "not UTF-8")


@pytest.mark.parametrize("table", TABLES)
def test_rows_of_another_batch_are_refused(folder: Path, table: str) -> None:
    path = _file(folder, table)
    _rewrite(path, _set_column("export_batch", lambda n: ["intruder\x1b[2J"] * n))
    _refused(folder, path.name, "holds rows of batch intruder\\x1b[2J", "not of trial-")


@pytest.mark.parametrize("table", TABLES)
def test_a_playthrough_without_an_id_is_refused(folder: Path, table: str) -> None:
    path = _file(folder, table)
    _rewrite(path, _set_column("playthrough_id", lambda n: [None] + ["p"] * (n - 1)))
    _refused(folder, path.name, "1 rows have no playthrough_id")


def test_rows_without_a_batch_are_refused(folder: Path) -> None:
    path = _file(folder, "playthroughs")
    _rewrite(path, _set_column("export_batch", lambda n: [None] * n))
    _refused(folder, path.name, "rows have no export_batch")


def test_only_the_last_row_group_being_wrong_is_enough(folder: Path) -> None:
    path = _file(folder, "events", LONG_DAY)
    batch = data_file_batch(path)
    _rewrite(
        path,
        _set_column("export_batch", lambda n: [batch] * (n - 1) + ["intruder"]),
        row_group_size=500,
    )
    _refused(folder, path.name, "holds rows of batch intruder")


def test_without_statistics_the_rows_decide(folder: Path) -> None:
    """A writer that stores no statistics: the columns are read instead (clean passes)."""
    import pyarrow.parquet as pq

    from branching.warehouse import layout

    path = _file(folder, "events", LONG_DAY)
    _rewrite(path, lambda rows: rows, write_statistics=False, row_group_size=1000)
    assert not layout._statistics_vouch(pq.read_metadata(path), data_file_batch(path), ())
    check_folder(folder)
    _rewrite(
        path, _set_column("playthrough_id", lambda n: ["x"] * (n - 1) + [None]),
        write_statistics=False,
    )  # fmt: skip
    _refused(folder, path.name, "1 rows have no playthrough_id")
    _rewrite(path, _set_column("export_batch", lambda n: ["other"] * n), write_statistics=False)
    _refused(folder, path.name, "holds rows of batch other")


def test_the_batch_is_the_name_up_to_the_last_hyphen_part() -> None:
    assert data_file_batch(Path("part-trial-0123456789abcdef-0000.parquet")) == (
        "trial-0123456789abcdef"
    )
    assert data_file_batch(Path("part-log-1234567890123456-12345.parquet")) == (
        "log-1234567890123456"
    )
    # DuckDB's FILENAME_PATTERN 'part-<batch>-{uuid}' (the benchmark folders)
    uuid = "5fd42b17-b3ca-4bed-b9a3-3082fca688b4"
    assert data_file_batch(Path(f"part-bench-stale-0000-{uuid}.parquet")) == "bench-stale-0000"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("data_0.parquet", "not a data file name"),
        ("part-x.parquet", "not a data file name"),
        ("part-{batch}-00a1.parquet", "not a data file name"),
        ("part-{batch}.parquet", "not a data file name"),
        ("part-{batch} -0000.parquet", "not a data file name"),
        ("part-{batch}-\x1b[2J0000.parquet", "not a data file name"),
        # A well-formed name of another batch: the rows say otherwise
        ("part-{batch}-extra-0000.parquet", "not of {batch}-extra"),
    ],
)
def test_a_data_file_name_must_say_its_batch(folder: Path, name: str, says: str) -> None:
    path = _file(folder, "exposures")
    batch = data_file_batch(path)
    renamed = path.with_name(name.format(batch=batch))
    path.rename(renamed)
    _refused(folder, renamed.name.replace("\x1b", "\\x1b"), says.format(batch=batch))


def _chunk(path: Path) -> tuple[int, int]:
    """The data page offset and end of the file's largest column chunk."""
    import pyarrow.parquet as pq

    group = pq.read_metadata(path).row_group(0)
    chunk = max(
        (group.column(j) for j in range(group.num_columns)), key=lambda c: c.total_compressed_size
    )
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    return chunk.data_page_offset, start + chunk.total_compressed_size


@pytest.mark.parametrize(
    ("where", "says"),
    [("page", "ZSTD decompression failed"), ("page header", "Couldn't deserialize thrift")],
)
def test_a_damaged_data_page_is_found_after_the_engine_failed(
    folder: Path, where: str, says: str
) -> None:
    """The footer is intact, so the check passes; DuckDB fails naming no file; the search
    names it."""
    import duckdb

    from branching.warehouse.engines import DuckDBEngine

    path = _file(folder, "events", LONG_DAY)
    _rewrite(path, lambda rows: rows, use_dictionary=False)
    page, end = _chunk(path)
    data = bytearray(path.read_bytes())
    # The page's ZSTD frame starts with its magic number, after the (variable) page header.
    frame = data.find(b"\x28\xb5\x2f\xfd", page, end)
    assert frame > page
    damaged = range(frame + 16, end - 8) if where == "page" else range(page, page + 40)
    for k in damaged:
        data[k] = 0x5A
    path.write_bytes(bytes(data))
    check_folder(folder)
    engine = DuckDBEngine(folder)
    try:
        with pytest.raises(duckdb.Error):
            engine.rows("SELECT * FROM events")
    finally:
        engine.close()
    fault = find_unreadable(folder)
    assert fault is not None
    assert path.name in str(fault) and "cannot be decoded" in str(fault), str(fault)
    assert says in str(fault), str(fault)
    assert "\n" not in str(fault)


def test_an_unreadable_small_table_is_found_before_the_events(folder: Path) -> None:
    from branching.warehouse.layout import commit_files

    commit = commit_files(folder)[0]
    commit.write_bytes(b"PAR1 not really")
    fault = find_unreadable(folder)
    assert fault is not None and commit.name in str(fault), fault


def test_a_fifo_named_like_data_is_refused_not_waited_on(folder: Path) -> None:
    """Opening a FIFO blocks until a writer comes: the export and the report hung for good."""
    beside = _file(folder)
    os.mkfifo(beside.with_name("part-trial-0123456789abcdef-0009.parquet"))
    _refused(folder, "not a regular file")
