"""Generate large, valid ``branching/1`` stories that look like real ones, for benchmarks.

Reusable by any benchmark::

    from tests.benchmarks.storygen import generate_story, write_story
    story = generate_story(100_000, 3.0, seed=1)      # 100,000 nodes, 300,000 choices

The shape follows hand-written and converted stories (The Intercept, Twine games): a long
spine of scenes where most choices lead a little further on, some loop back, about 1 % of
nodes are endings, a few variables (numbers, a flag, a string) changed by choices and by
entering nodes, conditions on about a fifth of the choices (never on a node's first choice,
so nobody is stuck), ``visits()`` tests, timers on some nodes and ``{variable}`` interpolation
in text. Every node is reachable and can reach an ending, so ``validate`` reports nothing:
benchmarks measure the happy path a writer hits on every save.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

_WORDS = [
    "the",
    "a",
    "door",
    "light",
    "corridor",
    "she",
    "he",
    "they",
    "rain",
    "station",
    "letter",
    "old",
    "quiet",
    "window",
    "river",
    "remember",
    "never",
    "always",
    "slowly",
    "across",
    "under",
    "behind",
    "voice",
    "cold",
    "morning",
    "night",
    "train",
    "signal",
    "machine",
    "code",
    "message",
    "pocket",
    "table",
    "commander",
    "hut",
    "careful",
    "strange",
    "distant",
    "answer",
    "question",
    "waits",
    "opens",
    "closes",
    "turns",
    "looks",
    "listens",
    "whispers",
    "runs",
    "stops",
]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def generate_story(
    nodes: int,
    choices_per_node: float,
    seed: int = 0,
    *,
    ending_share: float = 0.01,
    condition_share: float = 0.2,
    timer_share: float = 0.05,
    loop_share: float = 0.05,
    text_words: int = 40,
    reach: int = 50,
) -> dict[str, Any]:
    """A valid story as a JSON-ready dict.

    Parameters
    ----------
    nodes
        Number of nodes (at least 2).
    choices_per_node
        Average choices per node over *all* nodes: the total is ``round(nodes *
        choices_per_node)``, spread over the non-ending nodes.
    seed
        The same seed gives the same story.
    ending_share, condition_share, timer_share, loop_share
        Shares of nodes that are endings, of choices with an ``if``, of nodes with a timer and
        of choices leading backwards.
    text_words
        Average words of text per node.
    reach
        How far ahead (in node numbers) a forward choice may lead.

    Examples
    --------
    >>> story = generate_story(200, 3.0, seed=1)
    >>> len(story["nodes"]), sum(len(n.get("choices", ())) for n in story["nodes"].values())
    (200, 600)
    """
    if nodes < 2:
        raise ValueError("a story needs at least 2 nodes")
    rng = random.Random(seed)
    ids = [f"s{i}" for i in range(nodes)]
    # Endings: never the start, never two in a row, always the last node.
    endings = {nodes - 1}
    for i in range(2, nodes - 1):
        if rng.random() < ending_share and i - 1 not in endings:
            endings.add(i)
    senders = [i for i in range(nodes) if i not in endings]
    total = round(nodes * choices_per_node)
    base, extra = divmod(total, len(senders))
    counts = {i: base for i in senders}
    for i in rng.sample(senders, extra):
        counts[i] += 1

    result_nodes: dict[str, Any] = {}
    for i in range(nodes):
        words = max(3, int(rng.gauss(text_words, text_words / 4)))
        text = " ".join(_sentence(rng, rng.randint(4, 12)) for _ in range(max(1, words // 8)))
        if rng.random() < 0.1:
            text += " You have {gold} coins."
        node: dict[str, Any] = {"text": text}
        if rng.random() < 0.2:
            node["title"] = _sentence(rng, 3)[:-1]
        if i in endings:
            node["ending"] = {
                "title": _sentence(rng, 2)[:-1],
                "kind": rng.choice(["good", "bad", "neutral"]),
            }
            result_nodes[ids[i]] = node
            continue
        if rng.random() < 0.05:
            node["set"] = {"torch": "not torch"}
        # The spine keeps everything reachable: i -> i+1, and over an ending to i+2.
        targets = [i + 1]
        if i + 1 in endings and i + 2 < nodes:
            targets.append(i + 2)
        tries = 0
        while len(targets) < counts[i]:
            if rng.random() < loop_share and i > 0:
                target = rng.randint(max(0, i - reach), i - 1)
            else:
                target = rng.randint(i + 1, min(nodes - 1, i + reach))
            # Distinct targets keep choice ids unique without explicit ids ...
            tries += 1
            if target not in targets or tries > 20:
                targets.append(target)
        choices: list[dict[str, Any]] = []
        used: set[str] = set()
        for position, target in enumerate(targets[: max(counts[i], len(targets[:2]))]):
            choice: dict[str, Any] = {"label": _sentence(rng, rng.randint(2, 6)), "to": ids[target]}
            if ids[target] in used:  # ... and an explicit id where a target repeats.
                choice["id"] = f"c{position}"
            used.add(choice.get("id", ids[target]))
            if position > 0 and rng.random() < condition_share:
                choice["if"] = rng.choice(
                    [
                        "gold >= 3",
                        "torch",
                        "not torch and gold < 10",
                        f'visits("{ids[max(0, i - 3)]}") > 0',
                        "name == 'Ada' or trust > 2",
                    ]
                )
            if rng.random() < 0.15:
                choice["set"] = rng.choice(
                    [{"gold": "gold + 1"}, {"trust": "trust - 1"}, {"torch": True}, {"gold": 0}]
                )
            choices.append(choice)
        node["choices"] = choices
        if rng.random() < timer_share:
            first = choices[0]
            node["timer"] = {
                "seconds": rng.choice([5, 10, 7.5]),
                "default": first.get("id", first["to"]),
            }
        result_nodes[ids[i]] = node

    return {
        "format": "branching/1",
        "id": f"generated-{nodes}",
        "title": f"Generated story ({nodes} nodes, seed {seed})",
        "author": "tests/benchmarks/storygen.py",
        "start": ids[0],
        "variables": {"gold": 0, "trust": 1, "torch": False, "name": "Ada"},
        "nodes": result_nodes,
    }


def write_story(path: str | Path, story: dict[str, Any]) -> Path:
    """Write ``story`` as indented JSON (as editors save it) and return the path."""
    path = Path(path)
    path.write_text(json.dumps(story, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--choices-per-node", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write_story(args.output, generate_story(args.nodes, args.choices_per_node, args.seed))


if __name__ == "__main__":
    main()
