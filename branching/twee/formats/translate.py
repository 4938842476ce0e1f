"""Story-format expressions (conditions, values) translated to the expression language."""

from __future__ import annotations

import re

from branching.story.expressions import (
    KEYWORDS,
    EvaluationError,
    ExpressionError,
    Lit,
    Unary,
    Value,
    evaluate,
)
from branching.story.expressions import parse as parse_expression
from branching.story.json_input import JsonInputError, loads
from branching.twee.formats.events import Dialect

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
#: Next to these a visit count is a number (SugarCube's visited() returns one); elsewhere it is
#: read as JavaScript does a number in a condition: true when not 0.
_NUMBER_OPS = {"<", ">", "<=", ">=", "==", "!=", "===", "!==", "+", "-", "*", "/", "%"}
_NUMBER_WORDS = {"gt", "gte", "lt", "lte", "is", "eq", "neq", "isnot"}
# Harlowe's ways of asking about a passage's visits, rewritten before the tokens are read into
# names no Harlowe variable can have (they need $ or _): (visited: "X") and (history:) contains
# "X" are true/false, (count: (history:), "X") a number.
_H_STRING = r"(\"[^\"\n]*\"|'[^'\n]*')"
_H_VISITED = re.compile(r"\(\s*visited\s*:\s*" + _H_STRING + r"\s*\)", re.IGNORECASE)
_H_HISTORY = re.compile(r"\(\s*history\s*:\s*\)\s*contains\s+" + _H_STRING, re.IGNORECASE)
_H_COUNT = re.compile(
    r"\(\s*count\s*:\s*\(\s*history\s*:\s*\)\s*,\s*" + _H_STRING + r"\s*\)", re.IGNORECASE
)
#: branching's own export of visits("X"): the earlier visits and this one if it is X.
_H_VISITS = re.compile(
    r"\(\s*count\s*:\s*\(\s*history\s*:\s*\)\s*,\s*" + _H_STRING + r"\s*\)\s*\+\s*"
    r"\(\s*cond\s*:\s*\(\s*passage\s*:\s*\)'s\s+name\s+is\s+"
    + _H_STRING
    + r"\s*,\s*1\s*,\s*0\s*\)",
    re.IGNORECASE,
)
_VISITED_NAME, _HISTORY_NAME, _COUNT_NAME = "visited__h", "history__h", "count__h"
_VISITS_NAME = "visits__h"


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
    current: str | None = None,
) -> str:
    """Translate a story format's condition or value to the ``branching`` expression language.

    Variables (``$gold``, ``_temp``; bare names in Chapbook), literals, comparisons (``is``,
    ``===``, ``gte``...), ``and``/``or``/``not`` (``&&``, ``||``, ``!``), arithmetic and
    the visits of a passage (SugarCube's ``visited("Passage")``, a count; Harlowe's
    ``(visited: "Passage")``, ``(history:) contains "Passage"`` and ``(count: (history:),
    "Passage")``) translate; anything else raises :class:`Untranslatable`.
    The visits of the passage itself (Harlowe's ``visits``, SugarCube's ``visited()``,
    Chapbook's ``passage.visits``; 1 on the first visit) are ``visits("current")``, where
    ``current`` is the passage's node id.

    >>> translate_expression("$gold gte 3 and not $cursed", "sugarcube")
    'gold >= 3 and not cursed'
    >>> translate_expression("_previousRoom === 'Outside' || !hasCloak", "chapbook")
    "_previousRoom == 'Outside' or not hasCloak"
    >>> translate_expression("($a is 1) and (not ($b))", "harlowe")
    '(a == 1) and (not (b))'
    """
    out: list[str] = []
    tokens: list[tuple[str, str]] = []
    if dialect == "harlowe" and "(" in source:
        source = _H_VISITS.sub(
            lambda m: f"{_VISITS_NAME}({m.group(1)})" if m.group(1) == m.group(2) else m.group(),
            source,
        )
        source = _H_VISITED.sub(lambda m: f"{_VISITED_NAME}({m.group(1)})", source)
        source = _H_HISTORY.sub(lambda m: f"{_HISTORY_NAME}({m.group(1)})", source)
        source = _H_COUNT.sub(lambda m: f"{_COUNT_NAME}({m.group(1)})", source)
    for m in _SCRIPT_TOKEN.finditer(source):
        if m.lastgroup != "space":
            tokens.append((m.lastgroup or "other", m.group()))
        if m.lastgroup == "other":
            # Untranslatable anyway; and reading on after an unclosed quote would search for
            # its end again from every later quote (quadratic on '"\\"\\"\\...').
            break
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        i += 1
        if kind == "number":
            out.append(text)
        elif kind == "string":
            try:
                body = loads(text) if text[0] == '"' else text[1:-1].replace("\\'", "'")
            except JsonInputError:  # e.g. a lone surrogate escape
                body = None
            if not isinstance(body, str):
                raise Untranslatable(f"cannot read the string {text[:40]}")
            out.append("'" + body.replace("\\", "\\\\").replace("'", "\\'") + "'")
        elif kind == "op":
            if text in (".", "[", "]"):
                raise Untranslatable("property access (.x or [x]) has no equivalent")
            out.append(_SYMBOL_OPS.get(text, text))
        elif kind == "name":
            lower = text.lower()
            own = _own_visits(dialect, text, following, tokens, i)
            if own is not None and current is not None:
                visits = f'visits("{current}")'
                counted = dialect != "sugarcube" or _counted(tokens, i - 1, i + own)
                out.append(visits if counted else f"({visits} > 0)")
                i += own
            elif following == ("op", "(") and (
                (dialect == "sugarcube" and text in ("visited", "visitedTags"))
                or (
                    dialect == "harlowe"
                    and text in (_VISITED_NAME, _HISTORY_NAME, _COUNT_NAME, _VISITS_NAME)
                )
            ):
                visits = _visited(tokens, i, passage_ids or {})
                before = 0  # (history:) holds the passages before this one
                if text in (_HISTORY_NAME, _COUNT_NAME) and visits == f'visits("{current}")':
                    before = 1
                if text in (_COUNT_NAME, _VISITS_NAME) or (
                    text == "visited" and _counted(tokens, i - 1, i + 3)
                ):
                    out.append(f"({visits} - 1)" if before else visits)
                else:
                    out.append(f"({visits} > {before})")
                i += 3
            elif following == ("op", "(") and not (lower in _WORD_OPS and dialect != "chapbook"):
                # "and (...)" is an operator before parentheses, not a call
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
            raise Untranslatable(f"unexpected {text[:40]!r}")
    result = " ".join(out).replace("( ", "(").replace(" )", ")")
    try:
        parse_expression(result)
    except ExpressionError as exc:
        raise Untranslatable(exc.reason) from None
    return result


def _own_visits(
    dialect: Dialect, text: str, following: tuple[str, str], tokens: list[tuple[str, str]], i: int
) -> int | None:
    """How many more tokens make up the passage's own visit count at ``text``, or None."""
    if dialect == "harlowe" and text in ("visits", "visit") and following != ("op", "("):
        return 0
    if (
        dialect == "sugarcube"
        and text == "visited"
        and tokens[i : i + 2]
        == [
            ("op", "("),
            ("op", ")"),
        ]
    ):
        return 2
    if (
        dialect == "chapbook"
        and text == "passage"
        and tokens[i : i + 2]
        == [
            ("op", "."),
            ("name", "visits"),
        ]
    ):
        return 2
    return None


def _counted(tokens: list[tuple[str, str]], first: int, after: int) -> bool:
    """Whether the visit count in ``tokens[first:after]`` is compared or computed with (a
    number), rather than tested alone (true when not 0)."""
    around = [tokens[first - 1]] if first > 0 else []
    around += tokens[after : after + 1]
    return any(
        (kind == "op" and text in _NUMBER_OPS) or (kind == "name" and text.lower() in _NUMBER_WORDS)
        for kind, text in around
    )


def _visited(tokens: list[tuple[str, str]], i: int, passage_ids: dict[str, str]) -> str:
    """``visits("id")`` of ``visited("Passage")`` (its "(" at ``tokens[i]``)."""
    if tokens[i - 1][1] == "visitedTags" or len(tokens) < i + 3 or tokens[i + 1][0] != "string":
        raise Untranslatable("visited() needs a passage name")
    if tokens[i + 2] != ("op", ")"):
        raise Untranslatable("visited() with several passages has no equivalent")
    name = tokens[i + 1][1][1:-1]
    if name not in passage_ids:
        raise Untranslatable(f'visited("{name}") names no passage')
    return f'visits("{passage_ids[name]}")'


def literal_value(expression: str) -> Value | None:
    """The constant value of an expression without variables, or None.

    >>> literal_value("-3"), literal_value("true"), literal_value("'x'"), literal_value("gold + 1")
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


def literal_string(expression: str) -> str | None:
    r"""The text of an expression that is one string literal, or None.

    >>> literal_string("'it\\'s'"), literal_string("'a' + 'b'")
    ("it's", None)
    """
    tree = parse_expression(expression).tree
    if isinstance(tree, Lit) and isinstance(tree.value, str):
        return tree.value
    return None


def constant_value(expression: str, known: dict[str, Value]) -> Value | None:
    """The value of an expression over ``known`` variables, or None when it needs others."""
    try:
        return evaluate(expression, known, lambda node: 0)
    except (EvaluationError, ExpressionError):
        return None
