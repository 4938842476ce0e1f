"""The ``branching`` command line.

Each subcommand lives in its own module under :mod:`branching.commands` and imports what it
needs (networkx, Textual, SQLite) inside its function, so ``branching --help`` and quick commands
stay fast.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from branching import __version__
from branching.commands import (
    export,
    graph,
    i18n,
    log,
    play,
    report,
    rollups,
    schema,
    serve,
    simulate,
    stats,
    suggest,
    twee,
    validate,
    viewer,
)
from branching.story.untrusted import printable, shortened


class _Commands(click.Group):
    """The command group, with the rules every command's output follows.

    * Error messages quote paths, ids and rows from stories, saves and logs: whatever a command
      raised, its message is shown through :func:`~branching.story.untrusted.printable`, so no
      control character reaches the terminal from a message.
    * Standard output that cannot be written (a full disk behind ``>``) is a message and exit
      1, not a traceback (:func:`branching.commands._io.guard_stdout`).
    * Ctrl-C is "Interrupted." and exit 130, whatever the command was doing (SIGTERM, where a
      command maps it, "Terminated." and 143).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from branching.commands._io import guard_stdout

        return guard_stdout(lambda: super(_Commands, self).main(*args, **kwargs))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as stop:
            # Ctrl-C (or SIGTERM, see branching.commands._signals) in any command: one line
            # and the shell's code for it, not click's "Aborted!" with status 1. Commands that
            # leave work behind (simulate, export, play) say what was kept before this.
            from branching.commands._signals import stopped

            what, status = stopped(stop)
            click.echo(f"{what}.", err=True)
            sys.exit(status)
        except click.ClickException as exc:
            # Typed Final in click; a plain attribute at run time, and UsageError keeps its
            # context (the usage line) only if the exception itself is kept.
            setattr(exc, "message", shortened(printable(exc.message)))  # noqa: B010
            raise


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="branching")
def main() -> None:
    """Write, play and analyse branching stories.

    Stories are JSON files in the branching/1 format (see docs/story-format.md). Start with
    `branching play stories/demo.json`; every command has --help.
    """


main.add_command(play.play)
main.add_command(schema.schema)
main.add_command(validate.validate)
main.add_command(twee.import_group)
main.add_command(twee.export_group)
main.add_command(graph.graph)
main.add_command(stats.stats)
main.add_command(log.log_group)
log.log_group.add_command(rollups.rebuild_rollups)
log.log_group.add_command(export.export)
main.add_command(viewer.viewer_group)
main.add_command(report.report)
main.add_command(simulate.simulate)
main.add_command(i18n.i18n_group)
main.add_command(serve.serve)
main.add_command(suggest.suggest_group)
