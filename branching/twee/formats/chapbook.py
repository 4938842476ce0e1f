"""Chapbook: vars sections, modifiers ``[if ...]`` and inserts ``{...}``."""

from __future__ import annotations

import re
from typing import Literal

from branching.twee.formats.common import Scanned, scan_common, scan_prose
from branching.twee.formats.events import (
    Assign,
    Back,
    Close,
    Code,
    Embed,
    Event,
    Interp,
    Lines,
    Link,
    Open,
    Prose,
)
from branching.twee.strings import find_closer, string_args

# Not "\s*(...)?\s*:" nor "(.*?)\s*$": adjacent runs of spaces backtrack quadratically.
_CB_VAR_LINE = re.compile(r"^\s*([A-Za-z_$][\w$.]*)\s*(?:(\([^)]*\))\s*)?:(.*)$")
_CB_MODIFIER = re.compile(r"^\s*\[(?!\[)([^\[\]]*)\]\s*$")
_CB_SPECIAL = re.compile(r"\[\[|<!--|<|\{")
_CB_INSERT = re.compile(r"\{([^{}\n]*)\}")
# Each quote kind spelt out: "(['\"])(.*?)\1" scanned to the end of the text from each label.
_LABEL = re.compile(r"label\s*:\s*(?:'([^'\n]*)'|\"([^\"\n]*)\")")


def scan_chapbook(text: str, at: Lines) -> list[Event]:
    """Events of Chapbook passage text: the vars section, then the body line by line."""
    events: list[Event] = []
    lines = text.split("\n")
    offset = 0
    body_from = 0
    separator = next((i for i, line in enumerate(lines) if line.rstrip() == "--"), None)
    if separator is not None and all(
        not line.strip() or _CB_VAR_LINE.match(line) for line in lines[:separator]
    ):
        for index, line_text in enumerate(lines[:separator]):
            match = _CB_VAR_LINE.match(line_text)
            if not match:
                continue
            line = at(0) + index
            name, condition, value = match.group(1), match.group(2), match.group(3).strip()
            if condition:
                events.append(
                    Code(
                        line,
                        line_text.strip(),
                        "Chapbook conditional variable",
                        names_passages=False,
                    )
                )
            else:
                events.append(Assign(line, name, ":", value, line_text.strip()))
        body_from = separator + 1
        offset = sum(len(line) + 1 for line in lines[:body_from])
    section: Literal["none", "branch", "skip"] = "none"
    index = body_from - 1
    while index + 1 < len(lines):
        index += 1
        line_text = lines[index]
        line = at(0) + index
        line_offset = offset
        offset += len(line_text) + 1
        modifier = _CB_MODIFIER.match(line_text)
        if modifier:
            if section == "branch":
                events.append(Close(line, ""))
            section = "none"
            for part in (p.strip() for p in modifier.group(1).split(";")):
                word = part.split(" ", 1)[0].lower()
                rest = part[len(word) :].strip()
                if word in ("if", "unless"):
                    events.append(Open(line, "if", rest, part, negate=word == "unless"))
                    section = "branch"
                elif word == "else":
                    events.append(Close(line, ""))
                    events.append(Open(line, "else", None, part))
                    section = "branch"
                elif word in ("continue", "cont'd", "cont", "continued"):
                    pass
                elif word in ("note", "fork", "javascript", "css", "note:"):
                    events.append(
                        Code(line, part, f"Chapbook [{part}] section", names_passages=False)
                    )
                    section = "skip"
                else:
                    events.append(
                        Code(line, f"[{part}]", f"Chapbook modifier [{part}]", names_passages=False)
                    )
            continue
        if section == "skip":
            continue
        # A comment may run over lines (branching's own does): read it whole, with the rest
        # of the line it closes on, or its lines would be shown as words.
        pos, first = line_offset, index
        while (close := _unclosed_comment(text, pos, offset - 1)) >= 0:
            while offset <= close and index + 1 < len(lines):
                index += 1
                offset += len(lines[index]) + 1
            pos = close + 3  # each part of the chunk is read once
        if index > first:
            line_text = text[line_offset : offset - 1]
        events.extend(_chapbook_line(line_text + "\n", line_offset, at))
    if section == "branch":
        events.append(Close(at(0) + len(lines) - 1, ""))
    return events


def _unclosed_comment(text: str, pos: int, end: int) -> int:
    """Where the ``-->`` closing a comment left open in ``text[pos:end]`` is, or -1 when every
    comment there closes (or one never does, so it is not a comment)."""
    while (start := text.find("<!--", pos, end)) >= 0:
        close = text.find("-->", start + 4, end)
        if close < 0:
            return find_closer(text, "-->", start + 4)
        pos = close + 3
    return -1


def _chapbook_line(text: str, base: int, at: Lines) -> list[Event]:
    """One body line (``text``, ending ``\n``, at offset ``base`` of the passage)."""
    line_at = Lines(text, at(base))

    def construct(match: re.Match[str]) -> Scanned:
        start = match.start()
        if match.group() != "{":
            return scan_common(text, start, line_at, "chapbook")
        insert = _CB_INSERT.match(text, start)
        if not insert:
            return None
        events = _chapbook_insert(insert.group(1).strip(), insert.group(), line_at(start))
        return events, insert.end()

    return scan_prose(text, _CB_SPECIAL, line_at, construct)


def _chapbook_insert(body: str, raw: str, line: int) -> list[Event]:
    if re.fullmatch(r"[A-Za-z_$][\w$]*", body):
        return [Interp(line, body)]
    strings = string_args(body)
    lower = body.lower()
    if lower.startswith("link to") and strings:
        label = _LABEL.search(body)
        shown = label.group(1) if label and label.group(1) is not None else None
        if label and shown is None:
            shown = label.group(2)
        return [Link(line, shown if shown is not None else strings[0], strings[0])]
    if re.match(r"embed passage( named)?\s*:", lower) and strings:
        return [Embed(line, strings[0], raw)]
    if lower.startswith(("back link", "undo link")):
        label = re.search(r"label\s*:\s*(['\"])(.*?)\1", body)
        return [Back(line, label.group(2) if label else "Back", raw)]
    if lower.startswith("restart link"):
        return [
            Code(
                line,
                raw,
                f"Chapbook insert {raw} (viewers start over with r in branching)",
                names_passages=False,
            )
        ]
    if not re.match(r"[a-z][\w ]*(:|$)", lower):
        return [Prose(line, raw)]  # just braces in prose
    return [Code(line, raw, "Chapbook insert")]  # the builder quotes the code itself
