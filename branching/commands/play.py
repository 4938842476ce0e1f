"""``branching play``: play a story in the Textual player or line by line (``--plain``).

Heavy parts (the Textual app, the SQLite log) are imported inside the command, so importing
this module stays cheap.
"""

from __future__ import annotations

import contextlib
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
from branching.play.audience import DEFAULT_MIN_VIEWERS, LEAST_MIN_VIEWERS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from branching.play.audience import AudienceView
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
@click.option(
    "--show-shares",
    is_flag=True,
    help="After each choice and at the ending, show the share of viewers who chose the same "
    '(also on when the story sets "show_choice_shares": true).',
)
@click.option(
    "--shares-min-viewers",
    type=click.IntRange(min=LEAST_MIN_VIEWERS),
    default=DEFAULT_MIN_VIEWERS,
    show_default=True,
    metavar="N",
    help="Show a share only where at least N distinct viewers made a choice.",
)
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
    show_shares: bool,
    shares_min_viewers: int,
) -> None:
    """Play STORY. Your place is saved after every choice; play again to continue.

    \b
    Plain player keys (type, then Enter):
      1, 2, ...  choose        Enter  let a timer run out (timed choices only)
      b  go back               r      start over
      q  quit (end of input quits too)
      x, y, z  at an ending: follow a suggestion of what to explore next

    Exit status: 0 at an ending or when you quit, 1 when the story cannot be played (errors
    or a fault in it), 2 when the file cannot be read.
    """
    from branching.commands._io import load_story_or_exit
    from branching.play.engine import TimerOptions
    from branching.play.home import resolve_viewer
    from branching.play.lifecycle import (
        Autosave,
        SafeRecorder,
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
    first_open = True

    def recorder_for(playthrough_id: str) -> Recorder:
        """The one place where the choice log plugs into the players."""
        from branching.play.events import NullRecorder, PlaythroughInfo

        nonlocal first_open
        if no_log:
            return NullRecorder()
        from branching.log import open_recorder  # loads sqlite_utils: only when logging

        info = PlaythroughInfo(
            playthrough_id=playthrough_id,
            story_id=loaded.id,
            story_version=loaded.version,
            story_hash=loaded.content_hash,
            viewer=name,
            variant=variant,
        )
        try:
            recorder = open_recorder(info, db=db, notice=to_viewer)
        except Exception as exc:  # the log cannot be opened: say so, never a traceback
            if first_open:  # before the story starts: the viewer may rather play unlogged
                raise click.ClickException(
                    f"{exc}\nUse --no-log to play without recording choices."
                ) from None
            warn(f"warning: the choice log failed ({exc}); the rest is not logged")
            return NullRecorder()
        first_open = False
        return SafeRecorder(recorder, warn)

    def logged(playthrough_id: str) -> Sequence[Event] | None:
        """What the choice log holds for a saved playthrough (the save is compared with it)."""
        from branching.log import ChoiceLog, LogError, LogMissing, UnknownPlaythrough
        from branching.log.location import resolve_db

        location = resolve_db(db)
        try:
            with ChoiceLog.open(location.path, readonly=True, outdated_ok=True) as log:
                return [item.event for item in log.events(playthrough_id)]
        except (LogMissing, UnknownPlaythrough):
            if not location.is_default:  # a --db the recorder cannot create is said now
                try:
                    ChoiceLog.check_path(location.path)
                except LogError as exc:
                    raise click.ClickException(
                        f"{exc}\nUse --no-log to play without recording choices."
                    ) from None
            return None
        except LogError as exc:
            raise click.ClickException(
                f"{exc}\nUse --no-log to play without recording choices."
            ) from None

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
            logged=None if no_log else logged,
        )
    except SaveKept as kept:
        click.echo(str(kept))
        sys.exit(1)
    autosave = Autosave(store, name)
    autosave(session)

    with contextlib.ExitStack() as stack:
        audience = _audience(
            stack, db, loaded.id, name, show_shares or loaded.show_choice_shares, shares_min_viewers
        )
        if not use_plain:
            from branching.ui.app import make_app

            app = make_app(
                loaded,
                session,
                saves=store,
                viewer=name,
                resumed=resumed,
                notices=to_viewer.pending,
                audience=audience,
            )
            to_viewer.target = app.tell_viewer
            try:
                app.run()
            finally:
                to_viewer.target = to_stderr  # the app is gone: back to the terminal
                finish(session, autosave)
            sys.exit(1 if session.status == "failed" else 0)
        sys.exit(run_plain(session, resumed, autosave, name, audience))


def _audience(
    stack: contextlib.ExitStack,
    db: str | None,
    story_id: str,
    viewer: str,
    shares: bool,
    min_viewers: int,
) -> AudienceView:
    """Shares and suggestions read from the choice log, if there is one to read (a second,
    read-only connection, closed when play ends). Without a log the player shows neither."""
    from branching.commands._audience import audience_view
    from branching.log import ChoiceLog, LogUnavailable
    from branching.log.location import resolve_db

    try:
        location = resolve_db(db)
        if not location.path.is_file():
            return audience_view(None, story_id, viewer, shares=shares, min_viewers=min_viewers)
        log = stack.enter_context(ChoiceLog.open(location.path, readonly=True, create=False))
    except (LogUnavailable, OSError, ValueError):
        return audience_view(None, story_id, viewer, shares=shares, min_viewers=min_viewers)
    return audience_view(log, story_id, viewer, shares=shares, min_viewers=min_viewers)


def run_plain(
    session: Session,
    resumed: bool,
    autosave: Autosave,
    viewer: str,
    audience: AudienceView | None = None,
) -> int:
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
        audience=audience,
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
