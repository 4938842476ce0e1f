"""Errors raised by the choice log.

Every failure a viewer or producer can meet is one of these, with a message that names the file
and says what to do; the CLI prints the message (never a traceback) and players offer
``--no-log``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class LogError(Exception):
    """Base class of every choice-log error."""


class LogUnavailable(LogError):
    """The log at ``path`` cannot be opened (or created) for the use asked for.

    Raised by :meth:`branching.log.ChoiceLog.open` before anything is written: a missing
    directory, a read-only file, a file that is not SQLite or not a choice log, a damaged file,
    a log written by a newer ``branching``.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot use the choice log {str(path)!r}: {reason}")


class LogMissing(LogUnavailable):
    """No log exists at ``path`` and the caller asked not to create one."""


class LogTooNew(LogUnavailable):
    """The log was written by a newer ``branching`` (its schema is newer than this code)."""


class LogOutdated(LogUnavailable):
    """The log has an older schema and was opened read-only, so it cannot be upgraded."""


class LogWriteError(LogError):
    """A write to an open log failed (disk full, file damaged, locked for too long, ...).

    The event was *not* recorded: nothing from the failed transaction is kept.
    """


class UnknownPlaythrough(LogError, LookupError):
    """No playthrough with this id is in the log."""

    def __init__(self, playthrough_id: str) -> None:
        self.playthrough_id = playthrough_id
        super().__init__(f"no playthrough {playthrough_id!r} in the choice log")


def describe_sqlite_error(error: sqlite3.Error) -> str:
    """A sentence for a viewer or producer, from an SQLite error."""
    name = getattr(error, "sqlite_errorname", "")
    text = str(error)
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return "the file is not an SQLite database"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return "the file is damaged (SQLite says: database disk image is malformed)"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return "the file (or its directory) is read-only"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "the disk is full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "another program has held the file locked for too long"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "SQLite cannot open the file (check the directory exists and is writable)"
    if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return "a disk read or write failed"
    return f"SQLite error: {text}"
