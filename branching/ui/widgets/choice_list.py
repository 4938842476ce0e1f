"""The available choices as a numbered list: number keys, arrows + Enter, or the mouse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from branching.play.i18n import _
from branching.ui.content import numbered
from branching.ui.messages import Choose

if TYPE_CHECKING:
    from branching.play.engine import Offer


class ChoiceList(OptionList):
    """Only the choices on offer are listed. Labels are story text, so each prompt is built
    from ``Content`` objects: brackets in a label show as typed and carry no actions."""

    def set_offers(self, offers: Sequence[Offer], *, timed: bool = False) -> None:
        """Replace the list; when a timer runs (``timed``), the choice it takes is marked."""
        self.set_options(Option(self._prompt(offer, timed), id=offer.id) for offer in offers)
        self.highlighted = 0 if offers else None

    @staticmethod
    def _prompt(offer: Offer, timed: bool) -> Content:
        prompt = numbered(offer.number, offer.label)
        if timed and offer.default:
            return prompt + Content.styled("  " + _("(when time runs out)"), "dim italic")
        return prompt

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # Turn the generic selection into the player's own message, so the app handles
        # number keys, Enter and clicks the same way.
        event.stop()
        if event.option.id is not None:
            self.post_message(Choose(event.option.id))
