"""How a playthrough starts, is kept and ends, whichever player shows it.

``branching play`` (and any other front end) wires these together: the command decides where
choices are logged and hands the players a recorder; nothing here imports a UI, click or the
log itself.

* :func:`start_session`: resume the viewer's save, or start a new playthrough.
* :class:`Autosave`: the save follows the session after every change.
* :class:`SafeRecorder`: a log that fails mid-story is reported once, and play goes on.
* :class:`ViewerNotices`: lines for the viewer, shown by whichever player is running.
* :func:`finish`: leave the story cleanly however play ended.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from branching.play.engine import ResumeError, Session, TimerOptions

if TYPE_CHECKING:
    from branching.play.events import Event, Recorder
    from branching.play.saves import SaveStore
    from branching.story.model import Story


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def say_once(say: Callable[[str], None]) -> Callable[[str], None]:
    """``say``, skipping messages it already said (a log that fails again after a restart)."""
    said: set[str] = set()

    def once(message: str) -> None:
        if message not in said:
            said.add(message)
            say(message)

    return once


class ViewerNotices:
    """Lines for the viewer (where choices are logged, a log that failed).

    The plain player prints them on stderr at once. The full-screen player hides stderr, so
    they are kept in :attr:`pending` until it runs, then shown inside it (set :attr:`target`
    to its method that shows a line).
    """

    def __init__(self, *, plain: bool) -> None:
        self.pending: list[str] = []
        self.target: Callable[[str], None] | None = to_stderr if plain else None

    def __call__(self, line: str) -> None:
        if self.target is not None:
            self.target(line)
        else:
            self.pending.append(line)


class SafeRecorder:
    """Passes events on; if the log fails, says so once and stops logging, so play goes on.

    A viewer should never lose a story to a full disk; the message names the problem so the
    producer can fix it, and the log keeps everything up to the failure.
    """

    def __init__(self, inner: Recorder, warn: Callable[[str], None] = to_stderr) -> None:
        self.inner = inner
        self.warn = warn
        self.broken = False

    def record(self, event: Event) -> None:
        if self.broken:
            return
        try:
            self.inner.record(event)
        except Exception as exc:  # any log failure: the story must go on
            self.broken = True
            self.warn(f"warning: the choice log failed ({exc}); the rest is not logged")

    def close(self) -> None:
        try:
            self.inner.close()
        except Exception as exc:
            self.warn(f"warning: the choice log could not be closed cleanly ({exc})")


class SaveKept(Exception):
    """The viewer chose to keep a save that cannot be resumed: nothing was started."""


def start_session(
    story: Story,
    store: SaveStore,
    viewer: str,
    timers: TimerOptions,
    recorder_for: Callable[[str], Recorder],
    *,
    start_new: bool,
    say: Callable[[str], None],
    confirm: Callable[[str], bool | None],
    arms: Mapping[str, str] | None = None,
) -> tuple[Session, bool]:
    """Resume the viewer's saved playthrough, or start a new one; says whether it resumed.

    What was adapted to a changed story is in ``session.resume_notes``. A save that cannot be
    resumed is explained with ``say``, and ``confirm`` asks before it is replaced; if the viewer
    declines, :class:`SaveKept` is raised and the save stays as it was. ``arms``: the viewer's
    experiment arms (a resumed playthrough keeps the ones it was saved with; ``say`` tells
    the viewer when that differs from ``arms``).
    """
    if not start_new:
        try:
            saved = store.load(story.id, viewer)
            if saved is not None:
                session = Session.from_json(
                    story, saved, timers=timers, recorder_factory=recorder_for, arms=arms
                )
                kept = {
                    f"{experiment}={arm}"
                    for experiment, arm in session.arms.items()
                    if arms and arms.get(experiment, arm) != arm
                }
                if kept:
                    say(
                        "This playthrough continues in the arm it began in ("
                        + ", ".join(sorted(kept))
                        + "); start a new one (--new) to play another arm."
                    )
                return session, True
        except ResumeError as exc:
            say(f"Your saved playthrough cannot be continued: {exc}.")
            if not confirm("Start a new playthrough?"):
                raise SaveKept("Nothing changed; your save is kept.") from None
    return Session(story, timers=timers, recorder_factory=recorder_for, arms=arms), False


class Autosave:
    """Keeps the viewer's save in step with the session: written while it can be resumed,
    deleted once the playthrough ended or failed. A failure to save is reported once."""

    def __init__(
        self, store: SaveStore, viewer: str, warn: Callable[[str], None] = to_stderr
    ) -> None:
        self.store = store
        self.viewer = viewer
        self.warn = warn
        self.warned = False

    def __call__(self, session: Session) -> None:
        story_id = session.story.id
        try:
            if session.status in ("playing", "quit"):
                self.store.save(story_id, self.viewer, session.to_json())
            else:
                self.store.delete(story_id, self.viewer)
        except OSError as exc:
            if not self.warned:
                self.warned = True
                self.warn(f"warning: cannot save your place ({exc})")


def finish(session: Session, autosave: Autosave) -> None:
    """Leave the story however play ended: quit if still playing, save the place, close the log."""
    session.quit()  # records Quit only while playing
    autosave(session)
    session.recorder.close()
