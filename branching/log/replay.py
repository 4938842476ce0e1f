"""Replaying a logged playthrough for ``log check --story`` without knowing its viewer.

A returning viewer brings profile values and a history (``playthroughs()``,
``endings_found()``, ``ending_seen()``) that the log cannot fully know: the profile lives
outside the log, and earlier playthroughs may have been played with ``--no-log``. So the check
may only call a playthrough impossible when it is impossible for *every* profile and history.

:class:`AnyViewerSession` is the engine itself (every rule of a step is the engine's), with the
values it cannot know marked *unknown*: every profile value at the start, the viewer's history
always, and every name an effect sets from something unknown. Each evaluation notes whether it
read anything unknown (by value, so ``known_false and unknown`` is still known):

- a choice whose condition is unknown may be offered: it is offered;
- an effect whose value is unknown makes the name it sets unknown (an effect whose value is
  known makes it known again, and going back restores what was known at that choice point);
- an unknown evaluation may fail, or not, with another viewer: a fault the log holds (or one
  the replay meets) after such a step is taken as possible, and nothing after it is checked.

Everything the playthrough itself determines (variables set from known values, visit counts,
experiment arms, timers) is still checked strictly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, cast

from branching.play.engine import Diverged, Offer, Session, _Fault
from branching.play.events import Event, Failed, MemoryRecorder
from branching.story.expressions import (
    EvaluationError,
    ExpressionError,
    Value,
    ViewerHistory,
    evaluate,
)
from branching.story.model import Choice, Node, Story


class _Reads(dict[str, Value]):
    """A scope that tells its session when an unknown name is read."""

    def __init__(self, values: Mapping[str, Value], session: AnyViewerSession) -> None:
        super().__init__(values)
        self._session = session

    def __getitem__(self, name: str) -> Value:
        if name in self._session.unknown:
            self._session.read_unknown = True
        return super().__getitem__(name)


class _History:
    """The viewer's history: any read of it is a read of something unknown."""

    def __init__(self, session: AnyViewerSession, known: ViewerHistory) -> None:
        self._session = session
        self._known = known

    @property
    def playthroughs(self) -> int:
        self._session.read_unknown = True
        return self._known.playthroughs

    @property
    def endings(self) -> frozenset[str]:
        self._session.read_unknown = True
        return self._known.endings


class AnyViewerSession(Session):
    """The engine, replaying for a viewer whose profile and history are unknown."""

    def __init__(self, story: Story, **options: Any) -> None:
        #: Names whose values the log cannot know (profile names, and what they set).
        self.unknown: frozenset[str] = frozenset(story.profile)
        #: Whether an evaluation read something unknown (set by the scope and the history).
        self.read_unknown = False
        #: Whether the step being replayed, or the one before it, read something unknown: a
        #: fault then may or may not have happened.
        self.uncertain = False
        self._uncertain_before = False
        self._unknown_at: dict[int, frozenset[str]] = {}
        self._lenient: dict[tuple[int, frozenset[str]], Node] = {}
        super().__init__(story, **options)

    # -- what is read -----------------------------------------------------------------------

    def _scope(  # type: ignore[override]
        self, variables: Mapping[str, Value], profile: Mapping[str, Value]
    ) -> dict[str, Value]:
        return _Reads({**variables, **profile}, self)

    def _viewer_history(self) -> ViewerHistory:
        return cast(ViewerHistory, _History(self, super()._viewer_history()))

    def _tracked(self) -> bool:
        """Whether something unknown was read since the last call; resets the note."""
        found, self.read_unknown = self.read_unknown, False
        if found:
            self.uncertain = True
        return found

    # -- the step rules, with unknowns --------------------------------------------------------

    def _offers_now(self, node: Node) -> list[Offer]:
        """Offers as the engine makes them, a choice whose condition is unknown included."""
        scope = self._scope(self.variables, self.profile)
        self._tracked()
        unknown: set[str] = set()
        for choice in node.choices or []:
            if choice.if_ is None:
                continue
            # A known fault is the engine's to report; an unknown one is noted.
            with contextlib.suppress(EvaluationError, ExpressionError):
                evaluate(choice.if_, scope, self._visit_count, self._history)
            if self._tracked():
                unknown.add(choice.key)
        if unknown:
            node = self._lenient_node(node, frozenset(unknown))
        return super()._offers_now(node)

    def _lenient_node(self, node: Node, keys: frozenset[str]) -> Node:
        """``node`` with the conditions of choices ``keys`` taken away (kept, so the engine's
        cache of offers sees one node)."""
        found = self._lenient.get((id(node), keys))
        if found is None:
            choices: list[Choice] = [
                choice.model_copy(update={"if_": None}) if choice.key in keys else choice
                for choice in node.choices or []
            ]
            found = self._lenient[(id(node), keys)] = node.model_copy(update={"choices": choices})
        return found

    def _apply(
        self, effects: Mapping[str, Value], where: str
    ) -> tuple[dict[str, Value], dict[str, Value]]:
        """The engine's effects one at a time, noting which names they leave unknown."""
        if not effects:
            return self.variables, self.profile
        start = self.variables, self.profile
        unknown = set(self.unknown)
        self._tracked()
        try:
            for name, value in effects.items():
                self.variables, self.profile = super()._apply({name: value}, where)
                if self._tracked():
                    unknown.add(name)
                else:
                    unknown.discard(name)
            applied = self.variables, self.profile
        except _Fault:
            self._tracked()
            raise
        finally:
            self.variables, self.profile = start
        # Effects apply all or nothing; after a fault only going back follows, which restores.
        self.unknown = frozenset(unknown)
        return applied

    def _render(self, key: str, source: str, what: str) -> str:
        try:
            return super()._render(key, source, what)
        finally:
            self._tracked()

    def _take(self, offer: Offer, *, timed_out: bool) -> None:
        # What is known at this choice point, for going back to it (history[step]).
        self._unknown_at[len(self.history)] = self.unknown
        super()._take(offer, timed_out=timed_out)

    def rewind(self, to: int | None = None) -> None:
        step = len(self.history) - 1 if to is None else to
        self.unknown = self._unknown_at.get(step, self.unknown)
        super().rewind(to)

    def _take_again(self, event: Event, before: Event | None) -> str | None:
        self._uncertain_before, self.uncertain = self.uncertain, False
        return super()._take_again(event, before)

    def could_differ(self, diverged: Diverged) -> bool:
        """Whether ``diverged`` may be a fault that another profile or history explains: the
        log or the replay failed right after a step that read something unknown."""
        faulted = isinstance(diverged.event, Failed) or self.status == "failed"
        return faulted and (self.uncertain or self._uncertain_before)


def replay_any_viewer(
    story: Story, events: Sequence[Event], *, arms: Mapping[str, str] | None = None
) -> None:
    """Check a logged playthrough of ``story`` against every possible viewer.

    Raises:
        Diverged: the first event no profile and history could have led to, and why.
    """
    start = MemoryRecorder()
    session = AnyViewerSession(story, clock=lambda: 0.0, recorder=start, arms=arms)
    try:
        session.follow(events, pending=start.events)
    except Diverged as e:
        if not session.could_differ(e):
            raise
