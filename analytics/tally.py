"""The counts every report is built from, and how to compute them straight from raw events.

A :class:`Tally` holds, for one selection of playthroughs, exactly what the roll-up tables hold
(see :mod:`branching.log.rollups`): counts per node, per choice, per outcome and per path. Reports
are derived from a tally only (:mod:`analytics.report`), so a report read from the roll-ups and
one recomputed here from the raw events are the same report whenever the two tallies are equal,
which the tests check.

How events count (the definitions in docs/analytics.md):

* ``NodeEntered(n)``: a visit to ``n``; the first one in a playthrough also counts it as
  *reached*. The path gains the step ``n``.
* ``ChoiceMade``: a choice made at its node, explicit or a timer default (``timed_out``);
  explicit ones with a measured time go into the node's decision-time histogram.
* ``Rewound(from, to)``: a rewind away from ``from``; the viewer is back at ``to`` without a new
  visit, and the path gains the step ``↶to`` (``REWIND_MARK`` + node id). The engine records
  nothing else; a ``NodeEntered(to)`` right after it (some players record one) is the same
  visit and is not counted again.
* ``EndingReached`` / ``Quit`` / ``Failed``: the playthrough's status becomes completed / quit /
  failed at that node. Anything recorded later (a rewind from an ending) makes it open again.

A playthrough's *outcome* is its final (status, last node), by the choice log's rules
(:func:`branching.log.state.apply_event`): the last node is where the viewer is now, i.e. the
node entered or rewound to, a choice's target, or the node of the ending, quit or fault. Its
*path* is the list of steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from branching.log.encoding import NUM_BUCKETS, REWIND_MARK, path_hash, time_bucket
from branching.log.state import PlaythroughStatus
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    Quit,
    Rewound,
)

#: Statuses in the order reports list them.
STATUSES: tuple[PlaythroughStatus, ...] = ("completed", "quit", "failed", "open")


@dataclass
class NodeCounts:
    """What happened at one node, over a selection of playthroughs."""

    reached: int = 0
    visits: int = 0
    explicit: int = 0
    timeouts: int = 0
    rewinds: int = 0
    #: Explicit decisions with a measured time, per :mod:`analytics.stats` bucket.
    times: list[int] = field(default_factory=lambda: [0] * NUM_BUCKETS)


@dataclass
class ChoiceCounts:
    """How often one choice (node, choice id, target) was taken."""

    explicit: int = 0
    timeouts: int = 0


@dataclass
class PathCounts:
    """Playthroughs that share one path and one outcome."""

    playthroughs: int
    steps: tuple[str, ...]


#: (status, last node, whether the playthrough rewound at least once)
OutcomeKey = tuple[PlaythroughStatus, str, bool]
#: (path hash, status, last node)
PathKey = tuple[int, PlaythroughStatus, str]
#: (node, choice id, target node)
ChoiceKey = tuple[str, str, str]


@dataclass
class Tally:
    """All the counts a report needs for one selection of playthroughs."""

    nodes: dict[str, NodeCounts] = field(default_factory=dict)
    choices: dict[ChoiceKey, ChoiceCounts] = field(default_factory=dict)
    outcomes: Counter[OutcomeKey] = field(default_factory=Counter)
    paths: dict[PathKey, PathCounts] = field(default_factory=dict)
    #: Distinct viewers behind the playthroughs.
    viewers: int = 0
    #: Distinct (path, outcome) pairs; can exceed ``len(paths)`` when only the most popular
    #: were read.
    distinct_paths: int = 0

    @property
    def playthroughs(self) -> int:
        return sum(self.outcomes.values())

    def node(self, node_id: str) -> NodeCounts:
        counts = self.nodes.get(node_id)
        if counts is None:
            counts = self.nodes[node_id] = NodeCounts()
        return counts

    def choice(self, key: ChoiceKey) -> ChoiceCounts:
        counts = self.choices.get(key)
        if counts is None:
            counts = self.choices[key] = ChoiceCounts()
        return counts


#: No audience is larger, and counts above it are no longer exact as floats.
MAX_COUNT = 2**53


def check_counts(tally: Tally) -> None:
    """Raise :class:`~analytics.stats.ImpossibleCounts` naming the first count in ``tally``
    that no log can give: negative, beyond :data:`MAX_COUNT`, or a node whose choices were
    taken more often than decisions were made there. Tallies read from damaged roll-ups or
    facts would otherwise be reported as shares far from 0..1, or fail deep in the arithmetic.

    >>> t = Tally()
    >>> t.node("cliff").explicit = 2
    >>> t.choice(("cliff", "jump", "sea")).explicit = 3
    >>> check_counts(t)
    Traceback (most recent call last):
    ...
    analytics.stats.ImpossibleCounts: node "cliff": its choices were picked 3 times and taken on 0 timeouts, but 2 decisions were made and 0 timers ran out there
    """  # noqa: E501
    from analytics.stats import ImpossibleCounts

    def bound(value: int, what: str) -> None:
        if not 0 <= value <= MAX_COUNT:
            raise ImpossibleCounts(f"{what} is {value:,}")

    for node_id, node in tally.nodes.items():
        for name in ("reached", "visits", "explicit", "timeouts", "rewinds"):
            bound(getattr(node, name), f'node "{node_id}": {name}')
        for count in node.times:
            bound(count, f'node "{node_id}": a decision-time count')
    picked: Counter[str] = Counter()
    timed_out: Counter[str] = Counter()
    for (node_id, choice_id, _), choice in tally.choices.items():
        bound(choice.explicit, f'choice "{choice_id}" at node "{node_id}": picks')
        bound(choice.timeouts, f'choice "{choice_id}" at node "{node_id}": timeouts')
        picked[node_id] += choice.explicit
        timed_out[node_id] += choice.timeouts
    for node_id in picked.keys() | timed_out.keys():
        node = tally.nodes.get(node_id, NodeCounts())
        if picked[node_id] > node.explicit or timed_out[node_id] > node.timeouts:
            raise ImpossibleCounts(
                f'node "{node_id}": its choices were picked {picked[node_id]:,} times and '
                f"taken on {timed_out[node_id]:,} timeouts, but {node.explicit:,} decisions "
                f"were made and {node.timeouts:,} timers ran out there"
            )
    for (status, last, _), count in tally.outcomes.items():
        bound(count, f"playthroughs {status} at {last!r}")
    bound(tally.playthroughs, "playthroughs")
    for path in tally.paths.values():
        bound(path.playthroughs, "playthroughs on one path")
        if path.playthroughs > tally.playthroughs:
            raise ImpossibleCounts(
                f"{path.playthroughs:,} playthroughs on one path, of {tally.playthroughs:,}"
            )
    bound(tally.viewers, "viewers")


@dataclass(frozen=True)
class Playthrough:
    """One playthrough as the log holds it: who, which story, when, and its events in order."""

    playthrough_id: str
    viewer: str
    events: Sequence[Event]
    story_id: str = ""
    story_version: str | None = None
    story_hash: str = ""
    variant: str | None = None
    #: UTC date the playthrough started, ``YYYY-MM-DD``.
    day: str = ""
    #: ``live``, ``simulated`` or ``imported`` (as the log records it).
    origin: str = "live"
    #: The language the text was shown in (``None``: not recorded).
    language: str | None = None


def entries(events: Iterable[Event]) -> list[NodeEntered]:
    """The visits of a playthrough: its ``NodeEntered`` events, except one that merely repeats
    the node a rewind just went back to (a player may record both; it is the same visit).

    >>> [e.node for e in entries([NodeEntered("a"), Rewound("b", "a", 0), NodeEntered("a")])]
    ['a']
    """
    kept: list[NodeEntered] = []
    previous: Event | None = None
    for event in events:
        if isinstance(event, NodeEntered) and not (
            isinstance(previous, Rewound) and previous.to_node == event.node
        ):
            kept.append(event)
        previous = event
    return kept


def path_steps(events: Iterable[Event]) -> list[str]:
    """The path of a playthrough: each node entered, and ``↶node`` for each rewind.

    >>> path_steps([NodeEntered("a"), NodeEntered("b"), Rewound("b", "a", 0), NodeEntered("c")])
    ['a', 'b', '↶a', 'c']
    """
    events = list(events)
    visits = {id(e) for e in entries(events)}
    steps: list[str] = []
    for event in events:
        if isinstance(event, NodeEntered) and id(event) in visits:
            steps.append(event.node)
        elif isinstance(event, Rewound):
            steps.append(REWIND_MARK + event.to_node)
    return steps


def outcome(events: Iterable[Event]) -> tuple[PlaythroughStatus, str]:
    """The final status of a playthrough and the node it was last at.

    >>> outcome([NodeEntered("a"), NodeEntered("b"), Quit("b")])
    ('quit', 'b')
    >>> outcome([])
    ('open', '')
    """
    status: PlaythroughStatus = "open"
    last = ""
    for event in events:
        if isinstance(event, NodeEntered):
            status, last = "open", event.node
        elif isinstance(event, ChoiceMade):
            status, last = "open", event.to
        elif isinstance(event, Rewound):
            status, last = "open", event.to_node
        elif isinstance(event, EndingReached):
            status, last = "completed", event.node
        elif isinstance(event, Quit):
            status, last = "quit", event.node
        elif isinstance(event, Failed):
            status, last = "failed", event.node
    return status, last


def tally_playthroughs(playthroughs: Iterable[Playthrough]) -> Tally:
    """Count everything straight from raw events: the reference the roll-ups must equal.

    Written for clarity, not speed: each playthrough is read on its own, as a person would
    count it by hand.
    """
    tally = Tally()
    viewers: set[str] = set()
    for playthrough in playthroughs:
        viewers.add(playthrough.viewer)
        events = list(playthrough.events)
        entered = [e.node for e in entries(events)]
        for node_id in set(entered):
            tally.node(node_id).reached += 1
        for node_id in entered:
            tally.node(node_id).visits += 1
        rewound = False
        for event in events:
            if isinstance(event, ChoiceMade):
                node = tally.node(event.node)
                choice = tally.choice((event.node, event.choice, event.to))
                if event.timed_out:
                    node.timeouts += 1
                    choice.timeouts += 1
                else:
                    node.explicit += 1
                    choice.explicit += 1
                    if event.decision_ms is not None:
                        node.times[time_bucket(event.decision_ms)] += 1
            elif isinstance(event, Rewound):
                tally.node(event.from_node).rewinds += 1
                rewound = True
        status, last = outcome(events)
        tally.outcomes[(status, last, rewound)] += 1
        steps = path_steps(events)
        key: PathKey = (path_hash(steps), status, last)
        if key in tally.paths:
            tally.paths[key].playthroughs += 1
        else:
            tally.paths[key] = PathCounts(1, tuple(steps))
    tally.viewers = len(viewers)
    tally.distinct_paths = len(tally.paths)
    return tally
