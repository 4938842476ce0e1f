"""The per-node and per-choice tables as CSV, for spreadsheets.

Story labels and ids are untrusted: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return would be run as a formula by Excel, LibreOffice or Google Sheets, so such
cells get a leading apostrophe (OWASP's advice), which spreadsheets show as text. Ids read
back from a log may hold control characters: they are shown as ``\\xNN``
(:func:`~branching.story.untrusted.printable`), never written raw.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from analytics.report import ChoiceReport, Interval, NodeReport, Report
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from analytics.experiments import ExperimentReport, Share

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

#: Choice shares per language, one row per (choice, language): written after the choice table
#: when the report covers several languages.
LANGUAGE_COLUMNS = (
    "node",
    "choice",
    "to",
    "language",
    "playthroughs",
    "count",
    "share",
    "share_low",
    "share_high",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value: object) -> object:
    """A cell value safe from formula injection and terminal control (numbers pass unchanged).

    >>> guard("=HYPERLINK(\\"http://x\\")"), guard("-1"), guard(-1), guard("Go left")
    ('\\'=HYPERLINK("http://x")', "'-1", -1, 'Go left')
    >>> guard("n1\\x1b[2J")
    'n1\\\\x1b[2J'
    """
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value and abs(value) < 1e-4:  # tiny p-values keep their digits
            return f"{value:.3e}"
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    return guard(value)


def _write(rows: Iterable[dict[str, object]], columns: Sequence[str]) -> str:
    # Rows are keyed by column so a value cannot drift into its neighbour's column; a key that
    # is not a column raises.
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(value) for column, value in row.items()})
    return out.getvalue()


def _bounds(ci: Interval | None) -> tuple[float | None, float | None]:
    return (None, None) if ci is None else ci


def _node_row(n: NodeReport) -> dict[str, object]:
    low, high = _bounds(n.drop_off_ci)
    return {
        "node": n.id,
        "label": n.label,
        "authored": n.authored,
        "ending": n.ending,
        "reached": n.reached,
        "visits": n.visits,
        "choices_made": n.choices_made,
        "explicit": n.explicit,
        "timeouts": n.timeouts,
        "drop_offs": n.drop_offs,
        "quits": n.quits,
        "failures": n.failures,
        "open_here": n.open_here,
        "drop_off_rate": n.drop_off_rate,
        "drop_off_low": low,
        "drop_off_high": high,
        "rewinds": n.rewinds,
        "decision_ms_median": None if n.decision_ms_median is None else round(n.decision_ms_median),
        "decision_ms_p90": None if n.decision_ms_p90 is None else round(n.decision_ms_p90),
    }


def _choice_row(n: NodeReport, c: ChoiceReport) -> dict[str, object]:
    share_low, share_high = _bounds(c.share_ci)
    taken_low, taken_high = _bounds(c.taken_share_ci)
    return {
        "node": n.id,
        "choice": c.id,
        "to": c.to,
        "label": c.label,
        "authored": c.authored,
        "default": c.default,
        "count": c.count,
        "share": c.share,
        "share_low": share_low,
        "share_high": share_high,
        "timeouts": c.timeouts,
        "timeout_share": c.timeout_share,
        "taken": c.taken,
        "taken_share": c.taken_share,
        "taken_share_low": taken_low,
        "taken_share_high": taken_high,
    }


def nodes_csv(report: Report) -> str:
    """One row per node (authored ones in story order, then any only the log knows)."""
    return _write((_node_row(n) for n in report.nodes), NODE_COLUMNS)


def choices_csv(report: Report) -> str:
    """One row per choice of every node."""
    return _write((_choice_row(n, c) for n in report.nodes for c in n.choices), CHOICE_COLUMNS)


EXPERIMENT_COLUMNS = (
    "experiment",
    "arm",
    "control",
    "metric",
    "node",
    "key",
    "label",
    "viewers",
    "of",
    "share",
    "share_low",
    "share_high",
)
EXPERIMENT_TEST_COLUMNS = (
    "experiment",
    "metric",
    "method",
    "statistic",
    "df",
    "p_value",
    "p_adjusted",
    "enough_data",
    "needed_per_arm",
)


def _figure(
    e: ExperimentReport,
    arm: str,
    control: bool,
    metric: str,
    node: str,
    key: str,
    label: str,
    share: Share,
) -> dict[str, object]:
    low, high = _bounds(share.ci)
    return {
        "experiment": e.id,
        "arm": arm,
        "control": control,
        "metric": metric,
        "node": node,
        "key": key,
        "label": label,
        "viewers": share.count,
        "of": share.total,
        "share": share.share,
        "share_low": low,
        "share_high": high,
    }


def experiments_csv(report: Report) -> str:
    """One row per figure of every experiment arm (unit: viewers): completion, drop-off, each
    ending among completers, each first choice at each changed node."""
    rows = []
    for e in report.experiments:
        for a in e.arms:
            rows.append(_figure(e, a.arm, a.control, "completion", "", "", "", a.completed))
            rows.append(_figure(e, a.arm, a.control, "drop_off", "", "", "", a.dropped))
            for ending, label, share in a.endings:
                rows.append(_figure(e, a.arm, a.control, "ending", "", ending, label, share))
            for node in a.nodes:
                for c in node.choices:
                    rows.append(
                        _figure(e, a.arm, a.control, "choice", node.node, c.id, c.label, c.taken)
                    )
    return _write(rows, EXPERIMENT_COLUMNS)


def experiment_tests_csv(report: Report) -> str:
    """One row per test of every experiment."""
    return _write(
        (
            {
                "experiment": e.id,
                "metric": t.metric,
                "method": t.method,
                "statistic": t.statistic,
                "df": t.df,
                "p_value": t.p_value,
                "p_adjusted": t.p_adjusted,
                "enough_data": t.enough_data,
                "needed_per_arm": t.needed_per_arm,
            }
            for e in report.experiments
            for t in e.tests
        ),
        EXPERIMENT_TEST_COLUMNS,
    )


def languages_csv(report: Report) -> str:
    """One row per choice and language (only when the report covers several languages)."""
    rows = []
    for n in report.nodes:
        for c in n.choices:
            for language, share in c.by_language.items():
                low, high = _bounds(share.share_ci)
                rows.append(
                    {
                        "node": n.id,
                        "choice": c.id,
                        "to": c.to,
                        "language": language,
                        "playthroughs": report.languages.get(language, 0),
                        "count": share.count,
                        "share": share.share,
                        "share_low": low,
                        "share_high": high,
                    }
                )
    return _write(rows, LANGUAGE_COLUMNS)


def render_csv(report: Report, *, only_experiments: bool = False) -> str:
    """The tables in one text, a blank line apart: nodes, choices, then (when the report
    covers several languages) choice shares per language, then (when the story has
    experiments) experiment figures and tests."""
    parts = [] if only_experiments else [nodes_csv(report), choices_csv(report)]
    if report.compares_languages and not only_experiments:
        parts.append(languages_csv(report))
    if report.experiments:
        parts += [experiments_csv(report), experiment_tests_csv(report)]
    return "\n".join(parts)
