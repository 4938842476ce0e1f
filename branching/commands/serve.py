"""``branching serve``: the full-screen player in browsers, one playthrough per tab.

The server (aiohttp, textual-serve) is the ``serve`` extra and is imported inside the command.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from branching.commands._options import DB_HELP, FloatRange

if TYPE_CHECKING:
    from branching.story.model import Story

#: Exit status when the command cannot run as installed or configured (no extra, busy port).
CANNOT_SERVE = 2
INSTALL_HINT = (
    "branching serve needs the optional web server packages: "
    "pip install 'branching[serve]' (or pip install textual-serve)"
)


def _public_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise click.BadParameter(
            "give the address viewers type, e.g. https://stories.example.org "
            "(http or https, a host name, no path)"
        )
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise click.BadParameter("give only the scheme and host, e.g. https://stories.example.org")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets other machines in (a warning is "
    "printed): put a reverse proxy with TLS in front (docs/serving.md).",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--public-url",
    metavar="URL",
    callback=_public_url,
    help="The address viewers use, behind a reverse proxy (e.g. https://stories.example.org): "
    "only requests for that host are answered, and https makes the cookie Secure.",
)
@click.option("--db", type=click.Path(dir_okay=False), metavar="PATH", help=DB_HELP)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    help="Folder for the viewers' saves. Default: serve/ in your user data directory.",
)
@click.option(
    "--max-sessions",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    metavar="N",
    help="Players at once; more viewers get a 'no free seat' page.",
)
@click.option(
    "--idle-timeout",
    type=FloatRange(min=0, min_open=True, max=24 * 60),
    default=30.0,
    show_default=True,
    metavar="MINUTES",
    help="Close a session with no key press for this long (its place is saved).",
)
@click.option(
    "--warm",
    type=click.IntRange(0, 50),
    default=2,
    show_default=True,
    metavar="N",
    help="Players started ahead of time, so a new viewer does not wait for one to start.",
)
@click.option("--no-timers", is_flag=True, help="Timed choices wait for the viewer.")
@click.option(
    "--time-scale",
    type=FloatRange(min=0, min_open=True, max=1000),
    default=1.0,
    show_default=True,
    metavar="N",
    help="Give viewers N times as long on timed choices.",
)
def serve(
    story: str,
    host: str,
    port: int,
    public_url: str | None,
    db: str | None,
    home: str | None,
    max_sessions: int,
    idle_timeout: float,
    warm: int,
    no_timers: bool,
    time_scale: float,
) -> None:
    """Serve STORY's player to web browsers: each tab plays it, and every choice is logged.

    Open the printed address in a browser. Each browser is a viewer with a random id kept in a
    cookie: it resumes where it left off, and `branching report STORY --db LOG` counts it.
    Only STORY can be played; Ctrl+C stops the server (every player saves first).

    Exit status: 0 when stopped, 1 when the story or the log cannot be used, 2 when the story
    file cannot be read, the web server packages are missing (the `serve` extra) or the
    address cannot be listened on.
    """
    try:
        import aiohttp  # noqa: F401
        import textual_serve  # noqa: F401
    except ImportError:
        click.echo(INSTALL_HINT, err=True)
        sys.exit(CANNOT_SERVE)
    from branching.commands._io import load_story_or_exit
    from branching.log import ChoiceLog, LogError
    from branching.log.location import resolve_db
    from branching.play.home import data_dir
    from branching.serve.children import ChildOptions
    from branching.serve.identity import is_loopback
    from branching.serve.server import BranchingServer, Limits
    from branching.story.untrusted import printable

    loaded = load_story_or_exit(story, "served")
    folder = Path(home).expanduser() if home else data_dir() / "serve"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        served = _snapshot(Path(story), loaded, folder)
    except OSError as exc:
        raise click.ClickException(
            f"Cannot use {printable(folder, one_line=True)} for the viewers' saves: {exc}"
        ) from None
    location = resolve_db(db)  # the log every other command reads by default, unless told
    log_path = location.path
    try:  # create and upgrade it once, now: players starting at once must not race to
        ChoiceLog.open(
            log_path,
            create_parent=location.is_default,
            on_upgrade=lambda notice: click.echo(notice, err=True),
        ).close()
    except LogError as exc:
        raise click.ClickException(str(exc)) from None

    if public_url is None and not is_loopback(host):
        click.echo(
            f"warning: listening on {printable(host, one_line=True)}: anyone who can reach "
            "it can play, and their choices are logged. There is no TLS here: put a reverse "
            "proxy with TLS in front and pass --public-url (docs/serving.md).",
            err=True,
        )
    log_name = printable(log_path, one_line=True)
    read_with = f"branching report {printable(story, one_line=True)}"
    if not location.is_default:
        read_with += f" --db {log_name}"
    click.echo(
        f"Choices are logged to {log_name}; viewers' saves are kept in "
        f"{printable(folder, one_line=True)}.",
        err=True,
    )
    click.echo(f"See them with: {read_with}", err=True)
    from branching.play.i18n import use_language

    # The pages and close reasons viewers see speak the story's own language, as its players
    # do (translations are not served yet).
    use_language(loaded.language)
    server = BranchingServer(
        ChildOptions(
            story=served,
            db=log_path.resolve(),
            home=folder.resolve(),
            timers=not no_timers,
            time_scale=time_scale,
        ),
        title=printable(loaded.title, one_line=True),
        host=host,
        port=port,
        public_url=public_url,
        limits=Limits(max_sessions=max_sessions, idle_timeout=idle_timeout * 60, warm=warm),
        announce=lambda line: click.echo(line, err=True),
    )
    try:
        server.serve()
    except OSError as exc:
        where = printable(f"{host}:{port}", one_line=True)
        click.echo(f"Cannot listen on {where}: {exc.strerror or exc}", err=True)
        sys.exit(CANNOT_SERVE)


def _snapshot(path: Path, story: Story, folder: Path) -> Path:
    """A copy of the story file as it is now, which every player reads: the writer may go on
    editing the original, and a half-saved edit never reaches a viewer."""
    from branching.play.home import file_part
    from branching.story.loader import StoryError, read_story

    stories = folder / "stories"
    stories.mkdir(exist_ok=True)
    target = stories / f"{file_part(story.id)}-{story.content_hash[:16]}.json"
    with (
        tempfile.NamedTemporaryFile(dir=stories, suffix=".tmp", delete=False) as temp,
        path.open("rb") as source,
    ):
        shutil.copyfileobj(source, temp)
    Path(temp.name).replace(target)
    try:
        copied = read_story(target)
    except StoryError:
        copied = None
    if copied is None or copied.content_hash != story.content_hash:
        target.unlink(missing_ok=True)
        raise click.ClickException(f"{path} changed while starting: please start again.")
    return target.resolve()
