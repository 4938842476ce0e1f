"""``branching simulate``: random viewers play a story through the real engine into the log."""

from __future__ import annotations

import datetime as dt
import secrets
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from branching.commands._options import (
    FloatRange,
    Seed,
    arm_option,
    check_arms,
    db_option,
    open_log,
    parse_date,
)
from branching.commands._signals import stopped, terminate_like_interrupt
from branching.log.location import DbLocation
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from branching.story.model import Story

F = TypeVar("F", bound=Callable[..., Any])

#: Start times spread over at most a century: a million days reached back to the year -643,
#: which no date in Python (or in the log) can hold.
MAX_DAYS = 36_500
#: More than any machine plays (a million years at 30,000 per second), and a float still
#: spreads start times over them.
MAX_PLAYTHROUGHS = 10**18

#: The default chance of quitting at each choice point. Real audiences leave: with 2% per
#: choice point about a fifth of the playthroughs of a ten-choice story stop early, so the
#: first report a producer previews has drop-offs to read, as a real one would.
DEFAULT_QUIT_RATE = 0.02


#: At most this many worker processes per core: more only adds start-up time and memory.
MAX_WORKERS_PER_CORE = 4


def _check_workers(ctx: click.Context, param: click.Parameter, value: int | None) -> int:
    """``--workers``: default every usable core; refuse 0, negative and absurd counts."""
    from analytics.simulate_pool import available_cores

    cores = available_cores()
    if value is None:
        return cores
    most = MAX_WORKERS_PER_CORE * cores
    if not 1 <= value <= most:
        raise click.BadParameter(
            f"{value} is not a number of worker processes from 1 to {most} "
            f"({MAX_WORKERS_PER_CORE} per core; this machine lets us use {cores})",
            ctx,
            param,
        )
    return value


def _chance_option(name: str, help: str, default: float = 0.0) -> Callable[[F], F]:
    """A probability option in [0, 1], off (0) unless told otherwise."""
    return click.option(name, type=FloatRange(0, 1), default=default, show_default=True, help=help)


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "-n",
    "--playthroughs",
    type=click.IntRange(min=1, max=MAX_PLAYTHROUGHS),
    required=True,
    help="How many playthroughs to simulate.",
)
@click.option(
    "--seed",
    type=Seed(),
    help="Seed for the random viewers; the same seed plays the same playthroughs "
    "(default: a random seed, printed).",
)
@_chance_option(
    "--quit-rate",
    "Chance a viewer quits at each choice point (as real audiences do; 0 for none).",
    DEFAULT_QUIT_RATE,
)
@_chance_option(
    "--rewind-rate", "Chance a viewer goes back to an earlier choice point at each choice point."
)
@click.option(
    "--least-taken",
    is_flag=True,
    help="Favour the choices taken least so far (finds unreached content in fewer plays).",
)
@click.option(
    "--max-choices",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="A playthrough still going after this many choices quits (endless loops).",
)
@click.option(
    "--days",
    type=click.IntRange(min=1, max=MAX_DAYS),
    default=1,
    show_default=True,
    help="Spread start times over this many days up to now (to try date filters).",
)
@click.option(
    "--until",
    callback=parse_date,
    metavar="DATE",
    help="End the --days on this day (UTC, YYYY-MM-DD) instead of now: the same --seed and "
    "--until give the same log, times included.",
)
@click.option(
    "--viewers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Share the playthroughs among N simulated viewers, who take turns and each keep "
    "their own profile of the story (returning viewers; played in one process, since each "
    "playthrough starts from the viewer's last); default: one playthrough each.",
)
@click.option("--variant", metavar="NAME", help="Log the playthroughs under this label.")
@arm_option("Put every simulated viewer in this experiment arm (repeatable); default: assigned.")
@click.option(
    "--plant",
    "plants",
    multiple=True,
    metavar="EXPERIMENT=ARM,NODE,CHOICE,FACTOR",
    help="Rehearse an experiment: viewers in ARM weigh CHOICE at NODE FACTOR times as heavily "
    "as the other choices there (e.g. wording=b,crevasse,dive,1.5). Repeatable.",
)
@click.option(
    "--lang",
    metavar="TAG",
    help="Play in this language, with STORY.TAG.po next to the story (its text is evaluated "
    "too), and log it as the playthroughs' language.",
)
@click.option(
    "--translations",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The translation (a PO file) to play with, instead of STORY.TAG.po.",
)
@click.option(
    "--tastes",
    type=click.IntRange(min=0, max=1000),
    default=0,
    show_default=True,
    metavar="K",
    help="Split the viewers into K taste groups, each weighing every choice by its own fixed "
    "factor, so alike viewers choose alike (to rehearse `branching suggest`).",
)
@click.option(
    "--workers",
    type=int,
    callback=_check_workers,
    metavar="N",
    help="Play in N processes at once (default: every core this process may use). The "
    "playthroughs and the log are the same for any N.",
)
@db_option
@click.option("--no-log", is_flag=True, help="Only print the coverage summary; log nothing.")
def simulate(
    story: str,
    playthroughs: int,
    seed: int | None,
    quit_rate: float,
    rewind_rate: float,
    least_taken: bool,
    max_choices: int,
    days: int,
    until: dt.date | None,
    viewers: int | None,
    variant: str | None,
    arms: dict[str, str],
    plants: tuple[str, ...],
    lang: str | None,
    translations: str | None,
    tastes: int,
    workers: int,
    db: DbLocation,
    no_log: bool,
) -> None:
    """Play STORY with random simulated viewers and log their playthroughs.

    Prints what N random plays never reached (nodes, choices, endings) and any runtime faults,
    so writers find dead content and bugs; the log then gives a preview report (`branching
    report STORY`). Simulated playthroughs are marked as such in the log.
    """
    from concurrent.futures.process import BrokenProcessPool

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from analytics.render import listing
    from analytics.simulate import PlantedEffect, SimulationOptions
    from analytics.simulate import simulate as run
    from branching.commands._io import load_story_or_exit
    from branching.log import BulkWriter, LogWriteError

    parsed = load_story_or_exit(story, "simulated")
    check_arms(parsed, arms)
    planted = []
    for text in plants:
        try:
            effect = PlantedEffect.parse(text)
            effect.check(parsed)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--plant") from e
        planted.append(effect)
    from branching.play.languages import LanguageError, choose_language

    try:
        chosen = choose_language(
            parsed, story, requested=lang, explicit=lang is not None, translations=translations
        )
    except LanguageError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    for notice in chosen.notices:
        click.echo(notice, err=True)
    if seed is None:
        seed = secrets.randbelow(2**31)
    end_time = None
    # The log holds times from 1970 (the Unix epoch) to 9999 only (branching.log.times): a
    # period reaching outside that is a usage error here, not a write refused half-way.
    epoch = dt.date(1970, 1, 1)
    if until is not None:
        if until == dt.date.max or (until - epoch).days + 1 < days:
            raise click.BadParameter(
                f"{days:,} day(s) ending on {until} do not fit in the years 1970 to 9999 "
                "(the times a choice log holds)",
                param_hint="'--until'",
            )
        # The end of that day (UTC): playthroughs start in the --days before it.
        next_day = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        end_time = next_day.timestamp()
    elif (dt.datetime.now(dt.UTC).date() - epoch).days + 1 < days:
        raise click.BadParameter(
            f"{days:,} days up to now reach back before 1970 (the earliest time a choice log "
            "holds); give fewer days",
            param_hint="'--days'",
        )
    options = SimulationOptions(
        playthroughs=playthroughs,
        seed=seed,
        quit_rate=quit_rate,
        rewind_rate=rewind_rate,
        strategy="least-taken" if least_taken else "random",
        max_choices=max_choices,
        days=days,
        end_time=end_time,
        variant=variant,
        arms=tuple(arms.items()),
        plants=tuple(planted),
        language=chosen.language,
        translation=chosen.strings,
        viewers=viewers,
        tastes=tastes,
    )
    err = Console(stderr=True)
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # a log file or pipe gets no bar (not even its last line)
    )
    task = progress.add_task("Simulating", total=playthroughs)

    def advance(done: int) -> None:
        progress.update(task, completed=done)

    writer: BulkWriter | None = None

    def written() -> str:
        if no_log:
            return "Nothing was logged"
        if writer is None or not writer.playthroughs_written:
            return f"No playthroughs were written to {db.describe()}"
        return (
            f"The first {writer.playthroughs_written:,} playthroughs were written to "
            f"{db.describe()}, whole; the rest were not logged"
        )

    try:
        with terminate_like_interrupt(), progress:
            if no_log:
                result = run(parsed, options, workers=workers, progress=advance)
            else:
                with open_log(db, durable=False) as log, log.bulk_writer() as writer:
                    # Bulk writes touch index pages all over a big file: a bigger page cache
                    # (up to 256 MiB, used only as needed) keeps them fast as the log grows.
                    log.conn.execute("PRAGMA cache_size = -262144")
                    result = run(parsed, options, writer, workers=workers, progress=advance)
    except LogWriteError as e:
        raise click.ClickException(
            f"{e} (simulating with --seed {seed} again into the same log repeats the same "
            "playthroughs: use another --seed)"
        ) from e
    except BrokenProcessPool as e:
        # A worker was killed (or ran out of memory): every committed block is whole.
        raise click.ClickException(
            "a simulation worker process stopped unexpectedly (killed, or out of memory?). "
            f"{written()}."
        ) from e
    except KeyboardInterrupt as stop:
        # Each block is its own transaction: what was committed is whole, the rest is not there.
        what, status = stopped(stop)
        click.echo(f"{what}. {written()}.", err=True)
        raise SystemExit(status) from None

    rate = result.playthroughs / result.seconds if result.seconds else 0.0
    click.echo(
        f"Simulated {result.playthroughs:,} playthroughs of {parsed.title!r} "
        f"(seed {seed}, {result.events:,} events, {rate:,.0f} playthroughs/s): "
        f"{result.completed:,} completed, {result.quit:,} quit, {result.failed:,} failed."
    )
    if result.gave_up:
        click.echo(
            f"{result.gave_up:,} playthroughs were still going after {max_choices:,} choices "
            "and were quit (a loop with no way out?)."
        )
    if not no_log:
        # The command to paste must read this log and these playthroughs: reports leave
        # simulated playthroughs out when the log also holds viewers'.
        db_arg = f" --db {shlex.quote(str(db.path))}" if db.source == "option" else ""
        click.echo(
            f"Logged to {db.describe()}; see "
            + printable(f"`branching report {shlex.quote(story)} --origin simulated{db_arg}`.")
        )
    dark_nodes = result.dark_nodes(parsed)
    dark_choices = [f"{node}:{choice}" for node, choice in result.dark_choices(parsed)]
    dark_endings = result.dark_endings(parsed)
    click.echo(f"\nCoverage in {result.playthroughs:,} random plays:")
    for name, dark, total in (
        ("nodes", dark_nodes, len(parsed.nodes)),
        ("choices", dark_choices, sum(len(n.choices or []) for n in parsed.nodes.values())),
        ("endings", dark_endings, len(parsed.endings())),
    ):
        reached = total - len(dark)
        line = f"  {name}: {reached:,} of {total:,} reached"
        if dark:
            line += f"; never reached: {listing(dark, 15)}"
        click.echo(line)
    if (dark_nodes or dark_choices) and viewers is None and _remembers(parsed):
        click.echo(
            "  The story remembers its viewers, and every simulated viewer played once: "
            "--viewers N lets them come back (branches for returning viewers)."
        )
    if result.faults:
        click.echo(f"\nRuntime faults ({sum(result.faults.values()):,} playthroughs):")
        for message, count in result.faults.most_common(10):
            click.echo(f"  {count:,} × {printable(message)}")


def _remembers(story: Story) -> bool:
    """Whether returning viewers can play ``story`` differently (a profile, or a condition or
    effect reading the viewer's history)."""
    from branching.story.expressions import ExpressionError, parse

    if story.profile:
        return True
    for node in story.nodes.values():
        sources = [v for v in node.set.values() if isinstance(v, str)]
        for choice in node.choices or ():
            sources += [v for v in choice.set.values() if isinstance(v, str)]
            if choice.if_ is not None:
                sources.append(choice.if_)
        for source in sources:
            try:
                if parse(source).calls:
                    return True
            except ExpressionError:
                continue
    return False
