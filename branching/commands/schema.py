"""``branching schema``: print the JSON Schema of the story format."""

from __future__ import annotations

import json

import click

from branching.commands._options import OutputPath


@click.command()
@click.option("-o", "--output", type=OutputPath(dir_okay=False, writable=True), help="Write here.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of the branching/1 story format.

    Point your editor at it (or add "$schema" to a story) for completion and inline errors.
    """
    from branching.commands._io import write_output
    from branching.story.model import json_schema

    write_output(json.dumps(json_schema(), indent=2) + "\n", output)
