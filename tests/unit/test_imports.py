"""The core stays free of the UI and of heavy libraries (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

CORE = [
    "branching.story.model",
    "branching.play.events",
    "branching.story.expressions",
    "branching.story.loader",
    "branching.play.engine",
    "branching.play.saves",
    "branching.play.plain_player",
]
HEAVY = ["textual", "rich", "networkx", "sqlite_utils", "sqlite3", "platformdirs"]


def imported_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_ui_or_heavy_library(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    loaded = {name for name in modules if name.split(".")[0] in HEAVY}
    assert not loaded, f"{module} pulls in {sorted(loaded)}"


def test_cli_and_play_command_import_lightly() -> None:
    modules = imported_after("import branching.cli, branching.commands.play")
    loaded = {
        name for name in modules if name.split(".")[0] in {"textual", "networkx", "sqlite_utils"}
    }
    assert not loaded, sorted(loaded)
