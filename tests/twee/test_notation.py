"""The Twee 3 notation, rule by rule (quotes are from the Twee 3 specification)."""

from __future__ import annotations

import pytest

from branching.twee import decode, parse_header, parse_twee

from .helpers import imp, loaded, messages


# "Each header must be a single line and is composed of ... start token ... passage name ...
#  optional tag block ... optional metadata block"
@pytest.mark.parametrize(
    ("header", "name", "tags", "metadata"),
    [
        (" An overgrown path", "An overgrown path", [], None),
        (" An overgrown path [forest spooky]", "An overgrown path", ["forest", "spooky"], None),
        (
            ' An overgrown path {"position":"600,400","size":"100,200"}',
            "An overgrown path",
            [],
            {"position": "600,400", "size": "100,200"},
        ),
        (
            ' An overgrown path [forest spooky] {"position":"600,400","size":"100,200"}',
            "An overgrown path",
            ["forest", "spooky"],
            {"position": "600,400", "size": "100,200"},
        ),
        # "Each component after the start token may be preceded by one or more spaces"
        ('Tight[a]{"size":"1,1"}', "Tight", ["a"], {"size": "1,1"}),
        ('   Spaced    [a]    {"size":"1,1"}   ', "Spaced", ["a"], {"size": "1,1"}),
    ],
)
def test_header_components(
    header: str, name: str, tags: list[str], metadata: dict[str, str] | None
) -> None:
    assert parse_header(header) == (name, tags, metadata, [])


# "passage and tag names that include the optional tag and metadata block opening and closing
#  metacharacters (i.e. [, ], {, }) must escape them"; "non-escape backslashes must also be
#  escaped"; "any escaped character within a chunk of encoded text yields the character minus
#  the backslash (\q yields q)".
@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (r"\[Hello\]", "[Hello]"),
        (r"\{world\}", "{world}"),
        (r"foo\\bar", "foo\\bar"),
        (r"\q", "q"),
        (r"a\ ", "a "),  # an escaped trailing space survives trimming
        (r"\ a", " a"),
        (r"\[Hello\] \{world\} \\\\", "[Hello] {world} \\\\"),
    ],
)
def test_name_escapes(encoded: str, decoded: str) -> None:
    name, tags, metadata, notes = parse_header(" " + encoded)
    assert (name, tags, metadata, notes) == (decoded, [], None, [])


def test_tag_escapes_and_spacing() -> None:
    # "a space separated list of tag names enclosed between [ ]. Tags themselves must not
    #  contain spaces."
    assert parse_header(r" P [a\]b  c\[ \{d\}]")[1] == ["a]b", "c[", "{d}"]
    assert parse_header(" P []")[1] == []
    assert parse_header(" P [  ]")[1] == []


def test_unescaped_closing_bracket_in_name_is_kept_with_a_note() -> None:
    name, _, _, notes = parse_header(" Room ] 2")
    assert name == "Room ] 2"
    assert "unescaped" in notes[0]


# "COMPILERS: It is recommended that the outcome of a decoding error should be to: emit a
#  warning, discard the metadata, and continue processing of the passage."
def test_bad_metadata_is_discarded_with_a_warning_and_the_passage_kept() -> None:
    result = imp(':: Start {"position":"1,2""size":"3,4"}\nMalformed metadata.')
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == "Malformed metadata."
    assert any(
        "t.twee:1:" in m and "could not decode the passage metadata" in m for m in messages(result)
    )


def test_unterminated_tag_block_reads_rest_as_tags() -> None:
    name, tags, _, notes = parse_header(" P [a b")
    assert (name, tags) == ("P", ["a", "b"])
    assert notes


# "The content section begins on the next line after the passage header and continues until
#  the next passage header or the end of file." / "Trailing blank lines must be ignored/omitted."
def test_content_runs_to_next_header_and_trailing_blank_lines_are_dropped() -> None:
    passages, problems = parse_twee(":: A\none\n\n  two\n\n\n:: B\nthree\n\n")
    assert [(p.name, p.text, p.line) for p in passages] == [
        ("A", "one\n\n  two", 1),
        ("B", "three", 7),
    ]
    assert problems == []


def test_escaped_header_lines_in_content() -> None:
    # Twine escapes a text line starting "::" as "\::" (extwee's escape.twee has one).
    passages, _ = parse_twee(":: A\n\\:: Extra header\nx :: y")
    assert passages[0].text == ":: Extra header\nx :: y"


def test_text_before_the_first_header_is_ignored_with_a_warning() -> None:
    result = imp("/**\n notes\n*/\n:: Start\nHi")
    assert result.story is not None
    assert any(
        "t.twee:1: ignored the text before the first passage header" in m for m in messages(result)
    )


def test_header_without_a_name_keeps_the_passage() -> None:
    result = imp(":: Start\n[[Go->Untitled passage (line 3)]]\n:: [tag]\nLost?")
    assert result.story is not None
    assert any("has no passage name" in m for m in messages(result))
    node = result.story["nodes"]["untitled-passage-line-3"]
    assert node["text"] == "Lost?" and node["tags"] == ["tag"]


def test_twee2_position_suffix_is_accepted() -> None:
    assert parse_header(" Old style [t] <120,40>") == ("Old style", ["t"], None, [])


def test_crlf_and_control_characters_are_cleaned() -> None:
    text, problems = decode(b":: Start\r\nHello\x1b]2;x\x07 there\r\n")
    assert text == ":: Start\nHello]2;x there\n"
    assert problems and problems[0].line == 2


def test_non_utf8_files_are_read_as_windows_1252_with_a_warning() -> None:
    text, problems = decode(":: Start\nCaf\u00e9".encode("cp1252"))
    assert text.endswith("Café")
    assert "not UTF-8" in problems[0].message


# Special passages -------------------------------------------------------------------------------

STORY_DATA = """:: StoryTitle
The Cellar

:: StoryData
{
  "ifid": "D674C58C-DEFA-4F70-B7A2-27742230C0FC",
  "format": "Harlowe",
  "format-version": "3.3.8",
  "start": "Front door",
  "tag-colors": {"x": "red"},
  "zoom": 0.25
}

:: Start
Not the start: StoryData says so.

:: Front door [outside]
A door. [[Knock->Start]]
"""


def test_story_title_and_story_data_start() -> None:
    result = imp(STORY_DATA)
    story = result.story
    assert story is not None
    assert story["title"] == "The Cellar"
    assert story["id"] == "the-cellar"
    assert story["start"] == "front-door"
    assert set(story["nodes"]) == {"start", "front-door"}
    assert story["nodes"]["front-door"]["title"] == "Front door"
    assert story["nodes"]["front-door"]["tags"] == ["outside"]
    loaded(story)


# "Start: The default starting passage. May be overridden by the story metadata or compiler
#  command."
def test_start_passage_defaults_to_start_and_can_be_chosen() -> None:
    text = ":: Intro\n[[Start]]\n:: Start\nThe start."
    assert imp(text).story["start"] == "start"  # type: ignore[index]
    assert imp(text, start="Intro").story["start"] == "intro"  # type: ignore[index]
    missing = imp(text, start="Nowhere")
    assert missing.story is None and "--start names no story passage" in missing.errors[0].message


def test_without_start_the_first_passage_starts_with_a_warning() -> None:
    result = imp(":: Intro\nHello\n:: Other\nBye")
    assert result.story is not None and result.story["start"] == "intro"
    assert any("starts at the first passage" in m for m in messages(result))


def test_story_data_start_naming_nothing_falls_back_with_a_warning() -> None:
    result = imp(':: StoryData\n{"ifid": "X", "start": "Nope"}\n:: Start\nHi')
    assert result.story is not None and result.story["start"] == "start"
    assert any('"Nope", which is not a story passage' in m for m in messages(result))


# "It is recommended that the outcome of a decoding error should be to: emit a warning, discard
#  the metadata, and continue processing the file."
def test_bad_story_data_is_discarded_with_a_warning() -> None:
    result = imp(':: Start\nSome content.\n:: StoryData\n{\n  "ifid": 2B68,\n}\n')
    assert result.story is not None
    assert any("t.twee:5:" in m and "could not decode StoryData" in m for m in messages(result))


def test_script_and_stylesheet_passages_are_dropped_with_warnings() -> None:
    result = imp(":: Start\nHi\n:: Code [script]\nwindow.x = 1;\n:: Look [stylesheet]\nbody {}\n")
    assert result.story is not None and list(result.story["nodes"]) == ["start"]
    found = messages(result)
    assert any('t.twee:3: passage "Code": dropped a script passage' in m for m in found)
    assert any('t.twee:5: passage "Look": dropped a stylesheet passage' in m for m in found)


def test_duplicate_passage_names_keep_the_last_with_a_warning() -> None:
    # The specification is silent; Tweego, the reference compiler, replaces the earlier one.
    result = import_two(":: Start\nfirst\n", ":: Start\nsecond\n")
    assert result.story is not None
    assert result.story["nodes"]["start"]["text"] == "second"
    assert any("b.twee:1:" in m and "replaces the one at a.twee:1" in m for m in messages(result))


def import_two(a: str, b: str):  # type: ignore[no-untyped-def]
    from branching.twee import import_twee

    return import_twee([("a.twee", a), ("b.twee", b)])


def test_multiple_files_make_one_story() -> None:
    result = import_two(
        ":: Start\n[[Next]]\n", ':: StoryData\n{"ifid":"X","start":"Start"}\n:: Next\nEnd'
    )
    assert result.story is not None
    assert set(result.story["nodes"]) == {"start", "next"}
    loaded(result.story)


def test_no_passages_is_an_error() -> None:
    result = imp("just notes, no passages")
    assert result.story is None and result.errors


def test_only_special_passages_is_an_error() -> None:
    result = imp(":: StoryTitle\nX\n:: StoryData\n{}\n")
    assert result.story is None
    assert "no story passages" in result.errors[0].message


# Ids -----------------------------------------------------------------------------------------


def test_passage_names_map_to_valid_distinct_ids_and_stay_as_titles() -> None:
    result = imp(
        ":: Start\n[[a->Cloakroom Hook]] [[b->cloakroom hook]] [[c->Ça va?]] [[d->日本]]\n"
        ":: Cloakroom Hook\nx\n:: cloakroom hook\ny\n:: Ça va?\nz\n:: 日本\nw"
    )
    story = result.story
    assert story is not None
    nodes = story["nodes"]
    assert list(nodes)[1:4] == ["cloakroom-hook", "cloakroom-hook-2", "ca-va"]
    assert list(nodes)[4].startswith("passage-")
    assert [n["title"] for n in nodes.values()] == [
        "Start",
        "Cloakroom Hook",
        "cloakroom hook",
        "Ça va?",
        "日本",
    ]
    assert [c["to"] for c in nodes["start"]["choices"]] == list(nodes)[1:]
    loaded(story)
