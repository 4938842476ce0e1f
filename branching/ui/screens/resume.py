"""Offer to resume an unfinished playthrough; returns ``True`` to resume."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ResumeScreen(ModalScreen[bool]):
    """Offers "Resume" or "Start over". Escape resumes, so a stray key never throws a place away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,escape", "answer(True)", "Resume"),
        Binding("s", "answer(False)", "Start over"),
        Binding("left,right", "app.focus_previous", show=False),
    ]
    ALLOWED_ACTIONS = frozenset({"answer", "copy_text"})

    def __init__(self, story_title: str, where: str | None) -> None:
        super().__init__()
        self._story_title = story_title
        self._where = where

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content("Welcome back"), classes="dialog-title")
            yield Static(
                Content.from_markup(
                    "You have an unfinished playthrough of [b]$title[/b].",
                    title=self._story_title,
                )
            )
            if self._where:
                yield Static(Content.from_markup("You were at: [i]$where[/i]", where=self._where))
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content("Resume (r)"), id="resume", variant="primary")
                yield Button(Content("Start over (s)"), id="start-over")

    def on_mount(self) -> None:
        self.query_one("#resume", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED_ACTIONS

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "resume")

    def action_answer(self, resume: bool) -> None:
        self.dismiss(resume)
