"""The passage being read: a note about the last move, the title and the Markdown text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, Static


class Passage(VerticalScroll, can_focus=False):
    """Scrollable passage. Story text is untrusted: the title and note are plain ``Content``
    (never markup) and the Markdown opens no links."""

    def compose(self) -> ComposeResult:
        yield Static(id="note")
        yield Static(id="title")
        yield Markdown(id="text", open_links=False)

    async def show(self, title: str | None, text: str, note: Content | None = None) -> None:
        """Show a passage; await it to know the text is on screen."""
        note_widget = self.query_one("#note", Static)
        note_widget.update(note or Content())
        note_widget.display = note is not None
        title_widget = self.query_one("#title", Static)
        title_widget.update(Content(title or ""))
        title_widget.display = bool(title)
        self.scroll_home(animate=False)
        await self.query_one("#text", Markdown).update(text)

    @property
    def text(self) -> str:
        """The Markdown source on show."""
        return self.query_one("#text", Markdown).source
