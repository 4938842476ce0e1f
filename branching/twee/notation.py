"""The Twee 3 notation: reading files, passage headers and text, and escaping them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from branching.story.json_input import InputTooLarge, JsonInputError, raw_decode, read_limited
from branching.story.problems import Severity
from branching.story.untrusted import CONTROL as _CONTROL
from branching.twee.problems import TweeProblem, TweeReadError


@dataclass
class Passage:
    """One passage as the Twee file spells it."""

    name: str
    tags: list[str]
    metadata: dict[str, Any] | None
    text: str
    file: str
    line: int  # of the header; content starts on the next line

    def problem(
        self, message: str, line: int | None = None, severity: Severity = "warning"
    ) -> TweeProblem:
        return TweeProblem(severity, message, self.file, line or self.line, self.name)


TWEE_SUFFIXES = (".tw", ".twee")


def read_sources(paths: Sequence[str | Path]) -> tuple[list[tuple[str, str]], list[TweeProblem]]:
    """Read Twee files (folders are searched for ``*.tw``/``*.twee``) as ``(name, text)`` pairs.

    Text is decoded as UTF-8 (as the specification recommends), else as Windows-1252 with a
    warning; line ends are normalised and control characters removed (with a warning), since
    story text must not drive the viewer's terminal. Raises :class:`TweeReadError`.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TWEE_SUFFIXES
            )
            if not found:
                raise TweeReadError(f"{path}: no .tw or .twee files in this folder")
            files.extend(found)
        else:
            files.append(path)
    sources: list[tuple[str, str]] = []
    problems: list[TweeProblem] = []
    for path in files:
        try:
            data = read_limited(path)
        except OSError as exc:
            raise TweeReadError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
        except InputTooLarge as exc:
            raise TweeReadError(f"{path}: the file is too large: {exc}") from None
        text, notes = decode(data, str(path))
        problems.extend(notes)
        sources.append((str(path), text))
    return sources, problems


def decode(data: bytes, name: str = "<twee>") -> tuple[str, list[TweeProblem]]:
    """Bytes to clean text: UTF-8 (else Windows-1252), ``\\n`` line ends, no control characters."""
    problems: list[TweeProblem] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            TweeProblem(
                "warning",
                "the file is not UTF-8; read it as Windows-1252 (save it as UTF-8 to be sure)",
                name,
                line,
            )
        )
        text = data.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        for number, line_text in enumerate(text.split("\n"), 1):
            match = _CONTROL.search(line_text)
            if match:
                problems.append(
                    TweeProblem(
                        "warning",
                        f"removed control character U+{ord(match.group()):04X} (and any others "
                        "on this line): story text may not hold terminal control codes",
                        name,
                        number,
                    )
                )
        text = _CONTROL.sub("", text)
    return text, problems


_TWEE2_POSITION = re.compile(r"\s<\s*-?\d+(?:\.\d+)?\s*,\s*-?\d+(?:\.\d+)?\s*>\s*$")


def parse_header(rest: str) -> tuple[str, list[str], dict[str, Any] | None, list[str]]:
    """Split a passage header (the text after ``::``) into name, tags, metadata and notes.

    Follows the Twee 3 specification: the name runs to the first unescaped ``[`` (tag block) or
    ``{`` (metadata block); a backslash escapes any character (``\\q`` yields ``q``); tags are
    space separated; metadata that does not decode is discarded with a note.

    >>> parse_header(r' An \\[overgrown\\] path [forest spooky] {"position":"600,400"}')
    ('An [overgrown] path', ['forest', 'spooky'], {'position': '600,400'}, [])
    """
    notes: list[str] = []
    twee2 = _TWEE2_POSITION.search(rest)
    if twee2:  # Twee 2's "<x,y>" position: informally part of other Twee versions.
        rest = rest[: twee2.start()]
    n = len(rest)
    i = 0
    chars: list[tuple[str, bool]] = []  # (character, was escaped)
    while i < n:
        c = rest[i]
        if c == "\\":
            if i + 1 < n:
                chars.append((rest[i + 1], True))
            i += 2
            continue
        if c in "[{":
            break
        if c in "]}":
            notes.append(f"unescaped {c!r} in the passage name (the specification wants \\{c})")
        chars.append((c, False))
        i += 1
    while chars and not chars[0][1] and chars[0][0].isspace():
        chars.pop(0)
    while chars and not chars[-1][1] and chars[-1][0].isspace():
        chars.pop()
    name = "".join(c for c, _ in chars)

    tags: list[str] = []
    if i < n and rest[i] == "[":
        i += 1
        current: list[str] = []
        closed = False
        while i < n:
            c = rest[i]
            if c == "\\" and i + 1 < n:
                current.append(rest[i + 1])
                i += 2
                continue
            i += 1
            if c == "]":
                closed = True
                break
            if c.isspace():
                if current:
                    tags.append("".join(current))
                    current = []
                continue
            current.append(c)
        if current:
            tags.append("".join(current))
        if not closed:
            notes.append("the tag block has no closing ']'; read the rest of the line as tags")
    while i < n and rest[i] in " \t":
        i += 1
    metadata: dict[str, Any] | None = None
    if i < n and rest[i] == "{":
        try:
            value, end = raw_decode(rest, i)
        except JsonInputError as exc:
            notes.append(
                f"could not decode the passage metadata ({exc}); discarded it, as the "
                "Twee 3 specification recommends"
            )
            i = n
        else:
            if isinstance(value, dict):
                metadata = value
            else:
                notes.append("the passage metadata is not a JSON object; discarded it")
            i = end
    tail = rest[i:].strip()
    if tail:
        notes.append(f"ignored {tail[:40]!r} after the passage name, tags and metadata")
    return name, tags, metadata, notes


def parse_twee(text: str, filename: str = "<twee>") -> tuple[list[Passage], list[TweeProblem]]:
    """All passages of one Twee file, in file order, and the problems met reading them.

    Content runs from the line after a header to the next line starting with ``::``; a content
    line starting ``\\:`` stands for one starting ``:`` (Twine's escape for ``::`` in text);
    trailing blank lines are dropped, as the specification requires.
    """
    problems: list[TweeProblem] = []
    passages: list[Passage] = []
    lines = text.split("\n")
    header_at = [i for i, line in enumerate(lines) if line.startswith("::")]
    if not header_at:
        if text.strip():
            problems.append(
                TweeProblem("warning", "no passage headers (lines starting '::')", filename, 1)
            )
        return passages, problems
    if any(line.strip() for line in lines[: header_at[0]]):
        problems.append(
            TweeProblem(
                "warning",
                "ignored the text before the first passage header "
                "(Twee compilers treat it as notes)",
                filename,
                1,
            )
        )
    for index, start in enumerate(header_at):
        end = header_at[index + 1] if index + 1 < len(header_at) else len(lines)
        name, tags, metadata, notes = parse_header(lines[start][2:])
        body = [line[1:] if line.startswith("\\:") else line for line in lines[start + 1 : end]]
        while body and not body[-1].strip():
            body.pop()
        passage = Passage(name, tags, metadata, "\n".join(body), filename, start + 1)
        problems.extend(passage.problem(note) for note in notes)
        if not name:
            passage.name = f"Untitled passage (line {start + 1})"
            problems.append(
                passage.problem(f'the header has no passage name; named it "{passage.name}"')
            )
        passages.append(passage)
    return passages, problems


def escape_header(text: str) -> str:
    """Escape a passage name or tag for a Twee header (backslash first, then ``[]{}``).

    Leading and trailing spaces are escaped too, as Twine does, so they survive the header's
    trimming.

    >>> escape_header(r"a [b] {c} \\d")
    'a \\\\[b\\\\] \\\\{c\\\\} \\\\\\\\d'
    """
    escaped = re.sub(r"([\\\[\]{}])", r"\\\1", text)
    # By hand: re.sub(r"\s+$", ...) retries a long run of inner spaces from each of them.
    stripped = escaped.lstrip()
    core = stripped.rstrip()
    lead, trail = len(escaped) - len(stripped), len(stripped) - len(core)
    return "\\ " * lead + core + "\\ " * trail


def escape_text(text: str) -> str:
    """Escape passage text: a line starting ``::`` would start a passage, so it becomes ``\\::``."""
    return re.sub(r"^::", r"\\::", text, flags=re.MULTILINE)
