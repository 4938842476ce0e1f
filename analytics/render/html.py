"""The report as one self-contained HTML page: look rather than read.

Everything is inline (CSS, SVG); no script, font or image is fetched, so the file opens offline
and can be mailed around. Sections: headline figures, a flow (Sankey) diagram of how
playthroughs move through the story, drop-offs per node, choice shares at branch nodes,
endings, the most popular paths, coverage (dark content) and the definitions.

All story text and log data goes through :func:`esc` (``html.escape`` after making control
characters visible); the page has no script at all, so nothing in a story can run.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field

from analytics.render import percent, plural, seconds, step_name
from analytics.report import DEFINITIONS, LanguageShare, NodeReport, PathReport, Report
from branching.log.encoding import REWIND_MARK
from branching.story.untrusted import printable

#: Most nodes drawn in the flow diagram; bigger stories show their busiest nodes.
FLOW_NODES = 40
#: Longest dark-content list written out in full (the JSON has them all).
LIST_LIMIT = 300

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#e15759",
)
KIND_COLOURS = {"good": "#2e8540", "bad": "#7b241c", "neutral": "#4e79a7", None: "#7f8c8d"}


def esc(text: object) -> str:
    """Text for HTML content or a quoted attribute value.

    >>> esc('<script>alert("x")</script>\\x1b')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\\\x1b'
    """
    return html.escape(printable(str(text)), quote=True)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


# --- Flow diagram ---------------------------------------------------------------------------


@dataclass
class _FlowNode:
    node: NodeReport
    depth: int
    x: float = 0.0
    y: float = 0.0
    height: float = 0.0
    out_offset: float = 0.0
    in_offset: float = 0.0
    hidden_out: int = 0
    loops: list[tuple[str, int]] = field(default_factory=list)


def _flow_nodes(report: Report, limit: int) -> list[NodeReport]:
    reached = [n for n in report.nodes if n.reached]
    if len(reached) <= limit:
        return reached
    ranked = sorted(reached, key=lambda n: -n.visits)[:limit]
    start = report.node(report.story.start)
    if start is not None and start not in ranked:
        ranked[-1] = start
    return ranked


def flow_svg(report: Report, *, limit: int = FLOW_NODES) -> tuple[str, int]:
    """The Sankey-style diagram as inline SVG, and how many nodes it leaves out.

    Columns are steps from the start (fewest choices needed to get there in the data); a node's
    height is its visits; a band's width is how many times its choice was taken; red stubs are
    drop-offs, amber stubs open playthroughs. Moves back to an earlier column (loops) are not
    drawn as bands but listed in the node's tooltip.
    """
    shown = _flow_nodes(report, limit)
    if not shown:
        return "", 0
    by_id = {n.id: n for n in shown}
    edges: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for node in shown:
        for choice in node.choices:
            if choice.taken:
                edges[node.id].append((choice.to, choice.taken))
    # Depth: breadth-first over the taken choices among the shown nodes.
    depth: dict[str, int] = {}
    start = report.story.start if report.story.start in by_id else shown[0].id
    frontier = [start]
    depth[start] = 0
    while frontier:
        following = []
        for node_id in frontier:
            for target, _ in sorted(edges[node_id], key=lambda e: -e[1]):
                if target in by_id and target not in depth:
                    depth[target] = depth[node_id] + 1
                    following.append(target)
        frontier = following
    # Nodes only reachable through hidden ones go in a column after their best-known parent.
    deepest = max(depth.values())
    for node in shown:
        if node.id not in depth:
            depth[node.id] = deepest + 1
    columns: dict[int, list[_FlowNode]] = defaultdict(list)
    flow = {n.id: _FlowNode(n, depth[n.id]) for n in shown}
    for f in flow.values():
        columns[f.depth].append(f)

    # Geometry: fit the page width (1120 px) when the columns allow, else scroll sideways.
    n_columns = max(columns) + 1
    column_gap = max(150.0, min(230.0, (1090.0 - 170.0) / max(n_columns - 1, 1)))
    node_width, top, gap = 12.0, 34.0, 14.0
    # Labels (titles or first words) stop before the next column: about 6.2 px a character
    # at 11 px, and room for the count after them.
    label_chars = max(8, int((column_gap - node_width - 44.0) / 6.2))

    # A node is as tall as its visits or what leaves it, whichever is more (a rewind lets a
    # visit make two choices), so its bands and stubs fit on it.
    def size(n: NodeReport) -> int:
        return max(n.visits, n.choices_made + n.drop_offs + n.open_here, 1)

    tallest = max(sum(size(f.node) for f in column) for column in columns.values())
    max_rows = max(len(column) for column in columns.values())
    usable = max(360.0, min(900.0, 60.0 * max_rows))
    scale = (usable - gap * (max_rows - 1)) / tallest
    # Order each column by the mean height of the nodes feeding it (fewer crossings).
    for d in sorted(columns):
        column = columns[d]
        if d > 0:
            weight: dict[str, float] = defaultdict(float)
            total: dict[str, float] = defaultdict(float)
            for f in flow.values():
                if f.depth >= d:
                    continue
                for target, count in edges[f.node.id]:
                    if target in flow and flow[target].depth == d:
                        weight[target] += count * (f.y + f.height / 2)
                        total[target] += count
            column.sort(
                key=lambda f: weight[f.node.id] / total[f.node.id] if total[f.node.id] else 1e9
            )
        else:
            column.sort(key=lambda f: -f.node.visits)
        y = top
        for f in column:
            f.x = 20.0 + d * column_gap
            f.height = max(2.0, size(f.node) * scale)
            f.y = y
            y += f.height + gap
    width = 20.0 + (n_columns - 1) * column_gap + 150.0
    height = (
        top
        + max(
            sum(f.height for f in column) + gap * (len(column) - 1) for column in columns.values()
        )
        + 40.0
    )

    parts: list[str] = []
    for d in sorted(columns):
        parts.append(
            f'<text class="col" x="{20 + d * column_gap:.0f}" y="16">'
            f"{'Start' if d == 0 else f'Step {d}'}</text>"
        )
    # Bands, biggest first so small ones stay visible on top.
    bands: list[tuple[int, str]] = []
    for f in sorted(flow.values(), key=lambda f: f.y):
        outgoing = sorted(
            edges[f.node.id],
            key=lambda e: flow[e[0]].y if e[0] in flow else 1e9,
        )
        for target, count in outgoing:
            thickness = max(1.0, count * scale)
            to = flow.get(target)
            if to is None:
                f.hidden_out += count
                continue
            if to.depth <= f.depth:
                f.loops.append((target, count))
                continue
            x0 = f.x + node_width
            y0 = f.y + f.out_offset + thickness / 2
            x1 = to.x
            y1 = to.y + to.in_offset + thickness / 2
            f.out_offset += thickness
            to.in_offset += thickness
            mid = (x0 + x1) / 2
            share = count / f.node.choices_made if f.node.choices_made else 0
            title = (
                f"{f.node.id} → {target}: taken {count:,} times "
                f"({percent(share)} of the choices made at {f.node.id})"
            )
            bands.append(
                (
                    count,
                    f'<path class="band" d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} '
                    f'{mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}" stroke-width="{thickness:.1f}">'
                    f"<title>{esc(title)}</title></path>",
                )
            )
        # Stubs: choices to nodes not drawn, then drop-offs, then open playthroughs.
        for count, css, what in (
            (f.hidden_out, "stub-hidden", "to nodes not drawn"),
            (f.node.drop_offs, "stub-drop", "dropped off (quit or failed) here"),
            (f.node.open_here, "stub-open", "still open here"),
        ):
            if not count:
                continue
            thickness = max(1.0, count * scale)
            x0 = f.x + node_width
            y0 = f.y + f.out_offset
            f.out_offset += thickness
            # A short band slanting down and away: these playthroughs leave the diagram.
            drift = min(12.0, 4.0 + thickness / 3)
            bands.append(
                (
                    -1,
                    f'<path class="{css}" d="M{x0:.1f},{y0:.1f} L{x0 + 34:.1f},{y0 + drift:.1f} '
                    f"L{x0 + 34:.1f},{y0 + drift + thickness:.1f} L{x0:.1f},{y0 + thickness:.1f} "
                    f'Z"><title>{count:,} {esc(what)}</title></path>',
                )
            )
    parts.extend(svg for _, svg in sorted(bands, key=lambda b: -b[0]))
    for f in flow.values():
        n = f.node
        colour = KIND_COLOURS.get(n.ending, "#7f8c8d") if n.ending else "#34495e"
        tip = (
            f"{n.label} ({n.id})\nreached by {n.reached:,} playthroughs, {n.visits:,} visits\n"
            f"dropped off here: {n.drop_offs:,} ({percent(n.drop_off_rate)})"
        )
        if n.open_here:
            tip += f"\nstill open here: {n.open_here:,}"
        for target, count in f.loops:
            tip += f"\nback to {report.label(target)} ({target}): {count:,}"
        parts.append(
            f'<g class="node"><rect x="{f.x:.1f}" y="{f.y:.1f}" width="{node_width:.0f}" '
            f'height="{f.height:.1f}" fill="{colour}" rx="2"/>'
            f'<text x="{f.x + node_width + 4:.1f}" y="{f.y + min(f.height / 2, 12) + 4:.1f}">'
            f'<tspan class="nid">{esc(_short(n.label, label_chars))}</tspan>'
            f'<tspan class="nmeta"> {n.reached:,}</tspan></text>'
            f"<title>{esc(tip)}</title></g>"
        )
    svg = (
        f'<svg class="flow" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="Flow of playthroughs through the story">{"".join(parts)}</svg>'
    )
    reached = sum(1 for n in report.nodes if n.reached)
    return svg, reached - len(shown)


# --- Sections -------------------------------------------------------------------------------


def _kpis(report: Report) -> str:
    s = report.summary
    cards = [
        ("Started", f"{s.started:,}", "playthroughs"),
        ("Completed", f"{s.completed:,}", f"{percent(s.completion_rate)} reached an ending"),
        ("Quit", f"{s.quit:,}", percent(s.quit / s.started if s.started else None)),
        ("Failed", f"{s.failed:,}", "runtime faults"),
        ("Open", f"{s.open:,}", "no ending or quit yet"),
        ("Viewers", f"{s.viewers:,}", "distinct viewers"),
        ("Timer defaults", f"{s.timeouts:,}", f"of {s.explicit_choices + s.timeouts:,} choices"),
        ("Rewinds", f"{s.rewinds:,}", f"in {plural(s.rewound, 'playthrough')}"),
        ("Paths", f"{s.distinct_paths:,}", "distinct"),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
            f'<div class="s">{esc(sub)}</div></div>'
            for k, v, sub in cards
        )
        + "</div>"
    )


def _node_cell(node: NodeReport) -> str:
    """A node by its title or first words, its id after it, dim."""
    extra = "" if node.authored else ' <span class="warn">(not in story)</span>'
    node_id = f' <code class="id">{esc(node.id)}</code>' if node.label != node.id else ""
    return f'<span title="{esc(node.label)}">{esc(_short(node.label, 80))}</span>{node_id}{extra}'


def _step_chip(report: Report, step: str) -> str:
    """A path step as a chip with its title or first words; the id shows on hover."""
    label, node_id, rewind = step_name(report.labels, step, 32)
    whole = report.label(node_id)
    if rewind:
        return (
            f'<span class="chip rewind" title="went back to {esc(whole)} ({esc(node_id)})">'
            f"{REWIND_MARK} {esc(label)}</span>"
        )
    return f'<span class="chip" title="{esc(whole)} ({esc(node_id)})">{esc(label)}</span>'


def _drop_offs(report: Report, top: int) -> str:
    nodes = report.by_drop_off()[:top]
    if not nodes:
        return '<p class="muted">No drop-offs: nobody quit or hit a fault.</p>'
    by_rate = report.by_drop_off_rate()[:top]
    rate_table = (
        "<h3>Highest drop-off rates</h3>"
        f'<p class="muted">Nodes reached by {report.rate_floor():,} playthroughs or more, '
        "ranked by the low end of the rate's 95% interval, so a node few reached does not "
        "outrank a busy one on a handful of quits. The bar is the rate.</p>"
        + _drop_off_table(by_rate, by_rate=True)
        if by_rate
        else ""
    )
    return "<h3>Most drop-offs</h3>" + _drop_off_table(nodes) + rate_table


def _drop_off_table(nodes: list[NodeReport], *, by_rate: bool = False) -> str:
    biggest = max(n.drop_offs for n in nodes)
    highest = max((n.drop_off_rate or 0.0) for n in nodes) or 1.0
    rows = []
    for n in nodes:
        if by_rate:
            width = 85.0 * (n.drop_off_rate or 0.0) / highest
        else:
            width = 85.0 * n.drop_offs / biggest
        ci = n.drop_off_ci
        ci_text = f" (95% CI {percent(ci[0])}–{percent(ci[1])})" if ci else ""
        rows.append(
            f"<tr><td>{_node_cell(n)}</td>"
            f'<td class="num">{n.reached:,}</td>'
            f'<td class="barcell"><div class="bar drop" style="width:{width:.1f}%"></div>'
            f'<span class="barlabel">{n.drop_offs:,}</span></td>'
            f'<td class="num" title="{esc(ci_text.strip())}">{percent(n.drop_off_rate)}</td>'
            f'<td class="num">{n.quits:,}</td><td class="num">{n.failures or ""}</td>'
            f'<td class="num">{n.open_here or ""}</td></tr>'
        )
    return (
        '<table class="grid"><thead><tr><th>Node</th><th class="num">Reached</th>'
        '<th>Dropped off here</th><th class="num">Rate</th><th class="num">Quit</th>'
        '<th class="num">Failed</th><th class="num">Open</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _ci_svg(share: float | None, ci: tuple[float, float] | None, colour: str) -> str:
    if share is None or ci is None:
        return ""
    w = 120.0
    lo, hi, x = ci[0] * w, ci[1] * w, share * w
    return (
        f'<svg class="ci" width="{w + 4:.0f}" height="14" viewBox="-2 0 {w + 4:.0f} 14">'
        f'<line x1="0" y1="7" x2="{w:.0f}" y2="7" class="axis"/>'
        f'<line x1="{lo:.1f}" y1="7" x2="{hi:.1f}" y2="7" stroke="{colour}" stroke-width="3"/>'
        f'<circle cx="{x:.1f}" cy="7" r="3.5" fill="{colour}"/>'
        f"<title>{percent(share)} (95% CI {percent(ci[0])}–{percent(ci[1])})</title></svg>"
    )


def _branches(report: Report, top: int) -> str:
    branches = report.branch_nodes()[:top]
    if not branches:
        return '<p class="muted">No choices made at branch nodes yet.</p>'
    languages = list(report.languages) if report.compares_languages else []
    language_heads = "".join(
        f'<th class="num" title="share of the picks by viewers who saw the story in '
        f'{esc(language)} ({report.languages[language]:,} playthroughs)">{esc(language)}</th>'
        for language in languages
    )
    cards = []
    for node in branches:
        segments = []
        legend = []
        for i, choice in enumerate(node.choices):
            colour = PALETTE[i % len(PALETTE)]
            if choice.taken and node.choices_made:
                width = 100.0 * choice.taken / node.choices_made
                segments.append(
                    f'<div class="seg" style="width:{width:.2f}%;background:{colour}" '
                    f'title="{esc(choice.label)}: {percent(choice.taken_share)}"></div>'
                )
            timer = ""
            if choice.default:
                timer = (
                    f'<span class="timer" title="taken by the timer when time ran out">'
                    f"{choice.timeouts:,}</span>"
                )
            default = ' <span class="dflt">timer default</span>' if choice.default else ""
            unknown = "" if choice.authored else ' <span class="warn">(not in story)</span>'
            legend.append(
                f"<tr{' class=dark' if not choice.taken else ''}>"
                f'<td><span class="sw" style="background:{colour}"></span></td>'
                f"<td>{esc(_short(choice.label, 90))}{default}{unknown}"
                f' <span class="to" title="{esc(report.label(choice.to))} ({esc(choice.to)})">'
                f"→ {esc(_short(report.label(choice.to), 40))}</span></td>"
                f'<td class="num">{choice.count:,}</td>'
                f'<td class="num">{percent(choice.share)}</td>'
                f"<td>{_ci_svg(choice.share, choice.share_ci, colour)}</td>"
                f'<td class="num">{timer}</td>'
                + "".join(
                    f'<td class="num">{_language_share(choice.by_language.get(language))}</td>'
                    for language in languages
                )
                + "</tr>"
            )
        timeouts = f", {plural(node.timeouts, 'timer default')}" if node.timeouts else ""
        cards.append(
            f'<div class="card"><h3>{esc(_short(node.label, 70))} '
            f'<code class="id">{esc(node.id)}</code></h3>'
            f'<p class="muted">{plural(node.choices_made, "choice")} made: {node.explicit:,} picked'
            f"{timeouts} · decision time median {seconds(node.decision_ms_median)}, "
            f"90th percentile {seconds(node.decision_ms_p90)}</p>"
            f'<div class="stack" title="where the choices made here went">{"".join(segments)}'
            "</div>"
            '<table class="legend"><thead><tr><th></th><th>Choice</th><th class="num">Picks'
            '</th><th class="num">Share</th><th>95% interval</th><th class="num">Timed out</th>'
            f"{language_heads}</tr></thead><tbody>{''.join(legend)}</tbody></table></div>"
        )
    note = ""
    if languages:
        note = (
            '<p class="muted">The last columns split the shares by the language the story was '
            "shown in: each is that language's picks of the choice over its explicit picks at "
            "the node.</p>"
        )
    return note + "".join(cards)


def _language_share(share: LanguageShare | None) -> str:
    if share is None or share.share is None:
        return "–"
    low, high = share.share_ci or (share.share, share.share)
    return (
        f'<span title="{share.count:,} picks; 95% interval {percent(low)}–{percent(high)}">'
        f"{percent(share.share)}</span>"
    )


def _endings(report: Report) -> str:
    if not report.endings:
        return '<p class="muted">The story has no endings.</p>'
    rows = []
    for e in sorted(report.endings, key=lambda e: -e.playthroughs):
        colour = KIND_COLOURS.get(e.kind, "#7f8c8d")
        width = 85.0 * (e.share or 0.0)
        note = "" if e.authored else ' <span class="warn">(not an ending in this story)</span>'
        name = esc(e.label) + (f" <code>{esc(e.id)}</code>" if e.label != e.id else "")
        rows.append(
            f"<tr><td>{name}{note}</td>"
            f'<td><span class="kind" style="background:{colour}">{esc(e.kind or "?")}</span></td>'
            f'<td class="num">{e.playthroughs:,}</td>'
            f'<td class="barcell"><div class="bar" style="width:{width:.1f}%;'
            f'background:{colour}"></div><span class="barlabel">{percent(e.share)}</span></td></tr>'
        )
    return (
        '<table class="grid"><thead><tr><th>Ending</th><th>Kind</th>'
        '<th class="num">Playthroughs</th><th>Share of completed</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _path_html(path: PathReport, report: Report) -> str:
    steps = list(path.steps)
    if not steps:
        return '<span class="muted">(no node entered)</span>'
    if len(steps) > 24:
        steps = [*steps[:12], f"… {len(steps) - 22} more …", *steps[-10:]]
    chips = []
    for step in steps:
        if step.startswith("… "):
            chips.append(f'<span class="muted">{esc(step)}</span>')
        else:
            chips.append(_step_chip(report, step))
    # Spaces around the arrows: the only places a long path may wrap.
    return ' <span class="arrow">→</span> '.join(chips)


def _paths(report: Report, top: int) -> str:
    if not report.paths:
        return '<p class="muted">No paths yet.</p>'
    colours = {"completed": "#2e8540", "quit": "#c0392b", "failed": "#8e44ad", "open": "#d68910"}
    rows = []
    for i, p in enumerate(report.paths[:top], start=1):
        where = f" at {_step_chip(report, p.last_node)}" if p.last_node else ""
        rows.append(
            f'<tr><td class="num">{i}</td><td class="num">{p.playthroughs:,}</td>'
            f'<td class="num">{percent(p.share)}</td>'
            f'<td><span class="kind" style="background:{colours[p.status]}">{p.status}</span>'
            f'{where}</td><td class="path">{_path_html(p, report)}</td></tr>'
        )
    return (
        '<table class="grid"><thead><tr><th class="num">#</th><th class="num">Playthroughs</th>'
        '<th class="num">Share</th><th>Outcome</th><th>Path</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _dark_list(items: list[str]) -> str:
    shown = "".join(f"<li><code>{esc(i)}</code></li>" for i in items[:LIST_LIMIT])
    more = (
        f'<li class="muted">… and {len(items) - LIST_LIMIT:,} more (all in the JSON report)</li>'
        if len(items) > LIST_LIMIT
        else ""
    )
    return f'<ul class="dark">{shown}{more}</ul>'


def _coverage(report: Report) -> str:
    c = report.coverage
    rows = [
        ("Nodes", c.nodes_reached, c.nodes_authored, c.dark_nodes),
        (
            "Choices",
            c.choices_taken,
            c.choices_authored,
            [f"{d.node} → {d.to} ({_short(d.label, 40)})" for d in c.dark_choices],
        ),
        ("Endings", c.endings_reached, c.endings_authored, c.dark_endings),
    ]
    out = ['<div class="coverage">']
    for name, reached, authored, dark in rows:
        share = reached / authored if authored else 0.0
        out.append(
            f'<div class="cov"><div class="k">{name}</div>'
            f'<div class="v">{reached:,} <span class="muted">of {authored:,}</span></div>'
            f'<div class="meter"><div style="width:{100 * share:.1f}%"></div></div>'
            + (
                f"<details><summary>{len(dark):,} dark</summary>{_dark_list(dark)}</details>"
                if dark
                else '<div class="muted">none dark</div>'
            )
            + "</div>"
        )
    out.append("</div>")
    if c.unknown_nodes:
        out.append(
            f'<p class="warn">{len(c.unknown_nodes):,} node(s) in the log are not in this story '
            f"file:</p>{_dark_list(c.unknown_nodes)}"
        )
    return "".join(out)


def _definitions() -> str:
    return (
        '<dl class="defs">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in DEFINITIONS.items())
        + "</dl>"
    )


CSS = """
:root { --fg:#1d2731; --muted:#6b7785; --line:#e3e7ec; --bg:#ffffff; --soft:#f5f7f9;
  --accent:#4e79a7; --drop:#c0392b; --open:#d68910; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:28px 28px 60px; }
h1 { font-size:26px; margin:0 0 4px; } h2 { font-size:19px; margin:36px 0 6px;
  padding-top:14px; border-top:1px solid var(--line); }
h3 { font-size:15px; margin:0 0 2px; }
.sub { color:var(--muted); margin:0 0 2px; } .muted { color:var(--muted); }
.explain { color:var(--muted); margin:0 0 12px; max-width:860px; }
.note { background:#fff8e1; border:1px solid #f3d27a; padding:8px 12px; border-radius:6px;
  margin:10px 0; }
.warn { color:#a05a00; }
code { font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  background:var(--soft); padding:1px 4px; border-radius:3px; }
.kpis { display:grid; grid-template-columns:repeat(auto-fill,minmax(104px,1fr)); gap:10px;
  margin:18px 0 6px; }
.kpi { background:var(--soft); border-radius:8px; padding:10px 12px; }
.kpi .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.kpi .v { font-size:24px; font-weight:650; } .kpi .s { color:var(--muted); font-size:12px; }
.flowbox { overflow-x:auto; border:1px solid var(--line); border-radius:8px; padding:6px; }
svg.flow text { font-size:11px; fill:var(--fg); } svg.flow text.col { fill:var(--muted);
  font-size:11px; text-transform:uppercase; letter-spacing:.05em; }
svg.flow .nmeta { fill:var(--muted); }
svg.flow .band { fill:none; stroke:var(--accent); stroke-opacity:.32; }
svg.flow .band:hover { stroke-opacity:.65; }
svg.flow .stub-drop { fill:var(--drop); fill-opacity:.7; }
svg.flow .stub-open { fill:var(--open); fill-opacity:.7; }
svg.flow .stub-hidden { fill:#95a5a6; fill-opacity:.3; }
.legendline { color:var(--muted); font-size:12.5px; margin:6px 2px 0; }
.legendline i { display:inline-block; width:18px; height:8px; border-radius:2px;
  margin:0 4px 0 12px; vertical-align:middle; }
table.grid { border-collapse:collapse; width:100%; }
table.grid th, table.grid td { text-align:left; padding:6px 8px; border-bottom:1px solid
  var(--line); vertical-align:top; }
table.grid th { font-size:12px; color:var(--muted); font-weight:600; }
.num { text-align:right !important; font-variant-numeric:tabular-nums; white-space:nowrap; }
.label { color:var(--muted); font-size:12.5px; }
code.id { color:var(--muted); font-size:11.5px; }
.barcell { width:34%; white-space:nowrap; } .bar { height:16px; background:var(--accent);
  border-radius:3px; display:inline-block; vertical-align:middle; min-width:2px; }
.bar.drop { background:var(--drop); }
.barlabel { margin-left:6px; font-variant-numeric:tabular-nums; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(520px,1fr)); gap:14px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px; }
.stack { display:flex; height:18px; border-radius:4px; overflow:hidden; margin:8px 0;
  background:var(--soft); }
.seg { height:100%; }
table.legend { border-collapse:collapse; width:100%; font-size:13px; }
table.legend th { font-size:11.5px; color:var(--muted); text-align:left; font-weight:600; }
table.legend td, table.legend th { padding:3px 6px; vertical-align:middle; }
tr.dark td { color:var(--muted); }
.sw { display:inline-block; width:11px; height:11px; border-radius:2px; }
.to { color:var(--muted); white-space:nowrap; } .timer { color:#a05a00; white-space:nowrap; }
.dflt { font-size:11px; color:#a05a00; border:1px solid #f0b97a; border-radius:8px;
  padding:0 5px; white-space:nowrap; }
svg.ci .axis { stroke:#d5dbe1; stroke-width:1; }
.kind { color:#fff; border-radius:10px; padding:1px 8px; font-size:12px; }
td.path { line-height:2; } .chip { background:var(--soft); border:1px solid var(--line);
  border-radius:4px; padding:0 5px; font:12px ui-monospace,Menlo,Consolas,monospace;
  white-space:nowrap; }
.chip.rewind { background:#fff3e0; border-color:#f0b97a; } .arrow { color:var(--muted);
  margin:0 3px; }
.coverage { display:grid; grid-template-columns:repeat(3,1fr); gap:14px; }
.cov { background:var(--soft); border-radius:8px; padding:10px 12px; }
.cov .k { color:var(--muted); font-size:12px; text-transform:uppercase; }
.cov .v { font-size:22px; font-weight:650; }
.meter { height:6px; background:#dde3e9; border-radius:3px; margin:6px 0; }
.meter div { height:100%; background:#2e8540; border-radius:3px; }
ul.dark { columns:2; margin:6px 0; padding-left:18px; font-size:12.5px; }
dl.defs { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; font-size:13px; }
dl.defs dt { font-weight:600; } dl.defs dd { margin:0; color:#3b4652; }
footer { color:var(--muted); font-size:12px; margin-top:30px; }
@media print { .flowbox { overflow:visible; } main { max-width:none; } }
"""


def render_html(report: Report, *, top: int = 10, only_experiments: bool = False) -> str:
    """The whole page as one string (``only_experiments``: the header and the experiments)."""
    experiments = css = ""
    if report.experiments:
        from analytics.render.experiments_html import CSS as EXPERIMENT_CSS
        from analytics.render.experiments_html import experiments_html

        experiments, css = experiments_html(report.experiments), EXPERIMENT_CSS
    story = report.story
    s = report.summary
    flow, left_out = flow_svg(report)
    version = f" · version {esc(story.version)}" if story.version else ""
    if story.hash:
        version += f" · {esc(story.hash)}"
    notes = "".join(f'<div class="note">{esc(n)}</div>' for n in report.notes)
    flow_note = (
        f" The {FLOW_NODES} most visited nodes are drawn; {left_out:,} other reached nodes are "
        "not (grey stubs lead to them)."
        if left_out
        else ""
    )
    head = f"""
<main>
<h1>{esc(story.title)}</h1>
<p class="sub"><code>{esc(story.id)}</code>{version}</p>
<p class="sub"><b>Unit: playthroughs</b> (viewers only where it says so) ·
{esc(report.selection.describe())} · generated {esc(report.generated_at)}</p>
{notes}
{_kpis(report)}
"""
    rest = f"""
<h2>How playthroughs move through the story</h2>
<p class="explain">Columns are steps from the start; each bar is a node, as tall as its visits;
each band is a choice, as wide as the times it was taken. Red stubs are drop-offs (quit or
failed there), amber ones playthroughs still open there. Moves back to an earlier column (loops)
are listed in the node's tooltip instead of drawn. Hover for numbers.{flow_note}</p>
<div class="flowbox">{flow}</div>
<p class="legendline"><i style="background:#34495e"></i>node
<i style="background:#4e79a7;opacity:.5"></i>choice taken
<i style="background:#c0392b"></i>dropped off
<i style="background:#d68910"></i>open
<i style="background:#2e8540"></i>good ending
<i style="background:#7b241c"></i>bad ending
<i style="background:#4e79a7"></i>neutral ending</p>

<h2>Where playthroughs drop off</h2>
<p class="explain">Nodes where playthroughs ended without an ending (the viewer quit, or the
story failed), biggest first. Rate = dropped off here / reached this node. Open playthroughs
(no ending or quit recorded yet) are counted apart.</p>
{_drop_offs(report, top)}

<h2>Choices at the busiest branch nodes</h2>
<p class="explain">The coloured bar shows where all choices made at the node went (timer
defaults included). Share = picks of the choice / explicit picks at the node, with its 95%
Wilson interval. A timed node's default choice is marked, with how often the timer took it
because time ran out (Timed out).
</p>
<div class="cards">{_branches(report, top)}</div>

<h2>Endings</h2>
<p class="explain">{s.completed:,} of {s.started:,} playthroughs reached an ending
(completion rate {percent(s.completion_rate)}).</p>
{_endings(report)}

<h2>Most popular paths</h2>
<p class="explain">Playthroughs per distinct path (the nodes entered, in order) and outcome, of
{s.distinct_paths:,} distinct paths. Each step is a node's title or first words (hover for its
id); <span class="chip rewind">{REWIND_MARK} …</span> marks going back to it.</p>
{_paths(report, top)}

<h2>Coverage: dark content</h2>
<p class="explain">Authored content no playthrough in this report reached.</p>
{_coverage(report)}

<h2>Definitions</h2>
{_definitions()}"""
    footer = (
        f"<footer>branching report · {esc(report.source)} · unit: playthrough (viewers in "
        "experiments) · all times UTC</footer>\n</main>"
    )
    body = head + experiments + ("" if only_experiments else rest) + footer
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(story.title)} — branching report</title>"
        f"<style>{CSS}{css}</style></head><body>{body}</body></html>\n"
    )
