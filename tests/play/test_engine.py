"""The engine's Session: what a viewer would notice if a rule broke."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from branching.play.engine import (
    RESUME_GRACE_SECONDS,
    ResumeError,
    Session,
    SessionError,
    TimerOptions,
)
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Failed,
    MemoryRecorder,
    NodeEntered,
    Quit,
    Rewound,
)
from branching.story.loader import load_story_bytes, read_story
from branching.story.model import Story

FIXTURES = Path(__file__).parent.parent / "fixtures"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_story(
    nodes: dict[str, Any], variables: dict[str, Any] | None = None, **extra: Any
) -> Story:
    """A story validated by the real loader (so it has a content hash)."""
    raw = {
        "format": "branching/1",
        "id": extra.pop("id", "test"),
        "title": "Test",
        "start": extra.pop("start", next(iter(nodes))),
        "variables": variables or {},
        "nodes": nodes,
        **extra,
    }
    result = load_story_bytes(json.dumps(raw).encode())
    assert result.story is not None, [p.message for p in result.errors]
    return result.story


def lantern() -> Story:
    return read_story(FIXTURES / "lantern.json")


def play(story: Story, **kwargs: Any) -> tuple[Session, MemoryRecorder, FakeClock]:
    clock = FakeClock()
    recorder = MemoryRecorder()
    return Session(story, clock=clock, recorder=recorder, **kwargs), recorder, clock


def offered(session: Session) -> list[str]:
    return [offer.id for offer in session.available_choices()]


def state(session: Session) -> dict[str, Any]:
    """The parts of a save that must match exactly after going back."""
    data = session.to_json()
    return {key: data[key] for key in ("node", "variables", "visits", "history")}


# --- Entering nodes, choosing, conditions, effects, visits -----------------------------------


def test_start_enters_the_start_node_and_applies_its_effects() -> None:
    session, recorder, _ = play(lantern())
    assert session.node_id == "hall"
    assert session.status == "playing"
    assert session.visits == {"hall": 1}
    assert session.variables["gold"] == 1
    assert session.text() == "Welcome, stranger. You have 1 gold."
    assert recorder.events == [NodeEntered("hall")]
    assert session.history == []


def test_conditions_filter_choices_and_numbers_stay_consecutive() -> None:
    session, _, _ = play(lantern())
    choices = session.available_choices()
    assert [(o.number, o.id, o.label) for o in choices] == [
        (1, "take", "Take the lantern"),
        (2, "bridge", "Walk to the bridge"),
    ]
    session.choose("take")
    assert offered(session) == ["cellar", "bridge"]


def test_sessions_of_one_story_each_get_the_offers_their_own_state_allows() -> None:
    """Offers that cannot change are shared between sessions (a simulator plays thousands):
    sharing must never show one session the choices, numbers, labels or timer default that
    another session's state or translation gave."""
    story = make_story(
        {
            "hall": {
                "text": "A hall.",
                "choices": [
                    {"id": "beg", "label": "Beg", "to": "gate"},
                    {"id": "inherit", "label": "Inherit", "to": "gate", "set": {"rich": True}},
                ],
            },
            "gate": {
                "text": "A gate.",
                "set": {"coins": "coins + 1"},
                "timer": {"seconds": 5, "default": "wait"},
                "choices": [
                    {"id": "pay", "label": "Pay", "to": "end", "if": "rich"},
                    {"id": "wait", "label": "Wait", "to": "yard"},
                ],
            },
            "yard": {
                "text": "A yard.",
                "choices": [
                    {"id": "count", "label": "Count {coins} coins", "to": "gate"},
                    {"id": "leave", "label": "Leave", "to": "end"},
                ],
            },
            "end": {"text": "The end.", "ending": {"kind": "good"}},
        },
        {"rich": False, "coins": 0},
    )
    poor, rich = play(story)[0], play(story)[0]
    poor.choose("beg")
    rich.choose("inherit")
    for session in (poor, rich, poor, rich, poor):
        session.choose("wait")
        session.choose("count")  # back to the gate: its offers are worked out again
    assert [(o.number, o.id, o.default) for o in poor.available_choices()] == [(1, "wait", True)]
    assert [(o.number, o.id, o.default) for o in rich.available_choices()] == [
        (1, "pay", False),
        (2, "wait", True),
    ]
    # A label with a block is rendered for each session and visit.
    poor.choose("wait")
    rich.choose("wait")
    assert [o.label for o in poor.available_choices()] == ["Count 4 coins", "Leave"]
    assert [o.label for o in rich.available_choices()] == ["Count 3 coins", "Leave"]
    translated = play(story, translation={"node/gate/choice/wait/label": "Warten"})[0]
    translated.choose("beg")
    assert [o.label for o in translated.available_choices()] == ["Warten"]
    untranslated = play(story)[0]
    untranslated.choose("beg")
    assert [o.label for o in untranslated.available_choices()] == ["Wait"]


def test_choose_applies_choice_effects_then_enters_target_and_records_in_order() -> None:
    session, recorder, clock = play(lantern())
    clock.advance(2.5)
    session.choose("take")
    assert session.variables["lantern"] is True
    assert session.variables["gold"] == 2  # the hall's own effect ran again on re-entry
    assert session.visits == {"hall": 2}
    assert recorder.events == [
        NodeEntered("hall"),
        ChoiceMade("hall", "take", "hall", 2500, False),
        NodeEntered("hall"),
    ]


def test_effects_apply_in_order_and_see_the_choice_effects() -> None:
    story = make_story(
        {
            "a": {"choices": [{"label": "go", "to": "b", "set": {"x": "x + 1", "y": "x * 10"}}]},
            "b": {"text": "{x} {y} {z}", "set": {"z": "y + x"}, "ending": True},
        },
        {"x": 1, "y": 0, "z": 0},
    )
    session, _, _ = play(story)
    session.choose("b")
    assert session.text() == "2 20 22"


def test_visits_count_the_current_entry() -> None:
    story = make_story(
        {
            "loop": {
                "text": "visit {n}",
                "set": {"n": 'visits("loop")'},
                "choices": [
                    {"label": "again", "to": "loop", "id": "again", "if": 'visits("loop") < 3'},
                    {"label": "leave", "to": "out", "if": 'visits("loop") >= 2'},
                ],
            },
            "out": {"ending": True},
        },
        {"n": 0},
    )
    session, _, _ = play(story)
    assert session.text() == "visit 1"
    assert offered(session) == ["again"]
    session.choose("again")
    assert session.text() == "visit 2"
    assert offered(session) == ["again", "out"]
    session.choose("again")
    assert offered(session) == ["out"]
    assert session.visits["loop"] == 3


def test_labels_are_interpolated() -> None:
    session, _, _ = play(lantern())
    session.choose("bridge")
    assert session.text().startswith("A troll wants 2 gold. [Markup stays literal] {braces}")


def test_choosing_something_not_offered_is_refused_and_changes_nothing() -> None:
    session, recorder, _ = play(lantern())
    before = state(session)
    with pytest.raises(SessionError, match="cellar"):
        session.choose("cellar")  # needs the lantern
    with pytest.raises(SessionError):
        session.choose("nonsense")
    assert state(session) == before
    assert recorder.events == [NodeEntered("hall")]


# --- Endings ---------------------------------------------------------------------------------


def test_ending_records_title_and_kind_and_stops_play() -> None:
    session, recorder, _ = play(lantern())
    session.choose("take")
    session.choose("cellar")
    session.choose("open")
    assert session.status == "ended"
    assert session.ending is not None
    assert (session.ending.title, session.ending.kind) == ("Treasure", "good")  # node title
    assert session.text() == "Gold! You now have 12."
    assert recorder.events[-2:] == [
        NodeEntered("treasure"),
        EndingReached("treasure", "Treasure", "good"),
    ]
    assert session.available_choices() == []
    assert session.time_left() is None
    with pytest.raises(SessionError):
        session.choose("flee")
    with pytest.raises(SessionError):
        session.to_json()


def test_rewind_from_an_ending_reopens_the_playthrough() -> None:
    # Bandersnatch-style: at an ending the viewer may go back to any earlier choice point.
    session, recorder, _ = play(lantern())
    session.choose("take")
    session.choose("cellar")
    session.choose("open")
    assert session.status == "ended"
    assert not session.can_rewind  # "b" during play; the ending screen offers the history
    session.rewind(1)
    assert (session.status, session.ending, session.node_id) == ("playing", None, "hall")
    assert recorder.events[-1] == Rewound(from_node="treasure", to_node="hall", step=1)
    assert session.available_choices()
    session.quit()
    with pytest.raises(SessionError):
        session.rewind(0)


def test_untitled_ending_has_no_title() -> None:
    story = make_story({"a": {"choices": [{"label": "go", "to": "b"}]}, "b": {"ending": True}})
    session, recorder, _ = play(story)
    session.choose("b")
    assert session.ending is not None and session.ending.title is None
    assert recorder.events[-1] == EndingReached("b", None, "neutral")


# --- Timers ----------------------------------------------------------------------------------


def to_cellar(session: Session) -> None:
    session.choose("take")
    session.choose("cellar")


def test_timer_counts_down_on_the_injected_clock_and_expiry_takes_the_default() -> None:
    session, recorder, clock = play(lantern())
    to_cellar(session)
    assert session.time_left() == 12.0
    assert session.timer_seconds() == 12.0
    assert [o.id for o in session.available_choices() if o.default] == ["flee"]
    clock.advance(5)
    assert session.time_left() == 7.0
    clock.advance(30)
    assert session.time_left() == 0.0
    assert session.node_id == "cellar"  # the session never takes the default by itself
    session.expire_timer()
    assert recorder.events[-2] == ChoiceMade("cellar", "flee", "hall", 35000, True)
    assert session.node_id == "hall"
    assert session.time_left() is None


def test_a_pick_after_the_deadline_is_an_explicit_pick() -> None:
    session, recorder, clock = play(lantern())
    to_cellar(session)
    clock.advance(20)
    session.choose("open")
    assert recorder.events[-3] == ChoiceMade("cellar", "open", "treasure", 20000, False)


def test_expire_timer_without_a_timer_is_refused() -> None:
    session, _, _ = play(lantern())
    assert session.time_left() is None
    with pytest.raises(SessionError, match="no timer"):
        session.expire_timer()


def test_time_scale_and_no_timers() -> None:
    slow, _, clock = play(lantern(), timers=TimerOptions(scale=10))
    to_cellar(slow)
    assert slow.time_left() == 120.0
    clock.advance(100)
    assert slow.time_left() == 20.0

    off, _, _ = play(lantern(), timers=TimerOptions(enabled=False))
    to_cellar(off)
    assert off.time_left() is None
    with pytest.raises(SessionError):
        off.expire_timer()
    with pytest.raises(ValueError):
        TimerOptions(scale=0)


def test_timer_does_not_run_when_its_default_is_not_offered() -> None:
    story = make_story(
        {
            "a": {
                "timer": {"seconds": 5, "default": "hide"},
                "choices": [
                    {"label": "Hide", "to": "b", "id": "hide", "if": "can_hide"},
                    {"label": "Run", "to": "b", "id": "run"},
                ],
            },
            "b": {"ending": True},
        },
        {"can_hide": False},
    )
    session, _, _ = play(story)
    assert session.time_left() is None
    assert offered(session) == ["run"]


def test_pause_freezes_the_timer_and_is_left_out_of_decision_time() -> None:
    session, recorder, clock = play(lantern())
    to_cellar(session)
    clock.advance(2)
    session.pause_timer()
    session.pause_timer()  # a second pause changes nothing
    clock.advance(60)
    assert session.time_left() == 10.0
    assert session.paused
    session.resume_timer()
    session.resume_timer()
    clock.advance(3)
    assert session.time_left() == 7.0
    session.choose("open")
    choice = recorder.events[-3]
    assert isinstance(choice, ChoiceMade) and choice.decision_ms == 5000


def test_decision_time_starts_when_the_choices_are_shown() -> None:
    session, recorder, clock = play(lantern())
    clock.advance(1)
    session.choose("take")
    clock.advance(4)
    session.choose("bridge")
    made = [e.decision_ms for e in recorder.events if isinstance(e, ChoiceMade)]
    assert made == [1000, 4000]


# --- Rewind and restart ----------------------------------------------------------------------


def test_rewind_restores_each_choice_point_exactly() -> None:
    session, recorder, _ = play(lantern())
    states = []
    for choice in ["take", "bridge", "back", "cellar"]:
        states.append(state(session))
        session.choose(choice)
    assert [p.node_id for p in session.history] == ["hall", "hall", "bridge", "hall"]
    assert [p.step for p in session.history] == [0, 1, 2, 3]
    assert session.history[1].label == "The Hall"
    assert session.history[1].choice_label == "Walk to the bridge"

    session.rewind(2)
    assert state(session) == states[2]
    assert session.node_id == "bridge"
    assert recorder.events[-1] == Rewound(from_node="cellar", to_node="bridge", step=2)

    count = len(recorder.events)
    session.rewind()  # the previous choice point
    assert state(session) == states[1]
    assert len(recorder.events) == count + 1  # only Rewound: no NodeEntered, no visit
    assert isinstance(recorder.events[-1], Rewound)

    session.rewind(0)
    assert state(session) == states[0]
    assert session.history == []
    assert session.visits == {"hall": 1}
    with pytest.raises(SessionError, match="no earlier"):
        session.rewind()


def test_playing_on_after_rewind_gives_the_same_result() -> None:
    session, _, _ = play(lantern())
    session.choose("take")
    session.choose("cellar")
    session.choose("flee")
    first = state(session)
    session.rewind(1)
    session.choose("cellar")
    session.choose("flee")
    assert state(session) == first


def test_rewind_to_a_bad_index_is_refused() -> None:
    session, _, _ = play(lantern())
    session.choose("take")
    with pytest.raises(SessionError):
        session.rewind(1)
    with pytest.raises(SessionError):
        session.rewind(-1)


def test_rewind_restarts_the_timer_in_full() -> None:
    session, _, clock = play(lantern())
    to_cellar(session)
    clock.advance(10)
    session.choose("flee")
    session.rewind()
    assert session.node_id == "cellar"
    assert session.time_left() == 12.0


def test_restart_quits_this_playthrough_and_starts_a_new_one() -> None:
    opened: dict[str, MemoryRecorder] = {}

    def factory(playthrough_id: str) -> MemoryRecorder:
        opened[playthrough_id] = MemoryRecorder()
        return opened[playthrough_id]

    session = Session(lantern(), clock=FakeClock(), recorder_factory=factory)
    first_id = session.playthrough_id
    session.choose("take")
    session.choose("bridge")
    session.restart()
    assert session.playthrough_id != first_id
    first, second = opened[first_id], opened[session.playthrough_id]
    assert first.events[-1] == Quit("bridge")
    assert first.closed
    assert second.events == [NodeEntered("hall")]
    assert not second.closed
    assert session.recorder is second
    assert (session.node_id, session.history, session.visits) == ("hall", [], {"hall": 1})
    assert session.variables == {"gold": 1, "lantern": False, "name": "stranger", "troll_toll": 2}


def test_restart_after_an_ending_records_no_quit() -> None:
    session, recorder, _ = play(lantern())
    to_cellar(session)
    session.choose("open")
    session.restart()
    assert not any(isinstance(e, Quit) for e in recorder.events)
    assert recorder.events[-1] == NodeEntered("hall")
    assert session.status == "playing"
    assert session.ending is None


def test_quit_records_once_and_keeps_the_state_for_saving() -> None:
    session, recorder, _ = play(lantern())
    session.choose("bridge")
    session.quit()
    session.quit()
    assert session.status == "quit"
    assert recorder.events.count(Quit("bridge")) == 1
    assert session.available_choices() == []
    assert session.to_json()["node"] == "bridge"
    with pytest.raises(SessionError):
        session.choose("back")


# --- Runtime faults --------------------------------------------------------------------------


def test_every_choice_disabled_fails_gracefully_naming_the_node() -> None:
    session, recorder, _ = play(lantern())
    session.choose("bridge")
    session.choose("jump")
    assert session.status == "failed"
    assert session.fault is not None
    assert 'node "river"' in session.fault and "every choice is disabled" in session.fault
    assert recorder.events[-2:] == [NodeEntered("river"), Failed("river", session.fault)]
    assert session.available_choices() == []


def test_division_by_zero_on_entering_a_node_fails_gracefully() -> None:
    session, recorder, _ = play(lantern())
    session.choose("bridge")
    session.choose("share")
    assert session.status == "failed"
    assert session.fault is not None
    assert 'node "share"' in session.fault and "division by zero" in session.fault
    assert recorder.events[-1] == Failed("share", session.fault)
    assert session.variables["gold"] == 1  # nothing of the failed effects applied


def test_failing_choice_effect_and_condition() -> None:
    story = make_story(
        {
            "a": {
                "choices": [
                    {"label": "x", "to": "b", "id": "x", "set": {"n": "10 % n"}},
                    {"label": "y", "to": "b", "id": "y"},
                ]
            },
            "b": {"choices": [{"label": "z", "to": "a", "if": "10 / n > 1"}]},
        },
        {"n": 0},
    )
    session, recorder, _ = play(story)
    session.choose("x")
    assert session.status == "failed"
    assert recorder.events[-2:] == [
        ChoiceMade("a", "x", "b", 0, False),
        Failed("a", session.fault or ""),
    ]
    assert 'choosing "x"' in (session.fault or "")

    session, recorder, _ = play(story)
    session.choose("y")
    assert session.status == "failed"
    assert 'node "b"' in (session.fault or "") and "condition" in (session.fault or "")


def test_a_failed_playthrough_can_restart() -> None:
    session, _, _ = play(lantern())
    session.choose("bridge")
    session.choose("jump")
    session.restart()
    assert session.status == "playing" and session.fault is None


# --- Save and resume -------------------------------------------------------------------------


def roundtrip(data: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(data))
    return result


def test_save_and_resume_continue_exactly() -> None:
    story = lantern()
    session, _, clock = play(story)
    session.choose("take")
    session.choose("bridge")
    data = roundtrip(session.to_json())
    assert data["story"] == {"id": "lantern", "version": "1", "hash": story.content_hash}
    assert data["format"] == "branching-save/2"

    recorder = MemoryRecorder()
    resumed = Session.from_json(story, data, clock=clock, recorder=recorder)
    assert recorder.events == []  # resuming records nothing
    assert resumed.resume_notes == []
    assert resumed.playthrough_id == session.playthrough_id
    assert state(resumed) == state(session)
    assert resumed.history == session.history
    assert offered(resumed) == offered(session)

    for s in (session, resumed):
        s.choose("back")
        s.rewind(0)
    assert state(resumed) == state(session)


def test_resume_keeps_the_time_left_and_decision_time() -> None:
    story = lantern()
    session, _, clock = play(story)
    to_cellar(session)
    clock.advance(3)
    data = roundtrip(session.to_json())
    assert data["timer_remaining"] == 9.0
    assert data["elapsed"] == 3.0

    clock.advance(3600)  # a break between sessions does not count
    recorder = MemoryRecorder()
    resumed = Session.from_json(story, data, clock=clock, recorder=recorder)
    assert resumed.time_left() == 9.0
    clock.advance(1)
    resumed.choose("open")
    assert recorder.events[0] == ChoiceMade("cellar", "open", "treasure", 4000, False)

    # Other options on resume: saved in story seconds, so a slower scale gives more.
    slow = Session.from_json(story, data, clock=clock, timers=TimerOptions(scale=3))
    assert slow.time_left() == 27.0
    off = Session.from_json(story, data, clock=clock, timers=TimerOptions(enabled=False))
    assert off.time_left() is None


def test_resumed_timer_gets_a_grace_period() -> None:
    story = lantern()
    session, _, clock = play(story)
    to_cellar(session)
    clock.advance(11.5)
    resumed = Session.from_json(story, roundtrip(session.to_json()), clock=clock)
    assert resumed.time_left() == RESUME_GRACE_SECONDS


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["story"].update(version="1\x1b]2;pwned\x07"),
        lambda d: d.update(node="hall\x1b[2J"),
        lambda d: d["variables"].update({"\x1b[31mkey": 1}),
    ],
)
def test_a_save_with_control_characters_is_refused_without_echoing_them(damage: Any) -> None:
    story = lantern()
    session, _, clock = play(story)
    data = roundtrip(session.to_json())
    damage(data)
    with pytest.raises(ResumeError) as error:
        Session.from_json(story, data, clock=clock)
    assert "\x1b" not in str(error.value)
    assert "control characters" in str(error.value)


def test_save_after_quit_resumes_playing() -> None:
    story = lantern()
    session, _, clock = play(story)
    session.choose("bridge")
    session.quit()
    resumed = Session.from_json(story, roundtrip(session.to_json()), clock=clock)
    assert resumed.status == "playing"
    assert resumed.node_id == "bridge"


def edited(story_path: Path, tmp_path: Path, edit: Any) -> Story:
    raw = json.loads(story_path.read_text())
    edit(raw)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(raw))
    return read_story(path)


def saved_at_bridge() -> dict[str, Any]:
    session, _, _ = play(lantern())
    session.choose("take")
    session.choose("bridge")
    return roundtrip(session.to_json())


def test_resume_after_variables_changed(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["version"] = "2"
        raw["variables"]["courage"] = 3  # added
        del raw["variables"]["name"]  # removed
        raw["variables"]["lantern"] = "unlit"  # type changed
        raw["nodes"]["hall"]["text"] = "You have {gold} gold."
        raw["nodes"]["hall"]["choices"][0]["if"] = "lantern == 'unlit'"
        raw["nodes"]["hall"]["choices"][0]["set"] = {"lantern": "'lit'"}
        raw["nodes"]["hall"]["choices"][1]["if"] = "lantern == 'lit'"

    story = edited(FIXTURES / "lantern.json", tmp_path, edit)
    recorder = MemoryRecorder()
    session = Session.from_json(story, saved_at_bridge(), clock=FakeClock(), recorder=recorder)
    assert session.node_id == "bridge"
    assert session.variables == {"gold": 2, "lantern": "unlit", "troll_toll": 2, "courage": 3}
    notes = " | ".join(session.resume_notes)
    assert "changed since" in notes and "version 1 → 2" in notes
    assert '"courage" starts at 3' in notes
    assert '"name" is no longer used' in notes
    assert '"lantern" now holds string values' in notes
    assert recorder.events == []
    # Going back restores adapted snapshots too.
    session.rewind(0)
    assert session.variables["lantern"] == "unlit" and "name" not in session.variables


def test_resume_drops_history_of_vanished_nodes(tmp_path: Path) -> None:
    session, _, _ = play(lantern())
    session.choose("bridge")
    session.choose("back")
    session.choose("bridge")
    data = roundtrip(session.to_json())
    assert [p["node"] for p in data["history"]] == ["hall", "bridge", "hall"]

    def edit(raw: dict[str, Any]) -> None:
        raw["nodes"]["bridge"]["choices"] = raw["nodes"]["bridge"]["choices"][:3]
        raw["nodes"]["gate"] = raw["nodes"].pop("bridge")
        raw["nodes"]["gate"]["choices"].append({"label": "Back", "to": "hall", "id": "back"})
        raw["nodes"]["hall"]["choices"][2]["to"] = "gate"

    story = edited(FIXTURES / "lantern.json", tmp_path, edit)
    recorder = MemoryRecorder()
    resumed = Session.from_json(story, data, clock=FakeClock(), recorder=recorder)
    # The current node vanished: back at the latest surviving choice point.
    assert resumed.node_id == "hall"
    assert [p.node_id for p in resumed.history] == ["hall"]
    assert [p.step for p in resumed.history] == [0]
    assert recorder.events == [Rewound(from_node="bridge", to_node="hall", step=1)]
    notes = " | ".join(resumed.resume_notes)
    assert "1 earlier place you could go back to" in notes
    assert "no longer in the story" in notes
    assert resumed.visits == {"hall": 2}


def test_resume_refused_when_nothing_of_the_save_is_left(tmp_path: Path) -> None:
    session, _, _ = play(lantern())
    session.choose("bridge")
    data = roundtrip(session.to_json())

    def edit(raw: dict[str, Any]) -> None:
        raw["nodes"]["hall"]["choices"][2]["to"] = "far_side"
        del raw["nodes"]["bridge"]
        raw["start"] = "entrance"
        raw["nodes"]["entrance"] = raw["nodes"].pop("hall")
        raw["nodes"]["entrance"]["choices"][0]["to"] = "entrance"
        raw["nodes"]["cellar"]["choices"][1]["to"] = "entrance"

    story = edited(FIXTURES / "lantern.json", tmp_path, edit)
    with pytest.raises(ResumeError, match='the passage it was at \\("bridge"\\) is no longer'):
        Session.from_json(story, data, clock=FakeClock())


def test_resume_at_a_node_that_is_now_an_ending(tmp_path: Path) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["nodes"]["bridge"] = {"text": "The bridge is gone.", "ending": {"kind": "bad"}}
        del raw["nodes"]["share"], raw["nodes"]["river"]

    story = edited(FIXTURES / "lantern.json", tmp_path, edit)
    recorder = MemoryRecorder()
    session = Session.from_json(story, saved_at_bridge(), clock=FakeClock(), recorder=recorder)
    assert session.status == "ended"
    assert recorder.events == [EndingReached("bridge", None, "bad")]
    assert "The story now ends here." in session.resume_notes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(story={**d["story"], "id": "other"}), 'belongs to the story "other"'),
        (lambda d: d.update(format="branching-save/9"), "newer version"),
        (lambda d: d.update(format="something"), "not a branching save"),
        (lambda d: d.update(variables={"gold": [1]}), "damaged"),
        (lambda d: d.update(visits={"hall": "1"}), "damaged"),
        (lambda d: d.update(node=3), "damaged"),
        (lambda d: d.update(elapsed=-1), "damaged"),
        (lambda d: d.pop("history"), "damaged"),
        (lambda d: d.update(variables={"name": "\x1b]2;pwned\x07"}), "damaged"),
        (lambda d: d["history"][0].update(label="\x1b[31m"), "damaged"),
        # Numbers: finite, and in the range a story and the log can hold.
        (lambda d: d.update(elapsed=1e306), "damaged"),
        (lambda d: d.update(elapsed=float("nan")), "damaged"),
        (lambda d: d.update(elapsed=10 * 366 * 24 * 3600), "damaged"),
        (lambda d: d.update(timer_remaining=1e300), "damaged"),
        (lambda d: d.update(timer_remaining=float("inf")), "damaged"),
        (lambda d: d.update(variables={**d["variables"], "gold": 10**400}), "damaged"),
        (lambda d: d.update(variables={**d["variables"], "gold": 2**60}), "damaged"),
        (lambda d: d.update(variables={**d["variables"], "gold": float("nan")}), "damaged"),
        (lambda d: d.update(visits={"hall": 10**400}), "damaged"),
        (lambda d: d.update(visits={"hall": -1}), "damaged"),
        (lambda d: d["history"][0]["visits"].update(hall=2**60), "damaged"),
        (lambda d: d["history"][0]["variables"].update(gold=-1e300), "damaged"),
        # Ids and names are ids and names; strings are text.
        (lambda d: d.update(node="the bridge"), "damaged"),
        (lambda d: d.update(node="x" * 100_000), "damaged"),
        (lambda d: d["story"].update(id="\ud800"), "damaged"),
        (lambda d: d.update(variables={"\ud800": 1}), "damaged"),
        (lambda d: d["history"][0].update(label="\ud800"), "lone surrogate"),
    ],
)
def test_bad_saves_are_refused_with_a_clear_message(change: Any, message: str) -> None:
    data = saved_at_bridge()
    change(data)
    with pytest.raises(ResumeError, match=message):
        Session.from_json(lantern(), data, clock=FakeClock())


@pytest.mark.parametrize(
    "found",
    ["branching-save/2\x1b]2;pwned\x07", "other\x1b[2J\x9b", "branching-save/" + "9" * 10_000],
    ids=["newer", "other", "long"],
)
def test_the_format_of_a_save_is_quoted_safely(found: str) -> None:
    data = saved_at_bridge()
    data["format"] = found
    with pytest.raises(ResumeError) as error:
        Session.from_json(lantern(), data, clock=FakeClock())
    message = str(error.value)
    assert "\x1b" not in message and "\x9b" not in message
    assert "\\x1b" in message or "\x1b" not in found  # shown escaped
    assert len(message) < 200


@pytest.mark.parametrize("damage", [lambda d: d.pop("format"), lambda d: d.update(format=[1])])
def test_a_save_without_a_format_string_says_so(damage: Any) -> None:
    data = saved_at_bridge()
    damage(data)
    with pytest.raises(ResumeError, match="not a branching save"):
        Session.from_json(lantern(), data, clock=FakeClock())


def test_the_longest_saved_time_still_resumes_and_logs_a_choice() -> None:
    from branching.play.engine import MAX_SAVED_SECONDS

    story = lantern()
    session, _, clock = play(story)
    to_cellar(session)
    data = roundtrip(session.to_json())
    data["elapsed"] = MAX_SAVED_SECONDS
    recorder = MemoryRecorder()
    resumed = Session.from_json(story, data, clock=clock, recorder=recorder)
    resumed.choose("open")
    assert recorder.events[0] == ChoiceMade(
        "cellar", "open", "treasure", MAX_SAVED_SECONDS * 1000, False
    )


def test_a_session_left_open_for_years_still_saves_a_resumable_state() -> None:
    story = lantern()
    session, _, clock = play(story)
    to_cellar(session)
    clock.advance(100 * 366 * 24 * 3600)
    resumed = Session.from_json(story, roundtrip(session.to_json()), clock=clock)
    assert resumed.node_id == "cellar"


def test_not_an_object_is_refused() -> None:
    with pytest.raises(ResumeError, match="not a branching save"):
        Session.from_json(lantern(), [1, 2], clock=FakeClock())


def test_resume_opens_the_saved_playthroughs_recorder() -> None:
    data = saved_at_bridge()
    opened: list[str] = []

    def factory(playthrough_id: str) -> MemoryRecorder:
        opened.append(playthrough_id)
        return MemoryRecorder()

    Session.from_json(lantern(), data, clock=FakeClock(), recorder_factory=factory)
    assert opened == [data["playthrough"]]


def test_choice_point_label_uses_first_words_without_a_title() -> None:
    session, _, _ = play(lantern())
    to_cellar(session)
    session.choose("flee")
    assert session.history[-1].label == "A chest glints in the dark. Something moves…"


def test_playthrough_info() -> None:
    story = lantern()
    session, _, _ = play(story, playthrough_id="abc")
    info = session.playthrough_info("ann", "B")
    assert (info.playthrough_id, info.story_id, info.story_hash, info.viewer, info.variant) == (
        "abc",
        "lantern",
        story.content_hash,
        "ann",
        "B",
    )
