"""A timed choice's countdown: a bar and the whole seconds left."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class Countdown(Horizontal):
    """Shows time left; the screen owns the deadline and calls :meth:`show_left`."""

    def compose(self) -> ComposeResult:
        yield Label("Time", id="countdown-label")
        yield ProgressBar(show_percentage=False, show_eta=False, id="countdown-bar")
        yield Label("", id="countdown-seconds")

    def start(self, total: float) -> None:
        self.query_one(ProgressBar).update(total=total, progress=total)
        self.show_left(total)
        self.display = True

    def show_left(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.query_one(ProgressBar).update(progress=seconds)
        self.query_one("#countdown-seconds", Label).update(f"{math.ceil(seconds)} s")
        total = self.query_one(ProgressBar).total or 1.0
        self.set_class(seconds <= max(3.0, total / 4), "urgent")

    def stop(self) -> None:
        self.display = False

    @property
    def seconds_shown(self) -> str:
        return str(self.query_one("#countdown-seconds", Label).content)
