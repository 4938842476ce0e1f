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
from itertools import product

from branching.log import times
from branching.log.state import EVENT_COLUMNS, EventRow, PlaythroughState, apply_event
from branching.log.state import row_to_event as _row_to_event
from branching.log.times import EARLIEST, LAST, recordable, unrecordable_text
from branching.play.events import ENDING_KINDS, Event

_SEQ, _AT, _KIND, _NODE, _TARGET, _STEP = (
    EVENT_COLUMNS.index(c) for c in ("seq", "at", "kind", "node", "target", "step")
)
#: The columns after ``node`` (choice, target, decision_ms, timed_out, step, detail,
#: ending_kind) and, for each event kind, which of them must hold a value (``True``) and
#: which must be NULL (``False``), as :func:`branching.log.state.apply_event` writes them.
#: ``decision_ms`` (``None`` here) may be either: simulated choices are not timed; an ending's
#: title (``detail``) likewise.
_SHAPE: dict[str, tuple[bool | None, ...]] = {
    "enter": (False, False, False, False, False, False, False),
    "choice": (True, True, None, True, False, False, False),
    "rewind": (False, True, False, False, True, False, False),
    "ending": (False, False, False, False, False, None, True),
    "quit": (False, False, False, False, False, False, False),
    "fail": (False, False, False, False, False, True, False),
}
#: Every (kind, filled, filled, ...) a player writes: :data:`_SHAPE` with either expanded.
_SHAPES = frozenset(
    (kind, *filled)
    for kind, shape in _SHAPE.items()
    for filled in product(*[(False, True) if want is None else (want,) for want in shape])
)
_OPTIONAL = ("choice", "target", "decision_ms", "timed_out", "step", "detail", "ending_kind")
_FIRST_OPTIONAL = EVENT_COLUMNS.index("choice")
_MS, _TIMED_OUT, _ENDING_KIND = (
    EVENT_COLUMNS.index(c) for c in ("decision_ms", "timed_out", "ending_kind")
)
#: A decision longer than a year is no viewer's: a broken timer or an edited row.
MAX_DECISION_MS = 365 * 24 * 3600 * 1000
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


def _row_problems(started_at: float, rows: Sequence[EventRow]) -> list[str]:
    """What is wrong in the event rows themselves, in one pass: times outside 1970 to 9999 or
    going backwards, columns set or NULL against the event's kind, values no player writes.
    At most one sentence per kind of problem (the first event, and how many more)."""
    found: dict[str, tuple[str, int]] = {}  # kind of problem -> (first sentence, how many)

    def note(key: str, sentence: str) -> None:
        first, count = found.get(key, (sentence, 0))
        found[key] = (first, count + 1)

    previous = started_at if recordable(started_at) else EARLIEST
    for row in rows:
        seq, at, kind = row[_SEQ], row[_AT], row[_KIND]
        if not EARLIEST <= at <= LAST:
            note("time", f"event {seq} is at {unrecordable_text(at)}")
        else:
            if at < previous:
                note(
                    "backwards",
                    f"event {seq} is at {times.shown(at)}, before the event or start before it "
                    f"({times.shown(previous)}): its times go backwards",
                )
            previous = at
        # One tuple and one set look-up per row in the common case (log check's speed).
        _, _, _, _, c, t, ms, to, st, de, ek = row
        filled = (kind, c is not None, t is not None, ms is not None, to is not None,
                  st is not None, de is not None, ek is not None)  # fmt: skip
        if filled not in _SHAPES:
            shape = _SHAPE.get(kind)
            if shape is None:
                note("kind", f"event {seq} is of an unknown kind {kind!r}")
                continue
            for name, want, value in zip(_OPTIONAL, shape, row[_FIRST_OPTIONAL:], strict=True):
                if want is not None and (value is not None) != want:
                    note(
                        f"shape {kind} {name}",
                        f"event {seq} ({kind}) "
                        + (f"has no {name}" if want else f"has a {name} ({value!r})"),
                    )
        if kind == "choice":
            ms, timed_out = row[_MS], row[_TIMED_OUT]
            if ms is not None and not (type(ms) is int and 0 <= ms <= MAX_DECISION_MS):
                note("ms", f"event {seq} took {ms!r} ms to decide (not 0 to a year)")
            if timed_out is not None and timed_out not in (0, 1):
                note("timed_out", f"event {seq} has timed_out {timed_out!r} (not 0 or 1)")
        elif kind == "rewind":
            step = row[_STEP]
            if step is not None and not (type(step) is int and step >= 0):
                note("step", f"event {seq} goes back {step!r} steps (not a count)")
        elif kind == "ending":
            ending_kind = row[_ENDING_KIND]
            if ending_kind is not None and ending_kind not in ENDING_KINDS:
                note("ending", f"event {seq} reaches an ending of unknown kind {ending_kind!r}")
    return [
        sentence + (f" (and {count - 1} more)" if count > 1 else "")
        for sentence, count in found.values()
    ]


def event_problems(started_at: float, rows: Sequence[EventRow]) -> list[str]:
    """What makes a playthrough's events (rows in ``seq`` order, after a start at
    ``started_at``) impossible, whatever its row says: what :func:`playthrough_problems`
    finds in the events alone. ``log merge`` leaves out a playthrough with any."""
    problems = _row_problems(started_at, rows)
    problem = sequence_problem(rows)
    if problem is not None:
        problems.append(f"impossible sequence: {problem}")
    return problems


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
        if value is not None and not recordable(value):
            problems.append(f"{who}: {name} is {unrecordable_text(value)}")
    start, end = state.started_at, state.ended_at
    if end is not None and recordable(end) and recordable(start) and end < start:
        problems.append(
            f"{who}: it ended ({times.shown(end)}) before it started ({times.shown(start)})"
        )
    problems.extend(f"{who}: {problem}" for problem in _row_problems(state.started_at, rows))
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
        and not (name.endswith("_at") and not recordable(getattr(state, name) or 0.0))
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
