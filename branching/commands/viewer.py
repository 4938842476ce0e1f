"""``branching viewer``: a viewer's pseudonymous id, and everything stored about them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from branching.commands._options import OutputPath, check_viewer, db_option, using_log
from branching.log.location import DbLocation
from branching.play.home import resolve_viewer
from branching.story.untrusted import printable


@click.group("viewer")
def viewer_group() -> None:
    """Your viewer id, and export or erase what is stored about a viewer."""


def _viewer_arg(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """A checked VIEWER argument; this user's own id when none is given."""
    return check_viewer(ctx, param, value) or resolve_viewer().id


@viewer_group.command("id")
def viewer_id() -> None:
    """Print this user's pseudonymous viewer id (random; created on first use)."""
    from branching.play.home import VIEWER_FILENAME, config_dir

    viewer = resolve_viewer()
    click.echo(viewer.id)
    if viewer.source == "ephemeral":
        click.echo(f"(could not save it in {config_dir()}: a new id is used each run)", err=True)
    else:
        click.echo(f"(kept in {config_dir() / VIEWER_FILENAME})", err=True)


@viewer_group.command("export")
@click.argument("viewer", required=False, callback=_viewer_arg)
@db_option
@click.option(
    "-o", "--output", type=OutputPath(dir_okay=False, path_type=Path), help="Write to a file."
)
def export(viewer: str, db: DbLocation, output: Path | None) -> None:
    """Print everything stored about VIEWER as JSON (default: you).

    Every playthrough in the log with every column it holds (story, language, status, times),
    its events in order and its experiment exposures; and on this computer the viewer's profile
    of each story (profile values, playthroughs begun, endings found) and saved places.
    """
    from branching.play.profiles import ProfileStore
    from branching.play.saves import SaveStore

    if db.path.exists():
        with using_log(db, create=False, readonly=True, outdated_ok=True) as log:
            data = log.export_viewer(viewer)
    else:
        data = {"viewer": viewer, "log": str(db.path), "playthroughs": []}
    from branching.commands._io import is_stdout, shown, write_output

    data["profiles"] = ProfileStore().export_viewer(viewer)
    data["saves"] = SaveStore().export_viewer(viewer)
    text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    write_output(text, output)
    if not is_stdout(output):
        assert output is not None
        click.echo(
            f"Wrote {len(data['playthroughs'])} playthrough(s) of {printable(viewer)} to "
            f"{shown(output)}."
        )


@viewer_group.command("forget")
@click.argument("viewer", required=False, callback=_viewer_arg)
@db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def forget(viewer: str, db: DbLocation, yes: bool) -> None:
    """Delete everything stored about VIEWER (default: you).

    The log's rows (overwritten in the file, not just unlinked), and on this computer the
    viewer's profiles of stories and saved places (a save holds a copy of the profile).
    Copies merged elsewhere are not affected: run this on each log.
    """
    from branching.play.profiles import ProfileStore
    from branching.play.saves import SaveStore

    profiles, saves = ProfileStore(), SaveStore()
    local = len(profiles.export_viewer(viewer)) + len(saves.viewer_files(viewer))
    local_words = f"{local} profile and save file(s) on this computer"
    if not db.path.exists():
        if not local:
            click.echo(f"Nothing stored about viewer {viewer}: there is no log at {db.describe()}.")
            return
        if not yes:
            click.confirm(f"Delete {local_words} of viewer {viewer}?", abort=True)
        files = len(profiles.delete_viewer(viewer)) + len(saves.delete_viewer(viewer))
        click.echo(f"Forgot viewer {printable(viewer)}: deleted {files} profile and save file(s).")
        return
    with using_log(db, create=False) as log:
        (playthroughs, events) = log.conn.execute(
            "SELECT count(*), coalesce(sum(event_count), 0) FROM playthroughs WHERE viewer = ?",
            (viewer,),
        ).fetchone()
        if playthroughs == 0 and not local:
            click.echo(
                f"Nothing stored about viewer {viewer} in {db.describe()} or on this computer."
            )
            return
        if not yes:
            also = f", and {local_words}" if local else ""
            click.confirm(
                f"Delete {playthroughs} playthrough(s) and {events} event(s) of viewer "
                f"{viewer} from {db.describe()}{also}?",
                abort=True,
            )
        playthroughs, events = log.forget_viewer(viewer) if playthroughs else (0, 0)
    files = len(profiles.delete_viewer(viewer)) + len(saves.delete_viewer(viewer))
    click.echo(
        f"Forgot viewer {printable(viewer)}: deleted {playthroughs} playthrough(s) and "
        f"{events} event(s) from {db.describe()}"
        + (f", and {files} profile and save file(s)." if files else ".")
    )
