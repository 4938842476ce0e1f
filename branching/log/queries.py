"""Reading the log: playthroughs, events, paths, a viewer's data, summary counts, checks."""

from __future__ import annotations

import contextlib
import datetime as _dt
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from branching.log.schema import read_version
from branching.log.state import EVENT_COLUMNS, Origin, PlaythroughStatus, row_to_event
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    Quit,
    Rewound,
)


@dataclass(frozen=True, slots=True)
class PlaythroughSummary:
    """One playthrough as stored: who played what, and where it stands now.

    Times are Unix seconds. ``last_node`` is where the viewer is (or was when they left);
    ``event_count`` is the number of events, so the next event's ``seq``.
    """

    id: str
    story_id: str
    story_version: str | None
    story_hash: str
    viewer: str
    variant: str | None
    origin: Origin
    started_at: float
    status: PlaythroughStatus
    updated_at: float
    ended_at: float | None
    last_node: str | None
    ending: str | None
    ending_kind: str | None
    failure: str | None
    event_count: int


# Selected in the dataclass's own field order, so ``PlaythroughSummary(*row)`` cannot drift.
_SUMMARY_COLUMNS = ", ".join(f.name for f in fields(PlaythroughSummary))
_SUMMARY_SQL = f"SELECT {_SUMMARY_COLUMNS} FROM playthroughs"
_EVENTS_SQL = "SELECT {} FROM events WHERE playthrough = ? ORDER BY seq".format(
    ", ".join(EVENT_COLUMNS)
)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event as logged: its position in the playthrough and its time (Unix seconds)."""

    seq: int
    at: float
    event: Event


def get_playthrough(conn: sqlite3.Connection, playthrough_id: str) -> PlaythroughSummary | None:
    row = conn.execute(_SUMMARY_SQL + " WHERE id = ?", (playthrough_id,)).fetchone()
    return None if row is None else PlaythroughSummary(*row)


def list_playthroughs(
    conn: sqlite3.Connection,
    *,
    viewer: str | None = None,
    story_id: str | None = None,
    status: PlaythroughStatus | None = None,
    story_hash: str | None = None,
    limit: int | None = None,
) -> list[PlaythroughSummary]:
    """Playthroughs matching every filter given, most recently active first."""
    where, params = [], []
    for column, value in (
        ("viewer", viewer),
        ("story_id", story_id),
        ("status", status),
        ("story_hash", story_hash),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = _SUMMARY_SQL
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY updated_at DESC, pk DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit):d}"
    return [PlaythroughSummary(*row) for row in conn.execute(sql, params)]


def load_events(conn: sqlite3.Connection, pk: int) -> list[LoggedEvent]:
    out = []
    for row in conn.execute(_EVENTS_SQL, (pk,)):
        out.append(LoggedEvent(row[0], row[1], row_to_event(row)))
    return out


def route(events: Sequence[Event | LoggedEvent]) -> list[str]:
    """The nodes of the path as it stands at the end, with rewound stretches cut out.

    Nodes are those entered (``NodeEntered``), in order; a node entered twice (a loop) appears
    twice. A ``Rewound(from_node, to_node, step)`` cuts the route back so that it ends at
    ``to_node`` (entry ``step`` when that entry is ``to_node``, else its last occurrence);
    a ``NodeEntered(to_node)`` right after the rewind is the same visit, not a new one. The
    full history, rewinds included, is the events themselves (see :func:`full_path`).

    >>> route([NodeEntered("a"), NodeEntered("b"), NodeEntered("c"),
    ...        Rewound("c", "a", 0), NodeEntered("a"), NodeEntered("d")])
    ['a', 'd']
    """
    nodes: list[str] = []
    rewound_to: str | None = None
    for event in map(_event, events):
        if isinstance(event, NodeEntered):
            if event.node != rewound_to:
                nodes.append(event.node)
            rewound_to = None
        elif isinstance(event, Rewound):
            if 0 <= event.step < len(nodes) and nodes[event.step] == event.to_node:
                del nodes[event.step + 1 :]
            elif event.to_node in nodes:
                del nodes[len(nodes) - nodes[::-1].index(event.to_node) :]
            else:
                nodes.append(event.to_node)
            rewound_to = event.to_node
        else:
            rewound_to = None
    return nodes


def full_path(events: Sequence[Event | LoggedEvent]) -> list[str]:
    """Every step in order, as short text: ``node``, ``node -[choice]->``, ``<< rewind``...

    For ``branching log show``: loops unroll, rewinds show where they went back to.
    """
    return [describe(_event(item)) for item in events]


def _event(item: Event | LoggedEvent) -> Event:
    return item.event if isinstance(item, LoggedEvent) else item


def describe(event: Event) -> str:
    """One line for one event (plain text; story strings are not markup)."""
    if isinstance(event, NodeEntered):
        return f"enter   {event.node}"
    if isinstance(event, ChoiceMade):
        how = "timer default" if event.timed_out else "picked"
        ms = "" if event.decision_ms is None else f", {event.decision_ms} ms"
        return f"choice  {event.node} -[{event.choice}]-> {event.to} ({how}{ms})"
    if isinstance(event, Rewound):
        return f"rewind  {event.from_node} << back to {event.to_node} (step {event.step})"
    if isinstance(event, EndingReached):
        title = f" {event.title!r}" if event.title else ""
        return f"ending  {event.node} ({event.kind}){title}"
    if isinstance(event, Quit):
        return f"quit    {event.node}"
    if isinstance(event, Failed):
        return f"failed  {event.node}: {event.message}"
    raise TypeError(event)


def iso(ts: float | None) -> str | None:
    """Unix seconds as ISO 8601 UTC with microseconds (``None`` stays ``None``)."""
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).isoformat().replace("+00:00", "Z")


def export_viewer(conn: sqlite3.Connection, viewer: str) -> list[dict[str, Any]]:
    """Everything stored about ``viewer``: each playthrough with all its events, oldest first.

    Times are ISO 8601 UTC strings; event columns that are empty are left out.
    """
    out = []
    playthroughs = conn.execute(
        f"SELECT pk, {_SUMMARY_COLUMNS} FROM playthroughs WHERE viewer = ? ORDER BY started_at, pk",
        (viewer,),
    ).fetchall()
    for values in playthroughs:
        pk = values[0]
        summary = asdict(PlaythroughSummary(*values[1:]))
        for key in ("started_at", "updated_at", "ended_at"):
            summary[key] = iso(summary[key])
        events = []
        for row in conn.execute(_EVENTS_SQL, (pk,)):
            event = {k: v for k, v in zip(EVENT_COLUMNS, row, strict=True) if v is not None}
            event["at"] = iso(event["at"])
            if "timed_out" in event:
                event["timed_out"] = bool(event["timed_out"])
            events.append(event)
        summary["events"] = events
        summary["exposures"] = [
            {"experiment": experiment, "arm": arm, "node": node, "at": iso(at)}
            for experiment, arm, node, at in conn.execute(
                "SELECT experiment, arm, node, at FROM exposures WHERE playthrough = ? "
                "ORDER BY seq, experiment",
                (pk,),
            )
        ]
        out.append(summary)
    return out


@dataclass(frozen=True, slots=True)
class StoryCount:
    story_id: str
    playthroughs: int
    completed: int
    events: int


@dataclass(frozen=True, slots=True)
class LogInfo:
    """What ``branching log info`` shows."""

    path: Path | None
    size_bytes: int
    schema_version: int
    journal_mode: str
    playthroughs: int
    events: int
    viewers: int
    by_status: dict[str, int]
    by_origin: dict[str, int]
    stories: list[StoryCount]
    first_at: float | None
    last_at: float | None


def log_info(conn: sqlite3.Connection, path: Path | None) -> LogInfo:
    size = 0
    if path is not None:
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                size += Path(str(path) + suffix).stat().st_size
    by_status = dict(
        conn.execute("SELECT status, count(*) FROM playthroughs GROUP BY status").fetchall()
    )
    by_origin = dict(
        conn.execute("SELECT origin, count(*) FROM playthroughs GROUP BY origin").fetchall()
    )
    playthroughs, events, viewers, first, last = conn.execute(
        "SELECT count(*), coalesce(sum(event_count), 0), count(DISTINCT viewer), "
        "min(started_at), max(updated_at) FROM playthroughs"
    ).fetchone()
    stories = [
        StoryCount(*row)
        for row in conn.execute(
            "SELECT story_id, count(*), sum(status = 'completed'), sum(event_count) "
            "FROM playthroughs GROUP BY story_id ORDER BY count(*) DESC, story_id"
        )
    ]
    return LogInfo(
        path=path,
        size_bytes=size,
        schema_version=read_version(conn),
        journal_mode=str(conn.execute("PRAGMA journal_mode").fetchone()[0]),
        playthroughs=playthroughs,
        events=events,
        viewers=viewers,
        by_status=by_status,
        by_origin=by_origin,
        stories=stories,
        first_at=first,
        last_at=last,
    )


def check_log(conn: sqlite3.Connection, *, full: bool = False, limit: int = 20) -> list[str]:
    """Problems found in the log (empty when sound).

    SQLite's own ``quick_check`` (``integrity_check`` with ``full``), foreign keys, then the
    log's invariants: each playthrough's events are numbered 0..event_count-1 without gaps,
    and its status matches its last event.
    """
    problems: list[str] = []
    pragma = "integrity_check" if full else "quick_check"
    try:
        for (message,) in conn.execute(f"PRAGMA {pragma}({limit:d})"):
            if message != "ok":
                problems.append(f"sqlite {pragma}: {message}")
    except sqlite3.DatabaseError as e:  # damage bad enough to stop the check itself
        problems.append(f"sqlite {pragma}: {e}")
    if problems:
        return problems  # the invariants below would read damaged pages
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchmany(limit):
        problems.append(f"{table} row {rowid} refers to a missing {parent} row")
    for pid, count, rows, low, high in conn.execute(
        """
        SELECT p.id, p.event_count, count(e.seq), min(e.seq), max(e.seq)
        FROM playthroughs p LEFT JOIN events e ON e.playthrough = p.pk
        GROUP BY p.pk
        HAVING count(e.seq) != p.event_count
            OR (count(e.seq) > 0 AND (min(e.seq) != 0 OR max(e.seq) != p.event_count - 1))
        LIMIT ?
        """,
        (limit,),
    ):
        problems.append(
            f"playthrough {pid}: event_count {count} but {rows} events numbered {low}..{high}"
        )
    for pid, status, kind in conn.execute(
        """
        SELECT p.id, p.status, e.kind
        FROM playthroughs p JOIN events e ON e.playthrough = p.pk AND e.seq = p.event_count - 1
        WHERE (e.kind = 'ending') != (p.status = 'completed')
           OR (e.kind = 'quit') != (p.status = 'quit')
           OR (e.kind = 'fail') != (p.status = 'failed')
        LIMIT ?
        """,
        (limit,),
    ):
        problems.append(f"playthrough {pid}: status {status} but its last event is {kind!r}")
    return problems
