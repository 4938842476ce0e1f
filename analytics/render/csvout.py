"""The per-node and per-choice tables as CSV, for spreadsheets.

Story labels and ids are untrusted: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return would be run as a formula by Excel, LibreOffice or Google Sheets, so such
cells get a leading apostrophe (OWASP's advice), which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from analytics.report import Report

NODE_COLUMNS = (
    "node",
    "label",
    "authored",
    "ending",
    "reached",
    "visits",
    "choices_made",
    "explicit",
    "timeouts",
    "drop_offs",
    "quits",
    "failures",
    "open_here",
    "drop_off_rate",
    "drop_off_low",
    "drop_off_high",
    "rewinds",
    "decision_ms_median",
    "decision_ms_p90",
)
CHOICE_COLUMNS = (
    "node",
    "choice",
    "to",
    "label",
    "authored",
    "default",
    "count",
    "share",
    "share_low",
    "share_high",
    "timeouts",
    "timeout_share",
    "taken",
    "taken_share",
    "taken_share_low",
    "taken_share_high",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value: object) -> object:
    """A cell value safe from formula injection (numbers pass unchanged).

    >>> guard("=HYPERLINK(\\"http://x\\")"), guard("-1"), guard(-1), guard("Go left")
    ('\\'=HYPERLINK("http://x")', "'-1", -1, 'Go left')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    return guard(value)


def _write(rows: Iterable[Sequence[object]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def nodes_csv(report: Report) -> str:
    """One row per node (authored ones in story order, then any only the log knows)."""
    return _write(
        (
            (
                n.id,
                n.label,
                n.authored,
                n.ending,
                n.reached,
                n.visits,
                n.choices_made,
                n.explicit,
                n.timeouts,
                n.drop_offs,
                n.quits,
                n.failures,
                n.open_here,
                n.drop_off_rate,
                n.drop_off_ci[0] if n.drop_off_ci else None,
                n.drop_off_ci[1] if n.drop_off_ci else None,
                n.rewinds,
                None if n.decision_ms_median is None else round(n.decision_ms_median),
                None if n.decision_ms_p90 is None else round(n.decision_ms_p90),
            )
            for n in report.nodes
        ),
        NODE_COLUMNS,
    )


def choices_csv(report: Report) -> str:
    """One row per choice of every node."""
    return _write(
        (
            (
                n.id,
                c.id,
                c.to,
                c.label,
                c.authored,
                c.default,
                c.count,
                c.share,
                c.share_ci[0] if c.share_ci else None,
                c.share_ci[1] if c.share_ci else None,
                c.timeouts,
                c.timeout_share,
                c.taken,
                c.taken_share,
                c.taken_share_ci[0] if c.taken_share_ci else None,
                c.taken_share_ci[1] if c.taken_share_ci else None,
            )
            for n in report.nodes
            for c in n.choices
        ),
        CHOICE_COLUMNS,
    )


def render_csv(report: Report) -> str:
    """Both tables in one text: the node table, a blank line, the choice table."""
    return nodes_csv(report) + "\n" + choices_csv(report)
