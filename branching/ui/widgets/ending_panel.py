"""The end of a playthrough: which ending, how many found, and where to go from here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from branching.play.endings import KIND_WORDS
from branching.play.i18n import _, either
from branching.ui.content import numbered
from branching.ui.messages import GoBack

#: Choice points the list shows at least, however long the ending's passage.
MIN_POINTS_SHOWN = 3


@dataclass(frozen=True)
class PointView:
    """A choice point of the playthrough, as listed here: where, and what was chosen."""

    step: int
    label: str
    chosen: str = ""
    #: "62% of viewers chose this too", when shares are on and enough viewers chose there.
    share: str | None = None


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion of what to explore next: its key, what to do, and why."""

    key: str
    step: int
    choice: str
    headline: str
    reason: str


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
    #: "You have found 2 of the story's 5 endings in 3 playthroughs." (both players say it).
    found_text: str
    points: Sequence[PointView]
    suggestions: Sequence[SuggestionView] = ()


class EndingPanel(Vertical):
    """Shown under the ending's passage in place of the choices: Bandersnatch-style, go back
    to any earlier choice point (its number, or arrows and Enter), restart (r) or quit (q).

    A panel on the play screen rather than a screen of its own: switching screens restyled
    and repainted everything and took several times as long as a passage. The play screen
    sizes it (:meth:`fit`) so that the passage above keeps the rows it needs.
    """

    _suggestions: list[SuggestionView]
    _point_steps: list[int]

    def compose(self) -> ComposeResult:
        self._suggestions = []
        self._point_steps = []
        yield Static(id="ending-heading")
        yield Static(id="ending-found")
        yield Static(id="ending-hint")
        yield OptionList(id="ending-points")

    def show(self, view: EndingView) -> None:
        """Show ``view`` (painted on the next refresh)."""
        heading = self.query_one("#ending-heading", Static)
        heading.set_classes(f"kind-{view.kind}" if view.fault is None else "fault")
        # Story text goes in by substitution, which keeps its brackets literal.
        if view.fault is not None:
            # TRANSLATORS: keep $fault and the [b]...[/b] (bold).
            heading.update(Content.from_markup(_("[b]The story stopped:[/b] $fault"),
                                               fault=view.fault))  # fmt: skip
        else:
            # The passage above already shows its title: name the ending only when it differs.
            named = view.title if view.title and view.title != view.passage_title else None
            kind = _(KIND_WORDS.get(view.kind, KIND_WORDS["neutral"]))
            if named:
                heading.update(Content.from_markup(
                    # TRANSLATORS: $title is the ending's title, $kind "A good ending" and the
                    # like. Keep the [b]...[/b] and [i]...[/i] pairs (bold, italic).
                    _("[b]The End[/b][b]: [i]$title[/i][/b] — [b]$kind[/b]"),
                    title=named,
                    kind=kind,
                ))  # fmt: skip
            else:
                heading.update(Content.from_markup(_("[b]The End[/b] — [b]$kind[/b]"), kind=kind))
        self.query_one("#ending-found", Static).update(Content(view.found_text))
        hint = self.query_one("#ending-hint", Static)
        points = self.query_one("#ending-points", OptionList)
        points.display = bool(view.points)
        self._suggestions = list(view.suggestions)
        self._point_steps = [point.step for point in view.points]
        if view.points:
            keys = [s.key for s in view.suggestions]
            if keys:
                hint.update(
                    Content(
                        _("Go back: a number, or arrows and Enter. Follow a suggestion: %(keys)s.")
                        % {"keys": either(keys)}
                    )
                )
            else:
                hint.update(
                    Content(_("Go back to a choice point: its number, or arrows and Enter."))
                )
            options: list[Option] = []
            if view.suggestions:
                options.append(
                    Option(Content.styled(_("What to explore next"), "bold"), disabled=True)
                )
                options += [
                    Option(_suggestion_text(item), id=f"suggest:{index}")
                    for index, item in enumerate(view.suggestions)
                ]
                options.append(
                    Option(Content.styled(_("Your choice points"), "bold"), disabled=True)
                )
            options += [
                Option(numbered(index, _point_text(point)), id=f"point:{point.step}")
                for index, point in enumerate(view.points, 1)
            ]
            points.set_options(options)
            # The first suggestion, else the latest choice point, under the cursor: the most
            # likely place to go next.
            points.highlighted = 1 if view.suggestions else len(options) - 1
        else:
            hint.update(Content(_("r restarts the story, q quits.")))

    @property
    def points(self) -> OptionList:
        return self.query_one("#ending-points", OptionList)

    def point_step(self, number: int) -> int | None:
        """The history step of the choice point listed as ``number`` (1-based), if any."""
        steps = self._point_steps if self.points.display else []
        return steps[number - 1] if 1 <= number <= len(steps) else None

    def suggestion(self, key: str) -> SuggestionView | None:
        """The suggestion shown with ``key`` (x, y, z), if any."""
        return next((s for s in self._suggestions if s.key == key), None)

    def fixed_rows(self) -> int:
        """Rows the panel needs besides its list: border, heading, count and hint."""
        rows = 1 if self.styles.border_top[0] else 0
        for static in self.query(Static):
            if static.display:
                rows += static.outer_size.height
        return rows

    def fit(self, rows: int) -> None:
        """Take ``rows`` rows in all, the list the rest (scrolling to the cursor)."""
        self.styles.height = rows
        points = self.points
        if points.display:
            points.styles.height = max(rows - self.fixed_rows(), 2 + 1)
            self.call_after_refresh(points.scroll_to_highlight)

    def focus_points(self) -> None:
        points = self.points
        if points.display and not points.has_focus:
            points.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, _, value = (event.option.id or "").partition(":")
        if kind == "point":
            self.post_message(GoBack(int(value)))
        elif kind == "suggest":
            item = self._suggestions[int(value)]
            self.post_message(GoBack(item.step, item.choice))


def _point_text(point: PointView) -> Content:
    text = Content(
        _("%(where)s — you chose “%(chosen)s”") % {"where": point.label, "chosen": point.chosen}
        if point.chosen
        else point.label
    )
    if point.share:
        text = text + Content.styled("  " + _("(%(share)s)") % {"share": point.share}, "dim")
    return text


def _suggestion_text(item: SuggestionView) -> Content:
    return Content.assemble(
        Content.styled(f"{item.key}. ", "bold"),
        Content(item.headline),
        Content("\n   "),
        Content.styled(item.reason, "italic"),
    )
