"""Reading the story and writing the output: the same rules for every command.

A story that cannot be read or is not JSON exits 2, one with errors exits 1, each with the
loader's located messages; an output file that cannot be written is a one-line message (exit 1)
rather than a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from branching.story.model import Story


def load_story_or_exit(path: str | Path, purpose: str) -> Story:
    """The story in ``path``, or a message on stderr and exit status 2 (unreadable) or 1.

    ``purpose`` completes "has errors, so it cannot be ...": what the command does with it.
    """
    from branching.story.loader import StoryError, read_story

    try:
        return read_story(path, purpose)
    except StoryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2 if exc.result is not None and not exc.result.readable else 1)


def write_output(text: str, output: str | Path | None) -> None:
    """Write ``text`` to the file ``output``, or to standard output when there is none."""
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror or exc}") from None
