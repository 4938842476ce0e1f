"""The Textual player: :func:`make_app` builds it for the CLI and for tests.

The app owns the :class:`~branching.play.engine.Session` and every change to it. Screens show what
the app hands them (attributes down) and post :mod:`~branching.ui.messages` when the viewer
acts (messages up). Time comes from the session's injected clock, so tests drive timers
without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.notifications import SeverityLevel

from branching.play.audience import SUGGESTION_KEYS, AudienceView, point_share
from branching.play.endings import found_line
from branching.play.engine import (
    Clock,
    RecorderFactory,
    ResumeError,
    Session,
    SessionError,
    TimerOptions,
)
from branching.play.events import Recorder
from branching.play.i18n import N_, _
from branching.play.profiles import FIRST_VISIT, ProfileError, ViewerProfile
from branching.story.model import Story
from branching.story.untrusted import printable
from branching.ui.messages import (
    Choose,
    GoBack,
    PassageShown,
    QuitRequested,
    Restart,
    ScreenReady,
    TimeUp,
)
from branching.ui.screens.confirm_quit import ConfirmQuitScreen
from branching.ui.screens.help import HelpScreen
from branching.ui.screens.play import PlayScreen
from branching.ui.screens.resume import ResumeScreen
from branching.ui.services import BackgroundSaves, Profiles, Saves
from branching.ui.widgets.ending_panel import EndingView, PointView, SuggestionView

#: Builds the session: a new playthrough for ``None``, else one resumed from a saved state
#: (raising :class:`~branching.play.engine.ResumeError` when the state does not fit the story).
SessionFactory = Callable[[dict[str, Any] | None], Session]

#: The only app-level actions anything may run. Story text is rendered as plain ``Content``,
#: so it cannot carry ``@click`` actions; this list is the second line of defence against
#: ``[@click=app.screenshot(...)]``, ``app.quit`` (which would skip saving) and the like.
APP_ACTIONS = frozenset({"request_quit", "help", "focus_next", "focus_previous"})


class PlayerApp(App[None]):
    """Plays one story for one viewer."""

    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", N_("Help"), key_display="?"),
        Binding("q", "request_quit", N_("Quit")),
        Binding("ctrl+q,ctrl+c", "request_quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        story: Story,
        *,
        viewer: str,
        session: Session | None,
        resumed: bool,
        session_factory: SessionFactory,
        saves: Saves | None,
        profiles: Profiles | None = None,
        notices: Sequence[str] = (),
        audience: AudienceView | None = None,
    ) -> None:
        super().__init__()
        #: What is shown of other viewers (shares, suggestions); the command wires the log in.
        self.audience = audience or AudienceView()
        #: One-off lines for the viewer, e.g. where choices are logged (shown once started).
        self.notices = tuple(notices)
        self.story = story
        self.viewer = viewer
        self.session: Session | None = session
        self.resumed = resumed
        #: Saves go through one background thread, so a slow disk never delays a passage.
        self.saves: BackgroundSaves | None = BackgroundSaves(saves) if saves is not None else None
        self._session_factory = session_factory
        #: Where the viewer's profile is kept (``None``: not kept, e.g. ``--fresh-profile``).
        self.profiles = profiles
        self._save_error_shown = False
        # The story title in the viewer's language (the window title and the resume dialog).
        self.title = session.story_title() if session is not None else story.title

    def _tell(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """Notify in plain words. Messages quote saves, files and paths, which no story check
        has seen: never markup, and control characters (ESC could drive the terminal) go."""
        self.notify(
            printable(message), title=title, severity=severity, timeout=timeout, markup=False
        )

    def tell_viewer(self, message: str) -> None:
        """A warning from outside the player (e.g. the choice log failed), shown inside it:
        the terminal's stderr is hidden behind the app."""
        self._tell(message, title=_("Choice log"), severity="warning", timeout=15)

    # --- start-up -----------------------------------------------------------------------

    def get_default_screen(self) -> PlayScreen:
        return PlayScreen()

    @property
    def play_screen(self) -> PlayScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, PlayScreen)
        return screen

    @property
    def timer_options(self) -> TimerOptions:
        return self.session.timers if self.session is not None else TimerOptions()

    async def on_screen_ready(self, message: ScreenReady) -> None:
        if self.session is None:
            self.session, self.resumed = self._open_session()
        if not self.resumed:
            # Notices go above the first passage: a toast would cover the choices (and the
            # first passage may be timed).
            note = Content(printable("\n".join(self.notices))) if self.notices else None
            await self._after_move(note)
            return
        for line in self.notices:
            self._tell(line, title=_("Note"), timeout=12)
        session = self.session
        # The saved passage shows behind the question; its countdown waits for the answer.
        session.pause_timer()
        self.play_screen.show(session, None)
        where = session.title() or (session.history[-1].label if session.history else None)
        self.push_screen(ResumeScreen(session.story_title(), where), self._on_resume_answer)

    def _open_session(self) -> tuple[Session, bool]:
        """The viewer's saved playthrough if there is one that fits, else a new one."""
        try:
            state = self.saves.load(self.story.id, self.viewer) if self.saves else None
            if state is not None:
                return self._session_factory(state), True
        except ResumeError as exc:
            self._tell(
                _("Your saved place cannot be continued, so the story starts over: %(reason)s")
                % {"reason": exc},
                title=_("Saved place"),
                severity="warning",
                timeout=10,
            )
        return self._session_factory(None), False

    async def _on_resume_answer(self, resume: bool | None) -> None:
        session = self.session
        assert session is not None
        if resume is False:
            session.restart()
            await self._after_move(None)
            return
        if session.paused:
            session.resume_timer()
        for line in session.resume_notes:
            self._tell(line, title=_("Resumed"), timeout=10)
        await self._after_move(Content(_("Resumed where you left off.")))

    # --- moves --------------------------------------------------------------------------

    async def on_choose(self, message: Choose) -> None:
        session = self.session
        if session is None or session.status != "playing":
            return
        offers = session.available_choices()
        if not any(offer.id == message.choice_id for offer in offers):
            return
        node = session.node_id
        session.choose(message.choice_id)
        # A lone choice is no choice: no share for it.
        await self._after_move(
            self._share_note(node, message.choice_id) if len(offers) > 1 else None
        )

    def _share_note(self, node: str, choice: str, before: Content | None = None) -> Content | None:
        """The share ("62% of viewers chose this too") under the next passage, after
        ``before``; not above an ending, whose panel gives it beside the choice point (the
        ending's passage keeps the rows)."""
        session = self.session
        if session is not None and session.status != "playing":
            return before
        words = self.audience.share_words(node, choice)
        if words is None:
            return before
        share = Content.styled(_("%(share)s.") % {"share": words}, "italic")
        return share if before is None else Content.assemble(before, Content(" · "), share)

    async def on_time_up(self, message: TimeUp) -> None:
        session = self.session
        if session is None or session.node_id != message.node_id:
            return
        left = session.time_left()
        if left is None or left > 0:  # stale: the viewer moved or went back meanwhile
            return
        offers = session.available_choices()
        taken = next(offer for offer in offers if offer.default)
        node = session.node_id
        session.expire_timer()
        # Story text goes in by substitution, which keeps its brackets literal.
        note = Content.from_markup(_("[b]Time ran out[/b] — taken: $label"), label=taken.label)
        await self._after_move(self._share_note(node, taken.id, note) if len(offers) > 1 else note)

    async def on_go_back(self, message: GoBack) -> None:
        session = self.session
        if session is None:
            return
        if not session.history:
            self._tell(_("There is no earlier choice point yet."))
            return
        step = len(session.history) - 1 if message.step is None else message.step
        if not 0 <= step < len(session.history):
            return
        label = session.history[step].label
        try:
            session.rewind(step)
        except SessionError as exc:
            self._tell(str(exc), severity="warning")
            return
        offer = next((o for o in session.available_choices() if o.id == message.choice), None)
        if offer is None:
            note = Content(_("Went back to: %(where)s") % {"where": label})
        else:
            note = Content(
                _("Went back to: %(where)s — the suggestion was %(number)d.")
                % {"where": label, "number": offer.number}
            )
        await self._after_move(note, highlight=message.choice)

    async def on_restart(self, message: Restart) -> None:
        if self.session is None:
            return
        self.session.restart()
        await self._after_move(Content(_("Started again from the beginning.")))

    async def _after_move(self, note: Content | None, *, highlight: str | None = None) -> None:
        """Show where the session is now, then keep the saved place in step with it."""
        session = self.session
        assert session is not None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        if session.status in ("ended", "failed"):
            self.play_screen.show_ending(session, self._ending_view(note))
        else:
            self.play_screen.show(session, note, highlight=highlight)
        node_id = session.node_id
        self.call_after_refresh(lambda: self.post_message(PassageShown(node_id)))
        self._autosave()

    def _autosave(self) -> None:
        # A save after every move survives a closed terminal; a finished playthrough leaves
        # nothing to resume.
        session = self.session
        if self.saves is None or session is None:
            return
        if session.status in ("playing", "quit"):
            self.saves.save(self.story.id, self.viewer, session.to_json())
        else:
            self.saves.delete(self.story.id, self.viewer)
        if self.profiles is not None:
            self.saves.keep_profile(
                self.profiles, self.story.id, self.viewer, session.viewer_profile()
            )
        error = self.saves.error
        if error is not None and not self._save_error_shown:
            self._save_error_shown = True
            self._tell(
                _("Cannot save your place: %(reason)s") % {"reason": error},
                severity="error",
                timeout=10,
            )

    def _ending_view(self, note: Content | None) -> EndingView:
        session = self.session
        assert session is not None
        ending = session.ending
        return EndingView(
            passage_title=session.title(),
            passage_text=session.text(),
            note=note,
            title=ending.title if ending is not None else None,
            kind=ending.kind if ending is not None else "neutral",
            fault=session.fault if session.status == "failed" else None,
            found_text=found_line(session),
            points=[
                PointView(
                    point.step,
                    point.label,
                    point.choice_label,
                    point_share(self.audience, session.story, point),
                )
                for point in session.history
            ],
            suggestions=[
                SuggestionView(
                    key,
                    item.step,
                    item.choice,
                    item.headline(),
                    _("%(reason)s.") % {"reason": item.reason},
                )
                for key, item in zip(
                    SUGGESTION_KEYS, self.audience.suggestions(session), strict=False
                )
            ],
        )

    # --- quitting and help ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in APP_ACTIONS

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.timer_options))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, ConfirmQuitScreen):
            # A second Ctrl+C while asking: the viewer means it.
            self._leave()
            return
        playing = self.session is not None and self.session.status == "playing"
        self.push_screen(ConfirmQuitScreen(saved=playing and self.saves is not None), self._on_quit)

    def on_quit_requested(self, message: QuitRequested) -> None:
        self.action_request_quit()

    def _on_quit(self, really: bool | None) -> None:
        if really:
            self._leave()

    def _leave(self) -> None:
        session = self.session
        if session is not None and session.status == "playing":
            session.quit()  # records Quit and freezes the timer, so the save keeps time left
            self._autosave()
        self.exit()

    def on_unmount(self) -> None:
        # Every queued save is on disk before ``run()`` returns to the caller.
        if self.saves is not None:
            self.saves.close()


def make_app(
    story: Story,
    session: Session | None = None,
    *,
    viewer: str,
    saves: Saves | None = None,
    resumed: bool = False,
    profiles: Profiles | None = None,
    viewer_profile: ViewerProfile | None = None,
    clock: Clock = time.monotonic,
    recorder: Recorder | None = None,
    recorder_factory: RecorderFactory | None = None,
    timers: bool = True,
    time_scale: float = 1.0,
    session_factory: SessionFactory | None = None,
    notices: Sequence[str] = (),
    audience: AudienceView | None = None,
) -> PlayerApp:
    """The player for ``story`` and ``viewer``.

    With ``session``, it plays that session; ``resumed=True`` says it came from a save, and
    the viewer is offered "Resume" or "Start over". Without one, the app opens the viewer's
    save from ``saves`` (offering the same choice) or starts a new session made with
    ``clock``, ``recorder``/``recorder_factory`` and the timer options (``timers=False``:
    no countdowns; ``time_scale=10``: ten times as long), or by ``session_factory``.

    ``saves`` keeps the place after every move (written on a background thread).
    ``profiles`` keeps the viewer's profile of the story after every move (the same thread);
    a session made here starts from ``viewer_profile``, else the one ``profiles`` holds,
    else as a first-time viewer.
    ``notices`` are shown once the player is up (for example where choices are logged).
    ``audience`` says what other viewers chose and suggests what to explore next (the command
    reads it from the choice log; the player never touches the log).
    """
    options = TimerOptions(enabled=timers, scale=time_scale)
    notes = list(notices)
    if viewer_profile is None:
        viewer_profile = FIRST_VISIT
        if profiles is not None:
            try:
                viewer_profile = profiles.load(story.id, viewer)
            except ProfileError as exc:
                notes.append(
                    _("Your profile of this story cannot be used (%(reason)s): starting afresh.")
                    % {"reason": exc}
                )
    known = viewer_profile

    def default_factory(state: dict[str, Any] | None) -> Session:
        if state is None:
            return Session(
                story,
                clock=clock,
                recorder=recorder,
                timers=options,
                recorder_factory=recorder_factory,
                viewer=known,
            )
        return Session.from_json(
            story,
            state,
            clock=clock,
            recorder=recorder,
            timers=options,
            recorder_factory=recorder_factory,
            viewer=known,
        )

    return PlayerApp(
        story,
        viewer=viewer,
        session=session,
        resumed=resumed,
        session_factory=session_factory or default_factory,
        saves=saves,
        profiles=profiles,
        notices=notes,
        audience=audience,
    )
