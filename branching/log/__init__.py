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

The simulator and imports use :meth:`ChoiceLog.bulk_writer`. See ``docs/choice-log.md``.

The package root is lazy: ``import branching.log.encoding`` (pure definitions the analytics
read) does not load SQLite; the names below load their module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from branching.log.writer import BulkWriter, LogRecorder

#: Public name -> the module that defines it.
_HOME = {
    "LogError": "errors",
    "LogMissing": "errors",
    "LogOutdated": "errors",
    "LogTooNew": "errors",
    "LogUnavailable": "errors",
    "LogWriteError": "errors",
    "UnknownPlaythrough": "errors",
    "MergeStats": "merge",
    "Source": "merge",
    "merge_all": "merge",
    "merge_into": "merge",
    "open_sources": "merge",
    "LoggedEvent": "queries",
    "LogInfo": "queries",
    "PlaythroughSummary": "queries",
    "full_path": "queries",
    "route": "queries",
    "PlayerRecorder": "recorder",
    "open_recorder": "recorder",
    "SCHEMA_VERSION": "schema",
    "ChoiceLog": "store",
    "BulkWriter": "writer",
    "LogRecorder": "writer",
}

__all__ = [
    "SCHEMA_VERSION",
    "BulkWriter",
    "ChoiceLog",
    "LogError",
    "LogInfo",
    "LogMissing",
    "LogOutdated",
    "LogRecorder",
    "LogTooNew",
    "LogUnavailable",
    "LogWriteError",
    "LoggedEvent",
    "MergeStats",
    "PlayerRecorder",
    "PlaythroughSummary",
    "Source",
    "UnknownPlaythrough",
    "full_path",
    "merge_all",
    "merge_into",
    "open_recorder",
    "open_sources",
    "route",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
