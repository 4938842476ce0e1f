"""The expression language: parsing, type checks, evaluation, interpolation; no way to run code."""

from __future__ import annotations

import doctest

import pytest

import branching.story.checks
import branching.story.expressions
import branching.story.loader
from branching.story.expressions import (
    MAX_NUMBER,
    EvaluationError,
    ExpressionError,
    Kind,
    Value,
    check,
    effect_value,
    evaluate,
    parse,
)
from branching.story.text import TextError, parse_text, render

VARIABLES: dict[str, Value] = {"gold": 3, "torch": True, "name": "Ada", "ratio": 0.5}
KINDS: dict[str, Kind] = {"gold": "number", "torch": "bool", "name": "string", "ratio": "number"}


def no_visits(node: str) -> int:
    return 0


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("gold >= 3 and torch", True),
        ("not torch or gold < 0", False),
        ("gold * 2 + 1", 7),
        ("-gold % 2", 1),
        ("gold / 2", 1.5),
        ("(1 + 2) * 3", 9),
        ("name + '!'", "Ada!"),
        ('name == "Ada"', True),
        ("name < 'Bob'", True),
        ("gold == '3'", False),
        ("gold != '3'", True),
        ("ratio * 4 == 2", True),
        ("'a\\'b'", "a'b"),
        ("true and false", False),
    ],
)
def test_evaluation(source: str, value: object) -> None:
    assert evaluate(source, VARIABLES, no_visits) == value


def test_visits_counts_and_short_circuit() -> None:
    counts = {"cellar": 2}
    assert evaluate("visits('cellar') == 2", {}, lambda n: counts.get(n, 0)) is True
    assert evaluate('visits("attic")', {}, lambda n: counts.get(n, 0)) == 0
    # `or` does not evaluate its right side when the left decides: no division by zero.
    assert evaluate("true or 1 / 0 > 1", {}, no_visits) is True
    assert evaluate("false and 1 / 0 > 1", {}, no_visits) is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("gold >", "incomplete"),
        ("gold = 3", "use =="),
        ("a && b", "use 'and'"),
        ("a || b", "use 'or'"),
        ("!a", "use 'not'"),
        ("2 ** 3", "power"),
        ("1 < 2 < 3", "cannot be chained"),
        ("'open", "not closed"),
        ("visits(cellar)", "quoted node id"),
        ("len(name)", "not a function"),
        ("__import__('os')", "not a function"),
        ("().__class__", "unexpected"),
        ("name.upper", "unexpected character '.'"),
        ("x[0]", "unexpected character '['"),
        ("lambda: 1", "unexpected character ':'"),
        ("", "empty"),
        ("1" * 20, "too large"),
        ("not 3", "not needs true or false"),
        ("1 + 'a'", "cannot add"),
        ("true + 1", "cannot add true/false"),
        ("(" * 50 + "1" + ")" * 50, "nested more than"),
        ("1 + " * 400 + "1", "longer than"),
    ],
)
def test_syntax_errors_say_where_and_why(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert message in str(info.value)
    assert 1 <= info.value.column <= max(len(source), 1000) + 1


def test_type_checks_against_variables() -> None:
    assert check(parse("gold > 1 and torch"), KINDS) == "bool"
    assert check(parse("name + 'x'"), KINDS) == "string"
    for bad in ("gold + name", "torch > 1", "name - 1", "not gold", "gold and torch"):
        with pytest.raises(ExpressionError):
            check(parse(bad), KINDS)


@pytest.mark.parametrize(
    ("source", "variables", "message"),
    [
        ("gold / zero", {"gold": 1, "zero": 0}, "division by zero"),
        ("gold % zero", {"gold": 1, "zero": 0}, "division by zero"),
        ("big * big", {"big": MAX_NUMBER}, "out of range"),
        ("text + text", {"text": "x" * 6000}, "longer than"),
        ("missing + 1", {}, "not defined"),
    ],
)
def test_runtime_errors(source: str, variables: dict[str, object], message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate(source, variables, no_visits)  # type: ignore[arg-type]


def test_huge_numbers_cannot_hang() -> None:
    # Each step stays below 2**53, so repeated doubling fails fast instead of growing forever.
    value: object = 1
    with pytest.raises(EvaluationError):
        for _ in range(100):
            value = evaluate("x * x + 2", {"x": value}, no_visits)  # type: ignore[dict-item]


def test_effect_values() -> None:
    assert effect_value("gold + 1", VARIABLES, no_visits) == 4
    assert effect_value(True, VARIABLES, no_visits) is True
    assert effect_value(2.5, VARIABLES, no_visits) == 2.5
    assert effect_value("'north'", VARIABLES, no_visits) == "north"


def test_interpolation_is_backward_compatible() -> None:
    parsed = parse_text("{name} has {gold} coins and {{braces}}")
    assert parsed.variables == {"name", "gold"}
    assert render("{name} has {gold} coins and {{braces}}", VARIABLES) == (
        "Ada has 3 coins and {braces}"
    )
    assert render("{ratio}", VARIABLES) == "0.5"
    for bad in ("{", "}", "{1x}", "{not}", "{a b}"):
        with pytest.raises(TextError):
            parse_text(bad)


@pytest.mark.parametrize(
    "module", [branching.story.expressions, branching.story.checks, branching.story.loader]
)
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0
