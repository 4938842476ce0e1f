"""Experiment reports: per-arm metrics, tests, effect sizes and a verdict in plain words.

The unit is the **viewer** (the unit of assignment), each counted once through their first
exposed playthrough (:mod:`branching.log.exposures` keeps the counts; any engine that
computes the same :data:`ArmCounts` gets the same report). This module turns counts into what
a producer reads; the statistics themselves are in :mod:`analytics.experiment_stats`.

What is measured per arm: exposed viewers; at each node the experiment changes, the viewers'
first choice there (shares with 95% Wilson intervals, timer defaults counted as the choice
they took); completion (the first exposed playthrough reached an ending); drop-off after
exposure (it quit or failed); the ending mix among completers; the median decision time at
the changed nodes (explicit picks).

Tests, per experiment: Pearson's chi-square of independence (no continuity correction) on
arms × choices at each changed node with choices, on arms × {completed, not}, and on arms ×
endings; p-values Holm-adjusted across the experiment's tests, shown beside the raw ones. The
same tables get the anytime-valid sequential test (safe to look at daily). Sample ratio
mismatch is a chi-square goodness of fit of viewers per arm to the weights, flagged at
p < 0.001. "Not enough data" when an expected count is under 5 or an arm has fewer than 50
viewers, with the viewers per arm needed to see the difference observed so far.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analytics import experiment_stats as es
from analytics.stats import histogram_percentile, wilson
from branching.log.encoding import NUM_BUCKETS
from branching.story.experiments import node_for_arms
from branching.story.model import Experiment, Story

#: (metric, node, key) -> viewers; see :mod:`branching.log.exposures` for the metrics.
FactCounts = Counter[tuple[str, str, str]]
#: arm -> its counts.
ArmCounts = Mapping[str, FactCounts]

UNIT = (
    "viewer: each exposed viewer counted once, through their first playthrough exposed to the "
    "experiment (several playthroughs of one viewer are not independent)"
)
Interval = tuple[float, float]


@dataclass(frozen=True)
class Share:
    """``count`` out of ``total`` viewers, with a 95% Wilson interval."""

    count: int
    total: int

    @property
    def share(self) -> float | None:
        return self.count / self.total if self.total else None

    @property
    def ci(self) -> Interval | None:
        return wilson(self.count, self.total) if self.total else None

    def to_json(self) -> dict[str, Any]:
        ci = self.ci
        return {
            "count": self.count,
            "of": self.total,
            "share": self.share,
            "ci": None if ci is None else [ci[0], ci[1]],
        }


@dataclass(frozen=True)
class ArmChoice:
    id: str
    label: str
    taken: Share
    timeouts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "choice": self.id,
            "label": self.label,
            **self.taken.to_json(),
            "timeouts": self.timeouts,
        }


@dataclass(frozen=True)
class ArmNode:
    """What an arm's viewers chose first at one node the experiment changes."""

    node: str
    label: str
    choosers: int
    choices: list[ArmChoice]
    decision_ms_median: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "label": self.label,
            "viewers": self.choosers,
            "choices": [c.to_json() for c in self.choices],
            "decision_ms_median": None
            if self.decision_ms_median is None
            else round(self.decision_ms_median),
        }


@dataclass(frozen=True)
class ArmReport:
    arm: str
    weight: float
    control: bool
    viewers: int
    completed: Share
    dropped: Share
    still_open: int
    endings: list[tuple[str, str, Share]]
    nodes: list[ArmNode]

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "weight": self.weight,
            "control": self.control,
            "viewers": self.viewers,
            "completion": self.completed.to_json(),
            "drop_off": self.dropped.to_json(),
            "open": self.still_open,
            "endings": [
                {"ending": ending, "label": label, **share.to_json()}
                for ending, label, share in self.endings
            ],
            "nodes": [n.to_json() for n in self.nodes],
        }


@dataclass(frozen=True)
class TestResult:
    """One test of the experiment. ``metric`` is ``choice:<node>``, ``completion`` or
    ``endings``; ``p_adjusted`` is Holm's, within the tests of the same method."""

    metric: str
    method: str
    statistic: float | None
    df: int | None
    p_value: float | None
    p_adjusted: float | None
    enough_data: bool
    reason: str | None = None
    #: Viewers per arm needed to detect the difference seen so far (80% power, α = 0.05).
    needed_per_arm: int | None = None
    #: False when every viewer fell in one category (or one arm): nothing to compare.
    comparable: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "method": self.method,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "enough_data": self.enough_data,
            "reason": self.reason,
            "needed_per_arm": self.needed_per_arm,
        }


@dataclass(frozen=True)
class Effect:
    """An arm against the control on one share (a choice at a node, or completion)."""

    arm: str
    metric: str
    key: str
    #: What the arm's viewers saw, and what the control's saw (the wording may differ).
    label: str
    control_label: str
    control: Share
    treatment: Share
    difference: es.EffectEstimate
    relative: es.EffectEstimate

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.arm,
            "metric": self.metric,
            "key": self.key,
            "label": self.label,
            "control_label": self.control_label,
            "control_share": self.control.share,
            "arm_share": self.treatment.share,
            "difference": _estimate_json(self.difference),
            "relative": _estimate_json(self.relative),
        }


def _estimate_json(estimate: es.EffectEstimate) -> dict[str, Any]:
    return {
        "estimate": estimate.estimate,
        "ci": None
        if estimate.low is None or estimate.high is None
        else [estimate.low, estimate.high],
        "method": estimate.method,
        "note": estimate.reason,
    }


@dataclass
class ExperimentReport:
    id: str
    title: str
    control: str
    arms: list[ArmReport]
    tests: list[TestResult]
    srm: es.SampleRatioCheck
    effects: list[Effect]
    #: Plain sentences, most important first: what a producer reads in ten seconds.
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def viewers(self) -> int:
        return sum(a.viewers for a in self.arms)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "unit": UNIT,
            "control": self.control,
            "viewers": self.viewers,
            "arms": [a.to_json() for a in self.arms],
            "tests": [t.to_json() for t in self.tests],
            "srm": {
                "method": self.srm.method,
                "statistic": self.srm.statistic,
                "df": self.srm.df,
                "p_value": self.srm.p_value,
                "flagged": self.srm.flagged,
                "expected": list(self.srm.expected),
                "note": self.srm.reason,
            },
            "effects": [e.to_json() for e in self.effects],
            "verdicts": self.verdicts,
            "notes": self.notes,
        }


def changed_nodes(story: Story, experiment_id: str) -> list[str]:
    """Nodes whose variants this experiment has, in story order."""
    return [node_id for node_id, node in story.nodes.items() if experiment_id in node.variants]


def build_experiment(story: Story, experiment_id: str, counts: ArmCounts) -> ExperimentReport:
    """The report of one experiment of ``story`` from its per-arm counts."""
    experiment = story.experiments[experiment_id]
    arms = list(experiment.arms)
    control = experiment.control
    per_arm = {arm: counts.get(arm, Counter()) for arm in arms}
    nodes = changed_nodes(story, experiment_id)
    endings = _ending_ids(story, per_arm)
    reports = [
        _arm_report(story, experiment_id, experiment, arm, per_arm[arm], nodes, endings)
        for arm in arms
    ]
    weights = [float(experiment.arms[arm]) for arm in arms]
    srm = es.sample_ratio_mismatch([r.viewers for r in reports], weights)

    fixed: list[TestResult] = []
    sequential: list[TestResult] = []
    effects: list[Effect] = []
    for node_id in nodes:
        choice_ids = _choice_ids(reports, node_id)
        if len(choice_ids) < 2:
            continue
        table = [[_node_share(r, node_id, c).count for c in choice_ids] for r in reports]
        metric = f"choice:{node_id}"
        fixed.append(_fixed(metric, table))
        sequential.append(_sequential(metric, table, weights))
        for r in reports[1:]:
            for c in choice_ids:
                labels = (
                    _choice_label(story, experiment_id, r.arm, node_id, c),
                    _choice_label(story, experiment_id, control, node_id, c),
                )
                control_share = _node_share(reports[0], node_id, c)
                effects.append(
                    _effect(r.arm, metric, c, labels, control_share, _node_share(r, node_id, c))
                )
    completion = [[r.completed.count, r.viewers - r.completed.count] for r in reports]
    fixed.append(_fixed("completion", completion))
    sequential.append(_sequential("completion", completion, weights))
    for r in reports[1:]:
        labels = ("completion", "completion")
        effects.append(
            _effect(r.arm, "completion", "completed", labels, reports[0].completed, r.completed)
        )
    if len(endings) >= 2:
        table = [[share.count for _, _, share in r.endings] for r in reports]
        fixed.append(_fixed("endings", table))
        sequential.append(_sequential("endings", table, weights))

    tests = _adjusted(fixed) + _adjusted(sequential)
    report = ExperimentReport(
        id=experiment_id,
        title=experiment.title or experiment_id,
        control=control,
        arms=reports,
        tests=tests,
        srm=srm,
        effects=effects,
    )
    report.verdicts = verdicts(report)
    if not nodes:
        report.notes.append("No node of the story has variants for this experiment.")
    return report


# --- Per arm ------------------------------------------------------------------------------------


def _ending_ids(story: Story, per_arm: Mapping[str, FactCounts]) -> list[str]:
    seen = {key for counts in per_arm.values() for (metric, _, key) in counts if metric == "ending"}
    authored = [e for e in story.endings() if e in seen]
    return authored + sorted(seen - set(authored))


def _arm_report(
    story: Story,
    experiment_id: str,
    experiment: Experiment,
    arm: str,
    counts: FactCounts,
    nodes: Sequence[str],
    endings: Sequence[str],
) -> ArmReport:
    viewers = counts[("exposed", "", "")]
    completed = counts[("outcome", "", "completed")]
    dropped = counts[("outcome", "", "quit")] + counts[("outcome", "", "failed")]
    ending_shares = [
        (e, _ending_label(story, e), Share(counts[("ending", "", e)], completed)) for e in endings
    ]
    arm_nodes = []
    for node_id in nodes:
        taken = {
            key: n
            for (metric, node, key), n in counts.items()
            if metric == "choice" and node == node_id
        }
        choosers = sum(taken.values())
        ids = _authored_choices(story, experiment_id, arm, node_id)
        ids += sorted(set(taken) - set(ids))
        histogram = [counts[("time", node_id, str(b))] for b in range(NUM_BUCKETS)]
        timeouts = counts[("timeout", node_id, "")]  # per node: they all took the default
        default = _timer_default(story, experiment_id, arm, node_id)
        choices = [
            ArmChoice(
                c,
                _choice_label(story, experiment_id, arm, node_id, c),
                Share(taken.get(c, 0), choosers),
                timeouts if c == default else 0,
            )
            for c in ids
        ]
        arm_nodes.append(
            ArmNode(
                node=node_id,
                label=_node_label(story, experiment_id, arm, node_id),
                choosers=choosers,
                choices=choices,
                decision_ms_median=histogram_percentile(histogram, 0.5),
            )
        )
    return ArmReport(
        arm=arm,
        weight=float(experiment.arms[arm]),
        control=arm == experiment.control,
        viewers=viewers,
        completed=Share(completed, viewers),
        dropped=Share(dropped, viewers),
        still_open=counts[("outcome", "", "open")],
        endings=ending_shares,
        nodes=arm_nodes,
    )


def _authored_choices(story: Story, experiment_id: str, arm: str, node_id: str) -> list[str]:
    node = node_for_arms(story.nodes[node_id], {experiment_id: arm})
    return [c.key for c in node.choices or []]


def _choice_label(story: Story, experiment_id: str, arm: str, node_id: str, choice: str) -> str:
    node = story.nodes.get(node_id)
    if node is not None:
        for c in node_for_arms(node, {experiment_id: arm}).choices or []:
            if c.key == choice:
                return c.label
    return choice


def _timer_default(story: Story, experiment_id: str, arm: str, node_id: str) -> str | None:
    node = node_for_arms(story.nodes[node_id], {experiment_id: arm})
    return None if node.timer is None else node.timer.default


def _node_label(story: Story, experiment_id: str, arm: str, node_id: str) -> str:
    from analytics.report import node_label

    return node_label(node_id, node_for_arms(story.nodes[node_id], {experiment_id: arm}))


def _ending_label(story: Story, ending: str) -> str:
    node = story.nodes.get(ending)
    info = node.ending_info if node is not None else None
    return (info.title if info and info.title else None) or (node.title if node else None) or ending


def _node_share(report: ArmReport, node_id: str, choice: str) -> Share:
    for node in report.nodes:
        if node.node == node_id:
            for c in node.choices:
                if c.id == choice:
                    return c.taken
            return Share(0, node.choosers)
    return Share(0, 0)


def _choice_ids(reports: Sequence[ArmReport], node_id: str) -> list[str]:
    """Choice ids offered or taken at the node in any arm, in first-seen order."""
    ids: list[str] = []
    for report in reports:
        for node in report.nodes:
            if node.node == node_id:
                ids.extend(c.id for c in node.choices if c.id not in ids)
    return ids


# --- Tests and effects ----------------------------------------------------------------------------


def _fixed(metric: str, table: list[list[int]]) -> TestResult:
    test = es.pearson_independence(table)
    needed = None if test.enough_data else _needed(table)
    return TestResult(
        metric,
        test.method,
        test.statistic,
        test.df,
        test.p_value,
        None,
        test.enough_data,
        test.reason,
        needed,
        test.arms >= 2 and test.categories >= 2,
    )


def _sequential(metric: str, table: list[list[int]], weights: list[float]) -> TestResult:
    test = es.sequential_independence(table, weights)
    return TestResult(
        metric,
        test.method,
        test.log_bayes_factor,
        None,
        test.p_value,
        None,
        test.reason is None,
        test.reason,
    )


def _adjusted(tests: list[TestResult]) -> list[TestResult]:
    adjusted = es.holm([t.p_value for t in tests])
    return [
        TestResult(
            t.metric,
            t.method,
            t.statistic,
            t.df,
            t.p_value,
            p,
            t.enough_data,
            t.reason,
            t.needed_per_arm,
            t.comparable,
        )
        for t, p in zip(tests, adjusted, strict=True)
    ]


def _needed(table: list[list[int]]) -> int | None:
    """Viewers per arm needed to detect, at 80% power, the biggest difference in any
    category's share between the first row (control) and another row."""
    if len(table) < 2:
        return None
    control_total = sum(table[0])
    best: int | None = None
    for row in table[1:]:
        total = sum(row)
        if not control_total or not total:
            continue
        for column in range(len(row)):
            p0, p1 = table[0][column] / control_total, row[column] / total
            if p0 == p1:
                continue
            n = es.sample_size_per_arm(p0, p1)
            if n is not None and (best is None or n > best):
                best = n
    return best


def _effect(
    arm: str, metric: str, key: str, labels: tuple[str, str], control: Share, treatment: Share
) -> Effect:
    return Effect(
        arm,
        metric,
        key,
        labels[0],
        labels[1],
        control,
        treatment,
        es.difference_interval(treatment.count, treatment.total, control.count, control.total),
        es.relative_difference_interval(
            treatment.count, treatment.total, control.count, control.total
        ),
    )


# --- In words -------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def _points(value: float | None) -> str:
    """Percentage points, signed; a difference that rounds to nothing is ``0``, not ``-0``.

    >>> _points(0.114), _points(-0.004), _points(None)
    ('+11', '0', '–')
    """
    if value is None:
        return "–"
    rounded = round(value * 100)
    return "0" if rounded == 0 else f"{rounded:+d}"


def _p(value: float | None) -> str:
    """``p = 0.012`` or ``p < 0.001``."""
    if value is None:
        return "p unknown"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def verdicts(report: ExperimentReport) -> list[str]:
    """Plain sentences, most important first."""
    said: list[str] = []
    srm = report.srm
    if srm.flagged:
        split = ", ".join(f"{a.arm} {a.viewers:,}" for a in report.arms)
        said.append(
            f"Sample ratio mismatch ({_p(srm.p_value)}): viewers are not split between the "
            f"arms as the weights say ({split}), so these results cannot be trusted. Look for "
            "a bug in assignment or in logging before reading anything else."
        )
    if not report.viewers:
        return [*said, "No viewer has been exposed to this experiment yet."]
    fixed = {t.metric: t for t in report.tests if t.method == es.PEARSON}
    sequential = {t.metric: t for t in report.tests if t.method == es.SEQUENTIAL}
    srm_note = "" if srm.flagged else "; no sample ratio mismatch"
    for metric, test in fixed.items():
        subject = _subject(report, metric)
        if not test.comparable:
            said.append(f"Nothing to compare on {subject}: {test.reason}.")
            continue
        if not test.enough_data:
            need = (
                f"; about {test.needed_per_arm:,} viewers per arm are needed to detect the "
                "difference seen so far"
                if test.needed_per_arm
                else ""
            )
            split = ", ".join(f"{a.viewers:,} in {a.arm}" for a in report.arms)
            said.append(f"Not enough data yet on {subject} ({split}){need}.")
            continue
        best = _biggest(report, metric)
        seq = sequential.get(metric)
        anytime = f"; anytime-valid {_p(seq.p_value)}" if seq else ""
        significant = test.p_adjusted is not None and test.p_adjusted < es.ALPHA
        if best is None:  # the ending mix: many categories, no single share to quote
            said.append(
                (
                    f"The ending mix differs between the arms; {_p(test.p_adjusted)}"
                    if significant
                    else f"No difference shown in the ending mix; {_p(test.p_adjusted)}"
                )
                + f" (Pearson chi-square, Holm-adjusted{anytime})."
            )
            continue
        d = best.difference
        ci = (
            f", 95% CI {_points(d.low)} to {_points(d.high)}"
            if d.low is not None and d.high is not None
            else ""
        )
        change = (
            f"{_pct(best.control.share)} to {_pct(best.treatment.share)} "
            f"({_points(d.estimate)} points{ci})"
        )
        where = f"'{best.label}'" if best.metric != "completion" else "completion"
        if best.metric != "completion" and best.control_label != best.label:
            where += f" (worded '{best.control_label}' in {report.control})"
        if significant:
            verb = "raises" if (d.estimate or 0) > 0 else "lowers"
            said.append(
                f"Arm {best.arm} {verb} {where} from {change}; {_p(test.p_adjusted)} "
                f"(Pearson chi-square on {subject}, Holm-adjusted{anytime}){srm_note}."
            )
        else:
            said.append(
                f"No difference shown on {subject}: {where} went from {change} in arm "
                f"{best.arm}; {_p(test.p_adjusted)} (Pearson chi-square, Holm-adjusted"
                f"{anytime}), not below {es.ALPHA}.{_unadjusted_note(report, metric, d, fixed)}"
            )
    return said


def _unadjusted_note(
    report: ExperimentReport, metric: str, d: es.EffectEstimate, tests: Mapping[str, object]
) -> str:
    """Why an interval that leaves out 0 sits beside "no difference shown": it is the largest
    of several shares, picked after looking, and not adjusted for that or for the other tests,
    while the verdict's test is of the whole table and adjusted."""
    if d.low is None or d.high is None or d.low <= 0 <= d.high:
        return ""
    shares = sum(1 for e in report.effects if e.metric == metric)
    picked = f"the largest change of {shares} compared, " if shares > 1 else ""
    others = len(tests) - 1
    adjusted = (
        f" or for the experiment's {others} other test{'s' if others != 1 else ''}"
        if others
        else ""
    )
    # One decimal: a bound of +0.4 points would read "0" at the verdict's precision.
    bounds = f"{d.low * 100:+.1f} to {d.high * 100:+.1f} points"
    return (
        f" Its 95% CI ({bounds}) leaves out 0 but is not a verdict: it is {picked}an interval "
        f"for this one share, not adjusted for picking it{adjusted}."
    )


def _subject(report: ExperimentReport, metric: str) -> str:
    if metric.startswith("choice:"):
        node_id = metric.split(":", 1)[1]
        for node in report.arms[0].nodes:
            if node.node == node_id:
                return f"the choice at '{node.label}'"
        return f"the choice at {node_id}"
    return "completion" if metric == "completion" else "the ending mix"


def _biggest(report: ExperimentReport, metric: str) -> Effect | None:
    """The effect with the largest absolute difference for a metric (endings: none)."""
    candidates = [
        e for e in report.effects if e.metric == metric and e.difference.estimate is not None
    ]
    if not candidates:
        return None
    # The biggest change; between equal ones (the two sides of a two-way choice), the rise.
    return max(
        candidates,
        key=lambda e: (round(abs(e.difference.estimate or 0.0), 9), e.difference.estimate or 0.0),
    )
