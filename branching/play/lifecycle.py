"""How a playthrough starts, is kept and ends, whichever player shows it.

``branching play`` (and any other front end) wires these together: the command decides where
choices are logged and hands the players a recorder; nothing here imports a UI, click or the
log itself.

* :func:`start_session`: resume the viewer's save, or start a new playthrough.
* :func:`resume`: a save and the choice log that disagree (a player killed between the two
  writes) are brought back into agreement.
* :class:`Autosave`: the save follows the session after every change.
* :class:`SafeRecorder`: a log that fails mid-story is reported once, and play goes on.
* :class:`ViewerNotices`: lines for the viewer, shown by whichever player is running.
* :func:`finish`: leave the story cleanly however play ended.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from branching.play.engine import Diverged, ResumeError, Session, TimerOptions
from branching.play.events import Exposed, MemoryRecorder, NullRecorder
from branching.play.i18n import _, ngettext
from branching.play.profiles import FIRST_VISIT, ViewerProfile

if TYPE_CHECKING:
    from collections.abc import Sequence

    from branching.play.events import Event, Recorder
    from branching.play.profiles import ProfileStore
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
            self.warn(
                _("warning: the choice log failed (%(error)s); the rest is not logged")
                % {"error": exc}
            )

    def close(self) -> None:
        try:
            self.inner.close()
        except Exception as exc:
            self.warn(
                _("warning: the choice log could not be closed cleanly (%(error)s)")
                % {"error": exc}
            )


class SaveKept(Exception):
    """The viewer chose to keep a save that cannot be resumed: nothing was started."""


#: The events the choice log holds for a playthrough id, in order, or ``None`` when the log
#: does not know it. The command passes it (the play layer never opens the log itself).
LoggedEvents = Callable[[str], "Sequence[Event] | None"]


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
    logged: LoggedEvents | None = None,
    language: str | None = None,
    translation: Mapping[str, str] | None = None,
    profile: ViewerProfile = FIRST_VISIT,
) -> tuple[Session, bool]:
    """Resume the viewer's saved playthrough, or start a new one; says whether it resumed.

    What was adapted to a changed story is in ``session.resume_notes``, and so is anything
    :func:`resume` had to do because the save and the log (``logged``; ``None`` when not
    logging) disagree. A save that cannot be resumed is explained with ``say``, and
    ``confirm`` asks before it is replaced; if the viewer declines, :class:`SaveKept` is raised
    and the save stays as it was. ``arms``: the viewer's experiment arms (a resumed
    playthrough keeps the ones it was saved with; ``say`` tells the viewer when that differs
    from ``arms``). ``profile``: what the viewer brings from earlier playthroughs (their kept
    profile of the story).
    """
    if not start_new:
        try:
            saved = store.load(story.id, viewer)
            if saved is not None:
                session, resumed = resume(
                    story,
                    saved,
                    timers,
                    recorder_for,
                    logged,
                    arms=arms,
                    language=language,
                    translation=translation,
                    profile=profile,
                )
                kept = {
                    f"{experiment}={arm}"
                    for experiment, arm in session.arms.items()
                    if resumed and arms and arms.get(experiment, arm) != arm
                }
                if kept:
                    say(
                        _(
                            "This playthrough continues in the arm it began in (%(arms)s); "
                            "start a new one (--new) to play another arm."
                        )
                        % {"arms": ", ".join(sorted(kept))}
                    )
                return session, resumed
        except ResumeError as exc:
            say(_("Your saved playthrough cannot be continued: %(reason)s.") % {"reason": exc})
            if not confirm(_("Start a new playthrough?")):
                raise SaveKept(_("Nothing changed; your save is kept.")) from None
    session = Session(
        story,
        timers=timers,
        recorder_factory=recorder_for,
        arms=arms,
        language=language,
        translation=translation,
        viewer=profile,
    )
    return session, False


def _counted(events: Sequence[Event]) -> int:
    """How many of ``events`` the log numbers (exposures are kept apart from the events)."""
    return sum(1 for event in events if not isinstance(event, Exposed))


def resume(
    story: Story,
    saved: Any,
    timers: TimerOptions,
    recorder_for: Callable[[str], Recorder],
    logged: LoggedEvents | None,
    *,
    arms: Mapping[str, str] | None = None,
    language: str | None = None,
    translation: Mapping[str, str] | None = None,
    profile: ViewerProfile = FIRST_VISIT,
) -> tuple[Session, bool]:
    """Resume a save so that it and the choice log agree; says whether it resumed.

    The player records each event durably, then writes the save: a player killed in between
    leaves a save one step behind its log. The save knows how many events the log held for its
    playthrough (``events``); compared with what the log holds:

    * the same: resume, and record on;
    * the log holds more (killed before saving): the log is the source of truth, so the
      session takes the logged events again (:meth:`Session.follow`) and goes on from where
      the log says the viewer was, recording what the log still lacks; if the events do not
      fit the save, a new playthrough starts, and the viewer is told;
    * the log holds fewer, or does not know the playthrough (a log that failed, or a save
      played with ``--no-log``): the save is kept and the rest of this playthrough is not
      logged, since a log with a gap is a path nobody took; ``--new`` starts a logged one.

    Raises:
        ResumeError: the save cannot be resumed at all.
    """
    held = MemoryRecorder()  # what the resume itself records (a changed story), until attached
    session = Session.from_json(
        story,
        saved,
        timers=timers,
        recorder=held,
        recorder_factory=recorder_for,
        arms=arms,
        language=language,
        translation=translation,
        viewer=profile,
    )
    pid = session.playthrough_id
    in_log = logged(pid) if logged is not None else None
    # What the save said the log holds (the resume's own events, if any, are in `held`).
    expected = None if session.event_count is None else session.event_count - _counted(held.events)
    if logged is None or expected is None:  # not logging, or a save that did not count
        if in_log is not None:
            session.event_count = len(in_log) + _counted(held.events)
        session.attach(recorder_for(pid), held.events)
        return session, True
    if in_log is not None and len(in_log) == expected:
        session.attach(recorder_for(pid), held.events)
        return session, True
    if in_log is None or len(in_log) < expected:
        if in_log is None:
            note = _(
                "This playthrough is not in the choice log (played with --no-log, or the log "
                "was changed since), so the rest of it is not logged either; `branching play "
                "--new` starts a logged one."
            )
        else:
            missing = expected - len(in_log)
            note = ngettext(
                "This playthrough lacks its last %(count)d event in the choice log (the log "
                "could not record it), so the rest of it is not logged either; `branching play "
                "--new` starts a logged one.",
                "This playthrough lacks its last %(count)d events in the choice log (the log "
                "could not record them), so the rest of it is not logged either; `branching "
                "play --new` starts a logged one.",
                missing,
            ) % {"count": missing}
        session.resume_notes.append(note)
        session.attach(NullRecorder())
        return session, True
    # The log is ahead: the player stopped after recording and before saving.
    ahead = len(in_log) - expected
    held = MemoryRecorder()
    rebuilt = Session.from_json(
        story,
        saved,
        timers=timers,
        recorder=held,
        recorder_factory=recorder_for,
        arms=arms,
        language=language,
        translation=translation,
        viewer=profile,
    )
    try:
        extra = rebuilt.follow(in_log[expected:], pending=held.events)
    except Diverged as exc:
        fresh = Session(
            story,
            timers=timers,
            recorder_factory=recorder_for,
            arms=arms,
            language=language,
            translation=translation,
            viewer=profile,
        )
        fresh.resume_notes.append(
            ngettext(
                "Your save does not match the choice log, which records %(count)d more event "
                "of that playthrough (%(reason)s): a new playthrough starts.",
                "Your save does not match the choice log, which records %(count)d more events "
                "of that playthrough (%(reason)s): a new playthrough starts.",
                ahead,
            )
            % {"count": ahead, "reason": exc.reason}
        )
        return fresh, False
    rebuilt.resume_notes.append(
        ngettext(
            "Your save was %(count)d event behind the choice log (the player stopped before it "
            "could save): you go on from where the log says you were.",
            "Your save was %(count)d events behind the choice log (the player stopped before "
            "it could save): you go on from where the log says you were.",
            ahead,
        )
        % {"count": ahead}
    )
    rebuilt.event_count = len(in_log)
    rebuilt.attach(recorder_for(pid), extra)
    rebuilt.reopen()  # the log ended with a quit (killed before saving it): resume it
    return rebuilt, True


class Autosave:
    """Keeps the viewer's save in step with the session: written while it can be resumed,
    deleted once the playthrough ended or failed. Keeps the viewer's profile of the story too
    (with ``profiles``). A failure to save is reported once."""

    def __init__(
        self,
        store: SaveStore | None,
        viewer: str,
        warn: Callable[[str], None] = to_stderr,
        *,
        profiles: ProfileStore | None = None,
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.viewer = viewer
        self.warn = warn
        self.warned = False

    def __call__(self, session: Session) -> None:
        story_id = session.story.id
        try:
            if self.store is None:
                pass
            elif session.status in ("playing", "quit"):
                self.store.save(story_id, self.viewer, session.to_json())
            else:
                self.store.delete(story_id, self.viewer)
            if self.profiles is not None:
                self.profiles.save(story_id, self.viewer, session.viewer_profile())
        except OSError as exc:
            if not self.warned:
                self.warned = True
                self.warn(_("warning: cannot save your place (%(error)s)") % {"error": exc})


def finish(session: Session, autosave: Autosave) -> None:
    """Leave the story however play ended: quit if still playing, save the place, close the log."""
    session.quit()  # records Quit only while playing
    autosave(session)
    session.recorder.close()
