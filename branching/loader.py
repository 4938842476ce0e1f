"""Read a story file into a :class:`~branching.model.Story` and a list of located problems.

The happy path is fast: ``json.loads`` (with a duplicate-key check), pydantic's Rust core, and
plain-dict checks in :mod:`branching.checks`. Line and column numbers are worked out only when
there is something to report, by one scan of the text (:func:`locate`).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from branching.model import FORMAT, Story, content_hash
from branching.problems import Problem, pointer, unescape_pointer


class StoryError(Exception):
    """A story that cannot be used: unreadable, not JSON, or with errors.

    ``str()`` is a message for the viewer; ``result`` has the details when the file was read.
    """

    def __init__(self, message: str, result: LoadResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class LoadResult:
    """What the loader made of a file."""

    name: str
    story: Story | None
    problems: list[Problem] = field(default_factory=list)
    content_hash: str = ""
    #: False when the file could not be read or is not JSON (``validate`` exits 2).
    readable: bool = True

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors and self.story is not None


def load_story(path: str | Path, *, warnings: bool = True) -> LoadResult:
    """Load and check a story file. Never raises for bad content; see ``result.problems``.

    ``warnings=False`` skips the graph warnings (players need only errors).
    """
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return LoadResult(
            name,
            None,
            [Problem("error", "unreadable", f"cannot read the file: {reason}")],
            readable=False,
        )
    return load_story_bytes(data, name, warnings=warnings)


def read_story(path: str | Path) -> Story:
    """The story in ``path``, or :class:`StoryError` naming its first errors.

    For players and reports, which need a usable story and a short explanation when not.
    """
    result = load_story(path, warnings=False)
    if result.ok and result.story is not None:
        return result.story
    errors = result.errors
    shown = "\n".join("  " + p.format(result.name) for p in errors[:5])
    more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
    hint = f"\nRun `branching validate {result.name}` for the full list." if result.readable else ""
    raise StoryError(f"{result.name} cannot be played:\n{shown}{more}{hint}", result)


def load_story_bytes(data: bytes, name: str = "<story>", *, warnings: bool = True) -> LoadResult:
    """Load and check a story from bytes (see :func:`load_story`)."""
    digest = content_hash(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        problem = Problem(
            "error", "unreadable", "the file is not UTF-8 text", line=line, column=column
        )
        return LoadResult(name, None, [problem], digest, readable=False)

    duplicates: list[tuple[dict[str, Any], str]] = []

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append((result, key))
                seen.add(key)
        return result

    try:
        raw = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        problem = Problem(
            "error", "json-syntax", f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        )
        return LoadResult(name, None, [problem], digest, readable=False)
    except RecursionError:
        problem = Problem("error", "json-syntax", "not valid JSON: nested too deeply")
        return LoadResult(name, None, [problem], digest, readable=False)

    problems: list[Problem] = []
    if duplicates:
        problems.extend(_duplicate_problems(raw, duplicates))

    story: Story | None = None
    try:
        story = Story.model_validate(raw)
        story._content_hash = digest
    except ValidationError as exc:
        problems.extend(_schema_problems(raw, exc))

    if isinstance(raw, dict) and (story is not None or raw.get("format") == FORMAT):
        from branching.checks import check_story

        problems.extend(check_story(raw, warnings=warnings, text=text))

    if problems:
        problems = locate(text, problems)
        problems.sort(key=lambda p: (p.severity != "error", p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        story = None
    return LoadResult(name, story, problems, digest)


# --- Problems from duplicate keys and pydantic -----------------------------------------------


def _duplicate_problems(raw: Any, duplicates: list[tuple[dict[str, Any], str]]) -> list[Problem]:
    found: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack and len(found) < len(duplicates):
        value, parts = stack.pop()
        if isinstance(value, dict):
            for obj, key in duplicates:
                if obj is value:
                    found.append(
                        Problem(
                            "error",
                            "duplicate-key",
                            f'"{key}" appears more than once here; JSON readers keep only the last',
                            pointer(*parts, key),
                            _node_of((*parts, key)),
                        )
                    )
            stack.extend((v, (*parts, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*parts, i)) for i, v in enumerate(value))
    return found


def _node_of(parts: Iterable[str | int]) -> str | None:
    parts = list(parts)
    if len(parts) >= 2 and parts[0] == "nodes":
        return str(parts[1])
    return None


_FRIENDLY = {
    "missing": "required field is missing",
    "extra_forbidden": "unknown field",
    "string_pattern_mismatch": "ids may contain only letters, digits and _ - . : "
    "(and must not start with - . :)",
}


def _schema_problems(raw: Any, exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        # A union (e.g. `ending`: true or an object) reports one error per member; keep the first.
        loc = tuple(part for part in loc if not (isinstance(part, str) and _is_union_tag(part)))
        path = pointer(*loc)
        if path in seen:
            continue
        seen.add(path)
        kind = error["type"]
        if loc == ("format",):
            found = raw.get("format") if isinstance(raw, dict) else None
            message = (
                f"unsupported format {json.dumps(found)}; "
                f'this version of branching reads "{FORMAT}"'
                if found is not None
                else f'"format": "{FORMAT}" is required'
            )
            problems.append(Problem("error", "unknown-format", message, path))
            continue
        message = _FRIENDLY.get(kind, error["msg"])
        if kind == "extra_forbidden":
            message = f'unknown field "{loc[-1]}"' + _did_you_mean(loc)
        elif kind == "missing":
            message = f'required field "{loc[-1]}" is missing'
        elif kind == "string_pattern_mismatch":
            message = f"{json.dumps(error.get('input'))}: {message}"
        problems.append(Problem("error", "schema", message, path, _node_of(loc)))
    return problems


_FIELDS = {
    "story": [
        *("$schema", "format", "id", "title", "version", "author", "language"),
        *("start", "variables", "nodes"),
    ],
    "node": ["text", "title", "tags", "set", "choices", "timer", "ending"],
    "choice": ["label", "to", "id", "if", "set"],
    "timer": ["seconds", "default"],
    "ending": ["title", "kind"],
}


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    import difflib

    if len(loc) == 1:
        fields = _FIELDS["story"]
    elif loc[0] == "nodes" and len(loc) == 3:
        fields = _FIELDS["node"]
    elif loc[0] == "nodes" and len(loc) == 5 and loc[2] == "choices":
        fields = _FIELDS["choice"]
    elif loc[0] == "nodes" and len(loc) == 4 and loc[2] in ("timer", "ending"):
        fields = _FIELDS[str(loc[2])]
    else:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


def _is_union_tag(part: str) -> bool:
    # pydantic names union members in locations: 'bool', 'Ending', 'function-after[...]', ...
    return part in {"bool", "int", "float", "str", "Ending", "Timer"} or "[" in part


# --- Line and column -------------------------------------------------------------------------

_SCAN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def locate(text: str, problems: list[Problem]) -> list[Problem]:
    """Give each problem the line and column of the nearest existing place its path names."""
    wanted: set[tuple[str, ...]] = set()
    for problem in problems:
        parts = tuple(unescape_pointer(problem.path))
        for size in range(len(parts) + 1):
            wanted.add(parts[:size])
    offsets = _scan_offsets(text, wanted)
    newlines = [i for i, char in enumerate(text) if char == "\n"] if offsets else []
    located: list[Problem] = []
    for problem in problems:
        if problem.line is not None:
            located.append(problem)
            continue
        parts = tuple(unescape_pointer(problem.path))
        while parts and parts not in offsets:
            parts = parts[:-1]
        offset = offsets.get(parts)
        if offset is None:
            located.append(problem)
            continue
        line = bisect.bisect_left(newlines, offset)
        column = offset - (newlines[line - 1] + 1 if line else 0)
        located.append(problem.located(line + 1, column + 1))
    return located


def _scan_offsets(text: str, wanted: set[tuple[str, ...]]) -> dict[tuple[str, ...], int]:
    """Offsets of the JSON values (object members: their keys) at the wanted paths.

    For a key given twice the later offset wins, which is where a duplicate is reported.
    """
    offsets: dict[tuple[str, ...], int] = {}
    # Each frame: [path of the container, is_object, next array index or None, pending key]
    stack: list[list[Any]] = []
    path: tuple[str, ...] = ()
    expecting_key = False
    pending_key: str | None = None
    for match in _SCAN.finditer(text):
        token = match.group()
        start = match.start()
        if stack and stack[-1][1] and expecting_key and token.startswith('"'):
            pending_key = _unquote(token)
            here = (*stack[-1][0], pending_key)
            if here in wanted:
                offsets[here] = start
            continue
        if token == ":":
            expecting_key = False
            continue
        if token == ",":
            if stack and stack[-1][1]:
                expecting_key = True
            continue
        if token in "}]":
            if stack:
                stack.pop()
            expecting_key = False
            continue
        # A value starts here.
        if stack:
            frame = stack[-1]
            if frame[1]:
                path = (*frame[0], pending_key or "")
            else:
                path = (*frame[0], str(frame[2]))
                frame[2] += 1
                if path in wanted and path not in offsets:
                    offsets[path] = start
        else:
            path = ()
            offsets.setdefault((), start)
        if token == "{":
            stack.append([path, True, None])
            expecting_key = True
        elif token == "[":
            stack.append([path, False, 0])
    return offsets


def _unquote(token: str) -> str:
    body = token[1:-1]
    if "\\" not in body:
        return body
    try:
        value = json.loads(token)
    except ValueError:
        return body
    return value if isinstance(value, str) else body
