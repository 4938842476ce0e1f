"""``branching validate``: every error and warning, located, and never a traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from branching.cli import main
from branching.story.loader import LoadResult, load_story, load_story_bytes
from branching.story.problems import Problem

ROOT = Path(__file__).resolve().parents[2]
INTERCEPT = "corpus/the-intercept/the-intercept.story.json"


def story(**nodes: Any) -> dict[str, Any]:
    """A valid story around the given nodes (default: a start leading to an ending)."""
    data: dict[str, Any] = {
        "format": "branching/1",
        "id": "t",
        "title": "Test",
        "start": "a",
        "variables": {"gold": 0, "torch": False, "name": "Ada"},
        "nodes": nodes
        or {
            "a": {"text": "Start", "choices": [{"label": "Go", "to": "end"}]},
            "end": {"text": "Done", "ending": True},
        },
    }
    return data


def dump(data: dict[str, Any]) -> str:
    """JSON with one node per line (so tests can predict line numbers)."""
    lines = ["{"]
    for key, value in data.items():
        if key == "nodes":
            continue
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "nodes": {')
    items = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in data["nodes"].items()]
    lines.append(",\n".join(items))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def load(data: dict[str, Any] | str | bytes) -> LoadResult:
    if isinstance(data, dict):
        data = dump(data)
    if isinstance(data, str):
        data = data.encode()
    return load_story_bytes(data, "s.json")


def only(result: LoadResult, code: str) -> Problem:
    found = [p for p in result.problems if p.code == code]
    assert len(found) == 1, result.problems
    return found[0]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_valid_story_has_no_problems() -> None:
    result = load(story())
    assert result.ok and result.problems == [] and result.story is not None


def test_schema_key_is_allowed() -> None:
    data = story()
    data = {"$schema": "../docs/branching-1.schema.json", **data}
    assert load(data).problems == []


# --- Errors ----------------------------------------------------------------------------------


def test_malformed_json_is_located_and_unreadable() -> None:
    result = load('{\n  "format": "branching/1"\n  "id": "x"\n}')
    problem = only(result, "json-syntax")
    # The comma is missing at the end of line 2, where the decoder noticed it on line 3.
    assert (problem.line, problem.column) == (2, 26)
    assert problem.message == "not valid JSON: missing comma at the end of line 2 (before line 3)"
    assert not result.readable


@pytest.mark.parametrize(
    ("text", "place", "said"),
    [
        ('{\n  "a": 1,\n}', (2, 9), "a comma before }"),
        ('{"nodes": [1, 2,]}', (1, 16), "a comma before ]"),
        ("{'format': 1}", (1, 2), "double quotes"),
        ('{"format" 1}', (1, 10), "missing colon"),
    ],
)
def test_json_mistakes_are_named_where_they_are(
    text: str, place: tuple[int, int], said: str
) -> None:
    problem = only(load(text), "json-syntax")
    assert (problem.line, problem.column) == place
    assert said in problem.message


@pytest.mark.parametrize(("text", "kind"), [("[1, 2]", "an array"), ('"story"', "a string")])
def test_a_file_that_is_not_an_object_says_so(text: str, kind: str) -> None:
    problem = only(load(text), "schema")
    assert problem.message == f"a story file is one JSON object {{...}}, not {kind}"
    assert (problem.line, problem.column) == (1, 1)


def test_wrong_type_and_missing_field() -> None:
    data = story()
    data["title"] = 5
    del data["id"]
    result = load(data)
    codes = {(p.code, p.path) for p in result.errors}
    assert ("schema", "/title") in codes
    missing = [p for p in result.errors if p.path == "/id"]
    assert missing and "required" in missing[0].message
    title = next(p for p in result.errors if p.path == "/title")
    assert title.line == line_of(dump(data), '"title"')


def test_unknown_field_suggests_the_right_one() -> None:
    data = story(
        a={"txt": "Start", "choices": [{"label": "Go", "to": "end"}]},
        end={"ending": True},
    )
    problem = only(load(data), "schema")
    assert problem.path == "/nodes/a/txt" and problem.node == "a"
    assert 'did you mean "text"' in problem.message
    assert problem.line == line_of(dump(data), '"a":')


def test_unknown_format() -> None:
    data = story()
    data["format"] = "branching/9"
    problem = only(load(data), "unknown-format")
    assert problem.path == "/format" and problem.line == 2


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [
        ('{"format": "branching/1", "format": "branching/1"}', "/format", 1),
        (
            '{"nodes": {\n"a": {"text": "x",\n "text": "y"}}}',
            "/nodes/a/text",
            3,
        ),
        (
            '{"nodes": {"a": {"choices": [\n{"label": "x", "to": "b", "label": "y"}]}}}',
            "/nodes/a/choices/0/label",
            2,
        ),
    ],
)
def test_duplicate_keys_anywhere(text: str, path: str, line: int) -> None:
    problem = only(load(text), "duplicate-key")
    assert (problem.path, problem.line) == (path, line)


def test_a_key_given_three_times_is_one_problem_that_says_so() -> None:
    text = '{"format": "branching/1",\n"id": "a",\n"id": "b",\n"id": "c"}'
    problem = only(load(text), "duplicate-key")
    assert (problem.path, problem.line) == ("/id", 4)
    assert problem.message.startswith('"id" appears 3 times here')


def test_missing_start_and_missing_target() -> None:
    data = story(
        a={"text": "Start", "choices": [{"label": "Go", "to": "nowhere"}]},
        end={"ending": True},
    )
    data["start"] = "begin"
    result = load(data)
    assert only(result, "missing-start").path == "/start"
    target = only(result, "missing-node")
    assert (target.node, target.path) == ("a", "/nodes/a/choices/0/to")
    assert target.line == line_of(dump(data), '"a":')


def test_non_ending_without_choices() -> None:
    data = story(a={"text": "Start", "choices": [{"label": "Go", "to": "b"}]}, b={"text": "Hm"})
    problem = only(load(data), "no-choices")
    assert (problem.node, problem.path) == ("b", "/nodes/b")
    assert problem.line == line_of(dump(data), '"b":')


def test_duplicate_choice_ids() -> None:
    data = story(
        a={"choices": [{"label": "Go", "to": "end"}, {"label": "Run", "to": "end"}]},
        end={"ending": True},
    )
    problem = only(load(data), "duplicate-choice-id")
    assert (problem.node, problem.path) == ("a", "/nodes/a/choices/1/to")


def test_timer_default_must_be_a_choice_and_seconds_positive() -> None:
    for seconds in (0, -3):
        data = story(
            a={
                "choices": [{"label": "Go", "to": "end"}],
                "timer": {"seconds": seconds, "default": "stay"},
            },
            end={"ending": True},
        )
        result = load(data)
        assert only(result, "timer-default").path == "/nodes/a/timer/default"
        assert only(result, "timer-seconds").path == "/nodes/a/timer/seconds"


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("gold >", "expression-syntax"),
        ("gold = 3", "expression-syntax"),
        ("silver > 3", "undefined-variable"),
        ("visits('cellar') > 0", "unknown-node-in-visits"),
        ("gold + name > 1", "type-error"),
        ("gold + 1", "type-error"),
    ],
)
def test_expression_errors(condition: str, code: str) -> None:
    data = story(
        a={"choices": [{"label": "Go", "to": "end"}, {"label": "If", "to": "b", "if": condition}]},
        b={"choices": [{"label": "On", "to": "end"}]},
        end={"ending": True},
    )
    problem = only(load(data), code)
    assert (problem.node, problem.path) == ("a", "/nodes/a/choices/1/if")
    assert problem.line == line_of(dump(data), '"a":')


def test_set_of_undefined_variable_and_wrong_type() -> None:
    data = story(
        a={
            "set": {"silver": 1},
            "choices": [{"label": "Go", "to": "end", "set": {"gold": "'lots'", "torch": 3}}],
        },
        end={"ending": True},
    )
    result = load(data)
    assert only(result, "undefined-variable").path == "/nodes/a/set/silver"
    paths = {p.path for p in result.problems if p.code == "type-error"}
    assert paths == {"/nodes/a/choices/0/set/gold", "/nodes/a/choices/0/set/torch"}


def test_interpolation_of_undefined_variable_and_bad_braces() -> None:
    data = story(
        a={"text": "You have {silver}", "choices": [{"label": "Go {", "to": "end"}]},
        end={"ending": True},
    )
    result = load(data)
    assert only(result, "undefined-variable").path == "/nodes/a/text"
    assert only(result, "interpolation").path == "/nodes/a/choices/0/label"


@pytest.mark.parametrize(
    ("raw_text", "where"),
    [
        ('"Hello \\u001b]2;pwned\\u0007"', "text"),
        ('"Carriage\\rreturn"', "text"),
        ('"C1 \u0085 next line"', "text"),
        ('"DEL \x7f"', "text"),
    ],
)
def test_control_characters_in_text(raw_text: str, where: str) -> None:
    text = (
        '{"format": "branching/1", "id": "t", "title": "T", "start": "a", "nodes": {\n'
        f'"a": {{"text": {raw_text}, "choices": [{{"label": "Go", "to": "end"}}]}},\n'
        '"end": {"ending": true}}}'
    )
    problem = only(load(text), "control-character")
    assert (problem.node, problem.path, problem.line) == ("a", f"/nodes/a/{where}", 2)


@pytest.mark.parametrize("raw_label", ["\u202eevil", "\\u202Eevil", "a\u2066b"])
def test_bidi_controls_are_a_located_warning(raw_label: str) -> None:
    data = story()
    data["nodes"]["a"]["choices"][0]["label"] = "PLACEHOLDER"
    text = dump(data).replace("PLACEHOLDER", raw_label)
    result = load(text)
    problem = only(result, "bidi-control")
    assert problem.severity == "warning"
    assert problem.path == "/nodes/a/choices/0/label"
    assert problem.line == line_of(text, raw_label)
    assert result.ok  # a warning: the story still plays


def test_control_character_in_a_label_and_tabs_allowed() -> None:
    data = story(
        a={"text": "Tab\there\nnewline", "choices": [{"label": "Go\x1b[2J", "to": "end"}]},
        end={"ending": True},
    )
    problem = only(load(data), "control-character")
    assert problem.path == "/nodes/a/choices/0/label"


def test_ending_with_choices() -> None:
    data = story(a={"ending": True, "choices": [{"label": "Go", "to": "a"}]})
    assert only(load(data), "ending-with-choices").node == "a"


BROKEN = [
    story(a={"txt": "x", "choices": [{"label": 3, "to": "b c"}], "timer": {"seconds": "5"}}),
    story(a={"ending": {"kind": "sad"}}, **{"bad id": {"ending": True}}),
    {**story(), "format": "branching/2", "variables": {"x": [1]}, "extra": 1},
    {**story(), "nodes": [1, 2]},
    story(a={"choices": [{"label": "Go", "to": "end"}]}, end={"ending": True}, x=[1]),
]


@pytest.mark.parametrize("data", BROKEN)
def test_checking_without_building_finds_the_same_problems(data: dict[str, Any]) -> None:
    text = dump(data).encode() if isinstance(data["nodes"], dict) else json.dumps(data).encode()
    built = load_story_bytes(text, "s.json")
    checked = load_story_bytes(text, "s.json", build=False)
    assert built.errors and checked.story is None
    assert sorted(map(repr, checked.problems)) == sorted(map(repr, built.problems))


def test_every_error_is_reported_in_one_run() -> None:
    data = story(
        a={"text": "{nope}", "choices": [{"label": "Go", "to": "zz"}, {"label": "x", "to": "zz"}]},
        b={"text": "stuck"},
        c={"choices": [{"label": "c", "to": "a", "if": "1 +"}]},
    )
    codes = {p.code for p in load(data).errors}
    assert {
        "undefined-variable",
        "missing-node",
        "duplicate-choice-id",
        "no-choices",
        "expression-syntax",
    } <= codes


# --- Warnings --------------------------------------------------------------------------------


def test_graph_warnings() -> None:
    data = story(
        a={
            "choices": [
                {"label": "Go", "to": "end"},
                {"label": "Loop", "to": "loop"},
                {"label": "Maybe", "to": "maybe"},
            ]
        },
        loop={"choices": [{"label": "Again", "to": "loop"}]},
        maybe={"choices": [{"label": "If rich", "to": "end", "if": "gold > 3"}]},
        island={"choices": [{"label": "Off", "to": "lost"}]},
        end={"ending": True},
        lost={"ending": True},
    )
    result = load(data)
    assert result.ok, result.errors
    found = {(p.code, p.node, p.path) for p in result.warnings}
    assert found == {
        ("trap", "loop", "/nodes/loop"),
        ("all-conditional", "maybe", "/nodes/maybe/choices"),
        ("unreachable", "island", "/nodes/island"),
        ("unreached-ending", "lost", "/nodes/lost"),
    }
    trap = only(result, "trap")
    assert trap.line == line_of(dump(data), '"loop":')


def test_warnings_can_be_left_out() -> None:
    data = story(
        a={"choices": [{"label": "Go", "to": "end"}]}, end={"ending": True}, x={"ending": True}
    )
    assert load_story_bytes(dump(data).encode(), warnings=False).problems == []


# --- Bad input never gives a traceback -------------------------------------------------------


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "branching", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("content", "code", "status"),
    [
        (b"\xff\xfe not utf-8", "unreadable", 2),
        (b"", "json-syntax", 2),
        (b"[1, 2, 3]", "schema", 1),
        (b"[" * 100_000, "json-syntax", 2),
        (b'{"nodes": ' + b"[" * 5000 + b"]" * 5000 + b"}", "json-syntax", 2),
        (b'{"nodes": ' + b"[" * 500 + b"]" * 500 + b"}", "schema", 1),
        (b"\xef\xbb\xbf" + json.dumps(story()).encode(), None, 0),
    ],
    ids=["bad-utf8", "empty", "array", "100k-brackets", "nested-5000", "nested-500", "bom"],
)
def test_bad_files_never_raise(
    tmp_path: Path, content: bytes, code: str | None, status: int
) -> None:
    path = tmp_path / "s.json"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == status
    problems = json.loads(result.output)
    if code is not None:
        assert code in {p["code"] for p in problems}


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').system('echo pwned')",
        "().__class__.__bases__",
        "9**9**9",
        "gold" + " + 1" * 30_000,  # ~100 kB
        "(" * 5000 + "1" + ")" * 5000,
        "visits(" + "x" * 1000 + ")",
        "'" + "a" * 100_000,
    ],
    ids=["import", "dunder", "power", "100kB", "parentheses", "visits-bare", "open-string"],
)
def test_hostile_expressions_are_located_errors(condition: str) -> None:
    data = story(
        a={
            "choices": [
                {"label": "Go", "to": "end"},
                {"label": "Hack", "to": "end", "id": "h", "if": condition},
            ]
        },
        end={"ending": True},
    )
    result = load(data)
    assert [p.code for p in result.errors] == ["expression-syntax"]
    assert result.errors[0].path == "/nodes/a/choices/1/if"
    assert len(result.errors[0].message) < 300


def test_output_never_carries_control_characters(tmp_path: Path) -> None:
    """Messages quote ids and expressions: hostile ones must not reach the terminal raw."""
    data = story(
        a={
            "choices": [
                {"label": "Go", "to": "\x1b]2;owned\x07"},
                {"label": "If", "to": "end", "if": "gold > \x9b31m"},
            ]
        },
        end={"ending": True},
    )
    data["nodes"]["\x1b[2J"] = {"ending": True}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for output_format in ("text", "json"):
        result = run("validate", str(path), "--format", output_format)
        assert result.returncode == 1
        shown = result.stdout + result.stderr
        assert "control-character" in shown and "missing-node" in shown
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown), shown
        assert "\\u001b" in shown


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    missing = run("validate", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "cannot read" in missing.stdout
    directory = run("validate", str(tmp_path))
    assert directory.returncode == 2 and "Traceback" not in directory.stderr


# --- The command -----------------------------------------------------------------------------


def test_exit_codes_and_text_output(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(dump(story()))
    result = run("validate", str(good))
    assert result.returncode == 0
    assert result.stdout.strip() == f"{good}: OK, 2 nodes"

    warned = tmp_path / "warned.json"
    data = story()
    data["nodes"]["island"] = {"ending": True}
    warned.write_text(dump(data))
    result = run("validate", str(warned))
    assert result.returncode == 0
    assert f"{warned}:10:5: warning [unreached-ending]" in result.stdout
    assert "1 warning" in result.stdout

    bad = tmp_path / "bad.json"
    data = story(a={"choices": [{"label": "Go", "to": "nowhere"}]})
    bad.write_text(dump(data))
    result = run("validate", str(bad))
    assert result.returncode == 1
    column = dump(data).splitlines()[7].index('"to"') + 1
    assert f'{bad}:8:{column}: error [missing-node] node "a": choice leads to "nowhere"' in (
        result.stdout
    )
    assert "1 error" in result.stderr

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": ')
    result = run("validate", str(broken))
    assert result.returncode == 2
    assert "json-syntax" in result.stdout and "Traceback" not in result.stderr


def test_json_format(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    data = story(a={"choices": [{"label": "Go", "to": "nowhere"}]}, z={"ending": True})
    path.write_text(dump(data))
    result = CliRunner().invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.output)
    assert problems == [
        {
            "severity": "error",
            "code": "missing-node",
            "message": 'choice leads to "nowhere", which does not exist',
            "path": "/nodes/a/choices/0/to",
            "node": "a",
            "line": 8,
            "column": dump(data).splitlines()[7].index('"to"') + 1,
        },
        {
            "severity": "warning",
            "code": "unreached-ending",
            "message": 'no path from the start "a" leads to this ending',
            "path": "/nodes/z",
            "node": "z",
            "line": 9,
            "column": 5,
        },
    ]


def test_validate_does_not_import_networkx_or_textual(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(dump(story()))
    code = (
        "import sys\n"
        "from branching.cli import main\n"
        "try:\n"
        f"    main(['validate', {str(path)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('networkx', 'textual', 'sqlite_utils') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_schema_file_matches_the_models() -> None:
    """docs/branching-1.schema.json is what `branching schema` prints (regenerate with -o)."""
    result = CliRunner().invoke(main, ["schema"])
    committed = (ROOT / "docs" / "branching-1.schema.json").read_text(encoding="utf-8")
    assert result.output == committed, (
        "the story models changed: run `python -m branching schema -o docs/branching-1.schema.json`"
    )


def test_every_code_is_documented() -> None:
    docs = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    # Hyphenated string literals in the checking modules are problem codes; so are these words.
    codes = {"schema", "unreadable", "unreachable", "trap", "interpolation"}
    for module in ("loader", "checks", "deep", "json_input", "text_checks"):
        source = (ROOT / "branching" / "story" / f"{module}.py").read_text(encoding="utf-8")
        codes |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', source))
    assert len(codes) >= 27
    missing = sorted(code for code in codes if f"`{code}`" not in docs)
    assert missing == []


def _corpus() -> Path | None:
    for shared in (ROOT.parent / "shared", ROOT.parents[1] / "shared", Path("/work/shared")):
        if (shared / INTERCEPT).exists():
            return shared / INTERCEPT
    return None


@pytest.mark.skipif(_corpus() is None, reason="the shared corpus is not beside the repository")
def test_the_intercept_validates_without_errors() -> None:
    path = _corpus()
    assert path is not None
    result = load_story(path)
    assert result.ok and result.errors == []
    assert result.story is not None and len(result.story.nodes) == 24_700


# --- One run, suggestions, and the guide's example -------------------------------------------


def test_warnings_come_with_errors_in_one_run() -> None:
    data = story(
        a={"choices": [{"label": "Go", "to": "nowhere"}, {"label": "Loop", "to": "loop"}]},
        loop={"choices": [{"label": "Again", "to": "loop"}]},
        island={"text": "never reached", "ending": True},
    )
    result = load(data)
    found = {(p.severity, p.code, p.node) for p in result.problems}
    assert ("error", "missing-node", "a") in found
    assert ("warning", "trap", "loop") in found
    assert ("warning", "unreached-ending", "island") in found
    # "a" only leads on through an error: the error says it, no trap warning repeats it.
    assert ("warning", "trap", "a") not in found


def test_a_node_without_choices_is_an_error_not_also_a_trap() -> None:
    data = story(a={"choices": [{"label": "Go", "to": "b"}]}, b={"text": "stuck"})
    codes = [(p.code, p.node) for p in load(data).problems]
    assert ("no-choices", "b") in codes
    assert not [c for c in codes if c[0] == "trap"]


@pytest.mark.parametrize(
    ("nodes", "code", "suggestion"),
    [
        ({"a": {"choices": [{"label": "Go", "to": "celar"}]}}, "missing-node", "cellar"),
        ({"a": {"choices": [{"label": "Go", "to": "cellar", "if": "gld > 1"}]}}, None, "gold"),
        ({"a": {"text": "{nmae}", "choices": [{"label": "Go", "to": "cellar"}]}}, None, "name"),
        (
            {"a": {"text": "{trch: Warm.|Cold.}", "choices": [{"label": "Go", "to": "cellar"}]}},
            None,
            "torch",
        ),
        (
            {
                "a": {
                    "text": "{gld, plural, one {#} other {#}}",
                    "choices": [{"label": "Go", "to": "cellar"}],
                }
            },
            None,
            "gold",
        ),
        (
            {"a": {"choices": [{"label": "G", "to": "cellar", "set": {"trch": True}}]}},
            None,
            "torch",
        ),
        (
            {"a": {"choices": [{"label": "Go", "to": "cellar", "if": 'visits("celler") > 0'}]}},
            "unknown-node-in-visits",
            "cellar",
        ),
        (
            {
                "a": {
                    "timer": {"seconds": 3, "default": "wiat"},
                    "choices": [{"label": "Wait", "to": "cellar", "id": "wait"}],
                }
            },
            "timer-default",
            "wait",
        ),
    ],
)
def test_misspelt_names_get_the_nearest_one(
    nodes: dict[str, Any], code: str | None, suggestion: str
) -> None:
    data = story(**nodes, cellar={"ending": True})
    found = only(load(data), code or "undefined-variable")
    assert f'did you mean "{suggestion}"?' in found.message


def test_missing_start_suggests_a_node() -> None:
    data = story()
    data["start"] = "A"
    assert 'did you mean "a"?' not in only(load(data), "missing-start").message  # too short
    data["start"] = "ending"
    data["nodes"]["endings"] = {"ending": True}
    assert 'did you mean "endings"?' in only(load(data), "missing-start").message


def test_nothing_is_suggested_when_nothing_is_near() -> None:
    data = story(a={"choices": [{"label": "Go", "to": "zzzzzz"}]}, cellar={"ending": True})
    assert "did you mean" not in only(load(data), "missing-node").message


def test_suggestions_stay_fast_on_many_broken_links() -> None:
    import time

    nodes: dict[str, Any] = {f"node-{i}": {"ending": True} for i in range(20_000)}
    nodes["a"] = {"choices": [{"label": "x", "to": f"nod-{i}", "id": f"c{i}"} for i in range(500)]}
    data = story(**nodes)
    began = time.perf_counter()
    result = load(data)
    assert len(result.errors) == 500
    assert time.perf_counter() - began < 10


def test_the_guides_first_example_is_what_validate_prints(tmp_path: Path) -> None:
    """docs/validation.md opens with the real output for tests/fixtures/house.json."""
    guide = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    block = guide.split("```\n", 2)[1]
    (tmp_path / "story.json").write_bytes((ROOT / "tests/fixtures/house.json").read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "branching", "validate", "story.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1
    assert done.stdout + done.stderr == block
