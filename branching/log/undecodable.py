"""Text in the log that is not UTF-8, and where it is.

SQLite stores whatever bytes a program gave it as TEXT; Python's ``sqlite3`` refuses to read
them (``OperationalError: Could not decode to UTF-8 column ...``), so one such value stops a
whole query without saying which row holds it. A log edited by hand or merged from another
program's file can hold them. ``log check`` and ``log export`` both find them with
:func:`undecodable_values`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import NamedTuple

#: The text columns of the recorded tables.
TEXT_COLUMNS = {
    "playthroughs": (
        "id", "story_id", "story_version", "story_hash", "viewer", "variant", "origin",
        "status", "last_node", "ending", "ending_kind", "failure", "language",
    ),
    "events": ("kind", "node", "choice", "target", "detail", "ending_kind"),
    "exposures": ("experiment", "arm", "node"),
}  # fmt: skip


class Undecodable(NamedTuple):
    """One value that is not UTF-8: its table, playthrough id (``None`` when that is what
    cannot be read, or for an orphan row), event ``seq`` (``None`` for a playthrough's own
    row), column and the value with its bad bytes as ``\\xNN``."""

    table: str
    playthrough: str | None
    seq: int | None
    column: str
    shown: str


def is_undecodable(error: BaseException) -> bool:
    """True for the error Python's sqlite3 raises on reading text that is not UTF-8."""
    return isinstance(error, sqlite3.OperationalError) and "decode to UTF-8" in str(error)


def undecodable_values(conn: sqlite3.Connection) -> Iterator[Undecodable]:
    """Every text value of the recorded tables that is not UTF-8, table by table.

    SQLite itself passes over ASCII text (a ``GLOB`` for any other byte), so only values
    holding other bytes are decoded in Python: one pass per column, cheap on a sound log.
    """
    present = {
        table: {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        for table in TEXT_COLUMNS
    }
    saved = conn.text_factory
    conn.text_factory = bytes
    try:
        for table, names in TEXT_COLUMNS.items():
            for column in (n for n in names if n in present[table]):
                if table == "playthroughs":
                    sql = f"SELECT t.id, NULL, t.{column} FROM playthroughs t"
                else:
                    sql = (
                        f"SELECT p.id, t.seq, t.{column} FROM {table} t "
                        "LEFT JOIN playthroughs p ON p.pk = t.playthrough"
                    )
                sql += f" WHERE t.{column} GLOB ?"
                for pid, seq, raw in conn.execute(sql, ("*[^\x01-\x7f]*",)):
                    try:
                        bytes(raw).decode("utf-8")
                    except UnicodeDecodeError:
                        shown = bytes(raw).decode("utf-8", "backslashreplace")
                        yield Undecodable(table, _text(pid), seq, column, shown)
    finally:
        conn.text_factory = saved


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else bytes(raw).decode("utf-8", "backslashreplace")
