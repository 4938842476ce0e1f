"""Quoted strings and brackets in story-format code and in branching comments."""

from __future__ import annotations

import re


def skip_string(text: str, pos: int) -> int:
    """Position after the quoted string starting at ``pos`` (or the end of the text)."""
    quote = text[pos]
    i = pos + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return len(text)


def string_args(raw: str) -> list[str]:
    """Quoted strings and ``[[links]]`` among macro arguments, in order (quotes removed).

    >>> string_args('"Go north" [[Hall]] \\'x\\'')
    ['Go north', '[[Hall]]', 'x']
    """
    found: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in "\"'`":
            end = skip_string(raw, i)
            body = raw[i + 1 : end - 1]
            found.append(re.sub(r"\\(.)", r"\1", body))
            i = end
        elif raw.startswith("[[", i):
            end = raw.find("]]", i)
            if end < 0:
                break
            found.append(raw[i : end + 2])
            i = end + 2
        else:
            i += 1
    return found


def split_top(raw: str, separator: str = ",") -> list[str]:
    """Split at top-level separators (outside strings and brackets)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in "\"'`":
            end = skip_string(raw, i)
            current.append(raw[i:end])
            i = end
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))
    return [part for part in parts if part.strip()]
