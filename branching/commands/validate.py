"""``branching validate``: every problem in a story, located, in one run."""

from __future__ import annotations

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
@click.option(
    "--deep",
    is_flag=True,
    help="Also play every way through the story (variables and conditions included) to find "
    "stuck viewers, failing expressions and what no play can reach.",
)
@click.option(
    "--max-states",
    # A state takes from a few hundred bytes to kilobytes: ten million is minutes and gigabytes.
    type=click.IntRange(min=1, max=10_000_000),
    default=100_000,
    show_default=True,
    help="Bound of --deep: stop after this many distinct states (at most 10,000,000).",
)
def validate(
    story: str, output_format: str, no_warnings: bool, deep: bool, max_states: int
) -> None:
    """Check STORY and report every error and warning with its node, path and line:column.

    Exit status: 0 no errors (warnings allowed), 1 the story has errors, 2 the file cannot be
    read or is not JSON. Problem codes are listed in docs/validation.md.
    """
    from branching.story.loader import load_story
    from branching.story.problems import problems_json

    # Without --deep no Story model is needed: check node by node and keep none (faster).
    result = load_story(story, warnings=not no_warnings, build=deep)
    problems = list(result.problems)
    note = ""
    if deep and result.ok and result.story is not None:  # --deep built the story
        from dataclasses import replace

        from branching.story.deep import explore, explore_arms
        from branching.story.json_input import read_limited
        from branching.story.loader import locate

        skip = {p.node for p in problems if p.code in ("unreachable", "unreached-ending")}
        found = explore(result.story, max_states=max_states, skip={n for n in skip if n})
        deep_problems = [p for p in found.problems if p.severity == "error" or not no_warnings]
        # Each experiment arm plays another story: its faults are faults too.
        for experiment, arm, arm_found in explore_arms(result.story, max_states=max_states):
            found.states += arm_found.states
            found.complete = found.complete and arm_found.complete
            seen = {(p.code, p.path) for p in deep_problems}
            deep_problems += [
                replace(p, message=f'in experiment "{experiment}", arm "{arm}": {p.message}')
                for p in arm_found.problems
                if p.severity == "error" and (p.code, p.path) not in seen
            ]
        if deep_problems:
            try:  # read again to locate them: the file may have changed meanwhile
                problems += locate(read_limited(story).decode("utf-8-sig"), deep_problems)
            except (OSError, ValueError):
                problems += deep_problems
            problems.sort(key=lambda p: (p.severity != "error", p.line or 0, p.column or 0))
        complete = "complete" if found.complete else f"stopped at --max-states {max_states:,}"
        note = f"; deep check: {found.states:,} states ({complete})"
    elif deep and result.readable:
        note = "; deep check skipped: fix the errors first"

    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if output_format == "json":
        click.echo(problems_json(problems))
    else:
        for problem in problems:
            click.echo(problem.format(result.name))
        if result.readable and not errors:
            summary = f"{result.name}: OK, {result.node_count:,} nodes"
            if warnings:
                summary += f", {warnings} warning{'s' if warnings != 1 else ''}"
            click.echo(summary + note)
        elif result.readable:
            click.echo(
                f"{result.name}: {errors} error{'s' if errors != 1 else ''}, "
                f"{warnings} warning{'s' if warnings != 1 else ''}{note}",
                err=True,
            )
    if not result.readable:
        sys.exit(2)
    sys.exit(1 if errors else 0)
