"""Errors raised by the choice log.

Every failure a viewer or producer can meet is one of these, with a message that names the file
and says what to do; the CLI prints the message (never a traceback) and players offer
``--no-log``.
"""

from __future__ import annotations

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
