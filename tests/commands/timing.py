"""Times commands on hostile stories and Twee files of two sizes, in one interpreter.

Run by tests/commands/test_linear_time.py as ``python -m tests.commands.timing CASES`` (a JSON
list of ``[command, head, pattern, tail, small, large]``: the hostile text is ``head``, then
``pattern`` repeated to the size, then ``tail``), so that a quadratic regression ends in that
test's timeout rather than hanging the suite. Prints ``{case: [small_s, large_s]}``: CPU time
of the command itself (the interpreter and its imports are warmed up first).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from branching.cli import main

#: Story formats whose Twee passages are scanned for code (import twee --format ...).
TWEE_FORMATS = ("harlowe", "sugarcube", "chapbook", "snowman")


def story(block: str) -> dict[str, Any]:
    """A playable story whose text, titles and labels are ``block``."""
    return {
        "format": "branching/1",
        "id": "hostile",
        "title": block,
        "start": "start",
        "nodes": {
            "start": {
                "title": block,
                "text": block,
                "choices": [{"label": block, "to": "end"}],
            },
            "end": {"title": block, "text": block, "ending": {"title": block}},
        },
    }


def twee(block: str, story_format: str) -> str:
    """A Twee 3 file whose start passage holds ``block``, linked to an ending."""
    data = json.dumps({"ifid": "0F6A3C43-7C7B-4E5E-9B7E-1A2B3C4D5E6F", "start": "Start"})
    links = "[[On->End]]" if story_format != "snowman" else "[[On|End]]"
    return (
        f":: StoryTitle\nHostile\n\n:: StoryData\n{data}\n\n"
        f":: Start\n{block}\n{links}\n\n:: End\nThe end.\n"
    )


def run(command: str, block: str, work: Path) -> None:
    """Run ``command`` on a story (or Twee file) made of ``block``; fail loudly on a crash."""
    kind, _, option = command.partition(":")
    source = work / "story.json"
    source.write_text(json.dumps(story(block)), encoding="utf-8")
    if kind == "validate":
        args = ["validate", str(source)]
    elif kind == "play":
        args = ["play", "--plain", "--no-log", "--new", str(source)]
    elif kind == "graph":
        args = ["graph", "--format", option or "mermaid", str(source)]
    elif kind == "stats":
        args = ["stats", str(source)]
    elif kind == "simulate":
        database = work / "log.db"
        database.unlink(missing_ok=True)
        args = ["simulate", "-n", "3", "--seed", "1", "--db", str(database), str(source)]
    elif kind == "export":
        args = ["export", "twee", "-o", str(work / "out.twee"), str(source)]
    elif kind == "i18n":
        # extract writes the template; update creates a translation, then reads it back and
        # merges into it (Babel's reader and writer, both ways).
        translation = work / "story.fr.po"
        translation.unlink(missing_ok=True)
        if option == "update":
            invoke(["i18n", "update", str(source), str(translation)], command)
            args = ["i18n", "update", str(source), str(translation)]
        else:
            args = ["i18n", "extract", "-o", str(work / "story.pot"), str(source)]
    elif kind == "import":
        tw = work / "in.twee"
        tw.write_text(twee(block, option), encoding="utf-8")
        args = ["import", "twee", "--format", option, "-o", str(work / "out.json"), str(tw)]
    else:
        raise ValueError(command)
    invoke(args, command)


def invoke(args: list[str], command: str) -> None:
    result = CliRunner().invoke(main, args, input="1\nq\n")
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    if result.exit_code not in (0, 1) or crashed:
        raise RuntimeError(f"{command}: exit {result.exit_code}\n{result.output[-2000:]}")


def measure(cases: list[list[Any]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["BRANCHING_HOME"] = str(work / "home")
        os.environ["BRANCHING_VIEWER"] = "timing"
        for command in {case[0] for case in cases}:
            run(command, "warm **up** [x](y) <<a>> (a:) $a", work)
        for command, head, pattern, tail, small, large in cases:
            measured = []
            for size in (small, large):
                block = head + pattern * (size // len(pattern)) + tail
                start = time.process_time()
                run(command, block, work)
                measured.append(time.process_time() - start)
            times[f"{command} {head + pattern * 3 + tail!r}"] = measured
    return times


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
