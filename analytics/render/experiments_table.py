"""A/B experiments as Rich tables in the terminal: the verdict first, then the arms.

Story text and log data go in as ``rich.text.Text`` after :func:`printable`, never as markup.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analytics import experiment_stats as es
from analytics.experiments import UNIT, ExperimentReport, Share
from analytics.render import percent, seconds
from branching.story.untrusted import printable


def _share(share: Share) -> str:
    ci = share.ci
    interval = "" if ci is None else f" ({ci[0] * 100:.0f}–{ci[1] * 100:.0f}%)"
    return f"{percent(share.share, 0)}{interval}"


_SHORT_METHODS = {es.PEARSON: "Pearson χ²", es.SEQUENTIAL: "sequential"}


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def experiment_panel(experiment: ExperimentReport) -> RenderableType:
    """One experiment: verdicts, arms, choices at the changed nodes, tests."""
    title = Text(f"Experiment {printable(experiment.id)}", style="bold")
    if experiment.title != experiment.id:
        title.append(f": {printable(experiment.title)}", style="bold")
    head = Text()
    head.append("Unit: ", style="bold")
    head.append(UNIT + "\n", style="dim")
    for verdict in experiment.verdicts:
        style = "bold red" if verdict.startswith("Sample ratio") else "bold"
        head.append("• " + printable(verdict) + "\n", style=style)
    for note in experiment.notes:
        head.append("Note: " + printable(note) + "\n", style="yellow")

    arms = Table(box=box.SIMPLE_HEAD, padding=(0, 1), title="Arms", title_justify="left")
    arms.add_column("Arm")
    arms.add_column("Weight", justify="right")
    arms.add_column("Viewers", justify="right")
    arms.add_column("Completed", justify="right")
    arms.add_column("Dropped off", justify="right")
    arms.add_column("Open", justify="right")
    for arm in experiment.arms:
        name = Text(printable(arm.arm), style="bold")
        if arm.control:
            name.append(" (control)", style="dim")
        arms.add_row(
            name,
            f"{arm.weight:g}",
            f"{arm.viewers:,}",
            _share(arm.completed),
            _share(arm.dropped),
            f"{arm.still_open:,}",
        )
    parts: list[RenderableType] = [head, arms]

    for index, node in enumerate(experiment.arms[0].nodes):
        table = Table(
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            title=f"First choice at {printable(node.label)} ({printable(node.node)})",
            title_justify="left",
        )
        table.add_column("Choice")
        for arm in experiment.arms:
            table.add_column(printable(arm.arm), justify="right")
        choice_ids: list[str] = []
        for arm in experiment.arms:
            choice_ids.extend(c.id for c in arm.nodes[index].choices if c.id not in choice_ids)
        for choice_id in choice_ids:
            cells = []
            label = choice_id
            for arm in experiment.arms:
                found = next((c for c in arm.nodes[index].choices if c.id == choice_id), None)
                cells.append(_share(found.taken) if found else "–")
                if found and arm.control:
                    label = found.label
            table.add_row(Text(printable(label)), *cells)
        table.add_row(
            Text("viewers who chose here · median decision time", style="dim"),
            *(
                f"{arm.nodes[index].choosers:,} · {seconds(arm.nodes[index].decision_ms_median)}"
                for arm in experiment.arms
            ),
        )
        parts.append(table)

    tests = Table(box=box.SIMPLE_HEAD, padding=(0, 1), title="Tests", title_justify="left")
    tests.add_column("Metric")
    tests.add_column("Test")
    tests.add_column("Statistic", justify="right")
    tests.add_column("df", justify="right")
    tests.add_column("p", justify="right")
    tests.add_column("p (Holm)", justify="right")
    tests.add_column("Enough data")
    for test in experiment.tests:
        statistic = "–" if test.statistic is None else f"{test.statistic:.2f}"
        tests.add_row(
            printable(test.metric),
            Text(_SHORT_METHODS.get(test.method, test.method), style="dim"),
            statistic,
            "" if test.df is None else str(test.df),
            _p(test.p_value),
            _p(test.p_adjusted),
            "yes" if test.enough_data else Text("no", style="yellow"),
        )
    srm = experiment.srm
    srm_text = Text(
        f"Sample ratio check ({srm.method}): p = {_p(srm.p_value)}"
        + (" — FLAGGED: results not trusted" if srm.flagged else " — no mismatch"),
        style="bold red" if srm.flagged else "dim",
    )
    legend = Text(
        "Pearson χ²: chi-square test of independence without continuity correction (read it "
        "once, at the planned end). Sequential: Lindon & Malek's anytime-valid test (safe to "
        "read every day; its statistic is the log Bayes factor). Shares have 95% Wilson "
        "intervals.",
        style="dim",
    )
    parts += [tests, legend, srm_text]
    return Panel(Group(*parts), title=title, title_align="left", box=box.ROUNDED)


def experiments_section(experiments: list[ExperimentReport]) -> RenderableType:
    if not experiments:
        return Text()
    return Group(*(experiment_panel(e) for e in experiments))
