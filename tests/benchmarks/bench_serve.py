"""How the served player performs (run on demand): figures for docs/serving.md.

    python tests/benchmarks/bench_serve.py
    python -m pytest tests/benchmarks/bench_serve.py -s     # the same, under pytest

Over the websocket protocol textual.js speaks (no browser: the browser's own drawing is not
the server's cost), against a real ``branching serve stories/demo.json --no-timers``:

* **one viewer at a time**: from opening the connection to the first passage on screen (a
  warm player from the pool), and from a key press to the next passage (choice logged, place
  saved, passage drawn and received), over the demo's "always choose 1" walk (21 choices);
* **memory per session**: RSS, PSS (shared pages split among processes) and USS (this process
  alone) of each player process while 20 are live, and of the server;
* **20 at once**: 20 viewers arrive together, then all play the same walk at once, with the
  default pool (2) and with ``--warm 20``: first passage, key to passage, idle CPU while they
  read, and the log check (every choice exactly once).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from branching.play.engine import Session  # noqa: E402
from branching.play.events import NullRecorder  # noqa: E402
from branching.story.experiments import assignments  # noqa: E402
from branching.story.loader import read_story  # noqa: E402
from tests.serve.helpers import (  # noqa: E402
    DEMO,
    Player,
    Served,
    Step,
    choices,
    serving,
    wait_warm,
)


def walk(viewer: str, limit: int = 40) -> list[Step]:
    """Always the first choice, to an ending (the demo's loops make it 21 choices)."""
    story = read_story(DEMO)
    session = Session(story, recorder=NullRecorder(), arms=assignments(story, viewer, {}))
    steps = []
    while session.status == "playing" and len(steps) < limit:
        offer = session.available_choices()[0]
        node = session.node_id
        session.choose(offer.id)
        steps.append(Step("1", node, offer.id, session.node.title or ""))
    return steps


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def memory(pids: list[int]) -> list[dict[str, float]]:
    found = []
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", rollup, re.M)}
        found.append(
            {
                "rss": fields["Rss"] / 1024,
                "pss": fields["Pss"] / 1024,
                "uss": (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024,
            }
        )
    return found


def cpu_seconds(pids: list[int]) -> float:
    import os

    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


async def one_at_a_time(served: Served, visits: int = 5) -> None:
    firsts: list[float] = []
    keys: list[float] = []
    async with aiohttp.ClientSession() as http:
        for visit in range(visits):
            wait_warm(served, 2)
            player = Player(served)
            started = time.monotonic()
            await player.connect(http)
            await player.read_until("Last Light")
            firsts.append(time.monotonic() - started)
            for step in walk(player.viewer) if visit < 2 else []:
                keys.append(await player.choose(step))
                await asyncio.sleep(0.2)  # a viewer reads
            await player.close()
            await asyncio.sleep(1)
    print(
        f"one at a time: first passage median {statistics.median(firsts):.2f} s "
        f"(min {min(firsts):.2f}, max {max(firsts):.2f}, {len(firsts)} visits); "
        f"key to passage median {statistics.median(keys) * 1000:.0f} ms, "
        f"p95 {percentile(keys, 0.95) * 1000:.0f} ms ({len(keys)} keys)"
    )


async def at_once(served: Served, count: int, label: str) -> None:
    players = [Player(served) for _ in range(count)]
    paths = {p.viewer: walk(p.viewer) for p in players}
    firsts: list[float] = []
    keys: list[float] = []
    live = asyncio.Event()
    play_together = asyncio.Event()

    async def play(player: Player, http: aiohttp.ClientSession) -> None:
        started = time.monotonic()
        await player.connect(http)
        await player.read_until("Last Light", timeout=180)
        firsts.append(time.monotonic() - started)
        if len(firsts) == count:
            live.set()
        await play_together.wait()
        for step in paths[player.viewer]:
            keys.append(await player.choose(step, timeout=120))
        await player.close()

    async with aiohttp.ClientSession() as http:
        tasks = [asyncio.create_task(play(p, http)) for p in players]
        await live.wait()
        await asyncio.sleep(2)
        kids = served.children()
        sizes = memory(kids)
        server = memory([served.process.pid])
        before = cpu_seconds(kids)
        await asyncio.sleep(10)
        idle = (cpu_seconds(kids) - before) / 10
        play_together.set()
        await asyncio.gather(*tasks)
    await asyncio.sleep(3)
    exact = sum(
        choices(served.db, p.viewer) == [(s.node, s.choice) for s in paths[p.viewer]]
        for p in players
    )
    print(
        f"{count} at once ({label}): first passage median {statistics.median(firsts):.2f} s, "
        f"max {max(firsts):.2f} s; all playing at once, key to passage median "
        f"{statistics.median(keys) * 1000:.0f} ms, p95 {percentile(keys, 0.95) * 1000:.0f} ms, "
        f"max {max(keys) * 1000:.0f} ms ({len(keys)} keys); log: {exact}/{count} viewers with "
        f"exactly their choices"
    )
    print(
        f"  memory per player ({len(sizes)} processes): RSS "
        f"{statistics.median(m['rss'] for m in sizes):.0f} MiB, PSS "
        f"{statistics.median(m['pss'] for m in sizes):.0f} MiB, USS "
        f"{statistics.median(m['uss'] for m in sizes):.0f} MiB; all players PSS "
        f"{sum(m['pss'] for m in sizes):.0f} MiB; server RSS {server[0]['rss']:.0f} MiB; "
        f"idle CPU while reading: {idle * 100:.0f}% of one core for all"
    )


def main() -> None:
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average before: {load} (2 cores)")
    with tempfile.TemporaryDirectory() as folder:
        with serving(Path(folder) / "a", "--no-timers") as served:
            asyncio.run(one_at_a_time(served))
        with serving(Path(folder) / "b", "--no-timers") as served:
            wait_warm(served, 2)
            asyncio.run(at_once(served, 20, "--warm 2"))
        with serving(Path(folder) / "c", "--no-timers", "--warm", "20") as served:
            wait_warm(served, 20, timeout=180)
            asyncio.run(at_once(served, 20, "--warm 20"))


def test_serve_benchmark() -> None:
    main()


if __name__ == "__main__":
    main()
