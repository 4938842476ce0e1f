"""Could a playthrough's events have happened? The checks ``branching log check`` runs on each.

Without the story, the events must at least follow the rules every player obeys
(:mod:`branching.play.engine`): the first event enters a node; a choice is made at the node the
viewer is at, and the next event enters the node it leads to (or records a fault at the choice's
node, when its effects fail); a rewind starts where the viewer is and goes back to an earlier
choice point of the playthrough; an ending, a quit or a fault happens where the viewer is; after
an ending or a fault only a rewind may follow. The playthrough's row must agree with its events
as :func:`branching.log.state.apply_event` defines (status, last node, ending, failure, count,
times), events must be numbered 0, 1, 2, ... and every time must be one a calendar can show.

With the story (``log check --story``), :func:`replay_problem` replays the events through the
engine itself, so conditions, effects and timers count too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from branching.log.state import EventRow, PlaythroughState, apply_event, row_to_event
from branching.log.times import invalid_text, valid
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    Rewound,
)


def _quote(node: str | None) -> str:
    return "nowhere" if node is None else repr(node)


@dataclass(slots=True)
class _Walk:
    """Where a playthrough stands while its events are walked."""

    at: str | None = None
    #: A choice's target not yet entered, and the choice's node.
    moving_to: str | None = None
    choice_node: str | None = None
    #: The node the last event rewound to (entering it next is the same visit).
    rewound_to: str | None = None
    #: "an ending" / "a fault" once the playthrough finished that way (only a rewind follows).
    finished: str | None = None
    #: The nodes of the choice points passed, as the player's history holds them.
    points: list[str] = field(default_factory=list)

    def step(self, index: int, event: Event) -> str | None:
        """Apply ``event``; a sentence saying why it could not have happened, or ``None``."""
        if isinstance(event, NodeEntered):
            return self._enter(index, event.node)
        if index == 0:
            return "the first event does not enter a node"
        if self.moving_to is not None and not isinstance(event, Failed):
            return (
                f"the choice before it leads to {self.moving_to!r}, but that node is never entered"
            )
        if isinstance(event, ChoiceMade):
            if self.finished is not None:
                return f"a choice after {self.finished}"
            if event.node != self.at:
                return f"a choice at {event.node!r}, but the viewer was at {_quote(self.at)}"
            self.points.append(event.node)
            self.moving_to, self.choice_node, self.rewound_to = event.to, event.node, None
            return None
        if isinstance(event, Rewound):
            return self._rewind(event)
        if isinstance(event, Failed):
            place = self.choice_node if self.moving_to is not None else self.at
            if self.finished is not None:
                return f"a fault after {self.finished}"
            if event.node != place:
                return f"a fault at {event.node!r}, but the viewer was at {_quote(place)}"
            self.at, self.moving_to, self.rewound_to = event.node, None, None
            self.finished = "a fault"
            return None
        # An ending or a quit.
        what = "an ending" if isinstance(event, EndingReached) else "a quit"
        if self.finished is not None:
            return f"{what} after {self.finished}"
        if event.node != self.at:
            return f"{what} at {event.node!r}, but the viewer was at {_quote(self.at)}"
        self.rewound_to = None
        if isinstance(event, EndingReached):
            self.finished = "an ending"
        return None

    def _enter(self, index: int, node: str) -> str | None:
        if index > 0 and self.moving_to is None and node != self.rewound_to:
            if self.finished is not None:
                return f"entered {node!r} after {self.finished}"
            return f"entered {node!r} without a choice leading there"
        if self.moving_to is not None and node != self.moving_to:
            return f"entered {node!r}, but the choice before it leads to {self.moving_to!r}"
        self.at, self.moving_to, self.rewound_to, self.finished = node, None, None, None
        return None

    def _rewind(self, event: Rewound) -> str | None:
        if event.from_node != self.at:
            return f"went back from {event.from_node!r}, but the viewer was at {_quote(self.at)}"
        points = self.points
        if 0 <= event.step < len(points) and points[event.step] == event.to_node:
            del points[event.step :]
        elif event.to_node in points:
            # A save resumed on an edited story drops choice points whose node vanished, so
            # the step can differ from this history's: the node is what must be there.
            del points[len(points) - 1 - points[::-1].index(event.to_node) :]
        else:
            return f"went back to {event.to_node!r}, which is not an earlier choice point"
        self.at, self.rewound_to, self.finished = event.to_node, event.to_node, None
        return None


def sequence_problem(events: Sequence[Event]) -> str | None:
    """Why the events of one playthrough could not have happened, or ``None`` if they could.

    >>> sequence_problem([NodeEntered("a"), ChoiceMade("a", "go", "b", 5), NodeEntered("b")])
    >>> sequence_problem([NodeEntered("a"), ChoiceMade("a", "go", "b", 5), NodeEntered("b"),
    ...                   ChoiceMade("a", "go", "b", 5)])
    "event 3 (choice  a -[go]-> b (picked, 5 ms)): a choice at 'a', but the viewer was at 'b'"
    """
    from branching.log.queries import describe

    walk = _Walk()
    for index, event in enumerate(events):
        problem = walk.step(index, event)
        if problem is not None:
            return f"event {index} ({describe(event)}): {problem}"
    return None


#: Columns of ``playthroughs`` compared with what the events imply.
_DERIVED = (
    "status",
    "last_node",
    "ending",
    "ending_kind",
    "failure",
    "event_count",
    "updated_at",
    "ended_at",
)


def playthrough_problems(state: PlaythroughState, rows: Sequence[EventRow]) -> list[str]:
    """Everything wrong with one playthrough (its row ``state`` and its event ``rows`` in
    ``seq`` order), each as a sentence starting with the playthrough id."""
    who = f"playthrough {state.id}"
    problems: list[str] = []
    numbers = [row[0] for row in rows]
    if numbers != list(range(len(rows))) or state.event_count != len(rows):
        low, high = (numbers[0], numbers[-1]) if numbers else ("-", "-")
        problems.append(
            f"{who}: event_count {state.event_count} but {len(rows)} events numbered {low}..{high}"
        )
    for name in ("started_at", "updated_at", "ended_at"):
        value = getattr(state, name)
        if value is not None and not valid(value):
            problems.append(f"{who}: {name} is {invalid_text(value)}")
    bad_times = [row for row in rows if not valid(row[1])]
    if bad_times:
        first = bad_times[0]
        more = f" (and {len(bad_times) - 1} more)" if len(bad_times) > 1 else ""
        problems.append(f"{who}: event {first[0]} is at {invalid_text(first[1])}{more}")
    try:
        events = [row_to_event(row) for row in rows]
    except (TypeError, ValueError) as e:
        problems.append(f"{who}: an event cannot be read ({e})")
        return problems
    replayed = replace(
        state,
        status="open",
        updated_at=state.started_at,
        ended_at=None,
        last_node=None,
        ending=None,
        ending_kind=None,
        failure=None,
        event_count=0,
    )
    for row, event in zip(rows, events, strict=True):
        apply_event(replayed, event, row[1])
    if replayed.status != state.status:
        last = rows[-1][2] if rows else None
        problems.append(f"{who}: status {state.status} but its last event is {last!r}")
    differing = [
        name
        for name in _DERIVED
        if name not in ("status", "event_count")
        and getattr(replayed, name) != getattr(state, name)
        # Invalid times are reported above.
        and not (name.endswith("_at") and not valid(getattr(state, name) or 0.0))
    ]
    if differing:
        shown = ", ".join(
            f"{name} {getattr(state, name)!r} (its events say {getattr(replayed, name)!r})"
            for name in differing
        )
        problems.append(f"{who}: the row disagrees with its events: {shown}")
    problem = sequence_problem(events)
    if problem is not None:
        problems.append(f"{who}: impossible sequence: {problem}")
    return problems
