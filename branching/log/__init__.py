"""The SQLite choice log: every viewer choice, recorded exactly once and durably.

Players, simplest: ``recorder = open_recorder(info, db=db_option, notice=click.echo)`` (opens
the log, starts or continues the playthrough; thread-safe; ``close()`` closes the file).

Players, in full::

    from branching.log import ChoiceLog, LogUnavailable
    try:
        log = ChoiceLog.open(path, create_parent=location.is_default)
    except LogUnavailable as e:
        ...  # tell the viewer (str(e)) and offer --no-log
    recorder = log.start_playthrough(info)   # or log.resume_playthrough(id)
    recorder.record(NodeEntered("start"))     # returns once durable
    recorder.close(); log.close()

A player with an event loop may use :class:`LogThread` instead (same calls; ``await
recorder.arecord(event)`` leaves the loop free); ``branching play``'s Textual player records
through ``open_recorder``, whose lock makes it usable from any thread.
The simulator and imports use :meth:`ChoiceLog.bulk_writer`. See ``docs/choice-log.md``.
"""

from branching.log.errors import (
    LogError,
    LogMissing,
    LogOutdated,
    LogTooNew,
    LogUnavailable,
    LogWriteError,
    UnknownPlaythrough,
)
from branching.log.merge import MergeStats, Source, merge_all, merge_into, open_sources
from branching.log.queries import (
    LoggedEvent,
    LogInfo,
    PlaythroughSummary,
    full_path,
    route,
)
from branching.log.recorder import PlayerRecorder, open_recorder
from branching.log.schema import SCHEMA_VERSION
from branching.log.store import ChoiceLog
from branching.log.threaded import LogThread, ThreadedRecorder
from branching.log.writer import BulkWriter, LogRecorder

__all__ = [
    "SCHEMA_VERSION",
    "BulkWriter",
    "ChoiceLog",
    "LogError",
    "LogInfo",
    "LogMissing",
    "LogOutdated",
    "LogRecorder",
    "LogThread",
    "LogTooNew",
    "LogUnavailable",
    "LogWriteError",
    "LoggedEvent",
    "MergeStats",
    "PlayerRecorder",
    "PlaythroughSummary",
    "Source",
    "ThreadedRecorder",
    "UnknownPlaythrough",
    "full_path",
    "merge_all",
    "merge_into",
    "open_recorder",
    "open_sources",
    "route",
]
