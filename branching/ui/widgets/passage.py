"""The passage being read: a note about the last move, the title and the Markdown text."""

from __future__ import annotations

from rich.markdown import Markdown
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static


class Passage(VerticalScroll, can_focus=False):
    """Scrollable passage. Story text is untrusted: the title and note are plain ``Content``
    (never markup), and the text is rendered by Rich's Markdown, which treats brackets as text
    and, with ``hyperlinks=False``, shows a link's address instead of making it clickable.

    Rich's Markdown in one ``Static`` rather than Textual's ``Markdown`` widget: the widget
    mounts a widget per block, which took about 45 ms per passage here against about 7 ms,
    and a move must show the next passage within 50 ms.
    """

    def compose(self) -> ComposeResult:
        yield Static(id="note")
        yield Static(id="title")
        yield Static(id="text")

    def show(self, title: str | None, text: str, note: Content | None = None) -> None:
        """Show a passage (painted on the next refresh)."""
        note_widget = self.query_one("#note", Static)
        note_widget.update(note or Content())
        note_widget.display = note is not None
        title_widget = self.query_one("#title", Static)
        title_widget.update(Content(title or ""))
        title_widget.display = bool(title)
        self.query_one("#text", Static).update(Markdown(text, hyperlinks=False))
        self.scroll_home(animate=False)

    def rows_needed(self) -> int:
        """Rows the passage takes to be read whole at its width, measured from what it shows
        now: its ``virtual_size`` is stale until the next layout, and a longer passage (a
        translation) would then be cut. Measured without the scrollbar's column, which a
        passage that overflowed before the fit still shows (and then wraps narrower)."""
        width = max(1, self.size.width - self.styles.scrollbar_size_vertical)
        rows = 0
        for part in self.query(Static):
            if part.display:
                margin = part.styles.margin
                rows += margin.top + margin.bottom
                rows += part.get_content_height(self.size, self.app.size, width)
        return rows
