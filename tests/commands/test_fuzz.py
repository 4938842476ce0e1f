"""Bounded fuzzing: story files, saves and Twee mutated at random, through every command.

Whatever the file holds, each command ends with exit status 0, 1 or 2, says something when it
is not 0, and writes no control character to the terminal: never a traceback or a hang.
Hypothesis, derandomized (the same examples every run, so a failure is reproducible) and
bounded to a few seconds in the default run; ``FUZZ_EXAMPLES=500 pytest tests/commands/
test_fuzz.py`` digs deeper.

The mutations are the hostile values found by attacking the product (issue 13): numbers JSON
allows but Python cannot use (NaN, 1e400, 400-digit integers), lone surrogates, control and
bidi characters, deep nesting, wrong types, and Twee constructs left open.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branching.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [
    ROOT / "tests" / "fixtures" / "lantern.json",
    ROOT / "tests" / "fixtures" / "hostile.json",
    ROOT / "stories" / "tutorial.json",
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Terminal control in output: C0 but newline and tab, DEL, C1 (bidi controls are legitimate
#: in right-to-left text: validate warns about them, output keeps them).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

#: JSON text spliced in as a value (json.dumps cannot write these).
RAW_VALUES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1" * 400,
    "9007199254740993",
    '"\\ud800"',
    '"a\\udc00b"',
    '"\\u001b]2;pwned\\u0007"',
    '"\\u009b31m"',
    '"\\u202e"',
    "[" * 2000 + "]" * 2000,
    '{"a": ' * 300 + "1" + "}" * 300,
    "[]",
    "{}",
    "null",
    "true",
    "-0",
    "1.5e308",
    '""',
    '"' + "**a " * 500 + '"',
    '"{gold"',
    '"{{}}}"',
    '"gold + + 1"',
    '"visits(\\"nowhere\\")"',
]
#: Fragments spliced into the text of a file, anywhere.
FRAGMENTS = ["{", "}", "[", "]", '"', ",", ":", "\\", "\\u", "\\ud800", "\x00", "\x1b", "\ufeff"]


@contextmanager
def home() -> Iterator[Path]:
    """A fresh BRANCHING_HOME (saves, log, viewer id) for one example."""
    before = {key: os.environ.get(key) for key in ("BRANCHING_HOME", "BRANCHING_VIEWER")}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BRANCHING_HOME"] = str(Path(tmp) / "home")
        os.environ["BRANCHING_VIEWER"] = "fuzz"
        try:
            yield Path(tmp)
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def run(*args: str | Path, stdin: str = "") -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: uncaught {result.exception!r}") from result.exception
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output[-500:])
    if result.exit_code:
        assert result.output.strip(), (args, "failed without a word")
    bad = CONTROL.search(result.output)
    assert bad is None, (args, f"raw {bad.group()!r} in the output", result.output[-500:])
    return result


def paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a parsed JSON document: keys and indexes from the root."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*path, index))


MARK = "\x00FUZZ{}\x00"


def mutate(document: Any, data: st.DataObject, rounds: int) -> str:
    """The document as JSON text with values replaced by hostile ones, then spliced."""
    raw: list[str] = []
    for _ in range(rounds):
        places = list(paths(document))
        where = data.draw(st.sampled_from(places[1:] or places), label="place")
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        kind = data.draw(st.sampled_from(["raw", "value", "delete", "rename"]), label="kind")
        if kind == "delete" and len(where) > 0:
            del parent[where[-1]]
        elif kind == "rename" and isinstance(parent, dict) and len(where) > 0:
            parent[data.draw(st.text(max_size=8), label="key")] = parent.pop(where[-1])
        elif kind == "value":
            parent[where[-1]] = data.draw(
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: (
                        st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                    ),
                    max_leaves=6,
                ),
                label="value",
            )
        else:
            raw.append(data.draw(st.sampled_from(RAW_VALUES), label="raw"))
            parent[where[-1]] = MARK.format(len(raw) - 1)
    text = json.dumps(document, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    for index, value in enumerate(raw):
        text = text.replace(json.dumps(MARK.format(index)), value)
    if data.draw(st.booleans(), label="splice"):
        at = data.draw(st.integers(0, len(text)), label="at")
        text = text[:at] + data.draw(st.sampled_from(FRAGMENTS), label="fragment") + text[at:]
    return text


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


@FUZZ
@given(data=st.data())
def test_mutated_stories_never_crash_a_command(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS), label="seed")
    text = mutate(json.loads(seed.read_text()), data, data.draw(st.integers(1, 4)))
    with home() as tmp:
        story = write(tmp / "story.json", text)
        run("validate", story)
        run("stats", story)
        run("graph", story)
        run("graph", "--format", "dot", story)
        run("export", "twee", "-o", tmp / "out.twee", story)
        run("play", "--plain", "--no-log", story, stdin="1\n2\n1\nb\n1\nq\n")
        run("simulate", "-n", "2", "--seed", "1", "--db", tmp / "log.db", story)


@FUZZ
@given(data=st.data())
def test_mutated_saves_never_crash_the_player(data: st.DataObject) -> None:
    story = ROOT / "tests" / "fixtures" / "lantern.json"
    with home() as tmp:
        run("play", "--plain", "--no-log", story, stdin="1\n1\nq\n")
        saves = [p for p in (tmp / "home").rglob("*.json") if "lantern" in p.name]
        assert saves, "the player wrote no save"
        save = saves[0]
        document = json.loads(save.read_text())
        # What varies from run to run is fixed, so that Hypothesis draws the same examples.
        document.update(playthrough="0" * 32, elapsed=0.5, timer_remaining=11.5)
        write(save, mutate(document, data, data.draw(st.integers(1, 3))))
        run("play", "--plain", "--no-log", story, stdin="1\n1\nq\n")
        run("play", "--plain", "--no-log", story, stdin="q\n")


TWEE_TOKENS = [
    "<<set $a to 1>>",
    "<<if $a>>",
    "<</if>>",
    "<<",
    ">>",
    "[[",
    "]]",
    "[[Next]]",
    "[[go->Next]]",
    "(set: $a to 1)",
    "(if: $a)[",
    "(",
    ")",
    "|a>[",
    "]",
    "{",
    "}",
    "{back link}",
    "<!--",
    "-->",
    "<!-- branching: timer: 5 -> Next -->",
    "<!-- branching: set gold: 1e400 -->",
    "<!-- branching: ending: NaN -->",
    '"',
    "'",
    "`",
    "\\",
    "$a",
    "$a[0]",
    "_t",
    "<%",
    "%>",
    "/*",
    "<script>",
    "\n",
    "\n::",
    " ",
    "--\n",
    "a: 1\n",
    "[if a]\n",
    "text",
    "\x1b",
    "\u202e",
]
METADATA = ["", ' {"position":"1,2"}', " {" * 50, ' {"size": 1e400}', ' {"a": NaN}', " [tag"]


@st.composite
def twee_files(draw: st.DrawFn) -> str:
    data: dict[str, Any] = {"ifid": "0F6A3C43-7C7B-4E5E-9B7E-1A2B3C4D5E6F", "start": "Start"}
    story_format = draw(st.sampled_from(["Harlowe", "SugarCube", "Chapbook", "Snowman", "x"]))
    data["format"] = story_format
    story_data = json.dumps(data)
    if draw(st.booleans()):
        story_data = story_data.replace('"Start"', draw(st.sampled_from(RAW_VALUES)), 1)
    parts = [":: StoryTitle\nFuzz\n", f":: StoryData\n{story_data}\n"]
    for name in draw(st.lists(st.sampled_from(["Start", "Next", "End", "a]b", ""]), max_size=4)):
        body = "".join(draw(st.lists(st.sampled_from(TWEE_TOKENS), max_size=30)))
        parts.append(f":: {name}{draw(st.sampled_from(METADATA))}\n{body}\n")
    return "\n".join(parts)


@FUZZ
@given(twee=twee_files(), story_format=st.sampled_from(["", "harlowe", "sugarcube", "chapbook"]))
def test_mutated_twee_never_crashes_the_importer(twee: str, story_format: str) -> None:
    with home() as tmp:
        source = write(tmp / "in.twee", twee)
        out = tmp / "out.json"
        options = ["--format", story_format] if story_format else []
        result = run("import", "twee", *options, "-o", out, source)
        if result.exit_code != 2 and out.exists():
            run("validate", out)
            run("export", "twee", "-o", tmp / "again.twee", out)
