"""``branching graph``: the story map as Mermaid or Graphviz DOT."""

from __future__ import annotations

import click


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
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here.")
def graph(story: str, output_format: str, output: str | None) -> None:
    """Print the map of STORY: every node and choice.

    The start and the endings are marked; conditional choices are dotted (Mermaid) or dashed
    (DOT), and the choice a timer takes is drawn thick. Story text is escaped for each format.
    """
    from branching.graph import to_dot, to_mermaid
    from branching.loader import StoryError, read_story

    try:
        loaded = read_story(story)
    except StoryError as exc:
        raise click.ClickException(str(exc)) from None
    text = (to_mermaid if output_format == "mermaid" else to_dot)(loaded) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        click.echo(text, nl=False)
