"""Story text that changes: interpolation, conditions, sequences, plurals and selections.

The inline grammar follows ink, with ICU MessageFormat plurals, inside ``{...}``:

==========================================  ==================================================
``{gold}``, ``{gold * 2}``                  the value of an expression
``{key: the door opens|it is locked}``      conditional text (the second part is optional)
``{a|b|c}``                                 a sequence: a, then b, then c from then on
``{&a|b|c}``                                a cycle: a, b, c, a, b, ...
``{!a|b|c}``                                once each: a, b, c, then nothing
``{~a|b|c}``                                shuffled: each once per round, in a random order
``{n, plural, =0 {none} one {# flare}       the CLDR plural category of ``n`` in the story's
other {# flares}}``                         language; ``#`` is ``n`` written the language's way
``{mood, select, calm {...} other {...}}``  by the value of a string variable
``{temp, number}``                          a number written the language's way (``-9,5``)
==========================================  ==================================================

Outside any block ``{{`` and ``}}`` are literal braces (as before this grammar existed); inside
a block a backslash escapes ``{ } | : # \\``. Blocks nest up to :data:`MAX_DEPTH` deep.

The parser is one hand-written pass over the text (no backtracking regular expression), so its
time is linear in the text. Sequences count how often they were shown in ``counters``, which the
engine keeps in its state (so going back and resuming show the same text); a shuffle's order
comes from a stable hash of the playthrough's seed, the text's key and the round.

>>> text = parse_text("{flares, plural, =0 {No flares} one {# flare} other {# flares}} left.")
>>> sorted(text.variables)
['flares']
>>> [text.render(Context({"flares": n}, lambda node: 0)) for n in (0, 1, 1200)]
['No flares left.', '1 flare left.', '1,200 flares left.']
>>> counters: dict[str, int] = {}
>>> wind = parse_text("The wind {&howls|moans}.")
>>> [wind.render(Context({}, lambda node: 0, counters=counters, key="hut")) for _ in range(3)]
['The wind howls.', 'The wind moans.', 'The wind howls.']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, TypeAlias

from branching.story import locales
from branching.story.expressions import (
    FIRST_TIME,
    KEYWORDS,
    EvaluationError,
    Expr,
    ExpressionError,
    Value,
    ViewerHistory,
    Visits,
    compiled,
    format_value,
    parse,
)

#: Deepest nesting of blocks inside blocks.
MAX_DEPTH = 12
#: Longest condition or printed expression (the expression language's own limit).
MAX_HEAD = 1000
#: Most alternatives or plural/select branches in one block.
MAX_ALTERNATIVES = 1000

SequenceKind = Literal["stopping", "cycle", "once", "shuffle"]
_MARKERS: dict[str, SequenceKind] = {"&": "cycle", "!": "once", "~": "shuffle"}
#: How each kind is written, for messages and for writing text back.
MARKER_OF: dict[SequenceKind, str] = {"stopping": "", "cycle": "&", "once": "!", "shuffle": "~"}
_ESCAPABLE = frozenset("{}|:#\\")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ICU = re.compile(r"\s*(plural|select)\s*,")
_NUMBER = re.compile(r"\s*number\s*\}")
_SELECTOR = re.compile(r"\s*(=\s*-?\d+(?:\.\d+)?|[^\s{}]+)\s*")
_TOP_SPECIAL = re.compile(r"[{}]")
_INNER_SPECIAL = re.compile(r"[{}|\\#]")


class TextError(ValueError):
    """A malformed ``{...}`` in text; ``offset`` is the 0-based character within the text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.reason = message
        self.offset = offset


class TextEvaluationError(EvaluationError):
    """A block failed on real values (division by zero, a plural of text...)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


# --- Syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Print:
    """``{expression}``: its value."""

    expr: Expr
    offset: int
    #: Where the expression starts in the text (for locating its errors).
    at: int


@dataclass(frozen=True, slots=True)
class Conditional:
    """``{condition: then|otherwise}``."""

    condition: Expr
    then: Parts
    otherwise: Parts | None
    offset: int
    at: int


@dataclass(frozen=True, slots=True)
class Sequence:
    """``{a|b}``, ``{&a|b}``, ``{!a|b}``, ``{~a|b}``; ``ordinal`` numbers sequences in a text."""

    kind: SequenceKind
    alternatives: tuple[Parts, ...]
    ordinal: int
    offset: int


@dataclass(frozen=True, slots=True)
class Plural:
    """``{name, plural, =0 {...} one {...} other {...}}``; ``branches`` by selector."""

    name: str
    branches: tuple[tuple[str, Parts], ...]
    offset: int

    @property
    def selectors(self) -> list[str]:
        return [selector for selector, _ in self.branches]


@dataclass(frozen=True, slots=True)
class Select:
    """``{name, select, key {...} other {...}}``."""

    name: str
    branches: tuple[tuple[str, Parts], ...]
    offset: int

    @property
    def selectors(self) -> list[str]:
        return [selector for selector, _ in self.branches]


@dataclass(frozen=True, slots=True)
class Number:
    """``{name, number}``: a number variable written the language's way."""

    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class Count:
    """``#`` in a plural branch: the number, formatted for the language."""

    offset: int


Block: TypeAlias = Print | Conditional | Sequence | Plural | Select | Number | Count
Parts: TypeAlias = tuple[str | Block, ...]


def with_parts(block: Block, fix: Callable[[Parts], Parts]) -> Block:
    """``block`` with every text inside it (a condition's sides, alternatives, branches)
    passed through ``fix``: the one walk for rewriting parsed text.

    >>> parts = parse_text("{lit: on|off}").parts
    >>> unparse((with_parts(parts[0], lambda p: tuple(x.upper() for x in p)),))
    '{lit: ON|OFF}'
    """
    if isinstance(block, Conditional):
        otherwise = None if block.otherwise is None else fix(block.otherwise)
        return Conditional(block.condition, fix(block.then), otherwise, block.offset, block.at)
    if isinstance(block, Sequence):
        alternatives = tuple(fix(a) for a in block.alternatives)
        return Sequence(block.kind, alternatives, block.ordinal, block.offset)
    if isinstance(block, Plural | Select):
        branches = tuple((selector, fix(branch)) for selector, branch in block.branches)
        return type(block)(block.name, branches, block.offset)
    return block


@dataclass(frozen=True, slots=True)
class Context:
    """What rendering needs: the state, the language, and the sequences' memory.

    ``counters`` (changed in place) counts, per sequence, how often it was shown; ``key`` names
    the text among the story's texts (e.g. ``"hut/text"``) and ``seed`` the playthrough, for
    shuffles. With ``every=True`` every alternative of every sequence is evaluated (and the
    counters are left alone): ``validate --deep`` uses it to find any text that can fail.
    """

    variables: Mapping[str, Value]
    visits: Visits
    language: str = locales.DEFAULT_LANGUAGE
    counters: dict[str, int] | None = None
    key: str = ""
    seed: str = ""
    every: bool = False
    #: What the viewer did in earlier playthroughs (``playthroughs()``, ``ending_seen()``).
    viewer: ViewerHistory = FIRST_TIME


@dataclass(frozen=True, slots=True)
class Text:
    """Parsed story text: literal strings and blocks, and what the blocks refer to."""

    parts: Parts
    variables: frozenset[str] = field(default_factory=frozenset)
    nodes: frozenset[str] = field(default_factory=frozenset)
    #: Number of sequences (their ordinals are 0 .. sequences - 1).
    sequences: int = 0
    #: The text as shown when it has no block (``None`` when it has): worked out once, since
    #: every node entered renders its text (the simulator's hot path).
    flat: str | None = field(init=False, default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if all(isinstance(part, str) for part in self.parts):
            object.__setattr__(self, "flat", "".join(self.parts))  # type: ignore[arg-type]

    @property
    def plain(self) -> bool:
        """True when the text has no block: it renders as itself, braces unescaped."""
        return self.flat is not None

    def render(self, context: Context) -> str:
        """The text as the viewer sees it now; raises :class:`TextEvaluationError`."""
        if self.flat is not None:
            return self.flat
        out: list[str] = []
        _render(self.parts, context, out, None)
        return "".join(out)

    def blocks(self) -> Iterator[Block]:
        """Every block, outermost first, in text order."""
        yield from walk(self.parts)


def walk(parts: Parts) -> Iterator[Block]:
    """The blocks of ``parts`` and of everything nested in them, in text order."""
    for part in parts:
        if isinstance(part, str):
            continue
        yield part
        if isinstance(part, Conditional):
            yield from walk(part.then)
            if part.otherwise is not None:
                yield from walk(part.otherwise)
        elif isinstance(part, Sequence):
            for alternative in part.alternatives:
                yield from walk(alternative)
        elif isinstance(part, Plural | Select):
            for _, branch in part.branches:
                yield from walk(branch)


# --- Parser ----------------------------------------------------------------------------------


class _Parser:
    """One pass over the text; positions only move forward."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ordinal = 0
        self.variables: set[str] = set()
        self.nodes: set[str] = set()

    def top(self) -> Parts:
        text = self.text
        parts: list[str | Block] = []
        literal: list[str] = []
        position = 0
        while (match := _TOP_SPECIAL.search(text, position)) is not None:
            start = match.start()
            literal.append(text[position:start])
            char = match.group()
            if text.startswith(char * 2, start):  # {{ or }}: a literal brace
                literal.append(char)
                position = start + 2
                continue
            if char == "}":
                raise TextError("'}' has no opening '{'; write }} for a literal brace", start)
            _flush(literal, parts)
            block, position = self.block(start, 1, counting=False)
            parts.append(block)
        literal.append(text[position:])
        _flush(literal, parts)
        return tuple(parts)

    def block(self, start: int, depth: int, *, counting: bool) -> tuple[Block, int]:
        """The block whose ``{`` is at ``start``; returns it and the position after its ``}``."""
        if depth > MAX_DEPTH:
            raise TextError(f"blocks nested more than {MAX_DEPTH} deep", start)
        text = self.text
        body = start + 1
        if body >= len(text):
            raise _unclosed(start)
        marker = _MARKERS.get(text[body])
        if marker is not None:
            return self.sequence(start, body + 1, marker, depth, counting)
        stop, char = self.head(body, commas=True)
        if char == ",":
            icu = _ICU.match(text, stop + 1)
            name = text[body:stop].strip()
            if icu is not None and _NAME.fullmatch(name) and name not in KEYWORDS:
                self.variables.add(name)
                kind = icu.group(1)
                return self.icu(start, name, kind, icu.end(), depth, counting)
            number = _NUMBER.match(text, stop + 1)
            if number is not None and _NAME.fullmatch(name) and name not in KEYWORDS:
                self.variables.add(name)
                return Number(name, start), number.end()
            stop, char = self.head(stop + 1, commas=False)
        if char == "}":
            expr = self.expression(body, stop, start, "{...}")
            return Print(expr, start, body), stop + 1
        if char == ":":
            condition = self.expression(body, stop, start, "the condition")
            position = stop + 1
            while position < len(text) and text[position] in " \t":
                position += 1  # "{key: the door opens}": the space after the colon is layout
            then, position, closer = self.until(position, "|}", depth, counting, start)
            otherwise: Parts | None = None
            if closer == "|":
                otherwise, position, closer = self.until(position, "|}", depth, counting, start)
                if closer == "|":
                    raise TextError(
                        "conditional text has two parts at most: {condition: shown when true"
                        "|shown when false}; write \\| for a literal bar",
                        position - 1,
                    )
            return Conditional(condition, then, otherwise, start, body), position
        if char == "":
            raise _unclosed(start)
        # "|" or a nested "{": text alternatives, i.e. a sequence.
        return self.sequence(start, body, "stopping", depth, counting)

    def head(self, position: int, *, commas: bool) -> tuple[int, str]:
        """Where the head of a block (an expression, a condition or a plural's name) stops.

        The head ends at the first ``}``, ``|``, ``:`` or ``{`` (or ``,``) outside quotes. A
        quote opens a string only where an expression's string can start (not after a letter,
        so "don't" is text), and a string that does not close on its line makes every later
        quote literal: each character is looked at a bounded number of times. Returns the
        position and the character found there ("" when the text ends, "?" when the head is
        longer than an expression may be).
        """
        text = self.text
        end = min(len(text), position + MAX_HEAD + 1)
        strings = True
        index = position
        while index < end:
            char = text[index]
            if char in "}|:{" or (commas and char == ","):
                return index, char
            if char == "\\":
                index += 2
                continue
            if (
                strings
                and char in "'\""
                and (index == position or not (text[index - 1].isalnum() or text[index - 1] == "_"))
            ):
                close = _string_end(text, index, end)
                if close < 0:
                    strings = False
                else:
                    index = close
                    continue
            index += 1
        if end == len(text) and end - position <= MAX_HEAD:
            return len(text), ""
        return end, "?"

    def expression(self, start: int, stop: int, block: int, what: str) -> Expr:
        source = self.text[start:stop]
        if not source.strip():
            if what == "{...}":
                raise TextError("{} holds nothing; write {{}} for literal braces", block)
            raise TextError(f"{what} is empty", start)
        try:
            expr = parse(source)
        except ExpressionError as exc:
            if what == "{...}":
                raise TextError(
                    f"{{{source}}} is not an expression ({exc.reason}); write {{{{ and }}}} for "
                    "literal braces",
                    start + exc.column - 1 if exc.column <= len(source) else block,
                ) from None
            raise TextError(
                f"{what} {source.strip()!r} is not an expression ({exc.reason}); write \\: for a "
                "literal colon",
                start + min(exc.column, len(source)) - 1,
            ) from None
        self.variables |= expr.variables
        self.nodes |= expr.nodes
        return expr

    def until(
        self, position: int, stops: str, depth: int, counting: bool, block: int
    ) -> tuple[Parts, int, str]:
        """Text up to one of ``stops`` at this level; returns it, the position after the stop,
        and the stop. ``counting`` makes ``#`` the number of the plural being read."""
        text = self.text
        parts: list[str | Block] = []
        literal: list[str] = []
        while (match := _INNER_SPECIAL.search(text, position)) is not None:
            start = match.start()
            literal.append(text[position:start])
            char = match.group()
            if char == "\\":
                following = text[start + 1 : start + 2]
                if following in _ESCAPABLE and following:
                    literal.append(following)
                    position = start + 2
                else:
                    literal.append("\\")
                    position = start + 1
                continue
            if char == "#":
                if counting:
                    _flush(literal, parts)
                    parts.append(Count(start))
                else:
                    literal.append("#")
                position = start + 1
                continue
            if char == "{":
                _flush(literal, parts)
                nested, position = self.block(start, depth + 1, counting=counting)
                parts.append(nested)
                continue
            if char in stops:
                _flush(literal, parts)
                return tuple(parts), start + 1, char
            literal.append(char)  # a "|" where only "}" ends the text (a plural branch)
            position = start + 1
        raise _unclosed(block)

    def sequence(
        self, start: int, position: int, kind: SequenceKind, depth: int, counting: bool
    ) -> tuple[Sequence, int]:
        ordinal = self.ordinal
        self.ordinal += 1
        alternatives: list[Parts] = []
        while True:
            parts, position, closer = self.until(position, "|}", depth, counting, start)
            alternatives.append(parts)
            if len(alternatives) > MAX_ALTERNATIVES:
                raise TextError(f"more than {MAX_ALTERNATIVES} alternatives", start)
            if closer == "}":
                return Sequence(kind, tuple(alternatives), ordinal, start), position

    def icu(
        self, start: int, name: str, kind: str, position: int, depth: int, counting: bool
    ) -> tuple[Block, int]:
        text = self.text
        branches: list[tuple[str, Parts]] = []
        seen: set[str] = set()
        plural = kind == "plural"
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                raise _unclosed(start)
            if text[position] == "}":
                break
            match = _SELECTOR.match(text, position)
            if match is None:
                raise TextError(
                    f"expected a {kind} branch such as "
                    + ("one {...} or =0 {...}" if plural else "calm {...}")
                    + " or the closing '}'",
                    position,
                )
            selector = re.sub(r"\s+", "", match.group(1))
            if plural and not selector.startswith("=") and selector not in locales.CATEGORIES:
                raise TextError(
                    f"{selector!r} is not a plural category: use zero, one, two, few, many, "
                    "other or =N (an exact number)",
                    position,
                )
            if selector in seen:
                raise TextError(f"the branch {selector!r} is given twice", position)
            seen.add(selector)
            position = match.end()
            if position >= len(text) or text[position] != "{":
                raise TextError(
                    f"expected '{{' to start the text of the branch {selector!r}", position
                )
            parts, position, _ = self.until(position + 1, "}", depth + 1, plural or counting, start)
            branches.append((selector, parts))
            if len(branches) > MAX_ALTERNATIVES:
                raise TextError(f"more than {MAX_ALTERNATIVES} branches", start)
        if not branches:
            raise TextError(f"a {kind} needs branches, at least other {{...}}", start)
        block: Block = (
            Plural(name, tuple(branches), start) if plural else Select(name, tuple(branches), start)
        )
        return block, position + 1


def _string_end(text: str, start: int, end: int) -> int:
    """Position after the string literal opening at ``start``, or -1 if it does not close."""
    quote = text[start]
    index = start + 1
    while index < end:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == quote:
            return index + 1
        if char == "\n":
            return -1
        index += 1
    return -1


def _flush(literal: list[str], parts: list[str | Block]) -> None:
    if literal:
        joined = "".join(literal)
        literal.clear()
        if joined:
            if parts and isinstance(parts[-1], str):
                parts[-1] += joined
            else:
                parts.append(joined)


def _unclosed(offset: int) -> TextError:
    return TextError("'{' is not closed; write {{ for a literal brace", offset)


@lru_cache(maxsize=65536)
def parse_text(text: str) -> Text:
    """Parse story text; raises :class:`TextError` saying where (``offset``) and why.

    >>> parse_text("You have {gold} coins {{not a block}}").parts
    ('You have ', Print(...), ' coins {not a block}')
    >>> parse_text("a { b")
    Traceback (most recent call last):
    ...
    branching.story.text.TextError: '{' is not closed; write {{ for a literal brace
    >>> parse_text("{n, plural, one {# flare} lots {# flares}}")
    Traceback (most recent call last):
    ...
    branching.story.text.TextError: 'lots' is not a plural category: ...
    """
    if "{" not in text and "}" not in text:
        return Text((text,) if text else ())
    parser = _Parser(text)
    parts = parser.top()
    return Text(parts, frozenset(parser.variables), frozenset(parser.nodes), parser.ordinal)


# --- Rendering -------------------------------------------------------------------------------


def _render(parts: Parts, context: Context, out: list[str], count: float | None) -> None:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Print):
            out.append(format_value(_evaluate(part.expr, context, part.offset)))
        elif isinstance(part, Conditional):
            shown = _evaluate(part.condition, context, part.offset)
            if not isinstance(shown, bool):
                raise TextEvaluationError(
                    f"the condition {part.condition.source.strip()!r} gave "
                    f"{format_value(shown)!r}, not true or false",
                    part.offset,
                )
            branch = part.then if shown else part.otherwise
            if branch is not None:
                _render(branch, context, out, count)
        elif isinstance(part, Sequence):
            _render_sequence(part, context, out, count)
        elif isinstance(part, Plural):
            value = _variable(part.name, context, part.offset)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TextEvaluationError(
                    f"a plural needs a number, and {part.name} is {format_value(value)!r}",
                    part.offset,
                )
            chosen = _plural_branch(part, value, context.language)
            if chosen is not None:
                _render(chosen, context, out, value)
        elif isinstance(part, Number):
            value = _variable(part.name, context, part.offset)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TextEvaluationError(
                    f"{{{part.name}, number}} needs a number, and {part.name} is "
                    f"{format_value(value)!r}",
                    part.offset,
                )
            out.append(locales.format_number(context.language, value))
        elif isinstance(part, Select):
            value = _variable(part.name, context, part.offset)
            if not isinstance(value, str):
                raise TextEvaluationError(
                    f"a select needs text, and {part.name} is {format_value(value)!r}",
                    part.offset,
                )
            branches = dict(part.branches)
            chosen = branches.get(value, branches.get("other"))
            if chosen is not None:
                _render(chosen, context, out, count)
        elif count is not None:  # Count
            out.append(locales.format_number(context.language, count))
        else:  # a "#" outside a plural is text; the parser never makes one
            out.append("#")


def _render_sequence(part: Sequence, context: Context, out: list[str], count: float | None) -> None:
    alternatives = part.alternatives
    if context.every:
        for alternative in alternatives:
            _render(alternative, context, [], count)
        return
    key = f"{context.key}#{part.ordinal}"
    counters = context.counters
    seen = counters.get(key, 0) if counters is not None else 0
    if counters is not None:
        counters[key] = seen + 1
    index = pick(part.kind, len(alternatives), seen, f"{context.seed}\0{key}")
    if index is not None:
        _render(alternatives[index], context, out, count)


def pick(kind: SequenceKind, size: int, seen: int, seed: str) -> int | None:
    """Which alternative a sequence shows the time after it was shown ``seen`` times.

    >>> [pick("stopping", 3, n, "") for n in range(5)], [pick("once", 2, n, "") for n in range(3)]
    ([0, 1, 2, 2, 2], [0, 1, None])
    >>> sorted(pick("shuffle", 4, n, "seed") for n in range(4))  # each once per round
    [0, 1, 2, 3]
    """
    if kind == "stopping":
        return min(seen, size - 1)
    if kind == "cycle":
        return seen % size
    if kind == "once":
        return seen if seen < size else None
    return shuffled(size, seed, seen // size)[seen % size]


def shuffled(size: int, seed: str, round_: int) -> list[int]:
    """The order of a shuffle's ``round_``: a permutation from a stable hash (SHA-256), so the
    same playthrough shows the same text on every machine and Python version (never
    ``hash()``, which is salted per process).

    >>> shuffled(5, "abc", 0) == shuffled(5, "abc", 0)
    True
    >>> sorted(shuffled(5, "abc", 1))
    [0, 1, 2, 3, 4]
    """
    prefix = f"{seed}\0{round_}\0".encode()
    return sorted(range(size), key=lambda i: hashlib.sha256(prefix + str(i).encode()).digest())


def _plural_branch(part: Plural, value: int | float, language: str) -> Parts | None:
    branches = part.branches
    for selector, parts in branches:
        if selector.startswith("=") and float(selector[1:]) == value:
            return parts
    category = locales.plural_category(language, value)
    fallback: Parts | None = None
    for selector, parts in branches:
        if selector == category:
            return parts
        if selector == "other":
            fallback = parts
    return fallback


def _evaluate(expr: Expr, context: Context, offset: int) -> Value:
    try:
        return compiled(expr.source)(context.variables, context.visits, context.viewer)
    except EvaluationError as exc:
        raise TextEvaluationError(f"{{{expr.source.strip()}}} failed: {exc}", offset) from None


def _variable(name: str, context: Context, offset: int) -> Value:
    try:
        return context.variables[name]
    except KeyError:
        raise TextEvaluationError(f"variable {name!r} is not defined", offset) from None


def render(
    text: str,
    variables: Mapping[str, Value],
    visits: Visits | None = None,
    **options: object,
) -> str:
    """Parse and render ``text`` in one call (for tests, previews and tools).

    >>> render("{lit: The lamp is lit.|It is dark.}", {"lit": False})
    'It is dark.'
    """
    context = Context(variables, visits or _no_visits, **options)  # type: ignore[arg-type]
    return parse_text(text).render(context)


def _no_visits(node: str) -> int:
    return 0


# --- Writing text back -----------------------------------------------------------------------


def escape_alternative(text: str) -> str:
    r"""Literal text as it must be written inside a block (``|`` and braces escaped).

    >>> escape_alternative("a|b {c} #1")
    'a\\|b \\{c\\} \\#1'
    """
    return re.sub(r"([{}|\\#])", r"\\\1", text)


def escape_top(text: str) -> str:
    """Literal text as it must be written outside blocks (braces doubled).

    >>> escape_top("a {b}")
    'a {{b}}'
    """
    return text.replace("{", "{{").replace("}", "}}")


def unparse(parts: Parts, *, inner: bool = False) -> str:
    """Parsed text written back as text that parses to the same parts (``inner``: as the
    inside of a block, where ``|`` and braces are escaped with a backslash).

    >>> unparse(parse_text("{{a}} {x: b|{&c|d}} {n, plural, one {# e} other {#}}").parts)
    '{{a}} {x: b|{&c|d}} {n, plural, one {# e} other {#}}'
    >>> unparse(parse_text("a|b {x}").parts, inner=True)
    'a\\\\|b {x}'
    """
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(escape_alternative(part) if inner else escape_top(part))
        elif isinstance(part, Print):
            out.append("{" + part.expr.source + "}")
        elif isinstance(part, Conditional):
            text = "{" + part.condition.source + ": " + unparse(part.then, inner=True)
            if part.otherwise is not None:
                text += "|" + unparse(part.otherwise, inner=True)
            out.append(text + "}")
        elif isinstance(part, Sequence):
            alternatives = "|".join(unparse(a, inner=True) for a in part.alternatives)
            out.append("{" + MARKER_OF[part.kind] + alternatives + "}")
        elif isinstance(part, Plural | Select):
            kind = "plural" if isinstance(part, Plural) else "select"
            branches = " ".join(
                f"{selector} {{{unparse(branch, inner=True)}}}"
                for selector, branch in part.branches
            )
            out.append(f"{{{part.name}, {kind}, {branches}}}")
        elif isinstance(part, Number):
            out.append(f"{{{part.name}, number}}")
        else:
            out.append("#")
    return "".join(out)
