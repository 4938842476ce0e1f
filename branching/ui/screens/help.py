"""The keys, and how timed choices behave for this viewer."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from branching.play.engine import TimerOptions
from branching.ui.screens.dialog import Dialog

KEYS = [
    ("1-9", "take the choice with that number"),
    ("↑ ↓ Enter", "move through the choices and take one"),
    ("mouse", "click a choice to take it"),
    ("b", "go back to the previous choice point"),
    ("r", "restart (at an ending)"),
    ("?", "this help"),
    ("q", "quit (asks first; your place is saved)"),
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
            yield Static(Content("Keys"), classes="dialog-title")
            width = max(len(key) for key, _ in KEYS)
            for key, what in KEYS:
                yield Static(
                    Content.assemble(Content.styled(key.ljust(width + 2), "bold"), Content(what))
                )
            yield Static(Content("Timed choices"), classes="dialog-title")
            yield Static(Content(self._timer_text()))
            yield Static(Content("Escape closes this help."), classes="dialog-hint")

    def _timer_text(self) -> str:
        timers = self._timer_options
        if not timers.enabled:
            return "Timers are off (--no-timers): take all the time you need."
        scale = f"{timers.scale:g}"
        pace = "normal speed" if timers.scale == 1 else f"{scale} times as long as written"
        return (
            f"Some choices have a countdown; when it runs out the marked choice is taken. "
            f"They run at {pace} and pause while a dialog is open. "
            "Need more time? Play with --time-scale 10 or --no-timers."
        )

    def action_close(self) -> None:
        self.dismiss(None)
