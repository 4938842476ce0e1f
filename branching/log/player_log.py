"""The choice log as every player uses it: one recorder per playthrough of one viewer.

``branching play`` and the served player (``branching serve``) both plug the log into the
engine through :class:`PlayerLog`, so a playthrough is logged the same way wherever it is shown.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from branching.play.engine import ResumeError
from branching.play.events import NullRecorder, PlaythroughInfo
from branching.play.lifecycle import SafeRecorder, to_stderr

if TYPE_CHECKING:
    from collections.abc import Sequence

    from branching.play.events import Event, Recorder
    from branching.story.model import Story


class LogStartFailed(Exception):
    """The log could not be opened or read before the story started."""


class PlayerLog:
    """Opens the log for each playthrough of ``story`` by ``viewer`` (``recorder_for``), and
    reads what it holds for a save being resumed (``logged``).

    ``db``: the ``--db`` value (``None``: ``$BRANCHING_DB``, else the default log).
    ``language``: the language the story is shown in, recorded with each playthrough.
    ``notice`` receives the one-line "your choices are logged to ..." notice the first time a
    log is used (``None``: the caller tells the viewer itself). A log that fails later is
    reported once through ``warn`` and play goes on unlogged; one that fails at the very first
    open raises :class:`LogStartFailed` when ``strict_start`` (the terminal player offers
    ``--no-log`` instead), else it is reported the same way.
    """

    def __init__(
        self,
        story: Story,
        viewer: str,
        *,
        db: str | os.PathLike[str] | None,
        variant: str | None = None,
        language: str | None = None,
        notice: Callable[[str], None] | None = None,
        warn: Callable[[str], None] = to_stderr,
        strict_start: bool = False,
    ) -> None:
        self.story = story
        self.viewer = viewer
        self.db = db
        self.variant = variant
        self.language = language
        self.notice = notice
        self.warn = warn
        self.strict_start = strict_start
        self.opened = False

    def recorder_for(self, playthrough_id: str) -> Recorder:
        """The recorder of one playthrough (started, or continued if the log knows it)."""
        from branching.log.recorder import open_recorder

        story = self.story
        info = PlaythroughInfo(
            playthrough_id=playthrough_id,
            story_id=story.id,
            story_version=story.version,
            story_hash=story.content_hash,
            viewer=self.viewer,
            variant=self.variant,
            language=self.language,
        )
        try:
            recorder = open_recorder(info, db=self.db, notice=self.notice)
        except Exception as exc:  # the log cannot be opened: say so, never a traceback
            if self.strict_start and not self.opened:
                raise LogStartFailed(str(exc)) from None
            self.warn(f"warning: the choice log failed ({exc}); the rest is not logged")
            return NullRecorder()
        self.opened = True
        return SafeRecorder(recorder, self.warn)

    def logged(self, playthrough_id: str) -> Sequence[Event] | None:
        """What the log holds for a saved playthrough (the save is compared with it), or
        ``None`` when the log does not know it.

        Raises:
            ResumeError: the log records the playthrough for another viewer or story.
            LogStartFailed: the log cannot be read, or a ``--db`` that does not exist yet
                could not be created.
        """
        from branching.log import ChoiceLog, LogError, LogMissing, UnknownPlaythrough
        from branching.log.location import resolve_db

        location = resolve_db(self.db)
        try:
            with ChoiceLog.open(location.path, readonly=True, outdated_ok=True) as log:
                owner = log.playthrough(playthrough_id)
                if owner is not None and (owner.viewer, owner.story_id) != (
                    self.viewer,
                    self.story.id,
                ):
                    # A save copied from another viewer's folder: going on would credit that
                    # viewer's playthrough with these choices (and `viewer forget` miss them).
                    raise ResumeError(
                        "the choice log records that playthrough for another viewer or story"
                    )
                return [item.event for item in log.events(playthrough_id)]
        except (LogMissing, UnknownPlaythrough):
            if not location.is_default:  # a --db the recorder cannot create is said now
                try:
                    ChoiceLog.check_path(location.path)
                except LogError as exc:
                    raise LogStartFailed(str(exc)) from None
            return None
        except LogError as exc:
            raise LogStartFailed(str(exc)) from None
