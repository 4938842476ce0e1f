"""What ``branching validate`` (and ``i18n check``) find in story text, before anyone plays it.

Each finding carries the character of the text it is about (``offset``), which the loader maps
to a line and column of the file (through JSON escapes), and the i18n checker to a PO entry.

>>> [(f.code, f.offset) for f in check_text("{n, plural, one {# flare}}", {"n": "number"})]
[('missing-other', 0)]
>>> [f.code for f in check_text("{mood, plural, one {a} other {b}}", {"mood": "string"})]
['type-error']
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass

from branching.story import locales
from branching.story.expressions import Expr, ExpressionError, Kind, check, parse
from branching.story.problems import Severity
from branching.story.suggestions import Suggestions
from branching.story.text import (
    Conditional,
    Number,
    Parts,
    Plural,
    Print,
    Select,
    Sequence,
    TextError,
    parse_text,
)

_DESCRIBED = {"bool": "true or false", "number": "a number", "string": "a string"}


@dataclass(frozen=True, slots=True)
class TextFinding:
    severity: Severity
    code: str
    message: str
    #: 0-based character of the text the finding points at.
    offset: int


_Add = Callable[[TextFinding], None]


def check_text(
    text: str,
    kinds: Mapping[str, Kind],
    nodes: Container[str] | None = None,
    language: str = locales.DEFAULT_LANGUAGE,
    suggestions: Suggestions | None = None,
) -> list[TextFinding]:
    """Every problem of one text against the story's variables (``kinds``) and node ids
    (``suggestions`` adds "did you mean" to unknown names)."""
    try:
        parsed = parse_text(text)
    except TextError as exc:
        return [TextFinding("error", "interpolation", exc.reason, exc.offset)]
    found: list[TextFinding] = []
    add = found.append
    for block in parsed.blocks():
        if isinstance(block, Print):
            for code, message in expression_findings(
                block.expr, kinds, nodes, wanted=None, suggestions=suggestions
            ):
                add(
                    TextFinding(
                        "error", code, f"{{{block.expr.source.strip()}}}: {message}", block.at
                    )
                )
        elif isinstance(block, Conditional):
            for code, message in expression_findings(
                block.condition,
                kinds,
                nodes,
                wanted="bool",
                what="condition",
                suggestions=suggestions,
            ):
                add(TextFinding("error", code, message, block.at))
            if _empty(block.then) and (block.otherwise is None or _empty(block.otherwise)):
                add(
                    TextFinding(
                        "warning",
                        "empty-text",
                        "this conditional text shows nothing either way",
                        block.offset,
                    )
                )
        elif isinstance(block, Sequence):
            _sequence(block, add)
        elif isinstance(block, Plural | Select):
            _selection(block, kinds, language, add, suggestions)
        elif isinstance(block, Number):
            kind = kinds.get(block.name)
            if kind is None:
                add(
                    TextFinding(
                        "error",
                        "undefined-variable",
                        f"{{{block.name}, number}} names no variable; "
                        + _declare(block.name, suggestions),
                        block.offset,
                    )
                )
            elif kind != "number":
                add(
                    TextFinding(
                        "error",
                        "type-error",
                        f'{{{block.name}, number}} needs a number, and "{block.name}" holds '
                        f"{_DESCRIBED[kind]}",
                        block.offset,
                    )
                )
    return found


def _empty(parts: Parts) -> bool:
    return all(isinstance(part, str) and not part.strip() for part in parts)


def _sequence(block: Sequence, add: _Add) -> None:
    alternatives = block.alternatives
    if all(_empty(alternative) for alternative in alternatives):
        add(TextFinding("warning", "empty-text", "every alternative is empty", block.offset))
    elif len(alternatives) == 1 and block.kind != "once":
        # A block too long to be an expression is read as text alternatives, so a mistyped
        # long block lands here too instead of passing silently.
        kind = {"cycle": "cycle", "shuffle": "shuffle"}.get(block.kind, "sequence")
        add(
            TextFinding(
                "warning",
                "empty-text",
                f"a {kind} of one alternative always shows it (without its braces); separate "
                "alternatives with |, or write {{ and }} for literal braces",
                block.offset,
            )
        )


def _selection(
    block: Plural | Select,
    kinds: Mapping[str, Kind],
    language: str,
    add: _Add,
    suggestions: Suggestions | None,
) -> None:
    plural = isinstance(block, Plural)
    what = "plural" if plural else "select"
    kind = kinds.get(block.name)
    if kind is None:
        add(
            TextFinding(
                "error",
                "undefined-variable",
                f'the {what} names "{block.name}", which is not a variable of this story; '
                + _declare(block.name, suggestions),
                block.offset,
            )
        )
    elif plural and kind != "number":
        hint = "; use select for text" if kind == "string" else "; use {x: ...|...} for true/false"
        add(
            TextFinding(
                "error",
                "type-error",
                f'a plural needs a number, and "{block.name}" holds {_DESCRIBED[kind]}{hint}',
                block.offset,
            )
        )
    elif not plural and kind != "string":
        hint = (
            "; use plural for numbers" if kind == "number" else "; use {x: ...|...} for true/false"
        )
        add(
            TextFinding(
                "error",
                "type-error",
                f'a select needs text, and "{block.name}" holds {_DESCRIBED[kind]}{hint}',
                block.offset,
            )
        )
    if "other" not in block.selectors:
        add(
            TextFinding(
                "error",
                "missing-other",
                f"a {what} needs an other {{...}} branch, shown when no other branch matches",
                block.offset,
            )
        )
    if plural:
        used = locales.categories(language)
        for selector in block.selectors:
            if not selector.startswith("=") and selector not in used:
                add(
                    TextFinding(
                        "warning",
                        "plural-category",
                        f"{locales.language_name(language)} never uses the plural category "
                        f"{selector!r} (it uses {', '.join(sorted(used))}); the branch is never "
                        "shown",
                        block.offset,
                    )
                )


def expression_findings(
    expr: Expr | str,
    kinds: Mapping[str, Kind],
    nodes: Container[str] | None,
    *,
    wanted: Kind | None,
    what: str = "condition",
    suggestions: Suggestions | None = None,
) -> list[tuple[str, str]]:
    """(code, message) for an expression's syntax, undefined names and types."""
    source = expr if isinstance(expr, str) else expr.source
    if isinstance(expr, str):
        try:
            expr = parse(expr)
        except ExpressionError as exc:
            return [("expression-syntax", f"{exc}: {source[:80]}")]
    found: list[tuple[str, str]] = []
    undefined = sorted(expr.variables - kinds.keys())
    for name in undefined:
        found.append(
            (
                "undefined-variable",
                f'"{name}" is not a variable of this story; ' + _declare(name, suggestions),
            )
        )
    if nodes is not None:
        for ending in sorted(expr.endings):
            if ending not in nodes or not _is_ending(nodes, ending):
                what = (
                    "names no node" if ending not in nodes else "names a node that is not an ending"
                )
                hint = suggestions.ending(ending) if suggestions is not None else ""
                found.append(("unknown-ending", f'ending_seen("{ending}") {what}{hint}'))
        for target in sorted(expr.nodes):
            if target not in nodes:
                hint = suggestions.node(target) if suggestions is not None else ""
                found.append(("unknown-node-in-visits", f'visits("{target}") names no node{hint}'))
    if undefined:
        return found
    try:
        kind = check(expr, kinds)
    except ExpressionError as exc:
        found.append(("type-error", f"{exc}: {source[:80]}"))
        return found
    if wanted is not None and kind is not None and kind != wanted:
        found.append(
            (
                "type-error",
                f"this {what} gives {_DESCRIBED[kind]}, "
                f"but {_DESCRIBED[wanted]} is needed: {source[:80]}",
            )
        )
    return found


def _is_ending(nodes: Container[str], node_id: str) -> bool:
    """Whether ``node_id`` is an ending, for raw JSON nodes and model nodes alike (a plain
    collection of ids cannot tell, so it says yes)."""
    if not isinstance(nodes, Mapping):
        return True
    node = nodes[node_id]
    if isinstance(node, dict):
        return node.get("ending") not in (None, False)
    return bool(getattr(node, "is_ending", True))


def _declare(name: str, suggestions: Suggestions | None) -> str:
    otherwise = 'declare it in "variables" or "profile"'
    return suggestions.variable(name, otherwise) if suggestions is not None else otherwise
