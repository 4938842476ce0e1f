"""Experiments in the story format: assignment, arm views and what validate says about them."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from branching.cli import main
from branching.story.experiments import (
    assign_arm,
    assignments,
    parse_arm_options,
    story_for_arms,
    unit_interval,
)
from branching.story.loader import load_story_bytes
from branching.story.model import Experiment, Story

ROOT = Path(__file__).resolve().parents[2]


def cliff(**changes: Any) -> dict[str, Any]:
    """A small story with one experiment changing one node's choices."""
    story: dict[str, Any] = {
        "format": "branching/1",
        "id": "cliff",
        "title": "Cliff",
        "start": "edge",
        "experiments": {"wording": {"title": "Leap or jump", "arms": {"old": 1, "new": 1}}},
        "nodes": {
            "edge": {
                "text": "A cliff.",
                "choices": [
                    {"label": "Jump", "to": "sea", "id": "jump"},
                    {"label": "Walk", "to": "path", "id": "walk"},
                ],
                "timer": {"seconds": 5, "default": "walk"},
                "variants": {
                    "wording": {
                        "new": {
                            "text": "A sheer cliff.",
                            "choices": [
                                {"label": "Leap!", "to": "sea", "id": "jump"},
                                {"label": "Walk", "to": "path", "id": "walk"},
                            ],
                        }
                    }
                },
            },
            "sea": {"text": "Splash.", "ending": {"title": "Wet", "kind": "bad"}},
            "path": {"text": "A path.", "ending": {"title": "Safe", "kind": "good"}},
        },
    }
    story.update(changes)
    return story


def load(data: dict[str, Any]) -> tuple[Story | None, list[tuple[str, str, str]]]:
    result = load_story_bytes(json.dumps(data, indent=1).encode())
    return result.story, [(p.code, p.path, p.message) for p in result.problems]


# --- Assignment ---------------------------------------------------------------------------------


def test_assignment_follows_the_documented_rule() -> None:
    """Recomputed here from the rule in the docs, with nothing but hashlib."""
    for viewer in ("ann", "viewer-1", "é-ü", "x" * 128):
        digest = hashlib.sha256(f"branching-arm/1\x1fwording\x1f{viewer}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        assert unit_interval("wording", viewer) == point
        expected = "a" if point < 0.25 else "b"
        assert assign_arm(viewer, "wording", Experiment(arms={"a": 1, "b": 3})) == expected


def test_assignment_is_sticky_and_follows_the_weights() -> None:
    experiment = Experiment(arms={"a": 1, "b": 3})
    counts = Counter(assign_arm(f"v{i}", "e", experiment) for i in range(20_000))
    assert abs(counts["a"] / 20_000 - 0.25) < 0.015
    assert all(assign_arm(f"v{i}", "e", experiment) == assign_arm(f"v{i}", "e", experiment)
               for i in range(100))  # fmt: skip
    # Experiments are independent: the arm in one says nothing of the arm in another.
    other = Experiment(arms={"x": 1, "y": 1})
    pairs = Counter(
        (assign_arm(f"v{i}", "e", experiment), assign_arm(f"v{i}", "f", other))
        for i in range(20_000)
    )
    assert abs(pairs[("a", "x")] / 20_000 - 0.125) < 0.012


def test_forced_arms_win_and_unknown_ones_are_named() -> None:
    story, _ = load(cliff())
    assert story is not None
    assert assignments(story, "anyone", {"wording": "new"}) == {"wording": "new"}
    with pytest.raises(ValueError, match=r'no arm "neww" \(its arms: old, new\)'):
        assignments(story, "anyone", {"wording": "neww"})
    with pytest.raises(ValueError, match='no experiment "pace"'):
        assignments(story, "anyone", {"pace": "slow"})
    with pytest.raises(ValueError, match="EXPERIMENT=ARM"):
        parse_arm_options(["wording"])


def test_an_arm_sees_its_variant_and_the_control_sees_the_node_as_written() -> None:
    story, _ = load(cliff())
    assert story is not None
    new = story_for_arms(story, {"wording": "new"})
    assert new.nodes["edge"].text == "A sheer cliff."
    assert [c.label for c in new.nodes["edge"].choices or []] == ["Leap!", "Walk"]
    assert new.nodes["edge"].timer is not None  # not overridden: kept
    assert new.content_hash == story.content_hash
    assert story_for_arms(story, {"wording": "old"}) is story


def test_a_variant_can_remove_the_timer() -> None:
    data = cliff()
    data["nodes"]["edge"]["variants"]["wording"]["new"]["timer"] = None
    story, problems = load(data)
    assert story is not None, problems
    assert story_for_arms(story, {"wording": "new"}).nodes["edge"].timer is None


# --- Validation ---------------------------------------------------------------------------------


def test_a_sound_experiment_validates_cleanly() -> None:
    story, problems = load(cliff())
    assert story is not None and problems == []


def test_declarations_are_checked() -> None:
    data = cliff(
        experiments={
            "wording": {"arms": {"old": 1, "new": 1}},
            "lonely": {"arms": {"only": 1}},
            "weights": {"arms": {"a": 0, "b": -2}},
        }
    )
    _, problems = load(data)
    codes = Counter(code for code, _, _ in problems)
    assert codes == {"experiment-arms": 1, "experiment-weight": 2, "unused-experiment": 2}
    assert ("experiment-weight", "/experiments/weights/arms/b") in {(c, p) for c, p, _ in problems}


def test_variants_name_known_experiments_and_arms_and_not_the_control() -> None:
    data = cliff()
    variants = data["nodes"]["edge"]["variants"]
    variants["wordng"] = {"new": {"text": "x"}}
    variants["wording"]["neww"] = {"text": "y"}
    variants["wording"]["old"] = {"text": "z"}
    _, problems = load(data)
    found = {(code, path): message for code, path, message in problems}
    assert 'did you mean "wording"?' in found[("unknown-experiment", "/nodes/edge/variants/wordng")]
    assert 'did you mean "new"?' in found[("unknown-arm", "/nodes/edge/variants/wording/neww")]
    assert ("control-variant", "/nodes/edge/variants/wording/old") in found


def test_problems_inside_a_variant_are_located_in_the_variant() -> None:
    data = cliff()
    choices = data["nodes"]["edge"]["variants"]["wording"]["new"]["choices"]
    choices[1] = {"label": "Stroll {mood}", "to": "nowhere", "id": "stroll"}
    data["nodes"]["sea"]["variants"] = {"wording": {"new": {"choices": [choices[0]]}}}
    _, problems = load(data)
    found = {(code, path): message for code, path, message in problems}
    at = "/nodes/edge/variants/wording/new/choices/1"
    assert found[("missing-node", at + "/to")].startswith('in experiment "wording", arm "new": ')
    assert ("undefined-variable", at + "/label") in found
    # The node's timer default is not one of the arm's choices any more.
    assert "timer-default" in {code for code, _ in found}
    assert ("ending-with-choices", "/nodes/sea/variants/wording/new/choices") in found
    # Nothing is reported twice, or against the node as written.
    assert not any(path.startswith("/nodes/edge/choices") for _, path in found)


def test_map_checks_run_for_each_arm() -> None:
    data = cliff()
    data["nodes"]["loop"] = {"text": "Round.", "choices": [{"label": "Again", "to": "loop"}]}
    data["nodes"]["edge"].pop("timer")
    data["nodes"]["edge"]["variants"]["wording"]["new"]["choices"][1]["to"] = "loop"
    story, problems = load(data)
    assert story is not None
    found = {(code, path): message for code, path, message in problems}
    # Reached in arm "new", so not unreachable; but a trap there, and an ending it cannot reach.
    assert ("unreachable", "/nodes/loop") not in found
    assert found[("trap", "/nodes/loop")].startswith('in experiment "wording", arm "new": ')
    assert ("unreached-ending", "/nodes/path") in found


def test_graph_and_stats_take_an_arm(tmp_path: Path) -> None:
    data = cliff()
    data["nodes"]["edge"]["variants"]["wording"]["new"]["choices"] = [
        {"label": "Leap!", "to": "sea", "id": "jump"}
    ]
    data["nodes"]["edge"].pop("timer")
    path = tmp_path / "cliff.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    runner = CliRunner()
    written = runner.invoke(main, ["stats", str(path), "--format", "json"])
    arm = runner.invoke(main, ["stats", str(path), "--format", "json", "--arm", "wording=new"])
    assert json.loads(written.output)["choices"] == 2
    assert json.loads(arm.output)["choices"] == 1
    drawn = runner.invoke(main, ["graph", str(path), "--arm", "wording=new"])
    assert drawn.exit_code == 0 and "Leap!" in drawn.output and "Walk" not in drawn.output
    bad = runner.invoke(main, ["graph", str(path), "--arm", "wording=newer"])
    assert bad.exit_code == 2 and "its arms: old, new" in bad.output


def test_deep_plays_every_arm(tmp_path: Path) -> None:
    data = cliff(variables={"n": 0})
    choices = data["nodes"]["edge"]["variants"]["wording"]["new"]["choices"]
    choices[0]["if"] = "10 / n > 1"  # fails only on real values, and only in arm "new"
    path = tmp_path / "cliff.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(path), "--deep"])
    assert result.exit_code == 1
    assert '[deep-runtime-error] node "edge": in experiment "wording", arm "new": ' in result.output
