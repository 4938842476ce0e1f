"""How fast the engine steps, saves and resumes on a real story (run on demand).

    python -m pytest tests/benchmarks/bench_engine.py -s

Figures are medians of several rounds in one run (the machine is noisy); see docs/playing.md.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from pathlib import Path

import pytest

from branching.play.engine import Session
from branching.story.loader import read_story
from branching.story.model import Story

INTERCEPT = Path("/work/shared/corpus/the-intercept/the-intercept.story.json")
LANTERN = Path(__file__).parent.parent / "fixtures" / "lantern.json"
#: Nodes of the lantern fixture that stop the story with a fault (on purpose).
FAULTY = {"share", "river"}


def walk(story: Story, steps: int, seed: int) -> Session:
    rng = random.Random(seed)
    session = Session(story)
    for _ in range(steps):
        if session.status != "playing":
            session.restart()
        session.choose(rng.choice(session.available_choices()).id)
    return session


def median_of(rounds: int, run: object) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


@pytest.mark.parametrize("path", [LANTERN, INTERCEPT], ids=["lantern", "intercept"])
def test_step_save_resume_speed(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not available")
    story = read_story(path)
    steps = 20_000
    seconds = median_of(5, lambda: walk(story, steps, 1))
    print(f"\n{path.name}: {steps / seconds:,.0f} choices/s ({seconds / steps * 1e6:.1f} µs each)")

    # A long playthrough (no restart): save and resume cost.
    session = Session(story)
    rng = random.Random(2)
    while len(session.history) < 200:
        onward = [
            offer
            for offer in session.available_choices()
            if not story.nodes[offer.choice.to].is_ending and offer.choice.to not in FAULTY
        ]
        if not onward:
            break
        session.choose(rng.choice(onward).id)
    text = json.dumps(session.to_json())
    save = median_of(21, lambda: json.dumps(session.to_json()))
    load = median_of(21, lambda: Session.from_json(story, json.loads(text)))
    print(
        f"{path.name}: save of {len(session.history)} choice points, {len(text):,} bytes: "
        f"to_json+dumps {save * 1000:.2f} ms, loads+from_json {load * 1000:.2f} ms"
    )
