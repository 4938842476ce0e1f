"""What the story-format scanners make of passage text: a flat list of events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FORMATS = ("harlowe", "sugarcube", "chapbook", "snowman", "plain")
Dialect = Literal["harlowe", "sugarcube", "chapbook", "snowman", "plain", "native"]


@dataclass
class Event:
    line: int


@dataclass
class Prose(Event):
    text: str
    verbatim: bool = False  # already in branching's text syntax (no brace escaping)


@dataclass
class Interp(Event):
    name: str


@dataclass
class Link(Event):
    label: str
    target: str
    setter: str | None = None


@dataclass
class Code(Event):
    raw: str
    what: str  # e.g. "SugarCube macro <<textbox>>"
    silent: bool = False  # closers and pure formatting: no warning of their own
    html: bool = False
    names_passages: bool = True  # may name a passage it links to


@dataclass
class Open(Event):
    kind: Literal["if", "elseif", "else"]
    condition: str | None
    raw: str
    negate: bool = False


@dataclass
class Close(Event):
    raw: str


@dataclass
class Assign(Event):
    target: str
    op: str
    value: str
    raw: str


@dataclass
class LinkOpen(Event):
    label: str
    target: str | None
    raw: str


@dataclass
class LinkClose(Event):
    raw: str


@dataclass
class Goto(Event):
    target: str
    raw: str


@dataclass
class Embed(Event):
    target: str
    raw: str


@dataclass
class Note(Event):
    clauses: list[tuple[str, str]]


class Lines:
    """Offsets to line numbers within a passage."""

    def __init__(self, text: str, first_line: int) -> None:
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.first = first_line

    def __call__(self, offset: int) -> int:
        import bisect

        return self.first + bisect.bisect_right(self.starts, offset) - 1
