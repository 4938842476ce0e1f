"""Twine links: ``[[label->Passage]]`` and its other forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXTERNAL = re.compile(r"^\w+:\/\/\/?\w", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TwineLink:
    """A link as Twine reads it; ``external`` for ``scheme://`` targets (not passages)."""

    label: str
    target: str
    setter: str | None
    external: bool


def parse_link(inner: str) -> TwineLink:
    """Read the inside of ``[[...]]`` the way Twine draws its story map.

    A setter (``][...``) is split off; then the rightmost ``->``, else the leftmost ``<-``, else
    the rightmost ``|`` divides label and target; links to ``scheme://`` are external.

    >>> parse_link("a->b->c"), parse_link("x<-y<-z")
    (TwineLink(label='a->b', target='c', setter=None, external=False), \
TwineLink(label='y<-z', target='x', setter=None, external=False))
    """
    main, _, setter = inner.partition("][")
    if "->" in main:
        at = main.rfind("->")
        label, target = main[:at], main[at + 2 :]
    elif "<-" in main:
        at = main.find("<-")
        target, label = main[:at], main[at + 2 :]
    elif "|" in main:
        at = main.rfind("|")
        label, target = main[:at], main[at + 1 :]
    else:
        label = target = main
    setter_text = setter.removesuffix("]") if "][" in inner else None
    return TwineLink(label, target, setter_text, bool(_EXTERNAL.match(target.strip())))


def link_from_arg(arg: str) -> tuple[str, str] | None:
    """(label, target) from a ``[[link]]`` argument."""
    if arg.startswith("[[") and arg.endswith("]]"):
        link = parse_link(arg[2:-2])
        return (link.label, link.target) if not link.external else None
    return None


def shown_label(label: str) -> str:
    """A choice label as a Twine link can show it: one line, no ``]]`` or ``][`` inside, and
    no ``<!--`` (it would open a comment hiding the link's branching comment, as in text).

    >>> shown_label("[[Odd]] label\\n][ x")
    '[[Odd] ] label ] [ x'
    >>> shown_label("Open <!-- the door")
    'Open <!\u200b-- the door'
    """
    label = label.replace("<!--", "<!\u200b--")
    return " ".join(label.replace("]]", "] ]").replace("][", "] [").split())


def link_markup(shown: str, target: str) -> str:
    """The inside of ``[[...]]`` for a label and a passage name: ``Name`` or ``label->Name``."""
    if shown == target and not re.search(r"->|<-|\|", target):
        return target
    return f"{shown}->{target}"
