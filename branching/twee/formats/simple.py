"""Snowman, plain Twine and branching's own exports: links and comments, nothing else."""

from __future__ import annotations

import re

from branching.twee.formats.common import Scanned, scan_common, scan_prose
from branching.twee.formats.events import Code, Dialect, Event, Lines
from branching.twee.strings import find_closer

_SNOWMAN_SPECIAL = re.compile(r"\[\[|<!--|<%|<")
_PLAIN_SPECIAL = re.compile(r"\[\[|<!--|<")
_NATIVE_SPECIAL = re.compile(r"\[\[|<!--")


def scan_simple(text: str, at: Lines, dialect: Dialect) -> list[Event]:
    """Events of Snowman, plain or native passage text (Snowman's ``<% %>`` code is dropped)."""
    pattern = {"snowman": _SNOWMAN_SPECIAL, "native": _NATIVE_SPECIAL}.get(dialect, _PLAIN_SPECIAL)

    def construct(match: re.Match[str]) -> Scanned:
        start = match.start()
        if match.group() == "<%":
            end = find_closer(text, "%>", start)
            if end < 0:
                return None
            return [Code(at(start), text[start : end + 2], "Snowman code")], end + 2
        return scan_common(text, start, at, dialect)

    return scan_prose(text, pattern, at, construct, verbatim=dialect == "native")
