"""Problems met importing Twee: located warnings and errors, and unreadable input."""

from __future__ import annotations

from dataclasses import dataclass

from branching.story.problems import Severity


@dataclass(frozen=True, slots=True)
class TweeProblem:
    """A warning or error, located in a Twee file and passage where possible."""

    severity: Severity
    message: str
    file: str = ""
    line: int | None = None
    passage: str | None = None

    def format(self) -> str:
        """``FILE:LINE: passage "Name": message`` (errors say so).

        >>> TweeProblem("warning", "dropped <<textbox>>", "a.twee", 7, "Start").format()
        'a.twee:7: passage "Start": dropped <<textbox>>'
        """
        where = self.file or "<twee>"
        if self.line is not None:
            where += f":{self.line}"
        passage = f'passage "{self.passage}": ' if self.passage is not None else ""
        severity = "error: " if self.severity == "error" else ""
        return f"{where}: {severity}{passage}{self.message}"


class TweeReadError(Exception):
    """An input path that cannot be read (missing, unreadable, or a folder without Twee files)."""
