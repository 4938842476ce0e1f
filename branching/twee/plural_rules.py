"""CLDR plural rules as conditions of a story format, compiled from Babel's own rule trees.

The rules are never written by hand: Babel parses CLDR's data into a small syntax tree
(``PluralRule.abstract``), and :func:`plural_conditions` compiles that tree for a target. As in
Babel's own JavaScript compiler, the number is taken to be whole: the operands of its written
decimals (``v``, ``w``, ``f``, ``t``) and of a compact exponent (``c``, ``e``) are 0, and ``i``
is ``n``. So a count of 1.5 may take another form in Twine than in branching, which says so in
the docs (docs/twine.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from branching.story import locales


@dataclass(frozen=True)
class Syntax:
    """How a target writes the few things a plural condition needs."""

    #: The absolute value of the counted number (``n`` and ``i``).
    number: str
    equal: Callable[[str, int | float], str]
    between: Callable[[str, int, int], str]
    modulo: Callable[[str, int], str]
    both: Callable[[str, str], str]
    either: Callable[[str, str], str]
    negate: Callable[[str], str]
    true: str
    false: str


def plural_conditions(language: str, syntax: Syntax) -> list[tuple[str, str]]:
    """``(category, condition)`` for each category of ``language`` but ``other``, in CLDR order
    (the first that holds wins; ``other`` is what is left).

    >>> js = Syntax("n", lambda x, v: f"{x} === {v}", lambda x, a, b: f"{x} >= {a} && {x} <= {b}",
    ...             lambda x, m: f"{x} % {m}", lambda a, b: f"({a} && {b})",
    ...             lambda a, b: f"({a} || {b})", lambda a: f"!({a})", "true", "false")
    >>> plural_conditions("en", js)
    [('one', 'n === 1')]
    """
    rule = locales._locale_or_default(language).plural_form
    return [(tag, _compile(tree, syntax)) for tag, tree in rule.abstract]


def _compile(tree: Any, syntax: Syntax) -> str:
    op, args = tree
    if op in ("and", "or"):
        left, right = _compile(args[0], syntax), _compile(args[1], syntax)
        decides, neutral = (
            (syntax.false, syntax.true) if op == "and" else (syntax.true, syntax.false)
        )
        if decides in (left, right):
            return decides
        if left == neutral or right == neutral:
            return right if left == neutral else left
        return syntax.both(left, right) if op == "and" else syntax.either(left, right)
    if op == "not":
        inner = _compile(args[0], syntax)
        if inner in (syntax.true, syntax.false):
            return syntax.false if inner == syntax.true else syntax.true
        return syntax.negate(inner)
    if op == "relation":
        _method, expression, ranges = args
        operand = _operand(expression, syntax)
        if operand == "0":  # a whole number's decimal operands: the relation is constant
            hit = any(low[1][0] <= 0 <= high[1][0] for low, high in ranges[1])
            return syntax.true if hit else syntax.false
        tests: list[str] = []
        for low, high in ranges[1]:
            a, b = low[1][0], high[1][0]
            tests.append(syntax.equal(operand, a) if a == b else syntax.between(operand, a, b))
        result = tests[0]
        for test in tests[1:]:
            result = syntax.either(result, test)
        return result
    raise ValueError(f"unknown plural rule node {op!r}")


def _operand(expression: Any, syntax: Syntax) -> str:
    op, args = expression
    if op == "mod":
        return syntax.modulo(_operand(args[0], syntax), args[1][1][0])
    if op in ("n", "i"):
        return syntax.number
    if op in ("v", "w", "f", "t", "c", "e"):
        return "0"
    raise ValueError(f"unknown plural operand {op!r}")
