"""The command line as a whole: every command documented, start-up kept light."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from branching.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 20, f"{' '.join(path)} needs a docstring"


def test_help_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from branching.cli import main; "
        "CliRunner().invoke(main, ['--help']); "
        "print(sorted(m for m in ('textual', 'networkx', 'sqlite_utils') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "branching" in result.output


def test_every_command_is_in_the_cli_reference() -> None:
    """docs/cli.md is generated from ``--help``: a new or changed command must regenerate it."""
    from tests.commands.cli_reference import commands, reference

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for path in commands(main):
        assert f"\n## branching {' '.join(path)}\n" in page, f"{' '.join(path)} is not documented"
    assert page == reference(), (
        "docs/cli.md is out of date: run `python -m tests.commands.cli_reference > docs/cli.md`"
    )


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", _commands(main), ids=" ".join)
def test_every_db_option_reads_the_same(path: tuple[str, ...]) -> None:
    """``--db`` names the same thing everywhere: one metavar and one description."""
    from branching.commands._options import DB_HELP

    for param in _command(path).params:
        if isinstance(param, click.Option) and "--db" in param.opts:
            assert param.metavar == "PATH", path
            assert param.help == DB_HELP, path


def test_import_start_help_matches_the_twine_guide() -> None:
    """The help of ``import twee --start`` and docs/twine.md give the same fallbacks."""
    option = next(p for p in _command(("import", "twee")).params if p.name == "start")
    assert isinstance(option, click.Option) and option.help
    guide = (ROOT / "docs" / "twine.md").read_text(encoding="utf-8")
    row = next(line for line in guide.splitlines() if line.startswith("| `StoryData` `start`"))
    for fallback in ("named `Start`", "first passage", "warning"):
        assert fallback in row
        assert fallback.replace("`", "") in option.help


@pytest.mark.parametrize(
    ("command", "verb"),
    [("stats", "measured"), ("play", "played"), ("simulate", "simulated")],
)
def test_a_broken_story_is_refused_in_the_commands_own_words(
    tmp_path: Path, command: str, verb: str
) -> None:
    story = tmp_path / "broken.json"
    story.write_text('{"format": "branching/1"}', encoding="utf-8")
    extra = {"play": ["--plain", "--no-log"], "simulate": ["-n", "1", "--db", str(tmp_path / "x")]}
    args = [command, str(story), *extra.get(command, [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"has 4 errors, so it cannot be {verb}" in result.output
    if command != "play":
        assert "cannot be played" not in result.output


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_crash_of_the_full_screen_player_never_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    import branching.ui.app as ui_app

    real_make_app = ui_app.make_app

    def crashing_app(*args: object, **kwargs: object) -> object:
        app = real_make_app(*args, **kwargs)  # type: ignore[arg-type]

        def run() -> None:
            app._return_code = 1  # what Textual sets when it caught an exception

        monkeypatch.setattr(app, "run", run)
        return app

    monkeypatch.setattr(ui_app, "make_app", crashing_app)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(sys, "stdout", _Terminal())
    with pytest.raises(SystemExit) as exited:
        main(["play", str(ROOT / "stories" / "demo.json"), "--no-log", "--new"])
    assert exited.value.code == 1
