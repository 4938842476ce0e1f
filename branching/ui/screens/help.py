"""The keys, and how timed choices behave for this viewer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from branching.play.engine import TimerOptions
from branching.play.i18n import N_, _
from branching.ui.screens.dialog import Dialog

#: (key, what it does), translated where shown.
KEYS = [
    ("1-9", N_("take the choice with that number")),
    # TRANSLATORS: the arrow keys and the Enter key, as the keyboard names them.
    (N_("↑ ↓ Enter"), N_("move through the choices and take one")),
    (N_("mouse"), N_("click a choice to take it")),
    ("b", N_("go back to the previous choice point")),
    ("r", N_("restart (at an ending)")),
    ("?", N_("this help")),
    ("q", N_("quit (asks first; your place is saved)")),
]


class HelpScreen(Dialog[None]):
    """Any of Escape, ?, q or Enter closes it. Timers are paused while it is open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q,enter", "close", "Close")
    ]
    ALLOWED_ACTIONS = frozenset({"close", "copy_text"})

    def __init__(self, timers: TimerOptions) -> None:
        super().__init__()
        self._timer_options = timers

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Static(Content(_("Keys")), classes="dialog-title")
            keys = [(_(key), _(what)) for key, what in KEYS]
            width = max(len(key) for key, _what in keys)
            for key, what in keys:
                yield Static(
                    Content.assemble(Content.styled(key.ljust(width + 2), "bold"), Content(what))
                )
            yield Static(Content(_("Timed choices")), classes="dialog-title")
            yield Static(Content(self._timer_text()))
            yield Static(Content(_("Escape closes this help.")), classes="dialog-hint")

    def _timer_text(self) -> str:
        timers = self._timer_options
        if not timers.enabled:
            return _("Timers are off (--no-timers): take all the time you need.")
        if timers.scale == 1:
            return _(
                "Some choices have a countdown; when it runs out the marked choice is taken. "
                "They run at normal speed and pause while a dialog is open. "
                "Need more time? Play with --time-scale 10 or --no-timers."
            )
        return _(
            "Some choices have a countdown; when it runs out the marked choice is taken. "
            "They run at %(scale)s times as long as written and pause while a dialog is open. "
            "Need more time? Play with --time-scale 10 or --no-timers."
        ) % {"scale": f"{timers.scale:g}"}

    def action_close(self) -> None:
        self.dismiss(None)
