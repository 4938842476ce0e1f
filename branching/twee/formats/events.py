"""What the story-format scanners make of passage text: a flat list of events."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

#: The story formats an import can be told to read (``--format``).
FORMATS = ("harlowe", "sugarcube", "chapbook", "snowman", "plain")
#: How passage text is read: a story format, or "native" for branching's own exports.
Dialect = Literal["harlowe", "sugarcube", "chapbook", "snowman", "plain", "native"]


@dataclass
class Event:
    """Something at a line of the passage (the line of the Twee file)."""

    line: int


@dataclass
class Prose(Event):
    """Text to show."""

    text: str
    verbatim: bool = False  # already in branching's text syntax (no brace escaping)
    #: The format's verbatim markup (Harlowe's `...`, SugarCube's """..."""): shown exactly as
    #: written, character references such as &amp; included.
    literal: bool = False


@dataclass
class Interp(Event):
    """A variable printed in the text (``$gold``, ``{gold}``)."""

    name: str


@dataclass
class PrintExpr(Event):
    """An expression printed in the text (``(print: $gold * 2)``, ``<<= $gold + 1>>``)."""

    source: str
    raw: str


@dataclass
class Link(Event):
    """A link: becomes a choice (``setter`` is SugarCube's ``][$x to 1``)."""

    label: str
    target: str
    setter: str | None = None


@dataclass
class Code(Event):
    """Story-format code with no equivalent: dropped or kept as text, and reported."""

    raw: str
    what: str  # e.g. "SugarCube macro <<textbox>>"
    silent: bool = False  # closers and pure formatting: no warning of their own
    html: bool = False
    names_passages: bool = True  # may name a passage it links to


@dataclass
class Open(Event):
    """The start of a conditional section (``<<if>>``, ``(if:)[``, ``[if ...]``)."""

    kind: Literal["if", "elseif", "else"]
    condition: str | None
    raw: str
    negate: bool = False


@dataclass
class Vary(Event):
    """Text that varies: one of ``alternatives`` at random (Harlowe's ``(either:)``)."""

    alternatives: list[str]
    raw: str


@dataclass
class Close(Event):
    """The end of the current conditional section."""

    raw: str


@dataclass
class Assign(Event):
    """``target op value``, e.g. ``$gold to 3`` or ``$gold += 1``."""

    target: str
    op: str
    value: str
    raw: str


@dataclass
class LinkOpen(Event):
    """A link macro whose body (effects, a goto) runs when the link is taken."""

    label: str
    target: str | None
    raw: str


@dataclass
class LinkClose(Event):
    """The end of a link macro's body."""

    raw: str


@dataclass
class Goto(Event):
    """A jump to a passage (inside a link body it sets the link's target)."""

    target: str
    raw: str


@dataclass
class Back(Event):
    """A way back to the previous passage: Chapbook's ``{back link}``, SugarCube's ``<<back>>``
    and ``<<return>>``, Harlowe's ``(link-undo:)``, ``(undo:)`` and links to
    ``(history:)'s last``. It becomes a choice to the passage the viewer came from.
    """

    label: str
    raw: str
    #: True when the story format also undoes what happened since (``<<back>>``, undo links);
    #: a choice cannot, so the import says so.
    undo: bool = True


@dataclass
class Embed(Event):
    """Another passage shown here (``<<include>>``, ``(display:)``, ``{embed passage}``)."""

    target: str
    raw: str


@dataclass
class Note(Event):
    """A ``<!-- branching: ... -->`` comment, as clauses."""

    clauses: list[tuple[str, str]]


class Lines:
    """Offsets to line numbers within a passage.

    >>> at = Lines("one\\ntwo\\n", 10)
    >>> at(0), at(3), at(4), at(8)
    (10, 10, 11, 12)
    """

    def __init__(self, text: str, first_line: int) -> None:
        self.starts = [0]
        newline = text.find("\n")
        while newline >= 0:
            self.starts.append(newline + 1)
            newline = text.find("\n", newline + 1)
        self.first = first_line

    def __call__(self, offset: int) -> int:
        return self.first + bisect.bisect_right(self.starts, offset) - 1
