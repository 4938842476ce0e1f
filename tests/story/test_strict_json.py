"""JSON that Python's json accepts but nothing can use is refused, located, everywhere we read it.

Found by attacking the loader: lone surrogates, numbers past a double or past 4,300 digits,
NaN and Infinity, arrays where a scalar belongs, deep nesting and endless files.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from branching.cli import main
from branching.story.json_input import (
    InputTooLarge,
    JsonInputError,
    loads,
    raw_decode,
    read_limited,
)
from branching.story.loader import LoadResult, load_story, load_story_bytes

from .test_validate import dump, story

ROOT = Path(__file__).resolve().parents[2]


def load(data: dict[str, Any] | str) -> LoadResult:
    text = dump(data) if isinstance(data, dict) else data
    return load_story_bytes(text.encode(), "s.json")


def codes(result: LoadResult) -> list[str]:
    return [p.code for p in result.problems]


# --- The reader itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ('{"a": NaN}', "json-syntax", 1, 7),
        ('{"a":\n  [1, Infinity]}', "json-syntax", 2, 7),
        ('{"a": -Infinity}', "json-syntax", 1, 7),
        ('{"NaN": "NaN", "b": 1e400}', "json-number", 1, 21),
        ('{"a": -1e400}', "json-number", 1, 7),
        ('{"a": 1' + "0" * 400 + "}", "json-number", 1, 7),
        ('["9", ' + "9" * 5000 + "]", "json-number", 1, 7),
        ('{"a": ["ok", "\\ud800"]}', "lone-surrogate", 1, 14),
        ('{"\\udfff": 1}', "lone-surrogate", 1, 2),
    ],
)
def test_the_reader_refuses_what_cannot_be_used_and_says_where(
    text: str, code: str, line: int, column: int
) -> None:
    with pytest.raises(JsonInputError) as error:
        loads(text)
    assert (error.value.code, error.value.line, error.value.column) == (code, line, column)


def test_the_reader_accepts_what_can_be_used() -> None:
    text = '{"emoji": "\\ud83d\\ude00", "n": [9007199254740992, 1.5e308, -0.0], "s": "NaN"}'
    assert loads(text) == {"emoji": "😀", "n": [2**53, 1.5e308, -0.0], "s": "NaN"}


def test_deep_nesting_is_an_error_not_a_recursion_error() -> None:
    for text in ("[" * 100_000, '{"a":' * 100_000):
        with pytest.raises(JsonInputError, match="nested too deeply"):
            loads(text)
        with pytest.raises(JsonInputError, match="nested too deeply"):
            raw_decode("x " + text, 2)


def test_raw_decode_refuses_the_same_and_reports_the_end() -> None:
    assert raw_decode('::Name {"size": "100,100"} more', 7) == ({"size": "100,100"}, 26)
    for bad in ('{"a": NaN}', '{"a": "\\ud800"}', '{"a": 1e999}'):
        with pytest.raises(JsonInputError):
            raw_decode("x " + bad, 2)


def test_reading_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(InputTooLarge, match="more than 1000 bytes"):
        read_limited("/dev/zero", limit=1000)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2000)
    with pytest.raises(InputTooLarge, match="2,000 bytes"):
        read_limited(big, limit=1000)
    assert read_limited(big, limit=2000) == b" " * 2000


def _write_when_a_reader_comes(fifo: Path, data: bytes) -> threading.Thread:
    """A program writing to ``fifo`` (as ``cat story.json > fifo &``): it opens its end only
    when a reader opens the other, racing the reader's first read."""

    def write() -> None:
        with open(fifo, "wb") as end:  # blocks until the reader opens
            end.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _release(fifo: Path, thread: threading.Thread) -> None:
    """Let a writer still waiting for a reader go, so a failing test cannot hang."""
    thread.join(timeout=10)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        thread.join(timeout=10)


def test_a_named_pipe_nobody_writes_to_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """``mkfifo f; branching validate f`` waited for a writer for ever."""
    fifo = tmp_path / "story.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "branching", "validate", str(fifo)],
        capture_output=True,
        text=True,
        timeout=20,  # a regression fails here instead of hanging the suite
        cwd=ROOT,
    )
    assert done.returncode == 2, done.stderr
    assert (
        f"{fifo}: error [unreadable] cannot read the file: it is a named pipe (FIFO) and no "
        "program is writing to it (waited 1 s)"
    ) in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 30


def test_a_named_pipe_with_a_writer_is_read_whole(tmp_path: Path) -> None:
    """Process substitution (``validate <(cat story.json)``) and ``cat story.json > fifo &``
    keep working: the writer may open its end just after the reader, or write slowly."""
    fifo = tmp_path / "story.json"
    os.mkfifo(fifo)
    data = (ROOT / "stories" / "demo.json").read_bytes()
    for _ in range(20):  # the writer's open races the reader's first read
        writer = _write_when_a_reader_comes(fifo, data)
        try:
            assert read_limited(fifo) == data
        finally:
            _release(fifo, writer)
    writer = _write_when_a_reader_comes(fifo, data)
    try:
        result = CliRunner().invoke(main, ["validate", str(fifo)], catch_exceptions=False)
    finally:
        _release(fifo, writer)
    assert result.exit_code == 0, result.output
    assert "OK, 40 nodes" in result.output


def test_process_substitution_waits_for_a_slow_writer(tmp_path: Path) -> None:
    story = ROOT / "stories" / "demo.json"
    done = subprocess.run(
        ["bash", "-c", f'branching validate <(sleep 1.5; cat "{story}")'],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr
    assert "OK, 40 nodes" in done.stdout


# --- Story files -----------------------------------------------------------------------------


def test_nan_and_infinity_are_not_json() -> None:
    data = story()
    data["nodes"]["a"]["timer"] = {"seconds": 5, "default": "end"}
    text = dump(data)
    for literal in ("NaN", "Infinity", "-Infinity"):
        result = load(text.replace('"seconds": 5', f'"seconds": {literal}'))
        assert not result.readable and codes(result) == ["json-syntax"]
        problem = result.problems[0]
        assert f"{literal} is not a JSON number" in problem.message
        assert (
            problem.line
            == text.splitlines().index(
                next(line for line in text.splitlines() if '"seconds"' in line)
            )
            + 1
        )


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "-" + "9" * 5000]
)
@pytest.mark.parametrize("where", ["variables", "effect", "timer", "title", "tags", "unknown"])
def test_numbers_too_large_to_read_are_refused_wherever_they_are(number: str, where: str) -> None:
    data = story()
    node = data["nodes"]["a"]
    marker = 123456789
    if where == "variables":
        data["variables"]["gold"] = marker
    elif where == "effect":
        node["set"] = {"gold": marker}
    elif where == "timer":
        node["timer"] = {"seconds": marker, "default": "end"}
    elif where == "title":
        node["title"] = marker
    elif where == "tags":
        node["tags"] = ["x", marker]
    else:
        node["extra"] = {"deep": [[marker]]}
    text = dump(data)
    result = load(text.replace(str(marker), number))
    assert not result.readable and codes(result) == ["json-number"]
    problem = result.problems[0]
    assert problem.line == next(
        i for i, line in enumerate(text.splitlines(), 1) if str(marker) in line
    )
    assert len(problem.message) < 200  # the 5,000 digits are not echoed


@pytest.mark.parametrize("number", [2**53 + 1, -(2**53) - 2, 1e16, -1e300, 1.5e308])
def test_numbers_outside_what_expressions_compute_are_located_errors(number: float) -> None:
    data = story()
    data["variables"]["big"] = number
    data["nodes"]["a"]["set"] = {"gold": number}
    data["nodes"]["a"]["choices"][0]["set"] = {"gold": number}
    data["nodes"]["a"]["timer"] = {"seconds": number, "default": "end"}
    result = load(data)
    found = {p.path for p in result.problems if p.code == "number-range"}
    assert found == {
        "/variables/big",
        "/nodes/a/set/gold",
        "/nodes/a/choices/0/set/gold",
        "/nodes/a/timer/seconds",
    }
    assert all(p.line is not None for p in result.problems)
    assert not result.ok


def test_the_largest_story_numbers_are_fine() -> None:
    data = story()
    data["variables"]["big"] = 2**53
    data["nodes"]["a"]["set"] = {"gold": -(2**53)}
    result = load(data)
    assert result.ok, result.problems


@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, [], {}, None])
@pytest.mark.parametrize("where", ["node", "choice"])
def test_an_effect_value_that_is_not_a_scalar_is_a_schema_error(value: Any, where: str) -> None:
    data = story()
    target = data["nodes"]["a"] if where == "node" else data["nodes"]["a"]["choices"][0]
    target["set"] = {"gold": value, "torch": value}
    for build in (True, False):
        result = load_story_bytes(dump(data).encode(), "s.json", build=build)
        schema = [p for p in result.problems if p.code == "schema"]
        assert len(schema) == 2 and not result.ok
        assert all("true/false, a number or a string" in p.message for p in schema)


def test_a_variable_default_that_is_not_a_scalar_says_what_is_allowed() -> None:
    data = story()
    data["variables"]["gold"] = [1]
    (problem,) = [p for p in load(data).problems if p.code == "schema"]
    assert problem.path == "/variables/gold"
    assert problem.message == "expected true/false, a number or a string, not an array"


def test_a_variable_with_a_broken_default_is_still_declared() -> None:
    # One error, on the value: its uses are not also called undeclared.
    data = story()
    data["variables"]["gold"] = None
    data["nodes"]["a"]["text"] = "You have {gold} gold. {gold, plural, one {#} other {#}}"
    data["nodes"]["a"]["choices"][0]["set"] = {"gold": "gold + 1"}
    data["nodes"]["a"]["choices"][0]["if"] = "gold > 0 and ghost"
    problems = load(data).problems
    assert [(p.code, p.path) for p in problems if p.code == "schema"] == [
        ("schema", "/variables/gold")
    ]
    # A variable that is really undeclared is still reported.
    undefined = [p for p in problems if p.code == "undefined-variable"]
    assert len(undefined) == 1 and '"ghost"' in undefined[0].message, problems


@pytest.mark.parametrize(
    ("seconds", "found"), [("5", "a string"), (True, "true"), ([5], "an array")]
)
def test_timer_seconds_that_are_not_a_number_say_a_number(seconds: Any, found: str) -> None:
    data = story()
    data["nodes"]["a"]["timer"] = {"seconds": seconds, "default": "end"}
    (problem,) = [p for p in load(data).problems if p.code == "schema"]
    assert problem.path == "/nodes/a/timer/seconds"
    assert problem.message == f"expected a number (such as 10 or 2.5), not {found}"


def test_an_ending_object_with_a_wrong_kind_is_one_error_about_the_kind() -> None:
    data = story()
    data["nodes"]["end"]["ending"] = {"title": "Fin", "kind": "happy"}
    (problem,) = [p for p in load(data).problems if p.code == "schema"]
    assert problem.path == "/nodes/end/ending/kind"


def first_choice(data: dict[str, Any]) -> dict[str, Any]:
    choice: dict[str, Any] = data["nodes"]["a"]["choices"][0]
    return choice


@pytest.mark.parametrize(
    ("place", "path"),
    [
        (lambda d: d.update(title="T\\ud800"), "/title"),
        (lambda d: d.update(author="\\udc00x"), "/author"),
        (lambda d: d["variables"].update(name="\\ud83d"), "/variables/name"),
        # In a key, pydantic saw it too (as U+FFFD): still said once.
        (lambda d: d["variables"].update({"na\\ud800me": 1}), "/variables/na\ud800me"),
        (lambda d: d["nodes"]["a"].update(text="a \\udfff b"), "/nodes/a/text"),
        (lambda d: d["nodes"]["a"].update(tags=["ok", "\\ud800"]), "/nodes/a/tags/1"),
        (lambda d: first_choice(d).update(label="Go\\ud800"), "/nodes/a/choices/0/label"),
        (lambda d: first_choice(d).update({"if": "name == '\\ud800'"}), "/nodes/a/choices/0/if"),
        (
            lambda d: d["nodes"]["end"].update(ending={"title": "\\ud800"}),
            "/nodes/end/ending/title",
        ),
    ],
)
def test_lone_surrogates_are_located_errors_wherever_they_are(place: Any, path: str) -> None:
    data = story()
    place(data)
    # json.dumps would escape the backslash: put the escape into the file text itself.
    text = dump(data).replace("\\\\u", "\\u")
    result = load(text)
    assert not result.ok and result.readable
    problems = [p for p in result.problems if p.code == "lone-surrogate"]
    assert [p.path for p in problems] == [path]
    assert problems[0].line is not None
    assert [p for p in result.problems if p.path == path] == problems  # said once, clearly


def test_a_surrogate_pair_is_one_character_and_fine() -> None:
    data = story()
    data["nodes"]["a"]["text"] = "Snow \\ud83c\\udf28"
    result = load(dump(data).replace("\\\\u", "\\u"))
    assert result.ok, result.problems
    assert result.story is not None and result.story.nodes["a"].text == "Snow 🌨"


def test_every_lone_surrogate_is_reported_in_one_run() -> None:
    data = story()
    data["title"] = "\\ud800"
    data["nodes"]["a"]["text"] = "\\udc00"
    data["nodes"]["end"]["text"] = "\\udbff"
    result = load(dump(data).replace("\\\\u", "\\u"))
    assert codes(result).count("lone-surrogate") == 3


@pytest.mark.parametrize("depth", [950, 5_000, 100_000])
def test_deep_nesting_in_a_story_is_a_located_json_error(depth: int) -> None:
    data = story()
    data["nodes"]["a"]["extra"] = 0
    text = dump(data).replace('"extra": 0', '"extra": ' + "[" * depth + "]" * depth)
    result = load(text)
    assert codes(result) in (["json-syntax"], ["schema"])  # too deep, or an unknown field


# --- Every command that reads a story --------------------------------------------------------

INFINITE_TIMER = '{"seconds": Infinity, "default": "end"}'
HOSTILE = {
    "surrogate": ('"text": "Start"', '"text": "Start \\ud800"', 1),
    "nan": ('"gold": 0', '"gold": NaN', 2),
    "infinity-timer": ('"text": "Start"', '"text": "x", "timer": ' + INFINITE_TIMER, 2),
    "big-int": ('"gold": 0', '"gold": ' + "1" * 5000, 2),
    "huge-int": ('"gold": 0', '"gold": 1' + "0" * 400, 2),
    "overflow": ('"gold": 0', '"gold": 1e400', 2),
    "range": ('"gold": 0', '"gold": 1e300', 1),
    "array-effect": ('"text": "Start"', '"text": "Start", "set": {"gold": [1, 2]}', 1),
    "object-effect": ('"text": "Start"', '"text": "Start", "set": {"gold": {"x": 1}}', 1),
}  # fmt: skip

COMMANDS = [
    ["validate"],
    ["validate", "--deep"],
    ["validate", "--format", "json"],
    ["stats"],
    ["graph"],
    ["export", "twee"],
    ["simulate", "-n", "2", "--no-log"],
    ["play", "--plain", "--no-log"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_commands_refuse_unusable_stories_with_a_message(
    tmp_path: Path, command: list[str], attack: str
) -> None:
    old, new, _ = HOSTILE[attack]
    text = dump(story())
    assert old in text
    path = tmp_path / "s.json"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = CliRunner().invoke(
        main, [*command[:2], str(path), *command[2:]] if command[0] == "export" else
        [command[0], str(path), *command[1:]], input="1\n", catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code in (1, 2), result.output
    assert "\ud800" not in result.output and "Traceback" not in result.output
    if command[0] == "validate":
        assert result.exit_code == HOSTILE[attack][2]


def test_validate_dev_zero_refuses_at_the_size_limit() -> None:
    """`validate /dev/zero` used to read until memory ran out; now it stops at 128 MiB."""

    def limit_memory() -> None:  # 1 GiB of address space: enough for the limit, not for more
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run(
        [sys.executable, "-m", "branching", "validate", "/dev/zero"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_memory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert "[too-large]" in done.stdout and "128 MiB" in done.stdout
    assert "Traceback" not in done.stderr


def test_a_story_over_the_limit_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import branching.story.json_input as json_input

    path = tmp_path / "s.json"
    path.write_text(json.dumps(story()))
    monkeypatch.setattr(json_input, "MAX_INPUT_BYTES", 100)
    result = load_story(path)
    assert not result.readable and codes(result) == ["too-large"]
