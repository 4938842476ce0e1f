"""A session plays its viewer's arm and reports exposure once; saves keep the arm."""

from __future__ import annotations

import json

from branching.play.engine import Session
from branching.play.events import Exposed, MemoryRecorder, NodeEntered
from branching.story.loader import load_story_bytes
from branching.story.model import Story
from tests.story.test_experiments import cliff


def story() -> Story:
    data = cliff()
    data["start"] = "gate"
    data["nodes"]["gate"] = {
        "text": "A gate.",
        "choices": [{"label": "Through", "to": "edge"}, {"label": "Home", "to": "path"}],
    }
    loaded = load_story_bytes(json.dumps(data).encode()).story
    assert loaded is not None
    return loaded


def test_the_arm_shapes_what_is_shown_and_exposure_is_recorded_once() -> None:
    recorder = MemoryRecorder()
    session = Session(story(), clock=lambda: 0.0, recorder=recorder, arms={"wording": "new"})
    assert recorder.events == [NodeEntered("gate")]  # not exposed before the changed node
    session.choose("edge")
    assert session.text() == "A sheer cliff."
    assert [o.label for o in session.available_choices()] == ["Leap!", "Walk"]
    assert recorder.events[-2:] == [NodeEntered("edge"), Exposed("wording", "new", "edge")]
    session.rewind()  # back to the gate, then into the cliff again: still one exposure
    session.choose("edge")
    assert [e for e in recorder.events if isinstance(e, Exposed)] == [
        Exposed("wording", "new", "edge")
    ]


def test_a_viewer_never_sent_to_the_changed_node_is_not_exposed() -> None:
    recorder = MemoryRecorder()
    session = Session(story(), clock=lambda: 0.0, recorder=recorder, arms={"wording": "new"})
    session.choose("path")
    assert session.status == "ended"
    assert not any(isinstance(e, Exposed) for e in recorder.events)


def test_unknown_or_missing_arms_mean_the_control() -> None:
    session = Session(story(), clock=lambda: 0.0, arms={"wording": "nonsense"})
    assert session.arms == {"wording": "old"}
    assert Session(story(), clock=lambda: 0.0).arms == {"wording": "old"}


def test_a_resumed_playthrough_keeps_its_arm_and_its_exposure() -> None:
    session = Session(story(), clock=lambda: 0.0, arms={"wording": "new"})
    session.choose("edge")
    saved = json.loads(json.dumps(session.to_json()))
    recorder = MemoryRecorder()
    resumed = Session.from_json(
        story(), saved, clock=lambda: 0.0, recorder=recorder, arms={"wording": "old"}
    )
    assert resumed.arms == {"wording": "new"} and resumed.exposed == {"wording": "new"}
    assert resumed.text() == "A sheer cliff."
    assert recorder.events == []  # exposed already: nothing recorded again


def test_a_save_without_arms_from_an_older_version_resumes() -> None:
    session = Session(story(), clock=lambda: 0.0)
    saved = session.to_json()
    del saved["arms"], saved["exposed"]
    resumed = Session.from_json(story(), saved, clock=lambda: 0.0, arms={"wording": "new"})
    assert resumed.arms == {"wording": "new"}


def test_an_exposure_lost_to_a_crash_is_recorded_on_resume() -> None:
    session = Session(story(), clock=lambda: 0.0, arms={"wording": "new"})
    session.choose("edge")
    saved = session.to_json()
    saved["exposed"] = {}  # the process died between NodeEntered and Exposed
    recorder = MemoryRecorder()
    Session.from_json(story(), saved, clock=lambda: 0.0, recorder=recorder)
    assert recorder.events == [Exposed("wording", "new", "edge")]
