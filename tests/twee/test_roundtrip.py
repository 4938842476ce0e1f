"""Export to Twee 3 and import back: every node, choice, ending, condition, effect and timer."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from branching.story.model import Story
from branching.twee import (
    SETTINGS_TAG,
    export_twee,
    ifid_for,
    import_files,
    import_twee,
    parse_link,
    parse_twee,
)

from .helpers import CORPUS, ROOT, loaded

TRICKY: dict[str, Any] = {
    "format": "branching/1",
    "id": "cellar",
    "title": "The Cellar",
    "version": "2",
    "author": 'Jo "J" Writer',
    "language": "en-GB",
    "start": "door",
    "variables": {"gold": 3, "key": False, "mood": "calm; really", "heat": 1.5, "visited_hall": 0},
    "nodes": {
        "door": {
            "title": "Front [door] | {of} the -> house",
            "tags": ["outside", "act-1"],
            "text": (
                "A door. You have {gold} gold.\n\n  Indented line.\n:: not a header\n{{braces}}"
            ),
            "set": {"mood": "'tense'", "heat": 2.5, "gold": "gold + 1"},
            "timer": {"seconds": 8, "default": "wait"},
            "choices": [
                {
                    "label": "Open it",
                    "to": "hall",
                    "if": "key and gold >= 2",
                    "set": {"key": False},
                },
                {
                    "label": "Knock; then wait",
                    "to": "hall",
                    "id": "knock",
                    "if": "mood == 'a;b -->'",
                },
                {"label": "Wait", "to": "door", "id": "wait", "set": {"gold": "3"}},
                {"label": "[[Odd]] label ]] with ][ brackets", "to": "end_good", "id": "odd"},
                {"label": "", "to": "end_bad", "id": "blank"},
            ],
        },
        "hall": {
            "text": "The [[hall]] <!-- not a comment for you -->",
            "choices": [{"label": "hall", "to": "end_good"}, {"label": "Back", "to": "door"}],
        },
        "end_good": {
            "title": "Free",
            "text": "You are free.",
            "ending": {"kind": "good", "title": "Out at last"},
        },
        "end_bad": {
            "title": "Free",
            "text": "Trapped.   ",
            "tags": ["two words", "script"],
            "ending": {"kind": "bad"},
        },
        "StoryTitle": {"title": "StoryData", "text": "\n\nLeading blank lines", "ending": True},
        "odd-ends": {"title": "odd-ends", "text": "", "ending": {"kind": "neutral"}, "choices": []},
        "Caps": {"text": "\\:: starts with backslash-colon", "ending": True},
    },
}


def roundtrip(story: Story) -> tuple[str, Story]:
    twee = export_twee(story)
    result = import_twee([("story.twee", twee)])
    assert result.errors == [], [p.format() for p in result.errors]
    assert result.warnings == [], [p.format() for p in result.warnings]
    assert result.story is not None
    return twee, Story.model_validate(result.story)


def test_tricky_story_round_trips_exactly() -> None:
    story = Story.model_validate(TRICKY)
    twee, back = roundtrip(story)
    assert back.model_dump() == story.model_dump()
    assert list(back.nodes) == list(story.nodes)
    assert list(back.variables) == list(story.variables)
    # and a second export is byte-identical (no churn in diffs)
    assert export_twee(back) == twee


def test_experiments_and_variants_round_trip_exactly() -> None:
    """Arms, weights and each variant's fields, a timer removed in one arm included."""
    from tests.story.test_experiments import cliff

    data = cliff()
    data["experiments"]["pace"] = {"arms": {"calm": 3, "rushed": 1.5}}
    data["nodes"]["edge"]["variants"]["pace"] = {"rushed": {"timer": None, "title": "Hurry"}}
    story = Story.model_validate(data)
    twee, back = roundtrip(story)
    assert back.model_dump() == story.model_dump()
    assert back.nodes["edge"].variants["pace"]["rushed"].model_fields_set == {"timer", "title"}
    assert export_twee(back) == twee


def test_export_is_readable_twee() -> None:
    twee = export_twee(Story.model_validate(TRICKY))
    # Harlowe has no setter links: a link with effects runs them, then goes.
    assert '(if: ($key and ($gold >= 2)))[ (link-reveal-goto: "Open it", ' in twee
    assert "[(set: $key to false)] <!-- branching: to: " in twee
    assert '"Open it"; if key and gold >= 2; set key: false -->' in twee
    assert "set mood: 'tense'" in twee and "timer: 8 -> wait" in twee
    assert "ending: bad" in twee
    assert "variable gold: 3" in twee


def test_export_parses_as_twee_without_problems() -> None:
    twee = export_twee(Story.model_validate(TRICKY))
    passages, problems = parse_twee(twee, "x.twee")
    assert problems == []
    names = [p.name for p in passages]
    assert names[:2] == ["StoryTitle", "StoryData"]
    assert len(names) == len(set(names)) == 3 + len(TRICKY["nodes"])
    data = json.loads(passages[1].text)
    assert data["start"] in names and data["format"] == "Harlowe"
    assert SETTINGS_TAG in passages[2].tags
    for passage in passages[3:]:
        assert set(passage.metadata or {}) == {"position", "size"}


def test_ifid_is_a_stable_uppercase_uuid() -> None:
    first = ifid_for("cellar")
    assert first == ifid_for("cellar") != ifid_for("attic")
    assert first == first.upper()
    parsed = uuid.UUID(first)
    assert parsed.version == 5 and parsed.variant == uuid.RFC_4122
    story = Story.model_validate(TRICKY)
    assert f'"ifid": "{first}"' in export_twee(story)
    assert '"ifid": "D674C58C-DEFA-4F70-B7A2-27742230C0FC"' in export_twee(
        story, ifid="d674c58c-defa-4f70-b7a2-27742230c0fc"
    )


# --- What Twine 2.6+ does with the export (its import and link code, re-stated) ---


def twine_passages(source: str) -> list[tuple[str, list[str], str]]:
    """Twine 2.6's storyFromTwee: split on '::' lines, header regex, Twine's unescapes."""
    passages = []
    for chunk in re.split(r"^::", source, flags=re.M):
        if not chunk.strip():
            continue
        header, *lines = chunk.split("\n")
        match = re.match(r"^\s*(.*?(?:\\\s)?)\s*(\[.*?\])?\s*(\{.*?\})?\s*$", header)
        assert match, header
        raw_name, raw_tags, raw_meta = match.groups()
        name = re.sub(r"\\([\[\]{}])", r"\1", raw_name).replace("\\\\", "\\")
        tags = [t for t in (raw_tags or "[]")[1:-1].split() if t]
        if raw_meta:
            json.loads(raw_meta)
        text = "\n".join(re.sub(r"^\\:", ":", line) for line in lines).strip()
        passages.append((name, tags, text))
    return passages


def test_twine_reads_the_same_passages_and_links() -> None:
    story = Story.model_validate(TRICKY)
    twee = export_twee(story)
    ours = {p.name: p for p in parse_twee(twee)[0]}
    twine = twine_passages(twee)
    assert [name for name, _, _ in twine] == list(ours)
    for name, tags, text in twine:
        assert tags == ours[name].tags
        assert text == ours[name].text.strip()
        # Twine's story map draws an arrow for every link; each must name a passage.
        for inner in re.findall(r"\[\[.*?\]\]", text):
            target = parse_link(inner[2:-2]).target
            assert target in ours, (name, inner)


# --- Round trips of other stories --------------------------------------------------------------


def test_corpus_story_round_trips_after_import() -> None:
    path = CORPUS / "chapbook-cloak-of-darkness" / "cloak-of-darkness.twee"
    if not path.exists():
        pytest.skip("shared/corpus is not beside the repo")
    imported = import_files([path]).story
    story = Story.model_validate(imported)
    _, back = roundtrip(story)
    assert back.model_dump() == story.model_dump()


@pytest.mark.parametrize("path", sorted((ROOT / "stories").glob("*.json")), ids=lambda p: p.name)
def test_example_stories_round_trip(path: Path) -> None:
    from branching.story.loader import read_story

    story = read_story(path)
    _, back = roundtrip(story)
    assert back.model_dump() == story.model_dump()


def test_twine_edits_are_picked_up() -> None:
    story = Story.model_validate(TRICKY)
    twee = export_twee(story)
    edited = twee.replace(
        "You are free.", "You are free!\n\n[[Again->Front (door) / (of) the - house]]"
    )
    result = import_twee([("story.twee", edited)])
    assert result.story is not None
    node = result.story["nodes"]["end_good"]
    assert node["text"] == "You are free!"
    # a link added in Twine is a choice; the ending comment no longer fits, and says so
    assert node["choices"] == [{"label": "Again", "to": "door"}]
    assert any("ignored the ending" in p.message for p in result.problems)
    loaded(result.story)


# --- Command line ------------------------------------------------------------------------------


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "branching", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_import_export_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "story.json"
    source.write_text(json.dumps(TRICKY), encoding="utf-8")
    exported = tmp_path / "story.twee"
    done = run("export", "twee", str(source), "-o", str(exported))
    assert done.returncode == 0, done.stderr
    back = tmp_path / "back.json"
    done = run("import", "twee", str(exported), "-o", str(back))
    assert done.returncode == 0, done.stderr
    assert "0 warnings" in done.stderr
    assert (
        Story.model_validate_json(back.read_text()).model_dump()
        == Story.model_validate(TRICKY).model_dump()
    )
    assert run("validate", str(back)).returncode == 0


def test_cli_import_warnings_go_to_stderr_and_json_to_stdout(tmp_path: Path) -> None:
    twee = tmp_path / "a.twee"
    twee.write_text(
        ':: Start\nYour name: <<textbox "$n" "x">>\n[[Next]]\n:: Next\nEnd\n', encoding="utf-8"
    )
    done = run("import", "twee", str(twee), "--format", "sugarcube")
    assert done.returncode == 0
    assert json.loads(done.stdout)["start"] == "start"
    assert f'{twee}:2: passage "Start": dropped SugarCube macro <<textbox>>' in done.stderr
    kept = run("import", "twee", str(twee), "--format", "sugarcube", "--keep-macros")
    assert "<<textbox" in json.loads(kept.stdout)["nodes"]["start"]["text"]


def test_cli_exit_codes(tmp_path: Path) -> None:
    empty = tmp_path / "empty.twee"
    empty.write_text("no passages here\n", encoding="utf-8")
    assert run("import", "twee", str(empty)).returncode == 1
    assert run("import", "twee", str(tmp_path / "missing.twee")).returncode == 2
    (tmp_path / "none").mkdir()
    no_twee = run("import", "twee", str(tmp_path / "none"))
    assert no_twee.returncode == 2 and "no .tw or .twee files" in no_twee.stderr
    story = tmp_path / "bad.json"
    story.write_text('{"format": "branching/1"}', encoding="utf-8")
    assert run("export", "twee", str(story)).returncode == 1
    assert run("export", "twee", str(tmp_path / "missing.json")).returncode == 2


def test_twee_module_imports_no_ui_or_graph_library() -> None:
    code = "import json, sys\nimport branching.twee\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    heavy = {
        m
        for m in json.loads(done.stdout)
        if m.split(".")[0] in ("textual", "networkx", "sqlite_utils")
    }
    assert heavy == set()


@pytest.mark.parametrize("enabled", [True, False])
def test_import_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    # import_twee pauses the cycle collector for speed; a host program must get it back as it was.
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        result = import_twee([("t.twee", ":: Start\nHello [[Bye]]\n:: Bye\nThe end.")])
        assert result.story is not None
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_an_unknown_start_is_located_in_the_file_imported(tmp_path: Path) -> None:
    doors = tmp_path / "doors.twee"
    doors.write_text(":: Start\n[[Left]]\n\n:: Left\nLeft.\n", encoding="utf-8")
    done = run("import", "twee", str(doors), "--start", "Nope")
    assert done.returncode == 1
    assert f'{doors}: error: --start names no story passage: "Nope"' in done.stderr
    assert "<twee>" not in done.stderr
