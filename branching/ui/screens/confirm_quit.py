"""The "Really quit?" dialog: a modal that returns ``True`` to quit."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmQuitScreen(ModalScreen[bool]):
    """Asks before leaving; says whether the place is kept."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
        Binding("left,right", "app.focus_previous", show=False),
    ]
    ALLOWED_ACTIONS = frozenset({"answer", "copy_text"})

    def __init__(self, saved: bool) -> None:
        super().__init__()
        self._saved = saved

    def compose(self) -> ComposeResult:
        detail = (
            "Your place is saved: next time you can resume."
            if self._saved
            else "This playthrough is over; nothing is lost."
        )
        with Vertical(classes="dialog"):
            yield Static(Content("Quit?"), classes="dialog-title")
            yield Static(Content(detail))
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Quit (y)"), id="yes", variant="error")
                yield Button(Content("Stay (n)"), id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED_ACTIONS

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
