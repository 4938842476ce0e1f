"""branching's own notation inside Twee: ``<!-- branching: ... -->`` clauses and settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from branching.story.expressions import Value
from branching.story.json_input import JsonInputError, loads
from branching.twee.strings import split_top

#: The passage that carries story settings in an exported file (found by its tag).
SETTINGS_TAG = "branching-story"
SETTINGS_NAME = "Story Settings (branching)"


def comments(text: str) -> Iterator[tuple[int, str]]:
    """``(start, body)`` of each ``<!-- body -->``, in order. Linear: once a ``<!--`` has no
    ``-->`` after it, no later one has either (a lazy regex would search again from each).

    >>> list(comments("a <!-- x --> b <!-- y --> <!-- z"))
    [(2, ' x '), (15, ' y ')]
    """
    pos = 0
    while (start := text.find("<!--", pos)) >= 0:
        close = text.find("-->", start + 4)
        if close < 0:
            return
        yield start, text[start + 4 : close]
        pos = close + 3


BRANCHING_NOTE = re.compile(r"^\s*branching\b:?", re.IGNORECASE)
#: ``key: value`` or ``if condition`` / ``set name value`` (the colon may be left out).
_CLAUSE = re.compile(
    r"(if|set\s+[A-Za-z_]\w*|[A-Za-z][\w ]*?)\s*(?::\s*|\s+(?=\S))(.*)$", re.DOTALL
)
_SPACES = re.compile(r"\s+")


def parse_clauses(body: str) -> list[tuple[str, str]]:
    """``key: value`` clauses of a branching comment: one per line, or separated by ``;``.

    >>> parse_clauses(" if has_key; set door: true; label: \\"A; B\\"")
    [('if', 'has_key'), ('set door', 'true'), ('label', '"A; B"')]
    """
    clauses: list[tuple[str, str]] = []
    for line in body.split("\n"):
        for part in split_top(line, ";"):
            part = part.strip()
            if not part:
                continue
            match = _CLAUSE.match(part)
            if match:
                clauses.append((_SPACES.sub(" ", match.group(1)), match.group(2).strip()))
            else:
                clauses.append((part, ""))
    return clauses


def clause_value(raw: str) -> Value | list[Any] | dict[str, Any] | None:
    """A clause value: JSON when it reads as strict JSON, else the raw text.

    >>> clause_value("3"), clause_value("NaN"), clause_value('"\\\\ud800"')
    (3, 'NaN', '"\\\\ud800"')
    """
    try:
        value: Any = loads(raw)
    except JsonInputError:
        return raw
    return value  # type: ignore[no-any-return]


def clause_text(raw: str) -> str:
    """A clause holding text: JSON-quoted or raw."""
    if raw.startswith('"'):
        try:
            value = loads(raw)
        except JsonInputError:
            return raw
        if isinstance(value, str):
            return value
    return raw


def write_value(value: Any) -> str:
    """How an effect value or default is written: raw when that reads back the same, else JSON."""
    if (
        isinstance(value, str)
        and value
        and value == value.strip()
        and not re.search(r"[;\n]|-->|\[\[", value)
    ):
        try:
            loads(value)  # the reader's own test: what it refuses reads back as text
        except JsonInputError:
            return value
    return quote_json(value)


def write_expression(source: str) -> str:
    """A condition, raw unless that would not read back (the clause splitter respects quotes)."""
    risky = re.search(r"\n|-->|\[\[", source) or source.startswith('"')
    return quote_json(source) if risky or source != source.strip() else source


def quote_json(value: Any) -> str:
    """JSON that is safe inside a comment in a Twine passage."""
    # "-->" would end the comment and "[[" would draw a link in Twine's story map.
    dumped = json.dumps(value, ensure_ascii=False)
    return dumped.replace("-->", "--\\u003e").replace("[[", "[\\u005b")


def visible_text(text: str) -> str:
    """What an exported passage shows of a node text that needs its exact copy in a comment."""
    lines = []
    for line in text.replace("[[", "[\u200b[").replace("<!--", "<!\u200b--").split("\n"):
        lines.append("\u200b" + line if line.startswith(("::", "\\:")) else line)
    return "\n".join(lines).strip("\n").rstrip()
