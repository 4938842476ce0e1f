"""Snowman, plain Twine and branching's own exports: links and comments, nothing else."""

from __future__ import annotations

import re

from branching.twee.formats.common import scan_common
from branching.twee.formats.events import Code, Dialect, Event, Lines, Prose

_SNOWMAN_SPECIAL = re.compile(r"\[\[|<!--|<%|<")
_PLAIN_SPECIAL = re.compile(r"\[\[|<!--|<")
_NATIVE_SPECIAL = re.compile(r"\[\[|<!--")


def scan_simple(text: str, at: Lines, dialect: Dialect) -> list[Event]:
    pattern = {"snowman": _SNOWMAN_SPECIAL, "native": _NATIVE_SPECIAL}.get(dialect, _PLAIN_SPECIAL)
    events: list[Event] = []
    pos = prose_start = 0
    while True:
        match = pattern.search(text, pos)
        if not match:
            break
        start = match.start()
        result: tuple[list[Event], int] | None
        if match.group() == "<%":
            end = text.find("%>", start)
            result = (
                None
                if end < 0
                else ([Code(at(start), text[start : end + 2], "Snowman code")], end + 2)
            )
        else:
            result = scan_common(text, start, at, dialect)
        if result is None:
            pos = start + len(match.group())
            continue
        if start > prose_start:
            events.append(
                Prose(at(prose_start), text[prose_start:start], verbatim=dialect == "native")
            )
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos
    if len(text) > prose_start:
        events.append(Prose(at(prose_start), text[prose_start:], verbatim=dialect == "native"))
    return events
