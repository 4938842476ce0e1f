"""How events map to rows and move a playthrough's state: the rules, in one place.

:func:`apply_event` is used by every writer (live recorder, bulk writer, merge) so a
playthrough's status, last node and event count mean the same whatever wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Literal

from branching.play.events import (
    ENDING_KINDS,
    ChoiceMade,
    EndingKind,
    EndingReached,
    Event,
    Exposed,
    Failed,
    NodeEntered,
    PlaythroughInfo,
    Quit,
    Rewound,
)

PlaythroughStatus = Literal["open", "completed", "quit", "failed"]
Origin = Literal["live", "simulated", "imported"]
ORIGINS: tuple[Origin, ...] = ("live", "simulated", "imported")

#: Columns of ``events`` after ``playthrough`` (which the write path prepends), in order.
EVENT_COLUMNS = (
    "seq",
    "at",
    "kind",
    "node",
    "choice",
    "target",
    "decision_ms",
    "timed_out",
    "step",
    "detail",
    "ending_kind",
)
#: One event row without its playthrough key: the tuple of :data:`EVENT_COLUMNS`.
EventRow = tuple[Any, ...]

#: Columns of ``playthroughs`` that change as events arrive.
MUTABLE_COLUMNS = (
    "status",
    "updated_at",
    "ended_at",
    "last_node",
    "ending",
    "ending_kind",
    "failure",
    "event_count",
)
#: Columns of ``playthroughs`` set once, when the playthrough starts.
FIXED_COLUMNS = (
    "id",
    "story_id",
    "story_version",
    "story_hash",
    "viewer",
    "variant",
    "origin",
    "started_at",
    "language",
)
#: Every column of ``playthroughs``, in the field order of :class:`PlaythroughState`, so a row
#: selected in this order is ``PlaythroughState(*row)``.
PLAYTHROUGH_COLUMNS = ("pk", *FIXED_COLUMNS, *MUTABLE_COLUMNS)

#: The mutable part of a playthrough's state, as a tuple in :data:`MUTABLE_COLUMNS` order.
Snapshot = tuple[Any, ...]


@dataclass(slots=True)
class PlaythroughState:
    """A playthrough row, mutable while events are applied to it.

    ``pk`` is the row's integer key in *this* file (``None`` until first written); ``id`` is
    the globally unique playthrough id that survives merges.
    """

    pk: int | None
    id: str
    story_id: str
    story_version: str | None
    story_hash: str
    viewer: str
    variant: str | None
    origin: Origin
    started_at: float
    #: The language the text was shown in (BCP 47); ``None`` for playthroughs logged before
    #: the log recorded it.
    language: str | None = None
    status: PlaythroughStatus = "open"
    updated_at: float = 0.0
    ended_at: float | None = None
    last_node: str | None = None
    ending: str | None = None
    ending_kind: str | None = None
    failure: str | None = None
    event_count: int = 0

    @classmethod
    def new(cls, info: PlaythroughInfo, *, at: float, origin: Origin) -> PlaythroughState:
        if origin not in ORIGINS:
            raise ValueError(f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
        return cls(
            pk=None,
            id=info.playthrough_id,
            story_id=info.story_id,
            story_version=info.story_version,
            story_hash=info.story_hash,
            viewer=info.viewer,
            variant=info.variant,
            origin=origin,
            started_at=at,
            language=info.language,
            updated_at=at,
        )

    def snapshot(self) -> Snapshot:
        values: Snapshot = _mutable_values(self)
        return values

    def fixed_values(self) -> tuple[Any, ...]:
        values: tuple[Any, ...] = _fixed_values(self)
        return values


# attrgetter: snapshots are taken per event on the bulk path, where a generator costs more.
_mutable_values = attrgetter(*MUTABLE_COLUMNS)
_fixed_values = attrgetter(*FIXED_COLUMNS)


def apply_event(state: PlaythroughState, event: Event, at: float) -> EventRow:
    """Advance ``state`` by ``event`` (at time ``at``) and return the event's row.

    The rules: ``seq`` is the next number in the playthrough (0, 1, 2, ...); the last node is
    where the viewer now is (a choice's target, the node entered or rewound to, the node of a
    quit, ending or failure). ``EndingReached`` sets ``completed`` with the ending,
    ``Quit`` sets ``quit``, ``Failed`` sets ``failed`` with its message, each with
    ``ended_at``. Any other event after one of those (a rewind from an ending, a resumed
    playthrough) reopens it: the status is always the playthrough's *current* outcome, and the
    events keep the full history.
    """
    seq = state.event_count
    status: PlaythroughStatus = "open"
    ending = ending_kind = failure = None
    row: EventRow
    if isinstance(event, ChoiceMade):
        row = (
            seq,
            at,
            "choice",
            event.node,
            event.choice,
            event.to,
            event.decision_ms,
            1 if event.timed_out else 0,
            None,
            None,
            None,
        )
        where = event.to
    elif isinstance(event, NodeEntered):
        row = (seq, at, "enter", event.node, None, None, None, None, None, None, None)
        where = event.node
    elif isinstance(event, Rewound):
        row = (
            seq,
            at,
            "rewind",
            event.from_node,
            None,
            event.to_node,
            None,
            None,
            event.step,
            None,
            None,
        )
        where = event.to_node
    elif isinstance(event, EndingReached):
        row = (seq, at, "ending", event.node, None, None, None, None, None, event.title, event.kind)
        where = event.node
        status, ending, ending_kind = "completed", event.node, event.kind
    elif isinstance(event, Quit):
        row = (seq, at, "quit", event.node, None, None, None, None, None, None, None)
        where = event.node
        status = "quit"
    elif isinstance(event, Failed):
        row = (seq, at, "fail", event.node, None, None, None, None, None, event.message, None)
        where = event.node
        status, failure = "failed", event.message
    else:
        raise TypeError(f"not a playthrough event: {event!r}")
    state.status = status
    state.ended_at = None if status == "open" else at
    state.ending, state.ending_kind, state.failure = ending, ending_kind, failure
    state.last_node = where
    state.updated_at = at
    state.event_count = seq + 1
    return row


#: An exposure as ``exposures`` stores it: (experiment, arm, node, seq, at); see
#: :mod:`branching.log.exposures`.
ExposureRow = tuple[str, str, str, int, float]


def exposure_row(state: PlaythroughState, event: Exposed, at: float) -> ExposureRow:
    """The ``exposures`` row of ``event``: it follows the ``NodeEntered`` of its node, whose
    ``seq`` it keeps (the playthrough's state does not change)."""
    return (event.experiment, event.arm, event.node, max(state.event_count - 1, 0), at)


def row_to_event(row: EventRow) -> Event:
    """Rebuild the event dataclass from a stored row (the tuple of :data:`EVENT_COLUMNS`).

    Rows may come from another machine's log (``log merge``): values are coerced to the
    event's field types, so a damaged row gives a well-typed event, never a crash later.
    An unknown kind is a :class:`ValueError`.
    """
    _, _, kind, node, choice, target, ms, timed_out, step, detail, ending_kind = row
    node = str(node)
    if kind == "enter":
        return NodeEntered(node)
    if kind == "choice":
        return ChoiceMade(
            node, str(choice), str(target), None if ms is None else int(ms), bool(timed_out)
        )
    if kind == "rewind":
        return Rewound(node, str(target), 0 if step is None else int(step))
    if kind == "ending":
        known: EndingKind = ending_kind if ending_kind in ENDING_KINDS else "neutral"
        return EndingReached(node, None if detail is None else str(detail), known)
    if kind == "quit":
        return Quit(node)
    if kind == "fail":
        return Failed(node, str(detail or ""))
    raise ValueError(f"unknown event kind {kind!r}")
