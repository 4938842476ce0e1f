"""Renderers of a :class:`~analytics.report.Report`: terminal tables, JSON, CSV and HTML.

Each takes a finished report and formats it; none computes a metric. Story text and anything
read back from a log is data: Rich ``Text`` (never markup) in the terminal, escaped in HTML,
guarded against formula injection in CSV, with control characters made visible everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from branching.log.encoding import REWIND_MARK
from branching.story.untrusted import printable


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, or an en dash when there is none.

    >>> percent(0.25), percent(None), percent(1 / 3, 0)
    ('25.0%', '–', '33%')
    """
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def seconds(ms: float | None) -> str:
    """A duration in ms as seconds for people.

    >>> seconds(1537.2), seconds(None), seconds(95_000)
    ('1.5 s', '–', '1 min 35 s')
    """
    if ms is None:
        return "–"
    if ms >= 60_000:
        minutes, rest = divmod(round(ms / 1000), 60)
        return f"{minutes} min {rest} s"
    return f"{ms / 1000:.1f} s"


def plural(count: int, word: str) -> str:
    """``count`` and ``word``, plural when it is not one.

    >>> plural(1, "choice"), plural(1234, "timer default")
    ('1 choice', '1,234 timer defaults')
    """
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def listing(items: Sequence[str], limit: int) -> str:
    """The first ``limit`` items, comma-separated and made visible, and how many more there are.

    >>> listing(["a", "b", "c"], 2), listing(["a"], 2)
    ('a, b, … and 1 more', 'a')
    """
    shown = ", ".join(printable(item) for item in items[:limit])
    return shown + (f", … and {len(items) - limit:,} more" if len(items) > limit else "")


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis.

    >>> shorten("They suspect me to be a traitor.", 16), shorten("ok", 5)
    ('They suspect me…', 'ok')
    """
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def step_name(labels: Mapping[str, str], step: str, width: int = 28) -> tuple[str, str, bool]:
    """How a path step reads: (the node's title or first words, its id, whether it is a
    rewind to it). Reports speak in titles; the id stays at hand (dim, or on hover).

    >>> step_name({"n1": "Hut 14. The door was locked after I sat down."}, "n1", 16)
    ('Hut 14. The doo…', 'n1', False)
    >>> step_name({}, REWIND_MARK + "x")
    ('x', 'x', True)
    """
    rewind = step.startswith(REWIND_MARK)
    node_id = step[len(REWIND_MARK) :] if rewind else step
    return shorten(labels.get(node_id, node_id), width), node_id, rewind
