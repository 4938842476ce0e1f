"""A/B experiments in a story: which arm a viewer is in, and the story as an arm sees it.

**Assignment** is a pure function of (experiment id, viewer id) and the arms' weights, the
same on every machine, in every process and in any engine that has SHA-256 (SQL engines
included), and sticky: the same viewer always gets the same arm while the weights stay the
same. The rule, in full:

1. ``h`` = the first 8 bytes of ``SHA-256("branching-arm/1" + "\\x1f" + experiment + "\\x1f" +
   viewer)`` (UTF-8), read as a big-endian unsigned integer;
2. ``u = h / 2**64``, a number in [0, 1);
3. the arms, in the order the story lists them, split [0, 1) into intervals of length
   ``weight / sum(weights)``; the viewer's arm is the one whose interval holds ``u``.

Changing the weights moves some viewers to another arm; add an experiment (with a new id)
rather than re-weighting a running one. Python's ``hash()`` is never used: it differs
between processes.

**Arm views**: :func:`story_for_arms` gives the story with each node's variants for the
chosen arms applied, so the engine, the graph checks and the maps work on it unchanged.

>>> from branching.story.model import Experiment
>>> wording = Experiment(arms={"old": 1, "new": 1})
>>> assign_arm("viewer-1", "wording", wording)
'new'
>>> assign_arm("viewer-1", "wording", wording) == assign_arm("viewer-1", "wording", wording)
True
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from branching.story.model import Experiment, Node, NodeVariant, Story

#: Versions the assignment rule: a new rule gets a new salt, so old results stay reproducible.
ASSIGNMENT_SALT = "branching-arm/1"
_SEPARATOR = "\x1f"


def unit_interval(experiment_id: str, viewer: str) -> float:
    """The viewer's point in [0, 1) for an experiment (step 2 of the rule).

    >>> round(unit_interval("wording", "viewer-1"), 6)
    0.829004
    """
    text = _SEPARATOR.join((ASSIGNMENT_SALT, experiment_id, viewer))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_at(point: float, arms: Mapping[str, float]) -> str:
    """The arm whose interval of [0, 1) holds ``point`` (step 3 of the rule).

    >>> arm_at(0.1, {"a": 1, "b": 3}), arm_at(0.3, {"a": 1, "b": 3})
    ('a', 'b')
    """
    total = float(sum(arms.values()))
    edge = 0.0
    last = ""
    for arm, weight in arms.items():
        edge += weight / total
        last = arm
        if point < edge:
            return arm
    return last  # rounding left point at (or past) the last edge


def assign_arm(viewer: str, experiment_id: str, experiment: Experiment) -> str:
    """The arm ``viewer`` is in (the documented rule above)."""
    return arm_at(unit_interval(experiment_id, viewer), experiment.arms)


def assignments(
    story: Story, viewer: str, forced: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The viewer's arm in every experiment of ``story``; ``forced`` arms (``play --arm``) win.

    Raises :class:`ValueError` for a forced experiment or arm the story does not have.
    """
    forced = dict(forced or {})
    check_forced(story, forced)
    return {
        experiment_id: forced.get(experiment_id) or assign_arm(viewer, experiment_id, experiment)
        for experiment_id, experiment in story.experiments.items()
    }


def check_forced(story: Story, forced: Mapping[str, str]) -> None:
    """Raise :class:`ValueError` naming what exists when a forced experiment or arm does not."""
    for experiment_id, arm in forced.items():
        experiment = story.experiments.get(experiment_id)
        if experiment is None:
            known = ", ".join(story.experiments) or "none"
            raise ValueError(
                f'the story has no experiment "{experiment_id}" (its experiments: {known})'
            )
        if arm not in experiment.arms:
            raise ValueError(
                f'experiment "{experiment_id}" has no arm "{arm}" '
                f"(its arms: {', '.join(experiment.arms)})"
            )


def parse_arm_options(values: Iterable[str]) -> dict[str, str]:
    """``EXPERIMENT=ARM`` options as a mapping; :class:`ValueError` for a malformed one.

    >>> parse_arm_options(["wording=new", "pace=slow"])
    {'wording': 'new', 'pace': 'slow'}
    """
    found: dict[str, str] = {}
    for value in values:
        experiment, sep, arm = value.partition("=")
        if not sep or not experiment.strip() or not arm.strip():
            raise ValueError(f"expected EXPERIMENT=ARM, got {value!r}")
        experiment, arm = experiment.strip(), arm.strip()
        if found.get(experiment, arm) != arm:
            raise ValueError(f'two arms given for experiment "{experiment}"')
        found[experiment] = arm
    return found


def apply_variant(node: Node, variant: NodeVariant) -> Node:
    """``node`` as an arm sees it: the fields the variant gives replace the node's."""
    changes = {name: getattr(variant, name) for name in variant.model_fields_set}
    return node.model_copy(update=changes) if changes else node


def node_for_arms(node: Node, arms: Mapping[str, str]) -> Node:
    """``node`` with the variants of the given arms applied (in the node's variant order)."""
    for experiment_id, by_arm in node.variants.items():
        variant = by_arm.get(arms.get(experiment_id, ""))
        if variant is not None:
            node = apply_variant(node, variant)
    return node


def story_for_arms(story: Story, arms: Mapping[str, str]) -> Story:
    """``story`` as a viewer in ``arms`` sees it (experiments not named: the control arm).

    Unchanged nodes are shared with ``story``; the content hash stays the file's, because
    saves and the log refer to the file, with the arms recorded beside it.
    """
    key = (id(story), tuple(sorted(arms.items())))
    cached = _VIEWS.get(key)
    if cached is not None and cached[0] is story:
        _VIEWS.move_to_end(key)
        return cached[1]
    view = _view_for_arms(story, arms)
    # Holding the story keeps its id from being reused while the entry lives.
    _VIEWS[key] = (story, view)
    if len(_VIEWS) > _MAX_VIEWS:
        _VIEWS.popitem(last=False)
    return view


#: Recent arm views, (id(story), arms) -> (story, view): a simulator starts thousands of
#: sessions of one story in a handful of arm combinations. Stories are immutable (frozen).
_VIEWS: OrderedDict[tuple[int, tuple[tuple[str, str], ...]], tuple[Story, Story]] = OrderedDict()
_MAX_VIEWS = 32


def _view_for_arms(story: Story, arms: Mapping[str, str]) -> Story:
    changed = {}
    for node_id, node in story.nodes.items():
        if node.variants:
            seen = node_for_arms(node, arms)
            if seen is not node:
                changed[node_id] = seen
    if not changed:
        return story
    view = story.model_copy(update={"nodes": {**story.nodes, **changed}})
    view._content_hash = story.content_hash
    return view


def exposing_experiments(node: Node) -> list[str]:
    """The experiments whose arms change ``node``: entering it exposes the viewer to them."""
    return list(node.variants)
