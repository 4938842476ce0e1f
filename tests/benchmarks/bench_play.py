"""How fast the Textual player starts and moves from passage to passage (run on demand).

    python -m pytest tests/benchmarks/bench_play.py -s        # or
    python tests/benchmarks/bench_play.py

For each story (the lighthouse fixture, *The Intercept* with 24,700 nodes, and a generated story
of 100,000 nodes) it measures:

* **load**: reading and checking the story file (the loader);
* **first passage**: from ``make_app`` to the first passage on the (headless) screen;
* **key to painted**: from a key event reaching the app's driver until the next passage (or
  the ending panel, or the first passage after a restart) has been painted, over a random walk
  (restarting at endings), with the choice logged and the place saved: the wall-clock median
  and 95th percentile, and the median CPU time the process spent on it.

Then the start-up of the real command in a real terminal (tmux, when installed): from launching
``python -m branching play`` to the first passage on screen. Figures are medians (and 95th
percentiles) of one run; the machine is noisy, see docs/performance.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from branching.play.events import NullRecorder, Recorder  # noqa: E402
from branching.story.loader import load_story_bytes  # noqa: E402
from branching.story.model import Story  # noqa: E402

INTERCEPT = Path("/work/shared/corpus/the-intercept/the-intercept.story.json")
LIGHTHOUSE = ROOT / "tests" / "fixtures" / "lighthouse.json"
STEPS = 150

#: The vocabulary of generated text.
WORDS = re.findall(
    r"\w+",
    "the lamp ship night shore door stair wind salt rope light dark keeper bell tide rock old "
    "cold long slow quiet hand step sea fog voice far near below above",
)


def generated_story(nodes: int = 100_000, seed: int = 7) -> bytes:
    """A story of ``nodes`` passages: titles, 30-80 words of text, 2-4 forward choices (one
    with a condition, some with effects), a timer on every tenth passage, endings at the end."""
    rng = random.Random(seed)
    endings = max(1, nodes // 100)
    body: dict[str, Any] = {}
    for i in range(nodes):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 80)))
        node: dict[str, Any] = {"title": f"Chapter {i}", "text": f"{text}. You have {{score}}."}
        if i >= nodes - endings:
            node["ending"] = {"title": f"Ending {i}", "kind": rng.choice(["good", "bad"])}
        else:
            span = min(50, nodes - 1 - i)
            targets = rng.sample(range(i + 1, i + 1 + span), k=min(span, rng.randint(2, 4)))
            choices: list[dict[str, Any]] = []
            for number, target in enumerate(targets):
                choice: dict[str, Any] = {
                    "label": " ".join(rng.choice(WORDS) for _ in range(4)),
                    "to": f"n{target}",
                }
                if number == 0:
                    choice["set"] = {"score": "score + 1"}
                if number == 1 and len(targets) > 2:
                    choice["if"] = "score > 2"
                choices.append(choice)
            node["choices"] = choices
            if i % 10 == 0:
                node["timer"] = {"seconds": 600, "default": choices[0]["to"]}
        body[f"n{i}"] = node
    story = {
        "format": "branching/1",
        "id": "generated",
        "title": f"Generated ({nodes:,} nodes)",
        "start": "n0",
        "variables": {"score": 0},
        "nodes": body,
    }
    return json.dumps(story).encode()


def load(data: bytes, name: str) -> tuple[Story, float]:
    start = time.perf_counter()
    result = load_story_bytes(data, name, warnings=False)
    seconds = time.perf_counter() - start
    assert result.ok and result.story is not None, [p.message for p in result.errors[:3]]
    return result.story, seconds


def log_recorder_factory(
    tmp: Path,
) -> tuple[Callable[[str], Recorder] | None, str]:
    """Recorders into the real SQLite choice log, opened as ``branching play`` opens them
    (durable: each event is committed before the next passage shows)."""
    try:
        from branching.log import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
            open_recorder,
        )
    except ImportError:
        return None, "no log (branching.log not in this build)"
    from branching.play.events import PlaythroughInfo

    def factory(playthrough_id: str) -> Recorder:
        info = PlaythroughInfo(playthrough_id, "bench", None, "", "bench")
        recorder: Recorder = open_recorder(info, db=tmp / "bench.db")
        return recorder

    return factory, "SQLite choice log, durable"


def first_words(text: str) -> str:
    """A stretch of a passage that the screen shows on one line."""
    return " ".join(text.split()[:3])[:30]


async def drive(story: Story, steps: int, seed: int, tmp: Path) -> dict[str, Any]:
    """Play ``steps`` random moves the way a terminal would send them (key events to the
    driver), timing each from the key to the ``PassageShown`` the app posts once the new
    passage is painted. No pilot waits: those add tens of milliseconds of idle detection."""
    from textual import events
    from textual.message import Message

    from branching.play.saves import SaveStore
    from branching.ui.app import make_app
    from branching.ui.messages import PassageShown

    factory, log_name = log_recorder_factory(tmp)
    rng = random.Random(seed)
    painted: list[float] = []

    def hook(message: Message) -> None:
        if isinstance(message, PassageShown):
            painted.append(time.perf_counter())

    started = time.perf_counter()
    app = make_app(
        story,
        viewer="bench",
        saves=SaveStore(tmp / "saves"),
        recorder=None if factory else NullRecorder(),
        recorder_factory=factory,
        timers=False,  # a timer must not take a default while the benchmark waits
    )
    kinds: dict[str, list[tuple[float, float]]] = {"passage": [], "ending": [], "restart": []}
    async with app.run_test(size=(100, 30), message_hook=hook):
        while not painted:
            await asyncio.sleep(0.001)
        first_passage = painted[0] - started
        await asyncio.sleep(0.2)
        for _ in range(steps):
            session = app.session
            assert session is not None
            if session.status != "playing":
                key, kind = "r", "restart"
            else:
                offers = [o for o in session.available_choices() if o.number <= 9]
                key, kind = str(rng.choice(offers).number), "passage"
            count = len(painted)
            event = events.Key(key, key)
            event.set_sender(app)
            cpu, wall = time.process_time(), time.perf_counter()
            assert app._driver is not None
            app._driver.send_message(event)
            while len(painted) == count:
                await asyncio.sleep(0.0005)
            cpu = time.process_time() - cpu
            if kind == "passage" and session.status != "playing":
                kind = "ending"
            kinds[kind].append((painted[-1] - wall, cpu))
            await asyncio.sleep(0.02)  # a viewer does not press keys 1,000 times a second
    assert app.session is not None
    app.session.recorder.close()
    return {"first_passage": first_passage, "kinds": kinds, "log": log_name}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_story(name: str, data: bytes) -> dict[str, Any]:
    story, load_seconds = load(data, name)
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(drive(story, STEPS, 1, Path(tmp)))
    row: dict[str, Any] = {
        "story": name,
        "nodes": len(story.nodes),
        "load": load_seconds,
        "first_passage": result["first_passage"],
        "log": result["log"],
    }
    parts = []
    for kind, pairs in result["kinds"].items():
        if not pairs:
            continue
        walls = [wall for wall, _ in pairs]
        cpus = [cpu for _, cpu in pairs]
        row[kind] = {
            "n": len(pairs),
            "median": statistics.median(walls),
            "p95": percentile(walls, 0.95),
            "cpu": statistics.median(cpus),
        }
        parts.append(
            f"{kind} x{len(pairs)}: median {ms(statistics.median(walls))}, "
            f"p95 {ms(percentile(walls, 0.95))}, CPU median {ms(statistics.median(cpus))}"
        )
    print(
        f"{name}: {row['nodes']:,} nodes; load {ms(load_seconds)}; first passage "
        f"{ms(row['first_passage'])} after make_app ({row['log']})\n  key to painted: "
        + "; ".join(parts)
    )
    return row


def import_seconds() -> float:
    """Importing the player (Textual included) in a fresh interpreter, median of 5."""
    code = (
        "import time; t = time.perf_counter(); import branching.ui.app; "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], cwd=ROOT, text=True))
        for _ in range(5)
    ]
    return statistics.median(runs)


STARTUP_PHASES = """
import time; t0 = time.perf_counter()
import asyncio, sys
from branching.story.loader import read_story
from branching.play.engine import Session
t1 = time.perf_counter()
story = read_story(sys.argv[1])
t2 = time.perf_counter()
from branching.ui.app import make_app
from branching.ui.messages import PassageShown
t3 = time.perf_counter()

async def main():
    shown = asyncio.get_running_loop().create_future()
    def hook(message):
        if isinstance(message, PassageShown) and not shown.done():
            shown.set_result(time.perf_counter())
    app = make_app(story, Session(story), viewer="bench")
    async with app.run_test(size=(100, 30), message_hook=hook):
        return await shown

t4 = asyncio.run(main())
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""


def startup_phases(story: Path, rounds: int = 3) -> list[float]:
    """In a fresh interpreter: core imports, loading the story, importing the player, and
    from ``make_app`` to the first passage painted (headless); medians of ``rounds``."""
    runs = [
        [
            float(x)
            for x in subprocess.check_output(
                [sys.executable, "-c", STARTUP_PHASES, str(story)], cwd=ROOT, text=True
            ).split()
        ]
        for _ in range(rounds)
    ]
    return [statistics.median(phase) for phase in zip(*runs, strict=True)]


def terminal_startup(story: Path, expect: str, rounds: int = 3) -> float | None:
    """Launch ``python -m branching play`` in tmux; seconds until ``expect`` is on screen."""
    if shutil.which("tmux") is None:
        return None
    times = []
    for round_ in range(rounds):
        session = f"bench{os.getpid()}_{round_}"
        with tempfile.TemporaryDirectory() as home:
            command = (
                f"cd {ROOT} && BRANCHING_HOME={home} TERM=xterm-256color "
                f"{sys.executable} -m branching play {story} --no-log --new; sleep 30"
            )
            start = time.perf_counter()
            subprocess.run(
                ["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", command],
                check=True,
            )
            try:
                while time.perf_counter() - start < 30:
                    screen = subprocess.run(
                        ["tmux", "capture-pane", "-p", "-t", session],
                        capture_output=True,
                        text=True,
                    ).stdout
                    if expect in screen:
                        times.append(time.perf_counter() - start)
                        break
                    time.sleep(0.01)
            finally:
                subprocess.run(["tmux", "kill-session", "-t", session], check=False)
    return statistics.median(times) if times else None


def main() -> list[dict[str, Any]]:
    rows = [bench_story("lighthouse", LIGHTHOUSE.read_bytes())]
    if INTERCEPT.exists():
        rows.append(bench_story("the-intercept", INTERCEPT.read_bytes()))
    rows.append(bench_story("generated-100k", generated_story()))
    print(f"importing the player (Textual included): {ms(import_seconds())}")
    for path, expect in ((LIGHTHOUSE, "Night has fallen"), (INTERCEPT, "keeping me waiting")):
        if path.exists():
            core, loading, player, first = startup_phases(path)
            print(
                f"start-up phases for {path.name}: core imports {ms(core)}, load {ms(loading)}, "
                f"player imports {ms(player)}, make_app to first passage {ms(first)}"
            )
            seconds = terminal_startup(path, expect)
            if seconds is not None:
                print(f"`branching play {path.name}` in tmux to first passage: {ms(seconds)}")
    return rows


def test_play_speed() -> None:
    rows = main()
    for row in rows:
        assert row["passage"]["median"] < 0.05, row  # the target: under 50 ms key to passage


if __name__ == "__main__":
    main()
