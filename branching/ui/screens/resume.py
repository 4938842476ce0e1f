"""Offer to resume an unfinished playthrough; returns ``True`` to resume."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static

from branching.play.i18n import _
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
            yield Static(Content(_("Welcome back")), classes="dialog-title")
            yield Static(
                Content.from_markup(
                    # TRANSLATORS: keep $title and the [b]...[/b] around it (bold).
                    _("You have an unfinished playthrough of [b]$title[/b]."),
                    title=self._story_title,
                )
            )
            if self._where:
                # TRANSLATORS: keep $where and the [i]...[/i] around it (italic).
                where = _("You were at: [i]$where[/i]")
                yield Static(Content.from_markup(where, where=self._where))
            with Horizontal(classes="dialog-buttons"):
                # TRANSLATORS: the key stays r (and s for "Start over") in every language.
                yield Button(Content(_("Resume (r)")), id="resume", variant="primary")
                yield Button(Content(_("Start over (s)")), id="start-over")
