"""Simulated audiences: random viewers play a story through the real engine.

Each simulated viewer reads for a while (a log-normal "think time", median about 4 s), then
picks one of the offered choices. At a timed node a viewer who would think longer than the timer
lets it run out, so timer defaults happen as they do with people. Optional: a chance to quit at
each choice point (``quit_rate``), a chance to go back (``rewind_rate``), and the
``least-taken`` strategy, which picks the choice taken least often so far (ties at random), as
ChoiceScript's randomtest does, to reach every branch in fewer plays.

Experiments: each simulated viewer gets an arm by the same rule as people
(:func:`branching.story.experiments.assign_arm`), unless ``arms`` forces one. A
:class:`PlantedEffect` makes viewers in one arm prefer one choice at one node (``--plant``), so
a producer can rehearse an experiment and see that its report finds a difference that is
really there, and only that one.

Playthroughs go to the choice log through its bulk writer (one transaction per block), so the
roll-ups, reports and everything else see them exactly as they would see viewers'.

The run is reproducible and can be split up: playthrough ``i`` draws from its own random stream,
seeded by (seed, ``i``), and the work goes in fixed blocks of :data:`BLOCK` playthroughs
(:func:`play_block`), so the same story, options and seed give the same playthroughs, ids and
times whether one process plays every block or several processes share them
(:mod:`analytics.simulate_pool`); the log receives the blocks in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from math import exp
from typing import TYPE_CHECKING, Literal

from branching.log.writer import Prepared, prepare_playthrough
from branching.play.engine import Session
from branching.play.events import Event, PlaythroughInfo
from branching.play.profiles import FIRST_VISIT, ViewerProfile
from branching.story.experiments import assignments
from branching.story.model import Story

if TYPE_CHECKING:
    from branching.log import BulkWriter

Strategy = Literal["random", "least-taken"]

#: Median and spread of the simulated think time (log-normal): median e^1.4 ≈ 4 s.
THINK_MU = 1.4
THINK_SIGMA = 0.7


@dataclass(frozen=True)
class PlantedEffect:
    """Simulated viewers in ``arm`` of ``experiment`` weigh ``choice`` at ``node`` ``factor``
    times as heavily as the other choices there (every choice weighs 1 otherwise)."""

    experiment: str
    arm: str
    node: str
    choice: str
    factor: float

    @classmethod
    def parse(cls, text: str) -> PlantedEffect:
        """``EXPERIMENT=ARM,NODE,CHOICE,FACTOR`` (ids hold no ``=`` or ``,``).

        >>> PlantedEffect.parse("wording=new,cliff,jump,1.5")
        PlantedEffect(experiment='wording', arm='new', node='cliff', choice='jump', factor=1.5)
        """
        experiment, sep, rest = text.partition("=")
        parts = rest.split(",")
        if not sep or len(parts) != 4 or not all(p.strip() for p in (experiment, *parts)):
            raise ValueError(f"expected EXPERIMENT=ARM,NODE,CHOICE,FACTOR, got {text!r}")
        try:
            factor = float(parts[3])
        except ValueError:
            raise ValueError(f"the factor must be a number, not {parts[3]!r}") from None
        if not (math.isfinite(factor) and 0 < factor <= 1000):
            raise ValueError(f"the factor must be above 0 and at most 1000, not {parts[3]!r}")
        return cls(experiment.strip(), parts[0].strip(), parts[1].strip(), parts[2].strip(), factor)

    def check(self, story: Story) -> None:
        """:class:`ValueError` naming what exists when the story has no such arm or choice."""
        experiment = story.experiments.get(self.experiment)
        if experiment is None or self.arm not in experiment.arms:
            raise ValueError(f"the story has no arm {self.experiment}={self.arm}")
        node = story.nodes.get(self.node)
        if node is None:
            raise ValueError(f'the story has no node "{self.node}"')
        from branching.story.experiments import node_for_arms

        keys = [c.key for c in node_for_arms(node, {self.experiment: self.arm}).choices or []]
        if self.choice not in keys:
            raise ValueError(
                f'node "{self.node}" has no choice "{self.choice}" in arm {self.arm} '
                f"(its choices: {', '.join(keys) or 'none'})"
            )


@dataclass(frozen=True)
class SimulationOptions:
    playthroughs: int
    seed: int = 0
    #: Chance of quitting at each choice point.
    quit_rate: float = 0.0
    #: Chance of going back to an earlier choice point at each choice point (when possible).
    rewind_rate: float = 0.0
    strategy: Strategy = "random"
    #: A playthrough still going after this many choices gives up (quits): loops, or very long.
    max_choices: int = 1000
    #: Spread the start times evenly over this many days, ending now (date filters to preview).
    days: int = 1
    variant: str | None = None
    #: When the simulated audience finished (Unix seconds); default: now.
    end_time: float | None = None
    #: Arms every simulated viewer is put in (experiment -> arm); others are assigned.
    arms: tuple[tuple[str, str], ...] = ()
    #: Preferences planted in experiment arms.
    plants: tuple[PlantedEffect, ...] = ()

    #: The language the text is shown in (logged with each playthrough), and its translated
    #: strings by context; ``None``: the story's own language.
    language: str | None = None
    translation: Mapping[str, str] = field(default_factory=dict)
    #: How many simulated viewers share the playthroughs (taking turns, each keeping their own
    #: profile of the story from one playthrough to the next); default: one each.
    viewers: int | None = None
    #: Taste groups: each viewer belongs to one, and every group weighs each choice by its own
    #: fixed random factor (log-normal, spread ``taste_strength``), so viewers of a group make
    #: alike choices and reach alike endings playthrough after playthrough (0: no tastes).
    tastes: int = 0
    taste_strength: float = 1.5

    def __post_init__(self) -> None:
        if self.playthroughs < 0:
            raise ValueError("the number of playthroughs cannot be negative")
        for name in ("quit_rate", "rewind_rate"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0 and math.isfinite(value)):
                raise ValueError(f"{name.replace('_', '-')} must be between 0 and 1, not {value}")
        if self.max_choices < 1:
            raise ValueError("max-choices must be at least 1")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.viewers is not None and self.viewers < 1:
            raise ValueError("viewers must be at least 1")
        if self.tastes < 0:
            raise ValueError("tastes cannot be negative")
        if not (0.0 < self.taste_strength <= 10.0):
            raise ValueError("taste-strength must be above 0 and at most 10")

    def taste(self, group: int, node: str, choice: str) -> float:
        """How heavily viewers of taste ``group`` weigh ``choice`` at ``node``: fixed by the
        seed, the group and the choice, so it is the same in every playthrough.

        >>> o = SimulationOptions(10, seed=1, tastes=2)
        >>> o.taste(0, "cliff", "jump") == o.taste(0, "cliff", "jump")
        True
        >>> o.taste(0, "cliff", "jump") != o.taste(1, "cliff", "jump")
        True
        """
        rng = random.Random(f"{self.seed}\0{group}\0{node}\0{choice}")
        return rng.lognormvariate(0.0, self.taste_strength)


@dataclass
class SimulationResult:
    """What the simulated audience did: counts, and what it never reached."""

    playthroughs: int = 0
    events: int = 0
    completed: int = 0
    quit: int = 0
    failed: int = 0
    gave_up: int = 0
    nodes_reached: set[str] = field(default_factory=set)
    choices_taken: set[tuple[str, str]] = field(default_factory=set)
    endings: Counter[str] = field(default_factory=Counter)
    #: Runtime faults: message -> playthroughs that hit it.
    faults: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    #: CPU seconds spent playing (in whichever processes played), not writing.
    play_cpu_seconds: float = 0.0

    def dark_nodes(self, story: Story) -> list[str]:
        return [n for n in story.nodes if n not in self.nodes_reached]

    def dark_choices(self, story: Story) -> list[tuple[str, str]]:
        return [
            (node_id, choice.key)
            for node_id, node in story.nodes.items()
            for choice in node.choices or []
            if (node_id, choice.key) not in self.choices_taken
        ]

    def dark_endings(self, story: Story) -> list[str]:
        return [e for e in story.endings() if e not in self.endings]

    def add(self, other: SimulationResult) -> None:
        """Count ``other`` (another block's result) in this one."""
        self.playthroughs += other.playthroughs
        self.events += other.events
        self.completed += other.completed
        self.quit += other.quit
        self.failed += other.failed
        self.gave_up += other.gave_up
        self.nodes_reached |= other.nodes_reached
        self.choices_taken |= other.choices_taken
        self.endings.update(other.endings)
        self.faults.update(other.faults)
        self.play_cpu_seconds += other.play_cpu_seconds


class _Collect:
    """A recorder that keeps (wall time, event) pairs for the log."""

    __slots__ = ("clock", "events", "start")

    def __init__(self, start: float, clock: Callable[[], float]) -> None:
        self.start = start
        self.clock = clock
        self.events: list[tuple[float, Event]] = []

    def record(self, event: Event) -> None:
        self.events.append((self.start + self.clock(), event))

    def close(self) -> None:
        pass


#: Namespace of simulated playthrough ids (uuid5), fixed so runs stay reproducible.
_SIMULATED = uuid.UUID("5b1c0e2a-6f0d-4c83-9a57-3d2f6e1b8a40")
_VERSION_5 = (0x5 << 76) | (0x8 << 60)  # version 5, RFC 4122 variant
_NOT_VERSION = ~((0xF << 76) | (0xC << 60))


def _uuid5_hex(name: str) -> str:
    """``uuid.uuid5(_SIMULATED, name).hex``, without building UUID objects (hot path).

    >>> name = "story\\0hash\\0" + "ab" * 16
    >>> _uuid5_hex(name) == uuid.uuid5(_SIMULATED, name).hex
    True
    """
    digest = hashlib.sha1(_SIMULATED.bytes + name.encode("utf-8"), usedforsecurity=False)
    value = (int.from_bytes(digest.digest()[:16], "big") & _NOT_VERSION) | _VERSION_5
    return f"{value:032x}"


#: Playthroughs per unit of work: what one worker plays at a time and what the log commits in
#: one transaction (about 24,000 events on the demo story). A constant, never derived from the
#: number of workers, because ``--least-taken`` counts the choices taken within a block: the
#: same blocks give the same playthroughs however many processes play them.
BLOCK = 1000


@dataclass
class Block:
    """What :func:`play_block` returns: the counts, and the playthroughs ready for the log
    (empty when not logging)."""

    start: int
    result: SimulationResult
    playthroughs: list[Prepared]


def resolved(options: SimulationOptions) -> SimulationOptions:
    """``options`` with the end time fixed (now, when not given), so every block of one run
    places its playthroughs on the same time line."""
    return options if options.end_time is not None else replace(options, end_time=time.time())


def blocks(playthroughs: int) -> Iterator[tuple[int, int]]:
    """The ``[start, stop)`` ranges of playthrough numbers, :data:`BLOCK` at a time, made as
    they are needed (a run of a trillion playthroughs holds no list of a billion ranges).

    >>> list(blocks(2500))
    [(0, 1000), (1000, 2000), (2000, 2500)]
    """
    return ((lo, min(lo + BLOCK, playthroughs)) for lo in range(0, playthroughs, BLOCK))


def block_count(playthroughs: int) -> int:
    """How many ranges :func:`blocks` makes.

    >>> block_count(2500), block_count(1000), block_count(10**30)
    (3, 1, 1000000000000000000000000000)
    """
    return -(-playthroughs // BLOCK)


def play_block(
    story: Story,
    options: SimulationOptions,
    start: int,
    stop: int,
    *,
    log: bool = True,
    profiles: dict[str, ViewerProfile] | None = None,
) -> Block:
    """Play playthroughs ``start`` to ``stop - 1`` of the run ``options`` describes.

    ``options.end_time`` must be set (:func:`resolved`). Pure: depends only on its arguments,
    so any process can play any block. With ``options.viewers``, ``profiles`` holds each
    simulated viewer's profile of the story from their last playthrough, and is updated.
    """
    if options.end_time is None:
        raise ValueError("resolve the end time first (resolved(options))")
    cpu = time.process_time()
    result = SimulationResult()
    playthroughs: list[Prepared] = []
    taken: Counter[tuple[str, str]] = Counter()
    now = [0.0]

    def clock() -> float:
        return now[0]

    n = options.playthroughs
    # Start times spread evenly over the days, stopping an hour before the end so that the
    # playthroughs (minutes long) finish by then.
    window = options.days * 86400.0 - 3600.0
    first = options.end_time - options.days * 86400.0
    viewer_prefix = f"sim-{options.seed}-"
    forced = dict(options.arms)
    least_taken = options.strategy == "least-taken"
    quit_rate, rewind_rate = options.quit_rate, options.rewind_rate
    max_choices = options.max_choices
    # Named by the story file as well as the seed: simulating two stories (or two edits of
    # one) with the same seed into one log must not give the same playthrough ids.
    story_hash = story.content_hash
    id_prefix = f"{story.id}\0{story_hash}\0"
    for i in range(start, stop):
        # Each playthrough's own stream: the same whichever block or process plays it.
        rng = random.Random(f"{options.seed}/{i}")
        gauss = rng.gauss  # log-normal think times: exp of a normal (gauss: the fast one)
        started = first + (i + 0.5) * window / n
        now[0] = 0.0
        recorder = _Collect(started, clock)
        playthrough_id = _uuid5_hex(f"{id_prefix}{rng.getrandbits(128):032x}")
        who = i % options.viewers if options.viewers else i
        viewer = f"{viewer_prefix}{who}"
        arms = assignments(story, viewer, forced) if story.experiments else {}
        planted = {
            (p.node, p.choice): p.factor for p in options.plants if arms.get(p.experiment) == p.arm
        }
        group = who % options.tastes if options.tastes else None
        session = Session(
            story,
            clock=clock,
            recorder=recorder,
            playthrough_id=playthrough_id,
            arms=arms,
            language=options.language,
            translation=options.translation,
            viewer=profiles.get(viewer, FIRST_VISIT) if profiles is not None else FIRST_VISIT,
        )
        choices = 0
        while session.status == "playing":
            offers = session.available_choices()
            if choices >= max_choices:
                result.gave_up += 1
                session.quit()
                break
            if quit_rate and rng.random() < quit_rate:
                session.quit()
                break
            if rewind_rate and session.history and rng.random() < rewind_rate:
                now[0] += exp(gauss(THINK_MU - 1.0, THINK_SIGMA))
                session.rewind(rng.randrange(len(session.history)))
                continue
            think = exp(gauss(THINK_MU, THINK_SIGMA))
            left = session.time_left()
            if left is not None and think >= left:
                now[0] += left
                session.expire_timer()
            else:
                now[0] += think
                if least_taken:
                    node_id = session.node_id
                    fewest = min(taken[(node_id, o.id)] for o in offers)
                    pick = rng.choice([o for o in offers if taken[(node_id, o.id)] == fewest])
                elif group is not None or (
                    planted and any((session.node_id, o.id) in planted for o in offers)
                ):
                    node_id = session.node_id
                    weights = [
                        planted.get((node_id, o.id), 1.0)
                        * (options.taste(group, node_id, o.id) if group is not None else 1.0)
                        for o in offers
                    ]
                    pick = rng.choices(offers, weights)[0]
                else:
                    pick = offers[rng.randrange(len(offers))]
                session.choose(pick.id)
            choices += 1
            now[0] += 0.5  # the next passage appears
        if profiles is not None:
            profiles[viewer] = session.viewer_profile()
        info = PlaythroughInfo(
            playthrough_id,
            story.id,
            story.version,
            story_hash,
            viewer,
            options.variant,
            session.language,
        )
        prepared = prepare_playthrough(info, recorder.events, started_at=started)
        _tally(result, taken, prepared)
        if session.status == "ended":
            result.completed += 1
        elif session.status == "failed":
            result.failed += 1
        else:
            result.quit += 1
        if log:
            playthroughs.append(prepared)
    result.play_cpu_seconds = time.process_time() - cpu
    return Block(start, result, playthroughs)


# Positions in an event row (branching.log.state.EVENT_COLUMNS).
_KIND, _NODE, _CHOICE, _DETAIL = 2, 3, 4, 9


def _tally(result: SimulationResult, taken: Counter[tuple[str, str]], prepared: Prepared) -> None:
    """Count one playthrough's rows in ``result`` (and its choices in ``taken``)."""
    for row in prepared.rows:
        kind = row[_KIND]
        if kind == "enter":
            result.nodes_reached.add(row[_NODE])
        elif kind == "choice":
            key = (row[_NODE], row[_CHOICE])
            result.choices_taken.add(key)
            taken[key] += 1
        elif kind == "ending":
            result.endings[row[_NODE]] += 1
        elif kind == "fail":
            result.faults[row[_DETAIL]] += 1
    result.playthroughs += 1
    result.events += len(prepared.rows)


def simulate(
    story: Story,
    options: SimulationOptions,
    writer: BulkWriter | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Play ``options.playthroughs`` random playthroughs of ``story``; log them to ``writer``.

    ``workers`` above 1 plays the blocks in that many processes (:mod:`analytics.simulate_pool`)
    while this process writes them, in order; the result and the log are the same for any
    number. Each block is committed in its own transaction, so an interrupted run leaves
    whole playthroughs, blocks in order from the first. ``progress`` is called with the
    number of playthroughs done, after each block.
    """
    options = resolved(options)
    result = SimulationResult()
    began = time.perf_counter()
    done = 0

    def take(block: Block) -> None:
        nonlocal done
        if writer is not None:
            writer.write_prepared(block.playthroughs)
            writer.flush()
        result.add(block.result)
        done += block.result.playthroughs
        if progress is not None:
            progress(done)

    ranges = blocks(options.playthroughs)
    several = block_count(options.playthroughs) > 1
    if options.viewers:
        # Returning viewers: each playthrough starts from the profile the viewer's last one
        # left, so the blocks are played in order, in this process.
        profiles: dict[str, ViewerProfile] = {}
        for lo, hi in ranges:
            take(play_block(story, options, lo, hi, log=writer is not None, profiles=profiles))
    elif workers > 1 and several:
        from analytics.simulate_pool import play_in_workers

        played = play_in_workers(
            story, options, ranges, block_count(options.playthroughs), workers,
            log=writer is not None,
        )  # fmt: skip
        with contextlib.closing(played):  # an error here stops the workers at once
            for block in played:
                take(block)
    else:
        for lo, hi in ranges:
            take(play_block(story, options, lo, hi, log=writer is not None))
    if progress is not None:
        progress(options.playthroughs)
    result.seconds = time.perf_counter() - began
    return result
