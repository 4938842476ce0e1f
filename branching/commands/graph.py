"""``branching graph``: the story map as Mermaid or Graphviz DOT, broken stories included."""

from __future__ import annotations

import sys

import click

from branching.commands._options import OutputPath, arm_option, check_arms


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="mermaid (Markdown, GitHub, mermaid.live) or dot (Graphviz: dot -Tsvg).",
)
@click.option("-o", "--output", type=OutputPath(dir_okay=False, writable=True), help="Write here.")
@arm_option("Draw the map an experiment arm sees (repeatable); default: the story as written.")
def graph(story: str, output_format: str, output: str | None, arms: dict[str, str]) -> None:
    """Print the map of STORY: every node and choice.

    Each box shows the node id over its title or first words; an ending shows its kind and
    title. The start and the endings are marked, nodes the start cannot reach are dashed and
    grey; conditional choices are dotted (Mermaid) or dashed (DOT), and the choice a timer
    takes is drawn thick. A story with errors is still drawn, so you can see them: a choice
    leading to a node that does not exist points at a red "missing: ID" box.

    Exit status: 0 the map of a sound story, 1 the story has errors (the map is written all
    the same, the errors are listed on standard error), 2 the file cannot be read or is not
    JSON.
    """

    from branching.commands._io import write_output
    from branching.graph import story_map, to_dot, to_mermaid
    from branching.story.experiments import story_for_arms
    from branching.story.loader import load_story
    from branching.story.untrusted import printable

    result = load_story(story, warnings=False)
    errors = result.errors
    for problem in errors[:5]:
        click.echo(problem.format(result.name), err=True)
    if len(errors) > 5:
        click.echo(f"  ... and {len(errors) - 5} more", err=True)
    if not result.readable:
        sys.exit(2)
    if result.story is not None:
        drawn = story_map(story_for_arms(result.story, check_arms(result.story, arms)))
    else:
        if arms:
            click.echo("--arm is left out: a story with errors is drawn as written", err=True)
        # The loader read this file as JSON already; draw what it holds (read the same strict
        # way: the file may have changed since).
        from branching.story.json_input import loads, read_limited

        try:
            raw = loads(read_limited(story).decode("utf-8-sig"), allow_surrogates=True)
        except (OSError, ValueError) as exc:  # JsonInputError, InputTooLarge, UnicodeDecodeError
            click.echo(f"{printable(result.name, one_line=True)}: {printable(str(exc))}", err=True)
            sys.exit(2)
        if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), dict):
            name = printable(result.name, one_line=True)
            click.echo(f'{name}: no map: the file holds no "nodes" object', err=True)
            sys.exit(1)
        drawn = story_map(raw)
    write_output((to_mermaid if output_format == "mermaid" else to_dot)(drawn) + "\n", output)
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        name = printable(result.name, one_line=True)
        click.echo(
            f"{name} has {count}: the map shows the story as it is, broken links in "
            f"red. Run `branching validate {name}` for the full list.",
            err=True,
        )
        sys.exit(1)
