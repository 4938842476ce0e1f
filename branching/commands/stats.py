"""``branching stats``: the size and shape of a story."""

from __future__ import annotations

import click


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
def stats(story: str, output_format: str) -> None:
    """Count the nodes, choices, endings, loops and paths of STORY.

    Paths from the start to an ending are counted without listing them ("unbounded" when a
    loop lies on the way); the longest path takes each loop as one step. Conditions are not
    evaluated: see `branching validate --deep` for what real plays can reach.
    """
    from branching.commands._io import load_story_or_exit
    from branching.graph import format_stats, stats_json, story_stats

    loaded = load_story_or_exit(story)
    result = story_stats(loaded)
    click.echo(stats_json(result) if output_format == "json" else format_stats(result))
