"""Nothing a story or a Twee file contains makes a command slow beyond linear.

Each case runs a command on hostile text of two sizes (4x apart) and asserts the larger took
less than 8x as long (quadratic would be 16x; each was seconds to minutes before its fix). CPU
time, a ratio and a generous floor, so a busy machine does not fail it; run in a subprocess
with a timeout, so a regression fails instead of hanging the suite.

The patterns are the classes found by reading every regex and scanner over story, Twee and
log text: unclosed openers searched for their closer from each opener (``<!--``, ``[[``,
``<<``, ``(a:``, quotes, brackets), runs of spaces between two greedy or lazy quantifiers, and
Markdown emphasis that never closes (tests/play/test_words.py times that at 160 KB).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SMALL, LARGE = 50_000, 200_000

#: Story text read by every command: Markdown, braces, escapes, quotes, lines.
STORY_TEXT = [
    ("", "**a ", ""),
    ("", "[a", ""),
    ("", '"\\', ""),
    ("", "<a '\"", ""),
    ("", "{{", ""),
    ("", "{a", ""),
    ("", "\\", ""),
    ("", "a\n", ""),
    ("", "[[a->", ""),
]

#: Twee passages, per story format: each scanner's constructs left open, and the regexes that
#: were quadratic on a long run of spaces (assignments, (put:), Chapbook variables, timers).
TWEE = {
    "sugarcube": [
        ("", "<<a ", ""),
        ("", "[[a", ""),
        ("", "<!--", ""),
        ("", " $a[a", ""),
        ("", "_a ", ""),
        ("", "<<script>>", ""),
        ("", "/*", ""),
        ("<<set $a to 1", " ", "2>>"),
        ('<<if "', '\\"', '\n">>'),
        ("<!-- branching: timer: 1", " ", "x -->"),
    ],
    "harlowe": [
        ("", "(a:", ""),
        ("", "|a>[", ""),
        ("", "(if: true)[", ""),
        ("", "`a", ""),
        ("", "$a.", ""),
        ("(put: 1", " ", "into $a)"),
        ("(set: $a to 1", " ", "2)"),
    ],
    "chapbook": [
        ("", "a:\n", ""),
        ("", "[if a]\n", ""),
        ("", "{link to 'a', label: '", ""),
        ("a", " ", "(b) : 1\n--\n"),
        ("", "{a", ""),
    ],
    "snowman": [
        ("", "<%", ""),
        ("", "<a '\"", ""),
        ("", "[[a", ""),
    ],
}

COMMANDS = ["validate", "stats", "graph", "graph:dot", "simulate", "export", "play"]

#: PO files: Babel wraps strings at 76 columns in time quadratic in a word's length (a run
#: without spaces; 100 KB took 43 s), so a long word is written unwrapped.
I18N_TEXT = [("", "x", ""), ("", "!", ""), ("", "a ", "")]


def cases() -> list[list[object]]:
    found: list[list[object]] = []
    for command in COMMANDS:
        # The plain player renders Markdown (markdown-it-py): linear, but about 10 times the
        # cost per character of the others, so a quarter of the size and fewer patterns.
        if command == "play":
            found += [[command, *case, SMALL // 4, LARGE // 4] for case in STORY_TEXT[1:4]]
        else:
            found += [[command, *case, SMALL, LARGE] for case in STORY_TEXT]
    for command in ("i18n:extract", "i18n:update"):
        found += [[command, *case, SMALL, LARGE] for case in I18N_TEXT]
    for story_format, twee_cases in TWEE.items():
        found += [[f"import:{story_format}", *case, SMALL, LARGE] for case in twee_cases]
    return found


@pytest.fixture(scope="module")
def times() -> dict[str, list[float]]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.commands.timing", json.dumps(cases())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured: dict[str, list[float]] = json.loads(done.stdout)
    return measured


def test_every_command_takes_time_in_proportion_to_the_story(
    times: dict[str, list[float]],
) -> None:
    slow = {
        case: f"{small:.3f} s at {SMALL // 1000} KB, {large:.3f} s at 4x"
        for case, (small, large) in times.items()
        if large > 8 * small + 0.25
    }
    assert not slow, slow
    assert len(times) == len(cases())


def broken_links(count: int) -> bytes:
    """A story of ``count`` nodes, each with a choice to a missing node and a condition on an
    undeclared variable, among ``count`` declared ones: a "did you mean" for every one."""
    nodes: dict[str, object] = {
        f"room{i:05d}": {
            "text": "x",
            "choices": [{"label": "on", "to": f"rom{i:05d}", "if": f"gld{i:05d} > 1"}],
        }
        for i in range(count)
    }
    nodes["end"] = {"text": "The end.", "ending": True}
    variables = {f"gold{i:05d}": 0 for i in range(count)}
    story = {"format": "branching/1", "id": "s", "title": "S", "start": "room00000"}
    return json.dumps({**story, "variables": variables, "nodes": nodes}).encode()


def test_suggestions_for_many_misspelt_names_take_linear_time() -> None:
    """Each misspelt target and variable was compared with every id: 4,000 took 80 s."""
    import time

    from branching.story.loader import load_story_bytes

    times = []
    for count in (250, 1000):
        data = broken_links(count)
        start = time.process_time()
        result = load_story_bytes(data, "s.json")
        times.append(time.process_time() - start)
        hints = [p.message for p in result.errors if "did you mean" in p.message]
        assert len(hints) == 2 * count, len(hints)  # every one still gets its suggestion
    assert times[1] < 8 * times[0] + 0.5, times
