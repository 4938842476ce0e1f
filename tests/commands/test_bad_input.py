"""Bad input a user can give on the command line gets a message and an exit code, not a traceback.

Found by trying every command the way a careless or hostile user would (see the QA report).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from branching.__main__ import run as run_command
from branching.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"


def run(*args: str | Path) -> Result:
    # catch_exceptions=False: an uncaught exception (a traceback for the user) fails the test.
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_schema_into_a_missing_folder_says_so(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "schema.json"
    result = run("schema", "-o", target)
    assert result.exit_code == 1
    assert f"Cannot write {target}" in result.output
    assert not target.parent.exists()


@pytest.mark.parametrize("output_format", ["table", "json", "csv", "html"])
def test_report_into_a_missing_folder_says_so(tmp_path: Path, output_format: str) -> None:
    db = tmp_path / "choices.db"
    assert run("simulate", DEMO, "-n", "5", "--seed", "1", "--db", db).exit_code == 0
    target = tmp_path / "missing" / "report.out"
    result = run(
        "report", DEMO, "--db", db, "--origin", "simulated", "--format", output_format,
        "-o", target,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Cannot write" in result.output and str(target.parent) in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("play", DEMO, "--plain", "--no-log", "--time-scale", "nan"),
        ("simulate", DEMO, "-n", "3", "--no-log", "--quit-rate", "nan"),
        ("simulate", DEMO, "-n", "3", "--no-log", "--rewind-rate", "NaN"),
    ],
)
def test_not_a_number_is_refused_as_an_option_value(args: tuple[str | Path, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert "is not a number" in result.output


def test_same_seed_for_two_stories_into_one_log(tmp_path: Path) -> None:
    db = tmp_path / "choices.db"
    tutorial = ROOT / "stories" / "tutorial.json"
    edited = tmp_path / "demo-edited.json"
    edited.write_text(DEMO.read_text(encoding="utf-8").replace("Whiteout", "Whiteout II", 1))
    for story in (DEMO, tutorial, edited):
        result = run("simulate", story, "-n", "20", "--seed", "1", "--db", db)
        assert result.exit_code == 0, result.output
    # The same file with the same seed again is still refused: it would repeat the same plays.
    again = CliRunner().invoke(
        main, ["simulate", str(DEMO), "-n", "20", "--seed", "1", "--db", str(db)]
    )
    assert again.exit_code == 1 and "use another --seed" in again.output


def test_simulate_names_the_report_command_that_shows_what_it_logged(tmp_path: Path) -> None:
    db = tmp_path / "my log.db"
    story = tmp_path / "demo.json"
    story.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    # The log also holds a viewer's playthrough, so a plain report leaves the simulation out.
    played = CliRunner().invoke(main, ["play", str(story), "--plain", "--db", str(db)], input="1\n")
    assert played.exit_code == 0, played.output
    result = run("simulate", story, "-n", "30", "--seed", "4", "--db", db)
    hint = result.output.split("see `", 1)[1].split("`", 1)[0]
    assert hint.startswith("branching report ")
    report = run(*shlex.split(hint)[1:], "--format", "json")
    assert report.exit_code == 0, report.output
    assert '"started": 30' in report.output


@pytest.mark.parametrize(
    ("sig", "status", "says"),
    [(signal.SIGINT, 130, "Interrupted."), (signal.SIGTERM, 143, "Terminated.")],
    ids=["Ctrl-C", "SIGTERM"],
)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_simulate_keeps_what_was_simulated(
    tmp_path: Path, sig: int, status: int, says: str, workers: str
) -> None:
    """SIGTERM (timeout, kill, a service manager) stops as cleanly as Ctrl-C: workers ended,
    whole playthroughs kept, no leaked-semaphore warnings from a parent killed outright."""
    db = tmp_path / "choices.db"
    args = [sys.executable, "-m", "branching", "simulate", str(DEMO), "-n", "10000000"]
    proc = subprocess.Popen(
        [*args, "--seed", "1", "--db", str(db), "--workers", workers],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    # Wait until the first batch is on disk, then press Ctrl-C.
    while time.monotonic() < deadline and not (tmp_path / "choices.db-wal").exists():
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    assert "Traceback" not in err and "leaked" not in err
    assert err.startswith(says) and "playthroughs were written to" in err, err
    check = run("log", "check", "--db", db)
    assert check.exit_code == 0 and "is sound" in check.output, check.output


STORY_COMMANDS = [
    ["validate"],
    ["stats"],
    ["graph"],
    ["play", "--plain", "--no-log"],
    ["simulate", "-n", "1", "--no-log"],
    ["report"],
    ["export", "twee"],
    ["serve"],
]


@pytest.mark.parametrize("command", STORY_COMMANDS, ids=lambda c: c[0])
def test_every_command_exits_2_for_a_story_it_cannot_read(
    command: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.json"
    result = run(*command, missing)
    assert result.exit_code == 2, result.output
    assert "cannot read the file" in result.output


@pytest.mark.parametrize("command", STORY_COMMANDS, ids=lambda c: c[0])
def test_every_command_exits_1_for_a_story_with_errors(command: list[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        '{"format": "branching/1", "id": "b", "title": "B", "start": "a",\n'
        ' "nodes": {"a": {"text": "x", "choices": [{"label": "Go", "to": "nowhere"}]}}}\n'
    )
    result = (
        run(*command, broken, "--db", tmp_path / "log.db")
        if command == ["report"]
        else run(*command, broken)
    )
    assert result.exit_code == 1, result.output
    assert f"{broken}:2:" in result.output and "missing-node" in result.output


def test_simulate_refuses_days_no_date_can_hold(tmp_path: Path) -> None:
    """A million days reached back to the year -643 and broke every later log command."""
    db = tmp_path / "choices.db"
    result = run("simulate", DEMO, "-n", "2", "--days", "1000000", "--db", db)
    assert result.exit_code == 2
    assert "'--days': 1000000 is not in the range 1<=x<=36500" in result.output
    assert not db.exists()
    # A hundred years from now reach before 1970, the earliest time a log holds.
    century = run("simulate", DEMO, "-n", "2", "--seed", "1", "--days", "36500", "--db", db)
    assert century.exit_code == 2
    assert "'--days': 36,500 days up to now reach back before 1970" in century.output
    assert not db.exists()
    assert (
        run("simulate", DEMO, "-n", "2", "--seed", "1", "--days", "20000", "--db", db).exit_code
        == 0
    )
    assert run("log", "list", "--db", db).exit_code == 0
    assert run("log", "info", "--db", db).exit_code == 0
    assert run("log", "check", "--db", db).exit_code == 0


@pytest.mark.parametrize(
    ("days", "until"), [("1", "1969-12-31"), ("1", "1960-01-01"), ("3", "1970-01-02")]
)
def test_simulate_refuses_a_period_before_1970(tmp_path: Path, days: str, until: str) -> None:
    """`--until 1960-01-01` wrote a log that every later check called impossible."""
    db = tmp_path / "choices.db"
    result = run("simulate", DEMO, "-n", "2", "--days", days, "--until", until, "--db", db)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--until': {days} day(s) ending on {until} do not fit" in (
        result.output
    )
    assert "in the years 1970 to 9999" in result.output
    assert not db.exists()
    first = run("simulate", DEMO, "-n", "2", "--until", "1970-01-01", "--db", db)
    assert first.exit_code == 0, first.output
    assert run("log", "check", "--db", db).exit_code == 0


@pytest.mark.parametrize(
    "command",
    [
        ["report", str(DEMO), "--top", "99999999999999999999"],
        ["report", str(DEMO), "--top", "99999999999999999999", "--format", "json"],
        ["log", "list", "-n", "99999999999999999999"],
    ],
)
def test_counts_larger_than_sqlite_takes_mean_all(tmp_path: Path, command: list[str]) -> None:
    """They overflowed SQLite's LIMIT, and the message blamed the log file."""
    db = tmp_path / "choices.db"
    assert run("simulate", DEMO, "-n", "3", "--seed", "1", "--db", db).exit_code == 0
    result = run(*command, "--db", db)
    assert result.exit_code == 0, result.output
    assert "could not be read" not in result.output
    assert "Cannot read" not in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("simulate", DEMO, "-n", "3", "--no-log", "--seed", "9" * 4400), "at most 40 digits"),
        (("simulate", DEMO, "-n", "3", "--no-log", "--seed", "12abc"), "not a whole number"),
        (("simulate", DEMO, "-n", "9" * 400, "--no-log"), "1<=x<=1000000000000000000"),
        (("report", DEMO, "--since", "20261204"), "not a date like 2026-11-27"),
        (("report", DEMO, "--until", "2026-W49-1"), "not a date like 2026-11-27"),
        (("report", DEMO, "--since", "2026-02-30"), "not a date like 2026-11-27"),
    ],
    ids=["a 4400-digit seed", "a seed with letters", "a 400-digit count", "a date without dashes",
         "a week date", "30 February"],
)  # fmt: skip
def test_values_outside_the_documented_form_are_refused_briefly(
    args: tuple[str | Path, ...], says: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2 and says in result.output, result.output
    assert len(result.output) < 600, "the value is not echoed whole"


def test_ctrl_c_in_any_command_is_one_line_and_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not click's "Aborted!" with status 1: the shell's code for an interrupt."""

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("branching.story.loader.load_story", interrupted)
    result = CliRunner().invoke(main, ["validate", str(DEMO)])
    assert result.exit_code == 130, result.output
    assert result.output.strip() == "Interrupted."


def test_simulate_without_a_terminal_writes_nothing_to_stderr(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "branching", "simulate", str(DEMO), "-n", "20", "--seed", "2",
         "--db", str(tmp_path / "log.db")],
        capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "Simulated 20 playthroughs" in done.stdout


@pytest.mark.parametrize(
    "command",
    [["report", str(DEMO)], ["log", "list"], ["log", "export", "--format", "parquet", "-o", "x"]],
    ids=lambda c: " ".join(c[:2]),
)
def test_an_empty_file_is_not_a_log_and_stays_empty(tmp_path: Path, command: list[str]) -> None:
    """A `touch`ed name: readers must not write a whole new log into it."""
    empty = tmp_path / "choices.db"
    empty.touch()
    result = run(*[str(tmp_path / a) if a == "x" else a for a in command], "--db", empty)
    assert result.exit_code == 1 and "it is empty: not a choice log" in result.output, result.output
    assert empty.stat().st_size == 0


class _CtrlCOnImport(importlib.abc.MetaPathFinder):
    """Ctrl-C while the command line's modules load (the first few hundred milliseconds)."""

    def find_spec(self, name: str, *args: object) -> importlib.machinery.ModuleSpec | None:
        if name == "branching.cli":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_command_loads_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(sys.modules, "branching.cli")
    monkeypatch.setattr(sys, "meta_path", [_CtrlCOnImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as stop:
        run_command()
    assert stop.value.code == 130
    assert capsys.readouterr().err == "Interrupted.\n"


def _writers(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command (as its words) that has a ``-o``."""
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _writers(command, (*prefix, name))
        elif any("-o" in p.opts for p in command.params):
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("words", _writers(main), ids=" ".join)
def test_an_empty_output_name_is_refused(words: tuple[str, ...]) -> None:
    """`-o "$OUT"` with OUT unset: Path("") is the current folder, which commands then tried
    to write ("Cannot write .: it is a directory") or merge into."""
    result = run(*words, "-o", "   ")
    assert result.exit_code == 2, result.output
    assert "the name is empty" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", DEMO, "--no-log", "--days"),
        ("simulate", DEMO, "--no-log", "--quit-rate"),
        ("report", DEMO, "--top"),
        ("validate", DEMO, "--max-states"),
    ],
    ids=lambda a: a[-1],
)
def test_a_huge_value_is_not_echoed_whole(args: tuple[str | Path, ...]) -> None:
    result = run(*args, "9" * 5000)
    assert result.exit_code == 2, result.output
    assert str(args[-1]) in result.output and len(result.output) < 600, result.output
