"""The "Really quit?" dialog: returns ``True`` to quit."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from branching.play.i18n import _
from branching.ui.screens.dialog import Question


class ConfirmQuitScreen(Question):
    """Asks before leaving; says whether the place is kept."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]
    YES_BUTTON = "yes"
    FOCUSED_BUTTON = "no"

    def __init__(self, saved: bool) -> None:
        super().__init__()
        self._saved = saved

    def compose(self) -> ComposeResult:
        detail = (
            _("Your place is saved: next time you can resume.")
            if self._saved
            else _("This playthrough is over; nothing is lost.")
        )
        with Vertical(classes="dialog"):
            yield Static(Content(_("Quit?")), classes="dialog-title")
            yield Static(Content(detail))
            with Horizontal(classes="dialog-buttons"):
                # TRANSLATORS: the key stays y (and n for "Stay") in every language.
                yield Button(Content(_("Quit (y)")), id="yes", variant="error")
                yield Button(Content(_("Stay (n)")), id="no", variant="primary")
