"""Quoted strings and brackets in story-format code and in branching comments.

These run over every comment and macro of a story (a whole node text sits in one exported
comment), so they jump between interesting characters with regexes rather than stepping
through each character.

Scanners look for the end of every construct that starts in a passage (``-->`` after each
``<!--``, ``]]`` after each ``[[``...). Searched afresh from each of 40,000 unclosed openers,
that is quadratic; :func:`find_closer` and :func:`skip_string` remember what a search found,
so the searches of one text cost about one pass over it.
"""

from __future__ import annotations

import re
from collections import OrderedDict

#: The rest of a string after its opening quote: backslash escapes anything, the quote ends it.
_STRING_REST = {q: re.compile(rf"(?:[^{q}\\]++|\\.)*+{q}", re.DOTALL) for q in "\"'`"}
_ARG_START = re.compile(r"[\"'`]|\[\[")
_UNESCAPE = re.compile(r"\\(.)")
_SPLIT_STOPS = {sep: re.compile(r"[\"'`()\[\]{}" + re.escape(sep) + "]") for sep in ",;"}


class _Searches:
    """What searches of one text found: for each needle, the last start and its result."""

    __slots__ = ("found", "unclosed")

    def __init__(self) -> None:
        self.found: dict[str | re.Pattern[str], tuple[int, int]] = {}
        #: For each quote, the first position known to open a string that never closes.
        self.unclosed: dict[str, int] = {}


#: The searches of the last texts searched, by identity: ``id -> (text, searches)``.
_RECENT: OrderedDict[int, tuple[str, _Searches]] = OrderedDict()


def _searches(text: str) -> _Searches:
    # By identity, not by value: a cache keyed by the text compares an equal copy (a chapbook
    # line chunk that is the whole passage) character by character on every call.
    entry = _RECENT.get(id(text))
    if entry is not None and entry[0] is text:
        _RECENT.move_to_end(id(text))
        return entry[1]
    searches = _Searches()
    _RECENT[id(text)] = (text, searches)  # holding the text keeps its id from being reused
    if len(_RECENT) > 16:
        _RECENT.popitem(last=False)
    return searches


def find_closer(text: str, needle: str | re.Pattern[str], start: int) -> int:
    """``text.find(needle, start)`` (for a pattern: where its first match from ``start``
    begins), remembering the answer: the first occurrence at or after ``s`` is also the first
    at or after any later start up to it, and none after ``s`` means none after any later start.

    >>> find_closer("a --> b -->", "-->", 0), find_closer("a --> b -->", "-->", 3)
    (2, 8)
    >>> find_closer("<!-- <!-- <!--", "-->", 5)
    -1
    """
    memo = _searches(text)
    searched, found = memo.found.get(needle, (-1, -1))
    if 0 <= searched <= start and (found < 0 or start <= found):
        return found
    if isinstance(needle, str):
        found = text.find(needle, start)
    else:
        match = needle.search(text, start)
        found = match.start() if match else -1
    memo.found[needle] = (start, found)
    return found


def skip_string(text: str, pos: int) -> int:
    """Position after the quoted string starting at ``pos`` (or the end of the text).

    A string that never closes is remembered: one opening later with the same quote does not
    close either (every later quote is escaped, seen from either start).

    >>> skip_string(r'"a\\"b" + 1', 0), skip_string("'open", 0)
    (6, 5)
    """
    quote = text[pos]
    memo = _searches(text)
    if memo.unclosed.get(quote, len(text)) < pos:
        return len(text)
    match = _STRING_REST[quote].match(text, pos + 1)
    if match:
        return match.end()
    memo.unclosed[quote] = min(pos, memo.unclosed.get(quote, pos))
    return len(text)


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
