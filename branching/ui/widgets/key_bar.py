"""The footer: the keys that work now, as one line of text."""

from __future__ import annotations

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from branching.play.i18n import _


class KeyBar(Static):
    """Lists the screen's shown, enabled bindings (``1-9 Choose  b Back  ? Help  q Quit``).

    Textual's ``Footer`` builds a widget per key and rebuilds them all whenever the bindings
    change, which was most of the cost of reaching an ending here; one line of ``Content``
    redraws in a fraction of that. Call :meth:`refresh_keys` after the bindings change.
    """

    def on_mount(self) -> None:
        self.refresh_keys()

    def refresh_keys(self) -> None:
        screen = self.screen
        assert isinstance(screen, Screen)
        seen: set[str] = set()
        parts: list[Content] = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            key = binding.key_display or self.app.get_key_display(binding)
            describe = getattr(screen, "describe", None)
            description = (
                describe(binding.action, binding.description)
                if callable(describe)
                else _(binding.description)
            )
            parts.append(
                Content.from_markup(
                    "[b $footer-key-foreground]$key[/] $description  ",
                    key=key,
                    description=description,
                )
            )
        self.update(Content.assemble(*parts))
