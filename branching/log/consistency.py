"""Could a playthrough's events have happened? The checks ``branching log check`` runs on each.

Without the story, the events must at least follow the rules every player obeys
(:mod:`branching.play.engine`): the first event enters a node; a choice is made at the node the
viewer is at, and the next event enters the node it leads to (or records a fault at the choice's
node, when its effects fail); a rewind starts where the viewer is and goes back to an earlier
choice point of the playthrough; an ending, a quit or a fault happens where the viewer is; after
an ending or a fault only a rewind may follow. The playthrough's row must agree with its events
as :func:`branching.log.state.apply_event` defines (status, last node, ending, failure, count,
times), events must be numbered 0, 1, 2, ... and every time must be one a calendar can show.

With the story (``log check --story``), :func:`branching.log.queries.check_story` replays the
events through the engine itself, so conditions, effects and timers count too.

The walk reads raw event rows (no event objects): ``log check`` runs it over every event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from branching.log.state import EVENT_COLUMNS, EventRow, PlaythroughState, apply_event
from branching.log.state import row_to_event as _row_to_event
from branching.log.times import FIRST, LAST, invalid_text, valid
from branching.play.events import Event

_SEQ, _AT, _KIND, _NODE, _TARGET, _STEP = (
    EVENT_COLUMNS.index(c) for c in ("seq", "at", "kind", "node", "target", "step")
)
_FINISHED = {"ending": "an ending", "fail": "a fault"}
_WHAT = {"ending": "an ending", "quit": "a quit", "fail": "a fault"}


def _quote(node: str | None) -> str:
    return "nowhere" if node is None else repr(node)


def _walk(rows: Iterable[EventRow]) -> tuple[int, str] | None:
    """The first row that could not have followed the ones before it, with why; ``None`` if
    every one could have. Rows are in ``seq`` order."""
    at: str | None = None  # where the viewer is
    moving_to: str | None = None  # a choice's target, not yet entered
    choice_node: str | None = None  # that choice's node (a fault in its effects is there)
    rewound_to: str | None = None  # entering it right after the rewind is the same visit
    finished: str | None = None  # after an ending or a fault, only a rewind may follow
    points: list[str] = []  # the nodes of the choice points passed, as the history holds them
    for index, row in enumerate(rows):
        kind, node = row[_KIND], row[_NODE]
        if kind == "enter":
            if moving_to is not None:
                if node != moving_to:
                    return index, (
                        f"entered {node!r}, but the choice before it leads to {moving_to!r}"
                    )
            elif index > 0 and node != rewound_to:
                if finished is not None:
                    return index, f"entered {node!r} after {finished}"
                return index, f"entered {node!r} without a choice leading there"
            at, moving_to, rewound_to, finished = node, None, None, None
            continue
        if index == 0:
            return index, "the first event does not enter a node"
        if moving_to is not None and kind != "fail":
            return index, (
                f"the choice before it leads to {moving_to!r}, but that node is never entered"
            )
        if kind == "choice":
            if finished is not None:
                return index, f"a choice after {finished}"
            if node != at:
                return index, f"a choice at {node!r}, but the viewer was at {_quote(at)}"
            points.append(node)
            moving_to, choice_node, rewound_to = row[_TARGET], node, None
        elif kind == "rewind":
            target, step = row[_TARGET], row[_STEP]
            if node != at:
                return index, f"went back from {node!r}, but the viewer was at {_quote(at)}"
            if isinstance(step, int) and 0 <= step < len(points) and points[step] == target:
                del points[step:]
            elif target in points:
                # A save resumed on an edited story drops choice points whose node vanished,
                # so the step can differ from this history's: the node is what must be there.
                del points[len(points) - 1 - points[::-1].index(target) :]
            else:
                return index, f"went back to {target!r}, which is not an earlier choice point"
            at, rewound_to, finished = target, target, None
        else:  # an ending, a quit or a fault
            what = _WHAT.get(kind, repr(kind))
            place = choice_node if kind == "fail" and moving_to is not None else at
            if finished is not None:
                return index, f"{what} after {finished}"
            if node != place:
                return index, f"{what} at {node!r}, but the viewer was at {_quote(place)}"
            at, moving_to, rewound_to = node, None, None
            finished = _FINISHED.get(kind)
    return None


def _rows(events: Sequence[Event]) -> list[EventRow]:
    state = PlaythroughState(None, "", "", None, "", "", None, "live", 0.0)
    return [apply_event(state, event, 0.0) for event in events]


def sequence_problem(events: Sequence[Event] | Sequence[EventRow]) -> str | None:
    """Why the events of one playthrough (event objects, or rows as stored) could not have
    happened, or ``None`` if they could.

    >>> from branching.play.events import ChoiceMade, NodeEntered
    >>> sequence_problem([NodeEntered("a"), ChoiceMade("a", "go", "b", 5), NodeEntered("b")])
    >>> sequence_problem([NodeEntered("a"), ChoiceMade("a", "go", "b", 5), NodeEntered("b"),
    ...                   ChoiceMade("a", "go", "b", 5)])
    "event 3 (choice  a -[go]-> b (picked, 5 ms)): a choice at 'a', but the viewer was at 'b'"
    """
    from branching.log.queries import describe

    # Event objects are turned into rows; rows (or nothing) are walked as they are.
    is_events = bool(events) and not isinstance(events[0], tuple)
    rows: Sequence[EventRow] = _rows(events) if is_events else events  # type: ignore[arg-type,assignment]
    found = _walk(rows)
    if found is None:
        return None
    index, reason = found
    try:
        what = describe(_row_to_event(rows[index]))
    except (TypeError, ValueError):
        what = repr(rows[index][_KIND])
    return f"event {index} ({what}): {reason}"


#: Columns of ``playthroughs`` that follow from its events, compared with the row.
_DERIVED = ("last_node", "ending", "ending_kind", "failure", "updated_at", "ended_at")


def playthrough_problems(state: PlaythroughState, rows: Sequence[EventRow]) -> list[str]:
    """Everything wrong with one playthrough (its row ``state`` and its event ``rows`` in
    ``seq`` order), each as a sentence starting with the playthrough id."""
    who = f"playthrough {state.id}"
    problems: list[str] = []
    count = len(rows)
    if state.event_count != count or any(row[_SEQ] != seq for seq, row in enumerate(rows)):
        low, high = (rows[0][_SEQ], rows[-1][_SEQ]) if rows else ("-", "-")
        problems.append(
            f"{who}: event_count {state.event_count} but {count} events numbered {low}..{high}"
        )
    for name in ("started_at", "updated_at", "ended_at"):
        value = getattr(state, name)
        if value is not None and not valid(value):
            problems.append(f"{who}: {name} is {invalid_text(value)}")
    bad_times = [row for row in rows if not FIRST <= row[_AT] <= LAST]
    if bad_times:
        first = bad_times[0]
        more = f" (and {len(bad_times) - 1} more)" if len(bad_times) > 1 else ""
        problems.append(f"{who}: event {first[_SEQ]} is at {invalid_text(first[_AT])}{more}")
    # The row's state follows from the last event alone (apply_event): replay just that one.
    expected = replace(
        state,
        status="open",
        updated_at=state.started_at,
        ended_at=None,
        last_node=None,
        ending=None,
        ending_kind=None,
        failure=None,
        event_count=max(count - 1, 0),
    )
    if rows:
        try:
            apply_event(expected, _row_to_event(rows[-1]), rows[-1][_AT])
        except (TypeError, ValueError) as e:
            problems.append(f"{who}: its last event cannot be read ({e})")
            return problems
    if expected.status != state.status:
        last = rows[-1][_KIND] if rows else None
        problems.append(f"{who}: status {state.status} but its last event is {last!r}")
    differing = [
        name
        for name in _DERIVED
        if getattr(expected, name) != getattr(state, name)
        # Invalid times are reported above.
        and not (name.endswith("_at") and not valid(getattr(state, name) or 0.0))
    ]
    if differing:
        shown = ", ".join(
            f"{name} {getattr(state, name)!r} (its events say {getattr(expected, name)!r})"
            for name in differing
        )
        problems.append(f"{who}: the row disagrees with its events: {shown}")
    problem = sequence_problem(rows)
    if problem is not None:
        problems.append(f"{who}: impossible sequence: {problem}")
    return problems
