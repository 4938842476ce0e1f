"""The main screen: the passage, then its countdown and choices, or the ending panel."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header

from branching.play.i18n import N_, _
from branching.ui.messages import Choose, GoBack, Restart, ScreenReady, TimeUp
from branching.ui.widgets.choice_list import ChoiceList
from branching.ui.widgets.countdown import Countdown
from branching.ui.widgets.ending_panel import MIN_POINTS_SHOWN, EndingPanel, EndingView
from branching.ui.widgets.key_bar import KeyBar
from branching.ui.widgets.passage import Passage

if TYPE_CHECKING:
    from branching.play.engine import Offer, Session

#: How often the countdown is redrawn. The deadline, not the ticks, decides when time is up.
TICK_SECONDS = 0.1


class PlayScreen(Screen[None]):
    """Shows the session's current passage. The app owns the session and calls :meth:`show`
    (or :meth:`show_ending`) after every move; this screen posts
    :mod:`~branching.ui.messages` back up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "choose(1)", N_("Choose"), key_display="1-9"),
        *(Binding(str(n), f"choose({n})", show=False) for n in range(2, 10)),
        Binding("r", "restart", N_("Restart")),
        Binding("b", "back", N_("Back")),
        # At an ending: follow a suggestion of what to explore next (x, y, z).
        Binding("x", "suggest('x')", N_("Explore"), key_display="x-z"),
        Binding("y", "suggest('y')", show=False),
        Binding("z", "suggest('z')", show=False),
        # The choices keep the focus, so the passage scrolls with page keys from here.
        Binding("pageup", "scroll_passage(-1)", show=False, priority=True),
        Binding("pagedown,space", "scroll_passage(1)", show=False, priority=True),
    ]
    ALLOWED_ACTIONS = frozenset(
        {"choose", "back", "restart", "suggest", "scroll_passage", "copy_text"}
    )

    #: Redraws the countdown; runs only while a timer does. Made on mount, which comes before
    #: the app's first :meth:`show` (the app waits for :class:`ScreenReady`).
    _ticker: Timer

    def __init__(self) -> None:
        super().__init__()
        self._session: Session | None = None
        self._offers: list[Offer] = []
        #: The node whose countdown is on show (a TimeUp names it, so a stale one is ignored).
        self._timed_node: str | None = None
        #: True while an ending (or a fault) is on show instead of choices.
        self.at_ending = False

    def compose(self) -> ComposeResult:
        yield Header(icon="")
        yield Passage(id="passage")
        yield Countdown(id="countdown")
        yield ChoiceList(id="choices")
        yield EndingPanel(id="ending")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.query_one(Countdown).display = False
        self.query_one(EndingPanel).display = False
        self._ticker = self.set_interval(TICK_SECONDS, self.refresh_timer, pause=True)
        self.post_message(ScreenReady())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Defence in depth: only this screen's own actions run with it as the target.
        if action not in self.ALLOWED_ACTIONS:
            return False
        # Restarting at an ending (the footer shows what applies); number keys choose during
        # play and go back to a choice point at an ending.
        if action == "restart":
            return self.at_ending
        if action == "suggest":
            return self.at_ending and self.query_one(EndingPanel).suggestion("x") is not None
        return True

    def describe(self, action: str, description: str) -> str:
        """What a key does now, for the key bar (in the viewer's language): at an ending the
        numbers go back."""
        if self.at_ending and action.startswith("choose"):
            return _("Go back")
        return _(description)

    def _set_mode(self, at_ending: bool) -> None:
        if at_ending == self.at_ending:
            return
        self.at_ending = at_ending
        self.query_one(ChoiceList).display = not at_ending
        self.query_one(EndingPanel).display = at_ending
        self.query_one(KeyBar).refresh_keys()

    def show(
        self, session: Session, note: Content | None = None, *, highlight: str | None = None
    ) -> None:
        """Show the current passage of ``session`` (painted on the next refresh), with the
        choice ``highlight`` (a suggestion followed) under the cursor."""
        self._session = session
        self._set_mode(False)
        self._offers = session.available_choices()
        total = session.timer_seconds()
        choices = self.query_one(ChoiceList)
        choices.set_offers(self._offers, timed=total is not None)
        for index, offer in enumerate(self._offers):
            if offer.id == highlight:
                choices.highlighted = index
        if total is None:
            self._stop_countdown()
        else:
            self._timed_node = session.node_id
            self.query_one(Countdown).start(total)
            self.refresh_timer()
            self._ticker.resume()
        if not choices.has_focus:
            choices.focus()
        self.query_one(Passage).show(session.title(), session.text(), note)

    def show_ending(self, session: Session, view: EndingView) -> None:
        """Show the ending (or fault) the session reached, with ``view``'s details."""
        self._session = session
        self._offers = []
        self._stop_countdown()
        panel = self.query_one(EndingPanel)
        panel.show(view)
        self._set_mode(True)
        self.query_one(KeyBar).refresh_keys()
        panel.focus_points()
        self.query_one(Passage).show(view.passage_title, view.passage_text, view.note)
        self.call_after_refresh(self.fit_ending)

    def on_resize(self, event: events.Resize) -> None:
        if self.at_ending:
            self.call_after_refresh(self.fit_ending)

    def fit_ending(self) -> None:
        """Share the rows between the ending's passage and the panel under it.

        The passage gets every row it needs to be read whole, the list of choice points the
        rest, but never fewer than :data:`MIN_POINTS_SHOWN` points (then the passage scrolls).
        Borders are never cut and the highlighted point is always in view.
        """
        if not self.at_ending:
            return
        panel = self.query_one(EndingPanel)
        passage = self.query_one(Passage)
        shared = (
            self.size.height
            - self.query_one(Header).outer_size.height
            - self.query_one(KeyBar).outer_size.height
        )
        fixed = panel.fixed_rows()
        points = panel.points
        count = points.option_count if points.display else 0
        # Options can take more than a row (a suggestion and its reason): count rows.
        rows = max(points.virtual_size.height, count) if count else 0
        wanted = fixed + (rows + 2 if count else 0)
        # The passage comes first; the list keeps a few rows and scrolls (the highlighted
        # suggestion or point stays in view).
        least = fixed + (min(rows, MIN_POINTS_SHOWN) + 2 if count else 0)
        needs = passage.rows_needed()
        panel.fit(max(least, min(wanted, shared - needs)))

    # --- the countdown ------------------------------------------------------------------

    def _stop_countdown(self) -> None:
        self._timed_node = None
        self._ticker.pause()
        self.query_one(Countdown).stop()

    def refresh_timer(self) -> None:
        """Redraw the countdown from the session's clock; post :class:`TimeUp` once it has
        run out. Runs a few times a second; tests with a fake clock call it directly.

        The session keeps the deadline (and pauses it), so ticks may be late or missed
        without the countdown drifting.
        """
        session = self._session
        if session is None or self._timed_node is None or session.paused:
            return
        left = session.time_left()
        if left is None or session.node_id != self._timed_node:
            return
        self.query_one(Countdown).show_left(left)
        if left <= 0:
            node_id = self._timed_node
            self._timed_node = None
            self._ticker.pause()
            self.post_message(TimeUp(node_id))

    def on_screen_suspend(self, event: events.ScreenSuspend) -> None:
        # A dialog (help, quit, ...) covers the screen: stop the clock for the viewer and for
        # the decision time that is logged; it resumes with the time that was left.
        if self._session is not None and self._session.status == "playing":
            self._session.pause_timer()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if self._session is not None and self._session.paused:
            self._session.resume_timer()
            self.refresh_timer()

    # --- actions ------------------------------------------------------------------------

    def action_choose(self, number: int) -> None:
        if self.at_ending:
            step = self.query_one(EndingPanel).point_step(number)
            if step is None:
                self.app.bell()
            else:
                self.post_message(GoBack(step))
            return
        for offer in self._offers:
            if offer.number == number:
                self.post_message(Choose(offer.id))
                return
        self.app.bell()

    def action_suggest(self, key: str) -> None:
        item = self.query_one(EndingPanel).suggestion(key) if self.at_ending else None
        if item is None:
            self.app.bell()
        else:
            self.post_message(GoBack(item.step, item.choice))

    def action_back(self) -> None:
        self.post_message(GoBack(None))

    def action_scroll_passage(self, pages: int) -> None:
        passage = self.query_one(Passage)
        step = max(1, passage.scrollable_content_region.height - 1)
        passage.scroll_relative(y=pages * step, animate=False)

    def action_restart(self) -> None:
        self.post_message(Restart())
