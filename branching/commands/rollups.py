"""``branching log rebuild-rollups``: recompute the report roll-ups from the raw events."""

from __future__ import annotations

import time

import click

from branching.commands._options import db_option, open_log
from branching.log.location import DbLocation
from branching.story.untrusted import printable


class _Undo(Exception):
    """Raised to roll a --check run back."""


@click.command("rebuild-rollups")
@db_option
@click.option(
    "--check",
    is_flag=True,
    help="Only compare: recompute, report any difference, change nothing (exit 1 if any).",
)
def rebuild_rollups(db: DbLocation, check: bool) -> None:
    """Recompute the roll-ups that `branching report`, the choice shares and the suggestions
    read, from the raw events.

    The events are the source of truth; the roll-ups are kept current as events are written,
    so this is needed only to repair or verify them (e.g. after editing the file by hand).
    Runs in one transaction: readers see the old roll-ups until it commits.
    """
    import sqlite3

    from branching.log import LogWriteError
    from branching.log.errors import describe_sqlite_error
    from branching.log.exposures import experiment_snapshot, rebuild_experiments
    from branching.log.rollups import differences, repair_structure, rollup_problems
    from branching.log.rollups import rebuild_rollups as rebuild
    from branching.log.rollups import snapshot as rollup_snapshot
    from branching.log.runs import rebuild_runs, runs_snapshot
    from branching.log.shares import rebuild_shares, shares_snapshot

    def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
        return {
            **rollup_snapshot(conn),
            **experiment_snapshot(conn),
            **shares_snapshot(conn),
            **runs_snapshot(conn),
        }

    if not db.path.exists():
        raise click.ClickException(f"No choice log at {db.describe()}.")
    began = time.perf_counter()
    shown = printable(db.path, one_line=True)
    repair = "Run `branching log rebuild-rollups` to repair them."
    with open_log(db, create=False) as log:
        outcome: dict[str, int] = {}
        count = 0
        try:
            broken = rollup_problems(log.conn)
            if check and broken:
                # Nothing to compare with: say what is wrong (the very case --check is for).
                click.echo(f"The roll-ups of {shown} are damaged: {'; '.join(broken)}.", err=True)
                click.echo(repair, err=True)
                raise SystemExit(1)
            before = snapshot(log.conn) if check else {}
            with log.write_transaction() as conn:
                repair_structure(conn)
                count = rebuild(conn)
                rebuild_experiments(conn)
                rebuild_shares(conn)
                rebuild_runs(conn)
                if check:
                    outcome = differences(before, snapshot(conn))
                    raise _Undo
        except _Undo:
            pass
        except sqlite3.DatabaseError as e:
            # A roll-up table SQLite cannot read (damaged pages): the raw events may be fine.
            raise click.ClickException(
                f"Cannot {'check' if check else 'rebuild'} the roll-ups of {shown}: "
                f"{describe_sqlite_error(e)}. `branching log check` looks for damage in the file."
            ) from e
        except LogWriteError as e:
            raise click.ClickException(
                f"Cannot rebuild the roll-ups of {shown}: {e}. `branching log check` looks "
                "for damage in the file."
            ) from e
    seconds = time.perf_counter() - began
    if not check:
        repaired = f" (recreated: {'; '.join(broken)})" if broken else ""
        click.echo(
            f"Rebuilt the roll-ups from {count:,} playthroughs in {seconds:.1f} s{repaired}."
        )
        return
    if not outcome:
        click.echo(f"The roll-ups match the raw events ({count:,} playthroughs, {seconds:.1f} s).")
        return
    listed = ", ".join(f"{table}: {n:,} rows" for table, n in sorted(outcome.items()))
    click.echo(f"The roll-ups differ from the raw events ({listed}). {repair}", err=True)
    raise SystemExit(1)
