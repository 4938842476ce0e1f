"""What happens in a playthrough, as the engine reports it to whoever records it.

These small frozen dataclasses are the one interface between the engine (and players) and the
choice log: a player hands each event to a :class:`Recorder` and moves on. Nothing here imports
Textual, SQLite or networkx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

EndingKind = Literal["good", "bad", "neutral"]
ENDING_KINDS: tuple[EndingKind, ...] = ("good", "bad", "neutral")


@dataclass(frozen=True, slots=True)
class NodeEntered:
    """The playthrough entered ``node`` (the start node, a choice's target, or a restart)."""

    node: str


@dataclass(frozen=True, slots=True)
class ChoiceMade:
    """A choice was taken at ``node``.

    ``decision_ms`` is the time from the choices being shown to the choice (``None`` when not
    measured, e.g. simulated). ``timed_out`` is true when the node's timer ran out and its default
    was taken rather than picked by the viewer.
    """

    node: str
    choice: str
    to: str
    decision_ms: int | None
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class Rewound:
    """The viewer went back from ``from_node`` to the earlier choice point ``to_node``.

    ``step`` is the index of that choice point in the playthrough's history (0 = first).
    No ``NodeEntered`` follows: going back moves the path back without counting a visit, and
    the playthrough continues from ``to_node`` (see docs/playing.md).
    """

    from_node: str
    to_node: str
    step: int


@dataclass(frozen=True, slots=True)
class EndingReached:
    """The playthrough reached the ending node ``node``."""

    node: str
    title: str | None
    kind: EndingKind


@dataclass(frozen=True, slots=True)
class Quit:
    """The viewer left the playthrough at ``node`` before an ending.

    Also recorded when the viewer starts over (the new start is a new playthrough). A resumed
    save continues the same playthrough, so more events may follow a ``Quit``.
    """

    node: str


@dataclass(frozen=True, slots=True)
class Failed:
    """A runtime fault at ``node`` ended the playthrough (for example every choice disabled)."""

    node: str
    message: str


@dataclass(frozen=True, slots=True)
class Exposed:
    """The playthrough entered ``node``, whose text or choices the arms of ``experiment``
    change, for the first time: from here on its viewer counts in the experiment, in ``arm``.

    Recorded once per experiment and playthrough, right after the ``NodeEntered`` of ``node``.
    """

    experiment: str
    arm: str
    node: str


Event = NodeEntered | ChoiceMade | Rewound | EndingReached | Quit | Failed | Exposed


@dataclass(frozen=True, slots=True)
class PlaythroughInfo:
    """Who plays what: everything a log needs to open a playthrough."""

    playthrough_id: str
    story_id: str
    story_version: str | None
    story_hash: str
    viewer: str
    variant: str | None = None
    #: The language the text was shown in (BCP 47), ``None`` when not known (older logs).
    language: str | None = None


class Recorder(Protocol):
    """Receives the events of one playthrough, in order.

    ``record`` returns only once the event is safe (durably written, for a real log), so a player
    may show the next passage as soon as it returns.
    """

    def record(self, event: Event) -> None: ...

    def close(self) -> None: ...


class NullRecorder:
    """A recorder that keeps nothing (``--no-log``)."""

    def record(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


class MemoryRecorder:
    """A recorder that keeps events in a list; for tests and previews."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed = False

    def record(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        self.closed = True
