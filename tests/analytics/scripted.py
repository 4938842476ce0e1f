"""A small story and a scripted log whose every metric is worked out by hand in the tests."""

from __future__ import annotations

from typing import Any

from analytics.tally import Playthrough
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Failed,
    NodeEntered,
    Quit,
    Rewound,
)
from branching.story.model import Story

STORY_DATA: dict[str, Any] = {
    "format": "branching/1",
    "id": "caves",
    "title": "The Caves",
    "version": "1",
    "start": "hall",
    "nodes": {
        "hall": {
            "title": "The Hall",
            "text": "Two ways.",
            "timer": {"seconds": 5, "default": "right"},
            "choices": [
                {"id": "left", "label": "Go left", "to": "cave"},
                {"id": "right", "label": "Go right", "to": "river"},
            ],
        },
        "cave": {
            "text": "A dark cave.",
            "choices": [
                {"id": "back", "label": "Back", "to": "hall"},
                {"id": "deeper", "label": "Deeper", "to": "treasure"},
            ],
        },
        "river": {
            "text": "A fast river.",
            "choices": [
                {"id": "swim", "label": "Swim", "to": "drown"},
                {"id": "bridge", "label": "Bridge", "to": "town"},
            ],
        },
        "treasure": {"text": "Gold!", "ending": {"title": "Rich", "kind": "good"}},
        "drown": {"text": "Cold water.", "ending": {"kind": "bad"}},
        "town": {"text": "A town.", "ending": True},
        "secret": {"text": "Nobody comes here.", "choices": [{"label": "Out", "to": "town"}]},
    },
}


def story() -> Story:
    return Story.model_validate(STORY_DATA)


def pick(node: str, choice: str, to: str, ms: int) -> ChoiceMade:
    return ChoiceMade(node, choice, to, ms)


def timeout(node: str, choice: str, to: str) -> ChoiceMade:
    return ChoiceMade(node, choice, to, None, timed_out=True)


def _p(pid: str, viewer: str, *events: Any, day: str = "2026-11-01") -> Playthrough:
    return Playthrough(pid, viewer, list(events), "caves", "1", "sha256:test", None, day)


def playthroughs() -> list[Playthrough]:
    """Eight playthroughs by four viewers, each exercising one case."""
    return [
        # p1 and p8: the same route to the good ending.
        _p(
            "p1",
            "v1",
            NodeEntered("hall"),
            pick("hall", "left", "cave", 1200),
            NodeEntered("cave"),
            pick("cave", "deeper", "treasure", 3000),
            NodeEntered("treasure"),
            EndingReached("treasure", "Rich", "good"),
        ),
        # p2: the timer runs out at the hall and takes its default.
        _p(
            "p2",
            "v2",
            NodeEntered("hall"),
            timeout("hall", "right", "river"),
            NodeEntered("river"),
            pick("river", "swim", "drown", 800),
            NodeEntered("drown"),
            EndingReached("drown", None, "bad"),
            day="2026-11-02",
        ),
        # p3: a loop (cave -> hall -> cave), then quits in the cave.
        _p(
            "p3",
            "v1",
            NodeEntered("hall"),
            pick("hall", "left", "cave", 2000),
            NodeEntered("cave"),
            pick("cave", "back", "hall", 500),
            NodeEntered("hall"),
            pick("hall", "left", "cave", 1500),
            NodeEntered("cave"),
            Quit("cave"),
        ),
        # p4: rewinds from the river to the hall, goes left, and is still open in the cave.
        _p(
            "p4",
            "v2",
            NodeEntered("hall"),
            pick("hall", "right", "river", 4000),
            NodeEntered("river"),
            Rewound("river", "hall", 0),
            pick("hall", "left", "cave", 900),
            NodeEntered("cave"),
            day="2026-11-02",
        ),
        # p5: quits at the very first node.
        _p("p5", "v3", NodeEntered("hall"), Quit("hall")),
        # p6: a runtime fault in the cave.
        _p(
            "p6",
            "v3",
            NodeEntered("hall"),
            pick("hall", "left", "cave", 2500),
            NodeEntered("cave"),
            Failed("cave", "every choice disabled"),
            day="2026-11-03",
        ),
        # p7: opened, nothing recorded yet.
        _p("p7", "v4", day="2026-11-03"),
        _p(
            "p8",
            "v4",
            NodeEntered("hall"),
            pick("hall", "left", "cave", 1000),
            NodeEntered("cave"),
            pick("cave", "deeper", "treasure", 6000),
            NodeEntered("treasure"),
            EndingReached("treasure", "Rich", "good"),
            day="2026-11-03",
        ),
    ]
