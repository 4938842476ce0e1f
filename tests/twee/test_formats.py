"""Story-format code: translated where faithful, otherwise dropped or kept, and always reported."""

from __future__ import annotations

import pytest

from branching.twee import Untranslatable, guess_format, translate_expression

from .helpers import imp, loaded, messages


@pytest.mark.parametrize(
    ("source", "dialect", "expected"),
    [
        ("$gold gte 3 and not $cursed", "sugarcube", "gold >= 3 and not cursed"),
        ("$a is 'x' or $b neq 2", "sugarcube", "a == 'x' or b != 2"),
        ('visited("Cellar")', "sugarcube", '(visits("cellar") > 0)'),
        ("$door is not 'open'", "harlowe", "door != 'open'"),
        ("it + 1", "harlowe", "gold + 1"),
        ('!hasCloak && room === "Bar"', "chapbook", "not hasCloak and room == 'Bar'"),
        ("_tmp * 2", "sugarcube", "_tmp * 2"),
    ],
)
def test_expressions_translate(source: str, dialect: str, expected: str) -> None:
    assert translate_expression(source, dialect, {"Cellar": "cellar"}, it="gold") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "dialect"),
    [
        ("random(1, 4)", "sugarcube"),
        ("$inv contains 'key'", "harlowe"),
        ("State.variables.x", "sugarcube"),
        ("$a.length > 1", "sugarcube"),
        ("config.header", "chapbook"),
        ("window", "sugarcube"),
    ],
)
def test_untranslatable_expressions(source: str, dialect: str) -> None:
    with pytest.raises(Untranslatable):
        translate_expression(source, dialect)  # type: ignore[arg-type]


def test_guess_format() -> None:
    assert guess_format(["<<if $x>>a<</if>>"]) == "sugarcube"
    assert guess_format(["(set: $x to 1)"]) == "harlowe"
    assert guess_format(["x: 1\n--\n{x}"]) == "chapbook"
    assert guess_format(["<% s.x = 1 %>"]) == "snowman"
    assert guess_format(["just [[links]]"]) == "plain"


SUGARCUBE = """:: StoryData
{"ifid": "X", "format": "SugarCube", "start": "Start"}

:: StoryInit
<<set $gold to 5, $name to "Ada">>
<<set $cursed to false>>

:: Start
<div class="box">Hello $name, you have $gold gold.</div>
<<set $visits += 1>>
<<textbox "$name" "Ada">>
<<if $gold gte 3>>[[Buy the map->Shop]]<<else>>[[Leave]]<</if>>
<<link "Steal" "Shop">><<set $cursed to true>><</link>>
[[Bribe|Shop][$gold to $gold - 2]]
<<goto "Leave">>

:: Shop
Sold.

:: Leave
Bye.
"""


def test_sugarcube_variables_conditions_effects_and_dropped_macros() -> None:
    result = imp(SUGARCUBE)
    story = result.story
    assert story is not None
    assert story["variables"] == {"cursed": False, "gold": 5, "name": "Ada", "visits_": 0}
    start = story["nodes"]["start"]
    assert start["text"] == "Hello {name}, you have {gold} gold."
    assert start["set"] == {"visits_": "visits_ + (1)"}
    assert start["choices"] == [
        {"label": "Buy the map", "to": "shop", "if": "gold >= 3"},
        {"label": "Leave", "to": "leave", "if": "not (gold >= 3)"},
        {"label": "Steal", "to": "shop", "set": {"cursed": True}, "id": "steal"},
        {"label": "Bribe", "to": "shop", "set": {"gold": "gold - 2"}, "id": "bribe"},
        {"label": "Continue", "to": "leave", "id": "continue"},
    ]
    found = messages(result)
    assert any(
        't.twee:11: passage "Start": dropped SugarCube macro <<textbox>>' in m for m in found
    )
    assert any('t.twee:9: passage "Start": removed HTML tags (div)' in m for m in found)
    assert any('passage "StoryInit": read 3 starting values' in m for m in found)
    assert any("automatic jump" in m for m in found)
    loaded(story)


def test_keep_macros_keeps_untranslatable_code_as_text() -> None:
    result = imp(SUGARCUBE, keep_macros=True)
    start = result.story["nodes"]["start"]  # type: ignore[index]
    assert '<<textbox "$name" "Ada">>' in start["text"]
    assert '<div class="box">' in start["text"]
    assert any("kept as text SugarCube macro <<textbox>>" in m for m in messages(result))
    loaded(result.story)


def test_conditional_effects_are_dropped_with_a_warning() -> None:
    result = imp(
        ":: Start\n<<set $a to 1>><<if $a is 1>><<set $a to 2>><</if>>\nEnd",
        story_format="sugarcube",
    )
    story = result.story
    assert story is not None and story["nodes"]["start"]["set"] == {"a": 1}
    assert any(
        "dropped the effect '<<set $a to 2>>': it depends on a condition" in m
        for m in messages(result)
    )


HARLOWE = """:: StoryData
{"ifid": "X", "format": "Harlowe", "format-version": "3.3.8"}

:: Start [startup-not]
(set: $keys to 0)(set: $door to "shut")
You hold $keys keys.
(if: $keys > 0)[ [[Open the door->Hall]] ](else:)[The door is $door.]
(link-goto: "Knock", "Hall")
(link: "Kick")[(set: $door to "broken")(goto: "Hall")]
(text-colour: red)+(text-style: "bold")[Shouting] (either: "a", "b")
(display: "Footer")

:: Hall
Inside. (print: $keys)

:: Footer
Credits. [[Hall]]

:: Init [startup]
(set: $keys to 1)
"""


def test_harlowe_hooks_links_and_embeds() -> None:
    result = imp(HARLOWE)
    story = result.story
    assert story is not None
    assert story["variables"] == {"door": "shut", "keys": 1}
    start = story["nodes"]["start"]
    assert start["set"] == {"keys": 0, "door": "'shut'"}
    assert start["text"].startswith("You hold {keys} keys.\n")
    assert "{keys > 0: |The door is {door}.}" in start["text"]  # (if:)[...](else:)[...]
    assert "Open the door" not in start["text"]  # a link only: a conditional choice
    assert "Shouting {~a|b}" in start["text"] and "Credits." in start["text"]  # (either:)
    assert start["choices"] == [
        {"label": "Open the door", "to": "hall", "if": "keys > 0"},
        {"label": "Knock", "to": "hall", "id": "knock"},
        {"label": "Kick", "to": "hall", "set": {"door": "'broken'"}, "id": "kick"},
        {"label": "Hall", "to": "hall", "id": "hall-2"},
    ]
    assert story["nodes"]["hall"]["text"] == "Inside. {keys}"
    found = messages(result)
    assert not any("(either:)" in m or "always shown" in m for m in found)
    loaded(story)


CHAPBOOK = """:: Start
hasCloak: true
room: 'Start'
config.header.center: 'x'
--
[align center]
Hello in the {room}.
[if hasCloak]
You wear a [[cloak->Cloak]].
[else]
You could [[take it->Take]].
[continue]
{back link} {link to: 'Take', label: 'Grab'}

:: Cloak
{embed passage: 'Take'}

:: Take
hasCloak: true
--
Taken. [[Start]]
"""


def test_chapbook_vars_modifiers_inserts_and_embeds() -> None:
    result = imp(CHAPBOOK, story_format="chapbook")
    story = result.story
    assert story is not None
    start = story["nodes"]["start"]
    assert start["set"] == {"hasCloak": True, "room": "'Start'"}
    assert start["text"] == "Hello in the {room}.\n{hasCloak: You wear a cloak.|You could take it.}"
    assert start["choices"] == [
        {"label": "cloak", "to": "cloak", "if": "hasCloak"},
        {"label": "take it", "to": "take", "if": "not (hasCloak)"},
        # {back link}: back to whichever passage the viewer came from.
        {"label": "Back", "to": "cloak", "if": 'back_start == "cloak"', "id": "back-cloak"},
        {"label": "Back", "to": "take", "if": 'back_start == "take"', "id": "back-take"},
        {"label": "Grab", "to": "take", "id": "grab"},
    ]
    assert story["variables"]["back_start"] == ""
    cloak = story["nodes"]["cloak"]
    assert cloak["text"] == "Taken. Start" and cloak["set"] == {"hasCloak": True}
    assert cloak["choices"] == [{"label": "Start", "to": "start", "set": {"back_start": '"cloak"'}}]
    found = messages(result)
    assert any("t.twee:4:" in m and "config.header.center" in m for m in found)
    assert any("t.twee:6:" in m and "[align center]" in m for m in found)
    assert any("t.twee:13:" in m and "{back link}" in m for m in found)
    loaded(story)


def test_snowman_code_is_dropped() -> None:
    result = imp(":: Start\n<% s.x = 1 %>Hi <%= s.x %>\n", story_format="snowman")
    assert result.story["nodes"]["start"]["text"] == "Hi"  # type: ignore[index]
    assert sum("dropped Snowman code" in m for m in messages(result)) == 2


def test_macro_naming_a_passage_becomes_a_choice_with_a_warning() -> None:
    result = imp(
        ':: Start\n<<tlink "go_key" "Forest">>\n:: Forest\nTrees.', story_format="sugarcube"
    )
    assert result.story["nodes"]["start"]["choices"] == [{"label": "Forest", "to": "forest"}]  # type: ignore[index]
    assert any('names the passage "Forest": imported it as a choice' in m for m in messages(result))


def test_special_passages_of_a_format_are_not_nodes() -> None:
    result = imp(
        ":: Start\nHi\n:: StoryCaption\nGold: $gold\n:: w [widget]\n<<widget 'x'>><</widget>>",
        story_format="sugarcube",
    )
    assert list(result.story["nodes"]) == ["start"]  # type: ignore[index]
    assert sum("special passage of Sugarcube" in m for m in messages(result)) == 2


def test_unknown_format_is_guessed_with_a_warning() -> None:
    result = imp(":: Start\n(set: $a to 1)Hi")
    assert result.format == "harlowe"
    assert any("read the passages as Harlowe" in m for m in messages(result))


def test_variable_never_set_gets_a_type_from_its_uses() -> None:
    result = imp(
        ":: Start\n<<if $flag>>[[A]]<</if>><<if $count > 2>>[[A]]<</if>>\n:: A\nx",
        story_format="sugarcube",
    )
    assert result.story["variables"] == {"count": 0, "flag": False}  # type: ignore[index]
    loaded(result.story)


def test_a_dropped_chapbook_insert_is_quoted_once() -> None:
    insert = "{embed unsplash image: 'https://unsplash.com/photos/rF1OwUp065Q'}"
    text = (
        f':: StoryData\n{{"format": "Chapbook"}}\n\n:: Start\n{insert}\n[[Next]]\n\n:: Next\nEnd.\n'
    )
    dropped = [m for m in messages(imp(text)) if "Chapbook insert" in m]
    assert len(dropped) == 1 and dropped[0].endswith(f"dropped Chapbook insert: {insert}")


# --- Ways back -----------------------------------------------------------------------------

TWO_WAYS_IN = ":: Start\nHi.\n[[A]]\n[[B]]\n\n:: A\nIn A. [[Room]]\n\n:: B\nIn B. [[Room]]\n\n"
BACK_STORIES = {
    "chapbook": ":: Start\nHi. [[Look]]\n:: Look\nA painting.\n\n{back link, label: 'Step back'}\n",
    "sugarcube": ':: Start\nHi. [[Look]]\n\n:: Look\nA painting.\n\n<<back "Step back">>\n',
    "harlowe": ':: Start\nHi. [[Look]]\n\n:: Look\nA painting.\n\n(link-undo: "Step back")\n',
}


@pytest.mark.parametrize("story_format", sorted(BACK_STORIES))
def test_a_way_back_is_a_choice_back_not_an_ending(story_format: str) -> None:
    result = imp(BACK_STORIES[story_format], story_format=story_format)
    assert result.story is not None
    look = result.story["nodes"]["look"]
    assert "ending" not in look
    assert look["choices"] == [{"label": "Step back", "to": "start"}]
    assert look["text"] == "A painting."
    assert any("became a choice back to the passage that leads here" in m for m in messages(result))
    loaded(result.story)


@pytest.mark.parametrize(
    ("story_format", "code", "undo"),
    [
        ("sugarcube", "<<return>>", False),
        ("sugarcube", "[[Return|previous()]]", False),
        ("harlowe", '(link-goto: "Return", (history:)\'s last)', False),
        ("harlowe", "(undo:)", True),
        ("chapbook", "{back link}", True),
    ],
)
def test_every_form_of_going_back_is_translated(story_format: str, code: str, undo: bool) -> None:
    twee = TWO_WAYS_IN + f":: Room\nA room.\n{code}\n[[Out]]\n\n:: Out\nBye."
    result = imp(twee, story_format=story_format)
    assert result.story is not None
    nodes = result.story["nodes"]
    backs = [c for c in nodes["room"]["choices"] if c["to"] in ("a", "b")]
    # Two ways in: the way back goes where the viewer came from, remembered on the way in.
    assert [(c["to"], c["if"]) for c in backs] == [
        ("a", 'back_room == "a"'),
        ("b", 'back_room == "b"'),
    ]
    assert nodes["a"]["choices"][0]["set"] == {"back_room": '"a"'}
    assert nodes["b"]["choices"][0]["set"] == {"back_room": '"b"'}
    said = " ".join(messages(result))
    assert ("does not undo" in said) is undo
    checked = loaded(result.story)
    assert checked.errors == []


def test_a_way_back_with_nowhere_to_go_leaves_no_silent_ending() -> None:
    result = imp(":: Start\nA painting.\n{back link}\n", story_format="chapbook")
    assert result.story is not None
    start = result.story["nodes"]["start"]
    assert "ending" not in start and "choices" not in start
    said = [p.format() for p in result.unplayable]
    assert any("its only ways on were dropped ({back link})" in m for m in said), said
    assert any("nowhere to go back to" in m for m in messages(result))


def test_going_back_plays_back_to_where_the_viewer_came_from() -> None:
    from branching.play.engine import Session
    from branching.story.model import Story

    twee = TWO_WAYS_IN + ":: Room\nA room.\n{back link}\n"
    result = imp(twee, story_format="chapbook")
    story = Story.model_validate(result.story)
    for via in ("b", "a"):
        session = Session(story)
        session.choose(via)
        session.choose("room")
        assert [offer.choice.to for offer in session.available_choices()] == [via]
        session.choose(via)
        assert session.node_id == via


@pytest.mark.parametrize("fmt", ["", "Harlowe", "SugarCube", "Chapbook"])
def test_a_start_of_nothing_but_links_is_playable(fmt: str) -> None:
    """A menu of links is a normal start (Twine's own example has one): not an empty screen."""
    data = f':: StoryData\n{{"format": "{fmt}"}}\n\n' if fmt else ""
    result = imp(
        data + ":: StoryTitle\nTwo Doors\n\n:: Start\n[[Left]]\n[[Right]]\n\n"
        ":: Left\nYou went left.\n\n:: Right\nYou went right.\n"
    )
    assert result.unplayable == [], [p.format() for p in result.unplayable]
    story = result.story
    assert story is not None
    assert [c["to"] for c in story["nodes"]["start"]["choices"]] == ["left", "right"]
    loaded(story)


def test_a_start_whose_words_were_all_code_is_unplayable() -> None:
    result = imp(
        ':: StoryData\n{"format": "SugarCube"}\n\n:: Start\n<<t "intro">>\n[[Go]]\n\n:: Go\nEnd.'
    )
    said = [p.format() for p in result.unplayable]
    assert any("start passage shows no words once the code" in m for m in said), said


@pytest.mark.parametrize(
    ("fmt", "code"),
    [
        ("Harlowe", "(set: $gold to 2)A (print: $gold + 1) B (print: $gold * 2) C"),
        ("SugarCube", "<<set $gold to 2>>A <<print $gold + 1>> B <<= $gold * 2>> C"),
        ("SugarCube", "<<set $gold to 2>>A <<- $gold + 1>> B <<print ($gold * 2)>> C"),
    ],
)
def test_printed_expressions_are_read_back(fmt: str, code: str) -> None:
    result = imp(
        f':: StoryData\n{{"format": "{fmt}"}}\n\n:: Start\n{code}\n[[End]]\n\n:: End\nEnd.'
    )
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == "A {gold + 1} B {gold * 2} C"
    assert not any("print" in m for m in messages(result)), messages(result)
    loaded(result.story)


def test_a_print_that_does_not_translate_or_check_is_dropped_and_said() -> None:
    result = imp(
        ':: StoryData\n{"format": "SugarCube"}\n\n:: Start\n<<set $gold to 2>>'
        'A <<print Math.max(1, $gold)>> B <<= "x" + $gold>> C\n[[End]]\n\n:: End\nEnd.'
    )
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == "A  B  C"
    said = messages(result)
    assert any("could not translate the printed expression 'Math.max" in m for m in said), said
    assert any("dropped the printed expression" in m for m in said), said
    loaded(result.story)


@pytest.mark.parametrize(
    ("source", "dialect", "expected"),
    [
        ('visited("Shop") gt 1', "sugarcube", 'visits("shop") > 1'),
        ('visited("Shop") > 1', "sugarcube", 'visits("shop") > 1'),
        ('visited("Shop") gte 2', "sugarcube", 'visits("shop") >= 2'),
        ('visited("Shop") is 0', "sugarcube", 'visits("shop") == 0'),
        ('2 <= visited("Shop")', "sugarcube", '2 <= visits("shop")'),
        ('visited("Shop") && $x', "sugarcube", '(visits("shop") > 0) and x'),
        ("visited() is 1", "sugarcube", 'visits("hall") == 1'),
        ("visited()", "sugarcube", '(visits("hall") > 0)'),
        ('(visited: "Shop")', "harlowe", '(visits("shop") > 0)'),
        ('(history:) contains "Shop"', "harlowe", '(visits("shop") > 0)'),
        ('(history:) contains "Hall"', "harlowe", '(visits("hall") > 1)'),
        ('(count: (history:), "Shop") >= 2', "harlowe", 'visits("shop") >= 2'),
        ('(count: (history:), "Hall") is 1', "harlowe", '(visits("hall") - 1) == 1'),
        (  # branching's own export of visits("shop") == 0
            '(((count: (history:), "Shop") + (cond: (passage:)\'s name is "Shop", 1, 0)) is 0)',
            "harlowe",
            '((visits("shop")) == 0)',
        ),
    ],
)
def test_visit_counts_translate_as_numbers_or_tests(
    source: str, dialect: str, expected: str
) -> None:
    """SugarCube's visited() is a count: compared, it stays one; alone, it is true when not 0."""
    ids = {"Shop": "shop", "Hall": "hall"}
    assert translate_expression(source, dialect, ids, current="hall") == expected  # type: ignore[arg-type]


def test_a_compared_visit_count_conditions_the_text() -> None:
    result = imp(
        ':: StoryData\n{"format": "SugarCube"}\n\n:: Start\n'
        '<<if visited("Shop") gt 1>>Again.<</if>>\n[[Shop]]\n\n'
        ":: Shop\nShop.\n[[Start]]\n[[End]]\n\n:: End\nEnd."
    )
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == '{visits("shop") > 1: Again.}'
    assert not any("could not translate" in m for m in messages(result)), messages(result)


def test_a_variable_never_set_is_located_where_it_is_used() -> None:
    result = imp(
        ':: StoryData\n{"format": "SugarCube"}\n\n:: Hall\nHall.\n[[Out]]\n\n'
        ":: Out\nOutside.\n\n<<if _pick === 1>>Snow<<else>>Hail<</if>>\n"
    )
    said = [m for m in messages(result) if "_pick is used but never set" in m]
    assert said and said[0].startswith('t.twee:11: passage "Out"'), messages(result)


def test_chapbook_comments_over_lines_scan_in_linear_time() -> None:
    """Lines that each close a comment and open the next make one chunk as long as the passage:
    its searches must not compare it with the passage, character by character, each time."""
    import time

    from branching.twee.formats.chapbook import scan_chapbook
    from branching.twee.formats.events import Lines

    def cost(times: int) -> float:
        text = "a -->b<!--\n" * times
        began = time.process_time()  # CPU time: the machine may be busy with other work
        events = scan_chapbook(text, Lines(text, 1))
        assert events
        return time.process_time() - began

    small, large = cost(50_000), cost(100_000)
    # Twice the text, about twice the time (a quadratic scan takes three to four times as long).
    assert large < 2.6 * small + 0.1 and large < 10.0, (small, large)
