"""A timed choice's countdown: a bar and the whole seconds left."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from branching.play.i18n import _


class Countdown(Horizontal):
    """Shows time left; the screen owns the deadline and calls :meth:`show_left`."""

    def compose(self) -> ComposeResult:
        yield Label(_("Time"), id="countdown-label", markup=False)
        yield ProgressBar(show_percentage=False, show_eta=False, id="countdown-bar")
        yield Label("", id="countdown-seconds")

    def start(self, total: float) -> None:
        self.query_one(ProgressBar).update(total=total, progress=total)
        self.show_left(total)
        self.display = True

    def show_left(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.query_one(ProgressBar).update(progress=seconds)
        whole = math.ceil(seconds)
        self.query_one("#countdown-seconds", Label).update(_("%(seconds)d s") % {"seconds": whole})
        total = self.query_one(ProgressBar).total or 1.0
        self.set_class(seconds <= max(3.0, total / 4), "urgent")

    def stop(self) -> None:
        self.display = False

    @property
    def seconds_shown(self) -> str:
        return str(self.query_one("#countdown-seconds", Label).content)
