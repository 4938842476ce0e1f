"""``branching import twee`` and ``branching export twee``: move stories to and from Twine."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from branching.commands._io import shown, write_output
from branching.commands._options import OutputPath


@click.group("import")
def import_group() -> None:
    """Import a story written in another tool."""


@click.group("export")
def export_group() -> None:
    """Export a story for another tool."""


@import_group.command("twee")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, path_type=Path),
    help="Write the story JSON here (default: standard output).",
)
@click.option(
    "--keep-macros/--drop-macros",
    default=False,
    show_default=True,
    help="Keep story-format code that cannot be translated as text, or drop it. "
    "Either way each piece is reported.",
)
@click.option(
    "--format",
    "story_format",
    type=click.Choice(
        ["harlowe", "sugarcube", "chapbook", "snowman", "plain"], case_sensitive=False
    ),
    help="Read the passages as this story format "
    "(default: StoryData's format, else guessed from the code).",
)
@click.option(
    "--start",
    metavar="NAME",
    help="Name of the passage to start at (default: StoryData's start, else the passage "
    "named Start, else the first passage, with a warning).",
)
def import_twee(
    files: tuple[Path, ...],
    output: Path | None,
    keep_macros: bool,
    story_format: str | None,
    start: str | None,
) -> None:
    """Import Twine stories in Twee 3 (FILES: .twee/.tw files or folders of them, in order).

    Passages become nodes, links become choices, passages without links become endings; a way
    back ({back link}, <<back>>, <<return>>, (link-undo:)) becomes a choice to the passage the
    viewer came from. Code of the story format (Harlowe, SugarCube, Chapbook...) that has no
    equivalent is dropped or kept as text; every such piece is reported on standard error as
    FILE:LINE: passage "Name": message.

    Exit status: 0 imported (warnings allowed), 1 the input gave errors (e.g. no passages) or
    the imported story is not playable (no ending can be reached, the start passage is empty,
    or a passage lost its only ways on; the story is written all the same), 2 a file cannot be
    read.
    """
    from branching.twee import TweeReadError, import_files

    try:
        result = import_files(
            files, keep_macros=keep_macros, story_format=story_format, start=start
        )
    except TweeReadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for problem in result.problems:
        click.echo(problem.format(), err=True)
    if result.story is None:
        click.echo(f"error: no story imported ({len(result.errors)} errors)", err=True)
        sys.exit(1)
    nodes = result.story["nodes"]
    choices = sum(len(node.get("choices") or []) for node in nodes.values())
    endings = sum(1 for node in nodes.values() if node.get("ending") not in (None, False))
    text = json.dumps(result.story, indent=2, ensure_ascii=False) + "\n"
    write_output(text, output)
    warnings = len(result.warnings)
    click.echo(
        f"imported {result.passages} passages ({result.format}): {len(nodes)} nodes, "
        f"{choices} choice{'s' if choices != 1 else ''}, "
        f"{endings} ending{'s' if endings != 1 else ''}; "
        f"{warnings} warning{'s' if warnings != 1 else ''}",
        err=True,
    )
    if result.unplayable:
        for problem in result.unplayable:
            click.echo(problem.format(), err=True)
        where = f" to {shown(output)}" if output is not None else ""
        click.echo(
            f"error: the imported story is not playable as it is; it was written{where} so "
            "that you can finish it (`branching validate` shows what to fix)",
            err=True,
        )
        sys.exit(1)


@export_group.command("twee")
@click.argument("story", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, path_type=Path),
    help="Write the Twee file here (default: standard output).",
)
@click.option(
    "--ifid",
    help="IFID to write in StoryData "
    "(default: one derived from the story id, stable across exports).",
)
@click.option(
    "--format",
    "story_format",
    type=click.Choice(["harlowe", "sugarcube", "chapbook"], case_sensitive=False),
    default="harlowe",
    show_default=True,
    help="The story format the passages are written in (StoryData declares it).",
)
def export_twee(story: Path, output: Path | None, ifid: str | None, story_format: str) -> None:
    """Export STORY as Twee 3, for Twine 2.6+ (Library > Import) or a Twee compiler.

    Passages are written in the story format's own code: text that changes ({gold},
    {key: ...|...}, sequences, shuffles, plurals), conditions on links and effects. What the
    format cannot say is kept as text and reported on standard error as FILE:LINE: passage
    "Name": warning: .... The exact story is also kept in readable <!-- branching ... -->
    comments, so `branching import twee` gives back the same story, or the writer's edit of a
    passage changed in Twine.

    Exit status: 0 exported (warnings allowed), 1 the story has errors, 2 the file cannot be
    read.
    """
    import uuid

    from branching.story.loader import load_story
    from branching.twee import export_story

    if ifid is not None:
        try:
            ifid = str(uuid.UUID(ifid)).upper()
        except ValueError:
            raise click.BadParameter(
                "an IFID is a UUID, e.g. D674C58C-DEFA-4F70-B7A2-27742230C0FC", param_hint="--ifid"
            ) from None
    result = load_story(story, warnings=False)
    for problem in result.errors:
        click.echo(problem.format(result.name), err=True)
    if not result.readable:
        sys.exit(2)
    if result.story is None:
        sys.exit(1)
    exported = export_story(
        result.story,
        ifid=ifid,
        story_format=story_format.lower(),  # type: ignore[arg-type]
    )
    write_output(exported.text, output)
    where = str(output) if output is not None else "<stdout>"
    for note in exported.notes:
        click.echo(note.format(where), err=True)
