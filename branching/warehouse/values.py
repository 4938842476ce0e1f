"""The values ``log export`` writes, checked while they are converted to Arrow.

A log can come from another machine (``log merge``) or be edited by hand, so any value may be
one a Parquet file cannot hold as it is: a time that is an infinity or outside 1970 to 9999
(what :mod:`branching.log.times` calls unrecordable, the log's own definition), an integer too
large for its column, text that is not UTF-8, a value of the wrong type, a ``timed_out`` other
than 0 or 1, a story id that makes no partition. :func:`to_arrow` converts one table's buffered
columns with pyarrow's vectorised conversions and checks the results with compute kernels; only
when a conversion fails does it look at the values one by one, to name the first bad one. Every
refusal is a :class:`ValueRefused` naming the log's table, the playthrough, the event (where
there is one), the column and what is wrong, raised before any file of the batch is renamed.

Text SQLite cannot decode as UTF-8 never reaches Python: reading it raises an
``OperationalError``, and :func:`find_undecodable` then finds where it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from branching.log.times import EARLIEST, LAST, recordable, unrecordable_text
from branching.log.undecodable import undecodable_values
from branching.story.untrusted import printable
from branching.warehouse.layout import HIVE_NULL

if TYPE_CHECKING:
    import pyarrow as pa

#: Columns of an exported table that are copied from the log's ``playthroughs`` table (the
#: rest come from the log table of the same name).
_FROM_PLAYTHROUGHS = {
    "events": frozenset(("playthrough_id", "variant", "origin")),
    "exposures": frozenset(("playthrough_id", "viewer", "origin")),
}
#: The log's name of a column the export renames.
_LOG_NAME = {"playthrough_id": "id"}
#: Columns holding 0 or 1 in the log, written as booleans.
_FLAGS = frozenset(("timed_out",))


class ValueRefused(Exception):
    """A value of the log that the export cannot write as it is; ``str()`` says where and why."""

    def __init__(
        self, table: str, playthrough: object, seq: object, column: str, what: str
    ) -> None:
        self.table = table
        self.playthrough = playthrough
        self.seq = seq
        self.column = column
        self.what = what
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"table {self.table}, playthrough {_shown(self.playthrough)}"
        if self.seq is not None:
            where += f", event {_shown(self.seq)}"
        return f"{where}, column {self.column}: {self.what}"


def _shown(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return printable(value if isinstance(value, str) else repr(value), one_line=True)[:200]


def _value(value: object) -> str:
    """A bad value in a message, with its type when that is what is wrong."""
    return _shown(repr(value))


def _refuse(
    table: str, column: str, values: Mapping[str, Sequence[Any]], index: int, what: str
) -> ValueRefused:
    """A refusal of row ``index`` of an exported ``table``, located in the log's terms."""
    source = "playthroughs" if column in _FROM_PLAYTHROUGHS.get(table, ()) else table
    pids = values.get("playthrough_id")
    pid = pids[index] if pids is not None and index < len(pids) else None
    seqs = values.get("seq") if source != "playthroughs" else None
    seq = seqs[index] if seqs is not None and index < len(seqs) else None
    return ValueRefused(source, pid, seq, _LOG_NAME.get(column, column), what)


def _why_not(value: object, kind: str, type_: pa.DataType) -> str | None:
    """Why one value cannot be converted (``kind``: ``text``, ``integer``, ``time``), or None."""
    import pyarrow as pa

    if value is None:
        return None
    if kind == "text":
        if not isinstance(value, str):
            return f"is {_value(value)}, not text"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"is not UTF-8 text (it holds a lone surrogate: {_value(value)})"
        return None
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"is {_value(value)}, not an integer"
    elif isinstance(value, bool) or not isinstance(value, int | float):
        return f"is {_value(value)}, not a time (seconds)"
    if kind == "time":
        return None if recordable(value) else f"is {unrecordable_text(value)}"
    try:
        pa.array([value], type=type_)
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        bits = type_.bit_width
        return f"is {value}, beyond the {bits}-bit integers its Parquet column holds"
    return None


def _convert(
    table: str, column: str, values: Mapping[str, Sequence[Any]], kind: str, type_: pa.DataType
) -> pa.Array:
    """One column as an Arrow array of ``type_`` (``kind`` says how the log's value is read),
    converted in one call; only if that fails are the values looked at one by one."""
    import pyarrow as pa

    column_values = values[column]
    try:
        if kind == "text":
            return pa.array(column_values, type=pa.string())
        # Inferred, then cast: a typed conversion would truncate 1.5 to 1 without a word.
        array = pa.array(column_values)
        if pa.types.is_integer(array.type) or pa.types.is_null(array.type):
            return array.cast(type_)  # safe: overflow raises
        if kind == "time" and pa.types.is_floating(array.type):
            return array.cast(type_)
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        pass
    for index, value in enumerate(column_values):
        why = _why_not(value, kind, type_)
        if why is not None:
            raise _refuse(table, column, values, index, why)
    raise _refuse(table, column, values, 0, f"cannot be converted to {type_}")  # pragma: no cover


def _first(mask: pa.Array) -> int | None:
    """The index of the first true value of a boolean ``mask`` (nulls are false), or None."""
    import pyarrow.compute as pc

    found = pc.index(mask.fill_null(False), True).as_py()
    return None if found is None or found < 0 else int(found)


def _time(table: str, column: str, values: Mapping[str, Sequence[Any]], type_: pa.DataType) -> Any:
    """Seconds (REAL) as microseconds since the epoch, each a time the log can hold."""
    import pyarrow as pa
    import pyarrow.compute as pc

    seconds = _convert(table, column, values, "time", pa.float64())
    # NaN compares false, so it is outside too.
    inside = pc.and_(pc.greater_equal(seconds, EARLIEST), pc.less_equal(seconds, LAST))
    bad = _first(pc.invert(inside.fill_null(True)))
    if bad is not None:
        value = values[column][bad]
        raise _refuse(table, column, values, bad, f"is {unrecordable_text(value)}")
    micros = pc.round(pc.multiply(seconds, 1_000_000.0), round_mode="half_to_even")
    return micros.cast(pa.int64()).cast(type_)


def _flag(table: str, column: str, values: Mapping[str, Sequence[Any]]) -> Any:
    """0 or 1 (or NULL) as a boolean: any other integer would be written as true."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = _convert(table, column, values, "integer", pa.int64())
    outside = pc.invert(pc.is_in(numbers, value_set=pa.array([0, 1], pa.int64())))
    bad = _first(pc.and_(outside, pc.is_valid(numbers)))
    if bad is not None:
        raise _refuse(table, column, values, bad, f"is {_value(values[column][bad])}, not 0 or 1")
    return numbers.cast(pa.bool_())


def to_arrow(table: str, values: Mapping[str, Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """An exported ``table``'s buffered columns (times as Unix seconds, ``timed_out`` as 0 or
    1, as the log holds them) as an Arrow table of ``schema``.

    Raises:
        ValueRefused: the first value that cannot be written as it is, located.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field in schema:
        name, type_ = field.name, field.type
        if pa.types.is_timestamp(type_):
            arrays.append(_time(table, name, values, type_))
        elif name in _FLAGS:
            arrays.append(_flag(table, name, values))
        elif pa.types.is_string(type_):
            arrays.append(_convert(table, name, values, "text", type_))
        elif pa.types.is_integer(type_):
            arrays.append(_convert(table, name, values, "integer", type_))
        else:  # derived at export (booleans): always of their type
            arrays.append(pa.array(values[name], type=type_))
    if table == "events":
        # The playthroughs' path joins the nodes entered with line breaks.
        nodes = arrays[schema.get_field_index("node")]
        bad = _first(pc.match_substring(nodes, "\n"))
        if bad is not None:
            raise _refuse(
                table, "node", values, bad,
                "holds a line break, which the exported path (nodes joined by line breaks) "
                "cannot hold",
            )  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=schema)


def check_partition(story_id: object, version: object, playthrough: object) -> None:
    """Refuse a story id or version that would not read back as itself from a partition
    directory name (empty, Hive's NULL marker, not text)."""
    for column, value in (("story_id", story_id), ("story_version", version)):
        if value is None and column == "story_version":
            continue
        what = None
        if not isinstance(value, str):
            what = f"is {_value(value)}, not text"
        elif value in ("", HIVE_NULL):
            what = f"is {_value(value)}, which a partition folder reads back as no value"
        else:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                what = f"is not UTF-8 text (it holds a lone surrogate: {_value(value)})"
        if what is not None:
            raise ValueRefused("playthroughs", playthrough, None, column, what)


def find_undecodable(conn: sqlite3.Connection) -> ValueRefused:
    """Where the first text that is not UTF-8 is (called once reading failed)."""
    for found in undecodable_values(conn):
        return ValueRefused(
            found.table,
            found.playthrough,
            found.seq,
            found.column,
            f"is not UTF-8 text ({_shown(found.shown)})",
        )
    return ValueRefused("playthroughs", None, None, "?", "holds text that is not UTF-8")
