"""``branching validate --deep``: play every way through a story, as far as a bound allows.

The plain checks look at the story map; conditions can make parts of it unreachable, or leave a
viewer with every choice disabled, and an expression can fail only on real values (a division
by a variable that becomes zero). Like ChoiceScript's *quicktest*, this module explores the
reachable states of the story breadth first and reports what only real plays reveal.

A **state** is the current node, the values of all variables, and the visit counts of the nodes
that some ``visits("...")`` call names (the only counts conditions can see). Counts are capped
just above the largest number any expression using ``visits`` mentions, so ``visits("a") > 2``
sees 0, 1, 2 or "3 or more" and a loop does not make endless states; an expression doing
arithmetic on a visit count may see the capped value. Variables are not capped: a counter that
grows in a loop makes new states until ``max_states`` stops the search, which is reported
(``deep-bound``) together with what the partial search can no longer tell.

**Returning viewers.** A story with a ``profile`` or calls to ``playthroughs()``,
``endings_found()`` or ``ending_seen()`` behaves differently for a viewer who played before, so
the search covers first-time *and* returning viewers: a state also holds the profile values
and the viewer's history (earlier playthroughs, capped like visit counts; the endings found
that expressions can see). From every explored state the viewer may leave (quit, or reach an
ending) and play again: a new playthrough starts with that state's profile values, one more
earlier playthrough, and the ending just reached added. So the returning viewers explored are
exactly those that playthroughs of the story can produce, one after another. Not modelled:
going back after an ending within the same playthrough (the ending counts as found from the
next playthrough on), so a branch only that reaches can still be reported unreachable.

The rules are the engine's (see :mod:`branching.play.engine`), shared through
:mod:`branching.story.expressions`: entering a node counts a visit, then applies the node's ``set``
in order (each effect sees the ones before it); a choice is offered when its ``if`` is true;
choosing applies the choice's ``set``, then enters the target. ``visits(n)`` includes the
current entry.

>>> from branching.story.loader import load_story_bytes
>>> story = load_story_bytes(b'''{"format": "branching/1", "id": "s", "title": "S",
...   "start": "hall", "variables": {"key": false},
...   "nodes": {"hall": {"choices": [{"label": "Open", "to": "out", "if": "key"},
...                                  {"label": "Search", "to": "desk"}]},
...             "desk": {"set": {"key": "false"},
...                      "choices": [{"label": "Back", "to": "hall"}]},
...             "out": {"ending": true}}}''').story
>>> result = explore(story)
>>> [(p.code, p.node) for p in result.problems], result.states, result.complete
([('deep-unreachable-ending', 'out')], 2, True)
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from branching.story import locales
from branching.story.expressions import (
    FIRST_TIME,
    Binary,
    EvaluationError,
    ExpressionError,
    ExprTree,
    Lit,
    Unary,
    Value,
    ViewerHistory,
    effect_value,
    evaluate,
    format_value,
    kind_of,
    parse,
)
from branching.story.model import Choice, Node, Story
from branching.story.problems import Problem, pointer
from branching.story.text import (
    Conditional,
    Context,
    Print,
    Text,
    TextError,
    TextEvaluationError,
    parse_text,
)

#: Default bound on explored states (``--max-states``).
MAX_STATES = 100_000
#: Highest cap on a visit count, whatever number an expression mentions.
MAX_VISIT_CAP = 100
#: Steps of the example path shown in a message.
SHOWN_STEPS = 12

#: (node position, variable then profile values, id of the visit counts in :class:`_VisitTable`,
#: index of the viewer's history in ``_Explorer.viewers``)
_State = tuple[int, tuple[Value, ...], int, int]
#: How the step "the viewer plays again" reads in an example path.
PLAYS_AGAIN = "(plays again)"


@dataclass
class DeepResult:
    """What the exploration found."""

    problems: list[Problem] = field(default_factory=list)
    #: Distinct states explored.
    states: int = 0
    #: False when ``max_states`` cut the search short.
    complete: bool = True
    #: Ids of the nodes some explored play entered.
    reached: set[str] = field(default_factory=set)


class _Fault(Exception):
    """A run-time failure at a place in the story (the engine would stop with "failed")."""

    def __init__(self, path: str, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.offset = offset


def explore(story: Story, *, max_states: int = MAX_STATES, skip: Iterable[str] = ()) -> DeepResult:
    """Explore the reachable states of ``story`` (which must have passed the plain checks).

    Parameters
    ----------
    story
        A loaded story without errors.
    max_states
        Stop after this many distinct states and report ``deep-bound``.
    skip
        Nodes not to report as unreachable (the plain checks already did).

    Returns
    -------
    DeepResult
        Problems with codes ``deep-stuck`` and ``deep-runtime-error`` (errors),
        ``deep-unreachable-node``, ``deep-unreachable-ending`` and ``deep-bound`` (warnings).
    """
    return _Explorer(story, max_states).run(set(skip))


def explore_arms(
    story: Story, *, max_states: int = MAX_STATES
) -> list[tuple[str, str, DeepResult]]:
    """:func:`explore` for the story as each arm of each experiment sees it (the other
    experiments at their control arm), for the arms that change anything."""
    from branching.story.experiments import story_for_arms

    found = []
    for experiment_id, experiment in story.experiments.items():
        for arm in list(experiment.arms)[1:]:
            view = story_for_arms(story, {experiment_id: arm})
            if view is not story:
                found.append((experiment_id, arm, explore(view, max_states=max_states)))
    return found


class _Explorer:
    def __init__(self, story: Story, max_states: int) -> None:
        self.story = story
        self.max_states = max(1, max_states)
        self.ids = list(story.nodes)
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.nodes: list[Node] = [story.nodes[node_id] for node_id in self.ids]
        self.names = list(story.variables) + list(story.profile)
        self.defaults = tuple(story.variables.values()) + tuple(story.profile.values())
        self.kept = len(story.variables)  # values from here on are the profile
        tracked, cap = _visit_tracking(story)
        slot_of = {node_id: slot for slot, node_id in enumerate(tracked)}
        #: Each node's slot among the tracked visit counts, or None.
        self.slots = [slot_of.get(node_id) for node_id in self.ids]
        self.table = _VisitTable(slot_of, cap)
        self.found: dict[tuple[str, str], Problem] = {}
        self.language = story.language or locales.DEFAULT_LANGUAGE
        #: Each node's text and choice labels, parsed, when they hold blocks (else None).
        self.texts = [_blocks(node.text) for node in self.nodes]
        self.labels = [[_blocks(c.label) for c in node.choices or ()] for node in self.nodes]
        self.returning, self.playthrough_cap, self.tracked_endings = _viewer_tracking(story)
        self.viewers: list[ViewerHistory] = [FIRST_TIME]
        self.viewer_ids: dict[ViewerHistory, int] = {FIRST_TIME: 0}
        #: (profile values, viewer) of the playthroughs already started.
        self.started: set[tuple[tuple[Value, ...], int]] = set()

    def render(self, text: Text, state: _State, path: str, what: str) -> None:
        """Evaluate every part of ``text`` that could show in ``state`` (all alternatives)."""
        variables = dict(zip(self.names, state[1], strict=True))
        context = Context(
            variables,
            self.table.counter(state[2]),
            language=self.language,
            every=True,
            viewer=self.viewers[state[3]],
        )
        try:
            text.render(context)
        except TextEvaluationError as exc:
            raise _Fault(path, f"{what} fails: {exc}", exc.offset) from None

    # --- Moves -------------------------------------------------------------------------------

    def enter(self, target: int, values: tuple[Value, ...], visits: int, viewer: int) -> _State:
        slot = self.slots[target]
        if slot is not None:
            visits = self.table.after(visits, slot)
        node = self.nodes[target]
        if node.set:
            at = ("nodes", self.ids[target], "set")
            values = self.apply(node.set, values, visits, viewer, at)
        return target, values, visits, viewer

    def next_viewer(self, state: _State) -> int:
        """The viewer's history when they play again after leaving ``state``."""
        history = self.viewers[state[3]]
        node_id = self.ids[state[0]]
        endings = history.endings
        if node_id in self.tracked_endings and self.nodes[state[0]].is_ending:
            endings = endings | {node_id}
        following = ViewerHistory(min(self.playthrough_cap, history.playthroughs + 1), endings)
        found = self.viewer_ids.get(following)
        if found is None:
            found = self.viewer_ids[following] = len(self.viewers)
            self.viewers.append(following)
        return found

    def apply(
        self,
        effects: Mapping[str, Value],
        values: tuple[Value, ...],
        visits: int,
        viewer: int,
        at: tuple[str | int, ...],
    ) -> tuple[Value, ...]:
        variables = dict(zip(self.names, values, strict=True))
        count = self.table.counter(visits)
        history = self.viewers[viewer]
        for name, value in effects.items():
            try:
                new = effect_value(value, variables, count, history)
            except (EvaluationError, ExpressionError) as exc:
                raise _Fault(
                    pointer(*at, name), f'setting "{name}" to {json.dumps(value)} fails: {exc}'
                ) from None
            old = self.story.variables.get(name, self.story.profile.get(name))
            if old is None:  # the plain checks report it; the engine would stop here
                raise _Fault(pointer(*at, name), f'"{name}" is not a variable or profile name')
            if kind_of(new) != kind_of(old):
                raise _Fault(
                    pointer(*at, name),
                    f'setting "{name}" to {json.dumps(value)} gives {format_value(new)!r}, '
                    f"but it holds {kind_of(old)} values",
                )
            variables[name] = new
        return tuple(variables[name] for name in self.names)

    def offers(self, state: _State) -> list[int]:
        """Indexes of the choices offered in ``state``."""
        position, values, visits, viewer = state
        node = self.nodes[position]
        offered: list[int] = []
        variables: dict[str, Value] | None = None
        for index, choice in enumerate(node.choices or ()):
            if choice.if_ is None:
                offered.append(index)
                continue
            if variables is None:
                variables = dict(zip(self.names, values, strict=True))
            try:
                shown = evaluate(
                    choice.if_, variables, self.table.counter(visits), self.viewers[viewer]
                )
            except (EvaluationError, ExpressionError) as exc:
                raise _Fault(
                    pointer("nodes", self.ids[position], "choices", index, "if"),
                    f"the condition {choice.if_!r} fails: {exc}",
                ) from None
            if not isinstance(shown, bool):
                raise _Fault(
                    pointer("nodes", self.ids[position], "choices", index, "if"),
                    f"the condition {choice.if_!r} gives {format_value(shown)!r}, not true/false",
                )
            if shown:
                offered.append(index)
        return offered

    # --- Search ------------------------------------------------------------------------------

    def run(self, skip: set[str]) -> DeepResult:
        story = self.story
        result = DeepResult()
        initial_visits = 0  # nothing visited yet
        parents: dict[_State, tuple[_State, str] | None] = {}
        start = self.index[story.start]
        try:
            first = self.enter(start, self.defaults, initial_visits, 0)
        except _Fault as fault:
            self.report("deep-runtime-error", fault, story.start, None, parents)
            result.problems = list(self.found.values())
            return result
        parents[first] = None
        queue = deque([first])
        reached = bytearray(len(self.ids))
        while queue:
            state = queue.popleft()
            position = state[0]
            reached[position] = 1
            node = self.nodes[position]
            node_id = self.ids[position]
            if self.returning:
                self.play_again(state, start, parents, queue, result)
            try:
                text = self.texts[position]
                if text is not None:
                    self.render(text, state, pointer("nodes", node_id, "text"), "the text")
                if node.is_ending:
                    continue
                offered = self.offers(state)
                labels = self.labels[position]
                for index in offered:
                    label = labels[index]
                    if label is not None:
                        path = pointer("nodes", node_id, "choices", index, "label")
                        self.render(label, state, path, "the label")
            except _Fault as fault:
                self.report("deep-runtime-error", fault, node_id, state, parents)
                continue
            if not offered:
                stuck = _Fault(
                    pointer("nodes", node_id, "choices"),
                    "every choice is disabled here, so a viewer would be stuck",
                )
                self.report("deep-stuck", stuck, node_id, state, parents)
                continue
            choices = node.choices or []
            for index in offered:
                choice = choices[index]
                values, visits, viewer = state[1], state[2], state[3]
                try:
                    if choice.set:
                        at = ("nodes", node_id, "choices", index, "set")
                        values = self.apply(choice.set, values, visits, viewer, at)
                    following = self.enter(self.index[choice.to], values, visits, viewer)
                except _Fault as fault:
                    where = _unescape(fault.path.split("/")[2])
                    if where != node_id:  # failed on entering the target: the play got there
                        reached[self.index[where]] = 1
                    self.report("deep-runtime-error", fault, where, state, parents, _step(choice))
                    continue
                if following in parents:
                    continue
                if len(parents) >= self.max_states:
                    result.complete = False
                    continue
                parents[following] = (state, _step(choice))
                queue.append(following)

        result.states = len(parents)
        result.reached = {self.ids[i] for i, seen in enumerate(reached) if seen}
        problems = list(self.found.values())
        if result.complete:
            for node_id, node in story.nodes.items():
                if node_id in result.reached or node_id in skip:
                    continue
                ending = node.is_ending
                problems.append(
                    Problem(
                        "warning",
                        "deep-unreachable-ending" if ending else "deep-unreachable-node",
                        (
                            "no play reaches this ending: the story map leads here, "
                            "but the conditions on the way never allow it"
                            if ending
                            else "no play reaches this node: the story map leads here, "
                            "but the conditions on the way never allow it"
                        ),
                        pointer("nodes", node_id),
                        node_id,
                    )
                )
        else:
            problems.append(
                Problem(
                    "warning",
                    "deep-bound",
                    f"the deep check stopped after {len(parents):,} states (--max-states); "
                    "what it found holds, but it cannot tell which nodes and endings no play "
                    "reaches, and later states may hide more problems",
                )
            )
        result.problems = problems
        return result

    def play_again(
        self,
        state: _State,
        start: int,
        parents: dict[_State, tuple[_State, str] | None],
        queue: deque[_State],
        result: DeepResult,
    ) -> None:
        """The viewer leaves ``state`` (quits, or it is an ending) and plays again."""
        profile = state[1][self.kept :]
        viewer = self.next_viewer(state)
        if (profile, viewer) in self.started:
            return
        self.started.add((profile, viewer))
        try:
            again = self.enter(start, self.defaults[: self.kept] + profile, 0, viewer)
        except _Fault as fault:
            self.report("deep-runtime-error", fault, self.story.start, state, parents, PLAYS_AGAIN)
            return
        if again in parents:
            return
        if len(parents) >= self.max_states:
            result.complete = False
            return
        parents[again] = (state, PLAYS_AGAIN)
        queue.append(again)

    def report(
        self,
        code: str,
        fault: _Fault,
        node_id: str,
        state: _State | None,
        parents: Mapping[_State, tuple[_State, str] | None],
        choice: str | None = None,
    ) -> None:
        """Keep the first example of each problem, with the values and a way to get there."""
        if (code, fault.path) in self.found:
            return
        detail = ""
        if state is not None:
            detail = f" ({self._describe(state, parents, choice)})"
        self.found[(code, fault.path)] = Problem(
            "error", code, fault.message + detail, fault.path, node_id, offset=fault.offset
        )

    def _describe(
        self,
        state: _State,
        parents: Mapping[_State, tuple[_State, str] | None],
        choice: str | None,
    ) -> str:
        steps: list[str] = [] if choice is None else [choice]
        current: _State | None = state
        while current is not None:
            link = parents.get(current)
            if link is None:
                break
            current, key = link
            steps.append(key)
        steps.reverse()
        if len(steps) > SHOWN_STEPS:
            way = f"... {len(steps) - SHOWN_STEPS} choices, then " + " > ".join(
                steps[-SHOWN_STEPS:]
            )
        else:
            way = " > ".join(steps) if steps else "at the start"
        values = ", ".join(
            f"{name}={_show(value)}" for name, value in zip(self.names, state[1], strict=True)
        )
        parts = [f"choices: {way}"]
        if values:
            parts.append(f"with {values}")
        history = self.viewers[state[3]]
        if history != FIRST_TIME:
            earlier = history.playthroughs
            plays = f"{earlier} earlier playthrough{'s' if earlier != 1 else ''}"
            if earlier >= self.playthrough_cap > 0:
                plays = f"{earlier} or more earlier playthroughs"
            seen = ", ".join(sorted(history.endings)) or "none"
            parts.append(f"a returning viewer ({plays}; endings found: {seen})")
        return "; ".join(parts)


class _VisitTable:
    """Visit counts of the tracked nodes, interned: a state holds only a small integer id.

    A story may test the visits of thousands of nodes while one play has entered a few of
    them, so the counts are kept sparse ({slot: count}), each distinct set of counts once, and
    the step "enter slot s from counts i" is memoised.
    """

    def __init__(self, slot_of: Mapping[str, int], cap: int) -> None:
        self.slot_of = slot_of
        self.cap = cap
        self.counts: list[dict[int, int]] = [{}]
        self.ids: dict[tuple[tuple[int, int], ...], int] = {(): 0}
        self.steps: dict[tuple[int, int], int] = {}
        self.counters: dict[int, Callable[[str], int]] = {}

    def after(self, visits: int, slot: int) -> int:
        """The id of the counts after entering the node in ``slot`` once more."""
        found = self.steps.get((visits, slot))
        if found is None:
            counts = dict(self.counts[visits])
            counts[slot] = min(self.cap, counts.get(slot, 0) + 1)
            key = tuple(sorted(counts.items()))
            found = self.ids.get(key)
            if found is None:
                found = self.ids[key] = len(self.counts)
                self.counts.append(counts)
            self.steps[(visits, slot)] = found
        return found

    def counter(self, visits: int) -> Callable[[str], int]:
        """``visits(node)`` as expressions see it in a state with these counts."""
        counter = self.counters.get(visits)
        if counter is None:
            counts, slot_of = self.counts[visits], self.slot_of

            def counter(node_id: str) -> int:
                slot = slot_of.get(node_id)
                return 0 if slot is None else counts.get(slot, 0)

            self.counters[visits] = counter
        return counter


def _blocks(source: str) -> Text | None:
    """``source`` parsed, when it has blocks to evaluate."""
    if "{" not in source:
        return None
    try:
        text = parse_text(source)
    except TextError:  # the plain checks report it
        return None
    return None if text.plain else text


def _step(choice: Choice) -> str:
    """A choice as a step of an example play: its label, quoted and shortened."""
    label = " ".join(choice.label.split())
    return json.dumps(label if len(label) <= 30 else label[:29] + "…", ensure_ascii=False)


def _show(value: Value) -> str:
    return json.dumps(value) if isinstance(value, str) else format_value(value)


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _visit_tracking(story: Story) -> tuple[list[str], int]:
    """The nodes whose visit counts expressions read, and the cap on those counts."""
    tracked: set[str] = set()
    largest = 0.0
    for source in _expressions(story):
        try:
            expr = parse(source)
        except ExpressionError:
            continue
        if expr.nodes:
            tracked |= expr.nodes
            largest = max(largest, *_numbers(expr.tree), 0)
    cap = min(MAX_VISIT_CAP, int(largest) + 1)
    return sorted(node for node in tracked if node in story.nodes), max(cap, 1)


def _viewer_tracking(story: Story) -> tuple[bool, int, frozenset[str]]:
    """Whether returning viewers can play differently, the cap on their earlier playthroughs,
    and the endings whose being found expressions can tell apart."""
    calls: set[str] = set()
    endings: set[str] = set()
    largest = 0.0
    for source in _expressions(story):
        try:
            expr = parse(source)
        except ExpressionError:
            continue
        calls |= expr.calls
        endings |= expr.endings
        if "playthroughs" in expr.calls:
            largest = max(largest, *_numbers(expr.tree), 0)
    if "endings_found" in calls:
        endings |= set(story.endings())
    returning = bool(calls) or bool(story.profile)
    cap = min(MAX_VISIT_CAP, int(largest) + 1) if "playthroughs" in calls else 0
    return returning, cap, frozenset(endings & set(story.endings()))


def _expressions(story: Story) -> Iterable[str]:
    for node in story.nodes.values():
        yield from (value for value in node.set.values() if isinstance(value, str))
        yield from _text_expressions(node.text)
        for choice in node.choices or ():
            if choice.if_ is not None:
                yield choice.if_
            yield from (value for value in choice.set.values() if isinstance(value, str))
            yield from _text_expressions(choice.label)


def _text_expressions(source: str) -> Iterable[str]:
    """The expressions in a text's blocks (printed values and conditions)."""
    text = _blocks(source)
    if text is None:
        return
    for block in text.blocks():
        if isinstance(block, Print):
            yield block.expr.source
        elif isinstance(block, Conditional):
            yield block.condition.source


def _numbers(tree: ExprTree) -> list[float]:
    if isinstance(tree, Lit):
        value = tree.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [abs(value)]
        return []
    if isinstance(tree, Unary):
        return _numbers(tree.operand)
    if isinstance(tree, Binary):
        return _numbers(tree.left) + _numbers(tree.right)
    return []
