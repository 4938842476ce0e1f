"""Rich text that more than one widget builds from story text: ``Content``, never markup."""

from __future__ import annotations

from textual.content import Content


def numbered(number: int, label: str) -> Content:
    """``3. label`` with the number in bold: how choices and choice points are listed."""
    return Content.assemble(Content.styled(f"{number}. ", "bold"), Content(label))
