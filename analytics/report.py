"""A report: the metrics producers read, derived from a :class:`~analytics.tally.Tally` and the
authored story graph.

This is the one place where counts become rates, shares, intervals, percentiles, rankings and
coverage, whatever the counts came from (roll-ups or raw events). Renderers only format a
:class:`Report`; :meth:`Report.to_json` is the documented JSON document (docs/analytics.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analytics.stats import histogram_percentile, ratio, wilson
from analytics.tally import STATUSES, ChoiceCounts, PathCounts, Tally, check_counts
from branching.log.encoding import REWIND_MARK
from branching.log.state import PlaythroughStatus
from branching.story.model import Node, Story

if TYPE_CHECKING:
    from analytics.experiments import ExperimentReport

#: Version of the JSON document; bumped only for incompatible changes.
REPORT_FORMAT = "branching-report/1"

#: What each metric means; printed on every report and in docs/analytics.md.
DEFINITIONS: dict[str, str] = {
    "unit": "Counts are playthroughs (one viewer's run from the start node to an ending, a quit, "
    "a fault, or still open) unless a figure says viewers.",
    "started": "Playthroughs in the selection.",
    "completed": "Playthroughs that reached an ending.",
    "quit": "Playthroughs the viewer left before an ending.",
    "failed": "Playthroughs stopped by a runtime fault in the story.",
    "open": "Playthroughs with no ending, quit or fault recorded (still playing or abandoned).",
    "reached": "Playthroughs that entered the node at least once.",
    "visits": "Entries into the node, loops and restarts included (rewinds are not entries).",
    "choices_made": "Choices taken at the node, explicit picks and timer defaults.",
    "drop_offs": "Playthroughs that quit or failed with this node as their last node "
    "(open playthroughs are counted in open_here instead).",
    "drop_off_rate": "drop_offs / reached.",
    "timeouts": "Timer defaults taken at the node (the viewer did not pick in time).",
    "decision_time": "Median and 90th percentile of the time from the choices being shown to an "
    "explicit pick (timer defaults excluded), from a log-scale histogram: within about 9%.",
    "share": "count / explicit picks at the node, with a 95% Wilson interval.",
    "timeout_share": "timeouts of this choice / all choices made at the node.",
    "taken_share": "(count + timeouts) / all choices made at the node: where traffic went.",
    "path": "The nodes a playthrough entered, in order, from the start to its last node; "
    f"'{REWIND_MARK}n' marks a rewind back to node n.",
    "path_share": "Playthroughs with the path and outcome / started.",
    "ending_share": "Playthroughs completed at the ending / completed.",
    "completion_rate": "completed / started.",
    "rewinds": "Rewinds to an earlier choice point; per node, rewinds away from the node.",
    "dark": "Authored content no playthrough in the selection reached: nodes never entered, "
    "choices never taken, endings never completed.",
}

_SPACE = re.compile(r"\s+")
_MARKDOWN = re.compile(r"[*_`#>]+")


def node_label(node_id: str, node: Node | None, width: int = 48) -> str:
    """A short human name for a node: its title, else the first words of its text.

    >>> node_label("n1", Node(text="**Hut 14.** The door was locked after I sat down.", choices=[]))
    'Hut 14. The door was locked after I sat down.'
    """
    if node is None:
        return node_id
    # Only the start of the text can show, so only it is cleaned (long passages stay cheap).
    text = node.title or _SPACE.sub(" ", _MARKDOWN.sub("", node.text[: width * 3])).strip()
    if not text:
        return node_id
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


@dataclass(frozen=True)
class Selection:
    """Which playthroughs a report covers."""

    story_id: str
    #: Story versions included; ``None`` = every version.
    versions: tuple[str | None, ...] | None = None
    #: Only this variant; ``None`` = every variant.
    variant: str | None = None
    #: First and last UTC day (inclusive) a playthrough started on; ``None`` = unbounded.
    since: dt.date | None = None
    until: dt.date | None = None
    #: Origins included (``live``, ``imported``, ``simulated``); ``None`` = every origin.
    origins: tuple[str, ...] | None = None
    #: Only playthroughs shown in this language (``fr`` also matches ``fr-CA``); ``None`` =
    #: every language.
    language: str | None = None

    def matches(
        self,
        story_id: str,
        version: str | None,
        variant: str | None,
        day: str,
        origin: str = "live",
        language: str | None = None,
    ) -> bool:
        if story_id != self.story_id:
            return False
        if self.language is not None and not language_matches(self.language, language):
            return False
        if self.versions is not None and version not in self.versions:
            return False
        if self.variant is not None and variant != self.variant:
            return False
        if self.origins is not None and origin not in self.origins:
            return False
        if self.since is not None and day < self.since.isoformat():
            return False
        return not (self.until is not None and day > self.until.isoformat())

    @property
    def dated(self) -> bool:
        return self.since is not None or self.until is not None

    def describe(self) -> str:
        """The filters in words, for report headers."""
        if self.origins is None:
            parts = ["playthroughs of every origin"]
        else:
            parts = [" and ".join(self.origins) + " playthroughs"]
        if self.versions is None:
            parts.append("all versions")
        else:
            parts.append(
                "version " + ", ".join("(none)" if v is None else v for v in self.versions)
            )
        parts.append("all variants" if self.variant is None else f"variant {self.variant}")
        if self.language is not None:
            parts.append(f"language {self.language}")
        if self.since and self.until:
            parts.append(f"started {self.since} to {self.until} (UTC)")
        elif self.since:
            parts.append(f"started on or after {self.since} (UTC)")
        elif self.until:
            parts.append(f"started on or before {self.until} (UTC)")
        else:
            parts.append("all dates")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "versions": None if self.versions is None else list(self.versions),
            "variant": self.variant,
            "since": None if self.since is None else self.since.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "origins": None if self.origins is None else list(self.origins),
            "language": self.language,
        }


def language_matches(wanted: str, language: str | None) -> bool:
    """Whether a playthrough shown in ``language`` is one of ``wanted``: the same tag, or a
    regional variant of a tag without region (``fr`` matches ``fr-CA``; ``fr-CA`` only itself).

    >>> language_matches("fr", "fr-CA"), language_matches("fr-CA", "fr")
    (True, False)
    >>> language_matches("en", None)
    False
    """
    if language is None:
        return False
    a, b = wanted.replace("_", "-").lower(), language.replace("_", "-").lower()
    return a == b or ("-" not in a and b.split("-", 1)[0] == a)


#: How playthroughs without a recorded language (logged before branching recorded it) are
#: named in by-language columns.
UNKNOWN_LANGUAGE = "unknown"

Interval = tuple[float, float]


def _share(part: int, whole: int) -> tuple[float | None, Interval | None]:
    if not whole:
        return None, None
    return part / whole, wilson(part, whole)


@dataclass
class ChoiceReport:
    id: str
    to: str
    label: str
    authored: bool
    count: int
    share: float | None
    share_ci: Interval | None
    timeouts: int
    timeout_share: float | None
    timeout_share_ci: Interval | None
    taken: int
    taken_share: float | None
    taken_share_ci: Interval | None
    #: Whether this choice is the node's timer default.
    default: bool = False
    #: Explicit picks and their share per language (only when the report covers several).
    by_language: dict[str, LanguageShare] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "to": self.to,
            "label": self.label,
            "authored": self.authored,
            "default": self.default,
            "count": self.count,
            "share": self.share,
            "share_ci": _ci(self.share_ci),
            "timeouts": self.timeouts,
            "timeout_share": self.timeout_share,
            "timeout_share_ci": _ci(self.timeout_share_ci),
            "taken": self.taken,
            "taken_share": self.taken_share,
            "taken_share_ci": _ci(self.taken_share_ci),
            "by_language": {
                language: share.to_json() for language, share in self.by_language.items()
            },
        }


@dataclass
class LanguageShare:
    """A choice's explicit picks in one language, as a share of that language's picks there."""

    count: int
    share: float | None
    share_ci: Interval | None

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "share": self.share, "share_ci": _ci(self.share_ci)}


@dataclass
class NodeReport:
    id: str
    label: str
    authored: bool
    #: Ending kind when the node is an authored ending.
    ending: str | None
    reached: int
    visits: int
    choices_made: int
    explicit: int
    timeouts: int
    drop_offs: int
    quits: int
    failures: int
    open_here: int
    drop_off_rate: float | None
    drop_off_ci: Interval | None
    rewinds: int
    decision_ms_median: float | None
    decision_ms_p90: float | None
    choices: list[ChoiceReport] = field(default_factory=list)
    #: Node has a timer.
    timed: bool = False

    @property
    def is_branch(self) -> bool:
        """More than one choice authored or taken here."""
        return len(self.choices) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "authored": self.authored,
            "ending": self.ending,
            "timed": self.timed,
            "reached": self.reached,
            "visits": self.visits,
            "choices_made": self.choices_made,
            "explicit": self.explicit,
            "timeouts": self.timeouts,
            "drop_offs": self.drop_offs,
            "quits": self.quits,
            "failures": self.failures,
            "open_here": self.open_here,
            "drop_off_rate": self.drop_off_rate,
            "drop_off_ci": _ci(self.drop_off_ci),
            "rewinds": self.rewinds,
            "decision_ms_median": _ms(self.decision_ms_median),
            "decision_ms_p90": _ms(self.decision_ms_p90),
            "choices": [c.to_json() for c in self.choices],
        }


@dataclass
class PathReport:
    steps: tuple[str, ...]
    playthroughs: int
    share: float | None
    status: PlaythroughStatus
    last_node: str

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": list(self.steps),
            "playthroughs": self.playthroughs,
            "share": self.share,
            "outcome": {"status": self.status, "node": self.last_node or None},
        }


@dataclass
class EndingReport:
    id: str
    label: str
    kind: str | None
    authored: bool
    playthroughs: int
    share: float | None
    share_ci: Interval | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "authored": self.authored,
            "playthroughs": self.playthroughs,
            "share": self.share,
            "share_ci": _ci(self.share_ci),
        }


@dataclass
class Summary:
    started: int
    completed: int
    quit: int
    failed: int
    open: int
    completion_rate: float | None
    completion_ci: Interval | None
    viewers: int
    rewinds: int
    rewound: int
    explicit_choices: int
    timeouts: int
    distinct_paths: int

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "completed": self.completed,
            "quit": self.quit,
            "failed": self.failed,
            "open": self.open,
            "completion_rate": self.completion_rate,
            "completion_ci": _ci(self.completion_ci),
            "viewers": self.viewers,
            "rewinds": self.rewinds,
            "rewound": self.rewound,
            "explicit_choices": self.explicit_choices,
            "timeouts": self.timeouts,
            "distinct_paths": self.distinct_paths,
        }


@dataclass
class DarkChoice:
    node: str
    id: str
    to: str
    label: str


@dataclass
class Coverage:
    nodes_authored: int
    nodes_reached: int
    dark_nodes: list[str]
    choices_authored: int
    choices_taken: int
    dark_choices: list[DarkChoice]
    endings_authored: int
    endings_reached: int
    dark_endings: list[str]
    #: Nodes in the log that the story file does not have (another version of the story?).
    unknown_nodes: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": {
                "authored": self.nodes_authored,
                "reached": self.nodes_reached,
                "dark": self.dark_nodes,
            },
            "choices": {
                "authored": self.choices_authored,
                "taken": self.choices_taken,
                "dark": [{"node": c.node, "id": c.id, "to": c.to} for c in self.dark_choices],
            },
            "endings": {
                "authored": self.endings_authored,
                "reached": self.endings_reached,
                "dark": self.dark_endings,
            },
            "unknown_nodes": self.unknown_nodes,
        }


@dataclass
class StoryInfo:
    id: str
    title: str
    version: str | None
    hash: str
    start: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "version": self.version,
            "hash": self.hash,
            "start": self.start,
        }


@dataclass
class Report:
    story: StoryInfo
    selection: Selection
    summary: Summary
    #: Every authored node (story order), then nodes only the log knows (by id).
    nodes: list[NodeReport]
    #: Most popular first, at most ``top`` of them.
    paths: list[PathReport]
    endings: list[EndingReport]
    coverage: Coverage
    generated_at: str
    source: str = ""
    #: Things the producer should know about the data (mixed versions, unknown nodes, ...).
    notes: list[str] = field(default_factory=list)
    #: Labels of path steps (node id -> short label), for renderers.
    labels: dict[str, str] = field(default_factory=dict)
    #: The story's A/B experiments, analysed per viewer (:mod:`analytics.experiments`).
    experiments: list[ExperimentReport] = field(default_factory=list)
    #: Playthroughs per language the text was shown in, most first (``unknown``: logged before
    #: languages were). Choices have shares per language when there is more than one.
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def compares_languages(self) -> bool:
        """Whether choice shares are shown per language, side by side."""
        return len(self.languages) > 1

    def node(self, node_id: str) -> NodeReport | None:
        for node in self.nodes:
            if node.id == node_id:
                return node
        return None

    def by_drop_off(self) -> list[NodeReport]:
        """Nodes with drop-offs, biggest first (then highest rate, then story order)."""
        dropping = [n for n in self.nodes if n.drop_offs]
        return sorted(dropping, key=lambda n: (-n.drop_offs, -(n.drop_off_rate or 0.0)))

    def rate_floor(self) -> int:
        """Fewest playthroughs a node needs to reach to be ranked by its drop-off rate: 20, or
        1% of those started when that is more (a rate of 1 in 1 says nothing)."""
        return max(20, self.summary.started // 100)

    def by_drop_off_rate(self) -> list[NodeReport]:
        """Nodes with drop-offs reached by at least :meth:`rate_floor` playthroughs, highest
        rate first, ranked by the low end of its 95% interval so that 10 of 25 does not outrank
        300 of 1,000 (then by rate, then by count).

        Endings are left out: reaching one is finishing, not dropping off.
        """
        floor = self.rate_floor()
        dropping = [n for n in self.nodes if n.drop_offs and not n.ending and n.reached >= floor]
        return sorted(
            dropping,
            key=lambda n: (
                -(n.drop_off_ci[0] if n.drop_off_ci else 0.0),
                -(n.drop_off_rate or 0.0),
                -n.drop_offs,
            ),
        )

    def label(self, node_id: str) -> str:
        """A node's title or first words (its id when it has neither, or is not in the story)."""
        return self.labels.get(node_id, node_id)

    def branch_nodes(self) -> list[NodeReport]:
        """Nodes offering more than one choice, by choices made there (busiest first)."""
        return sorted(
            (n for n in self.nodes if n.is_branch and n.choices_made),
            key=lambda n: -n.choices_made,
        )

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON document (docs/analytics.md, "JSON document")."""
        return {
            "format": REPORT_FORMAT,
            "generated_at": self.generated_at,
            "source": self.source,
            "unit": "playthrough",
            "story": self.story.to_json(),
            "filters": self.selection.to_json(),
            "playthroughs": self.summary.to_json(),
            "languages": [
                {"language": language, "playthroughs": count}
                for language, count in self.languages.items()
            ],
            "nodes": [n.to_json() for n in self.nodes],
            "paths": [p.to_json() for p in self.paths],
            "endings": [e.to_json() for e in self.endings],
            "coverage": self.coverage.to_json(),
            "experiments": [e.to_json() for e in self.experiments],
            "notes": self.notes,
            "definitions": DEFINITIONS,
        }


def _ci(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval[0], interval[1]]


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def _ordered_paths(tally: Tally) -> list[tuple[tuple[int, PlaythroughStatus, str], PathCounts]]:
    # The same order as the roll-up read (ORDER BY playthroughs DESC, path_hash, status, last).
    return sorted(tally.paths.items(), key=lambda item: (-item[1].playthroughs, item[0]))


def build_report(
    story: Story,
    tally: Tally,
    selection: Selection,
    *,
    top: int = 20,
    source: str = "",
    notes: list[str] | None = None,
    now: dt.datetime | None = None,
    languages: Mapping[str, int] | None = None,
    by_language: Mapping[str, Mapping[tuple[str, str, str], ChoiceCounts]] | None = None,
) -> Report:
    """Derive every metric of the report from ``tally`` against the authored ``story``.

    ``languages`` gives playthroughs per language; ``by_language`` the choice counts of each
    language, for shares side by side (given when there is more than one language).
    """
    check_counts(tally)
    started = tally.playthroughs
    by_status: dict[PlaythroughStatus, int] = dict.fromkeys(STATUSES, 0)
    # Playthroughs per status and last node: drop-offs, open ones and endings per node.
    last_at: dict[PlaythroughStatus, Counter[str]] = {status: Counter() for status in STATUSES}
    rewound = 0
    for (status, last, did_rewind), count in tally.outcomes.items():
        by_status[status] += count
        if did_rewind:
            rewound += count
        if last:
            last_at[status][last] += count
    quits, failures, open_here = last_at["quit"], last_at["failed"], last_at["open"]
    completions = last_at["completed"]

    taken_choices: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    for node_id, choice_id, to in tally.choices:
        taken_choices[node_id].append((choice_id, to))

    # language -> node -> (choice id, target) -> explicit picks, for shares side by side.
    picks: dict[str, defaultdict[str, dict[tuple[str, str], int]]] = {}
    for language, counts in (by_language or {}).items():
        per_node = picks[language] = defaultdict(dict)
        for (node_id, choice_id, to), choice_counts in counts.items():
            per_node[node_id][(choice_id, to)] = choice_counts.explicit
    labels = {node_id: node_label(node_id, node) for node_id, node in story.nodes.items()}
    nodes: list[NodeReport] = []
    node_ids = list(story.nodes)
    in_log = set(tally.nodes) | set(quits) | set(failures) | set(open_here) | set(completions)
    unknown = sorted(in_log - set(story.nodes))
    for node_id in node_ids + unknown:
        node = story.nodes.get(node_id)
        nodes.append(
            _node_report(
                node_id,
                labels.get(node_id, node_id),
                node,
                tally,
                taken_choices.get(node_id, []),
                quits[node_id],
                failures[node_id],
                open_here[node_id],
                {language: per_node.get(node_id, {}) for language, per_node in picks.items()},
            )
        )

    completed = by_status["completed"]
    endings: list[EndingReport] = []
    ending_ids = story.endings()
    for ending_id in ending_ids + sorted(set(completions) - set(ending_ids)):
        node = story.nodes.get(ending_id)
        info = node.ending_info if node is not None else None
        count = completions[ending_id]
        share, ci = _share(count, completed)
        label = (info.title if info and info.title else None) or node_label(ending_id, node)
        endings.append(
            EndingReport(
                ending_id,
                label,
                info.kind if info else None,
                info is not None,
                count,
                share,
                ci,
            )
        )

    paths = [
        PathReport(
            counts.steps,
            counts.playthroughs,
            ratio(counts.playthroughs, started),
            status,
            last,
        )
        for (_, status, last), counts in _ordered_paths(tally)[: max(top, 0)]
    ]

    coverage = _coverage(story, tally, nodes, completions)
    completion, completion_ci = _share(completed, started)
    summary = Summary(
        started=started,
        completed=completed,
        quit=by_status["quit"],
        failed=by_status["failed"],
        open=by_status["open"],
        completion_rate=completion,
        completion_ci=completion_ci,
        viewers=tally.viewers,
        rewinds=sum(c.rewinds for c in tally.nodes.values()),
        rewound=rewound,
        explicit_choices=sum(c.explicit for c in tally.nodes.values()),
        timeouts=sum(c.timeouts for c in tally.nodes.values()),
        distinct_paths=tally.distinct_paths,
    )
    all_notes = list(notes or [])
    if coverage.unknown_nodes:
        missing = coverage.unknown_nodes
        shown = ", ".join(missing[:5])
        if len(missing) > 5:
            shown += f" and {len(missing) - 5} more"
        all_notes.append(
            f"{len(missing)} node(s) in the log are not in this story file ({shown}): "
            "the log holds playthroughs of another version of the story."
        )
    timestamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    return Report(
        story=StoryInfo(story.id, story.title, story.version, story.content_hash, story.start),
        selection=selection,
        summary=summary,
        nodes=nodes,
        paths=paths,
        endings=endings,
        coverage=coverage,
        generated_at=timestamp,
        source=source,
        notes=all_notes,
        labels=labels,
        languages=dict(languages or {}),
    )


def _node_report(
    node_id: str,
    label: str,
    node: Node | None,
    tally: Tally,
    taken: list[tuple[str, str]],
    quits: int,
    failures: int,
    open_here: int,
    picks: Mapping[str, Mapping[tuple[str, str], int]],
) -> NodeReport:
    counts = tally.nodes.get(node_id)
    reached = counts.reached if counts else 0
    explicit = counts.explicit if counts else 0
    timeouts = counts.timeouts if counts else 0
    made = explicit + timeouts
    drop_offs = quits + failures
    default = node.timer.default if node is not None and node.timer is not None else None

    keys: list[tuple[str, str, str, bool]] = []  # (choice id, to, label, authored)
    seen: set[tuple[str, str]] = set()
    for choice in (node.choices or []) if node is not None else []:
        keys.append((choice.key, choice.to, choice.label, True))
        seen.add((choice.key, choice.to))
    for choice_id, to in sorted(taken):
        if (choice_id, to) not in seen:
            keys.append((choice_id, to, choice_id, False))

    choices: list[ChoiceReport] = []
    for choice_id, to, choice_label, authored in keys:
        c = tally.choices.get((node_id, choice_id, to))
        count = c.explicit if c else 0
        timed_out = c.timeouts if c else 0
        share, share_ci = _share(count, explicit)
        t_share, t_ci = _share(timed_out, made)
        taken_share, taken_ci = _share(count + timed_out, made)
        choices.append(
            ChoiceReport(
                choice_id,
                to,
                choice_label,
                authored,
                count,
                share,
                share_ci,
                timed_out,
                t_share,
                t_ci,
                count + timed_out,
                taken_share,
                taken_ci,
                default=choice_id == default,
                by_language=_language_shares(choice_id, to, picks),
            )
        )
    times = counts.times if counts else None
    rate, rate_ci = _share(drop_offs, reached)
    info = node.ending_info if node is not None else None
    return NodeReport(
        id=node_id,
        label=label,
        authored=node is not None,
        ending=info.kind if info else None,
        reached=reached,
        visits=counts.visits if counts else 0,
        choices_made=made,
        explicit=explicit,
        timeouts=timeouts,
        drop_offs=drop_offs,
        quits=quits,
        failures=failures,
        open_here=open_here,
        drop_off_rate=rate,
        drop_off_ci=rate_ci,
        rewinds=counts.rewinds if counts else 0,
        decision_ms_median=histogram_percentile(times, 0.5) if times else None,
        decision_ms_p90=histogram_percentile(times, 0.9) if times else None,
        choices=choices,
        timed=node is not None and node.timer is not None,
    )


def _language_shares(
    choice_id: str, to: str, picks: Mapping[str, Mapping[tuple[str, str], int]]
) -> dict[str, LanguageShare]:
    """A choice's picks per language, as shares of that language's explicit picks at the node."""
    shares: dict[str, LanguageShare] = {}
    for language, at_node in picks.items():
        count = at_node.get((choice_id, to), 0)
        share, interval = _share(count, sum(at_node.values()))
        shares[language] = LanguageShare(count, share, interval)
    return shares


def _coverage(
    story: Story, tally: Tally, nodes: list[NodeReport], completions: dict[str, int]
) -> Coverage:
    authored = [n for n in nodes if n.authored]
    dark_nodes = [n.id for n in authored if not n.reached]
    dark_choices: list[DarkChoice] = []
    choices_authored = 0
    for node_id, node in story.nodes.items():
        for choice in node.choices or []:
            choices_authored += 1
            c = tally.choices.get((node_id, choice.key, choice.to))
            if c is None or not (c.explicit or c.timeouts):
                dark_choices.append(DarkChoice(node_id, choice.key, choice.to, choice.label))
    endings = story.endings()
    dark_endings = [e for e in endings if not completions.get(e)]
    return Coverage(
        nodes_authored=len(story.nodes),
        nodes_reached=len(authored) - len(dark_nodes),
        dark_nodes=dark_nodes,
        choices_authored=choices_authored,
        choices_taken=choices_authored - len(dark_choices),
        dark_choices=dark_choices,
        endings_authored=len(endings),
        endings_reached=len(endings) - len(dark_endings),
        dark_endings=dark_endings,
        unknown_nodes=[n.id for n in nodes if not n.authored],
    )
