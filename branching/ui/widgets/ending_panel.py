"""The end of a playthrough: which ending, how many found, and where to go from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from branching.ui.content import numbered
from branching.ui.messages import GoBack

KIND_WORDS = {"good": "A good ending", "bad": "A bad ending", "neutral": "An ending"}


@dataclass(frozen=True)
class PointView:
    """A choice point of the playthrough, as listed here."""

    step: int
    label: str


@dataclass(frozen=True)
class EndingView:
    """What the ending screen shows; built by the app from the session."""

    #: The last passage (the ending's own text, or where the fault happened).
    passage_title: str | None
    passage_text: str
    #: A note about the move that led here (e.g. a timer ran out).
    note: Content | None
    #: The ending's title, or ``None`` when the playthrough failed or the ending has none.
    title: str | None
    kind: str
    #: Set when the playthrough stopped on a fault rather than an ending.
    fault: str | None
    found: int
    total: int
    points: Sequence[PointView]


class EndingPanel(Vertical):
    """Shown under the ending's passage in place of the choices: Bandersnatch-style, go back
    to any earlier choice point (Enter), restart (r) or quit (q).

    A panel on the play screen rather than a screen of its own: switching screens restyled
    and repainted everything and took several times as long as a passage.
    """

    def compose(self) -> ComposeResult:
        yield Static(id="ending-heading")
        yield Static(id="ending-title")
        yield Static(id="ending-kind")
        yield Static(id="ending-found")
        yield Static(id="ending-hint")
        yield OptionList(id="ending-points")

    def show(self, view: EndingView) -> None:
        """Show ``view`` (painted on the next refresh)."""
        heading = self.query_one("#ending-heading", Static)
        title = self.query_one("#ending-title", Static)
        kind = self.query_one("#ending-kind", Static)
        if view.fault is not None:
            heading.update(Content("The story stopped"))
            title.update(Content(view.fault))
            title.display = True
            kind.display = False
        else:
            heading.update(Content("The End"))
            title.update(Content(view.title or ""))
            title.display = bool(view.title)
            kind.update(Content.styled(KIND_WORDS.get(view.kind, "An ending"), "bold"))
            kind.set_classes(f"kind-{view.kind}")
            kind.display = True
        self.query_one("#ending-found", Static).update(self._found_text(view))
        hint = self.query_one("#ending-hint", Static)
        points = self.query_one("#ending-points", OptionList)
        points.display = bool(view.points)
        if view.points:
            hint.update(Content("Go back to a choice point (Enter), r to restart, q to quit:"))
            points.set_options(
                Option(numbered(index, point.label), id=str(point.step))
                for index, point in enumerate(view.points, 1)
            )
            # The latest choice point under the cursor: the most likely place to retry.
            points.highlighted = len(view.points) - 1
        else:
            hint.update(Content("r to restart, q to quit."))

    def focus_points(self) -> None:
        points = self.query_one("#ending-points", OptionList)
        if points.display and not points.has_focus:
            points.focus()

    @staticmethod
    def _found_text(view: EndingView) -> Content:
        noun = "ending" if view.total == 1 else "endings"
        return Content(f"You have found {view.found} of the story's {view.total} {noun}.")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(GoBack(int(event.option.id)))
