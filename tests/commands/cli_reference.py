"""The CLI reference page (docs/cli.md), generated from every command's ``--help``.

Regenerate after changing a command: ``python -m tests.commands.cli_reference > docs/cli.md``.
tests/commands/test_cli.py fails when the page and the commands disagree (as sqlite-utils
does for its own reference).
"""

from __future__ import annotations

import click
from click.testing import CliRunner

from branching.cli import main

HEADER = """\
# Command-line reference

Every `branching` command and its options, exactly as `--help` prints them. This page is
generated (`python -m tests.commands.cli_reference > docs/cli.md`) and a test keeps it in step
with the code. For what the commands are for, start with the [README](../README.md).

Exit codes, for every command that takes a story: 0 success (warnings allowed), 1 the story or
log has problems (or the story cannot be played), 2 the input cannot be read or the command
line is wrong. Every command exits 130 on Ctrl-C, saying "Interrupted." (and what was kept);
`simulate` and `log export` stop as cleanly on SIGTERM (`timeout`, `kill`), exiting 143.
"""


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``, depth first, in the order ``--help`` lists them."""
    found: list[tuple[str, ...]] = []
    for name in group.list_commands(click.Context(group)):
        command = group.commands[name]
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(commands(command, (*prefix, name)))
    return found


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="branching", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output.rstrip() + "\n"


def reference() -> str:
    parts = [HEADER]
    parts.append("\n## branching\n\n```text\n" + help_text(()) + "```\n")
    for path in commands(main):
        name = " ".join(("branching", *path))
        parts.append(f"\n## {name}\n\n```text\n{help_text(path)}```\n")
    return "".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
