"""A log written by an older branching works with every command that reads logs.

Logs travel: a kiosk still on last year's version, an archive, a colleague's copy to merge.
Each command either upgrades the file (when it may write it) or reads it as it is; never an
SQLite error about a column or table the older schema did not have yet.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from branching.cli import main
from branching.log.schema import SCHEMA_VERSION
from tests.log.helpers import log_at_version

#: The story the old log's playthrough is of: ``demo``, start --go--> hall.
STORY = {
    "format": "branching/1",
    "id": "demo",
    "version": "1",
    "title": "Demo",
    "start": "start",
    "nodes": {
        "start": {"text": "A door.", "choices": [{"id": "go", "label": "Go in", "to": "hall"}]},
        "hall": {"text": "A hall.", "ending": True},
    },
}


#: Each command, with ``DB`` and ``STORY`` standing for the log and the story file.
COMMANDS = {
    "log info": ["log", "info", "--db", "DB"],
    "log check": ["log", "check", "--db", "DB"],
    "log check --story": ["log", "check", "--db", "DB", "--story", "STORY"],
    "log list": ["log", "list", "--db", "DB"],
    "log show": ["log", "show", "old-1", "--db", "DB"],
    "log rebuild-rollups": ["log", "rebuild-rollups", "--db", "DB"],
    "log merge (as a source)": ["log", "merge", "DB", "-o", "DB-merged.db"],
    "log export": ["log", "export", "--db", "DB", "--format", "parquet", "-o", "DB-parquet"],
    "report": ["report", "STORY", "--db", "DB", "--all-versions"],
    "report --format json": ["report", "STORY", "--db", "DB", "--all-versions", "--format", "json"],
    "suggest": ["suggest", "STORY", "--viewer", "v-old", "--db", "DB"],
    "suggest evaluate": ["suggest", "evaluate", "STORY", "--db", "DB"],
    "viewer export": ["viewer", "export", "v-old", "--db", "DB"],
}


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
@pytest.mark.parametrize("command", COMMANDS)
def test_every_log_command_reads_a_log_of_every_older_version(
    tmp_path: Path, command: str, version: int
) -> None:
    if command == "log export":
        pytest.importorskip("pyarrow", reason="the Parquet export needs the duckdb extra")
    db = tmp_path / f"v{version}.db"
    log_at_version(db, version)
    story = tmp_path / "demo.json"
    story.write_text(json.dumps(STORY), encoding="utf-8")
    args = [
        arg.replace("DB", str(db))
        if arg.startswith("DB")
        else str(story)
        if arg == "STORY"
        else arg
        for arg in COMMANDS[command]
    ]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    said = result.output
    assert "SQLite error" not in said and "no such" not in said, said
    assert result.exit_code == 0, said
    upgraded = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] > version
    # An upgrade rebuilds roll-ups from every event (minutes for a big log): it is announced.
    assert ("Upgrading the choice log" in said) == upgraded, said
