"""Quoted strings and brackets in story-format code and in branching comments.

These run over every comment and macro of a story (a whole node text sits in one exported
comment), so they jump between interesting characters with regexes rather than stepping
through each character.
"""

from __future__ import annotations

import re

#: The rest of a string after its opening quote: backslash escapes anything, the quote ends it.
_STRING_REST = {q: re.compile(rf"(?:[^{q}\\]++|\\.)*+{q}", re.DOTALL) for q in "\"'`"}
_ARG_START = re.compile(r"[\"'`]|\[\[")
_UNESCAPE = re.compile(r"\\(.)")
_SPLIT_STOPS = {sep: re.compile(r"[\"'`()\[\]{}" + re.escape(sep) + "]") for sep in ",;"}


def skip_string(text: str, pos: int) -> int:
    """Position after the quoted string starting at ``pos`` (or the end of the text).

    >>> skip_string(r'"a\\"b" + 1', 0), skip_string("'open", 0)
    (6, 5)
    """
    match = _STRING_REST[text[pos]].match(text, pos + 1)
    return match.end() if match else len(text)


def string_args(raw: str) -> list[str]:
    """Quoted strings and ``[[links]]`` among macro arguments, in order (quotes removed).

    >>> string_args('"Go north" [[Hall]] \\'x\\'')
    ['Go north', '[[Hall]]', 'x']
    """
    found: list[str] = []
    pos = 0
    while (match := _ARG_START.search(raw, pos)) is not None:
        start = match.start()
        if match.group() == "[[":
            end = raw.find("]]", start)
            if end < 0:
                break
            found.append(raw[start : end + 2])
            pos = end + 2
        else:
            end = skip_string(raw, start)
            found.append(_UNESCAPE.sub(r"\1", raw[start + 1 : end - 1]))
            pos = end
    return found


def split_top(raw: str, separator: str = ",") -> list[str]:
    """Split at top-level separators (``,`` or ``;``, outside strings and brackets).

    >>> split_top('a, f(b, c), "d, e"'), split_top("x: 1; y: ';'", ";")
    (['a', ' f(b, c)', ' "d, e"'], ['x: 1', " y: ';'"])
    """
    parts: list[str] = []
    depth = 0
    part_start = pos = 0
    stops = _SPLIT_STOPS[separator]
    while (match := stops.search(raw, pos)) is not None:
        at, c = match.start(), match.group()
        pos = at + 1
        if c in "\"'`":
            pos = skip_string(raw, at)
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:  # the separator
            parts.append(raw[part_start:at])
            part_start = pos
    parts.append(raw[part_start:])
    return [part for part in parts if part and not part.isspace()]
