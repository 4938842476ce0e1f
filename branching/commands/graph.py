"""``branching graph``: the story map as Mermaid or Graphviz DOT."""

from __future__ import annotations

import click

from branching.commands._options import arm_option, check_arms


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
@arm_option("Draw the map an experiment arm sees (repeatable); default: the story as written.")
def graph(story: str, output_format: str, output: str | None, arms: dict[str, str]) -> None:
    """Print the map of STORY: every node and choice.

    The start and the endings are marked; conditional choices are dotted (Mermaid) or dashed
    (DOT), and the choice a timer takes is drawn thick. Story text is escaped for each format.
    """
    from branching.commands._io import load_story_or_exit, write_output
    from branching.graph import to_dot, to_mermaid
    from branching.story.experiments import story_for_arms

    written = load_story_or_exit(story, "mapped")
    loaded = story_for_arms(written, check_arms(written, arms))
    write_output((to_mermaid if output_format == "mermaid" else to_dot)(loaded) + "\n", output)
