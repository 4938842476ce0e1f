"""What the player's dialogs share: the few actions they run, and the two-button question."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal over the play screen. Like the app and the play screen, it runs only the
    actions it names: a second line of defence should any text carry an ``@click``."""

    ALLOWED_ACTIONS: ClassVar[frozenset[str]] = frozenset({"copy_text"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED_ACTIONS


class Question(Dialog[bool]):
    """Two buttons (left/right move between them) and the ``answer`` action for their keys.

    Subclasses name the button that answers ``True`` and the one focused at first: the safe
    answer, so a stray Enter loses nothing.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,right", "app.focus_previous", show=False),
    ]
    ALLOWED_ACTIONS = frozenset({"answer", "copy_text"})
    YES_BUTTON: ClassVar[str]
    FOCUSED_BUTTON: ClassVar[str]

    def on_mount(self) -> None:
        self.query_one(f"#{self.FOCUSED_BUTTON}", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == self.YES_BUTTON)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
