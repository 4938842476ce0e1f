"""Story formats: scanning passage text into events, and telling which format a story uses."""

from __future__ import annotations

import re
from collections.abc import Iterable

from branching.twee.formats.chapbook import scan_chapbook
from branching.twee.formats.events import FORMATS, Dialect, Event, Lines
from branching.twee.formats.harlowe import scan_harlowe
from branching.twee.formats.simple import scan_simple
from branching.twee.formats.sugarcube import scan_sugarcube

__all__ = ["FORMATS", "Dialect", "Event", "guess_format", "normalise_format", "scan"]


def scan(text: str, first_line: int, dialect: Dialect) -> list[Event]:
    """The events of a passage's text read as ``dialect``; ``first_line`` is the text's line."""
    at = Lines(text, first_line)
    if dialect == "sugarcube":
        return scan_sugarcube(text, at)
    if dialect == "harlowe":
        return scan_harlowe(text, at)
    if dialect == "chapbook":
        return scan_chapbook(text, at)
    return scan_simple(text, at, dialect)


def guess_format(texts: Iterable[str]) -> str:
    """The story format whose code the passages use most ("plain" when none).

    >>> guess_format(["<<set $a to 1>>", "(if: $a)[x]"]), guess_format(["a: 1\\n--\\n{a}"])
    ('sugarcube', 'chapbook')
    """
    scores = dict.fromkeys(("sugarcube", "harlowe", "chapbook", "snowman"), 0)
    for text in texts:
        scores["sugarcube"] += len(re.findall(r"<<[A-Za-z/]", text))
        scores["harlowe"] += len(re.findall(r"\([A-Za-z][\w-]*:", text))
        scores["chapbook"] += len(
            re.findall(r"^--\s*$|^\[(?:if|else|unless|cont'?d?|align|after|note)\b", text, re.M)
        )
        scores["chapbook"] += len(
            re.findall(r"\{(?:back link|restart link|embed |link to|[A-Za-z_]\w*\})", text)
        )
        scores["snowman"] += len(re.findall(r"<%", text))
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else "plain"


def normalise_format(name: str | None) -> str | None:
    """Map a StoryData ``format`` (e.g. "SugarCube") to a known dialect name, or None."""
    if not name:
        return None
    lower = name.strip().lower()
    for known in FORMATS:
        if lower.startswith(known):
            return known
    return "plain"
