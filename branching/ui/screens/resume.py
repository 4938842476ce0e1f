"""Offer to resume an unfinished playthrough; returns ``True`` to resume."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from branching.ui.screens.dialog import Question


class ResumeScreen(Question):
    """Offers "Resume" or "Start over". Escape resumes, so a stray key never throws a place away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r,escape", "answer(True)", "Resume"),
        Binding("s", "answer(False)", "Start over"),
    ]
    YES_BUTTON = "resume"
    FOCUSED_BUTTON = "resume"

    def __init__(self, story_title: str, where: str | None) -> None:
        super().__init__()
        self._story_title = story_title
        self._where = where

    def compose(self) -> ComposeResult:
        # Story text goes in by substitution, which keeps its brackets literal.
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
