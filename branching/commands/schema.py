"""``branching schema``: print the JSON Schema of the story format."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write here.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of the branching/1 story format.

    Point your editor at it (or add "$schema" to a story) for completion and inline errors.
    """
    from branching.model import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        try:
            with open(output, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise click.ClickException(f"Cannot write {output}: {e.strerror or e}") from e
    else:
        click.echo(text, nl=False)
