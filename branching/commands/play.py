"""``branching play``: play a story in the Textual player or line by line (``--plain``).

Heavy parts (the Textual app, the SQLite log) are imported inside the command, so importing
this module stays cheap.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import click

from branching.commands._options import FloatRange, viewer_option

if TYPE_CHECKING:
    from branching.play.engine import Session, TimerOptions
    from branching.play.events import Event, Recorder
    from branching.play.saves import SaveStore
    from branching.story.model import Story


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _once(say: Callable[[str], None]) -> Callable[[str], None]:
    """``say``, skipping messages it already said (a log that fails again after a restart)."""
    said: set[str] = set()

    def once(message: str) -> None:
        if message not in said:
            said.add(message)
            say(message)

    return once


class ToViewer:
    """Lines for the viewer (where choices are logged, a log that failed).

    The plain player prints them on stderr. The full-screen player hides stderr, so they are
    kept until it runs and then shown inside it (:meth:`PlayerApp.tell_viewer`).
    """

    def __init__(self, *, plain: bool) -> None:
        self.pending: list[str] = []
        self.target: Callable[[str], None] | None = _echo_err if plain else None

    def __call__(self, line: str) -> None:
        if self.target is not None:
            self.target(line)
        else:
            self.pending.append(line)


class SafeRecorder:
    """Passes events on; if the log fails, says so once and stops logging, so play goes on.

    A viewer should never lose a story to a full disk; the message names the problem so the
    producer can fix it, and the log keeps everything up to the failure.
    """

    def __init__(self, inner: Recorder, warn: Callable[[str], None] = _echo_err) -> None:
        self.inner = inner
        self.warn = warn
        self.broken = False

    def record(self, event: Event) -> None:
        if self.broken:
            return
        try:
            self.inner.record(event)
        except Exception as exc:  # any log failure: the story must go on
            self.broken = True
            self.warn(f"warning: the choice log failed ({exc}); the rest is not logged")

    def close(self) -> None:
        try:
            self.inner.close()
        except Exception as exc:
            self.warn(f"warning: the choice log could not be closed cleanly ({exc})")


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
@click.option("--db", type=click.Path(dir_okay=False), help="Choice log file to record into.")
@click.option("--no-log", is_flag=True, help="Do not log this playthrough.")
@click.option("--variant", metavar="LABEL", help="Experiment label stored with the playthrough.")
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
    from branching.play.engine import TimerOptions
    from branching.play.home import resolve_viewer
    from branching.play.saves import SaveStore

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # story text the terminal cannot show
    loaded = load_story_or_exit(story)

    try:
        name = resolve_viewer(viewer).id
    except ValueError as exc:
        # Only $BRANCHING_VIEWER can still be invalid here: --viewer is checked by its option.
        raise click.ClickException(f"$BRANCHING_VIEWER: {exc}") from None
    timers = TimerOptions(enabled=not no_timers, scale=time_scale)
    store = SaveStore()
    use_plain = plain or not (sys.stdin.isatty() and sys.stdout.isatty())
    to_viewer = ToViewer(plain=use_plain)
    warn = _once(to_viewer)
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

    session, resumed = start_session(
        loaded, store, name, timers, recorder_for, start_new=start_new, stdin=sys.stdin
    )
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
            to_viewer.target = _echo_err  # the app is gone: back to the terminal
            _finish(session, autosave)
        sys.exit(1 if session.status == "failed" else 0)
    sys.exit(run_plain(session, resumed, autosave))


def start_session(
    story: Story,
    store: SaveStore,
    viewer: str,
    timers: TimerOptions,
    recorder_for: Callable[[str], Recorder],
    *,
    start_new: bool,
    stdin: TextIO,
) -> tuple[Session, bool]:
    """Resume the viewer's saved playthrough, or start a new one; says whether it resumed.

    What was adapted to a changed story is in ``session.resume_notes``.
    A save that cannot be resumed is explained, and the viewer is asked before it is replaced.
    """
    from branching.play.engine import ResumeError, Session
    from branching.play.plain_player import ask_yes_no

    if not start_new:
        try:
            saved = store.load(story.id, viewer)
            if saved is not None:
                session = Session.from_json(
                    story, saved, timers=timers, recorder_factory=recorder_for
                )
                return session, True
        except ResumeError as exc:
            click.echo(f"Your saved playthrough cannot be continued: {exc}.")
            if not ask_yes_no("Start a new playthrough?", stdin, sys.stdout):
                click.echo("Nothing changed; your save is kept.")
                sys.exit(1)
    return Session(story, timers=timers, recorder_factory=recorder_for), False


class Autosave:
    """Keeps the viewer's save in step with the session: written while it can be resumed,
    deleted once the playthrough ended or failed. A failure to save is reported once."""

    def __init__(self, store: SaveStore, viewer: str) -> None:
        self.store = store
        self.viewer = viewer
        self.warned = False

    def __call__(self, session: Session) -> None:
        story_id = session.story.id
        try:
            if session.status in ("playing", "quit"):
                self.store.save(story_id, self.viewer, session.to_json())
            else:
                self.store.delete(story_id, self.viewer)
        except OSError as exc:
            if not self.warned:
                self.warned = True
                click.echo(f"warning: cannot save your place ({exc})", err=True)


def run_plain(session: Session, resumed: bool, autosave: Autosave) -> int:
    """Run the plain player on the process's stdin/stdout; returns the exit status."""
    from branching.play.plain_player import PlainPlayer

    player = PlainPlayer(session, sys.stdin, sys.stdout, on_change=autosave, saved=True)
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
        _finish(session, autosave)


def _finish(session: Session, autosave: Autosave) -> None:
    """Leave the story however play ended: quit if still playing, save the place, close the log."""
    session.quit()  # records Quit only while playing
    autosave(session)
    session.recorder.close()
