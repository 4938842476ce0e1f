"""Markdown read as words by the plain player: what it keeps, what it drops, and that it takes
time in proportion to the text however hostile the text is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from branching.play.words import markdown_to_plain

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("markdown", "words"),
    [
        ("# The Hut", "The Hut"),
        ("### Deep ###", "Deep"),
        ("Title\n=====", "Title"),
        ("**Recording.** It is _cold_, *very* __cold__.", "Recording. It is cold, very cold."),
        ("~~Old~~ new", "Old new"),
        ("see [the map](http://x.test)", "see the map (http://x.test)"),
        ("see [http://x.test](http://x.test)", "see http://x.test"),
        ("see <http://x.test>", "see http://x.test"),
        ("an ![icy hut](hut.png) here", "an icy hut here"),
        ("use `radio *now*`", "use radio *now*"),
        ("```\n**raw** code\n```", "**raw** code"),
        ("> Said the radio.\n> Twice.", "  Said the radio.\n  Twice."),
        ("one\n\n---\n\ntwo", "one\n\n\n\ntwo"),
        ("\\*not emphasis\\* and \\_this\\_", "*not emphasis* and _this_"),
        ("snake_case_name and 2 * 3 * 4 stay", "snake_case_name and 2 * 3 * 4 stay"),
        ("- first\n- second", "- first\n- second"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("line one  \nline two", "line one\nline two"),
        ("<b>tags</b> stay text", "<b>tags</b> stay text"),
        ("unclosed **strong and _em", "unclosed **strong and _em"),
    ],
)
def test_markdown_becomes_words(markdown: str, words: str) -> None:
    assert markdown_to_plain(markdown) == words


# Each pattern repeated over a whole passage: unclosed emphasis of every kind, at the 160 KB
# the old regexes never finished, and brackets, links, code and quotes (slower per character in
# the parser, so at 40 KB).
EMPHASIS = ["**a ", "__a ", "*a ", "_a ", "~~a "]
OTHERS = ["[a", "![", "`a", "<a ", "\n> "]

_TIMING = """
import json, sys, time
from branching.play.words import markdown_to_plain
markdown_to_plain("warm **up** [x](y)")
result = {}
for pattern, size in json.loads(sys.argv[1]):
    times = []
    for part in (size // 4, size):
        text = pattern * (part // len(pattern))
        start = time.process_time()
        markdown_to_plain(text)
        times.append(time.process_time() - start)
    result[pattern] = times
print(json.dumps(result))
"""


def test_hostile_passages_take_time_in_proportion_to_their_length() -> None:
    """160 KB of unclosed markers used to never show; now 4 times the text takes about 4 times
    as long (a quadratic cost would take 16). Run apart, so a regression times out instead of
    hanging the suite; CPU time and a ratio, so a busy machine does not fail it."""
    cases = [(p, 160_000) for p in EMPHASIS] + [(p, 40_000) for p in OTHERS]
    done = subprocess.run(
        [sys.executable, "-c", _TIMING, json.dumps(cases)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    times: dict[str, list[float]] = json.loads(done.stdout)
    for pattern, (small, large) in times.items():
        assert large < 8 * small + 0.05, f"{pattern!r}: {small:.3f} s then {large:.3f} s"
    emphasis = [times[pattern][1] for pattern in EMPHASIS]
    assert max(emphasis) < 5, emphasis  # under a second each here, even on a busy machine
