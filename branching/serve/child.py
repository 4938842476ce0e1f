"""The process the server starts for one browser tab: always the full-screen player.

``python -m branching.serve.child STORY --db LOG --home DIR [--no-timers] [--time-scale N]``;
only the server builds this command line (an argv list, never a shell).

Rules for this process, which talks to the server over its standard streams:

* Nothing but the web driver's packets may reach standard output: ``sys.stdout`` is pointed
  at stderr first of all (the driver writes fd 1 itself). So it never falls back to the plain
  player ("stdin is not a terminal"), and it never asks a question on stdin: a save that
  cannot be resumed is replaced, and the viewer is told why inside the player.
* The viewer comes from the server, never from this machine's own viewer id: the child
  imports everything and loads the story, says ``__WARM__`` on fd 1, then waits for one JSON
  line on fd 0, ``{"viewer": ..., "width": ..., "height": ...}``, and only then plays. The
  server may start children ahead of time (a warm pool), so a viewer does not wait for the
  imports. The line is read byte by byte so that none of the driver's packets that follow is
  swallowed by a buffer. End of input instead of the line: exit quietly (the pool closing).
* The log and saves are those the server names: ``--db`` and ``--home`` (saves, endings found).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from branching.play.i18n import N_

if TYPE_CHECKING:
    from collections.abc import Sequence

    from branching.play.events import Event
    from branching.story.model import Story

#: Written on fd 1 once the child is ready for a viewer.
WARM = b"__WARM__\n"
HANDSHAKE_LIMIT = 4096
#: Bounds for a terminal size from a browser (the server bounds them too).
MIN_SIZE = (20, 10)
MAX_SIZE = 500

FIRST_VISIT = N_(
    "Your choices in this story are recorded for its producer under a random id kept in this "
    "browser (a cookie), %(viewer)s; nothing else about you is kept. Clearing this site's "
    "cookies makes you a new viewer; to have your choices erased, give the producer that id."
)


def read_handshake() -> tuple[str, int, int] | None:
    """(viewer, width, height) from one JSON line on fd 0; ``None`` at end of input.

    Raises:
        ValueError: the line is not a valid handshake.
    """
    from branching.serve.identity import check_served_viewer

    line = bytearray()
    while True:
        byte = os.read(0, 1)
        if not byte:
            return None
        if byte == b"\n":
            break
        line += byte
        if len(line) > HANDSHAKE_LIMIT:
            raise ValueError("handshake too long")
    try:
        data = json.loads(line)
    except RecursionError:
        raise ValueError("handshake nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("handshake is not an object")
    viewer = check_served_viewer(data.get("viewer"))
    width, height = data.get("width"), data.get("height")
    if not isinstance(width, int) or not isinstance(height, int):
        raise ValueError("handshake size is not two integers")
    width = max(MIN_SIZE[0], min(MAX_SIZE, width))
    height = max(MIN_SIZE[1], min(MAX_SIZE, height))
    return viewer, width, height


def seen_before(db: Path, viewer: str) -> bool:
    """Whether the log already holds a playthrough of ``viewer`` (then the notice about what
    is recorded was shown before)."""
    from branching.log import ChoiceLog, LogError

    try:
        with ChoiceLog.open(db, readonly=True) as log:
            return bool(log.playthroughs(viewer=viewer, limit=1))
    except LogError:
        return False


def play(story: Story, viewer: str, args: argparse.Namespace) -> int:
    """Play ``story`` for ``viewer`` until the app exits; the exit status."""
    from branching.log.player_log import LogStartFailed, PlayerLog
    from branching.play.engine import TimerOptions
    from branching.play.i18n import _, use_language
    from branching.play.lifecycle import (
        Autosave,
        ViewerNotices,
        finish,
        say_once,
        start_session,
        to_stderr,
    )
    from branching.play.profiles import ProfileStore
    from branching.play.saves import SaveStore
    from branching.story import locales
    from branching.story.experiments import assignments
    from branching.ui.app import make_app

    home: Path = args.home
    store = SaveStore(home / "saves")
    profiles = ProfileStore(home / "profiles")
    to_viewer = ViewerNotices(plain=False)

    def say(message: str) -> None:
        # Messages about saves name files on the server: the browser needs no server paths.
        to_viewer(message.replace(str(home), "(server)"))

    warn = say_once(say)
    if not seen_before(args.db, viewer):
        to_viewer(_(FIRST_VISIT) % {"viewer": viewer})
    # The browser's viewer is recognised when they come back, as in the terminal.
    profile = profiles.load_or_set_aside(story.id, viewer, say)
    # The story's own words: translations are not served yet (the language is still logged).
    # The player's own words are in the same language (English where it has no catalog).
    language = story.language or locales.DEFAULT_LANGUAGE
    use_language(language)
    player_log = PlayerLog(story, viewer, db=args.db, language=language, notice=None, warn=warn)
    timers = TimerOptions(enabled=not args.no_timers, scale=args.time_scale)

    def logged(playthrough_id: str) -> Sequence[Event] | None:
        # A player killed between logging a choice and saving left its save behind the log:
        # the resume takes the log's word, as in the terminal.
        try:
            return player_log.logged(playthrough_id)
        except LogStartFailed as exc:
            warn(f"warning: the choice log cannot be read ({exc})")
            return None

    session, resumed = start_session(
        story,
        store,
        viewer,
        timers,
        player_log.recorder_for,
        start_new=False,
        arms=assignments(story, viewer, {}),  # a served viewer is assigned like any other
        say=say,
        confirm=lambda question: True,  # nobody to ask: a save that cannot go on is replaced
        logged=logged,
        language=language,
        profile=profile,
    )
    autosave = Autosave(store, viewer, warn=warn, profiles=profiles)
    autosave(session)
    app = make_app(
        story,
        session,
        saves=store,
        profiles=profiles,
        viewer=viewer,
        resumed=resumed,
        notices=to_viewer.pending,
    )
    to_viewer.target = app.tell_viewer
    try:
        app.run()
    finally:
        to_viewer.target = to_stderr  # the server's log
        finish(session, autosave)
    # Textual's return code is 1 after an exception it caught: the server logs a crash as one.
    crashed = app.return_code not in (None, 0)
    return 1 if crashed or session.status == "failed" else 0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m branching.serve.child")
    parser.add_argument("story", type=Path)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--no-timers", action="store_true")
    parser.add_argument("--time-scale", type=float, default=1.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    sys.stdout = sys.stderr  # first of all: a stray print must not corrupt the protocol
    args = parse(argv)
    # Warm up: the imports and the story are most of what a session costs to start.
    import textual.app  # noqa: F401

    import branching.log.recorder
    import branching.serve.driver
    import branching.ui.app  # noqa: F401
    from branching.story.loader import StoryError, read_story

    try:
        story = read_story(args.story)
    except StoryError as exc:
        print(exc, file=sys.stderr)
        return 1
    os.write(1, WARM)
    try:
        hello = read_handshake()
    except ValueError as exc:
        print(f"bad handshake from the server: {exc}", file=sys.stderr)
        return 2
    if hello is None:
        return 0
    viewer, width, height = hello
    os.environ["COLUMNS"] = str(width)  # read by the web driver
    os.environ["ROWS"] = str(height)
    return play(story, viewer, args)


if __name__ == "__main__":
    sys.exit(main())
