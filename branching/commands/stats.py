"""``branching stats``: the size and shape of a story."""

from __future__ import annotations

import click

from branching.commands._options import arm_option, check_arms


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for scripts.",
)
@arm_option("Count the story an experiment arm sees (repeatable); default: as written.")
def stats(story: str, output_format: str, arms: dict[str, str]) -> None:
    """Count the nodes, choices, endings, loops and paths of STORY.

    Paths from the start to an ending are counted without listing them; the number of paths
    and the longest path are "unbounded" when a loop lies on the way. Conditions are not
    evaluated: see `branching validate --deep` for what real plays can reach.
    """
    from branching.commands._io import load_story_or_exit
    from branching.graph import format_stats, stats_json, story_stats
    from branching.story.experiments import story_for_arms

    written = load_story_or_exit(story, "measured")
    loaded = story_for_arms(written, check_arms(written, arms))
    result = story_stats(loaded)
    click.echo(stats_json(result) if output_format == "json" else format_stats(result))
