"""The ``branching`` command line.

Each subcommand lives in its own module under :mod:`branching.commands` and imports what it
needs (networkx, Textual, SQLite) inside its function, so ``branching --help`` and quick commands
stay fast.
"""

from __future__ import annotations

import click

from branching import __version__
from branching.commands import (
    graph,
    log,
    play,
    report,
    rollups,
    schema,
    simulate,
    stats,
    twee,
    validate,
    viewer,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
main.add_command(viewer.viewer_group)
main.add_command(report.report)
main.add_command(simulate.simulate)
