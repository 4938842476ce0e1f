"""Suggestions, measured: on a simulated audience with planted tastes (written through the real
log writer) they beat popularity and random; with a small log they fall back in the documented
order and never lead to an ending the viewer has found while another is left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analytics.simulate import SimulationOptions, simulate
from analytics.suggest import Audience, Point, rank
from branching.cli import main
from branching.log import ChoiceLog
from branching.story.loader import read_story
from branching.story.model import Story

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def audience_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 viewers of Whiteout in two taste groups, five playthroughs each."""
    db = tmp_path_factory.mktemp("suggest") / "log.db"
    options = SimulationOptions(1500, seed=1, viewers=300, tastes=2, quit_rate=0.02)
    with ChoiceLog.open(db) as log, log.bulk_writer() as writer:
        simulate(read_story(DEMO), options, writer)
    return db


@pytest.mark.slow
def test_suggestions_beat_popularity_and_random_on_planted_tastes(audience_log: Path) -> None:
    result = cli("suggest", "evaluate", str(DEMO), "--db", str(audience_log), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["enough_data"] and data["evaluated"] >= 250
    rates = data["methods"]
    for k in ("hit_at_1", "hit_at_3"):
        assert rates["suggestions"][k] > rates["popularity"][k] > rates["random"][k], rates
    # The text report says the same, with the number of viewers evaluated.
    text = cli("suggest", "evaluate", str(DEMO), "--db", str(audience_log)).output
    assert f"{data['evaluated']:,} evaluated" in text and "suggestions" in text


def test_suggest_prints_a_viewers_suggestions_as_text_and_json(audience_log: Path) -> None:
    viewer = "sim-1-7"
    text = cli("suggest", str(DEMO), "--viewer", viewer, "--db", str(audience_log))
    assert text.exit_code == 0, text.output
    assert f"Viewer {viewer} last reached “" in text.output
    assert "1. Go back to “" in text.output
    data = json.loads(
        cli("suggest", str(DEMO), "--viewer", viewer, "--db", str(audience_log),
            "--format", "json").output
    )  # fmt: skip
    assert 1 <= len(data["suggestions"]) <= 3
    story = read_story(DEMO)
    for item in data["suggestions"]:
        assert item["choice"] in {c.key for c in story.nodes[item["node"]].choices or []}
        assert item["reason"]
    # `suggest show` is the same command.
    again = cli("suggest", "show", str(DEMO), "--viewer", viewer, "--db", str(audience_log))
    assert again.output == text.output


def test_suggest_for_a_viewer_without_an_ending_and_without_a_log(
    audience_log: Path, tmp_path: Path
) -> None:
    result = cli("suggest", str(DEMO), "--viewer", "nobody", "--db", str(audience_log))
    assert result.exit_code == 0
    assert "has not reached an ending of the story yet" in result.output
    missing = CliRunner().invoke(main, ["suggest", str(DEMO), "--db", str(tmp_path / "no.db")])
    assert missing.exit_code == 1 and "No choice log" in missing.output
    bad = CliRunner().invoke(main, ["suggest", str(DEMO), "--viewer", "\x1b[2J"])
    assert bad.exit_code == 2 and "\x1b" not in bad.output


def test_evaluate_says_when_there_is_not_enough_data(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with ChoiceLog.open(db) as log, log.bulk_writer() as writer:
        simulate(read_story(DEMO), SimulationOptions(40, seed=3, viewers=10), writer)
    result = cli("suggest", "evaluate", str(DEMO), "--db", str(db))
    assert result.exit_code == 0
    assert "10 came back for another" in result.output
    assert "Not enough data: at least 30 returning viewers are needed" in result.output


# --- The fallbacks, on a tiny story ---------------------------------------------------------------


@pytest.fixture
def cliff() -> Story:
    return Story.model_validate(
        {"format": "branching/1", "id": "s", "title": "S", "start": "edge", "nodes": {
            "edge": {"text": "", "title": "The Edge", "choices": [
                {"label": "Jump", "to": "sea"}, {"label": "Walk", "to": "path"},
                {"label": "Wait", "to": "dawn"}, {"label": "Back", "to": "sea2"}]},
            "sea": {"text": "", "ending": {"title": "The Sea"}},
            "sea2": {"text": "", "choices": [{"label": "On", "to": "sea"}]},
            "path": {"text": "", "ending": {"title": "The Path"}},
            "dawn": {"text": "", "ending": {"title": "Dawn"}}}}
    )  # fmt: skip


EDGE = [Point(0, "edge", "sea", ("sea", "path", "dawn", "sea2"))]


def test_an_empty_log_suggests_the_ways_nobody_took_to_endings_not_found(cliff: Story) -> None:
    ranked = rank(cliff, EDGE, Audience([]), viewer="me", current="sea", seen={"sea"})
    assert [(r.choice, r.tier) for r in ranked] == [("dawn", "unseen"), ("path", "unseen")]
    assert ranked[0].reason.startswith("no viewer has finished the story this way yet")
    # "sea2" only leads to the sea, which this viewer has found: not suggested.


def test_a_way_to_a_found_ending_only_when_nothing_else_is_left(cliff: Story) -> None:
    ranked = rank(
        cliff, EDGE, Audience([]), viewer="me", current="sea", seen={"sea", "path", "dawn"}
    )
    assert [(r.choice, r.tier) for r in ranked] == [
        ("dawn", "seen"), ("path", "seen"), ("sea2", "seen")
    ]  # fmt: skip
    assert ranked[0].reason == (
        "you have found every ending this can lead to; it is another way to “Dawn”"
    )


def test_alike_viewers_decide_once_the_log_is_big_enough(cliff: Story) -> None:
    rows: list[tuple[str, str, str, str, int]] = []
    # 12 viewers reached the sea and then dawn by waiting; 12 others only walked the path.
    for i in range(12):
        rows += [
            (f"a{i}", "sea", "", "", 1),
            (f"a{i}", "sea", "edge", "sea", 1),
            (f"a{i}", "dawn", "", "", 1),
            (f"a{i}", "dawn", "edge", "dawn", 1),
        ]
        rows += [(f"b{i}", "path", "", "", 3), (f"b{i}", "path", "edge", "path", 3)]  # fmt: skip
    ranked = rank(cliff, EDGE, Audience(rows), viewer="me", current="sea", seen={"sea"})
    assert ranked[0].choice == "dawn" and ranked[0].tier == "alike"
    assert (
        ranked[0].reason == "12 of the 12 viewers who also reached “The Sea” found “Dawn” this way"
    )
    # The path is popular, but among viewers unlike this one.
    assert [r.choice for r in ranked] == ["dawn", "path"]
