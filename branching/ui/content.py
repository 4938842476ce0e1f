"""Rich text that more than one widget builds from story text: ``Content``, never markup."""

from __future__ import annotations

from textual.content import Content


def numbered(number: int, label: str | Content) -> Content:
    """``3. label`` with the number in bold: how choices and choice points are listed."""
    text = label if isinstance(label, Content) else Content(label)
    return Content.assemble(Content.styled(f"{number}. ", "bold"), text)
