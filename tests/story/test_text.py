"""Text that changes: the inline grammar, its rendering, its checks and its limits."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest

from branching.story.expressions import Value
from branching.story.loader import load_story_bytes
from branching.story.text import Context, TextError, TextEvaluationError, parse_text, render
from branching.story.text_checks import check_text


def show(text: str, variables: dict[str, Value] | None = None, **options: Any) -> str:
    return render(text, variables or {}, **options)


def shown_over_time(text: str, times: int, **options: Any) -> list[str]:
    counters: dict[str, int] = {}
    parsed = parse_text(text)
    return [
        parsed.render(Context({}, lambda node: 0, counters=counters, key="k", **options))
        for _ in range(times)
    ]


# --- Each construct ---------------------------------------------------------------------------


def test_values_and_expressions_print() -> None:
    assert show("{gold} and {gold * 2}; {name}", {"gold": 3, "name": "Ada"}) == "3 and 6; Ada"
    assert show("{ratio}", {"ratio": 1 / 3}) == "0.333333"


def test_conditional_text_shows_one_part() -> None:
    text = "{lit: The lamp glows.|It is dark.} {lit and gold > 2: Rich.}"
    assert show(text, {"lit": True, "gold": 5}) == "The lamp glows. Rich."
    assert show(text, {"lit": False, "gold": 5}) == "It is dark. "


def test_conditions_may_hold_quotes_colons_and_visits() -> None:
    text = "{mood == 'a:b|c': yes|no} {visits(\"hut\") > 1: again}"
    assert render(text, {"mood": "a:b|c"}, lambda node: 2) == "yes again"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{a|b|c}", ["a", "b", "c", "c", "c"]),
        ("{&a|b|c}", ["a", "b", "c", "a", "b"]),
        ("{!a|b|c}", ["a", "b", "c", "", ""]),
        ("{!||Then the lights went out.}", ["", "", "Then the lights went out.", "", ""]),
    ],
)
def test_sequences_move_on_each_time(text: str, expected: list[str]) -> None:
    assert shown_over_time(text, 5) == expected


def test_shuffles_show_each_alternative_once_per_round_in_a_seeded_order() -> None:
    text = "{~a|b|c|d|e}"
    first = shown_over_time(text, 10, seed="playthrough-1")
    assert sorted(first[:5]) == sorted(first[5:]) == ["a", "b", "c", "d", "e"]
    assert shown_over_time(text, 10, seed="playthrough-1") == first  # the same seed: same text
    others = {tuple(shown_over_time(text, 5, seed=f"p{i}")) for i in range(20)}
    assert len(others) > 5  # other playthroughs get other orders


def test_a_sequence_in_the_branch_not_taken_does_not_move_on() -> None:
    counters: dict[str, int] = {}
    parsed = parse_text("{lit: {a|b|c}}")
    for lit in (False, False, True, True):
        out = parsed.render(Context({"lit": lit}, lambda n: 0, counters=counters, key="k"))
    assert out == "b"


@pytest.mark.parametrize(
    ("language", "counts", "expected"),
    [
        ("en", [0, 1, 2, 1200], ["no flares", "1 flare", "2 flares", "1,200 flares"]),
        ("fr", [0, 1, 2, 1200], ["no flares", "1 fusée", "2 fusées", "1\u202f200 fusées"]),
        ("pl", [1, 2, 5, 22], ["1 raca", "2 race", "5 rac", "22 race"]),
    ],
)
def test_plurals_follow_each_languages_cldr_rules(
    language: str, counts: list[int], expected: list[str]
) -> None:
    texts = {
        "en": "{n, plural, =0 {no flares} one {# flare} other {# flares}}",
        "fr": "{n, plural, =0 {no flares} one {# fusée} many {# de fusées} other {# fusées}}",
        "pl": "{n, plural, one {# raca} few {# race} many {# rac} other {# racy}}",
    }
    got = [show(texts[language], {"n": n}, language=language) for n in counts]
    assert got == expected


def test_french_puts_zero_in_one_when_there_is_no_exact_match() -> None:
    assert show("{n, plural, one {# fusée} other {# fusées}}", {"n": 0}, language="fr") == (
        "0 fusée"
    )


def test_select_picks_by_string_value_or_other() -> None:
    text = "{mood, select, calm {She waits.} angry {She paces.} other {She stares.}}"
    assert show(text, {"mood": "angry"}) == "She paces."
    assert show(text, {"mood": "sad"}) == "She stares."


def test_blocks_nest() -> None:
    text = "{torch: {n, plural, one {# flame {wet: (wet)}} other {# flames}}|dark}"
    assert show(text, {"torch": True, "n": 1, "wet": True}) == "1 flame (wet)"
    assert show(text, {"torch": False, "n": 1, "wet": True}) == "dark"


def test_escapes_and_literal_braces() -> None:
    assert show("{{literal}} and }}") == "{literal} and }"
    assert show("{x: a\\|b \\{c\\} \\: \\# \\\\ d}", {"x": True}) == "a|b {c} : # \\ d"
    assert show("{n, plural, other {#\\# and # }}", {"n": 3}) == "3# and 3 "
    assert show("# Heading {x: #1}", {"x": True}) == "# Heading #1"  # "#" is text outside plurals
    assert show("{Yes, sir|No}") == "Yes, sir"
    assert show("{don't|won't}") == "don't"


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("a { b", 2, "not closed"),
        ("a } b", 2, "no opening"),
        ("{x: a|b|c}", 7, "two parts at most"),
        ("{n, plural, one {a} lots {b}}", 20, "not a plural category"),
        ("{n, plural, one {a} one {b}}", 20, "given twice"),
        ("{n, plural, one a}", 16, "expected '{'"),
        ("{}", 0, "holds nothing"),
        ("{a b}", 3, "not an expression"),
        ("{gold >: x}", 6, "not an expression"),
        ("{&a|" * 13 + "}" * 13, 48, "nested more than 12"),
    ],
)
def test_errors_say_where_and_why(text: str, offset: int, words: str) -> None:
    with pytest.raises(TextError) as caught:
        parse_text(text)
    assert words in str(caught.value)
    assert caught.value.offset == offset


def test_failures_on_real_values_say_which_block() -> None:
    with pytest.raises(TextEvaluationError) as caught:
        show("Share: {gold / people}", {"gold": 3, "people": 0})
    assert "division by zero" in str(caught.value) and caught.value.offset == 7


@pytest.mark.parametrize(
    ("head", "pattern", "tail", "count"),
    [
        ("", "{", "", 200_000),
        ("{a", "|", "}", 200_000),
        ("{", "'", "", 200_000),
        ("{ ", "'x' ", ":a}", 100_000),
        ("{", "a ", "", 200_000),
        ("{a|", "\\", "}", 200_000),
        ("{", "a,", "}", 200_000),
        ("{n, plural, other {", "#", "}}", 100_000),
        ("", "{a|b}", "", 20_000),
        ("", "{x:", "", 200_000),
    ],
)
def test_hostile_text_parses_in_linear_time(head: str, pattern: str, tail: str, count: int) -> None:
    def cost(times: int) -> float:
        text = head + pattern * times + tail
        began = time.process_time()  # CPU time: the machine may be busy with other work
        with contextlib.suppress(TextError):
            parse_text(text)
        return time.process_time() - began

    small, large = cost(count), cost(2 * count)
    # Twice the text, about twice the time (a quadratic parser takes four times as long).
    assert large < 3 * small + 0.05 and large < 5.0, (small, large)


# --- Checks -----------------------------------------------------------------------------------

KINDS: dict[str, Any] = {"n": "number", "mood": "string", "lit": "bool"}


@pytest.mark.parametrize(
    ("text", "code", "severity"),
    [
        ("{ghost}", "undefined-variable", "error"),
        ("{ghost: a}", "undefined-variable", "error"),
        ("{ghost, plural, other {#}}", "undefined-variable", "error"),
        ("{mood, plural, other {#}}", "type-error", "error"),
        ("{n, select, other {x}}", "type-error", "error"),
        ("{n: a|b}", "type-error", "error"),
        ("{n, plural, one {#}}", "missing-other", "error"),
        ("{mood, select, calm {x}}", "missing-other", "error"),
        ("{n, plural, few {#} other {#}}", "plural-category", "warning"),
        ("{lit:}", "empty-text", "warning"),
        ("{&only one}", "empty-text", "warning"),
        ("{the wind {&howls|drops} all night}", "empty-text", "warning"),
        # Too long for an expression, so read as text: not passed over in silence.
        ("{n, number, " + "x" * 1000 + "}", "empty-text", "warning"),
        ("{||}", "empty-text", "warning"),
        ('{visits("nowhere") > 0: x}', "unknown-node-in-visits", "error"),
    ],
)
def test_checks_find_each_mistake(text: str, code: str, severity: str) -> None:
    found = check_text(text, KINDS, nodes={"hut"})
    assert [(f.code, f.severity) for f in found] == [(code, severity)]


def test_checks_accept_good_text() -> None:
    good = "{n, plural, =0 {none} one {# {lit: lit|out}} other {# {&a|b}}} {!once} {mood}"
    assert check_text(good, KINDS) == []


def test_plural_categories_are_those_of_the_storys_language() -> None:
    text = "{n, plural, one {#} few {#} many {#} other {#}}"
    assert check_text(text, KINDS, language="pl") == []
    assert {f.code for f in check_text(text, KINDS, language="en")} == {"plural-category"}


# --- Validate locates to the character, through JSON escapes ---------------------------------


def test_validate_locates_a_block_to_its_line_and_column() -> None:
    text = 'Caf\\u00e9 \\"{n, plural, one {#}}\\" and {ghost}'
    data = (
        '{"format": "branching/1", "id": "s", "title": "S", "start": "a",\n'
        ' "variables": {"n": 1},\n'
        ' "nodes": {"a": {"text": "' + text + '", "ending": true}}}'
    )
    result = load_story_bytes(data.encode())
    by_code = {p.code: p for p in result.problems}
    line = data.split("\n")[2]
    assert by_code["missing-other"].line == 3
    assert by_code["missing-other"].column == line.index("{n,") + 1
    assert by_code["undefined-variable"].column == line.index("ghost}") + 1
    assert "offset" not in by_code["missing-other"].to_json()


def test_validate_checks_labels_and_the_language() -> None:
    story = {
        "format": "branching/1",
        "id": "s",
        "title": "S",
        "language": "xx-nowhere",
        "start": "a",
        "variables": {"n": 1},
        "nodes": {
            "a": {"choices": [{"label": "Take {n, plural, other {#}", "to": "b"}]},
            "b": {"ending": True},
        },
    }
    result = load_story_bytes(json.dumps(story, indent=1).encode())
    codes = {(p.code, p.path) for p in result.errors}
    assert ("unknown-language", "/language") in codes
    assert ("interpolation", "/nodes/a/choices/0/label") in codes


def test_text_without_blocks_renders_as_itself_after_a_copy_or_pickle() -> None:
    """A parsed text knows once whether it has blocks (every node entered renders its text);
    what it knows survives being copied to a worker process."""
    import dataclasses
    import pickle

    plain, block = parse_text("A {{brace}} and words"), parse_text("You have {gold} gold")
    assert plain.plain and not block.plain
    for text in (plain, pickle.loads(pickle.dumps(plain)), dataclasses.replace(plain)):
        assert text.render(Context({}, lambda node: 0)) == "A {brace} and words"
    again = pickle.loads(pickle.dumps(block))
    assert not again.plain
    assert again.render(Context({"gold": 3}, lambda node: 0)) == "You have 3 gold"
    assert again == block


@pytest.mark.parametrize("tag", ["en", "de", "fr"])
def test_numbers_read_as_babel_writes_them_whatever_was_asked_before(tag: str) -> None:
    """Number formats are cached; 1 and 1.0 are equal keys to a plain cache, so the cache
    keeps them apart."""
    from babel.numbers import format_decimal

    from branching.story import locales

    for number in (1, 1.0, 2.5, 1234567, 1234567.25, -3, 0.1):
        for _ in range(2):  # the second time from the cache
            expected = str(format_decimal(number, locale=locales._locale_or_default(tag)))
            assert locales.format_number(tag, number) == expected
