"""``branching graph`` and ``branching stats``: maps with escaped story text, counts and paths."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import branching.graph
import branching.graph.maps
import branching.graph.stats
from branching.cli import main
from branching.graph import dot_text, mermaid_text, story_stats, to_dot, to_mermaid
from branching.story.model import Story

#: Short enough not to be cut in labels (32 characters).
HOSTILE = [
    'Say "hi"] --> evil["x"];',
    "click n0 call alert()",
    "%%{init: {}}%%",
    "<img src=x onerror=1>",
    "C:\\N \\G \\l end\\",
    "a | b ; c # d",
]


def hostile_story() -> Story:
    nodes: dict[str, Any] = {}
    for i, text in enumerate(HOSTILE):
        nodes[f"h{i}"] = {"text": text, "choices": [{"label": text, "to": f"h{i + 1}"}]}
    nodes[f"h{len(HOSTILE)}"] = {"text": "the end", "ending": True}
    return make(nodes, start="h0")


def make(nodes: dict[str, Any], start: str = "a", **extra: Any) -> Story:
    return Story.model_validate(
        {"format": "branching/1", "id": "g", "title": "G", "start": start, **extra, "nodes": nodes}
    )


def go(*targets: str, **extra: Any) -> dict[str, Any]:
    return {"choices": [{"label": f"to {t}", "to": t, **extra} for t in targets]}


END = {"ending": True}


def test_diamond_counts_paths_and_lengths() -> None:
    story = make({"a": go("b", "c"), "b": go("d"), "c": go("d", "e"), "d": go("e"), "e": END})
    stats = story_stats(story)
    assert stats.paths == 3  # a-b-d-e, a-c-d-e, a-c-e
    assert (stats.shortest_path, stats.longest_path) == (2, 3)
    assert (stats.nodes, stats.choices, stats.endings, stats.loops) == (5, 6, 1, 0)
    assert stats.branching_factor == pytest.approx(6 / 4)
    assert stats.decision_points == 2


def test_path_count_is_not_enumeration() -> None:
    # 200 diamonds in a row: 2**200 paths, counted at once.
    nodes: dict[str, Any] = {}
    for i in range(200):
        nodes[f"s{i}"] = go(f"l{i}", f"r{i}")
        nodes[f"l{i}"] = go(f"s{i + 1}")
        nodes[f"r{i}"] = go(f"s{i + 1}")
    nodes["s200"] = END
    stats = story_stats(make(nodes, start="s0"))
    assert stats.paths == 2**200
    assert stats.longest_path == stats.shortest_path == 400


def test_loop_on_the_way_makes_paths_unbounded() -> None:
    story = make({"a": go("b"), "b": go("a", "e"), "e": END})
    stats = story_stats(story)
    assert stats.paths is None and stats.loops == 1
    assert stats.to_json()["paths"] == "unbounded"
    # A viewer can go round {a, b} any number of times on the way to e.
    assert stats.longest_path == "unbounded" and stats.shortest_path == 2
    assert stats.to_json()["longest_path"] == "unbounded"


def test_shortest_is_never_longer_than_longest_with_loops() -> None:
    """A loop in the middle: the shortest way takes 3 choices and the longest has no bound."""
    story = make({"a": go("b"), "b": go("c"), "c": go("b", "e"), "e": END})
    stats = story_stats(story)
    assert stats.shortest_path == 3
    assert stats.longest_path == "unbounded"
    text = branching.graph.format_stats(stats)
    assert "shortest path      3 choices to an ending" in text
    assert "longest path       unbounded (a loop lies on a way" in text
    assert "each loop counted as one step" not in text


def test_loop_off_the_way_keeps_paths_bounded() -> None:
    # A trap loop that cannot reach an ending adds no start-to-ending path.
    story = make({"a": go("t", "e"), "t": go("u"), "u": go("t"), "e": END})
    stats = story_stats(story)
    assert stats.paths == 1 and stats.loops == 1


def test_unreachable_and_no_way_to_an_ending() -> None:
    story = make({"a": go("a"), "x": END})
    stats = story_stats(story)
    assert stats.unreachable == 1
    assert stats.paths == 0 and stats.shortest_path is None and stats.longest_path is None


def test_mermaid_marks_start_endings_conditions_and_timers() -> None:
    story = make(
        {
            "a": {
                "text": "Start",
                "timer": {"seconds": 5, "default": "b"},
                "choices": [
                    {"label": "Wait", "to": "b"},
                    {"label": "Open", "to": "c", "if": "key"},
                    {"label": "Leave", "to": "end"},
                ],
            },
            "b": {"text": "Late", "ending": {"kind": "bad"}},
            "c": {"text": "Free", "ending": {"kind": "good"}},
            "end": END,
        },
        variables={"key": False},
    )
    text = to_mermaid(story)
    assert text.startswith("flowchart TD\n")
    assert 'n_a[["a<br/>Start"]]' in text  # start: double border, id over the text
    assert 'n_b(["b<br/>bad ending"]):::bad' in text
    assert 'n_c(["c<br/>good ending"]):::good' in text
    assert 'n_a ==>|"Wait #40;5s#41;"| n_b' in text  # timer default: thick
    assert 'n_a -.->|"Open #40;if key#41;"| n_c' in text  # conditional: dotted
    assert 'n_a -->|"Leave"| n_end' in text  # plain; `end` (a Mermaid keyword) became n_end
    assert not re.search(r"(^|[\s|])end($|\s)", text, re.MULTILINE)


def test_mermaid_escapes_hostile_story_text() -> None:
    text = to_mermaid(hostile_story())
    lines = text.splitlines()
    nodes = [line for line in lines if re.match(r"  n_\w+[\[(]", line)]
    edges = [line for line in lines if re.match(r"  n_\w+ -", line)]
    assert len(nodes) == len(HOSTILE) + 1 and len(edges) == len(HOSTILE)
    for line in nodes:
        # One statement per node: a single quoted label with no live syntax inside.
        label = re.fullmatch(
            r'  n_\w+(?:\[\["|\(\["|\[")([^"]*)(?:"\]\]|"\]\)(?::::\w+)?|"\])', line
        )
        assert label is not None, line
        assert not re.search(r'[\[\]<>{}%\\|()"]', label.group(1).replace("<br/>", "")), line
    for line in edges:
        assert re.fullmatch(r'  n_\w+ -->\|"[^"|\\%<>{}\[\]()]*"\| n_\w+', line), line
    assert "click n0 call alert#40;#41;" in text  # shown literally, as text
    assert "#60;img src#61;x onerror#61;1#62;" in text


def test_dot_escapes_hostile_story_text_and_ids() -> None:
    text = to_dot(hostile_story())
    # Every quoted string closes where it should: drop escaped characters, then quotes pair up.
    unescaped = re.sub(r"\\.", "", text)
    for line in unescaped.splitlines():
        assert line.count('"') % 2 == 0, line
    assert 'label="Say \\"hi\\"] --> evil[\\"x\\"];"' in text
    assert 'label="C:\\\\N \\\\G \\\\l end\\\\"' in text  # \N would print the node name
    edges = [line for line in unescaped.splitlines() if re.match(r'  "h\d+" -> "h\d+"', line)]
    assert len(edges) == len(HOSTILE)


def test_escapers() -> None:
    assert mermaid_text("a\nb") == "a b"
    assert mermaid_text("Ünïcode ok") == "Ünïcode ok"
    assert dot_text("a\nb \\ c") == "a b \\\\ c"


def test_boxes_show_the_id_over_the_title_or_first_words() -> None:
    story = make(
        {
            "alley": {"title": "The Alley", "text": "Long text", **go("door")},
            "door": {"text": "A red door in the wall, half open.", **go("b")},
            "b": {"title": "Passage title", "ending": {"title": "Home", "kind": "good"}},
        },
        start="alley",
    )
    mermaid, dot = to_mermaid(story), to_dot(story)
    # The writer finds the ids in the text of the map, and the ending by its own title.
    assert '"alley<br/>The Alley"' in mermaid and '"door<br/>A red door in the wall' in mermaid
    assert '"b<br/>good ending: Home"' in mermaid and "Passage title" not in mermaid
    assert 'label="alley\\nThe Alley"' in dot and 'label="b\\ngood ending: Home"' in dot


def test_unreachable_nodes_look_different() -> None:
    story = make({"a": go("e"), "island": go("e"), "e": END})
    mermaid, dot = to_mermaid(story), to_dot(story)
    assert "  class n_island unreachable" in mermaid
    assert "classDef unreachable stroke-dasharray" in mermaid
    island = next(line for line in dot.splitlines() if line.startswith('  "island"'))
    assert 'style="rounded,dashed"' in island and "#777777" in island
    assert "unreachable" not in mermaid.split("classDef unreachable")[0].replace("%%", "")


BROKEN: dict[str, Any] = {
    "format": "branching/1",
    "id": "g",
    "title": "G",
    "start": "hall",
    "nodes": {
        "hall": {"title": "Hall", "choices": [{"label": "Down", "to": "celar"}, 5]},
        "cellar": {"text": "Dark", "ending": {"kind": "bad"}},
        "odd": "not a node",
        "garden": {"text": {"not": "text"}, "choices": [{"label": "x", "to": "nowhere"}]},
    },
}


def test_a_broken_story_still_gets_a_map_with_its_broken_links(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    runner = CliRunner()
    mermaid = runner.invoke(main, ["graph", str(path)])
    assert mermaid.exit_code == 1 and "Traceback" not in mermaid.output
    text = mermaid.stdout
    assert text.startswith("flowchart TD")
    assert 'm0["missing: celar"]:::missing' in text
    assert 'n_hall -.->|"Down"| m0' in text
    assert "linkStyle 0,1 stroke:#c00," in text  # both broken links, in red
    assert re.search(r"has \d+ errors: the map shows the story as it is", mermaid.stderr)
    dot = runner.invoke(main, ["graph", str(path), "--format", "dot"])
    assert dot.exit_code == 1
    assert '"missing: celar" [label="missing: celar", style="filled,dashed"' in dot.stdout
    assert '"hall" -> "missing: celar" [label="Down", style=dashed, color="#c00000"' in dot.stdout


def test_a_missing_start_is_drawn(tmp_path: Path) -> None:
    path = write(tmp_path, {**BROKEN, "start": "hal"})
    result = CliRunner().invoke(main, ["graph", str(path)])
    assert 'm_start[["missing start: hal"]]:::missing' in result.stdout
    assert "class n_hall,n_cellar,n_odd,n_garden unreachable" in result.stdout


def test_a_file_that_is_no_story_gets_no_map(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("[1, 2]")
    result = CliRunner().invoke(main, ["graph", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "no map" in result.stderr


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    return path


def story_file(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "format": "branching/1",
            "id": "g",
            "title": "G",
            "start": "a",
            "nodes": {"a": go("b", "c"), "b": go("c"), "c": END},
        },
    )


def test_graph_command(tmp_path: Path) -> None:
    path = story_file(tmp_path)
    runner = CliRunner()
    mermaid = runner.invoke(main, ["graph", str(path)])
    assert mermaid.exit_code == 0 and mermaid.output.startswith("flowchart TD")
    dot = runner.invoke(main, ["graph", str(path), "--format", "dot"])
    assert dot.exit_code == 0 and dot.output.startswith("digraph story {")
    out = tmp_path / "map.dot"
    written = runner.invoke(main, ["graph", str(path), "--format", "dot", "-o", str(out)])
    assert written.exit_code == 0 and out.read_text() == dot.output


def test_stats_command(tmp_path: Path) -> None:
    path = story_file(tmp_path)
    runner = CliRunner()
    text = runner.invoke(main, ["stats", str(path)])
    assert text.exit_code == 0
    assert "2 distinct paths from the start to an ending" in text.output
    data = json.loads(runner.invoke(main, ["stats", str(path), "--format", "json"]).output)
    assert data["paths"] == 2 and data["nodes"] == 3 and data["longest_path"] == 2


def test_stats_refuses_broken_stories(tmp_path: Path) -> None:
    path = write(tmp_path, {"format": "branching/1", "id": "g", "title": "G", "start": "zz",
                            "nodes": {"a": END}})  # fmt: skip
    result = CliRunner().invoke(main, ["stats", str(path)])
    assert result.exit_code == 1
    assert "missing-start" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("module", [branching.graph.maps, branching.graph.stats])
def test_doctests(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("output_format", ["mermaid", "dot"])
def test_a_broken_story_with_control_characters_is_drawn_inert(
    tmp_path: Path, output_format: str
) -> None:
    """The loader refuses control characters; the map of that broken story shows them inert."""
    data = {
        "format": "branching/1", "id": "g", "title": "T\x1b]2;pwned\x07", "start": "a",
        "nodes": {"a": {"text": "Hi\x1b[31m \ud800", "choices": [{"label": "\x9b", "to": "b"}]},
                  "b": {"ending": True}},
    }  # fmt: skip
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["graph", str(path), "--format", output_format])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]", result.stdout)
