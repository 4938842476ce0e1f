"""Analytics never pulls in the UI, and its commands stay light to import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return {name.split(".")[0] for name in json.loads(result.stdout)}


def test_analytics_has_no_ui() -> None:
    modules = imported_after(
        "import analytics.source, analytics.simulate, analytics.render.table, "
        "analytics.render.html, analytics.render.csvout, analytics.render.jsonout"
    )
    assert not modules & {"textual", "networkx"}


def test_metrics_need_no_database_or_terminal() -> None:
    modules = imported_after("import analytics.report, analytics.tally, analytics.stats")
    assert not modules & {"textual", "networkx", "sqlite3", "sqlite_utils", "rich"}


def test_commands_import_lightly() -> None:
    modules = imported_after(
        "import branching.commands.report, branching.commands.simulate, branching.commands.rollups"
    )
    assert not modules & {"textual", "networkx", "sqlite_utils", "rich", "sqlite3"}
