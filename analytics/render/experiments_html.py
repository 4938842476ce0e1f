"""A/B experiments in the HTML report: a verdict a producer reads in ten seconds, then the
arms side by side with 95% intervals, then the tests for whoever wants to check them.

Everything from a story or a log is escaped (:func:`analytics.render.html.esc`).
"""

from __future__ import annotations

from analytics import experiment_stats as es
from analytics.experiments import UNIT, ArmReport, ExperimentReport, Share
from analytics.render import percent, seconds
from analytics.render.html import PALETTE, esc

CSS = """
.exp { border:1px solid var(--line); border-radius:10px; padding:14px 18px; margin:14px 0; }
.exp h3 { font-size:17px; margin:0 0 6px; }
.verdict { font-size:16px; line-height:1.5; margin:6px 0 4px; padding:10px 14px;
  border-radius:8px; background:#eef4fb; border-left:4px solid var(--accent); }
.verdict.bad { background:#fdecea; border-left-color:var(--drop); }
.verdict.wait { background:#fff8e1; border-left-color:#d68910; }
.verdict.none { background:var(--soft); border-left-color:#95a5a6; }
.armgrid { display:grid; grid-template-columns:repeat(auto-fill,minmax(340px,1fr)); gap:12px;
  margin:10px 0; }
.arm { background:var(--soft); border-radius:8px; padding:8px 12px; }
.arm .name { font-weight:650; } .arm .ctl { color:var(--muted); font-weight:400; }
table.ab { border-collapse:collapse; width:100%; font-size:13px; margin:6px 0 12px; }
table.ab th, table.ab td { padding:4px 8px; border-bottom:1px solid var(--line);
  text-align:left; vertical-align:middle; }
table.ab th { font-size:11.5px; color:var(--muted); font-weight:600; }
details.tests summary { cursor:pointer; color:var(--muted); }
"""


def _bar(share: Share, colour: str) -> str:
    """A share as a bar with its 95% interval drawn over it (SVG, 180 px wide)."""
    value, ci = share.share, share.ci
    if value is None or ci is None:
        return '<span class="muted">no viewers</span>'
    w = 180.0
    return (
        f'<svg width="{w + 4:.0f}" height="16" viewBox="-2 0 {w + 4:.0f} 16" role="img" '
        f'aria-label="{percent(value, 0)}">'
        f'<rect x="0" y="3" width="{w:.0f}" height="10" fill="#e3e7ec" rx="2"/>'
        f'<rect x="0" y="3" width="{value * w:.1f}" height="10" fill="{colour}" rx="2"/>'
        f'<line x1="{ci[0] * w:.1f}" y1="8" x2="{ci[1] * w:.1f}" y2="8" stroke="#1d2731" '
        'stroke-width="1.5"/>'
        f'<line x1="{ci[0] * w:.1f}" y1="4" x2="{ci[0] * w:.1f}" y2="12" stroke="#1d2731"/>'
        f'<line x1="{ci[1] * w:.1f}" y1="4" x2="{ci[1] * w:.1f}" y2="12" stroke="#1d2731"/>'
        f"<title>{percent(value)} (95% CI {percent(ci[0])}–{percent(ci[1])}), "
        f"{share.count:,} of {share.total:,} viewers</title></svg>"
    )


def _cell(share: Share, colour: str) -> str:
    ci = share.ci
    interval = (
        "" if ci is None else f" <span class=muted>({percent(ci[0], 0)}–{percent(ci[1], 0)})</span>"
    )
    return f"<td>{_bar(share, colour)}</td><td class=num>{percent(share.share, 0)}{interval}</td>"


def _verdict_class(text: str) -> str:
    if text.startswith("Sample ratio"):
        return "bad"
    if text.startswith("Not enough data") or text.startswith("No viewer"):
        return "wait"
    if text.startswith("No difference"):
        return "none"
    return ""


def _arm_header(arm: ArmReport) -> str:
    control = ' <span class="ctl">(control)</span>' if arm.control else ""
    return f'<span class="name">{esc(arm.arm)}</span>{control}'


def experiment_html(experiment: ExperimentReport) -> str:
    title = esc(experiment.title)
    if experiment.title != experiment.id:
        title += f" <code>{esc(experiment.id)}</code>"
    verdicts = "".join(
        f'<p class="verdict {_verdict_class(v)}">{esc(v)}</p>' for v in experiment.verdicts
    )
    colours = {arm.arm: PALETTE[i % len(PALETTE)] for i, arm in enumerate(experiment.arms)}

    rows = []
    for arm in experiment.arms:
        rows.append(
            f"<tr><td>{_arm_header(arm)}</td><td class=num>{arm.weight:g}</td>"
            f"<td class=num>{arm.viewers:,}</td>{_cell(arm.completed, colours[arm.arm])}"
            f"<td class=num>{percent(arm.dropped.share, 0)}</td>"
            f"<td class=num>{arm.still_open:,}</td></tr>"
        )
    arms = (
        '<table class="ab"><thead><tr><th>Arm</th><th class=num>Weight</th>'
        "<th class=num>Viewers</th><th>Completed</th><th class=num>Share (95% CI)</th>"
        "<th class=num>Dropped off</th><th class=num>Open</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )

    nodes = []
    for index, node in enumerate(experiment.arms[0].nodes):
        ids: list[str] = []
        for arm in experiment.arms:
            ids.extend(c.id for c in arm.nodes[index].choices if c.id not in ids)
        body = []
        for choice_id in ids:
            for arm in experiment.arms:
                found = next((c for c in arm.nodes[index].choices if c.id == choice_id), None)
                label = esc(found.label) if found else '<span class="muted">not offered</span>'
                share = found.taken if found else Share(0, arm.nodes[index].choosers)
                body.append(
                    f"<tr><td><code>{esc(choice_id)}</code></td><td>{_arm_header(arm)}</td>"
                    f"<td>{label}</td>{_cell(share, colours[arm.arm])}</tr>"
                )
        timing = " · ".join(
            f"{esc(arm.arm)}: {arm.nodes[index].choosers:,} chose here, median "
            f"{seconds(arm.nodes[index].decision_ms_median)}"
            for arm in experiment.arms
        )
        nodes.append(
            f"<h4>First choice at {esc(node.label)} <code>{esc(node.node)}</code></h4>"
            f'<p class="muted">{timing}</p>'
            '<table class="ab"><thead><tr><th>Choice</th><th>Arm</th><th>Wording</th>'
            "<th>Share</th><th class=num>(95% CI)</th></tr></thead><tbody>"
            + "".join(body)
            + "</tbody></table>"
        )

    test_rows = "".join(
        f"<tr><td><code>{esc(t.metric)}</code></td><td>{esc(t.method)}</td>"
        f"<td class=num>{'' if t.statistic is None else f'{t.statistic:.2f}'}</td>"
        f"<td class=num>{'' if t.df is None else t.df}</td>"
        f"<td class=num>{_p(t.p_value)}</td><td class=num>{_p(t.p_adjusted)}</td>"
        f"<td>{'yes' if t.enough_data else 'no'}</td></tr>"
        for t in experiment.tests
    )
    srm = experiment.srm
    srm_line = (
        f"Sample ratio check ({esc(srm.method)}): p = {_p(srm.p_value)}, "
        + ("<b>flagged</b>" if srm.flagged else "no mismatch")
        + f" (flagged below {es.SRM_ALPHA})."
    )
    notes = "".join(f'<p class="muted">{esc(n)}</p>' for n in experiment.notes)
    return (
        f'<div class="exp"><h3>{title}</h3>{verdicts}'
        f'<p class="muted">Unit: {esc(UNIT)}.</p>{arms}{"".join(nodes)}'
        '<details class="tests"><summary>Tests and how to read them</summary>'
        '<table class="ab"><thead><tr><th>Metric</th><th>Method</th><th class=num>Statistic'
        "</th><th class=num>df</th><th class=num>p</th><th class=num>p (Holm)</th>"
        f"<th>Enough data</th></tr></thead><tbody>{test_rows}</tbody></table>"
        f"<p class=muted>{srm_line} Pearson chi-square is read once, at the planned end; the "
        "sequential test (Lindon &amp; Malek 2022) stays valid however often you look, and its "
        "statistic is the log Bayes factor. p (Holm) adjusts for the experiment's several tests. "
        "Not enough data: an expected count under 5 or fewer than 50 viewers in an arm.</p>"
        f"{notes}</details></div>"
    )


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return "&lt;0.001" if value < 0.001 else f"{value:.3f}"


def experiments_html(experiments: list[ExperimentReport]) -> str:
    """The experiments section: a heading, a line on how to read it, one block each."""
    if not experiments:
        return ""
    return (
        "<h2>Experiments</h2>"
        '<p class="explain">A/B tests of the story: each viewer is in one arm, counted once '
        "through their first playthrough that reached a node the experiment changes. The "
        "first lines say what the data show, in words; the bars are shares with 95% "
        "intervals.</p>" + "".join(experiment_html(e) for e in experiments)
    )
