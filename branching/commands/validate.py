"""``branching validate``: every problem in a story, located, in one run."""

from __future__ import annotations

import json
import sys

import click


@click.command()
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for editors and scripts.",
)
@click.option("--no-warnings", is_flag=True, help="Report errors only.")
def validate(story: str, output_format: str, no_warnings: bool) -> None:
    """Check STORY and report every error and warning with its node, path and line:column.

    Exit status: 0 no errors (warnings allowed), 1 the story has errors, 2 the file cannot be
    read or is not JSON.
    """
    from branching.loader import load_story

    result = load_story(story, warnings=not no_warnings)
    problems = result.problems
    if output_format == "json":
        click.echo(json.dumps([p.to_json() for p in problems], indent=2, ensure_ascii=False))
    else:
        for problem in problems:
            click.echo(problem.format(result.name))
        errors, warnings = len(result.errors), len(result.warnings)
        if result.readable and not errors:
            nodes = len(result.story.nodes) if result.story else 0
            summary = f"{result.name}: OK, {nodes} nodes"
            if warnings:
                summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
            click.echo(summary)
        elif result.readable:
            click.echo(
                f"{result.name}: {errors} error{'s' if errors != 1 else ''}, "
                f"{warnings} warning{'s' if warnings != 1 else ''}",
                err=True,
            )
    if not result.readable:
        sys.exit(2)
    sys.exit(1 if result.errors else 0)
