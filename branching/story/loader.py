"""Read a story file into a :class:`~branching.story.model.Story` and a list of located problems.

The happy path is fast: the strict JSON reader of :mod:`branching.story.json_input` (with a
duplicate-key check), pydantic's Rust core, and
plain-dict checks in :mod:`branching.story.checks`. Line and column numbers are worked out only when
there is something to report, by one scan of the text (:func:`locate`).
"""

from __future__ import annotations

import gc
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from branching.story.json_input import (
    InputTooLarge,
    JsonInputError,
    loads,
    read_limited,
    value_offsets,
)
from branching.story.model import FORMAT, Id, Node, Story, content_hash
from branching.story.problems import Problem, pointer, unescape_pointer
from branching.story.untrusted import printable


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
    #: Number of nodes in the file (also when ``story`` was not built).
    node_count: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors and self.story is not None


def load_story(path: str | Path, *, warnings: bool = True, build: bool = True) -> LoadResult:
    """Load and check a story file. Never raises for bad content; see ``result.problems``.

    ``warnings=False`` skips the graph warnings (players need only errors). ``build=False``
    checks everything but keeps no :class:`Story` (``result.story`` is None): each node is
    validated and dropped at once, which saves a third of the time and of the memory on large
    stories (``branching validate`` without ``--deep``).
    """
    name = str(path)
    try:
        data = read_limited(path)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return LoadResult(
            name,
            None,
            [Problem("error", "unreadable", f"cannot read the file: {reason}")],
            readable=False,
        )
    except InputTooLarge as exc:
        problem = Problem("error", "too-large", f"the file is too large: {exc}")
        return LoadResult(name, None, [problem], readable=False)
    return load_story_bytes(data, name, warnings=warnings, build=build)


def read_story(path: str | Path, purpose: str = "played", data: bytes | None = None) -> Story:
    """The story in ``path``, or :class:`StoryError` naming its first errors.

    For players and reports, which need a usable story and a short explanation when not.
    ``purpose`` says what the caller wanted to do (``"played"``, ``"measured"``...), so the
    message of a command that does not play speaks of what it does. ``data``: the file's bytes
    when the caller has read them already (a pipe can be read only once).
    """
    if data is None:
        result = load_story(path, warnings=False)
    else:
        result = load_story_bytes(data, str(path), warnings=False)
    if result.ok and result.story is not None:
        return result.story
    errors = result.errors
    shown = "\n".join("  " + p.format(result.name) for p in errors[:5])
    more = f"\n  ... and {len(errors) - 5} more" if len(errors) > 5 else ""
    hint = f"\nRun `branching validate {result.name}` for the full list." if result.readable else ""
    if not result.readable:
        head = f"{result.name} cannot be read"
    else:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        head = f"{result.name} has {count}, so it cannot be {purpose}"
    raise StoryError(f"{printable(head, one_line=True)}:\n{shown}{more}{hint}", result)


def load_story_bytes(
    data: bytes, name: str = "<story>", *, warnings: bool = True, build: bool = True
) -> LoadResult:
    """Load and check a story from bytes (see :func:`load_story`).

    >>> result = load_story_bytes(b'{"format": "branching/1", "id": "s", "title": "S",'
    ...     b' "start": "a", "nodes": {"a": {"ending": true}}}')
    >>> result.ok, result.problems
    (True, [])
    """
    with _collector_paused():
        return _load(data, name, warnings=warnings, build=build)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a story is built, then freeze the result.

    A large story is millions of dicts, strings and models, none in a reference cycle. With the
    collector running, each allocation burst makes it traverse everything built so far: on The
    Intercept that was 0.65 s of a 0.75 s pydantic validation. Afterwards ``gc.freeze()`` moves
    the story to the permanent generation, so later collections (and the first one, which would
    otherwise visit every object allocated meanwhile) skip it. Reference counting still frees
    everything as usual; only cycles created before the freeze are never collected.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _load(data: bytes, name: str, *, warnings: bool, build: bool) -> LoadResult:
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
        # Lone surrogates are left to the checks, which report each one where it is.
        raw = loads(text, object_pairs_hook=no_duplicates, allow_surrogates=True)
    except JsonInputError as exc:
        if exc.decode_error is not None:
            from branching.story.json_errors import syntax_problem

            problem = syntax_problem(text, exc.decode_error)
        else:
            problem = Problem(
                "error", exc.code, str(exc), exc.path, line=exc.line, column=exc.column
            )
        return LoadResult(name, None, [problem], digest, readable=False)
    # The decoded text is as big as the file: free it while the models are built, and decode
    # again only if there are problems to locate.
    del text

    problems: list[Problem] = []
    if duplicates:
        problems.extend(_duplicate_problems(raw, duplicates))

    story: Story | None = None
    shape: list[ErrorDetails] = []
    if build:
        try:
            story = Story.model_validate(raw)
            story._content_hash = digest
        except ValidationError as exc:
            shape = exc.errors(include_url=False)
    else:
        shape = _shape_errors(raw)
    schema = _schema_problems(raw, shape)
    problems.extend(schema)
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    node_count = len(nodes) if isinstance(nodes, dict) else 0

    if isinstance(raw, dict) and (not schema or raw.get("format") == FORMAT):
        from branching.story.checks import check_story

        problems.extend(check_story(raw, warnings=warnings, text=data))

    if problems:
        surrogates = {p.path for p in problems if p.code == "lone-surrogate"}
        if surrogates:  # pydantic saw them too, with a vaguer message: keep ours
            # (in a key, pydantic's path has the surrogate as U+FFFD, so it never matches ours)
            problems = [
                p
                for p in problems
                if p.code != "schema"
                or (p.path not in surrogates and p.message != _FRIENDLY["string_unicode"])
            ]
        problems = locate(data.decode("utf-8-sig"), problems)
        problems.sort(key=lambda p: (p.severity != "error", p.line or 0, p.column or 0))
    if any(p.severity == "error" for p in problems):
        story = None
    return LoadResult(name, story, problems, digest, node_count=node_count)


def _shape_errors(raw: Any) -> list[ErrorDetails]:
    """pydantic's errors for ``raw`` as a Story, validating one node at a time.

    Same errors as ``Story.model_validate(raw)``, but no model of the whole story is built
    or kept: each node's model is dropped as soon as it is validated.
    """
    nodes = raw.get("nodes") if isinstance(raw, dict) else None
    if not isinstance(nodes, dict):
        try:
            Story.model_validate(raw)
        except ValidationError as exc:
            return exc.errors(include_url=False)
        return []
    errors: list[ErrorDetails] = []
    try:
        Story.model_validate({**raw, "nodes": {}})
    except ValidationError as exc:
        errors.extend(exc.errors(include_url=False))
    try:
        _node_ids().validate_python(nodes)
    except ValidationError as exc:
        errors.extend(_under(("nodes",), exc))
    validate = Node.__pydantic_validator__.validate_python
    for node_id, node in nodes.items():
        try:
            validate(node)
        except ValidationError as exc:
            errors.extend(_under(("nodes", node_id), exc))
    return errors


def _under(prefix: tuple[str, ...], exc: ValidationError) -> list[ErrorDetails]:
    return [{**error, "loc": (*prefix, *error["loc"])} for error in exc.errors(include_url=False)]


@lru_cache(maxsize=1)
def _node_ids() -> TypeAdapter[dict[str, Any]]:
    """Validates the keys of ``nodes`` as ids (the values are validated node by node)."""
    return TypeAdapter(dict[Id, Any])


# --- Problems from duplicate keys and pydantic -----------------------------------------------


def _duplicate_problems(raw: Any, duplicates: list[tuple[dict[str, Any], str]]) -> list[Problem]:
    # The hook saw each object before it had a place in the document: find those places.
    keys_of: dict[int, list[str]] = {}
    for obj, key in duplicates:
        keys_of.setdefault(id(obj), []).append(key)
    found: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack and keys_of:
        value, parts = stack.pop()
        if isinstance(value, dict):
            # One problem per key, however many copies: they all point at the last one.
            for key, extra in Counter(keys_of.pop(id(value), ())).items():
                times = "twice" if extra == 1 else f"{extra + 1} times"
                found.append(
                    Problem(
                        "error",
                        "duplicate-key",
                        f'"{key}" appears {times} here; JSON readers keep only the last',
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
    # pydantic's word for a string holding a lone surrogate (also reported as lone-surrogate).
    "string_unicode": "not text: it holds a lone surrogate escape such as \\ud800",
}


def _quote(value: Any, limit: int = 60) -> str:
    """A value from the file, quoted for a message: strings in JSON quotes (cut at ``limit``
    characters), anything else by its kind, so a message never grows with the input.

    >>> _quote("celar"), _quote("x" * 100, limit=5), _quote([1, [2]])
    ('"celar"', '"xxxxx..."', 'an array')
    """
    if isinstance(value, str):
        return json.dumps(value[:limit] + "..." if len(value) > limit else value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return json.dumps(value)
    return _json_kind(value)


def _stripped(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``loc`` without pydantic's names of union members."""
    return tuple(part for part in loc if not (isinstance(part, str) and _is_union_tag(part)))


def _schema_problems(raw: Any, errors: list[ErrorDetails]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    # An object given where a union takes a scalar or an object (`ending`: true or {...}) is
    # the object member's case: its own errors inside say what is wrong, the scalar member's
    # "should be a valid boolean" would be a second, wrong, error.
    # Every place with an error further in (each prefix once: linear in the errors' depth).
    inside = {
        stripped[:end]
        for stripped in map(_stripped, (e["loc"] for e in errors))
        for end in range(1, len(stripped))
    }
    for error in errors:
        # A union (e.g. `ending`: true or an object) reports one error per member; keep the first.
        loc = _stripped(error["loc"])
        if error["loc"][-1:] != loc[-1:] and isinstance(error.get("input"), dict) and loc in inside:
            continue
        scalar = error["loc"][-1:] == ("bool",) and error["type"] == "bool_type" and _is_value(loc)
        # `seconds` and the like take an integer or a fraction: say "a number", not "integer".
        number = error["loc"][-1:] == ("int",) and error["type"] == "int_type"
        path = pointer(*loc)
        if path in seen:
            continue
        seen.add(path)
        kind = error["type"]
        if loc == ("format",):
            found = raw.get("format") if isinstance(raw, dict) else None
            message = (
                f'unsupported format {_quote(found)}; this version of branching reads "{FORMAT}"'
                if found is not None
                else f'"format": "{FORMAT}" is required'
            )
            problems.append(Problem("error", "unknown-format", message, path))
            continue
        message = _FRIENDLY.get(kind, error["msg"])
        if scalar:  # the first member of bool | int | float | str: say what all of them take
            found = _json_kind(error.get("input"))
            message = f"expected true/false, a number or a string, not {found}"
        elif number:
            message = f"expected a number (such as 10 or 2.5), not {_json_kind(error.get('input'))}"
        elif not loc:
            message = f"a story file is one JSON object {{...}}, not {_json_kind(raw)}"
        elif kind == "extra_forbidden":
            message = f"unknown field {_quote(str(loc[-1]))}" + _did_you_mean(loc)
        elif kind == "missing":
            message = f'required field "{loc[-1]}" is missing'
        elif kind == "string_pattern_mismatch":
            message = f"{_quote(error.get('input'))}: {message}"
        problems.append(Problem("error", "schema", message, path, _node_of(loc)))
    return problems


_FIELDS = {
    "story": [
        *("$schema", "format", "id", "title", "version", "author", "language"),
        *("start", "variables", "nodes", "experiments"),
    ],
    "node": ["text", "title", "tags", "set", "choices", "timer", "ending", "variants"],
    "choice": ["label", "to", "id", "if", "set"],
    "timer": ["seconds", "default"],
    "ending": ["title", "kind"],
}


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


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


def _is_value(loc: tuple[Any, ...]) -> bool:
    """True at a variable's default or an effect's value (true/false, a number or a string)."""
    if loc[:1] == ("variables",):
        return len(loc) == 2
    return loc[:1] == ("nodes",) and (
        (len(loc) == 4 and loc[2] == "set")
        or (len(loc) == 6 and loc[2] == "choices" and loc[4] == "set")
    )


def _is_union_tag(part: str) -> bool:
    # pydantic names union members in locations: 'bool', 'Ending', 'function-after[...]', ...
    return part in {"bool", "int", "float", "str", "Ending", "Timer"} or "[" in part


# --- Line and column -------------------------------------------------------------------------


def locate(text: str, problems: list[Problem]) -> list[Problem]:
    r"""Give each problem the line and column of the nearest existing place its path names.

    >>> text = '{"start": "x",\n "nodes": {"a": {"choices": []}}}'
    >>> problem = Problem("error", "no-choices", "", "/nodes/a/choices")
    >>> [(p.line, p.column) for p in locate(text, [problem])]
    [(2, 18)]
    """
    wanted: set[tuple[str, ...]] = set()
    for problem in problems:
        parts = tuple(unescape_pointer(problem.path))
        for size in range(len(parts) + 1):
            wanted.add(parts[:size])
    try:
        offsets = value_offsets(text, wanted)
    except (RecursionError, ValueError, IndexError):  # not the JSON we parsed: leave unlocated
        return problems
    # Where each problem points: its value (object members: the key), or a character inside
    # a string value when the problem has an ``offset`` (a block in story text).
    targets: list[int | None] = []
    for problem in problems:
        if problem.line is not None:
            targets.append(None)
            continue
        full = tuple(unescape_pointer(problem.path))
        parts = full
        while parts and parts not in offsets:
            parts = parts[:-1]
        if parts not in offsets:
            targets.append(None)
            continue
        target = offsets[parts]
        if problem.offset is not None and parts == full:
            inner = _inside_string(text, target, problem.offset)
            target = target if inner is None else inner
        targets.append(target)
    places: dict[int, tuple[int, int]] = {}
    line, last_newline, position = 1, -1, 0
    for offset in sorted({t for t in targets if t is not None}):
        # Count newlines between consecutive offsets: one pass over the text in all.
        line += text.count("\n", position, offset)
        newline = text.rfind("\n", position, offset)
        if newline != -1:
            last_newline = newline
        places[offset] = (line, offset - last_newline)
        position = offset
    located: list[Problem] = []
    for problem, spot in zip(problems, targets, strict=True):
        place = None if spot is None else places.get(spot)
        located.append(problem if place is None else problem.located(*place))
    return located


def line_numbers(text: str, paths: list[str]) -> dict[str, int]:
    """The line of each JSON pointer's value in ``text`` (object members: their key's line).

    >>> line_numbers('{"a": 1,\\n "b": {"c": 2}}', ["/b/c", "/a", "/x"])
    {'/a': 1, '/b/c': 2}
    """
    wanted: set[tuple[str, ...]] = set()
    for path in paths:
        parts = tuple(unescape_pointer(path))
        for size in range(len(parts) + 1):
            wanted.add(parts[:size])
    try:
        offsets = value_offsets(text, wanted)
    except (RecursionError, ValueError, IndexError):
        return {}
    found = sorted(
        (offsets[parts], path)
        for path in paths
        if (parts := tuple(unescape_pointer(path))) in offsets and parts
    )
    lines: dict[str, int] = {}
    line, position = 1, 0
    for offset, path in found:
        line += text.count("\n", position, offset)
        position = offset
        lines[path] = line
    return lines


_SPACE = re.compile(r"[ \t\n\r]*")


def _inside_string(text: str, at: int, char: int) -> int | None:
    r"""The position in ``text`` of the ``char``-th character of the JSON string at ``at``.

    ``at`` is where :func:`value_offsets` put the value: an object member's key, or the value
    itself. Escapes count as the one character they stand for (a surrogate pair as one).

    >>> text = '{"text": "caf\\u00e9 \\"{x}\\""}'
    >>> text[_inside_string(text, 1, 7)]
    'x'
    """
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    try:
        if text[at] != '"':
            return None
        _, after = scanstring(text, at + 1)
        index = _SPACE.match(text, after).end()  # type: ignore[union-attr]
        if text[index] == ":":  # a key: the string is its value
            at = _SPACE.match(text, index + 1).end()  # type: ignore[union-attr]
            if text[at] != '"':
                return None
        index, seen = at + 1, 0
        while seen < char:
            c = text[index]
            if c == '"':
                return None
            if c == "\\":
                if text[index + 1] == "u":
                    code = int(text[index + 2 : index + 6], 16)
                    index += 6
                    if 0xD800 <= code < 0xDC00 and text.startswith("\\u", index):
                        low = int(text[index + 2 : index + 6], 16)
                        if 0xDC00 <= low < 0xE000:
                            index += 6
                else:
                    index += 2
            else:
                index += 1
            seen += 1
        return index
    except (IndexError, ValueError):
        return None
