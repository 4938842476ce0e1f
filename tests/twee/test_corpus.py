"""Real Twee files of different story formats (../shared/corpus/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from branching.twee import import_files

from .helpers import CORPUS, ROOT, loaded

EXTWEE = sorted((CORPUS / "extwee-fixtures").rglob("*.twee"))
CLOAK = CORPUS / "chapbook-cloak-of-darkness" / "cloak-of-darkness.twee"
ALCHEMIST = CORPUS / "sugarcube-i18n-alchemist" / "src"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus is not beside the repo")


def test_the_extwee_fixtures_are_all_there() -> None:
    assert len(EXTWEE) == 30


@pytest.mark.parametrize(
    "path", EXTWEE, ids=lambda p: str(p.relative_to(CORPUS / "extwee-fixtures"))
)
def test_every_extwee_fixture_imports_without_crashing(path) -> None:  # type: ignore[no-untyped-def]
    result = import_files([path])
    if result.story is not None:
        loaded(result.story)
    else:
        # Only inputs without story passages may fail, and they say so.
        assert result.errors
        assert any(
            "no passages" in e.message or "no story passages" in e.message for e in result.errors
        )
    for problem in result.problems:
        assert problem.file, problem  # every problem is located in a file


def test_extwee_escapes_fixture() -> None:
    result = import_files([CORPUS / "extwee-fixtures/test/Twee/TweeParser/escape.twee"])
    story = result.story
    assert story is not None
    (node,) = story["nodes"].values()
    assert node["title"] == "[Hello] {world} \\\\"
    assert story["start"] == next(iter(story["nodes"]))  # StoryData start names the escaped name
    assert node["text"] == ":: Extra header"
    assert story["title"] == "Cursed"


def test_extwee_start_metadata_fixture() -> None:
    result = import_files([CORPUS / "extwee-fixtures/test/Story/startmeta.twee"])
    assert result.story is not None and result.story["start"] == "another"
    assert sum("dropped a script passage" in p.message for p in result.problems) == 2
    assert sum("dropped a stylesheet passage" in p.message for p in result.problems) == 2


def test_cloak_of_darkness_imports_and_validates() -> None:
    result = import_files([CLOAK])
    story = result.story
    assert story is not None
    assert result.format == "chapbook"
    nodes = story["nodes"]
    assert len(nodes) == 14
    assert story["start"] == "start"
    assert story["variables"]["hasCloak"] is True
    hook = nodes["cloakroom-hook"]
    assert [(c["to"], c.get("if")) for c in hook["choices"]] == [
        ("hang-cloak", "hasCloak"),
        ("cloak", "hasCloak"),
        ("pick-up-your-cloak-and-wear-it", "not (hasCloak)"),
        ("cloakroom", "not (hasCloak)"),
    ]
    # {embed passage: 'Cloakroom'} brings Cloakroom's text and choices into "hang cloak".
    assert nodes["hang-cloak"]["set"] == {"hasCloak": False, "room": "'Cloakroom'"}
    assert nodes["hang-cloak"]["text"] == nodes["cloakroom"]["text"]
    assert nodes["read-message"]["ending"] is True
    assert "[Iain Merrick](http://www.philome.la" in nodes["start"]["text"]
    # "Cloak" held only a {back link}: it is a way back, not a fourth ending.
    assert "ending" not in nodes["cloak"]
    assert {c["to"] for c in nodes["cloak"]["choices"]} == {
        "foyer",
        "cloakroom",
        "cloakroom-hook",
        "hang-cloak",
        "pick-up-your-cloak-and-wear-it",
    }
    assert [n for n, node in nodes.items() if node.get("ending")] == ["read-message"]
    assert result.unplayable == []
    loaded(story)
    # Every warning names its passage and line.
    assert all(p.line is not None for p in result.warnings)


def test_sugarcube_multi_file_story_imports_and_validates() -> None:
    files = [
        ALCHEMIST / "story.twee",
        ALCHEMIST / "style.twee",
        *sorted((ALCHEMIST / "locales").glob("*.twee")),
    ]
    result = import_files(files)
    story = result.story
    assert story is not None
    assert result.format == "sugarcube"
    assert story["title"] == "The Alchemist's Apprentice"
    assert story["variables"]["gold"] == 100  # from StoryInit
    nodes = story["nodes"]
    assert {"start", "hub", "forest", "market"} <= set(nodes)
    assert [c["to"] for c in nodes["hub"]["choices"]] == ["forest", "market"]
    loaded(story)
    # Its start shows nothing but i18n macros and no ending can be reached: not playable.
    said = [p.format() for p in result.unplayable]
    assert any("start passage shows no words" in m for m in said), said
    assert any("no ending can be reached" in m for m in said), said
    messages = [p.format() for p in result.problems]
    assert any("story.twee:12:" in m and "dropped a script passage" in m for m in messages)
    assert any("style.twee:1:" in m and "dropped a stylesheet passage" in m for m in messages)


def test_a_folder_imports_like_its_files() -> None:
    by_folder = import_files([ALCHEMIST])
    assert by_folder.story is not None
    assert set(by_folder.story["nodes"]) >= {"start", "hub", "forest", "market"}


def test_importing_an_unplayable_story_says_so_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "alchemist.json"
    done = subprocess.run(
        [sys.executable, "-m", "branching", "import", "twee", str(ALCHEMIST), "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr
    assert "error: the imported story is not playable" in done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(out.read_text())["start"] == "start"  # written, to be finished by hand


@pytest.mark.parametrize("name", ["TweeParser/example.twee", "Roundtrip/Files/example2.twee"])
def test_twines_own_example_is_playable(name: str) -> None:
    path = next(p for p in EXTWEE if p.as_posix().endswith(name))
    result = import_files([path])
    assert result.story is not None
    assert result.unplayable == [], [p.format() for p in result.unplayable]
