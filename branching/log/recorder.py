"""One call for a player: the recorder of one playthrough, with its own log connection."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from branching.log.errors import LogWriteError
from branching.log.location import logging_notice, resolve_db
from branching.log.store import ChoiceLog
from branching.log.writer import LogRecorder
from branching.play.events import Event, PlaythroughInfo
from branching.play.home import Viewer


class PlayerRecorder:
    """A :class:`~branching.play.events.Recorder` that owns its log connection.

    Usable from any thread (calls are serialised by a lock), so a Textual player may record
    from its event loop or from a worker. ``record`` returns once the event is durable;
    ``close`` closes the file (the playthrough stays ``open`` unless it ended).
    """

    def __init__(self, log: ChoiceLog, inner: LogRecorder) -> None:
        self._log = log
        self._inner = inner
        self._lock = threading.Lock()
        self.playthrough_id = inner.playthrough_id
        #: The log file (``None`` for ``:memory:``).
        self.path: Path | None = log.path

    def record(self, event: Event) -> None:
        with self._lock:
            self._inner.record(event)

    def close(self) -> None:
        with self._lock:
            if not self._inner.closed:
                self._inner.close()
                self._log.close()


def open_recorder(
    info: PlaythroughInfo,
    *,
    db: str | os.PathLike[str] | None = None,
    durable: bool = True,
    notice: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> PlayerRecorder:
    """Open the log and start ``info``'s playthrough, or continue it if already logged.

    ``db`` is the ``--db`` value (``None``: ``$BRANCHING_DB``, else the default file, whose
    directory is created). Continuing covers a player resuming its own save: the events go on
    with the next ``seq``. ``notice``, if given, receives the one-line "your choices are
    logged to ..." notice the first time this log is used by this user, and the notice
    that an older log is being upgraded.

    Raises:
        LogUnavailable: the log cannot be used; its message names the file and the problem
            (the player adds "use --no-log").
        LogWriteError: the playthrough could not be recorded.
    """
    location = resolve_db(db)
    log = ChoiceLog.open(
        location.path,
        durable=durable,
        create_parent=location.is_default,
        clock=clock,
        check_same_thread=False,
        on_upgrade=notice,
    )
    try:
        logged = log.playthrough(info.playthrough_id)
        if logged is not None:
            if (logged.viewer, logged.story_id) != (info.viewer, info.story_id):
                raise LogWriteError(
                    f"playthrough {info.playthrough_id} is recorded for another viewer or "
                    "story; it is not continued"
                )
            inner = log.resume_playthrough(info.playthrough_id)
        else:
            inner = log.start_playthrough(info)
    except BaseException:
        log.close()
        raise
    if notice is not None:
        line = logging_notice(location, Viewer(info.viewer, "option"))
        if line is not None:
            notice(line)
    return PlayerRecorder(log, inner)
