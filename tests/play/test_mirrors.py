"""Deliberate mirrors stay in step (docs/architecture.md, "Deliberate mirrors").

``validate --deep`` (branching/story/deep.py) re-implements the engine's step rules on compact
states so it can explore every way through a story. Here random playthroughs through the real
engine are shadowed by the explorer, step by step: at every node both offer the same choices
and hold the same variables. (The event-rule mirrors, the tally, the roll-ups and the log's
playthrough state, are pinned by tests/analytics/test_rollups.py.)
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from branching.play.engine import Session
from branching.play.profiles import FIRST_VISIT, ViewerProfile
from branching.story.deep import _Explorer, _Fault
from branching.story.expressions import ViewerHistory
from branching.story.loader import read_story

ROOT = Path(__file__).resolve().parents[2]
STORIES = sorted(
    [*(ROOT / "stories").glob("*.json"), *(ROOT / "tests" / "fixtures").glob("*.json")]
)


def _story_files() -> list[Path]:
    playable = []
    for path in STORIES:
        try:
            read_story(path)
        except Exception:  # fixtures that are broken on purpose (hostile.json may be)
            continue
        playable.append(path)
    return playable


@pytest.mark.parametrize("path", _story_files(), ids=lambda p: p.name)
def test_deep_offers_what_the_engine_offers(path: Path) -> None:
    story = read_story(path)
    explorer = _Explorer(story, 1)
    names = explorer.names
    rng = random.Random(path.name)
    # A first-time viewer, and one back for the third time who has seen every ending (as the
    # explorer holds them: playthroughs capped, and only the endings expressions tell apart).
    returning = ViewerHistory(
        min(2, explorer.playthrough_cap), frozenset(story.endings()) & explorer.tracked_endings
    )
    explorer.viewers.append(returning)
    for run in range(40):
        first_time = run % 2 == 0
        viewer = (
            FIRST_VISIT
            if first_time
            else ViewerProfile(playthroughs=2, endings=frozenset(story.endings()))
        )
        session = Session(story, clock=lambda: 0.0, viewer=viewer)
        slot = 0 if first_time else len(explorer.viewers) - 1
        state = explorer.enter(explorer.index[story.start], explorer.defaults, 0, slot)
        for _ in range(60):
            assert explorer.ids[state[0]] == session.node_id
            assert dict(zip(names, state[1], strict=True)) == {
                **session.variables,
                **session.profile,
            }
            if session.status != "playing":
                break
            offered = [story.nodes[session.node_id].choices.index(o.choice)  # type: ignore[union-attr]
                       for o in session.available_choices()]  # fmt: skip
            assert explorer.offers(state) == offered
            index = rng.choice(offered)
            choice = story.nodes[session.node_id].choices[index]  # type: ignore[index]
            session.choose(session.available_choices()[offered.index(index)].id)
            try:
                values = state[1]
                if choice.set:
                    values = explorer.apply(choice.set, values, state[2], state[3], ())
                state = explorer.enter(explorer.index[choice.to], values, state[2], state[3])
            except _Fault:  # a run-time fault: the engine must have failed at the same step
                assert session.status == "failed"
                break
