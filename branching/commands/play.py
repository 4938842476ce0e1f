"""``branching play``: play a story in the Textual player or line by line (``--plain``).

Heavy parts (the Textual app, the SQLite log) are imported inside the command, so importing
this module stays cheap.
"""

from __future__ import annotations

import io
import os
import sys
from typing import TYPE_CHECKING

import click

from branching.commands._options import (
    DB_HELP,
    FloatRange,
    arm_option,
    check_arms,
    viewer_option,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from branching.play.engine import Session
    from branching.play.events import Event, Recorder
    from branching.play.lifecycle import Autosave


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--plain",
    is_flag=True,
    help="Play line by line (screen readers, pipes, scripts). Automatic when stdin or "
    "stdout is not a terminal.",
)
@viewer_option
@click.option("--no-timers", is_flag=True, help="Timed choices wait for you (no countdown).")
@click.option(
    "--time-scale",
    type=FloatRange(min=0, min_open=True, max=1000),
    default=1.0,
    show_default=True,
    metavar="N",
    help="Give N times as long on timed choices (e.g. 10).",
)
@click.option("--new", "start_new", is_flag=True, help="Start over even if a playthrough is saved.")
@click.option("--db", type=click.Path(dir_okay=False), metavar="PATH", help=DB_HELP)
@click.option("--no-log", is_flag=True, help="Do not log this playthrough.")
@click.option("--variant", metavar="LABEL", help="A label stored with the playthrough.")
@arm_option(
    "Play an experiment arm instead of the one you are assigned (for writers and QA); "
    "repeatable. A resumed playthrough keeps its arm: add --new to switch."
)
def play(
    story: str,
    plain: bool,
    viewer: str | None,
    no_timers: bool,
    time_scale: float,
    start_new: bool,
    db: str | None,
    no_log: bool,
    variant: str | None,
    arms: dict[str, str],
) -> None:
    """Play STORY. Your place is saved after every choice; play again to continue.

    \b
    Plain player keys (type, then Enter):
      1, 2, ...  choose        Enter  let a timer run out (timed choices only)
      b  go back               r      start over
      q  quit (end of input quits too)

    Exit status: 0 at an ending or when you quit, 1 when the story cannot be played (errors
    or a fault in it), 2 when the file cannot be read.
    """
    from branching.commands._io import load_story_or_exit
    from branching.log.player_log import LogStartFailed, PlayerLog
    from branching.play.engine import TimerOptions
    from branching.play.events import NullRecorder
    from branching.play.home import resolve_viewer
    from branching.play.lifecycle import (
        Autosave,
        SaveKept,
        ViewerNotices,
        finish,
        say_once,
        start_session,
        to_stderr,
    )
    from branching.play.plain_player import ask_yes_no
    from branching.play.saves import SaveStore
    from branching.story.experiments import assignments

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # story text the terminal cannot show
    loaded = load_story_or_exit(story, "played")
    check_arms(loaded, arms)

    try:
        name = resolve_viewer(viewer).id
    except ValueError as exc:
        # Only $BRANCHING_VIEWER can still be invalid here: --viewer is checked by its option.
        raise click.ClickException(f"$BRANCHING_VIEWER: {exc}") from None
    timers = TimerOptions(enabled=not no_timers, scale=time_scale)
    viewer_arms = assignments(loaded, name, arms)
    store = SaveStore()
    use_plain = plain or not (sys.stdin.isatty() and sys.stdout.isatty())
    to_viewer = ViewerNotices(plain=use_plain)
    warn = say_once(to_viewer)

    def unlogged(playthrough_id: str) -> Recorder:
        return NullRecorder()

    recorder_for: Callable[[str], Recorder] = unlogged
    logged: Callable[[str], Sequence[Event] | None] | None = None
    if not no_log:
        # The one place where the choice log plugs into the players (shared with `serve`).
        player_log = PlayerLog(
            loaded, name, db=db, variant=variant, notice=to_viewer, warn=warn, strict_start=True
        )
        recorder_for, logged = player_log.recorder_for, player_log.logged

    try:
        session, resumed = start_session(
            loaded,
            store,
            name,
            timers,
            recorder_for,
            start_new=start_new,
            arms=viewer_arms,
            say=click.echo,
            confirm=lambda question: ask_yes_no(question, sys.stdin, sys.stdout),
            logged=logged,
        )
    except SaveKept as kept:
        click.echo(str(kept))
        sys.exit(1)
    except LogStartFailed as exc:  # before the story starts: the viewer may rather play unlogged
        raise click.ClickException(
            f"{exc}\nUse --no-log to play without recording choices."
        ) from None
    autosave = Autosave(store, name)
    autosave(session)

    if not use_plain:
        from branching.ui.app import make_app

        app = make_app(
            loaded, session, saves=store, viewer=name, resumed=resumed, notices=to_viewer.pending
        )
        to_viewer.target = app.tell_viewer
        try:
            app.run()
        finally:
            to_viewer.target = to_stderr  # the app is gone: back to the terminal
            finish(session, autosave)
        sys.exit(1 if session.status == "failed" else 0)
    sys.exit(run_plain(session, resumed, autosave, name))


def run_plain(session: Session, resumed: bool, autosave: Autosave, viewer: str) -> int:
    """Run the plain player on the process's stdin/stdout; returns the exit status."""
    from branching.play.endings import EndingsFile
    from branching.play.home import data_dir
    from branching.play.lifecycle import finish
    from branching.play.plain_player import PlainPlayer

    player = PlainPlayer(
        session,
        sys.stdin,
        sys.stdout,
        on_change=autosave,
        saved=True,
        endings=EndingsFile(data_dir() / "endings"),
        viewer=viewer,
    )
    try:
        return player.run(resumed=resumed)
    except KeyboardInterrupt:
        click.echo("\nYou left the story. Your place is saved: play it again to continue.")
        return 130
    except BrokenPipeError:
        # Nobody reads stdout any more: point it at devnull so exit does not fail to flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        finish(session, autosave)
