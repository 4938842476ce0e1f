"""Problems met importing Twee: located warnings and errors, and unreadable input."""

from __future__ import annotations

from dataclasses import dataclass

from branching.story.problems import Severity
from branching.story.untrusted import printable


def quoted(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, cut at ``limit`` characters so that a message never grows
    with the input (a 5,000-digit number, a line of 100,000 brackets).

    >>> quoted("x = 1"), quoted("9" * 100, limit=5)
    ("'x = 1'", "'99999...'")
    """
    return repr(text if len(text) <= limit else text[:limit] + "...")


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
        # Names and messages quote the source: one line, nothing raw (as story problems).
        return printable(f"{where}: {severity}{passage}{self.message}", one_line=True)


class TweeReadError(Exception):
    """An input path that cannot be read (missing, unreadable, or a folder without Twee files).

    The message names the path, which may hold control characters: it is made printable here,
    once for every reason (as :meth:`TweeProblem.format` does for problems).
    """

    def __init__(self, message: str) -> None:
        super().__init__(printable(message, one_line=True))
