"""JSON inside Twee (StoryData, passage metadata, branching comments, settings, story-format
strings) goes through the strict reader: what cannot be used is reported, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from branching.cli import main

from .helpers import imp, loaded, messages

BIG = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000
IFID = "D674C58C-DEFA-4F70-B7A2-27742230C0FC"
SETTINGS = ":: Story Settings (branching) [branching-story]\n"
TAIL = "Hello [[End]]\n\n:: End\nBye\n"

CASES = {
    "StoryData, 5,000 digits": (
        f':: StoryData\n{{"ifid": "{IFID}", "zoom": {BIG}}}\n\n:: Start\n{TAIL}',
        "could not decode StoryData (the number 9999999999...999999 (5,000 digits) is too large",
    ),
    "StoryData, deep": (
        f':: StoryData\n{{"ifid": "{IFID}", "zoom": {DEEP}}}\n\n:: Start\n{TAIL}',
        "could not decode StoryData (nested too deeply",
    ),
    "StoryData, NaN": (
        f':: StoryData\n{{"ifid": "{IFID}", "zoom": NaN}}\n\n:: Start\n{TAIL}',
        "NaN is not a JSON number",
    ),
    "metadata, 5,000 digits": (
        f':: Start {{"position": {BIG}}}\n{TAIL}',
        "could not decode the passage metadata (the number 9999999999...",
    ),
    "metadata, deep": (f':: Start {{"size": {DEEP}}}\n{TAIL}', "nested too deeply"),
    "metadata, surrogate": (f':: Start {{"position": "\\ud800"}}\n{TAIL}', "lone surrogate"),
    "metadata, infinity": (f':: Start {{"position": -Infinity}}\n{TAIL}', "-Infinity is not"),
    "comment, 5,000 digits": (
        f":: Start\n<!-- branching: set gold: {BIG} -->\n{TAIL}",
        "dropped the effect gold = '999999999",
    ),
    "comment, deep": (
        f":: Start\n<!-- branching: set gold: {DEEP} -->\n{TAIL}",
        "dropped the effect gold = '[[[[[",
    ),
    "timer, 1e400": (
        f":: Start\n<!-- branching: timer: 1e400 s -> end -->\n{TAIL}",
        "ignored the timer '1e400 s -> end'",
    ),
    "timer, 5,000 digits": (
        f":: Start\n<!-- branching: timer: {BIG} s -> end -->\n{TAIL}",
        "ignored the timer '99999",
    ),
    "SugarCube string, surrogate": (
        f':: StoryData\n{{"ifid": "{IFID}", "format": "SugarCube"}}\n\n'
        f':: Start\n<<set $name to "\\ud800">>{TAIL}',
        "cannot read the string",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unusable_json_in_twee_is_reported_and_the_rest_imported(case: str) -> None:
    text, expected = CASES[case]
    result = imp(text)
    found = messages(result)
    assert any(expected in m for m in found), found
    assert all(len(m) < 400 for m in found), "a message echoes the whole input"
    loaded(result.story)  # the story itself is fine


@pytest.mark.parametrize(
    "text",
    [
        f"{SETTINGS}variable gold: 1e300\n\n:: Start\n{TAIL}",
        f"{SETTINGS}variable gold: 0\n\n:: Start\n<!-- branching: set gold: 1e300 -->\n{TAIL}",
        f':: Start\n<!-- branching: title: "\\ud800"; label: "\\udc00" -->\n{TAIL}',
        f'{SETTINGS}title: "\\ud800"\n\n:: Start\n{TAIL}',
    ],
)
def test_out_of_range_numbers_and_surrogates_never_reach_the_story(text: str) -> None:
    result = imp(text)
    loaded(result.story)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_import_command_writes_a_story(tmp_path: Path, case: str) -> None:
    source = tmp_path / "s.twee"
    source.write_text(CASES[case][0], encoding="utf-8")
    out = tmp_path / "s.json"
    result = CliRunner().invoke(
        main, ["import", "twee", str(source), "-o", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["validate", str(out)]).exit_code == 0


def test_a_twee_file_over_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import branching.story.json_input as json_input

    source = tmp_path / "s.twee"
    source.write_text(f":: Start\n{TAIL}")
    monkeypatch.setattr(json_input, "MAX_INPUT_BYTES", 10)
    result = CliRunner().invoke(main, ["import", "twee", str(source)])
    assert result.exit_code == 2
    assert "too large" in result.output
