"""What every story format shares: the prose loop, links, comments, HTML tags, assignments."""

from __future__ import annotations

import re
from collections.abc import Callable

from branching.twee.clauses import BRANCHING_NOTE, parse_clauses
from branching.twee.formats.events import Assign, Code, Dialect, Event, Lines, Link, Note, Prose
from branching.twee.links import parse_link
from branching.twee.strings import find_closer, split_top

_HTML_TAG = re.compile(r"</?([A-Za-z][\w-]*)(?:\s(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)?/?>")
#: A story-format variable: ``$gold`` (story) or ``_i`` (temporary).
FORMAT_VARIABLE = re.compile(r"[$_][A-Za-z_]\w*")

#: What a scanner makes of the construct at a match: its events and where it ends, or None when
#: it is not one after all (an unclosed link, say) and the scan reads on past the match.
Scanned = tuple[list[Event], int] | None


def scan_prose(
    text: str,
    special: re.Pattern[str],
    at: Lines,
    construct: Callable[[re.Match[str]], Scanned],
    verbatim: bool = False,
) -> list[Event]:
    """Events of ``text``: ``construct`` reads each match of ``special``, the rest is prose."""
    events: list[Event] = []
    pos = prose_start = 0
    while (match := special.search(text, pos)) is not None:
        start = match.start()
        result = construct(match)
        if result is None:
            pos = start + len(match.group())
            continue
        if start > prose_start:
            events.append(Prose(at(prose_start), text[prose_start:start], verbatim))
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos
    if len(text) > prose_start:
        events.append(Prose(at(prose_start), text[prose_start:], verbatim))
    return events


def scan_common(text: str, pos: int, at: Lines, dialect: Dialect) -> Scanned:
    """Links, comments and HTML tags: the constructs every format shares."""
    line = at(pos)
    if text.startswith("[[", pos):
        # A link ends at the first "]]" on its line (remembered searches: linear in all).
        close = find_closer(text, "]]", pos + 2)
        newline = find_closer(text, "\n", pos)
        if close < 0 or 0 <= newline < close:
            return None
        end = close + 2
        link = parse_link(text[pos + 2 : close])
        if link.external:
            label = link.label.strip() or link.target.strip()
            markdown = f"[{label.replace(']', '')}]({link.target.strip()})"
            return [Prose(line, markdown, verbatim=dialect == "native")], end
        if not link.target.strip():
            return [Code(line, text[pos:end], "a link without a target", names_passages=False)], end
        return [Link(line, link.label, link.target, link.setter)], end
    if text.startswith("<!--", pos):
        close = find_closer(text, "-->", pos + 4)
        if close < 0:
            return None
        end = close + 3
        body = text[pos + 4 : close]
        note = BRANCHING_NOTE.match(body)
        if note:
            return [Note(line, parse_clauses(body[note.end() :]))], end
        if dialect == "native":
            return [Prose(line, text[pos:end], verbatim=True)], end
        return [Code(line, text[pos:end], "comment", silent=True, names_passages=False)], end
    if text.startswith("<", pos) and dialect != "native":
        match = _HTML_TAG.match(text, pos)
        if not match:
            return None
        if match.group(1).lower() == "br":
            return [Prose(line, "\n")], match.end()
        return [Code(line, match.group(), "HTML", html=True, names_passages=False)], match.end()
    return None


# The value is stripped by hand: "\s*(.+?)\s*$" retried each run of spaces from each of its
# spaces (quadratic on "<<set $x to 1", a long run of spaces, then "2").
_ASSIGN = re.compile(
    r"^\s*([$_]?[A-Za-z_][\w]*(?:\.[\w]+)*)\s*(to|=|\+=|-=|\*=|/=|%=)(.*)$", re.DOTALL
)
_INCREMENT = re.compile(r"^\s*([$_][A-Za-z_]\w*)\s*(\+\+|--)\s*$")


def assignments(raw: str, line: int, whole: str) -> list[Event]:
    """``$x to 1, $y += 2`` (SugarCube's <<set>>, Harlowe's (set:)) as assignment events."""
    events: list[Event] = []
    for part in split_top(raw):
        match = _ASSIGN.match(part)
        value = match.group(3).strip() if match else ""
        if match and value:
            events.append(Assign(line, match.group(1), match.group(2), value, whole))
            continue
        match = _INCREMENT.match(part)
        if match:
            events.append(Assign(line, match.group(1), match.group(2)[0] + "=", "1", whole))
            continue
        events.append(Code(line, whole, f"assignment {part.strip()[:40]!r}", names_passages=False))
    return events
