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

Playthroughs go to the choice log through its bulk writer (one transaction per batch), so the
roll-ups, reports and everything else see them exactly as they would see viewers'. The run is
reproducible: the same story, options and seed give the same playthroughs, ids and times.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from branching.play.engine import Session
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Failed,
    NodeEntered,
    PlaythroughInfo,
)
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


class _Collect:
    """A recorder that keeps (wall time, event) pairs for the bulk writer."""

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


def simulate(
    story: Story,
    options: SimulationOptions,
    writer: BulkWriter | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Play ``options.playthroughs`` random playthroughs of ``story``; log them to ``writer``.

    ``progress`` is called with the number of playthroughs done, every few hundred.
    """
    rng = random.Random(options.seed)
    result = SimulationResult()
    taken: Counter[tuple[str, str]] = Counter()
    now = [0.0]

    def clock() -> float:
        return now[0]

    end = options.end_time if options.end_time is not None else time.time()
    first = end - options.days * 86400.0
    # Start times spread evenly over the days, stopping an hour before the end so that the
    # playthroughs (minutes long) finish by then.
    window = options.days * 86400.0 - 3600.0
    n = options.playthroughs
    viewer_prefix = f"sim-{options.seed}-"
    #: Each simulated viewer's profile of the story, as the player would keep it.
    profiles: dict[str, ViewerProfile] = {}
    began = time.perf_counter()
    for i in range(n):
        started = first + (i + 0.5) * window / n
        now[0] = 0.0
        recorder = _Collect(started, clock)
        # Named by the story file as well as the seed: simulating two stories (or two edits of
        # one) with the same seed into one log must not give the same playthrough ids.
        playthrough_id = uuid.uuid5(
            _SIMULATED, f"{story.id}\0{story.content_hash}\0{rng.getrandbits(128):032x}"
        ).hex
        who = i % options.viewers if options.viewers else i
        viewer = f"{viewer_prefix}{who}"
        arms = assignments(story, viewer, dict(options.arms)) if story.experiments else {}
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
            viewer=profiles.get(viewer, FIRST_VISIT),
        )
        choices = 0
        while session.status == "playing":
            offers = session.available_choices()
            if choices >= options.max_choices:
                result.gave_up += 1
                session.quit()
                break
            if options.quit_rate and rng.random() < options.quit_rate:
                session.quit()
                break
            if options.rewind_rate and session.history and rng.random() < options.rewind_rate:
                now[0] += rng.lognormvariate(THINK_MU - 1.0, THINK_SIGMA)
                session.rewind(rng.randrange(len(session.history)))
                continue
            think = rng.lognormvariate(THINK_MU, THINK_SIGMA)
            left = session.time_left()
            if left is not None and think >= left:
                now[0] += left
                session.expire_timer()
            else:
                now[0] += think
                if options.strategy == "least-taken":
                    fewest = min(taken[(session.node_id, o.id)] for o in offers)
                    pick = rng.choice(
                        [o for o in offers if taken[(session.node_id, o.id)] == fewest]
                    )
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
        events = recorder.events
        for _, event in events:
            if isinstance(event, NodeEntered):
                result.nodes_reached.add(event.node)
            elif isinstance(event, ChoiceMade):
                key = (event.node, event.choice)
                result.choices_taken.add(key)
                taken[key] += 1
            elif isinstance(event, EndingReached):
                result.endings[event.node] += 1
            elif isinstance(event, Failed):
                result.faults[event.message] += 1
        if options.viewers:
            profiles[viewer] = session.viewer_profile()
        if session.status == "ended":
            result.completed += 1
        elif session.status == "failed":
            result.failed += 1
        else:
            result.quit += 1
        result.playthroughs += 1
        result.events += len(events)
        if writer is not None:
            info = PlaythroughInfo(
                playthrough_id,
                story.id,
                story.version,
                story.content_hash,
                viewer,
                options.variant,
                session.language,
            )
            writer.write_playthrough(info, events, started_at=started)
        if progress is not None and (i + 1) % 250 == 0:
            progress(i + 1)
    if progress is not None:
        progress(n)
    result.seconds = time.perf_counter() - began
    return result
