"""The report as Rich tables in the terminal: what a producer reads first, first.

Order: a header with the unit, filters and playthrough counts; the biggest drop-offs; choice
shares at the busiest branch nodes, with small bars; the most popular paths; endings; coverage
(dark content); the definitions in brief. Every piece of story text or log data goes in as
``rich.text.Text`` (never markup), with control characters made visible.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from analytics.render import listing, percent, plural, seconds, step_name
from analytics.report import DEFINITIONS, LanguageShare, NodeReport, PathReport, Report
from branching.log.encoding import REWIND_MARK
from branching.story.untrusted import printable

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(share: float | None, width: int = 16) -> str:
    """A horizontal bar of ``width`` cells for a share in [0, 1], in eighths of a cell.

    >>> bar(0.5, 8), bar(0.0, 4), bar(1.0, 4), bar(None, 3)
    ('████    ', '    ', '████', '   ')
    """
    if share is None:
        return " " * width
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)


def _node_name(node: NodeReport) -> Text:
    """The node's title or first words, and its id, dim, after it."""
    name = Text(printable(node.label), style="bold")
    if node.label != node.id:
        name.append("  " + printable(node.id), style="dim")
    if not node.authored:
        name.append(" (not in story)", style="yellow")
    return name


def _step(labels: dict[str, str], step: str, width: int = 24) -> Text:
    """A path step: its title or first words, then its id, dim (``↶`` before a rewind)."""
    label, node_id, rewind = step_name(labels, step, width)
    text = Text(REWIND_MARK + " " if rewind else "", style="yellow")
    text.append(printable(label), style="yellow" if rewind else "")
    if label != node_id:
        text.append(" " + printable(node_id), style="dim")
    return text


def _interval(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"{ci[0] * 100:.0f}–{ci[1] * 100:.0f}%"


def header(report: Report) -> Panel:
    s = report.summary
    story = report.story
    title = Text(printable(story.title), style="bold")
    title.append(f"  ({printable(story.id)}", style="dim")
    title.append(f", version {printable(story.version)})" if story.version else ")", style="dim")
    lines = Text()
    lines.append("Unit: playthroughs", style="bold")
    lines.append(f" (viewers only where it says so) · {printable(report.selection.describe())}\n")
    lines.append(f"{s.started:,}", style="bold")
    lines.append(" started · ")
    lines.append(f"{s.completed:,}", style="bold green")
    lines.append(f" completed ({percent(s.completion_rate)}) · ")
    lines.append(f"{s.quit:,}", style="bold red")
    lines.append(" quit · ")
    lines.append(f"{s.failed:,}", style="bold magenta")
    lines.append(" failed · ")
    lines.append(f"{s.open:,}", style="bold yellow")
    lines.append(" open\n")
    lines.append(
        f"{s.viewers:,} viewers · {s.explicit_choices:,} choices picked · "
        f"{s.timeouts:,} timer defaults · {s.rewinds:,} rewinds in {s.rewound:,} playthroughs · "
        f"{s.distinct_paths:,} distinct paths"
    )
    if report.source:
        lines.append(f"\nLog: {printable(report.source)}", style="dim")
    for note in report.notes:
        lines.append("\nNote: " + printable(note), style="yellow")
    return Panel(lines, title=title, title_align="left", box=box.ROUNDED)


def drop_off_table(report: Report, top: int) -> RenderableType:
    nodes = report.by_drop_off()
    if not nodes:
        return Text("No drop-offs: nobody quit or hit a fault.", style="green")
    by_rate = report.by_drop_off_rate()
    return Group(
        _drop_off_rows(
            nodes[:top],
            f"Biggest drop-offs (top {min(top, len(nodes)):,} of {len(nodes):,} nodes)",
            "Dropped = playthroughs that quit or failed here; Rate = dropped / reached",
        ),
        _drop_off_rows(
            by_rate[:top],
            f"Highest drop-off rates (top {min(top, len(by_rate)):,}; nodes reached by "
            f"{report.rate_floor():,}+)",
            "Ranked by the low end of the rate's 95% interval, so a node few reached does not "
            "outrank a busy one on a handful of quits",
        )
        if by_rate
        else Text(),
    )


def _drop_off_rows(nodes: list[NodeReport], title: str, caption: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        caption=caption,
        caption_justify="left",
        caption_style="dim",
    )
    table.add_column("Node", min_width=12, max_width=44)
    table.add_column("Reached", justify="right", no_wrap=True)
    table.add_column("Dropped", justify="right", no_wrap=True)
    table.add_column("Rate", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=8)
    table.add_column("Quit", justify="right", no_wrap=True)
    table.add_column("Fail", justify="right", no_wrap=True)
    table.add_column("Open", justify="right", no_wrap=True)
    for node in nodes:
        table.add_row(
            _node_name(node),
            f"{node.reached:,}",
            Text(f"{node.drop_offs:,}", style="bold red"),
            percent(node.drop_off_rate),
            Text(bar(node.drop_off_rate, 8), style="red"),
            f"{node.quits:,}",
            f"{node.failures:,}" if node.failures else "",
            f"{node.open_here:,}" if node.open_here else "",
        )
    return table


def _branch(
    node: NodeReport, labels: dict[str, str], languages: list[str] | None = None
) -> RenderableType:
    heading = Text(printable(node.label), style="bold")
    if node.label != node.id:
        heading.append("  " + printable(node.id), style="dim")
    if not node.authored:
        heading.append(" (not in story)", style="yellow")
    heading.append(
        f"\n{plural(node.choices_made, 'choice')} made: {node.explicit:,} picked"
        + (f", {plural(node.timeouts, 'timer default')}" if node.timeouts else "")
        + f" · decision time median {seconds(node.decision_ms_median)}"
        + f", p90 {seconds(node.decision_ms_p90)}",
        style="dim",
    )
    # Several languages: a header names the columns, one share per language at the end, and
    # the bar gives way so the labels stay readable at 80 columns.
    table = Table(
        box=None, show_header=bool(languages), header_style="dim", padding=(0, 1), pad_edge=False
    )
    table.add_column("Choice", min_width=12, max_width=44)
    table.add_column("To", min_width=6, max_width=26, style="dim")
    table.add_column("Picks", justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    if not languages:
        table.add_column("", no_wrap=True, width=10)
    table.add_column("95% CI", justify="right", no_wrap=True, style="dim")
    table.add_column("Timed out", justify="right", no_wrap=True, style="yellow")
    for language in languages or ():
        table.add_column(printable(language, one_line=True), justify="right", no_wrap=True)
    for choice in node.choices:
        label = Text(
            "  " + printable(choice.label),
            style="" if choice.taken else "dim",
            no_wrap=True,
            overflow="ellipsis",
        )
        if choice.default:
            label.append(" (timer default)", style="yellow")
        if not choice.authored:
            label.append(" (not in story)", style="yellow")
        table.add_row(
            label,
            Text(
                "→ " + printable(step_name(labels, choice.to, 24)[0]),
                no_wrap=True,
                overflow="ellipsis",
            ),
            f"{choice.count:,}",
            percent(choice.share),
            *(() if languages else (Text(bar(choice.share, 10), style="cyan"),)),
            _interval(choice.share_ci),
            f"{choice.timeouts:,}" if choice.default else "",
            *(_language_cell(choice.by_language.get(language)) for language in languages or ()),
        )
    return Group(heading, table)


def _language_cell(share: LanguageShare | None) -> str:
    if share is None or share.share is None:
        return "–"
    return percent(share.share)


def choices_table(report: Report, top: int) -> RenderableType:
    branches = report.branch_nodes()
    if not branches:
        return Text("No choices made at branch nodes yet.", style="dim")
    parts: list[RenderableType] = [
        Text(
            f"Choices at the busiest branch nodes (top {min(top, len(branches)):,} "
            f"of {len(branches):,})",
            style="bold",
        ),
        Text(
            "Share = picks / explicit picks at the node, with its 95% Wilson interval; "
            "Timed out = times the timer took its default choice.",
            style="dim",
        ),
    ]
    languages = list(report.languages) if report.compares_languages else None
    if languages:
        counts = " · ".join(
            f"{printable(language, one_line=True)} {report.languages[language]:,}"
            for language in languages
        )
        parts.append(
            Text(
                f"Shares by the language the story was shown in, side by side "
                f"(playthroughs: {counts}).",
                style="dim",
            )
        )
    for node in branches[:top]:
        parts.append(Text())
        parts.append(_branch(node, report.labels, languages))
    return Group(*parts)


def path_text(path: PathReport, labels: dict[str, str], width: int = 6) -> Text:
    """A path as ``Hut 14. The door… n1 → … → ↶ Hut 14… n1 → …``: each step by its title or
    first words with its id dim, long middles elided."""
    steps = list(path.steps)
    shown = steps if len(steps) <= width else [*steps[: width // 2], "…", *steps[-width // 2 :]]
    text = Text()
    for i, step in enumerate(shown):
        if i:
            text.append(" → ", style="dim")
        if step == "…" and len(steps) > width and i == width // 2:
            text.append(f"… {len(steps) - len(shown) + 1} more …", style="dim")
        else:
            text.append_text(_step(labels, step))
    if not steps:
        text.append("(no node entered)", style="dim")
    return text


def outcome_text(path: PathReport, labels: dict[str, str]) -> Text:
    styles = {"completed": "green", "quit": "red", "failed": "magenta", "open": "yellow"}
    text = Text(path.status, style=styles[path.status])
    if path.last_node:
        text.append(" at ")
        text.append_text(_step(labels, path.last_node, 32))
    return text


def paths_table(report: Report, top: int) -> RenderableType:
    if not report.paths:
        return Text("No paths yet.", style="dim")
    table = Table(
        title=f"Most popular paths (top {min(top, len(report.paths))} "
        f"of {report.summary.distinct_paths:,} distinct)",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        caption=f"Each step: its title or first words, then its id; {REWIND_MARK} = went back to",
        caption_justify="left",
    )
    table.add_column("#", justify="right", style="dim")
    table.add_column("Playthroughs", justify="right")
    table.add_column("Share", justify="right")
    table.add_column("Outcome", overflow="fold", max_width=30)
    table.add_column("Path", overflow="fold", ratio=1)
    for i, path in enumerate(report.paths[:top], start=1):
        table.add_row(
            str(i),
            f"{path.playthroughs:,}",
            percent(path.share),
            outcome_text(path, report.labels),
            path_text(path, report.labels),
        )
    return table


def endings_table(report: Report) -> RenderableType:
    if not report.endings:
        return Text("The story has no endings.", style="dim")
    table = Table(
        title=f"Endings (completion rate {percent(report.summary.completion_rate)})",
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        caption="share = completions at the ending / all completions",
        caption_justify="left",
    )
    table.add_column("Ending", overflow="fold", ratio=1)
    table.add_column("Kind")
    table.add_column("Playthroughs", justify="right")
    table.add_column("Share", justify="right")
    table.add_column("", no_wrap=True)
    styles = {"good": "green", "bad": "red", "neutral": "blue"}
    for ending in sorted(report.endings, key=lambda e: -e.playthroughs):
        name = Text(printable(ending.label), style="bold")
        if ending.label != ending.id:
            name.append(f"  ({printable(ending.id)})", style="dim")
        if not ending.authored:
            name.append("  (not an ending in this story)", style="yellow")
        table.add_row(
            name,
            Text(ending.kind or "", style=styles.get(ending.kind or "", "")),
            f"{ending.playthroughs:,}",
            percent(ending.share),
            Text(bar(ending.share, 16), style=styles.get(ending.kind or "", "")),
        )
    return table


def coverage_text(report: Report) -> RenderableType:
    c = report.coverage
    text = Text()
    text.append("Coverage", style="bold")
    text.append(" (authored content no playthrough reached is dark)\n")
    rows = [
        ("Nodes", "reached", c.nodes_reached, c.nodes_authored, c.dark_nodes),
        (
            "Choices",
            "taken",
            c.choices_taken,
            c.choices_authored,
            [f"{d.node}→{d.to}" for d in c.dark_choices],
        ),
        ("Endings", "reached", c.endings_reached, c.endings_authored, c.dark_endings),
    ]
    for name, verb, reached, authored, dark in rows:
        share = reached / authored if authored else None
        text.append(f"  {name:<8} {reached:,} of {authored:,} {verb} ({percent(share, 0)})")
        if dark:
            text.append("  dark: ", style="dim")
            text.append(listing(dark, 12))
        text.append("\n")
    if c.unknown_nodes:
        text.append("  Not in this story file: ", style="yellow")
        text.append(listing(c.unknown_nodes, 12) + "\n")
    return text


def definitions_text() -> RenderableType:
    keys = ("unit", "reached", "drop_offs", "share", "decision_time", "path")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(style="dim")
    for key in keys:
        grid.add_row("  " + key, DEFINITIONS[key])
    return Group(Text("Definitions (docs/analytics.md)", style="bold dim"), grid)


def render_table(report: Report, *, top: int = 10, only_experiments: bool = False) -> Group:
    """All sections, as one Rich renderable (``only_experiments``: the header and the
    experiments)."""
    experiments: list[RenderableType] = []
    if report.experiments:
        from analytics.render.experiments_table import experiments_section

        experiments = [experiments_section(report.experiments), Text()]
    if only_experiments:
        return Group(header(report), *experiments)
    return Group(
        header(report),
        *experiments,
        drop_off_table(report, top),
        Text(),
        choices_table(report, top),
        Text(),
        paths_table(report, top),
        Text(),
        endings_table(report),
        Text(),
        coverage_text(report),
        definitions_text(),
    )


def print_table(
    report: Report, console: Console, *, top: int = 10, only_experiments: bool = False
) -> None:
    console.print(render_table(report, top=top, only_experiments=only_experiments))
