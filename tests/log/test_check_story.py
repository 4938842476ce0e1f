"""``log check --story``: a playthrough is impossible only if it is for every viewer.

The log cannot know a returning viewer's profile values or history (``playthroughs()``,
``endings_found()``, ``ending_seen()``): the profile lives outside the log, and earlier
playthroughs may have gone unlogged. What the playthrough itself determines is still checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from branching.log.replay import replay_any_viewer
from branching.play.engine import Diverged, Session
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    MemoryRecorder,
    NodeEntered,
)
from branching.play.profiles import ViewerProfile
from branching.story.model import Story
from tests.log.helpers import ROOT, run_cli


def _story(**nodes: Any) -> Story:
    return Story.model_validate(
        {
            "format": "branching/1",
            "id": "gates",
            "title": "Gates",
            "start": "hall",
            "variables": {"known": False, "copied": False, "n": 0},
            "profile": {"brave": False, "trust": 0},
            "nodes": {
                "hall": {
                    "text": "A hall.",
                    "choices": [
                        {"label": "Door", "to": "end"},
                        *nodes.pop("choices", []),
                    ],
                },
                "end": {"text": "The end.", "ending": {"kind": "good"}},
                "mid": {"text": "Mid.", "choices": [{"label": "On", "to": "end", "id": "on"}]},
                **nodes,
            },
        }
    )


def _events(story: Story, choices: list[str], viewer: ViewerProfile) -> list[Event]:
    """What a real player logs for ``viewer``."""
    recorder = MemoryRecorder()
    session = Session(story, recorder=recorder, viewer=viewer)
    for choice in choices:
        session.choose(choice)
    return recorder.events


def _via(choice: dict[str, Any], to: str = "end") -> list[Event]:
    return [
        NodeEntered("hall"),
        ChoiceMade("hall", choice.get("id", "x"), to, 5),
        NodeEntered(to),
        *([EndingReached("end", None, "good")] if to == "end" else []),
    ]


@pytest.mark.parametrize(
    "condition",
    [
        "playthroughs() > 0",
        "endings_found() >= 1",
        "ending_seen('end')",
        "brave",
        "trust > 2",
        "not known and brave",  # known is false: the profile value decides
    ],
)
def test_a_choice_a_returning_viewer_is_offered_fits(condition: str) -> None:
    choice = {"label": "Back", "to": "end", "id": "x", "if": condition}
    story = _story(choices=[choice])
    viewer = ViewerProfile(
        values={"brave": True, "trust": 5}, playthroughs=2, endings=frozenset({"end"})
    )
    logged = _events(story, ["x"], viewer)
    assert [(e.node, e.choice) for e in logged if isinstance(e, ChoiceMade)] == [("hall", "x")]
    with pytest.raises(Diverged):  # what the check did before: a first-time viewer only
        Session.replay(story, logged)
    replay_any_viewer(story, logged)  # fits some viewer


@pytest.mark.parametrize(
    "condition",
    [
        "known",  # a variable the playthrough set (it never did)
        "known and brave",  # false whatever brave is: the profile is never read
        "n > 0 and playthroughs() > 0",
        "visits('mid') > 0",
    ],
)
def test_a_choice_impossible_whatever_the_profile_is_found(condition: str) -> None:
    choice = {"label": "Back", "to": "end", "id": "x", "if": condition}
    story = _story(choices=[choice])
    with pytest.raises(Diverged, match="choice 'x' is not offered at 'hall'"):
        replay_any_viewer(story, _via(choice))


def test_a_profile_value_set_by_the_story_is_known_again() -> None:
    """Choosing "forget" sets trust to 0 whatever it was: "trusted" cannot follow."""
    story = _story(
        choices=[{"label": "Forget", "to": "mid", "id": "forget", "set": {"trust": 0}}],
        mid={
            "text": "Mid.",
            "choices": [
                {"label": "On", "to": "end", "id": "on"},
                {"label": "Trusted", "to": "end", "id": "trusted", "if": "trust > 2"},
            ],
        },
    )
    steps: list[Event] = [
        NodeEntered("hall"),
        ChoiceMade("hall", "forget", "mid", 5),
        NodeEntered("mid"),
        ChoiceMade("mid", "trusted", "end", 5),
    ]
    with pytest.raises(Diverged, match="choice 'trusted' is not offered at 'mid'"):
        replay_any_viewer(story, steps)


def test_a_variable_set_from_the_profile_is_unknown() -> None:
    story = _story(
        choices=[{"label": "Copy", "to": "mid", "id": "copy", "set": {"copied": "brave"}}],
        mid={
            "text": "Mid.",
            "choices": [
                {"label": "On", "to": "end", "id": "on"},
                {"label": "Brave", "to": "end", "id": "b", "if": "copied"},
            ],
        },
    )
    logged = _events(story, ["copy", "b"], ViewerProfile(values={"brave": True}))
    replay_any_viewer(story, logged)


def _simulated_check(tmp_path: Path, story: str, *args: str) -> Any:
    db = tmp_path / "sim.db"
    story_file = str(ROOT / "stories" / story)
    done = run_cli("simulate", story_file, "--db", str(db), "--workers", "1", *args)
    assert done.returncode == 0, done.stderr
    return run_cli("log", "check", "--db", str(db), "--story", story_file)


@pytest.mark.parametrize("story", ["demo.json", "tutorial.json"])
def test_simulated_returning_viewers_fit_their_story(tmp_path: Path, story: str) -> None:
    """The tester's case: returning viewers take choices only returning viewers are offered."""
    checked = _simulated_check(
        tmp_path, story, "-n", "300", "--viewers", "60", "--tastes", "2", "--seed", "1"
    )
    assert checked.returncode == 0, checked.stderr
    assert "every event fits" in checked.stdout


def test_a_fault_only_some_profiles_meet_is_possible() -> None:
    """``10 / trust`` fails for a first-time viewer (trust 0), not for one who trusts."""
    story = _story(
        choices=[{"label": "Count", "to": "mid", "id": "count", "set": {"n": "10 / trust"}}]
    )
    with pytest.raises(Diverged):
        Session.replay(story, _events(story, ["count", "on"], ViewerProfile(values={"trust": 5})))
    replay_any_viewer(story, _events(story, ["count", "on"], ViewerProfile(values={"trust": 5})))
    replay_any_viewer(story, _events(story, ["count"], ViewerProfile()))  # the fault itself


def test_a_fault_no_profile_explains_is_found() -> None:
    story = _story(choices=[{"label": "Count", "to": "mid", "id": "count", "set": {"n": "10 / n"}}])
    logged = _events(story, ["count"], ViewerProfile(values={"trust": 5}))
    replay_any_viewer(story, logged)  # the fault every viewer meets
    assert isinstance(logged[2], Failed)
    went_on = [*logged[:2], NodeEntered("mid")]  # as if n could have been anything but 0
    with pytest.raises(Diverged, match="fault"):
        replay_any_viewer(story, went_on)
