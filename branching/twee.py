"""Twee 3 import and export: move stories between Twine and ``branching``.

Twee is Twine's text notation (the Interactive Fiction Technology Foundation's *Twee 3
specification*). :func:`parse_twee` reads it to the letter of the specification; :func:`import_twee`
turns passages into nodes, Twine links into choices and link-less passages into endings, and
translates what it safely can of the story formats (Harlowe, SugarCube, Chapbook, Snowman):
variables, simple conditions and effects, link macros, embedded passages. Everything it cannot
translate is dropped (or kept as text) and reported as a located warning, never silently.

:func:`export_twee` writes a story as Twee 3 that Twine 2.6+ imports. What Twine has no notation
for (conditions, effects, timers, endings, ids) goes into HTML comments beside the passage and its
links, ``<!-- branching: if has_key; set door: true -->``, which Twine keeps as passage text and
:func:`import_twee` reads back, so an export followed by an import gives the same story.

Nothing here imports Textual or networkx, and nothing evaluates story code.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from branching.expressions import (
    KEYWORDS,
    EvaluationError,
    ExpressionError,
    Kind,
    Lit,
    Unary,
    Value,
    check,
    evaluate,
    kind_of,
)
from branching.expressions import parse as parse_expression
from branching.model import FORMAT, ID_PATTERN, VARIABLE_PATTERN, Ending, Node, Story

Severity = Literal["error", "warning"]

#: The passage that carries story settings in an exported file (found by its tag).
SETTINGS_TAG = "branching-story"
SETTINGS_NAME = "Story Settings (branching)"
#: What an exported file declares in StoryData: Harlowe is Twine's default format; Twine 2.6+
#: matches "3.3.0" to the newest installed Harlowe 3.x (semver ^3.3.0), so it opens without a
#: complaint about a missing format.
EXPORT_FORMAT = "Harlowe"
EXPORT_FORMAT_VERSION = "3.3.0"
#: Namespace of the name-based (version 5) UUIDs used as IFIDs of exported stories.
IFID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://branching.invalid/ifid")

FORMATS = ("harlowe", "sugarcube", "chapbook", "snowman", "plain")
Dialect = Literal["harlowe", "sugarcube", "chapbook", "snowman", "plain", "native"]

_ID_RE = re.compile(ID_PATTERN)
_VARIABLE_RE = re.compile(VARIABLE_PATTERN)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# --- Problems ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TweeProblem:
    """A warning or error, located in a Twee file and passage where possible."""

    severity: Severity
    message: str
    file: str = ""
    line: int | None = None
    passage: str | None = None

    def format(self) -> str:
        """``FILE:LINE: passage "Name": message`` (errors say so).

        >>> TweeProblem("warning", "dropped <<textbox>>", "a.twee", 7, "Start").format()
        'a.twee:7: passage "Start": dropped <<textbox>>'
        """
        where = self.file or "<twee>"
        if self.line is not None:
            where += f":{self.line}"
        passage = f'passage "{self.passage}": ' if self.passage is not None else ""
        severity = "error: " if self.severity == "error" else ""
        return f"{where}: {severity}{passage}{self.message}"


class TweeReadError(Exception):
    """An input path that cannot be read (missing, unreadable, or a folder without Twee files)."""


# --- Reading files and the Twee 3 notation ------------------------------------------------------


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
            data = path.read_bytes()
        except OSError as exc:
            raise TweeReadError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
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
            value, end = json.JSONDecoder().raw_decode(rest, i)
        except json.JSONDecodeError as exc:
            notes.append(
                f"could not decode the passage metadata ({exc.msg}); discarded it, as the "
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
        body = [re.sub(r"^\\:", ":", line) for line in lines[start + 1 : end]]
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


# --- Names, ids and links -----------------------------------------------------------------------


def slugify(name: str) -> str:
    """A node id for a passage name: lower case, accents removed, other runs of characters ``-``.

    >>> slugify("Cloakroom Hook"), slugify("Ça va? Très bien!"), slugify("hang_cloak")
    ('cloakroom-hook', 'ca-va-tres-bien', 'hang_cloak')
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9_]+", "-", folded).strip("-")[:80].strip("-")
    if not slug or not _ID_RE.match(slug):
        import hashlib

        slug = "passage-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return slug


def assign_ids(names: Sequence[str], fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Distinct ids for passage names, deterministic in the given order (``-2``, ``-3`` on clashes).

    ``fixed`` maps names to ids chosen beforehand (from export comments); they win.

    >>> assign_ids(["Foyer", "foyer", "Bar"])
    {'Foyer': 'foyer', 'foyer': 'foyer-2', 'Bar': 'bar'}
    """
    fixed = fixed or {}
    taken = set(fixed.values())
    ids: dict[str, str] = {}
    for name in names:
        if name in fixed:
            ids[name] = fixed[name]
            continue
        base = slugify(name)
        candidate, number = base, 2
        while candidate in taken:
            candidate = f"{base}-{number}"
            number += 1
        taken.add(candidate)
        ids[name] = candidate
    return ids


_EXTERNAL = re.compile(r"^\w+:\/\/\/?\w", re.IGNORECASE)
_LINK = re.compile(r"\[\[(.*?)\]\]")


@dataclass(frozen=True, slots=True)
class TwineLink:
    label: str
    target: str
    setter: str | None
    external: bool


def parse_link(inner: str) -> TwineLink:
    """Read the inside of ``[[...]]`` the way Twine draws its story map.

    A setter (``][...``) is split off; then the rightmost ``->``, else the leftmost ``<-``, else
    the rightmost ``|`` divides label and target; links to ``scheme://`` are external.

    >>> parse_link("a->b->c"), parse_link("x<-y<-z")
    (TwineLink(label='a->b', target='c', setter=None, external=False), \
TwineLink(label='y<-z', target='x', setter=None, external=False))
    """
    main, _, setter = inner.partition("][")
    if "->" in main:
        at = main.rfind("->")
        label, target = main[:at], main[at + 2 :]
    elif "<-" in main:
        at = main.find("<-")
        target, label = main[:at], main[at + 2 :]
    elif "|" in main:
        at = main.rfind("|")
        label, target = main[:at], main[at + 1 :]
    else:
        label = target = main
    setter_text = setter.removesuffix("]") if "][" in inner else None
    return TwineLink(label, target, setter_text, bool(_EXTERNAL.match(target.strip())))


# --- Expressions of the story formats ------------------------------------------------------------

_SCRIPT_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<name>[$_]?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||[<>!+\-*/%(),.\[\]])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_WORD_OPS = {
    "is": "==",
    "eq": "==",
    "neq": "!=",
    "isnot": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "and": "and",
    "or": "or",
    "not": "not",
    "true": "true",
    "false": "false",
}
_SYMBOL_OPS = {"===": "==", "!==": "!=", "&&": "and", "||": "or", "!": "not"}


def variable_name(name: str) -> str:
    """A story format's variable name as a branching variable (``$gold`` is ``gold``).

    Names that are words of the expression language get a ``_`` suffix.

    >>> variable_name("$gold"), variable_name("_tmp"), variable_name("$visits")
    ('gold', '_tmp', 'visits_')
    """
    name = name.removeprefix("$")
    return name + "_" if name in KEYWORDS else name


class Untranslatable(ValueError):
    """Story-format code that has no faithful equivalent in the expression language."""


def translate_expression(
    source: str,
    dialect: Dialect,
    passage_ids: dict[str, str] | None = None,
    it: str | None = None,
) -> str:
    """Translate a story format's condition or value to the ``branching`` expression language.

    Variables (``$gold``, ``_temp``; bare names in Chapbook), literals, comparisons (``is``,
    ``===``, ``gte``...), ``and``/``or``/``not`` (``&&``, ``||``, ``!``), arithmetic and
    SugarCube's ``visited("Passage")`` translate; anything else raises :class:`Untranslatable`.

    >>> translate_expression("$gold gte 3 and not $cursed", "sugarcube")
    'gold >= 3 and not cursed'
    >>> translate_expression("_previousRoom === 'Outside' || !hasCloak", "chapbook")
    "_previousRoom == 'Outside' or not hasCloak"
    """
    out: list[str] = []
    tokens = [
        (m.lastgroup or "other", m.group())
        for m in _SCRIPT_TOKEN.finditer(source)
        if m.lastgroup != "space"
    ]
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        i += 1
        if kind == "number":
            out.append(text)
        elif kind == "string":
            body = json.loads(text) if text[0] == '"' else text[1:-1].replace("\\'", "'")
            if not isinstance(body, str):
                raise Untranslatable(f"cannot read the string {text}")
            out.append("'" + body.replace("\\", "\\\\").replace("'", "\\'") + "'")
        elif kind == "op":
            if text in (".", "[", "]"):
                raise Untranslatable("property access (.x or [x]) has no equivalent")
            out.append(_SYMBOL_OPS.get(text, text))
        elif kind == "name":
            lower = text.lower()
            if (
                following == ("op", "(")
                and dialect == "sugarcube"
                and text in ("visited", "visitedTags")
            ):
                out.append(_visited(tokens, i, passage_ids or {}))
                i += 3
            elif following == ("op", "("):
                raise Untranslatable(f"the function {text}(...) has no equivalent")
            elif lower == "is" and following == ("name", "not"):
                out.append("!=")
                i += 1
            elif lower in (
                "contains",
                "in",
                "matches",
                "a",
                "an",
                "def",
                "ndef",
                "typeof",
                "instanceof",
            ):
                raise Untranslatable(f"'{text}' has no equivalent")
            elif text == "it" and dialect == "harlowe":
                if it is None:
                    raise Untranslatable("'it' outside (set:) has no equivalent")
                out.append(it)
            elif (lower in _WORD_OPS and dialect != "chapbook") or text in ("true", "false"):
                out.append(_WORD_OPS[lower])
            elif (
                text[0] == "$"
                or (text[0] == "_" and dialect in ("sugarcube", "harlowe"))
                or (dialect == "chapbook" and text not in ("undefined", "null", "NaN"))
            ):
                out.append(variable_name(text))
            else:
                raise Untranslatable(f"'{text}' is not a story variable")
        else:
            raise Untranslatable(f"unexpected {text!r}")
    result = " ".join(out).replace("( ", "(").replace(" )", ")")
    try:
        parse_expression(result)
    except ExpressionError as exc:
        raise Untranslatable(exc.reason) from None
    return result


def _visited(tokens: list[tuple[str, str]], i: int, passage_ids: dict[str, str]) -> str:
    # tokens[i] is "(": expect visited("Passage")
    if tokens[i - 1][1] != "visited" or len(tokens) < i + 3 or tokens[i + 1][0] != "string":
        raise Untranslatable("visited() needs a passage name")
    if tokens[i + 2] != ("op", ")"):
        raise Untranslatable("visited() with several passages has no equivalent")
    name = tokens[i + 1][1][1:-1]
    if name not in passage_ids:
        raise Untranslatable(f'visited("{name}") names no passage')
    return f'(visits("{passage_ids[name]}") > 0)'


def _literal(expression: str) -> Value | None:
    """The constant value of an expression without variables, or None.

    >>> _literal("-3"), _literal("true"), _literal("'x'"), _literal("gold + 1")
    (-3, True, None, None)
    """
    parsed = parse_expression(expression)
    if parsed.variables or parsed.nodes:
        return None
    tree = parsed.tree
    if isinstance(tree, Lit) or (isinstance(tree, Unary) and isinstance(tree.operand, Lit)):
        try:
            value = evaluate(parsed, {}, lambda node: 0)
        except EvaluationError:
            return None
        return None if isinstance(value, str) else value
    return None


# --- Scanning passage text into events -----------------------------------------------------------


@dataclass
class _Ev:
    line: int


@dataclass
class _Prose(_Ev):
    text: str
    verbatim: bool = False  # already in branching's text syntax (no brace escaping)


@dataclass
class _Interp(_Ev):
    name: str


@dataclass
class _Link(_Ev):
    label: str
    target: str
    setter: str | None = None


@dataclass
class _Code(_Ev):
    raw: str
    what: str  # e.g. "SugarCube macro <<textbox>>"
    silent: bool = False  # closers and pure formatting: no warning of their own
    html: bool = False
    names_passages: bool = True  # may name a passage it links to


@dataclass
class _Open(_Ev):
    kind: Literal["if", "elseif", "else"]
    condition: str | None
    raw: str
    negate: bool = False


@dataclass
class _Close(_Ev):
    raw: str


@dataclass
class _Assign(_Ev):
    target: str
    op: str
    value: str
    raw: str


@dataclass
class _LinkOpen(_Ev):
    label: str
    target: str | None
    raw: str


@dataclass
class _LinkClose(_Ev):
    raw: str


@dataclass
class _Goto(_Ev):
    target: str
    raw: str


@dataclass
class _Embed(_Ev):
    target: str
    raw: str


@dataclass
class _Note(_Ev):
    clauses: list[tuple[str, str]]


class _Lines:
    """Offsets to line numbers within a passage."""

    def __init__(self, text: str, first_line: int) -> None:
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self.first = first_line

    def __call__(self, offset: int) -> int:
        import bisect

        return self.first + bisect.bisect_right(self.starts, offset) - 1


_HTML_TAG = re.compile(r"</?([A-Za-z][\w-]*)(?:\s(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)?/?>")
_COMMENT = re.compile(r"<!--(.*?)-->", re.DOTALL)
_BRANCHING_NOTE = re.compile(r"^\s*branching\b:?", re.IGNORECASE)


def _scan_common(text: str, pos: int, at: _Lines, dialect: Dialect) -> tuple[list[_Ev], int] | None:
    """Links, comments and HTML tags: the constructs every format shares."""
    line = at(pos)
    if text.startswith("[[", pos):
        match = _LINK.match(text, pos)
        if not match:
            return None
        inner = match.group(1)
        link = parse_link(inner)
        if link.external:
            label = link.label.strip() or link.target.strip()
            markdown = f"[{label.replace(']', '')}]({link.target.strip()})"
            return [_Prose(line, markdown, verbatim=dialect == "native")], match.end()
        if not link.target.strip():
            return [
                _Code(line, match.group(), "a link without a target", names_passages=False)
            ], match.end()
        return [_Link(line, link.label, link.target, link.setter)], match.end()
    if text.startswith("<!--", pos):
        match = _COMMENT.match(text, pos)
        if not match:
            return None
        body = match.group(1)
        note = _BRANCHING_NOTE.match(body)
        if note:
            return [_Note(line, parse_clauses(body[note.end() :]))], match.end()
        if dialect == "native":
            return [_Prose(line, match.group(), verbatim=True)], match.end()
        return [
            _Code(line, match.group(), "comment", silent=True, names_passages=False)
        ], match.end()
    if text.startswith("<", pos) and dialect != "native":
        match = _HTML_TAG.match(text, pos)
        if not match:
            return None
        if match.group(1).lower() == "br":
            return [_Prose(line, "\n")], match.end()
        return [_Code(line, match.group(), "HTML", html=True, names_passages=False)], match.end()
    return None


def _skip_string(text: str, pos: int) -> int:
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


def _string_args(raw: str) -> list[str]:
    """Quoted strings and ``[[links]]`` among macro arguments, in order (quotes removed).

    >>> _string_args('"Go north" [[Hall]] \\'x\\'')
    ['Go north', '[[Hall]]', 'x']
    """
    found: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in "\"'`":
            end = _skip_string(raw, i)
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


def _split_top(raw: str, separator: str = ",") -> list[str]:
    """Split at top-level separators (outside strings and brackets)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c in "\"'`":
            end = _skip_string(raw, i)
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


def _link_from_arg(arg: str) -> tuple[str, str] | None:
    """(label, target) from a ``[[link]]`` argument."""
    if arg.startswith("[[") and arg.endswith("]]"):
        link = parse_link(arg[2:-2])
        return (link.label, link.target) if not link.external else None
    return None


_ASSIGN = re.compile(
    r"^\s*([$_]?[A-Za-z_][\w]*(?:\.[\w]+)*)\s*(to|=|\+=|-=|\*=|/=|%=)\s*(.+?)\s*$", re.DOTALL
)
_INCREMENT = re.compile(r"^\s*([$_][A-Za-z_]\w*)\s*(\+\+|--)\s*$")


def _assignments(raw: str, line: int, whole: str) -> list[_Ev]:
    """``$x to 1, $y += 2`` (SugarCube's <<set>>, Harlowe's (set:)) as assignment events."""
    events: list[_Ev] = []
    for part in _split_top(raw):
        match = _ASSIGN.match(part)
        if match:
            events.append(_Assign(line, match.group(1), match.group(2), match.group(3), whole))
            continue
        match = _INCREMENT.match(part)
        if match:
            events.append(_Assign(line, match.group(1), match.group(2)[0] + "=", "1", whole))
            continue
        events.append(_Code(line, whole, f"assignment {part.strip()[:40]!r}", names_passages=False))
    return events


# SugarCube ---------------------------------------------------------------------------------------

_SC_MACRO = re.compile(r"<<(/?)(=|-|[A-Za-z][\w-]*)")
_SC_SPECIAL = re.compile(r"\[\[|\[img\[|<<|<!--|/\*|/%|\"\"\"|<nowiki>|<|(?<![\w$])[$_][A-Za-z_]")
_SC_CODE_BODY = {"script", "widget"}
_SC_NAVIGATION_FREE = {
    "set",
    "unset",
    "print",
    "=",
    "-",
    "textbox",
    "textarea",
    "numberbox",
    "checkbox",
    "radiobutton",
    "cycle",
    "listbox",
    "audio",
    "cacheaudio",
    "playlist",
    "masteraudio",
    "createaudiogroup",
    "createplaylist",
    "waitforaudio",
    "track",
    "type",
    "nobr",
    "silently",
    "timed",
    "repeat",
    "stop",
    "if",
    "elseif",
    "else",
    "for",
    "break",
    "continue",
    "switch",
    "case",
    "default",
    "capture",
    "addclass",
    "removeclass",
    "toggleclass",
    "copy",
    "remove",
    "replace",
    "append",
    "prepend",
    "done",
}


def _scan_sugarcube(text: str, at: _Lines) -> list[_Ev]:
    events: list[_Ev] = []
    pos = 0
    prose_start = 0

    def flush(end: int) -> None:
        if end > prose_start:
            events.append(_Prose(at(prose_start), text[prose_start:end]))

    while True:
        match = _SC_SPECIAL.search(text, pos)
        if not match:
            break
        start = match.start()
        line = at(start)
        token = match.group()
        result: tuple[list[_Ev], int] | None = None
        if token in ("[[", "<!--") or (token == "<" and not text.startswith("<<", start)):
            result = _scan_common(text, start, at, "sugarcube")
        elif token == "[img[":
            end = text.find("]]", start)
            if end >= 0:
                result = ([_Code(line, text[start : end + 2], "SugarCube image link")], end + 2)
        elif token == "/*" or token == "/%":
            end = text.find("*/" if token == "/*" else "%/", start + 2)
            if end >= 0:
                result = ([_Code(line, text[start : end + 2], "comment", silent=True)], end + 2)
        elif token in ('"""', "<nowiki>"):
            closer = '"""' if token == '"""' else "</nowiki>"
            end = text.find(closer, start + len(token))
            if end >= 0:
                body = text[start + len(token) : end]
                result = ([_Prose(line, body)], end + len(closer))
        elif token == "<<":
            result = _sugarcube_macro(text, start, at)
        else:  # naked variable
            name_match = re.compile(r"[$_][A-Za-z_]\w*").match(text, start)
            assert name_match is not None
            end = name_match.end()
            if (
                end < len(text)
                and text[end] in ".["
                and re.match(r"[.\[][\w\"']", text[end : end + 2])
            ):
                prop = re.compile(r"(?:\.\w+|\[[^\]]*\])+").match(text, end)
                stop = prop.end() if prop else end
                result = (
                    [_Code(line, text[start:stop], "SugarCube variable with a property")],
                    stop,
                )
            else:
                result = ([_Interp(line, name_match.group().lstrip("$"))], end)
        if result is None:
            pos = start + len(token)
            continue
        flush(start)
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos
    flush(len(text))
    return events


def _macro_end(text: str, pos: int) -> int:
    """Position after the ``>>`` closing the macro whose arguments start at ``pos``; -1 if none."""
    i = pos
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            i = _skip_string(text, i)
            continue
        if text.startswith("[[", i):
            end = text.find("]]", i)
            if end < 0:
                return -1
            i = end + 2
            continue
        if text.startswith(">>", i):
            return i + 2
        i += 1
    return -1


def _sugarcube_macro(text: str, start: int, at: _Lines) -> tuple[list[_Ev], int] | None:
    match = _SC_MACRO.match(text, start)
    if not match:
        return None
    end = _macro_end(text, match.end())
    if end < 0:
        return None
    line = at(start)
    closing, name = match.group(1) == "/", match.group(2)
    lower = name.lower()
    raw = text[start:end]
    args = text[match.end() : end - 2].strip()
    if closing or (
        lower.startswith("end") and lower[3:] in ("if", "link", "button", "silently", "nobr")
    ):
        base = lower if closing else lower[3:]
        if base == "if":
            return [_Close(line, raw)], end
        if base in ("link", "button"):
            return [_LinkClose(line, raw)], end
        return [_Code(line, raw, f"<</{base}>>", silent=True, names_passages=False)], end
    if lower == "if":
        return [_Open(line, "if", args, raw)], end
    if lower in ("elseif", "else"):
        if lower == "else" and args.startswith("if "):
            args = args[3:]
            lower = "elseif"
        return [
            _Close(line, raw),
            _Open(line, "elseif" if lower == "elseif" else "else", args or None, raw),
        ], end
    if lower == "set":
        return _assignments(args, line, raw), end
    if lower in ("link", "button"):
        strings = _string_args(args)
        if strings and (pair := _link_from_arg(strings[0])):
            return [_LinkOpen(line, pair[0], pair[1], raw)], end
        if strings:
            target = strings[1] if len(strings) > 1 and not strings[1].startswith("[[") else None
            return [_LinkOpen(line, strings[0], target, raw)], end
    if lower == "goto":
        strings = _string_args(args)
        if strings:
            pair = _link_from_arg(strings[0])
            return [_Goto(line, pair[1] if pair else strings[0], raw)], end
    if lower in ("include", "display"):
        strings = _string_args(args)
        if strings:
            pair = _link_from_arg(strings[0])
            return [_Embed(line, pair[1] if pair else strings[0], raw)], end
    if lower in ("actions", "choice"):
        events: list[_Ev] = []
        for arg in _string_args(args):
            pair = _link_from_arg(arg)
            events.append(_Link(line, pair[0], pair[1]) if pair else _Link(line, arg, arg))
        if events:
            return events, end
    if lower in ("print", "=", "-") and re.fullmatch(r"[$_][A-Za-z_]\w*", args):
        return [_Interp(line, args.lstrip("$"))], end
    if lower in ("back", "return"):
        return [
            _Code(
                line,
                raw,
                f"SugarCube <<{name}>> (viewers rewind in branching instead)",
                names_passages=False,
            )
        ], end
    if lower in _SC_CODE_BODY:
        closer = re.compile(rf"<</{re.escape(name)}>>|<<end{re.escape(name)}>>", re.IGNORECASE)
        close = closer.search(text, end)
        stop = close.end() if close else end
        return [_Code(line, text[start:stop], f"SugarCube <<{name}>> block")], stop
    return [
        _Code(
            line,
            raw,
            f"SugarCube macro <<{name}>>",
            names_passages=lower not in _SC_NAVIGATION_FREE,
        )
    ], end


# Harlowe -----------------------------------------------------------------------------------------

_HW_MACRO = re.compile(r"\(([A-Za-z][\w-]*):")
_HW_SPECIAL = re.compile(
    r"\[\[|<!--|\((?=[A-Za-z][\w-]*:)|(?<![\w$])[$_][A-Za-z_]|\|[A-Za-z_]\w*>\[|<|`|[{}\]]"
)
_HW_CONDITIONS = {
    "if": "if",
    "unless": "if",
    "elseif": "elseif",
    "else-if": "elseif",
    "else": "else",
}


def _harlowe_args_end(text: str, pos: int) -> int:
    """Position after the ``)`` matching an open macro whose arguments start at ``pos``."""
    depth = 1
    i = pos
    while i < len(text):
        c = text[i]
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def _scan_harlowe(text: str, at: _Lines) -> list[_Ev]:
    events: list[_Ev] = []
    _harlowe_run(text, 0, at, events, in_hook=False)
    return events


def _harlowe_run(text: str, pos: int, at: _Lines, events: list[_Ev], in_hook: bool) -> int:
    """Scan from ``pos`` until the end (or the ``]`` closing the current hook); return the end."""
    prose_start = pos

    def flush(end: int) -> None:
        if end > prose_start:
            events.append(_Prose(at(prose_start), text[prose_start:end]))

    while True:
        match = _HW_SPECIAL.search(text, pos)
        if not match:
            flush(len(text))
            return len(text)
        start = match.start()
        token = match.group()
        line = at(start)
        if token == "]":
            if in_hook:
                flush(start)
                named = re.compile(r"\]<[A-Za-z_]\w*\|").match(text, start)
                return named.end() if named else start + 1
            pos = start + 1
            continue
        if token in ("{", "}"):  # whitespace-collapsing markup: formatting only
            flush(start)
            prose_start = pos = start + 1
            continue
        if token == "`":
            end = text.find("`", start + 1)
            if end < 0:
                pos = start + 1
                continue
            flush(start)
            events.append(_Prose(line, text[start + 1 : end]))
            prose_start = pos = end + 1
            continue
        if token.startswith("|"):  # named hook |name>[ ... ]
            flush(start)
            pos = _harlowe_run(text, match.end(), at, events, in_hook=True)
            prose_start = pos
            continue
        if token[0] in "$_":
            name_match = re.compile(r"[$_][A-Za-z_]\w*").match(text, start)
            assert name_match is not None
            flush(start)
            events.append(_Interp(line, name_match.group().lstrip("$")))
            prose_start = pos = name_match.end()
            continue
        if token == "(":
            handled = _harlowe_macro(text, start, at, events, flush)
            if handled < 0:
                pos = start + 1
                continue
            prose_start = pos = handled
            continue
        result = _scan_common(text, start, at, "harlowe")
        if result is None:
            pos = start + len(token)
            continue
        flush(start)
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos


def _harlowe_macro(text: str, start: int, at: _Lines, events: list[_Ev], flush: Any) -> int:
    match = _HW_MACRO.match(text, start)
    if not match:
        return -1
    end = _harlowe_args_end(text, match.end())
    if end < 0:
        return -1
    flush(start)
    line = at(start)
    name = match.group(1).lower().replace("_", "")
    args = text[match.end() : end - 1].strip()
    raw = text[start:end]
    # Changers joined with "+" act on the hook that follows them all.
    chain = re.compile(r"\s*\+\s*\(([A-Za-z][\w-]*):")
    while (more := chain.match(text, end)) is not None:
        more_end = _harlowe_args_end(text, more.end())
        if more_end < 0:
            break
        raw = text[start:more_end]
        end = more_end
    hook = re.compile(r"[ \t]*\[(?!\[)").match(text, end)
    strings = _string_args(args)

    def run_hook() -> int:
        assert hook is not None
        return _harlowe_run(text, hook.end(), at, events, in_hook=True)

    if name in _HW_CONDITIONS and hook:
        kind = _HW_CONDITIONS[name]
        if kind != "if":
            events.append(_Close(line, ""))  # marks the chain: else follows the previous hook
        events.append(_Open(line, kind, args or None, raw, negate=name == "unless"))  # type: ignore[arg-type]
        stop = run_hook()
        events.append(_Close(at(stop - 1), ""))
        return stop
    if name in ("set", "put", "move"):
        if name == "set":
            events.extend(_assignments(args, line, raw))
        else:
            put = re.fullmatch(r"(.+?)\s+into\s+([$_][A-Za-z_]\w*)", args, re.DOTALL)
            if put:
                events.append(_Assign(line, put.group(2), "to", put.group(1), raw))
            else:
                events.append(_Code(line, raw, f"Harlowe ({name}:)", names_passages=False))
        return end
    if name in ("link-goto", "linkgoto") and strings:
        label = strings[0]
        target = strings[1] if len(strings) > 1 else strings[0]
        events.append(_Link(line, label, target))
        return run_hook() if hook else end
    if name in ("goto", "go-to") and strings:
        events.append(_Goto(line, strings[0], raw))
        return end
    if name in ("display",) and strings:
        events.append(_Embed(line, strings[0], raw))
        return end
    if name == "print" and re.fullmatch(r"[$_][A-Za-z_]\w*", args):
        events.append(_Interp(line, args.lstrip("$")))
        return end
    if name in ("link-reveal-goto", "linkrevealgoto") and strings and hook:
        target = strings[1] if len(strings) > 1 else strings[0]
        events.append(_LinkOpen(line, strings[0], target, raw))
        stop = run_hook()
        events.append(_LinkClose(at(stop - 1), ""))
        return stop
    if (
        name in ("link", "link-reveal", "linkreveal", "link-replace", "linkreplace", "link-repeat")
        and strings
        and hook
    ):
        events.append(_LinkOpen(line, strings[0], None, raw))
        stop = run_hook()
        events.append(_LinkClose(at(stop - 1), ""))
        return stop
    events.append(_Code(line, raw, f"Harlowe macro ({match.group(1)}:)"))
    if hook:
        return run_hook()
    return end


# Chapbook ----------------------------------------------------------------------------------------

_CB_VAR_LINE = re.compile(r"^\s*([A-Za-z_$][\w$.]*)\s*(\([^)]*\))?\s*:\s*(.*?)\s*$")
_CB_MODIFIER = re.compile(r"^\s*\[(?!\[)([^\[\]]*)\]\s*$")
_CB_SPECIAL = re.compile(r"\[\[|<!--|<|\{")
_CB_INSERT = re.compile(r"\{([^{}\n]*)\}")


def _scan_chapbook(text: str, at: _Lines) -> list[_Ev]:
    events: list[_Ev] = []
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
            name, condition, value = match.groups()
            if condition:
                events.append(
                    _Code(
                        line,
                        line_text.strip(),
                        "Chapbook conditional variable",
                        names_passages=False,
                    )
                )
            else:
                events.append(_Assign(line, name, ":", value, line_text.strip()))
        body_from = separator + 1
        offset = sum(len(line) + 1 for line in lines[:body_from])
    section: Literal["none", "branch", "skip"] = "none"
    for index in range(body_from, len(lines)):
        line_text = lines[index]
        line = at(0) + index
        line_offset = offset
        offset += len(line_text) + 1
        modifier = _CB_MODIFIER.match(line_text)
        if modifier:
            if section == "branch":
                events.append(_Close(line, ""))
            section = "none"
            for part in (p.strip() for p in modifier.group(1).split(";")):
                word = part.split(" ", 1)[0].lower()
                rest = part[len(word) :].strip()
                if word in ("if", "unless"):
                    events.append(_Open(line, "if", rest, part, negate=word == "unless"))
                    section = "branch"
                elif word == "else":
                    events.append(_Close(line, ""))
                    events.append(_Open(line, "else", None, part))
                    section = "branch"
                elif word in ("continue", "cont'd", "cont", "continued"):
                    pass
                elif word in ("note", "fork", "javascript", "css", "note:"):
                    events.append(
                        _Code(line, part, f"Chapbook [{part}] section", names_passages=False)
                    )
                    section = "skip"
                else:
                    events.append(
                        _Code(
                            line, f"[{part}]", f"Chapbook modifier [{part}]", names_passages=False
                        )
                    )
            continue
        if section == "skip":
            continue
        events.extend(_chapbook_line(line_text + "\n", line_offset, at))
    if section == "branch":
        events.append(_Close(at(0) + len(lines) - 1, ""))
    return events


def _chapbook_line(text: str, base: int, at: _Lines) -> list[_Ev]:
    events: list[_Ev] = []
    pos = prose_start = 0

    def where(offset: int) -> int:
        return at(base + offset)

    while True:
        match = _CB_SPECIAL.search(text, pos)
        if not match:
            break
        start = match.start()
        result: tuple[list[_Ev], int] | None = None
        if match.group() == "{":
            insert = _CB_INSERT.match(text, start)
            if insert:
                result = (
                    _chapbook_insert(insert.group(1).strip(), insert.group(), where(start)),
                    insert.end(),
                )
        else:
            sub = _Lines(text, where(0))
            result = _scan_common(text, start, sub, "chapbook")
        if result is None:
            pos = start + 1
            continue
        if start > prose_start:
            events.append(_Prose(where(prose_start), text[prose_start:start]))
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos
    if len(text) > prose_start:
        events.append(_Prose(where(prose_start), text[prose_start:]))
    return events


def _chapbook_insert(body: str, raw: str, line: int) -> list[_Ev]:
    if re.fullmatch(r"[A-Za-z_$][\w$]*", body):
        return [_Interp(line, body)]
    strings = _string_args(body)
    lower = body.lower()
    if lower.startswith("link to") and strings:
        label = re.search(r"label\s*:\s*(['\"])(.*?)\1", body)
        return [_Link(line, label.group(2) if label else strings[0], strings[0])]
    if re.match(r"embed passage( named)?\s*:", lower) and strings:
        return [_Embed(line, strings[0], raw)]
    if lower in ("back link", "restart link", "undo link") or lower.startswith(
        ("back link", "restart link")
    ):
        return [
            _Code(
                line,
                raw,
                f"Chapbook insert {raw} (viewers rewind in branching instead)",
                names_passages=False,
            )
        ]
    if not re.match(r"[a-z][\w ]*(:|$)", lower):
        return [_Prose(line, raw)]  # just braces in prose
    return [_Code(line, raw, f"Chapbook insert {raw[:40]}")]


# Snowman and plain -------------------------------------------------------------------------------

_SNOWMAN_SPECIAL = re.compile(r"\[\[|<!--|<%|<")
_PLAIN_SPECIAL = re.compile(r"\[\[|<!--|<")
_NATIVE_SPECIAL = re.compile(r"\[\[|<!--")


def _scan_simple(text: str, at: _Lines, dialect: Dialect) -> list[_Ev]:
    pattern = {"snowman": _SNOWMAN_SPECIAL, "native": _NATIVE_SPECIAL}.get(dialect, _PLAIN_SPECIAL)
    events: list[_Ev] = []
    pos = prose_start = 0
    while True:
        match = pattern.search(text, pos)
        if not match:
            break
        start = match.start()
        result: tuple[list[_Ev], int] | None
        if match.group() == "<%":
            end = text.find("%>", start)
            result = (
                None
                if end < 0
                else ([_Code(at(start), text[start : end + 2], "Snowman code")], end + 2)
            )
        else:
            result = _scan_common(text, start, at, dialect)
        if result is None:
            pos = start + len(match.group())
            continue
        if start > prose_start:
            events.append(
                _Prose(at(prose_start), text[prose_start:start], verbatim=dialect == "native")
            )
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos
    if len(text) > prose_start:
        events.append(_Prose(at(prose_start), text[prose_start:], verbatim=dialect == "native"))
    return events


def scan(text: str, first_line: int, dialect: Dialect) -> list[_Ev]:
    at = _Lines(text, first_line)
    if dialect == "sugarcube":
        return _scan_sugarcube(text, at)
    if dialect == "harlowe":
        return _scan_harlowe(text, at)
    if dialect == "chapbook":
        return _scan_chapbook(text, at)
    return _scan_simple(text, at, dialect)


def guess_format(texts: Iterable[str]) -> str:
    """The story format whose code the passages use most ("plain" when none).

    >>> guess_format(["<<set $a to 1>>", "(if: $a)[x]"]), guess_format(["a: 1\\n--\\n{a}"])
    ('sugarcube', 'chapbook')
    """
    scores = dict.fromkeys(("sugarcube", "harlowe", "chapbook", "snowman"), 0)
    for text in texts:
        scores["sugarcube"] += len(re.findall(r"<<[A-Za-z/]", text))
        scores["harlowe"] += len(re.findall(r"\([A-Za-z][\w-]*:", text))
        scores["chapbook"] += len(
            re.findall(r"^--\s*$|^\[(?:if|else|unless|cont'?d?|align|after|note)\b", text, re.M)
        )
        scores["chapbook"] += len(
            re.findall(r"\{(?:back link|restart link|embed |link to|[A-Za-z_]\w*\})", text)
        )
        scores["snowman"] += len(re.findall(r"<%", text))
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else "plain"


def normalise_format(name: str | None) -> str | None:
    """Map a StoryData ``format`` (e.g. "SugarCube") to a known dialect name, or None."""
    if not name:
        return None
    lower = name.strip().lower()
    for known in FORMATS:
        if lower.startswith(known):
            return known
    return "plain"


# --- Clauses of branching comments ---------------------------------------------------------------


def parse_clauses(body: str) -> list[tuple[str, str]]:
    """``key: value`` clauses of a branching comment: one per line, or separated by ``;``.

    >>> parse_clauses(" if has_key; set door: true; label: \\"A; B\\"")
    [('if', 'has_key'), ('set door', 'true'), ('label', '"A; B"')]
    """
    clauses: list[tuple[str, str]] = []
    for line in body.split("\n"):
        for part in _split_top(line, ";"):
            part = part.strip()
            if not part:
                continue
            match = re.match(
                r"(if|set\s+[A-Za-z_]\w*|[A-Za-z][\w ]*?)\s*(?::\s*|\s+(?=\S))(.*)$",
                part,
                re.DOTALL,
            )
            if match:
                clauses.append((re.sub(r"\s+", " ", match.group(1)), match.group(2).strip()))
            else:
                clauses.append((part, ""))
    return clauses


def _clause_value(raw: str) -> Value | list[Any] | dict[str, Any] | None:
    """A clause value: JSON when it reads as JSON, else the raw text."""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        return raw
    return value  # type: ignore[no-any-return]


def _clause_text(raw: str) -> str:
    """A clause holding text: JSON-quoted or raw."""
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(value, str):
            return value
    return raw


def _write_value(value: Any) -> str:
    """How an effect value or default is written: raw when that reads back the same, else JSON."""
    if (
        isinstance(value, str)
        and value
        and value == value.strip()
        and not re.search(r"[;\n]|-->|\[\[", value)
    ):
        try:
            json.loads(value)
        except ValueError:
            return value
    return _json(value)


def _write_text(value: str) -> str:
    if value and value == value.strip() and not re.search(r"[;\n\"']|-->|\[\[", value):
        return value
    return _json(value)


def _write_expression(source: str) -> str:
    """A condition, raw unless that would not read back (the clause splitter respects quotes)."""
    risky = re.search(r"\n|-->|\[\[", source) or source.startswith('"')
    return _json(source) if risky or source != source.strip() else source


def _json(value: Any) -> str:
    # "-->" would end the comment and "[[" would draw a link in Twine's story map.
    dumped = json.dumps(value, ensure_ascii=False)
    return dumped.replace("-->", "--\\u003e").replace("[[", "[\\u005b")


# --- Building nodes from events ------------------------------------------------------------------


@dataclass
class _ChoiceDraft:
    label: str
    target: str  # passage name
    line: int
    conditions: list[str | None]  # None: a condition that could not be translated
    effects: list[tuple[str, Value, int]] = field(default_factory=list)
    clauses: list[tuple[str, str]] = field(default_factory=list)
    marker: int = -1


@dataclass
class _EmbedDraft:
    target: str
    line: int
    conditions: list[str | None]
    marker: int


@dataclass
class _Draft:
    passage: Passage
    pieces: list[str] = field(default_factory=list)
    choices: list[_ChoiceDraft] = field(default_factory=list)
    effects: list[tuple[str, Value, int]] = field(default_factory=list)
    embeds: list[_EmbedDraft] = field(default_factory=list)
    clauses: list[tuple[str, str]] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    interpolated: set[str] = field(default_factory=set)
    text: str = ""


_MARK = "\x00{}\x01"
_EMBED_MARK = "\x02{}\x03"
_DECORATION = re.compile(r"^[\s*_~|•·\-–—,.;:/()<>]*$")


@dataclass
class _Branch:
    condition: str | None  # translated; None when untranslatable
    raw: str
    line: int
    prose: bool = False
    chain: list[str | None] = field(default_factory=list)  # conditions of earlier branches


class _Builder:
    """Turns the events of one passage into a draft node, warning about what it leaves out."""

    def __init__(
        self,
        passage: Passage,
        dialect: Dialect,
        ids: dict[str, str],
        names: set[str],
        keep_macros: bool,
        problems: list[TweeProblem],
    ) -> None:
        self.passage = passage
        self.dialect = dialect
        self.ids = ids
        self.names = names
        self.keep = keep_macros
        self.problems = problems
        self.draft = _Draft(passage)
        self.branches: list[_Branch] = []
        self.closed: _Branch | None = None  # the branch just closed, for else/elseif
        self.link: _ChoiceDraft | None = None
        self.html: list[tuple[int, str]] = []

    def warn(self, message: str, line: int) -> None:
        self.problems.append(self.passage.problem(message, line))

    def conditions(self) -> list[str | None]:
        return [branch.condition for branch in self.branches]

    def add_text(self, text: str, verbatim: bool = False) -> None:
        if not verbatim:
            text = text.replace("{", "{{").replace("}", "}}")
        self.draft.pieces.append(text)
        if text.strip() and self.branches:
            self.branches[-1].prose = True

    def add_choice(self, label: str, target: str, line: int) -> _ChoiceDraft:
        marker = len(self.draft.labels)
        choice = _ChoiceDraft(label, target, line, self.conditions(), marker=marker)
        self.draft.labels[marker] = label
        self.draft.pieces.append(_MARK.format(marker))
        self.draft.choices.append(choice)
        return choice

    def translate(self, source: str, line: int, what: str, it: str | None = None) -> str | None:
        dialect = self.dialect if self.dialect != "native" else "plain"
        try:
            return translate_expression(source, dialect, self.ids, it)
        except Untranslatable as exc:
            self.warn(f"could not translate the {what} {source.strip()[:60]!r} ({exc})", line)
            return None

    def run(self, events: list[_Ev]) -> _Draft:
        for event in events:
            self.handle(event)
        while self.branches:
            self.close_branch(self.passage.line)
        if self.link is not None:
            self.finish_link(self.passage.line)
        if self.html:
            tags = sorted({name for _, name in self.html})
            verb = "kept" if self.keep else "removed"
            self.warn(f"{verb} HTML tags ({', '.join(tags)}); their text is kept", self.html[0][0])
        return self.draft

    def handle(self, event: _Ev) -> None:
        if isinstance(event, _Prose):
            if event.text.strip():
                self.closed = None
            self.add_text(event.text, event.verbatim)
        elif isinstance(event, _Interp):
            self.interpolate(event)
        elif isinstance(event, _Link):
            self.on_link(event)
        elif isinstance(event, _Code):
            self.on_code(event)
        elif isinstance(event, _Open):
            self.open_branch(event)
        elif isinstance(event, _Close):
            if self.branches:
                self.close_branch(event.line)
        elif isinstance(event, _Assign):
            self.on_assign(event)
        elif isinstance(event, _LinkOpen):
            if self.link is not None:
                self.finish_link(event.line)
            self.link = _ChoiceDraft(event.label, event.target or "", event.line, self.conditions())
            self.link.marker = len(self.draft.pieces)
            self.draft.pieces.append("")
        elif isinstance(event, _LinkClose):
            if self.link is not None:
                self.finish_link(event.line)
        elif isinstance(event, _Goto):
            if self.link is not None:
                self.link.target = event.target
            else:
                self.warn(
                    f'automatic jump {event.raw.strip()[:50]} became a choice "Continue"',
                    event.line,
                )
                self.add_choice("Continue", event.target, event.line)
        elif isinstance(event, _Embed):
            marker = len(self.draft.embeds)
            self.draft.embeds.append(
                _EmbedDraft(event.target, event.line, self.conditions(), marker)
            )
            self.draft.pieces.append(_EMBED_MARK.format(marker))
        elif isinstance(event, _Note):
            last = self.draft.choices[-1] if self.draft.choices else None
            before = [piece for piece in self.draft.pieces if piece.strip(" \t")]
            if (
                last is not None
                and last.line == event.line
                and before
                and before[-1] == _MARK.format(last.marker)
            ):
                last.clauses.extend(event.clauses)  # the comment right after a link is the link's
            else:
                self.draft.clauses.extend(event.clauses)

    def interpolate(self, event: _Interp) -> None:
        if _VARIABLE_RE.match(event.name):
            name = variable_name(event.name)
            self.draft.pieces.append("{" + name + "}")
            self.draft.interpolated.add(name)
        else:
            self.add_text(event.name)

    def on_link(self, event: _Link) -> None:
        label = event.label.strip()
        target = event.target
        choice = self.add_choice(label, target, event.line)
        if event.setter is not None:
            effects = (
                _assignments(event.setter, event.line, event.setter)
                if self.dialect == "sugarcube"
                else []
            )
            translated = [self.assignment(e) for e in effects if isinstance(e, _Assign)]
            if (
                effects
                and all(t is not None for t in translated)
                and len(translated) == len(effects)
            ):
                choice.effects.extend(t for t in translated if t is not None)
            else:
                self.warn(f"dropped the link setter [{event.setter}] of [[{label}]]", event.line)

    def on_code(self, event: _Code) -> None:
        if event.html:
            self.html.append((event.line, event.raw.split()[0].strip("</>").lower()))
            if self.keep:
                self.add_text(event.raw)
            return
        if self.keep:
            self.add_text(event.raw)
        if not event.silent:
            verb = "kept as text" if self.keep else "dropped"
            shown = " ".join(event.raw.split())
            shown = shown if len(shown) <= 70 else shown[:67] + "..."
            detail = f": {shown}" if shown and shown not in event.what else ""
            self.warn(f"{verb} {event.what}{detail}", event.line)
        if event.names_passages:
            for name in dict.fromkeys(_string_args(event.raw)):
                if name in self.names:
                    self.warn(
                        f'the code names the passage "{name}": imported it as a choice "{name}"',
                        event.line,
                    )
                    self.add_choice(name, name, event.line)

    def open_branch(self, event: _Open) -> None:
        chain: list[str | None] = []
        if event.kind != "if":
            if self.closed is None:
                self.warn(
                    f"{event.raw.strip() or 'else'} follows no if; read it as a plain if",
                    event.line,
                )
            else:
                chain = [*self.closed.chain, self.closed.condition]
        condition: str | None
        own: str | None = ""
        if event.condition is not None:
            own = self.translate(event.condition, event.line, "condition")
            if own is not None and event.negate:
                own = f"not ({own})"
        parts = [f"not ({c})" if c is not None else None for c in chain]
        if own != "":
            parts.append(own)
        if any(part is None for part in parts):
            condition = None
        else:
            condition = " and ".join(part for part in parts if part) or None
            if condition is None:  # an else after conditions that could not be read
                condition = "true"
        branch = _Branch(condition, event.raw, event.line, chain=chain)
        if condition == "true":
            branch.condition = None
        self.branches.append(branch)
        self.closed = None
        if self.keep and condition is None and event.raw:
            self.add_text(event.raw)

    def close_branch(self, line: int) -> None:
        branch = self.branches.pop()
        if branch.prose and branch.raw:
            shown = " ".join(branch.raw.split())[:60]
            self.warn(
                f"the text under {shown} is kept and always shown "
                "(branching has no conditional text)",
                branch.line,
            )
        self.closed = branch

    def assignment(self, event: _Assign) -> tuple[str, Value, int] | None:
        target = variable_name(event.target)
        if self.dialect in ("harlowe", "sugarcube") and not event.target.startswith(("$", "_")):
            target = ""
        if not _VARIABLE_RE.match(target):
            self.warn(
                f"could not translate the assignment {event.raw.strip()[:60]!r} "
                "(only plain variables can be set)",
                event.line,
            )
            return None
        value = event.value
        if event.op in ("+=", "-=", "*=", "/=", "%="):
            value = f"{event.target} {event.op[0]} ({value})"
        translated = self.translate(value, event.line, "value", it=target)
        if translated is None:
            return None
        literal = _literal(translated)
        return target, (literal if literal is not None else translated), event.line

    def on_assign(self, event: _Assign) -> None:
        effect = self.assignment(event)
        if effect is None:
            if self.keep:
                self.add_text(event.raw)
            return
        if self.link is not None:
            self.link.effects.append(effect)
        elif self.branches:
            self.warn(
                f"dropped the effect {event.raw.strip()[:60]!r}: it depends on a condition, "
                "and node effects cannot",
                event.line,
            )
        else:
            self.draft.effects.append(effect)

    def finish_link(self, line: int) -> None:
        link = self.link
        assert link is not None
        self.link = None
        if not link.target:
            self.warn(
                f'the link "{link.label}" leads to no passage (it only reveals text); '
                "kept its text",
                link.line,
            )
            self.draft.pieces[link.marker] = link.label.replace("{", "{{").replace("}", "}}")
            if link.effects:
                self.warn("dropped the effects of that link", link.line)
            return
        marker = len(self.draft.labels)
        self.draft.labels[marker] = link.label
        self.draft.pieces[link.marker] = _MARK.format(marker)
        link.marker = marker
        self.draft.choices.append(link)


def _finish_text(pieces: list[str], labels: dict[int, str], native: bool) -> str:
    """Join pieces; drop lines holding only links (they become the choice list), inline others."""
    text = "".join(pieces)
    out: list[str] = []
    mark = re.compile("\x00(\\d+)\x01")
    for line in text.split("\n"):
        if mark.search(line):
            if _DECORATION.match(mark.sub("", line)) and "\x02" not in line:
                continue
            line = mark.sub(
                lambda m: labels.get(int(m.group(1)), "").replace("{", "{{").replace("}", "}}"),
                line,
            )
        out.append(line if native else line.rstrip())
    result = "\n".join(out)
    if not native:
        result = re.sub(r"\n{3,}", "\n\n", result)
    return result.lstrip("\n").rstrip()


# --- Import --------------------------------------------------------------------------------------

_SUGARCUBE_SPECIAL = {
    "StoryCaption",
    "StoryMenu",
    "StoryBanner",
    "StorySubtitle",
    "StoryShare",
    "StoryInterface",
    "PassageReady",
    "PassageDone",
    "PassageHeader",
    "PassageFooter",
    "StoryDisplayTitle",
}
_HARLOWE_SPECIAL_TAGS = {"header", "footer", "debug-header", "debug-footer"}
_INIT_TAGS = {"startup", "debug-startup", "init"}


@dataclass
class ImportResult:
    """What :func:`import_twee` made of Twee files: a ``branching/1`` dict and problems."""

    story: dict[str, Any] | None
    problems: list[TweeProblem] = field(default_factory=list)
    format: str = "plain"
    passages: int = 0

    @property
    def errors(self) -> list[TweeProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[TweeProblem]:
        return [p for p in self.problems if p.severity == "warning"]


def import_files(paths: Sequence[str | Path], **options: Any) -> ImportResult:
    """Read and import Twee files (see :func:`import_twee`); raises :class:`TweeReadError`."""
    sources, problems = read_sources(paths)
    stem = Path(paths[0]).stem if paths else "story"
    fallback = re.sub(r"[-_]+", " ", stem).strip().capitalize() or "Story"
    result = import_twee(sources, fallback_title=fallback, **options)
    result.problems[:0] = problems
    return result


def import_twee(
    sources: Sequence[tuple[str, str]],
    *,
    keep_macros: bool = False,
    story_format: str | None = None,
    start: str | None = None,
    fallback_title: str = "story",
) -> ImportResult:
    """Import Twee 3 sources (``(file name, text)`` pairs, in order) as a ``branching/1`` dict.

    Never raises for bad content: every problem is in ``result.problems`` (located), and when
    there are errors ``result.story`` is None.
    """
    problems: list[TweeProblem] = []
    by_name: dict[str, Passage] = {}
    order: list[str] = []
    for filename, text in sources:
        passages, notes = parse_twee(text, filename)
        problems.extend(notes)
        for passage in passages:
            previous = by_name.get(passage.name)
            if previous is not None:
                # The specification is silent; Tweego, the reference compiler, keeps the last.
                problems.append(
                    passage.problem(
                        f"a second passage with this name replaces the one at "
                        f"{previous.file}:{previous.line} (Twee compilers keep the last)"
                    )
                )
            else:
                order.append(passage.name)
            by_name[passage.name] = passage
    result = ImportResult(None, problems, passages=len(by_name))
    if not by_name:
        files = ", ".join(name for name, _ in sources) or "the input"
        problems.append(
            TweeProblem(
                "error", "no passages found (a passage starts with a line '::Name')", files, None
            )
        )
        return result

    settings = next((p for p in by_name.values() if SETTINGS_TAG in p.tags), None)
    data = _story_data(by_name.get("StoryData"), problems)
    declared = normalise_format(data.get("format") if isinstance(data.get("format"), str) else None)
    dialect: Dialect
    if settings is not None and story_format is None:
        dialect = "native"
    else:
        chosen = normalise_format(story_format) or declared
        if chosen is None:
            candidates = [p.text for p in by_name.values() if not _is_code_passage(p)]
            chosen = guess_format(candidates)
            if chosen != "plain":
                first = by_name[order[0]]
                problems.append(
                    TweeProblem(
                        "warning",
                        f"StoryData names no story format; read the passages as {chosen.title()}, "
                        "whose code they use (choose with --format)",
                        first.file,
                        first.line,
                    )
                )
        dialect = chosen  # type: ignore[assignment]
    result.format = dialect

    story_names: list[str] = []
    init: list[Passage] = []
    for name in order:
        passage = by_name[name]
        role = _special(passage, dialect)
        if role == "story":
            story_names.append(name)
        elif role == "init":
            init.append(passage)
        elif role in ("script", "stylesheet", "media", "special"):
            lines = passage.text.count("\n") + 1 if passage.text.strip() else 0
            what = {
                "script": f"a script passage ({lines} lines of JavaScript)",
                "stylesheet": f"a stylesheet passage ({lines} lines of CSS)",
                "media": "a media passage",
                "special": f"a special passage of {dialect.title()} "
                "(its interface or every-passage code)",
            }[role]
            problems.append(passage.problem(f"dropped {what}: branching has no equivalent"))
    if not story_names:
        problems.append(
            TweeProblem(
                "error",
                "no story passages (only StoryTitle, StoryData, scripts or styles)",
                sources[0][0],
                None,
            )
        )
        return result

    fixed: dict[str, str] = {}
    for name in story_names:
        wanted = _node_clause(by_name[name].text, "id")
        if wanted and _ID_RE.match(wanted) and wanted not in fixed.values():
            fixed[name] = wanted
    ids = assign_ids(story_names, fixed)
    names = set(story_names)

    drafts: dict[str, _Draft] = {}
    for name in story_names:
        passage = by_name[name]
        events = scan(passage.text, passage.line + 1, dialect)
        draft = _Builder(passage, dialect, ids, names, keep_macros, problems).run(events)
        draft.text = _finish_text(draft.pieces, draft.labels, dialect == "native")
        drafts[name] = draft
    defaults: dict[str, Value] = {}
    for passage in init:
        events = scan(passage.text, passage.line + 1, dialect)
        draft = _Builder(passage, dialect, ids, names, keep_macros, problems).run(events)
        for variable, value, line in draft.effects:
            constant = value if not isinstance(value, str) else _constant(value, defaults)
            if constant is None:
                problems.append(
                    passage.problem(
                        f"the starting value of {variable} is not a constant; used its type's zero",
                        line,
                    )
                )
                continue
            defaults[variable] = constant
        problems.append(
            passage.problem(
                f"read {len(draft.effects)} starting values from this passage; "
                "it is not a story node"
            )
        )

    assembler = _Assembler(by_name, drafts, ids, dialect, problems)
    nodes = assembler.nodes()

    title, author = fallback_title, None
    if "StoryTitle" in by_name and by_name["StoryTitle"].text.strip():
        title = " ".join(by_name["StoryTitle"].text.split())
    if "StoryAuthor" in by_name and by_name["StoryAuthor"].text.strip():
        author = " ".join(by_name["StoryAuthor"].text.split())
    story: dict[str, Any] = {"format": FORMAT, "id": slugify(title)[:80], "title": title}
    if author:
        story["author"] = author
    settings_values: dict[str, Any] = {}
    variables_declared: dict[str, Value] = {}
    if settings is not None:
        settings_values, variables_declared = _read_settings(settings, problems)
        for key in ("id", "title", "version", "author", "language", "$schema"):
            if key in settings_values:
                story[key] = settings_values[key]

    start_name = _choose_start(start, data, by_name, story_names, problems)
    if start_name is None:
        return result
    story["start"] = ids[start_name]

    variables = assembler.variables(defaults, variables_declared, ids[start_name])
    story["variables"] = variables
    story["nodes"] = nodes
    ordered: dict[str, Any] = {
        key: story[key]
        for key in (
            "$schema",
            "format",
            "id",
            "title",
            "version",
            "author",
            "language",
            "start",
            "variables",
            "nodes",
        )
        if key in story
    }
    if not variables:
        ordered.pop("variables")
    problems.extend(_validate(ordered))
    if not any(p.severity == "error" for p in problems):
        result.story = ordered
    return result


def _is_code_passage(passage: Passage) -> bool:
    return passage.name in ("StoryTitle", "StoryData") or bool(
        {"script", "stylesheet"} & set(passage.tags)
    )


def _special(passage: Passage, dialect: str) -> str:
    """What a passage is: "story", "init" (starting values), or something that is not a node."""
    tags = set(passage.tags)
    name = passage.name
    if name in ("StoryTitle", "StoryData", "StoryAuthor") or SETTINGS_TAG in tags:
        return "meta"
    if "script" in tags:
        return "script"
    if "stylesheet" in tags:
        return "stylesheet"
    if any(tag.startswith("Twine.") for tag in tags):
        return "media"
    if dialect == "native":
        return "story"
    if name in ("StorySettings", "StoryIncludes"):
        return "special"
    if dialect == "sugarcube":
        if name == "StoryInit" or "init" in tags:
            return "init"
        if name in _SUGARCUBE_SPECIAL or "widget" in tags:
            return "special"
    if dialect == "harlowe":
        if tags & {"startup", "debug-startup"}:
            return "init"
        if tags & _HARLOWE_SPECIAL_TAGS:
            return "special"
    return "story"


def _story_data(passage: Passage | None, problems: list[TweeProblem]) -> dict[str, Any]:
    if passage is None:
        return {}
    try:
        data = json.loads(passage.text)
    except json.JSONDecodeError as exc:
        problems.append(
            passage.problem(
                f"could not decode StoryData ({exc.msg}); discarded it and went on, as the Twee 3 "
                "specification recommends",
                passage.line + exc.lineno,
            )
        )
        return {}
    if not isinstance(data, dict):
        problems.append(passage.problem("StoryData is not a JSON object; discarded it"))
        return {}
    if not isinstance(data.get("ifid"), str) or not data.get("ifid"):
        problems.append(
            passage.problem("StoryData has no ifid (the specification requires one); ignored")
        )
    return data


def _choose_start(
    option: str | None,
    data: dict[str, Any],
    by_name: dict[str, Passage],
    story_names: list[str],
    problems: list[TweeProblem],
) -> str | None:
    names = set(story_names)
    if option is not None:
        if option in names:
            return option
        problems.append(TweeProblem("error", f'--start names no story passage: "{option}"'))
        return None
    wanted = data.get("start")
    if isinstance(wanted, str):
        if wanted in names:
            return wanted
        where = by_name.get("StoryData")
        problems.append(
            TweeProblem(
                "warning",
                f'StoryData names the start passage "{wanted}", which is not a story passage',
                where.file if where else "",
                where.line if where else None,
            )
        )
    if "Start" in names:
        return "Start"
    first = by_name[story_names[0]]
    problems.append(
        first.problem(
            "no StoryData start and no passage named Start: the story starts at the first "
            "passage, as Twine does when its start passage is gone (choose with --start)"
        )
    )
    return story_names[0]


def _node_clause(text: str, key: str) -> str | None:
    for match in _COMMENT.finditer(text):
        note = _BRANCHING_NOTE.match(match.group(1))
        if not note:
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        if "[[" in text[line_start : match.start()]:
            continue  # a link's comment
        for clause, value in parse_clauses(match.group(1)[note.end() :]):
            if clause == key:
                return _clause_text(value)
    return None


def _read_settings(
    passage: Passage, problems: list[TweeProblem]
) -> tuple[dict[str, Any], dict[str, Value]]:
    values: dict[str, Any] = {}
    variables: dict[str, Value] = {}
    for offset, line in enumerate(passage.text.split("\n"), 1):
        match = re.match(r"^(variable\s+\S+|[$\w]+):\s?(.*)$", line.strip())
        if not match:
            continue
        key, raw = match.group(1), match.group(2)
        value = _clause_value(raw)
        if key.startswith("variable "):
            name = key.split(None, 1)[1]
            if isinstance(value, bool | int | float | str) and _VARIABLE_RE.match(name):
                variables[name] = value
            else:
                problems.append(
                    passage.problem(
                        f"ignored the variable line {line.strip()!r}", passage.line + offset
                    )
                )
        elif key in ("id", "title", "version", "author", "language", "$schema"):
            values[key] = value if isinstance(value, str) else raw
    return values, variables


def _constant(expression: str, known: dict[str, Value]) -> Value | None:
    try:
        return evaluate(expression, known, lambda node: 0)
    except (EvaluationError, ExpressionError):
        return None


_KINDS: tuple[Kind, ...] = ("bool", "number", "string")
_ZERO: dict[Kind, Value] = {"bool": False, "number": 0, "string": ""}


class _Assembler:
    """Resolves drafts into nodes: targets, embeds, choice ids, comments, variables."""

    def __init__(
        self,
        by_name: dict[str, Passage],
        drafts: dict[str, _Draft],
        ids: dict[str, str],
        dialect: Dialect,
        problems: list[TweeProblem],
    ) -> None:
        self.by_name = by_name
        self.drafts = drafts
        self.ids = ids
        self.native = dialect == "native"
        self.problems = problems
        self.made: list[dict[str, Any]] = []
        # Every effect and condition placed in the story, for type inference and checks.
        self.effects: list[tuple[str, dict[str, Any], str, int, Passage]] = []
        self.conditions: list[tuple[dict[str, Any], int, Passage]] = []

    def resolve(self, name: str) -> str | None:
        if name in self.drafts:
            return name
        stripped = name.strip()
        return stripped if stripped in self.drafts else None

    def expand(
        self, name: str, stack: tuple[str, ...]
    ) -> tuple[str, list[_ChoiceDraft], list[tuple[str, Value, int]]]:
        """A passage's text with embeds filled in, and the choices and effects they bring."""
        draft = self.drafts[name]
        choices = list(draft.choices)
        effects = list(draft.effects)
        text = draft.text
        for embed in draft.embeds:
            marker = _EMBED_MARK.format(embed.marker)
            target = self.resolve(embed.target)
            inserted = ""
            if target is None:
                self.problems.append(
                    draft.passage.problem(
                        f'embeds "{embed.target}", which is not a story passage; left it out',
                        embed.line,
                    )
                )
            elif target in stack or len(stack) > 8:
                self.problems.append(
                    draft.passage.problem(
                        f'embeds "{embed.target}" inside itself; left the repeat out', embed.line
                    )
                )
            else:
                inserted, more_choices, more_effects = self.expand(target, (*stack, name))
                for choice in more_choices:
                    copy = _ChoiceDraft(
                        choice.label,
                        choice.target,
                        embed.line,
                        [*embed.conditions, *choice.conditions],
                        list(choice.effects),
                        list(choice.clauses),
                    )
                    choices.append(copy)
                if more_effects and embed.conditions:
                    self.problems.append(
                        draft.passage.problem(
                            f'dropped the effects of the embedded passage "{target}": '
                            "the embed depends on a condition",
                            embed.line,
                        )
                    )
                else:
                    effects.extend(more_effects)
            text = text.replace(marker, inserted.strip("\n"))
        return text, choices, effects

    def nodes(self) -> dict[str, dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = {}
        for name, draft in self.drafts.items():
            node_id = self.ids[name]
            text, choice_drafts, effects = self.expand(name, ())
            nodes[node_id] = self.node(name, draft, text, choice_drafts, effects)
            self.made.append(nodes[node_id])
        return nodes

    def node(
        self,
        name: str,
        draft: _Draft,
        text: str,
        choice_drafts: list[_ChoiceDraft],
        effects: list[tuple[str, Value, int]],
    ) -> dict[str, Any]:
        passage = draft.passage
        node_id = self.ids[name]
        clauses = dict(draft.clauses)
        node: dict[str, Any] = {}
        if "title" in clauses:
            value = _clause_value(clauses["title"])
            if isinstance(value, str):
                node["title"] = value
        elif not (self.native and name == node_id):
            node["title"] = name
        tags = [tag for tag in passage.tags if tag != SETTINGS_TAG]
        if "tags" in clauses:
            value = _clause_value(clauses["tags"])
            if isinstance(value, list) and all(isinstance(t, str) for t in value):
                tags = value
        if tags:
            node["tags"] = tags
        if "text" in clauses:
            exact = _clause_text(clauses["text"])
            if _visible_text(exact) == text:
                text = exact
            else:
                self.problems.append(
                    passage.problem(
                        "the passage text was edited after export: used the edited text, "
                        "not the exact "
                        "text kept in its branching comment"
                    )
                )
        node["text"] = text
        node_effects: dict[str, Any] = {}
        for variable, value, line in effects:
            if variable in node_effects and node_effects[variable] != value:
                self.problems.append(passage.problem(f"sets {variable} twice; kept the last", line))
            node_effects[variable] = value
        for key, raw in clauses.items():
            if key.startswith("set "):
                node_effects[key[4:]] = _clause_value(raw)
        if node_effects:
            node["set"] = node_effects
            for variable in node_effects:
                self.effects.append((variable, node_effects, node_id, passage.line, passage))
        choices = self.choices(passage, choice_drafts)
        if "choices" in clauses and clauses["choices"] == "[]" and not choices:
            node["choices"] = []
        if choices:
            node["choices"] = choices
        if "timer" in clauses:
            timer = _read_timer(clauses["timer"])
            keys = {c.get("id", c["to"]) for c in choices}
            if timer is None or timer["default"] not in keys:
                self.problems.append(
                    passage.problem(
                        f"ignored the timer {clauses['timer']!r}: "
                        "it needs 'SECONDS -> CHOICE_ID' naming a choice"
                    )
                )
            else:
                node["timer"] = timer
        if "ending" in clauses:
            ending = _read_ending(clauses["ending"])
            if ending is _BAD or (choices and ending not in (None, False)):
                self.problems.append(passage.problem(f"ignored the ending {clauses['ending']!r}"))
                if not choices:
                    node["ending"] = True
            else:
                node["ending"] = ending
        elif not choices:
            node["ending"] = True
        known = {"id", "title", "tags", "text", "timer", "ending", "choices"}
        for key in clauses:
            if key not in known and not key.startswith("set "):
                self.problems.append(
                    passage.problem(f"ignored the unknown branching clause {key!r}")
                )
        return node

    def choices(self, passage: Passage, drafts: list[_ChoiceDraft]) -> list[dict[str, Any]]:
        made: list[tuple[_ChoiceDraft, dict[str, Any]]] = []
        for draft in drafts:
            target = self.resolve(draft.target)
            if target is None:
                special = self.by_name.get(draft.target)
                why = " (a special passage, not a story node)" if special is not None else ""
                self.problems.append(
                    passage.problem(
                        f'the link "{draft.label}" leads to "{draft.target}", '
                        f"which does not exist{why}: made no choice",
                        draft.line,
                    )
                )
                continue
            clauses = dict(draft.clauses)
            label = _clause_text(clauses["label"]) if "label" in clauses else draft.label
            if not self.native:
                label = label.replace("{", "{{").replace("}", "}}")
            choice: dict[str, Any] = {"label": label, "to": self.ids[target]}
            condition: str | None = None
            if "if" in clauses:
                condition = _clause_text(clauses["if"])
            elif draft.conditions:
                if any(c is None for c in draft.conditions):
                    self.problems.append(
                        passage.problem(
                            f'the choice "{draft.label}" is offered always: '
                            "its condition could not be translated",
                            draft.line,
                        )
                    )
                else:
                    parts = [c for c in draft.conditions if c]
                    condition = (
                        " and ".join(
                            f"({p})" if len(parts) > 1 and " or " in p else p for p in parts
                        )
                        or None
                    )
            if condition:
                choice["if"] = condition
            effects: dict[str, Any] = {variable: value for variable, value, _ in draft.effects}
            for key, raw in clauses.items():
                if key.startswith("set "):
                    effects[key[4:]] = _clause_value(raw)
            if effects:
                choice["set"] = effects
                for variable in effects:
                    self.effects.append((variable, effects, "", draft.line, passage))
            if condition:
                self.conditions.append((choice, draft.line, passage))
            if "id" in clauses:
                choice["id"] = _clause_text(clauses["id"])
            for key in clauses:
                if key not in ("id", "if", "label") and not key.startswith("set "):
                    self.problems.append(
                        passage.problem(
                            f"ignored the unknown branching clause {key!r} of a link", draft.line
                        )
                    )
            made.append((draft, choice))
        keys: set[str] = {c["id"] for _, c in made if "id" in c}
        for draft, choice in made:
            if "id" in choice:
                continue
            if choice["to"] not in keys:
                keys.add(choice["to"])
                continue
            slug = slugify(draft.label) if draft.label.strip() else ""
            candidate = (
                slug if slug and not slug.startswith("passage-") and slug not in keys else ""
            )
            number = 2
            while not candidate or candidate in keys:
                candidate = f"{choice['to']}-{number}"
                number += 1
            choice["id"] = candidate
            keys.add(candidate)
        return [choice for _, choice in made]

    def variables(
        self, defaults: dict[str, Value], declared: dict[str, Value], start: str
    ) -> dict[str, Value]:
        """Declare every variable the story uses, with a type all its uses agree on."""
        kinds: dict[str, Kind] = {name: kind_of(value) for name, value in declared.items()}
        for name, default in defaults.items():
            kinds.setdefault(name, kind_of(default))
        for variable, effects, _, _, _ in self.effects:
            got = effects.get(variable)
            if isinstance(got, bool | int | float):
                kinds.setdefault(variable, kind_of(got))
        changed = True
        while changed:
            changed = False
            for variable, effects, _, _, _ in self.effects:
                got = effects.get(variable)
                if variable in kinds or not isinstance(got, str):
                    continue
                try:
                    kind = check(parse_expression(got), kinds)
                except ExpressionError:
                    continue
                if kind is not None:
                    kinds[variable] = kind
                    changed = True
        used: set[str] = set()
        for choice, _, _ in self.conditions:
            used |= _names_in(choice["if"])
        for node in self.made:
            used |= _template_names(node.get("text", ""))
            for choice in node.get("choices") or []:
                used |= _template_names(choice.get("label", ""))
        for variable, effects, _, _, _ in self.effects:
            got = effects.get(variable)
            if isinstance(got, str):
                used |= _names_in(got)
        for name in sorted(used - kinds.keys()):
            if not _VARIABLE_RE.match(name):
                continue
            kinds[name] = self._guess_kind(name, kinds)
            where = self._first_use(name)
            self.problems.append(
                where.problem(
                    f"the variable {name} is used but never set "
                    "(in code branching could read); it starts as "
                    f"{json.dumps(_ZERO[kinds[name]])}"
                )
            )
        start_effects = self._start_effects(start)
        variables: dict[str, Value] = {}
        others = sorted(kinds.keys() - declared.keys(), key=lambda n: (n.startswith("_"), n))
        for name in [*declared, *others]:
            kind = kinds[name]
            for source in (declared, defaults, start_effects):
                candidate = source.get(name)
                if candidate is not None and kind_of(candidate) == kind:
                    variables[name] = candidate
                    break
            else:
                variables[name] = _ZERO[kind]
        self._drop_bad_expressions(kinds)
        return variables

    def _first_use(self, name: str) -> Passage:
        for choice, _, passage in self.conditions:
            if name in _names_in(choice["if"]):
                return passage
        for variable, effects, _, _, passage in self.effects:
            value = effects.get(variable)
            if isinstance(value, str) and name in _names_in(value):
                return passage
        for draft in self.drafts.values():
            if name in draft.interpolated:
                return draft.passage
        return next(iter(self.drafts.values())).passage

    def _start_effects(self, start: str) -> dict[str, Value]:
        """Constant values the start node sets: good starting values when nothing else says."""
        for _, effects, node_id, _, _ in self.effects:
            if node_id == start:
                found: dict[str, Value] = {}
                for name, value in effects.items():
                    constant = _constant(value, {}) if isinstance(value, str) else value
                    if constant is not None:
                        found[name] = constant
                return found
        return {}

    def _guess_kind(self, name: str, kinds: dict[str, Kind]) -> Kind:
        """The first type under which every condition and effect using ``name`` checks."""
        uses: list[tuple[str, Kind | None]] = [
            (choice["if"], "bool")
            for choice, _, _ in self.conditions
            if name in _names_in(choice["if"])
        ]
        for variable, effects, _, _, _ in self.effects:
            value = effects.get(variable)
            if isinstance(value, str) and name in _names_in(value):
                uses.append((value, kinds.get(variable)))
        for kind in _KINDS:
            trial: dict[str, Kind] = {**kinds, name: kind}
            try:
                if all(
                    check(parse_expression(use), trial) in (wanted, None) or wanted is None
                    for use, wanted in uses
                ):
                    return kind
            except ExpressionError:
                continue
        return "string"

    def _drop_bad_expressions(self, kinds: dict[str, Kind]) -> None:
        problem: str | None
        for choice, line, passage in self.conditions:
            condition = choice.get("if")
            if condition is None:
                continue
            problem = _expression_problem(condition, kinds, "bool")
            if problem:
                del choice["if"]
                self.problems.append(
                    passage.problem(
                        f"dropped the condition {condition!r} of the choice "
                        f'"{choice["label"]}": {problem}',
                        line,
                    )
                )
        for variable, effects, _, line, passage in self.effects:
            if variable not in effects:
                continue
            value = effects[variable]
            if variable not in kinds:
                problem = f"{variable} is not a story variable"
            elif isinstance(value, str):
                problem = _expression_problem(value, kinds, kinds[variable])
            elif isinstance(value, bool | int | float):
                problem = (
                    None
                    if kind_of(value) == kinds[variable]
                    else f"{variable} holds {kinds[variable]} values"
                )
            else:
                problem = "the value is not a number, true/false or an expression"
            if problem:
                del effects[variable]
                self.problems.append(
                    passage.problem(f"dropped the effect {variable} = {value!r}: {problem}", line)
                )


def _expression_problem(source: str, kinds: dict[str, Kind], wanted: Kind) -> str | None:
    try:
        kind = check(parse_expression(source), kinds)
    except ExpressionError as exc:
        return str(exc)
    if kind is not None and kind != wanted:
        return f"it gives {kind} where {wanted} is needed"
    return None


def _names_in(expression: str) -> set[str]:
    try:
        return set(parse_expression(expression).variables)
    except ExpressionError:
        return set()


def _template_names(text: str) -> set[str]:
    from branching.expressions import TemplateError, template

    try:
        return set(template(text).variables)
    except TemplateError:
        return set()


def _visible_text(text: str) -> str:
    """What an exported passage shows of a node text that needs its exact copy in a comment."""
    lines = []
    for line in text.replace("[[", "[\u200b[").replace("<!--", "<!\u200b--").split("\n"):
        lines.append("\u200b" + line if line.startswith(("::", "\\:")) else line)
    return "\n".join(lines).strip("\n").rstrip()


_BAD = object()


def _read_timer(raw: str) -> dict[str, Any] | None:
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?:s|seconds?)?\s*->\s*(\S+)\s*", raw
    )
    if not match:
        return None
    seconds = json.loads(match.group(1))
    return {"seconds": seconds, "default": match.group(2)}


def _read_ending(raw: str) -> Any:
    if raw in ("good", "bad", "neutral"):
        return {"kind": raw}
    value = _clause_value(raw)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        try:
            return Ending.model_validate(value).model_dump(
                exclude_none=True, exclude_defaults=False
            )
        except ValueError:
            return _BAD
    return _BAD


def _validate(raw: dict[str, Any]) -> list[TweeProblem]:
    """Problems the loader would report for the imported story: none, unless there is a bug."""
    from pydantic import ValidationError

    from branching.checks import check_story

    problems: list[TweeProblem] = []
    try:
        Story.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False)[:10]:
            where = "/".join(str(part) for part in error["loc"])
            problems.append(
                TweeProblem("error", f"the imported story is invalid at {where}: {error['msg']}")
            )
    for problem in check_story(raw, warnings=False):
        if problem.severity == "error":
            problems.append(
                TweeProblem("error", f"the imported story is invalid: {problem.format('story')}")
            )
    return problems


# --- Export --------------------------------------------------------------------------------------


def ifid_for(story_id: str) -> str:
    """The IFID of an exported story: a name-based UUID (RFC 4122 version 5) of its id, upper case.

    The same story id always gets the same IFID, so repeated exports do not churn diffs; it is a
    valid UUID (Tweego accepts versions 1 to 5, Twine any string). Pass ``ifid`` to
    :func:`export_twee` to keep the IFID a story had in Twine.

    >>> ifid_for("cellar") == ifid_for("cellar"), ifid_for("cellar")[14]
    (True, '5')
    """
    return str(uuid.uuid5(IFID_NAMESPACE, story_id)).upper()


def escape_header(text: str) -> str:
    """Escape a passage name or tag for a Twee header (backslash first, then ``[]{}``).

    Leading and trailing spaces are escaped too, as Twine does, so they survive the header's
    trimming.

    >>> escape_header(r"a [b] {c} \\d")
    'a \\\\[b\\\\] \\\\{c\\\\} \\\\\\\\d'
    """
    escaped = re.sub(r"([\\\[\]{}])", r"\\\1", text)
    escaped = re.sub(r"^\s+", lambda m: "\\ " * len(m.group()), escaped)
    return re.sub(r"\s+$", lambda m: "\\ " * len(m.group()), escaped)


def escape_text(text: str) -> str:
    """Escape passage text: a line starting ``::`` would start a passage, so it becomes ``\\::``."""
    return re.sub(r"^::", r"\\::", text, flags=re.MULTILINE)


_UNSAFE_NAME = str.maketrans("[]{}|\\", "()()//")
_RESERVED_NAMES = {"StoryTitle", "StoryData", "StoryAuthor", SETTINGS_NAME}


def _passage_names(story: Story) -> dict[str, str]:
    """A distinct, link-safe Twine passage name for every node: its title, else its id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    titles: dict[str, int] = {}
    for node in story.nodes.values():
        if node.title:
            titles[node.title] = titles.get(node.title, 0) + 1
    for node_id, node in story.nodes.items():
        base = node.title if node.title and titles[node.title] == 1 else None
        name = _safe_name(base) if base else node_id
        if not name or name in taken or name in _RESERVED_NAMES:
            name = (
                f"{_safe_name(node.title)} ({node_id})"
                if node.title and _safe_name(node.title)
                else node_id
            )
        number = 2
        while name in taken or name in _RESERVED_NAMES:
            name = f"{node_id} ({number})"
            number += 1
        taken.add(name)
        names[node_id] = name
    return names


def _safe_name(title: str) -> str:
    """A title made safe for Twine links and headers: no brackets, braces, bars or arrows."""
    name = title.replace("->", "-").replace("<-", "-")
    name = name.translate(_UNSAFE_NAME)
    return " ".join(name.split())


def _layout(story: Story) -> dict[str, tuple[int, int]]:
    """Story-map positions: one column per step from the start, unreached nodes in a last column."""
    depth: dict[str, int] = {story.start: 0}
    queue = deque([story.start])
    while queue:
        node_id = queue.popleft()
        node = story.nodes.get(node_id)
        for choice in (node.choices or []) if node else []:
            if choice.to in story.nodes and choice.to not in depth:
                depth[choice.to] = depth[node_id] + 1
                queue.append(choice.to)
    last = max(depth.values(), default=0) + 1
    rows: dict[int, int] = {}
    positions: dict[str, tuple[int, int]] = {}
    for node_id in story.nodes:
        column = depth.get(node_id, last)
        row = rows.get(column, 0)
        rows[column] = row + 1
        positions[node_id] = (100 + 200 * column, 100 + 150 * row)
    return positions


def _text_is_safe(text: str) -> bool:
    """Whether node text reads back exactly from a passage (else a copy goes in a comment)."""
    if "[[" in text or "<!--" in text or "\x00" in text:
        return False
    if text != text.strip("\n").rstrip():
        return False
    return not any(line.startswith("\\:") for line in text.split("\n"))


def export_twee(story: Story, *, ifid: str | None = None) -> str:
    """A story as Twee 3 text that Twine 2.6+ imports and :func:`import_twee` reads back.

    Passages are named after node titles (made unique and link-safe), links are
    ``[[label->Passage]]``, and what Twine has no notation for is written in ``<!-- branching:
    ... -->`` comments: a block at the top of a passage (id, effects, timer, ending) and one after
    each link that needs it (condition, effects, choice id).
    """
    names = _passage_names(story)
    positions = _layout(story)
    out: list[str] = []
    out.append(f":: StoryTitle\n{escape_text(' '.join(story.title.split()) or story.id)}\n")
    data = {
        "ifid": (ifid or ifid_for(story.id)).upper(),
        "format": EXPORT_FORMAT,
        "format-version": EXPORT_FORMAT_VERSION,
        "start": names[story.start],
        "zoom": 1,
    }
    out.append(f":: StoryData\n{json.dumps(data, indent=2, ensure_ascii=False)}\n")
    out.append(_settings_passage(story))
    for node_id, node in story.nodes.items():
        out.append(_node_passage(story, node_id, node, names, positions[node_id]))
    return "\n".join(out)


def _settings_passage(story: Story) -> str:
    lines = [
        f":: {escape_header(SETTINGS_NAME)} [{SETTINGS_TAG}] "
        + '{"position":"100,-50","size":"100,100"}',
        "Story settings for branching (https://branching.invalid): not part of the story.",
        f"id: {story.id}",
    ]
    if story.title != " ".join(story.title.split()) or not story.title:
        lines.append(f"title: {_json(story.title)}")
    for key, value in (
        ("version", story.version),
        ("author", story.author),
        ("language", story.language),
        ("$schema", story.schema_),
    ):
        if value is not None:
            lines.append(f"{key}: {_json(value)}")
    for name, default in story.variables.items():
        lines.append(f"variable {name}: {_json(default)}")
    return "\n".join(lines) + "\n"


def _node_passage(
    story: Story, node_id: str, node: Node, names: dict[str, str], position: tuple[int, int]
) -> str:
    name = names[node_id]
    clauses: list[str] = []
    if slugify(name) != node_id:
        clauses.append(f"id: {node_id}")
    inferred_title = None if name == node_id else name
    if node.title != inferred_title:
        clauses.append(f"title: {_json(node.title)}")
    twine_tags = all(
        tag
        and not re.search(r"\s", tag)
        and tag not in ("script", "stylesheet", SETTINGS_TAG)
        and not tag.startswith("Twine.")
        for tag in node.tags
    )
    if node.tags and not twine_tags:
        clauses.append(f"tags: {_json(node.tags)}")
    text = node.text
    if not _text_is_safe(text):
        clauses.append(f"text: {_json(text)}")
        text = _visible_text(text)
    for variable, value in node.set.items():
        clauses.append(f"set {variable}: {_write_value(value)}")
    if node.timer is not None:
        clauses.append(f"timer: {_json(node.timer.seconds)} -> {node.timer.default}")
    default_ending = node.ending is True and not node.choices
    if not default_ending and (node.ending is not None or not node.choices):
        ending = node.ending
        if isinstance(ending, Ending):
            dumped = ending.model_dump(exclude_none=True)
            clauses.append(
                f"ending: {ending.kind}"
                if dumped == {"kind": ending.kind}
                else f"ending: {_json(dumped)}"
            )
        else:
            clauses.append(f"ending: {_json(ending)}")
    if node.choices == []:
        clauses.append("choices: []")
    header = f":: {escape_header(name)}"
    if node.tags and twine_tags:
        header += " [" + " ".join(escape_header(tag) for tag in node.tags) + "]"
    header += " " + json.dumps(
        {"position": f"{position[0]},{position[1]}", "size": "100,100"}, separators=(",", ":")
    )
    body: list[str] = []
    if clauses:
        body.append("<!-- branching\n" + "\n".join(clauses) + "\n-->")
    if text:
        body.append(escape_text(text))
    links = [_link_line(choice, names) for choice in node.choices or []]
    if links:
        body.append("\n".join(links))
    return header + "\n" + "\n\n".join(body) + "\n"


def _link_line(choice: Any, names: dict[str, str]) -> str:
    target = names[choice.to]
    label = choice.label
    clauses: list[str] = []
    shown = " ".join(label.replace("]]", "] ]").replace("][", "] [").split())
    if shown != label or not label:
        clauses.append(f"label: {_json(label)}")
    if shown == target and not re.search(r"->|<-|\|", target):
        link = f"[[{target}]]"
    else:
        link = f"[[{shown}->{target}]]"
    if choice.id is not None:
        clauses.append(f"id: {choice.id}")
    if choice.if_ is not None:
        clauses.append("if " + _write_expression(choice.if_))
    for variable, value in choice.set.items():
        clauses.append(f"set {variable}: {_write_value(value)}")
    if clauses:
        link += " <!-- branching: " + "; ".join(clauses) + " -->"
    return link
