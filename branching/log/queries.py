"""Reading the log: playthroughs, events, paths, a viewer's data, summary counts, checks."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from branching.log import times
from branching.log.consistency import playthrough_problems
from branching.log.schema import read_version
from branching.log.state import (
    EVENT_COLUMNS,
    PLAYTHROUGH_COLUMNS,
    EventRow,
    Origin,
    PlaythroughState,
    PlaythroughStatus,
    row_to_event,
)
from branching.log.undecodable import is_undecodable, undecodable_values
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    Quit,
    Rewound,
)
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from branching.story.model import Story

SELECT_PLAYTHROUGH = "SELECT {} FROM playthroughs".format(", ".join(PLAYTHROUGH_COLUMNS))


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
    """Unix seconds as ISO 8601 UTC with microseconds (``None`` stays ``None``; a time no
    calendar can show is described instead: :func:`branching.log.times.iso`)."""
    return times.iso(ts)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the log has table ``name`` (an older log read as it is may not)."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def export_viewer(conn: sqlite3.Connection, viewer: str) -> list[dict[str, Any]]:
    """Everything stored about ``viewer``: each playthrough with all its events and exposures,
    oldest first, every column the file holds (read from the file, so a column added later is
    exported too; only this file's row numbers are left out).

    Times (columns ending in ``_at``) are ISO 8601 UTC strings; event columns that are empty
    are left out.
    """
    out = []
    columns = [c for c in _columns(conn, "playthroughs") if c not in _ROW_NUMBERS]
    event_columns = [c for c in _columns(conn, "events") if c not in _ROW_NUMBERS]
    events_sql = "SELECT {} FROM events WHERE playthrough = ? ORDER BY seq".format(
        ", ".join(event_columns)
    )
    # A log older than experiments (read as it is, e.g. read-only) has no exposures table.
    exposure_columns = (
        [c for c in _columns(conn, "exposures") if c not in _ROW_NUMBERS]
        if _has_table(conn, "exposures")
        else []
    )
    exposures_sql = "SELECT {} FROM exposures WHERE playthrough = ? ORDER BY seq, experiment"
    playthroughs = conn.execute(
        "SELECT pk, {} FROM playthroughs WHERE viewer = ? ORDER BY started_at, pk".format(
            ", ".join(columns)
        ),
        (viewer,),
    ).fetchall()
    for pk, *values in playthroughs:
        summary: dict[str, Any] = _with_times(dict(zip(columns, values, strict=True)))
        events = []
        for row in conn.execute(events_sql, (pk,)):
            event = _with_times(
                {k: v for k, v in zip(event_columns, row, strict=True) if v is not None}
            )
            if "timed_out" in event:
                event["timed_out"] = bool(event["timed_out"])
            events.append(event)
        summary["events"] = events
        summary["exposures"] = (
            [
                _with_times(dict(zip(exposure_columns, row, strict=True)))
                for row in conn.execute(exposures_sql.format(", ".join(exposure_columns)), (pk,))
            ]
            if exposure_columns
            else []
        )
        out.append(summary)
    return out


#: Columns that number rows in this file (a playthrough's ``pk``, and the references to it):
#: not data about the viewer, and different in every copy of the log.
_ROW_NUMBERS = frozenset({"pk", "playthrough"})


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _with_times(row: dict[str, Any]) -> dict[str, Any]:
    for key, value in row.items():
        if key.endswith("_at") or key == "at":
            row[key] = iso(value)
    return row


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
        journal_mode=_journal_mode(conn, path),
        playthroughs=playthroughs,
        events=events,
        viewers=viewers,
        by_status=by_status,
        by_origin=by_origin,
        stories=stories,
        first_at=first,
        last_at=last,
    )


def _journal_mode(conn: sqlite3.Connection, path: Path | None) -> str:
    """The file's journal mode. A WAL log read as an immutable file (read-only opens, see
    ``branching.log.store``) reports ``delete`` for the connection: the header says what the
    file is."""
    if path is not None:
        with contextlib.suppress(OSError), path.open("rb") as f:
            if f.read(20)[18:20] == b"\x02\x02":
                return "wal"
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


class Problems(list[str]):
    """Problems found, the first ones spelt out: ``total`` counts them all (the list ends
    with a line saying how many more there are)."""

    total: int = 0

    def finish(self, more: int) -> Problems:
        self.total = len(self) + more
        if more:
            self.append(f"... and {more:,} more problem(s)")
        return self


def check_log(conn: sqlite3.Connection, *, full: bool = False, limit: int = 20) -> Problems:
    """Problems found in the log (empty when sound), at most ``limit`` of them (then a line
    saying how many more).

    SQLite's own ``quick_check`` (``integrity_check`` with ``full``), foreign keys and events
    whose playthrough is missing, then every playthrough against its events
    (:func:`branching.log.consistency.playthrough_problems`): numbered 0..event_count-1
    without gaps, times a calendar can show, the row's status, last node, ending, failure and
    times as its events imply, and a sequence of events that could have happened.
    """
    problems = Problems()
    pragma = "integrity_check" if full else "quick_check"
    try:
        for (message,) in conn.execute(f"PRAGMA {pragma}({limit:d})"):
            if message != "ok":
                problems.append(f"sqlite {pragma}: {message}")
    except sqlite3.DatabaseError as e:  # damage bad enough to stop the check itself
        problems.append(f"sqlite {pragma}: {e}")
    if problems:
        return problems.finish(0)  # the invariants below would read damaged pages
    try:
        return _check_invariants(conn, problems, limit)
    except sqlite3.OperationalError as e:
        if not is_undecodable(e):
            raise
    # Python's sqlite3 cannot read such text at all, so name each value, then stop.
    problems = Problems()
    more = 0
    for found in undecodable_values(conn):
        if len(problems) < limit:
            where = f"playthrough {found.playthrough}" if found.playthrough else found.table
            if found.seq is not None:
                where += f": event {found.seq}"
            shown = printable(found.shown, one_line=True)[:120]
            problems.append(f"{where}: its {found.column} is not UTF-8 text ({shown})")
        else:
            more += 1
    problems.finish(more)
    problems.append(
        "the other checks need every text to be UTF-8: fix these rows or delete their "
        "playthroughs, then check again"
    )
    return problems


def _check_invariants(conn: sqlite3.Connection, problems: Problems, limit: int) -> Problems:
    """Every invariant of :func:`check_log` past SQLite's own check, added to ``problems``."""
    more = 0
    for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
        if table in ("events", "exposures"):
            continue  # counted per playthrough key below (events have no rowid to name)
        if len(problems) < limit:
            problems.append(f"{table} row {rowid} refers to a missing {parent} row")
        else:
            more += 1
    for pk, count in conn.execute(
        "SELECT e.playthrough, count(*) FROM events e "
        "WHERE NOT EXISTS (SELECT 1 FROM playthroughs p WHERE p.pk = e.playthrough) "
        "GROUP BY e.playthrough ORDER BY e.playthrough"
    ):
        if len(problems) < limit:
            problems.append(
                f"{count} event(s) of playthrough key {pk}, which is not in the log "
                "(orphan events: `branching log merge` leaves them out)"
            )
        else:
            more += 1
    for state, rows in each_playthrough(conn):
        for problem in playthrough_problems(state, rows):
            if len(problems) < limit:
                problems.append(problem)
            else:
                more += 1
    if _has_table(conn, "exposures"):
        for problem in _exposure_problems(conn):
            if len(problems) < limit:
                problems.append(problem)
            else:
                more += 1
    return problems.finish(more)


def _exposure_problems(conn: sqlite3.Connection) -> Iterator[str]:
    """Exposures that could not have been recorded: of a playthrough not in the log, not at an
    entry into their node (a player records one right after entering it), or at a time no
    event can have. One indexed look-up per exposure (there are far fewer than events)."""
    for pk, count in conn.execute(
        "SELECT x.playthrough, count(*) FROM exposures x "
        "WHERE NOT EXISTS (SELECT 1 FROM playthroughs p WHERE p.pk = x.playthrough) "
        "GROUP BY x.playthrough ORDER BY x.playthrough"
    ):
        yield (
            f"{count} experiment exposure(s) of playthrough key {pk}, which is not in the log "
            "(`branching log merge` leaves them out)"
        )
    for pid, experiment, arm, node, seq, at, kind, entered in conn.execute(
        "SELECT p.id, x.experiment, x.arm, x.node, x.seq, x.at, e.kind, e.node "
        "FROM exposures x JOIN playthroughs p ON p.pk = x.playthrough "
        "LEFT JOIN events e ON e.playthrough = x.playthrough AND e.seq = x.seq "
        "ORDER BY x.playthrough, x.experiment"
    ):
        what = f"playthrough {pid}: its exposure to experiment {experiment!r} (arm {arm!r})"
        if kind is None:
            yield f"{what} follows event {seq!r}, which is not in the log"
        elif kind != "enter" or entered != node:
            yield f"{what} is at {node!r}, but event {seq} is not an entry into it"
        elif not times.recordable(at):
            yield f"{what} is at {times.unrecordable_text(at)}"


def each_playthrough(
    conn: sqlite3.Connection, where: str = "", params: Sequence[Any] = ()
) -> Iterator[tuple[PlaythroughState, list[EventRow]]]:
    """Every playthrough (matching ``where``, an SQL condition on ``playthroughs``) with its
    event rows in ``seq`` order, reading both tables once in key order."""
    states = conn.execute(
        SELECT_PLAYTHROUGH + (f" WHERE {where}" if where else "") + " ORDER BY pk", params
    )
    events = conn.cursor().execute(
        "SELECT playthrough, " + ", ".join(EVENT_COLUMNS) + " FROM events ORDER BY playthrough, seq"
    )
    groups = groupby(events, key=itemgetter(0))
    pending = next(groups, None)
    for values in states:
        state = PlaythroughState(*values)
        rows: list[EventRow] = []
        while pending is not None and pending[0] <= state.pk:  # skips orphan events' groups
            if pending[0] == state.pk:
                rows = [row[1:] for row in pending[1]]
            pending = next(groups, None)
        yield state, rows


@dataclass(frozen=True, slots=True)
class StoryCheck:
    """What replaying a story's playthroughs through the engine found (``log check --story``)."""

    problems: Problems
    #: Playthroughs of this exact story file, replayed.
    replayed: int
    #: Playthroughs of the same story id logged with another version of the file: not replayed
    #: (their choices were made against other content).
    other_versions: int


def check_story(conn: sqlite3.Connection, story: Story, *, limit: int = 20) -> StoryCheck:
    """Replay every playthrough of ``story`` (same id and content hash) through the engine:
    each event must be one the story could have produced at that point (conditions, effects
    and timers included) for some viewer: what the log cannot know of the viewer (profile
    values, earlier playthroughs) may be anything (:mod:`branching.log.replay`). Problems at
    most ``limit`` (then a line saying how many more)."""
    from branching.log.replay import replay_any_viewer
    from branching.play.engine import Diverged

    problems = Problems()
    replayed = more = 0
    has_exposures = _has_table(conn, "exposures")
    for state, rows in each_playthrough(
        conn, "story_id = ? AND story_hash = ?", (story.id, story.content_hash)
    ):
        replayed += 1
        # A playthrough in an experiment's arm played the story as that arm shows it.
        arms = (
            dict(
                conn.execute(
                    "SELECT experiment, arm FROM exposures WHERE playthrough = ?", (state.pk,)
                ).fetchall()
            )
            if has_exposures
            else {}
        )
        unknown = [
            f"{experiment!r} arm {arm!r}"
            for experiment, arm in arms.items()
            if arm not in getattr(story.experiments.get(experiment), "arms", {})
        ]
        try:
            if unknown:  # no arm of the story shows it this way: nothing to replay against
                problem = (
                    f"playthrough {state.id}: it was exposed to an experiment arm the story "
                    "does not have: " + ", ".join(unknown)
                )
            else:
                events = [row_to_event(row) for row in rows]
                replay_any_viewer(story, events, arms=arms)
                continue
        except Diverged as e:
            problem = (
                f"playthrough {state.id}: event {e.index} ({describe(e.event)}) does not fit "
                f"the story: {e.reason}"
            )
        except (TypeError, ValueError) as e:
            problem = f"playthrough {state.id}: an event cannot be read ({e})"
        if len(problems) < limit:
            problems.append(problem)
        else:
            more += 1
    problems.finish(more)
    (others,) = conn.execute(
        "SELECT count(*) FROM playthroughs WHERE story_id = ? AND story_hash != ?",
        (story.id, story.content_hash),
    ).fetchone()
    return StoryCheck(problems, replayed, int(others))
