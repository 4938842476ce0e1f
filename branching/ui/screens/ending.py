"""The end of a playthrough: which ending, how many found, and where to go from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from branching.ui.messages import GoBack, Restart
from branching.ui.widgets.passage import Passage

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


class EndingScreen(Screen[None]):
    """Bandersnatch-style: go back to any earlier choice point, restart, or quit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "restart", "Restart"),
        Binding("b", "back", "Back"),
    ]
    ALLOWED_ACTIONS = frozenset({"restart", "back", "copy_text"})

    def __init__(self, view: EndingView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        view = self.view
        yield Header(icon="")
        yield Passage(id="passage")
        with Vertical(id="ending-box"):
            if view.fault is not None:
                yield Static(Content("The story stopped"), id="ending-heading")
                yield Static(Content(view.fault), id="ending-title")
            else:
                yield Static(Content("The End"), id="ending-heading")
                if view.title:
                    yield Static(Content(view.title), id="ending-title")
                kind = KIND_WORDS.get(view.kind, "An ending")
                yield Static(
                    Content.from_markup("[b]$kind[/b]", kind=kind),
                    id="ending-kind",
                    classes=f"kind-{view.kind}",
                )
            yield Static(self._found_text(), id="ending-found")
            if view.points:
                yield Static(
                    Content("Go back to a choice point (Enter), r to restart, q to quit:"),
                    id="ending-hint",
                )
                points = OptionList(
                    *(
                        Option(
                            Content.assemble(
                                Content.styled(f"{index}. ", "bold"), Content(point.label)
                            ),
                            id=str(point.step),
                        )
                        for index, point in enumerate(view.points, 1)
                    ),
                    id="ending-points",
                )
                yield points
            else:
                yield Static(Content("r to restart, q to quit."), id="ending-hint")
        yield Footer()

    def _found_text(self) -> Content:
        view = self.view
        noun = "ending" if view.total == 1 else "endings"
        return Content(f"You have found {view.found} of the story's {view.total} {noun}.")

    async def on_mount(self) -> None:
        view = self.view
        await self.query_one(Passage).show(view.passage_title, view.passage_text, view.note)
        if self.view.points:
            points = self.query_one("#ending-points", OptionList)
            # The latest choice point first under the cursor: the most likely place to retry.
            points.highlighted = len(self.view.points) - 1
            points.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action in self.ALLOWED_ACTIONS

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(GoBack(int(event.option.id)))

    def action_restart(self) -> None:
        self.post_message(Restart())

    def action_back(self) -> None:
        if self.view.points:
            self.post_message(GoBack(None))
        else:
            self.app.bell()
