"""The layers hold: import-linter's contracts (pyproject.toml, docs/architecture.md), and the
core stays free of the UI and heavy libraries when actually imported (a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.isolation import ROOT, imported_after, top_level

CORE = [
    "branching.story.model",
    "branching.story.expressions",
    "branching.story.loader",
    "branching.story.untrusted",
    "branching.play.events",
    "branching.play.engine",
    "branching.play.saves",
    "branching.play.lifecycle",
    "branching.play.plain_player",
    "branching.log.encoding",
    "branching.log.state",
]
HEAVY = {"textual", "rich", "networkx", "sqlite_utils", "sqlite3", "platformdirs"}


def test_import_contracts_hold() -> None:
    """``lint-imports`` with the contracts in pyproject.toml: a new back-arrow fails here."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", "import sys, importlinter.cli as c; sys.exit(c.lint_imports())"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_ui_or_heavy_library(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    loaded = top_level(modules) & HEAVY
    assert not loaded, f"{module} pulls in {sorted(loaded)}"


def test_cli_and_play_command_import_lightly() -> None:
    modules = top_level(imported_after("import branching.cli, branching.commands.play"))
    assert not modules & {"textual", "networkx", "sqlite_utils"}
