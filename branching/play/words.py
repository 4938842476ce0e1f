"""Story text as plain lines: for the plain player, screen readers and pipes.

Story text is Markdown, written to be seen formatted. Read out raw, ``**Recording.**`` becomes
"star star Recording star star"; so the plain player prints the words without the markers.
Nothing here interprets the text as anything but text.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_QUOTE = re.compile(r"^\s{0,3}>\s?")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>~|])")
_HARD_BREAK = re.compile(r"(\\| {2,})$")


def markdown_to_plain(text: str) -> str:
    """The words of a Markdown passage without its markers.

    >>> markdown_to_plain("# The Hut\\n\\n**Recording.** It is _cold_; see [map](http://x.test).")
    'The Hut\\n\\nRecording. It is cold; see map (http://x.test).'
    >>> markdown_to_plain("snake_case_name and 2 * 3 * 4 stay")
    'snake_case_name and 2 * 3 * 4 stay'
    """
    lines: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            lines.append(line)
            continue
        if _RULE.match(line):
            lines.append("")
            continue
        heading = _HEADING.match(line)
        if heading:
            line = heading.group(1)
        line = _QUOTE.sub("  ", line)
        line = _HARD_BREAK.sub("", line)
        lines.append(_inline(line))
    return "\n".join(lines)


def _link(match: re.Match[str]) -> str:
    label, address = match.group(1), match.group(2)
    return label if label == address else f"{label} ({address})"


def _inline(line: str) -> str:
    # Escaped markers are set aside first so that `\*` stays a star.
    escaped: list[str] = []

    def keep(match: re.Match[str]) -> str:
        escaped.append(match.group(1))
        return f"\x00{len(escaped) - 1}\x00"

    line = _ESCAPE.sub(keep, line)
    codes: list[str] = []

    def code(match: re.Match[str]) -> str:
        codes.append(match.group(1))
        return f"\x01{len(codes) - 1}\x01"

    line = _CODE.sub(code, line)
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(_link, line)
    line = _STRONG.sub(r"\2", line)
    for pattern in (_EMPHASIS_STAR, _EMPHASIS_UNDERSCORE, _STRIKE):
        line = pattern.sub(r"\1", line)
    line = re.sub("\x01(\\d+)\x01", lambda m: codes[int(m.group(1))], line)
    return re.sub("\x00(\\d+)\x00", lambda m: escaped[int(m.group(1))], line)
