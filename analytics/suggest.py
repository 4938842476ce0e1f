"""What to explore next: rank the choice points of a viewer's playthrough by what alike viewers
did, and measure how well the ranking predicts what returning viewers do.

Pure: it reads counted rows (``branching.log.runs.story_runs``) and the story, never the log.

**The ranking.** A *run* is a way to an ending: the choices on a playthrough's route and the
ending it reached (:mod:`branching.log.runs`). For a viewer who has just reached ending *E*
and has found the endings *S* (*E* included), every other choice at every choice point of
their playthrough is a candidate: go back to node *n* and choose *c*. Other viewers are
weighed by how alike their endings are to *S* (cosine similarity of the sets, plus a small
floor :data:`FLOOR` so everyone counts a little), and a candidate scores the weighed share of
viewers who found an ending not in *S* by a run through (*n*, *c*):

    score(n, c) = Σ_u w_u · [u found an ending ∉ S through (n, c)] / Σ_u w_u

So a choice scores high when many viewers like this one took it and found something new; the
reason names the ending found that way most (weighed), with how many viewers who also reached
*E* found it. Fallbacks, each for what the tier before did not fill:

1. ``alike``: the score above, when at least :data:`MIN_AUDIENCE` other viewers have runs
   and somebody found a new ending through the candidate;
2. ``completed``: most viewers who finished the story through the candidate, when the story's
   graph says it can lead to an ending not in *S*;
3. ``unseen``: fewest viewers through the candidate (a way few have tried), same condition;
4. ``seen``: only when nothing above is left: the ways that lead only to endings in *S*.

At most one suggestion per choice point comes first (a variety of places to go back to);
further ones fill up to the limit.

**The evaluation.** :func:`evaluate` takes each *returning* viewer (two or more playthroughs
that reached an ending), shows the ranking their first playthrough would have got from
everybody else's runs (leave one viewer out), and counts a hit at *k* when their next
playthrough took one of the top *k* suggested choices. Two baselines rank the same
candidates: by popularity (most viewers through the choice) and at random (its exact
expected hit rate, no sampling).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np
from scipy import sparse

from branching.play.audience import Reason
from branching.story.model import Story

#: Every viewer counts at least this much, however unalike: a small log still speaks.
FLOOR = 0.05
#: Similarity is raised to this power: the most alike viewers count far more than the rest.
SHARPNESS = 2.0
#: Other viewers with runs needed before the alike-viewers tier is used.
MIN_AUDIENCE = 10
#: Returning viewers needed before :func:`evaluate` reports hit rates.
MIN_EVALUATED = 30

#: The choices on a route: (node, choice) in order.
Route = tuple[tuple[str, str], ...]
Tier = Literal["alike", "completed", "unseen", "seen"]
#: (viewer, ending, node, choice, runs); node and choice ``''`` count the runs to the ending.
RunRow = tuple[str, str, str, str, int]


@dataclass(frozen=True, slots=True)
class Point:
    """A choice point of the viewer's playthrough: where, what was chosen, what was offered."""

    step: int
    node: str
    chosen: str
    offered: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ranked:
    """One suggestion: go back to ``step`` (node ``node``) and choose ``choice``."""

    step: int
    node: str
    choice: str
    tier: Tier
    score: float
    #: The ending the reason names (one this viewer has not found, unless tier is ``seen``).
    ending: str | None
    #: Why, in words for producers (``branching suggest``).
    reason: str
    #: Why, as facts: players say it in the viewer's language (:func:`reason_words`).
    why: Reason = field(default_factory=lambda: Reason("seen"))


def ending_title(story: Story, ending: str) -> str:
    """How an ending is named to viewers: its title, the node's title, or its id."""
    node = story.nodes.get(ending)
    if node is None:
        return ending
    info = node.ending_info
    return (info.title if info is not None and info.title else None) or node.title or ending


def reachable_endings(story: Story, start: str) -> frozenset[str]:
    """Endings the story's graph can lead to from ``start`` (conditions not evaluated)."""
    seen = {start}
    todo = [start]
    while todo:
        node = story.nodes.get(todo.pop())
        if node is None:
            continue
        for choice in node.choices or []:
            if choice.to not in seen:
                seen.add(choice.to)
                todo.append(choice.to)
    return frozenset(n for n in seen if n in story.nodes and story.nodes[n].is_ending)


class Audience:
    """Everybody's runs as sparse matrices: viewers × endings reached, viewers × choices taken
    on a run, viewers × (choice, ending) found through it (all 0/1 per viewer).

    >>> rows = [("ann", "sea", "", "", 1), ("ann", "sea", "edge", "jump", 1),
    ...         ("bob", "path", "", "", 2), ("bob", "path", "edge", "walk", 2)]
    >>> a = Audience(rows)
    >>> a.viewers, a.endings
    (['ann', 'bob'], ['path', 'sea'])
    >>> a.weights({"sea"}).round(2).tolist()  # ann reached what you reached
    [0.55, 0.05]
    >>> a.weights({"sea"}, route=[("edge", "jump")]).round(2).tolist()  # ... the same way
    [1.05, 0.05]
    """

    def __init__(self, rows: Iterable[RunRow]) -> None:
        # One pass numbering names as they come, then the numbers are put in name order: a
        # set of tuples per matrix cost seconds at the 20,000 runs an ending screen reads.
        viewers: dict[str, int] = {}
        endings: dict[str, int] = {}
        pairs: dict[tuple[str, str], int] = {}
        triples: dict[tuple[str, str, str], int] = {}
        reached: tuple[list[int], list[int]] = ([], [])
        took: tuple[list[int], list[int]] = ([], [])
        found: tuple[list[int], list[int]] = ([], [])
        for viewer, ending, node, choice, runs in rows:
            if runs <= 0:
                continue
            v = viewers.setdefault(viewer, len(viewers))
            e = endings.setdefault(ending, len(endings))
            if node == "":
                reached[0].append(v)
                reached[1].append(e)
            else:
                took[0].append(v)
                took[1].append(pairs.setdefault((node, choice), len(pairs)))
                found[0].append(v)
                found[1].append(triples.setdefault((node, choice, ending), len(triples)))
        self.viewers, viewer_order = _in_order(viewers)
        self.viewer_index = {v: i for i, v in enumerate(self.viewers)}
        self.endings, ending_order = _in_order(endings)
        self.ending_index = {e: i for i, e in enumerate(self.endings)}
        self.pairs, pair_order = _in_order(pairs)
        self.pair_index = {k: i for i, k in enumerate(self.pairs)}
        self.triples, triple_order = _in_order(triples)
        self.triple_index = {k: i for i, k in enumerate(self.triples)}
        #: Triples of each pair, as column numbers in ``found``.
        self.by_pair: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for i, (node, choice, _ending) in enumerate(self.triples):
            self.by_pair[(node, choice)].append(i)
        n = len(self.viewers)
        self.reached = _binary(
            viewer_order, reached[0], ending_order, reached[1], (n, len(self.endings))
        )
        self.took = _binary(
            viewer_order, took[0], pair_order, took[1], (n, len(self.pairs))
        ).tocsc()
        self.found = _binary(
            viewer_order, found[0], triple_order, found[1], (n, len(self.triples))
        ).tocsc()

    def __len__(self) -> int:
        return len(self.viewers)

    def weights(
        self,
        endings: Iterable[str],
        exclude: str | None = None,
        route: Iterable[tuple[str, str]] = (),
    ) -> np.ndarray:
        """Each viewer's weight: :data:`FLOOR` plus the cosine similarity of what they did to
        what the asking viewer did (the endings they reached and the choices on ``route``);
        ``exclude`` (the viewer asking) weighs nothing."""
        ends = np.zeros(len(self.endings))
        for ending in endings:
            if ending in self.ending_index:
                ends[self.ending_index[ending]] = 1.0
        taken = np.zeros(len(self.pairs))
        for pair in route:
            if pair in self.pair_index:
                taken[self.pair_index[pair]] = 1.0
        overlap = np.asarray(self.reached @ ends).ravel() + np.asarray(self.took @ taken).ravel()
        sizes = (
            np.asarray(self.reached.sum(axis=1)).ravel() + np.asarray(self.took.sum(axis=1)).ravel()
        )
        norm = np.sqrt(sizes) * math.sqrt(ends.sum() + taken.sum())
        similarity = np.divide(overlap, norm, out=np.zeros_like(overlap), where=norm > 0)
        weights: np.ndarray = np.asarray(FLOOR + similarity**SHARPNESS, dtype=float)
        if exclude is not None and exclude in self.viewer_index:
            weights[self.viewer_index[exclude]] = 0.0
        return weights

    def takers(self, pair: tuple[str, str], exclude: str | None = None) -> int:
        """Viewers with a run through ``pair`` (leaving ``exclude`` out)."""
        column = self.pair_index.get(pair)
        if column is None:
            return 0
        rows = self.took[:, column].nonzero()[0]
        mine = self.viewer_index.get(exclude, -1) if exclude is not None else -1
        return int(len(rows) - (1 if mine in rows else 0))

    def found_new(
        self, pair: tuple[str, str], seen: set[str], weights: np.ndarray
    ) -> tuple[float, str | None, np.ndarray]:
        """Weighed viewers who found an ending not in ``seen`` through ``pair``, the ending
        most found that way (weighed), and who (0/1 per viewer)."""
        columns = [c for c in self.by_pair.get(pair, []) if self.triples[c][2] not in seen]
        if not columns:
            return 0.0, None, np.zeros(len(self.viewers))
        block = self.found[:, columns]
        anyone = (np.asarray(block.sum(axis=1)).ravel() > 0).astype(float)
        per_ending = np.asarray(block.T @ weights).ravel()
        best = self.triples[columns[int(np.argmax(per_ending))]][2]
        return float(anyone @ weights), best, anyone


_Name = TypeVar("_Name", str, tuple[str, str], tuple[str, str, str])


def _in_order(numbered: dict[_Name, int]) -> tuple[list[_Name], np.ndarray]:
    """The names sorted, and for each number given in order of arrival, its sorted place."""
    names = sorted(numbered)
    place = np.empty(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        place[numbered[name]] = i
    return names, place


def _binary(
    row_place: np.ndarray,
    rows: list[int],
    col_place: np.ndarray,
    cols: list[int],
    shape: tuple[int, int],
) -> sparse.csr_matrix:
    """A 0/1 matrix with a one in each (row, column) given, however often it is given."""
    if not rows:
        return sparse.csr_matrix(shape, dtype=float)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (row_place[rows], col_place[cols])), shape=shape, dtype=np.float64
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def candidates(points: Sequence[Point]) -> list[tuple[int, str, str]]:
    """Every other choice at every choice point, as (step, node, choice): never one the route
    already took there; a node passed more than once (a loop) is offered at its latest visit,
    which keeps the most of the way.

    >>> candidates([Point(0, "a", "x", ("x", "y")), Point(1, "b", "p", ("p", "q", "r")),
    ...             Point(2, "a", "y", ("x", "y"))])
    [(1, 'b', 'q'), (1, 'b', 'r')]
    """
    latest: dict[tuple[str, str], int] = {}
    taken = {(point.node, point.chosen) for point in points}
    for point in points:
        for choice in point.offered:
            if (point.node, choice) not in taken:
                latest[(point.node, choice)] = point.step
    return sorted((step, node, choice) for (node, choice), step in latest.items())


def spread(ranked: Sequence[Ranked], limit: int) -> list[Ranked]:
    """The best ``limit``: first at most one per choice point and per ending named (a variety
    of places to go back to and of things to find), then the rest in order.

    >>> r = [Ranked(1, "b", c, "alike", s, e, "") for c, s, e in (("q", .9, "sea"),
    ...      ("r", .8, "dawn"))]
    >>> r.append(Ranked(0, "a", "y", "alike", .1, "sea", ""))
    >>> [x.choice for x in spread(r, 2)], [x.choice for x in spread(r, 3)]
    (['q', 'r'], ['q', 'r', 'y'])
    """
    first: list[Ranked] = []
    rest: list[Ranked] = []
    steps: set[int] = set()
    endings: set[str] = set()
    for item in ranked:
        repeated = item.step in steps or (item.ending is not None and item.ending in endings)
        (rest if repeated else first).append(item)
        if not repeated:
            steps.add(item.step)
            if item.ending is not None:
                endings.add(item.ending)
    return (first + rest)[:limit]


def rank(
    story: Story,
    points: Sequence[Point],
    audience: Audience,
    *,
    viewer: str | None,
    current: str,
    seen: Iterable[str],
    limit: int = 3,
) -> list[Ranked]:
    """Up to ``limit`` suggestions for a viewer at ending ``current`` who has found ``seen``.

    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "edge", "nodes": {
    ...         "edge": {"text": "", "title": "The Edge", "choices": [
    ...             {"label": "Jump", "to": "sea"}, {"label": "Walk", "to": "path"},
    ...             {"label": "Wait", "to": "dawn"}]},
    ...         "sea": {"text": "", "ending": {"title": "The Sea"}},
    ...         "path": {"text": "", "ending": {"title": "The Path"}},
    ...         "dawn": {"text": "", "ending": {"title": "Dawn"}}}})
    >>> rows = [(v, e, "", "", 1) for v, e in (("a", "sea"), ("a", "dawn"), ("b", "sea"),
    ...                                          ("b", "dawn"), ("c", "path"))]
    >>> rows += [(v, e, "edge", e, 1) for v, e in (("a", "dawn"), ("b", "dawn"), ("c", "path"),
    ...                                           ("a", "sea"), ("b", "sea"))]
    >>> few = rank(story, [Point(0, "edge", "sea", ("sea", "path", "dawn"))], Audience(rows),
    ...            viewer="me", current="sea", seen={"sea"})
    >>> [(r.choice, r.tier) for r in few]  # a small log: most completed first
    [('dawn', 'completed'), ('path', 'completed')]
    >>> print(few[0].reason)  # doctest: +ELLIPSIS
    2 viewers finished the story after choosing this; it can lead to “Dawn”, which you ...
    """
    seen_set = set(seen) | {current}
    route = [(p.node, p.chosen) for p in points]
    weights = audience.weights(seen_set, exclude=viewer, route=route)
    pool = float(weights.sum())
    others = len(audience) - (1 if viewer in audience.viewer_index else 0)
    alike_viewers = audience.weights({current}, exclude=viewer) > FLOOR + 1e-9
    alike_count = int(alike_viewers.sum())
    current_title = ending_title(story, current)
    choices = {
        (node_id, choice.key): choice.to
        for node_id, node in story.nodes.items()
        for choice in node.choices or []
    }
    reach: dict[str, frozenset[str]] = {}

    def leads_to(node: str, choice: str) -> frozenset[str]:
        target = choices.get((node, choice))
        if target is None:
            return frozenset()
        if target not in reach:
            reach[target] = reachable_endings(story, target)
        return reach[target]

    def new_ending(node: str, choice: str) -> str | None:
        fresh = [e for e in story.endings() if e in leads_to(node, choice) and e not in seen_set]
        return fresh[0] if fresh else None

    tiers: dict[Tier, list[Ranked]] = {"alike": [], "completed": [], "unseen": [], "seen": []}
    for step, node, choice in candidates(points):
        pair = (node, choice)
        score, best, who = (
            audience.found_new(pair, seen_set, weights) if pool > 0 else (0.0, None, None)
        )
        if others >= MIN_AUDIENCE and best is not None and who is not None and score > 0:
            finders = int(who.sum())
            like_me = int((who * alike_viewers).sum())
            title = ending_title(story, best)
            if like_me:
                reason = (
                    f"{like_me} of the {alike_count} viewers who also reached “{current_title}” "
                    f"found “{title}” this way"
                )
                why = Reason("alike", title, like_me, alike_count, current_title)
            else:
                reason = (
                    f"{finders} viewer{'s' if finders != 1 else ''} found “{title}” this way, "
                    "an ending you have not found"
                )
                why = Reason("found", title, finders)
            tiers["alike"].append(
                Ranked(step, node, choice, "alike", score / pool, best, reason, why)
            )
            continue
        fresh = best or new_ending(node, choice)
        takers = audience.takers(pair, exclude=viewer)
        if fresh is None:
            again = next((e for e in story.endings() if e in leads_to(node, choice)), None)
            again_title = ending_title(story, again) if again else None
            words = f"another way to “{again_title}”" if again_title else "another way on"
            reason = f"you have found every ending this can lead to; it is {words}"
            why = Reason("seen", again_title)
            tiers["seen"].append(Ranked(step, node, choice, "seen", -takers, again, reason, why))
        elif takers:
            people = f"{takers} viewer{'s' if takers != 1 else ''}"
            reason = (
                f"{people} finished the story after choosing this; it can lead to "
                f"“{ending_title(story, fresh)}”, which you have not found"
            )
            why = Reason("completed", ending_title(story, fresh), takers)
            tiers["completed"].append(
                Ranked(step, node, choice, "completed", takers, fresh, reason, why)
            )
        else:
            reason = (
                "no viewer has finished the story this way yet; it can lead to "
                f"“{ending_title(story, fresh)}”, which you have not found"
            )
            why = Reason("unseen", ending_title(story, fresh))
            tiers["unseen"].append(Ranked(step, node, choice, "unseen", 0.0, fresh, reason, why))
    ordered: list[Ranked] = []
    for tier in ("alike", "completed", "unseen"):
        ordered += sorted(tiers[tier], key=lambda r: (-r.score, -r.step, r.choice))
    if not ordered:
        ordered = sorted(tiers["seen"], key=lambda r: (-r.score, -r.step, r.choice))
    return spread(ordered, limit)


# --- Evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Played:
    """One playthrough's first run, for the evaluation: who, when, route and ending."""

    viewer: str
    started_at: float
    playthrough: str
    route: tuple[tuple[str, str], ...]
    ending: str


@dataclass
class MethodScore:
    """Hits at 1 and at 3 of one way of ranking, over the evaluated viewers."""

    name: str
    hits1: float = 0.0
    hits3: float = 0.0

    def rates(self, viewers: int) -> tuple[float, float]:
        return (self.hits1 / viewers, self.hits3 / viewers) if viewers else (0.0, 0.0)


@dataclass
class Evaluation:
    """Hit rates of the suggestions and of the baselines on the returning viewers."""

    viewers: int
    returning: int
    evaluated: int
    methods: list[MethodScore] = field(default_factory=list)
    minimum: int = MIN_EVALUATED

    @property
    def enough(self) -> bool:
        return self.evaluated >= self.minimum

    def as_dict(self) -> dict[str, object]:
        return {
            "viewers": self.viewers,
            "returning_viewers": self.returning,
            "evaluated": self.evaluated,
            "minimum": self.minimum,
            "enough_data": self.enough,
            "methods": {
                m.name: dict(zip(("hit_at_1", "hit_at_3"), m.rates(self.evaluated), strict=True))
                for m in self.methods
            }
            if self.enough
            else {},
        }


def random_hit_rate(candidates: int, hits: int, k: int) -> float:
    """The chance that ``k`` of ``candidates`` drawn at random include one of ``hits``.

    >>> random_hit_rate(4, 1, 1), random_hit_rate(4, 1, 3), random_hit_rate(4, 0, 3)
    (0.25, 0.75, 0.0)
    """
    if candidates <= 0 or hits <= 0:
        return 0.0
    k = min(k, candidates)
    return 1.0 - math.comb(candidates - hits, k) / math.comb(candidates, k)


PointsOf = Callable[[Played], Sequence[Point]]


def evaluate(
    story: Story,
    played: Sequence[Played],
    rows: Sequence[RunRow],
    points_of: PointsOf,
    *,
    minimum: int = MIN_EVALUATED,
) -> Evaluation:
    """Hit rates at 1 and 3 for the suggestions, popularity and random, on every viewer with two
    or more playthroughs that reached an ending. ``rows`` are everybody's runs (the evaluated
    viewer is left out of their own ranking); ``points_of`` gives a playthrough's choice points
    with what was offered at each."""
    audience = Audience(rows)
    by_viewer: defaultdict[str, list[Played]] = defaultdict(list)
    for item in played:
        by_viewer[item.viewer].append(item)
    returning = {v: sorted(p, key=lambda x: (x.started_at, x.playthrough)) for v, p in
                 by_viewer.items() if len(p) >= 2}  # fmt: skip
    scores = {name: MethodScore(name) for name in ("suggestions", "popularity", "random")}
    evaluated = 0
    for viewer, plays in sorted(returning.items()):
        first, then = plays[0], plays[1]
        points = points_of(first)
        options = candidates(points)
        if not options:
            continue
        evaluated += 1
        did = set(then.route)
        suggested = rank(
            story, points, audience, viewer=viewer, current=first.ending, seen={first.ending}
        )
        popular = spread(
            sorted(
                (
                    Ranked(s, n, c, "completed", audience.takers((n, c), viewer), None, "")
                    for s, n, c in options
                ),
                key=lambda r: (-r.score, -r.step, r.choice),
            ),
            3,
        )
        for method, ranked in (("suggestions", suggested), ("popularity", popular)):
            picks = [(r.node, r.choice) for r in ranked]
            scores[method].hits1 += 1.0 if picks[:1] and picks[0] in did else 0.0
            scores[method].hits3 += 1.0 if any(p in did for p in picks[:3]) else 0.0
        hits = sum(1 for _, n, c in options if (n, c) in did)
        scores["random"].hits1 += random_hit_rate(len(options), hits, 1)
        scores["random"].hits3 += random_hit_rate(len(options), hits, 3)
    return Evaluation(
        viewers=len(by_viewer),
        returning=len(returning),
        evaluated=evaluated,
        methods=list(scores.values()),
        minimum=minimum,
    )


def first_runs(
    playthroughs: Iterable[tuple[str, float, str, Sequence[tuple[str, Route]]]],
) -> list[Played]:
    """Each playthrough's first run (viewer, start, id, [(ending, route), ...]) as
    :class:`Played`; playthroughs without a run are left out."""
    return [
        Played(viewer, started, public, runs[0][1], runs[0][0])
        for viewer, started, public, runs in playthroughs
        if runs
    ]


def seen_by(rows: Iterable[RunRow], viewer: str) -> set[str]:
    """The endings ``viewer`` has reached, from the run rows."""
    return {ending for who, ending, node, _c, runs in rows if who == viewer and not node and runs}
