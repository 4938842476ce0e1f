"""``branching log export``: the choice log as a Parquet folder for DuckDB, Spark and friends."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from branching.commands._options import OutputPath, db_option, using_log
from branching.commands._signals import stopped, terminate_like_interrupt
from branching.log.location import DbLocation
from branching.story.untrusted import printable


def unreadable(message: str) -> None:
    """Say why an input cannot be read, and exit 2 (the documented code for it)."""
    click.echo(f"Error: {printable(message)}", err=True)
    sys.exit(2)


def need_packages(*names: str, extra: str = "duckdb") -> None:
    """Exit 2 with the install command when an optional package is missing."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            unreadable(f"This needs {name}, an optional package: pip install 'branching[{extra}]'")


@click.command("export")
@db_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["parquet"]),
    required=True,
    help="The format of the folder (Hive-partitioned Parquet).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=OutputPath(file_okay=False, path_type=Path),
    help="The export folder (created if missing; what it holds is kept and added to).",
)
@click.option(
    "--source",
    metavar="NAME",
    help="Name of this log in the folder's file names (default: host name and log file name); "
    "kept to letters, digits, '.', '_' and '-' (other characters become '-'), at most 60.",
)
def export(db: DbLocation, output_format: str, output: Path, source: str | None) -> None:
    """Export the log's playthroughs, events and experiment exposures as Parquet.

    Partitioned Hive-style by story, story version and start date (UTC), so DuckDB, Spark,
    Trino and ClickHouse read the folder as it is; `branching report --engine duckdb|spark
    --events DIR` reports from it. Incremental: exporting again writes only playthroughs that
    are new or went on since. Many machines may export into one folder: a playthrough found in
    several exports is counted once. Layout and guarantees: docs/scale.md.

    Exit status: 0 exported (or nothing new), 1 no log there or it cannot be read, a value in
    it cannot be written as it is (an invalid time, an integer too large, text that is not
    UTF-8: named, and nothing of the batch is left in the folder), or a write failed (nothing
    of the batch is committed; exporting again resumes), 2 the folder is not an
    export folder or a file in it is damaged (named), or a package is missing, 130 interrupted
    (nothing of the batch is committed; exporting again resumes).
    """
    from branching.warehouse.export import default_source, export_log
    from branching.warehouse.layout import FolderError
    from branching.warehouse.values import ValueRefused

    need_packages("pyarrow", "sqlglot")
    if not db.path.is_file():
        raise click.ClickException(f"No choice log at {db.describe()}: nothing to export.")
    name = source or default_source(db.path)
    # The export carries columns of the current schema (each playthrough's language).
    with using_log(db, create=False, readonly=True, upgrade=True) as log:
        try:
            with terminate_like_interrupt():
                result = export_log(log.conn, output, source=name)
        except FolderError as e:
            unreadable(f"Cannot export into {output}: {e}")
            return
        except ValueRefused as e:
            raise click.ClickException(
                f"Cannot export {db.describe()}: it holds a value the export cannot write as "
                f"it is ({e}). `branching log check` finds such values; fix the row or leave "
                "the playthrough out of the log, then export again. Nothing of this export "
                f"was written to {printable(output, one_line=True)}."
            ) from e
        except KeyboardInterrupt as stop:
            what, status = stopped(stop)
            click.echo(
                f"{what}: nothing of this export was committed (exporting again resumes).",
                err=True,
            )
            sys.exit(status)
        except OSError as e:
            where = e.filename if e.filename is not None else output
            raise click.ClickException(
                f"Cannot write {printable(where)}: {e.strerror or e}; nothing was committed "
                "(exporting again resumes)"
            ) from e
    if result.upgraded:
        click.echo(
            f"Added the pre-aggregated counts of {result.upgraded:,} older "
            f"batch{'es' if result.upgraded != 1 else ''} (exported before they were written)."
        )
    if not result.playthroughs:
        click.echo(f"Nothing new to export: {printable(output)} already holds this log.")
        return
    click.echo(
        f"Exported {result.playthroughs:,} playthrough{'s' if result.playthroughs != 1 else ''} "
        f"and {result.events:,} event{'s' if result.events != 1 else ''} to {printable(output)} "
        f"(batch {result.batch}, {result.files:,} files)."
    )
