"""File names are input too: one holding ESC, BEL or a newline never reaches the terminal raw
in a Twee message (import or export), whatever the message."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from branching.cli import main

ROOT = Path(__file__).resolve().parents[2]
#: Retitles the terminal, rings the bell and breaks the message onto a second line.
HOSTILE = "b\x1b]2;pwned\x07\nc"
SHOWN = "b\\x1b]2;pwned\\x07\\x0ac"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def raw_control(output: str) -> bool:
    return "\x1b" in output or "\x07" in output or "pwned\x07\nc" in output


@pytest.mark.parametrize("kind", ["missing", "folder without Twee files", "a dangling link"])
def test_import_names_an_unreadable_path_escaped(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{HOSTILE}.twee"
    if kind == "folder without Twee files":
        path.mkdir()
    elif kind == "a dangling link":
        path.symlink_to(tmp_path / "nowhere")
    result = run("import", "twee", path)
    assert result.exit_code == 2
    assert not raw_control(result.output)
    assert f"error: {tmp_path}/{SHOWN}.twee: " in result.output


def test_export_notes_name_the_output_escaped(tmp_path: Path) -> None:
    target = tmp_path / f"{HOSTILE}.twee"
    result = run("export", "twee", ROOT / "stories" / "demo.json", "-o", target)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output  # the demo has passages Harlowe shows differently
    assert not raw_control(result.output)
    notes = [line for line in result.output.splitlines() if "warning:" in line]
    assert notes and all(line.startswith(f"{tmp_path}/{SHOWN}.twee:") for line in notes)


def test_an_unplayable_import_names_its_output_escaped(tmp_path: Path) -> None:
    source = tmp_path / "loop.twee"
    source.write_text(":: Start\nAgain [[Start]]\n", encoding="utf-8")
    result = run("import", "twee", source, "-o", tmp_path / f"{HOSTILE}.json")
    assert result.exit_code == 1
    assert not raw_control(result.output)
    assert f"it was written to {tmp_path}/{SHOWN}.json so that" in result.output
