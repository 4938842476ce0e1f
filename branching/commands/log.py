"""``branching log``: where the choice log is, what it holds, checks and merges."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from branching.commands._options import Count, OutputPath, db_option, using_log
from branching.log import times
from branching.log.location import DbLocation
from branching.story.untrusted import printable

if TYPE_CHECKING:
    import sqlite3


@click.group("log")
def log_group() -> None:
    """Inspect, check and merge the choice log (SQLite)."""


def _when(ts: float | None) -> str:
    # Times come from the log and may be anything a broken clock wrote: never a crash.
    return times.shown(ts)


def _shown(path: object) -> str:
    """A path in a message: a file name may hold control characters too."""
    return printable(path, one_line=True)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


def _missing(db: DbLocation) -> bool:
    """Say so (and return True) when there is no log file to read."""
    if db.path.exists():
        return False
    if not db.is_default and not db.path.parent.is_dir():
        raise click.ClickException(
            f"No choice log at {db.describe()}: the directory {_shown(db.path.parent)} does "
            "not exist."
        )
    click.echo(
        f"No choice log at {db.describe()} yet: it is created the first time a story is played."
    )
    return True


def _n(count: int, noun: str) -> str:
    """``1 playthrough``, ``2 playthroughs``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@log_group.command("info")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def info(db: DbLocation, as_json: bool) -> None:
    """Show where the log is, its schema version and what it holds."""
    if _missing(db):
        return
    with using_log(db, create=False, readonly=True, outdated_ok=True) as log:
        data = log.info()
    if as_json:
        payload: dict[str, Any] = {
            "path": str(db.path),
            "source": db.source,
            "size_bytes": data.size_bytes,
            "schema_version": data.schema_version,
            "journal_mode": data.journal_mode,
            "playthroughs": data.playthroughs,
            "events": data.events,
            "viewers": data.viewers,
            "by_status": data.by_status,
            "by_origin": data.by_origin,
            "first_at": times.json_number(data.first_at),
            "last_at": times.json_number(data.last_at),
            "stories": [
                {
                    "story_id": s.story_id,
                    "playthroughs": s.playthroughs,
                    "completed": s.completed,
                    "events": s.events,
                }
                for s in data.stories
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    statuses = ", ".join(
        f"{name} {data.by_status.get(name, 0):,}"
        for name in ("open", "completed", "quit", "failed")
    )
    origins = ", ".join(f"{printable(k)} {v:,}" for k, v in sorted(data.by_origin.items()))
    click.echo(f"Choice log:    {db.describe()}")
    click.echo(
        f"Schema:        version {data.schema_version}, {data.journal_mode.upper()} journal, "
        f"{_size(data.size_bytes)}"
    )
    click.echo(f"Playthroughs:  {data.playthroughs:,} ({statuses})")
    if origins:
        click.echo(f"  by origin:   {origins}")
    click.echo(f"Events:        {data.events:,}")
    click.echo(f"Viewers:       {data.viewers:,}")
    click.echo(f"Activity:      {_when(data.first_at)} to {_when(data.last_at)} UTC")
    if data.stories:
        click.echo("Stories:")
        width = max(len(printable(s.story_id)) for s in data.stories)
        for s in data.stories:
            click.echo(
                f"  {printable(s.story_id):<{width}}  {_n(s.playthroughs, 'playthrough')}, "
                f"{s.completed:,} completed, {_n(s.events, 'event')}"
            )


@log_group.command("check")
@db_option
@click.option("--full", is_flag=True, help="Run SQLite's full integrity_check (slower).")
@click.option(
    "--story",
    "story_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also replay every playthrough of this story file through the engine: each event "
    "must be one the story could have produced there.",
)
def check(db: DbLocation, full: bool, story_file: str | None) -> None:
    """Check the file and the log's invariants; exit 1 if anything is wrong.

    Checks SQLite's page structure and foreign keys, then every playthrough: events numbered
    0, 1, 2, ... matching its event count; times from 1970 to 9999 that never go backwards;
    each event's columns as its kind has them, with values a player writes (a choice with a
    target, decision times from 0 to a year, known ending kinds, rewind steps that count); its
    status, last node and ending as its events imply; a sequence of events a player could have
    written (a choice where the viewer was, then the node it leads to; a rewind to an earlier
    choice point; nothing but a rewind after an ending); and experiment exposures at an entry
    into their node of a playthrough in the log. With --story, the playthroughs of that story
    file are replayed through the engine, conditions, effects and experiment arms included.

    Exit status: 0 sound, 1 problems found, 2 the story file cannot be read.
    """
    story = None
    if story_file is not None:
        from branching.commands._io import load_story_or_exit

        story = load_story_or_exit(story_file, "checked against")
    if _missing(db):
        return
    # The check rebuilds the roll-ups to compare them: it needs the current schema.
    with using_log(db, create=False, readonly=True, upgrade=True) as log:
        problems = log.check(full=full)
        replay = log.check_story(story) if story is not None and not problems else None
        # Counted only for a sound log: a damaged one may not even be counted.
        data = None if problems or (replay and replay.problems) else log.info()
    if replay is not None:
        problems = replay.problems
    if problems:
        for problem in problems:
            click.echo(printable(problem), err=True)
        raise click.ClickException(f"{problems.total:,} problem(s) found in {_shown(db.path)}")
    assert data is not None
    click.echo(
        f"OK: {_shown(db.path)} is sound ({_n(data.playthroughs, 'playthrough')}, "
        f"{_n(data.events, 'event')})."
    )
    if replay is not None and story is not None:
        others = (
            f"; {_n(replay.other_versions, 'playthrough')} of other versions of the story not "
            "replayed"
            if replay.other_versions
            else ""
        )
        click.echo(
            f"Replayed {_n(replay.replayed, 'playthrough')} of {printable(story.id)} "
            f"through the story: every event fits{others}."
        )


@log_group.command("merge")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(dir_okay=False, path_type=Path),
    help="The merged log (created if missing; existing contents are kept).",
)
def merge(sources: tuple[Path, ...], output: Path) -> None:
    """Combine logs gathered on several machines into one, all or nothing.

    Playthroughs are matched by id and events by (playthrough, seq): merging the same log
    twice adds nothing, and merging a newer copy adds only what is new. Sources are read, never
    changed. Every source is checked before anything is written, and all are written in one
    transaction: if any fails, the output is left as it was (or not created).

    A source playthrough whose events `log check` calls impossible (times outside 1970 to 9999
    or going backwards, events not numbered 0, 1, 2, ..., values no player writes, a sequence
    no player could have written) is left out, and so are events of a playthrough the source
    does not hold; the rest is merged, and the exit status is 1.
    """
    from branching.log import ChoiceLog, LogError, LogUnavailable, merge_all, open_sources

    existed = os.path.lexists(output)
    committed = False
    try:  # a path the output cannot have is refused first, as for any other --db
        ChoiceLog.check_path(output)
    except LogUnavailable as e:
        raise click.ClickException(str(e)[:1].upper() + str(e)[1:]) from e
    try:
        with contextlib.ExitStack() as stack:
            try:
                opened = stack.enter_context(open_sources(sources, output=output))
            except LogUnavailable as e:
                raise click.ClickException(str(e)) from e
            target = stack.enter_context(using_log(DbLocation(output, "option"), durable=False))
            try:
                results = merge_all(target, opened)
            except LogError as e:
                # A source that fails part-way, or a failed write: the transaction rolled back.
                state = "is unchanged" if existed else "was not created"
                message = f"{e}; nothing was merged: {_shown(output)} {state}"
                raise click.ClickException(message[:1].upper() + message[1:]) from e
            committed = True
            info = target.info()
    except BaseException:
        if not existed and not committed:  # a failed merge leaves no fresh output, even empty
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    Path(f"{output}{suffix}").unlink()
        raise
    left_out = False
    for source, stats in zip(sources, results, strict=True):
        click.echo(
            f"{_shown(source)}: {_n(stats.playthroughs_added, 'playthrough')} and "
            f"{_n(stats.events_added, 'event')} added"
            + (
                f", {_n(stats.playthroughs_extended, 'playthrough')} extended"
                if stats.playthroughs_extended
                else ""
            )
            + f", {stats.playthroughs_unchanged:,} already present"
            + (
                f", {stats.conflicts:,} conflicting (kept as in output: "
                f"{', '.join(printable(i) for i in stats.conflict_examples)}"
                f"{', ...' if stats.conflicts > len(stats.conflict_examples) else ''})"
                if stats.conflicts
                else ""
            )
        )
        if stats.quarantined:
            left_out = True
            click.echo(
                f"{_shown(source)}: {_n(stats.quarantined, 'playthrough')} left out, not "
                f"merged: {'; '.join(printable(r) for r in stats.quarantine_examples)}"
                f"{'; ...' if stats.quarantined > len(stats.quarantine_examples) else ''}",
                err=True,
            )
        if stats.orphan_events:
            left_out = True
            click.echo(
                f"{_shown(source)}: {_n(stats.orphan_events, 'event')} of playthroughs that "
                "are not in it left out, not merged",
                err=True,
            )
    added_p = sum(s.playthroughs_added for s in results)
    added_e = sum(s.events_added for s in results)
    click.echo(
        f"Merged {_n(len(sources), 'log')} into {_shown(output)}: "
        f"{_n(added_p, 'playthrough')} and {_n(added_e, 'event')} "
        f"added; it now holds {_n(info.playthroughs, 'playthrough')} and "
        f"{_n(info.events, 'event')}."
    )
    if left_out:
        # Exit 1: the sources hold problems (`log check` on them names each). Everything else
        # is merged, and merging again adds nothing more, so a script may simply go on.
        click.echo(
            "Some of the sources could not be merged whole (see above; `branching log check "
            "--db SOURCE` lists the problems). Everything else was merged.",
            err=True,
        )
        raise SystemExit(1)


@log_group.command("list")
@db_option
@click.option("--viewer", help="Only this viewer's playthroughs.")
@click.option("--story", "story_id", help="Only playthroughs of this story id.")
@click.option(
    "--status",
    type=click.Choice(["open", "completed", "quit", "failed"]),
    help="Only playthroughs with this status.",
)
@click.option("-n", "--limit", type=Count(), default=20, show_default=True)
def list_(
    db: DbLocation, viewer: str | None, story_id: str | None, status: str | None, limit: int
) -> None:
    """List recent playthroughs (most recently active first)."""
    if _missing(db):
        return
    with using_log(db, create=False, readonly=True, outdated_ok=True) as log:
        rows = log.playthroughs(
            viewer=viewer,
            story_id=story_id,
            status=status,  # type: ignore[arg-type]  # click.Choice guarantees a Status
            limit=limit,
        )
    if not rows:
        click.echo("No playthroughs match.")
        return
    for p in rows:
        where = p.ending if p.status == "completed" else p.last_node
        click.echo(
            f"{printable(p.id)}  {_when(p.updated_at)}  {printable(p.story_id)}  "
            f"viewer {printable(p.viewer)}  {p.status} at {printable(where or '-')}  "
            f"{p.event_count} events" + (f"  [{printable(p.origin)}]" if p.origin != "live" else "")
        )


@log_group.command("show")
@click.argument("playthrough")
@db_option
def show(playthrough: str, db: DbLocation) -> None:
    """Show one playthrough's events in order and its route.

    PLAYTHROUGH is a playthrough id or a unique prefix of one (at least 6 characters).
    """
    from branching.log import full_path, route

    if _missing(db):
        return
    with using_log(db, create=False, readonly=True, outdated_ok=True) as log:
        pid = _find_id(log.conn, playthrough)
        summary = log.playthrough(pid)
        events = log.events(pid)
    assert summary is not None
    click.echo(f"Playthrough {printable(summary.id)}")
    click.echo(
        f"  story {printable(summary.story_id)} version {printable(summary.story_version or '-')} "
        f"(hash {printable(summary.story_hash)[:12]}), viewer {printable(summary.viewer)}"
        + (f", variant {printable(summary.variant)}" if summary.variant else "")
        + f", {summary.origin}"
    )
    outcome = {
        "open": f"open, last at {printable(summary.last_node or '-')}",
        "completed": f"completed at {printable(summary.ending)} ({summary.ending_kind})",
        "quit": f"quit at {printable(summary.last_node)}",
        "failed": f"failed at {printable(summary.last_node)}: {printable(summary.failure)}",
    }[summary.status]
    click.echo(
        f"  {outcome}; started {_when(summary.started_at)}, last event "
        f"{_when(summary.updated_at)} UTC"
    )
    for logged, line in zip(events, full_path(events), strict=True):
        offset = times.seconds_between(summary.started_at, logged.at)
        when = "        ?" if offset is None else f"+{offset:8.1f}s"
        click.echo(f"  {logged.seq:>4}  {when}  {printable(line)}")
    click.echo("Route: " + " > ".join(printable(n) for n in route(events)))


def _find_id(conn: sqlite3.Connection, given: str) -> str:
    """The full id of a playthrough given by id or by a unique prefix (6+ characters)."""
    row = conn.execute("SELECT id FROM playthroughs WHERE id = ?", (given,)).fetchone()
    if row:
        return str(row[0])
    if len(given) >= 6:
        rows = conn.execute(
            "SELECT id FROM playthroughs WHERE id >= ? AND id < ? LIMIT 2",
            (given, given + "\U0010ffff"),
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if len(rows) > 1:
            raise click.ClickException(f"{given!r} matches several playthroughs; give more of it")
    raise click.ClickException(f"no playthrough '{given}' in the log")
