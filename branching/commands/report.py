"""``branching report``: path popularity and drop-off per branch, against the story graph."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from branching.commands._options import Count, OutputPath, db_option, open_log, parse_date
from branching.log.location import DbLocation

if TYPE_CHECKING:
    from analytics.report import Report, Selection
    from branching.story.model import Story

FORMATS = ("table", "json", "csv", "html")


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@db_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for the terminal, json for scripts, csv for spreadsheets, html to look at.",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, writable=True),
    help="Write to this file instead of the terminal (csv: FILE-nodes.csv and FILE-choices.csv).",
)
@click.option(
    "--top",
    type=Count(),
    default=10,
    show_default=True,
    help="Rows per section: drop-offs, branch nodes, paths (json and csv keep every node).",
)
@click.option(
    "--version",
    "versions",
    multiple=True,
    metavar="VERSION",
    help="Story version(s) to include (default: the version in STORY). Repeatable.",
)
@click.option("--all-versions", is_flag=True, help="Include every version of the story.")
@click.option("--variant", metavar="NAME", help="Only playthroughs of this variant.")
@click.option(
    "--lang",
    "language",
    metavar="TAG",
    help="Only playthroughs shown in this language (fr also matches fr-CA). Without it, "
    "choice shares are shown per language side by side when there are several.",
)
@click.option(
    "--since",
    callback=parse_date,
    metavar="DATE",
    help="Only playthroughs started on or after DATE.",
)
@click.option(
    "--until",
    callback=parse_date,
    metavar="DATE",
    help="Only playthroughs started on or before DATE.",
)
@click.option(
    "--origin",
    "origins",
    multiple=True,
    type=click.Choice(["live", "imported", "simulated"]),
    help="Only playthroughs of this origin. Repeatable. Default: viewers' (live and imported), "
    "or the simulated ones when there are no others.",
)
@click.option(
    "--experiment",
    metavar="ID",
    help="Report only this A/B experiment of the story: per-arm figures, tests and a verdict.",
)
@click.option(
    "--engine",
    type=click.Choice(["sqlite", "duckdb", "spark"]),
    default="sqlite",
    show_default=True,
    help="sqlite: the log's roll-ups (--db). duckdb or spark: an export folder (--events); "
    "same report, for logs past one machine (docs/scale.md).",
)
@click.option(
    "--events",
    "events",
    metavar="DIR",
    help="The export folder (branching log export) the duckdb and spark engines read; spark "
    "also takes a URL its Hadoop connectors read (s3a://, gs://, hdfs://).",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Recompute from the raw events instead of the roll-ups (slow on big logs; a check).",
)
def report(
    story: str,
    db: DbLocation,
    output_format: str,
    output: str | None,
    top: int,
    versions: tuple[str, ...],
    all_versions: bool,
    variant: str | None,
    since: dt.date | None,
    until: dt.date | None,
    origins: tuple[str, ...],
    experiment: str | None,
    engine: str,
    events: str | None,
    exact: bool,
    language: str | None,
) -> None:
    """Report how playthroughs of STORY went: drop-offs, choice shares, paths, endings and
    content nobody reached.

    Counts are playthroughs unless marked as viewers; dates are the UTC day a playthrough
    started. Metric definitions: docs/analytics.md.
    """
    import sqlite3

    from analytics.source import NoData, load_report
    from analytics.stats import ImpossibleCounts
    from branching.commands._io import load_story_or_exit

    if since and until and since > until:
        raise click.BadParameter("--since is after --until", param_hint="--since")
    if language is not None:
        from branching.play.languages import LanguageError, check_requested

        try:
            check_requested(language)  # as `play --lang` checks it: same message, exit 2
        except LanguageError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    parsed = load_story_or_exit(story, "reported on")
    if experiment is not None and experiment not in parsed.experiments:
        known = ", ".join(parsed.experiments) or "none"
        raise click.BadParameter(
            f"the story has no experiment {experiment!r} (its experiments: {known})",
            param_hint="--experiment",
        )
    if engine != "sqlite" or events is not None:
        selection = _selection(
            parsed, versions, all_versions, variant, since, until, origins, language
        )
        from branching.commands.report_engines import engine_report

        if db.source == "option":
            raise click.BadParameter(
                f"--db names a SQLite log, which --engine sqlite reads; --engine {engine} reads "
                "the export folder given with --events only",
                param_hint="--db",
            )
        if exact:
            raise click.BadParameter(
                "--exact recomputes from a SQLite log: use it without --engine",
                param_hint="--exact",
            )
        result = engine_report(
            engine, events, parsed, selection, top=top, auto_origins=not origins,
            experiment=experiment,
        )  # fmt: skip
        _emit(result, output_format, output, top, only_experiments=experiment is not None)
        return
    if not db.path.exists():
        raise click.ClickException(
            f"No choice log at {db.describe()}: nothing has been played or simulated there "
            f"yet. Play the story, or preview a report with `branching simulate {story} "
            "--playthroughs 1000`."
        )
    selection = _selection(parsed, versions, all_versions, variant, since, until, origins, language)
    # A report only reads: the log opens read-only (another user's, read-only media, an
    # archive), except that an older schema is upgraded when it may be, to build its roll-ups.
    with open_log(db, create=False, readonly=True, upgrade=True) as log:
        try:
            result = load_report(
                log.conn,
                parsed,
                selection,
                top=top,
                source=str(db.path),
                exact=exact,
                auto_origins=not origins,
                experiment=experiment,
                story_path=story,
            )
        except NoData as e:
            raise click.ClickException(str(e)) from e
        except ImpossibleCounts as e:
            raise click.ClickException(
                f"The choice log {db.describe()} holds impossible counts ({e}): the tables "
                "reports read are damaged. `branching log rebuild-rollups` rebuilds them from "
                "the raw events (`branching report --exact` reads the events instead)."
            ) from e
        except sqlite3.DatabaseError as e:
            raise click.ClickException(
                f"The choice log {db.describe()} could not be read ({e}). `branching log check` "
                "looks for damage; `branching log rebuild-rollups` rebuilds the tables reports "
                "read from the raw events."
            ) from e
    _emit(result, output_format, output, top, only_experiments=experiment is not None)


def _selection(
    story: Story,
    versions: tuple[str, ...],
    all_versions: bool,
    variant: str | None,
    since: dt.date | None,
    until: dt.date | None,
    origins: tuple[str, ...],
    language: str | None = None,
) -> Selection:
    from analytics.report import Selection

    chosen_versions: tuple[str | None, ...] | None
    if all_versions:
        chosen_versions = None
    elif versions:
        chosen_versions = versions
    else:
        chosen_versions = (story.version,)
    return Selection(story.id, chosen_versions, variant, since, until, origins or None, language)


def _emit(
    result: Report, output_format: str, output: str | None, top: int, *, only_experiments: bool
) -> None:
    """Write the report; every failure (a full disk, a device given for CSV files) is a
    message (branching.commands._io)."""
    from branching.commands._io import is_stdout, output_stream, shown, sibling, write_output

    to_file = not is_stdout(output)
    if output_format == "table":
        from rich.console import Console

        from analytics.render.table import print_table

        with output_stream(output) as stream:
            console = (
                Console(file=stream, width=120, color_system=None)
                if to_file
                else Console(file=stream)
            )
            print_table(result, console, top=top, only_experiments=only_experiments)
    elif output_format == "csv":
        from analytics.render import csvout

        if not to_file:
            write_output(csvout.render_csv(result, only_experiments=only_experiments), output)
            return
        assert output is not None
        tables = [("nodes", csvout.nodes_csv), ("choices", csvout.choices_csv)]
        if only_experiments:
            tables = []
        if result.experiments:
            tables += [
                ("experiments", csvout.experiments_csv),
                ("experiment-tests", csvout.experiment_tests_csv),
            ]
        paths = [sibling(output, f"-{name}.csv") for name, _ in tables]  # all refused first
        for path, (_, table) in zip(paths, tables, strict=True):
            write_output(table(result), path)
        click.echo("Wrote " + ", ".join(shown(path) for path in paths), err=True)
        return
    else:
        if output_format == "json":
            from analytics.render.jsonout import render_json

            text = render_json(result)
        else:
            from analytics.render.html import render_html

            text = render_html(result, top=top, only_experiments=only_experiments)
        write_output(text, output)
    if to_file:
        assert output is not None
        click.echo(f"Wrote {shown(output)}", err=True)
