"""Shared helpers for the choice-log tests (plain functions, so other conftests stay free)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    PlaythroughInfo,
    Quit,
    Rewound,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "log" / "worker.py"


class FakeClock:
    """A clock that advances by ``step`` seconds each time it is read."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 1.5) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value


def info(viewer: str = "viewer-1", story: str = "demo", **kw: Any) -> PlaythroughInfo:
    fields: dict[str, Any] = {
        "playthrough_id": uuid.uuid4().hex,
        "story_id": story,
        "story_version": "1.0",
        "story_hash": "hash-1",
        "viewer": viewer,
    }
    fields.update(kw)
    return PlaythroughInfo(**fields)


#: A playthrough with a rewind and a timed default, ending well.
PATH_WITH_REWIND: list[Event] = [
    NodeEntered("start"),
    ChoiceMade("start", "left", "hall", 1800),
    NodeEntered("hall"),
    Rewound("hall", "start", 0),
    NodeEntered("start"),
    ChoiceMade("start", "right", "cellar", 5000, timed_out=True),
    NodeEntered("cellar"),
    EndingReached("cellar", "Down below", "bad"),
]


def quit_path(node: str = "hall") -> list[Event]:
    return [
        NodeEntered("start"),
        ChoiceMade("start", "go", node, 900),
        NodeEntered(node),
        Quit(node),
    ]


def failed_path() -> list[Event]:
    return [NodeEntered("start"), Failed("start", "every choice is disabled")]


def record_all(recorder: Any, events: Iterable[Event]) -> None:
    for event in events:
        recorder.record(event)


def start_worker(*args: str) -> subprocess.Popen[str]:
    """Start ``worker.py`` with ``args`` in its own process (see its docstring)."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "branching", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        input=input,
        timeout=60,
    )


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read ``path`` with plain sqlite3 (independent of the code under test)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def log_at_version(db: Path, version: int) -> None:
    """A log as an older branching left it: the first ``version`` migrations, with data
    (one open playthrough of story ``demo``: entered ``start``, chose ``go`` to ``hall``)."""
    from sqlite_utils import Database

    from branching.log.schema import APPLICATION_ID, LOG_SCHEMA

    conn = sqlite3.connect(db, isolation_level=None)
    # The rows go in before the roll-ups exist (m004), which build them from the rows as an
    # upgrade did; the later migrations then run over data, as they did on real logs.
    rollups = LOG_SCHEMA.names.index("m004_analytics_rollups")
    LOG_SCHEMA.migrations.apply(Database(conn), stop_before=LOG_SCHEMA.names[min(version, rollups)])
    conn.execute(
        "INSERT INTO playthroughs (pk, id, story_id, story_version, story_hash, viewer, status, "
        "started_at, updated_at, last_node, event_count) "
        "VALUES (1, 'old-1', 'demo', '1', 'h', 'v-old', 'open', 10.0, 12.0, 'hall', 2)"
    )
    conn.executemany(
        "INSERT INTO events (playthrough, seq, at, kind, node, choice, target, decision_ms, "
        "timed_out) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (0, 11.0, "enter", "start", None, None, None, None),
            (1, 12.0, "choice", "start", "go", "hall", 700, 0),
        ],
    )
    stop = LOG_SCHEMA.names[version] if version < len(LOG_SCHEMA.names) else None
    LOG_SCHEMA.migrations.apply(Database(conn), stop_before=stop)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()
