"""``branching validate --deep``: what only real plays reveal."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import branching.story.deep
from branching.cli import main
from branching.story.deep import DeepResult, explore
from branching.story.model import Story


def make(nodes: dict[str, Any], variables: dict[str, Any] | None = None) -> Story:
    return Story.model_validate(
        {
            "format": "branching/1",
            "id": "d",
            "title": "D",
            "start": "a",
            "variables": variables or {},
            "nodes": nodes,
        }
    )


def codes(result: DeepResult) -> set[tuple[str, str | None, str]]:
    return {(p.code, p.node, p.path) for p in result.problems}


END = {"ending": True}


def test_plain_story_explores_one_state_per_node() -> None:
    story = make({"a": {"choices": [{"label": "x", "to": "b"}]}, "b": END})
    result = explore(story)
    assert result.problems == [] and result.states == 2 and result.complete
    assert result.reached == {"a", "b"}


def test_stuck_when_every_choice_is_disabled() -> None:
    story = make(
        {
            "a": {
                "choices": [
                    {"label": "Spend", "to": "shop", "set": {"gold": "gold - 1"}},
                    {"label": "Leave", "to": "z"},
                ]
            },
            "shop": {"choices": [{"label": "Buy", "to": "z", "if": "gold > 0"}]},
            "z": END,
        },
        {"gold": 1},
    )
    result = explore(story)
    [problem] = result.problems
    assert (problem.code, problem.severity, problem.node) == ("deep-stuck", "error", "shop")
    assert problem.path == "/nodes/shop/choices"
    assert 'choices: "Spend"; ' in problem.message and "gold=0" in problem.message


def test_runtime_error_in_a_condition_and_in_effects() -> None:
    story = make(
        {
            "a": {
                "choices": [
                    {"label": "Share", "to": "b", "set": {"share": "gold / people"}},
                    {"label": "Split", "to": "c"},
                ]
            },
            "b": END,
            "c": {"choices": [{"label": "Check", "to": "b", "if": "gold % people == 0"}]},
        },
        {"gold": 10, "people": 0, "share": 0},
    )
    found = codes(explore(story))
    assert ("deep-runtime-error", "a", "/nodes/a/choices/0/set/share") in found
    assert ("deep-runtime-error", "c", "/nodes/c/choices/0/if") in found


def test_runtime_error_on_entering_a_node() -> None:
    story = make(
        {"a": {"choices": [{"label": "x", "to": "b"}]}, "b": {"set": {"n": "n * n * n"}, **END}},
        {"n": 2**20},
    )
    [problem] = explore(story).problems  # b counts as reached: no deep-unreachable-ending
    assert (problem.code, problem.node, problem.path) == (
        "deep-runtime-error",
        "b",
        "/nodes/b/set/n",
    )
    assert "out of range" in problem.message


def test_conditions_make_nodes_and_endings_unreachable() -> None:
    story = make(
        {
            "a": {
                "choices": [
                    {"label": "Secret", "to": "secret", "if": "key"},
                    {"label": "On", "to": "z"},
                ]
            },
            "secret": {"choices": [{"label": "Win", "to": "win"}]},
            "win": {"ending": {"kind": "good"}},
            "z": END,
        },
        {"key": False},
    )
    assert codes(explore(story)) == {
        ("deep-unreachable-node", "secret", "/nodes/secret"),
        ("deep-unreachable-ending", "win", "/nodes/win"),
    }
    # Nodes the plain checks already report as unreachable are not repeated.
    assert explore(story, skip={"secret", "win"}).problems == []


def test_effects_apply_in_order_and_visits_count_the_current_entry() -> None:
    story = make(
        {
            "a": {
                "set": {"x": "x + 1", "y": "x * 10"},  # y sees the new x
                "choices": [
                    {"label": "Again", "to": "a", "if": "visits('a') < 3"},
                    {"label": "Done", "to": "check", "if": "visits('a') == 3 and y == 30"},
                ],
            },
            "check": {"choices": [{"label": "End", "to": "z"}]},
            "z": END,
        },
        {"x": 0, "y": 0},
    )
    result = explore(story)
    assert result.problems == [] and result.complete
    assert result.reached == {"a", "check", "z"}


def test_visit_counts_are_capped_so_loops_end() -> None:
    story = make(
        {
            "a": {
                "choices": [
                    {"label": "Round", "to": "a"},
                    {"label": "Out", "to": "z", "if": "visits('a') > 2"},
                ]
            },
            "z": END,
        }
    )
    result = explore(story)
    assert result.complete and result.problems == []
    assert result.states == 4  # a with 1, 2, 3+ visits, and z


def test_bound_is_reported() -> None:
    story = make(
        {
            "a": {
                "choices": [
                    {"label": "More", "to": "a", "set": {"n": "n + 1"}},
                    {"label": "Stop", "to": "z"},
                ]
            },
            "z": END,
            "never": {"choices": [{"label": "x", "to": "z", "if": "n < 0"}]},
        },
        {"n": 0},
    )
    result = explore(story, max_states=50)
    assert not result.complete and result.states == 50
    assert {p.code for p in result.problems} == {"deep-bound"}  # no unreachable guesses


def write(tmp_path: Path, nodes: dict[str, Any], variables: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    data = {
        "format": "branching/1",
        "id": "d",
        "title": "D",
        "start": "a",
        "variables": variables,
        "nodes": nodes,
    }
    path.write_text(json.dumps(data, indent=1))
    return path


def test_cli_deep_reports_located_errors_and_exit_1(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"a": {"choices": [{"label": "x", "to": "z", "if": "gold > 5"}]}, "z": END},
        {"gold": 0},
    )
    runner = CliRunner()
    plain = runner.invoke(main, ["validate", str(path)])
    assert plain.exit_code == 0 and "all-conditional" in plain.output
    deep = runner.invoke(main, ["validate", "--deep", str(path), "--format", "json"])
    assert deep.exit_code == 1
    problems = json.loads(deep.output)
    stuck = next(p for p in problems if p["code"] == "deep-stuck")
    assert stuck["node"] == "a" and stuck["path"] == "/nodes/a/choices"
    assert stuck["line"] is not None and stuck["column"] is not None


def test_cli_deep_summary_and_bound(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "a": {
                "choices": [
                    {"label": "More", "to": "a", "set": {"n": "n + 1"}},
                    {"label": "Stop", "to": "z"},
                ]
            },
            "z": END,
        },
        {"n": 0},
    )
    result = CliRunner().invoke(main, ["validate", "--deep", "--max-states", "20", str(path)])
    assert result.exit_code == 0
    assert "[deep-bound]" in result.output
    assert "deep check: 20 states (stopped at --max-states 20)" in result.output


@pytest.mark.parametrize("bound", ["0", "10000001", "99999999999999", "-5"])
def test_cli_max_states_out_of_range_is_a_usage_error(tmp_path: Path, bound: str) -> None:
    # A bound nobody's memory can hold would run until the machine gives out.
    path = write(tmp_path, {"a": {"text": "x", "ending": True}}, {})
    result = CliRunner().invoke(main, ["validate", "--deep", "--max-states", bound, str(path)])
    assert result.exit_code == 2
    assert "1<=x<=10000000" in result.output


def test_cli_deep_is_skipped_when_there_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, {"a": {"choices": [{"label": "x", "to": "nowhere"}]}}, {})
    result = CliRunner().invoke(main, ["validate", "--deep", str(path)])
    assert result.exit_code == 1
    assert "deep check skipped: fix the errors first" in result.output


def test_doctests() -> None:
    result = doctest.testmod(branching.story.deep, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
