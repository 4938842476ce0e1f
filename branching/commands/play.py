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
    from collections.abc import Callable, Iterable, Sequence

    from branching.play.audience import AudienceView
    from branching.play.engine import Session
    from branching.play.events import Event, Recorder
    from branching.play.lifecycle import Autosave
    from branching.story.model import Story


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
@click.option(
    "--no-log",
    is_flag=True,
    help="Do not log this playthrough (your profile of the story is still kept).",
)
@click.option(
    "--fresh-profile",
    is_flag=True,
    help="Play as a first-time viewer: no earlier playthroughs, endings or profile values. "
    "Your kept profile and saved place are neither read nor changed.",
)
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
@click.option(
    "--lang",
    metavar="TAG",
    help="Language to play in, e.g. fr (default: your locale, $LANGUAGE/$LC_ALL/$LANG). Uses "
    "STORY.TAG.po next to the story; strings it lacks are shown in the story's language.",
)
@click.option(
    "--translations",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="The translation (a PO file) to play with, instead of STORY.TAG.po.",
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
    fresh_profile: bool,
    variant: str | None,
    arms: dict[str, str],
    lang: str | None,
    translations: str | None,
    show_shares: bool,
    shares_min_viewers: int,
) -> None:
    """Play STORY. Your place is saved after every choice; play again to continue.

    The story may remember you between playthroughs (your profile of it: see
    docs/privacy.md); --fresh-profile plays it as a first-time viewer.

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
    from branching.play.profiles import FIRST_VISIT, ProfileStore
    from branching.play.saves import SaveStore
    from branching.story.experiments import assignments

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # story text the terminal cannot show
    loaded = load_story_or_exit(story, "played")
    check_arms(loaded, arms)
    from branching.play.languages import LanguageError, choose_language, environment_languages

    wanted = [lang] if lang is not None else environment_languages()
    try:
        chosen = choose_language(
            loaded,
            story,
            requested=wanted[0] if wanted else None,
            explicit=lang is not None,
            translations=translations,
            fallbacks=wanted[1:],
        )
    except LanguageError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    from branching.play.i18n import _, use_language

    # The players' own words in the story's language (English where they have no catalog).
    use_language(chosen.language)
    _warm_up_plurals(loaded, chosen.language, chosen.strings.values())

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
    # The profile is the viewer's own state, not analytics: kept with --no-log too.
    profiles = None if fresh_profile else ProfileStore()
    if profiles is None:
        profile = FIRST_VISIT
        to_viewer(
            _(
                "Playing as a first-time viewer (--fresh-profile): your profile of this story "
                "and your saved place are left as they were, and this playthrough is not saved."
            )
        )
    else:
        profile = profiles.load_or_set_aside(loaded.id, name, to_viewer)
    for notice in chosen.notices:
        to_viewer(notice)

    def unlogged(playthrough_id: str) -> Recorder:
        return NullRecorder()

    recorder_for: Callable[[str], Recorder] = unlogged
    logged: Callable[[str], Sequence[Event] | None] | None = None
    if not no_log:
        # The one place where the choice log plugs into the players (shared with `serve`).
        player_log = PlayerLog(
            loaded,
            name,
            db=db,
            variant=variant,
            language=chosen.language,
            notice=to_viewer,
            warn=warn,
            strict_start=True,
        )
        recorder_for, logged = player_log.recorder_for, player_log.logged

    try:
        session, resumed = start_session(
            loaded,
            store,
            name,
            timers,
            recorder_for,
            start_new=start_new or fresh_profile,
            arms=viewer_arms,
            profile=profile,
            say=click.echo,
            confirm=lambda question: ask_yes_no(question, sys.stdin, sys.stdout),
            logged=logged,
            language=chosen.language,
            translation=chosen.strings,
        )
    except SaveKept as kept:
        click.echo(str(kept))
        sys.exit(1)
    except LogStartFailed as exc:  # before the story starts: the viewer may rather play unlogged
        raise click.ClickException(
            f"{exc}\nUse --no-log to play without recording choices."
        ) from None
    autosave = Autosave(None if fresh_profile else store, name, profiles=profiles)
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
                saves=None if fresh_profile else store,
                profiles=profiles,
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
            # Textual ends the app with return code 1 after an exception it caught (and shows
            # the traceback): a crash must never look like a normal end to a script.
            crashed = app.return_code not in (None, 0)
            sys.exit(1 if crashed or session.status == "failed" else 0)
        sys.exit(run_plain(session, resumed, autosave, audience))


def _warm_up_plurals(story: Story, language: str, translated: Iterable[str]) -> None:
    """Import Babel in the background when the story shows plurals or numbers (it takes about
    0.2 s, which would otherwise pause the first passage that has one)."""
    import threading

    from branching.story import locales

    texts = [node.text for node in story.nodes.values()]
    texts += [choice.label for node in story.nodes.values() for choice in node.choices or ()]
    if any(", plural" in t or ", number" in t for t in (*texts, *translated) if "{" in t):
        threading.Thread(target=locales.warm_up, args=(language,), daemon=True).start()


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
    audience: AudienceView | None = None,
) -> int:
    """Run the plain player on the process's stdin/stdout; returns the exit status."""
    from branching.play.lifecycle import finish
    from branching.play.plain_player import PlainPlayer, goodbye

    player = PlainPlayer(
        session,
        sys.stdin,
        sys.stdout,
        on_change=autosave,
        saved=autosave.store is not None,
        audience=audience,
    )
    try:
        return player.run(resumed=resumed)
    except KeyboardInterrupt:
        click.echo("\n" + goodbye(saved=autosave.store is not None))
        return 130
    except BrokenPipeError:
        # Nobody reads stdout any more: point it at devnull so exit does not fail to flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    finally:
        finish(session, autosave)
