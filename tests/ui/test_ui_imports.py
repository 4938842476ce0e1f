"""Importing the UI package, or the helpers the play command uses on every path, does not pull
in Textual; only ``branching.ui.app`` does (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def imported_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", ["branching.ui", "branching.ui.services"])
def test_ui_helpers_do_not_import_textual(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    assert not {name for name in modules if name.split(".")[0] in {"textual", "rich"}}


def test_the_app_module_is_where_textual_comes_in() -> None:
    assert "textual.app" in imported_after("import branching.ui.app")
