"""Checks of a story's experiments: declarations, node variants, and each arm's story map.

Like :mod:`branching.story.checks` they work on the plain JSON data, so a story with schema
errors still gets them. A variant's content is checked by the same per-node checker as the
node itself (on the node as the arm sees it), and only problems the variant causes are
reported, at the variant's place in the file. The graph checks (unreachable, traps) run for
every arm of every experiment, the other experiments at their control arm, and report what
the arm breaks that the story as written does not.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from branching.story.problems import Problem, pointer

#: Node fields an arm may replace.
VARIANT_FIELDS = ("text", "title", "choices", "timer")

#: Checks one node's data and returns its problems (``checks._Checker.node`` for a node).
NodeCheck = Callable[[str, Mapping[str, Any]], list[Problem]]
#: The graph warnings of a story map, given each node's successors by id.
GraphCheck = Callable[[Mapping[str, list[str]]], list[Problem]]


def declared_experiments(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each well-formed experiment's arms, in order (malformed ones are schema errors)."""
    experiments = raw.get("experiments")
    found: dict[str, list[str]] = {}
    if isinstance(experiments, dict):
        for experiment_id, experiment in experiments.items():
            arms = experiment.get("arms") if isinstance(experiment, dict) else None
            if isinstance(arms, dict):
                found[experiment_id] = list(arms)
    return found


def check_declarations(raw: Mapping[str, Any], nodes: Mapping[str, Any]) -> Iterator[Problem]:
    """Arms and weights of each experiment, and experiments no node uses."""
    experiments = raw.get("experiments")
    if not isinstance(experiments, dict):
        return
    used = {
        experiment_id
        for node in nodes.values()
        if isinstance(node, dict) and isinstance(node.get("variants"), dict)
        for experiment_id in node["variants"]
    }
    for experiment_id, experiment in experiments.items():
        arms = experiment.get("arms") if isinstance(experiment, dict) else None
        if not isinstance(arms, dict):
            continue
        at = ("experiments", experiment_id, "arms")
        if len(arms) < 2:
            yield Problem(
                "error",
                "experiment-arms",
                f'experiment "{experiment_id}" needs at least two arms (a control, listed '
                f"first, and one to compare with it); it has {len(arms)}",
                pointer(*at),
            )
        for arm, weight in arms.items():
            number = isinstance(weight, int | float) and not isinstance(weight, bool)
            if number and (not math.isfinite(weight) or weight <= 0):
                yield Problem(
                    "error",
                    "experiment-weight",
                    f'arm "{arm}" of experiment "{experiment_id}" has weight {weight}; '
                    "weights must be positive numbers (they are relative: 1 and 1 split "
                    "viewers evenly)",
                    pointer(*at, arm),
                )
        if experiment_id not in used:
            yield Problem(
                "warning",
                "unused-experiment",
                f'no node has variants for experiment "{experiment_id}", so its arms all see '
                "the same story and no viewer is ever exposed",
                pointer("experiments", experiment_id),
            )


def check_variants(
    node_id: str,
    node: Mapping[str, Any],
    declared: Mapping[str, list[str]],
    check_node: NodeCheck,
) -> Iterator[Problem]:
    """A node's variants: known experiments and arms, and the content each arm shows."""
    variants = node.get("variants")
    if not isinstance(variants, dict):
        return
    for experiment_id, by_arm in variants.items():
        at = ("nodes", node_id, "variants", experiment_id)
        arms = declared.get(experiment_id)
        if arms is None:
            yield Problem(
                "error",
                "unknown-experiment",
                f'variants for experiment "{experiment_id}", which the story does not declare '
                'in "experiments"' + _nearest(experiment_id, list(declared)),
                pointer(*at),
                node_id,
            )
            continue
        if not isinstance(by_arm, dict):
            continue
        for arm, variant in by_arm.items():
            if arm not in arms:
                yield Problem(
                    "error",
                    "unknown-arm",
                    f'experiment "{experiment_id}" has no arm "{arm}" (its arms: '
                    f"{', '.join(arms)})" + _nearest(arm, arms),
                    pointer(*at, arm),
                    node_id,
                )
                continue
            if arm == arms[0]:
                yield Problem(
                    "error",
                    "control-variant",
                    f'"{arm}" is the control arm of experiment "{experiment_id}" (listed first), '
                    "which always sees the node as written; give the change to another arm",
                    pointer(*at, arm),
                    node_id,
                )
                continue
            if isinstance(variant, dict):
                yield from _variant_content(
                    node_id, node, variant, (experiment_id, arm), check_node
                )


def _variant_content(
    node_id: str,
    node: Mapping[str, Any],
    variant: Mapping[str, Any],
    arm: tuple[str, str],
    check_node: NodeCheck,
) -> Iterator[Problem]:
    changed = [name for name in VARIANT_FIELDS if name in variant]
    if not changed:
        return
    merged = {**node, **{name: variant[name] for name in changed}}
    if merged.get("timer") is None:
        merged.pop("timer", None)
    merged.pop("variants", None)
    within = ("variants", *arm)
    label = f'in experiment "{arm[0]}", arm "{arm[1]}": '
    for problem in check_node(node_id, merged):
        parts = _parts(problem.path)
        field = parts[2] if len(parts) > 2 else None
        if field in changed:
            rest = parts[2:]
        elif field is None and "choices" in changed:
            rest = ["choices"]  # the arm left a non-ending node without choices
        elif field == "ending" and "choices" in changed:
            rest = ["choices"]  # the arm gave an ending choices
        elif field == "timer" and "choices" in changed:
            rest = parts[2:]  # the node's timer no longer fits the arm's choices
        else:
            continue  # the node's own problem, reported for the node already
        if field == "timer" and "timer" not in changed:
            path = pointer(*parts)
        else:
            path = pointer(*parts[:2], *within, *rest)
        yield Problem(problem.severity, problem.code, label + problem.message, path, node_id)


def arm_views(
    nodes: Mapping[str, Any], declared: Mapping[str, list[str]]
) -> Iterator[tuple[str, str, dict[str, list[str]]]]:
    """For each arm (other than the control) of each experiment that changes choices: the
    successors of every node as that arm sees it."""
    base = {node_id: _targets(node) for node_id, node in nodes.items()}
    for experiment_id, arms in declared.items():
        for arm in arms[1:]:
            changed = {
                node_id: _targets({"choices": variant["choices"]})
                for node_id, node in nodes.items()
                if isinstance(node, dict)
                and isinstance(variants := node.get("variants"), dict)
                and isinstance(by_arm := variants.get(experiment_id), dict)
                and isinstance(variant := by_arm.get(arm), dict)
                and "choices" in variant
            }
            if changed:
                yield experiment_id, arm, {**base, **changed}


def check_arm_graphs(
    nodes: Mapping[str, Any],
    declared: Mapping[str, list[str]],
    graph_check: GraphCheck,
    written: list[Problem],
) -> list[Problem]:
    """The graph warnings of the story with its experiments: ``written`` (those of the story
    as written) without the nodes some arm reaches after all, plus what only an arm's map
    has, labelled with the arm.
    """
    views = list(arm_views(nodes, declared))
    if not views:
        return written
    already = {(p.code, p.path) for p in written}
    unreached = {key for key in already if key[0] in ("unreachable", "unreached-ending")}
    found: list[Problem] = []
    for experiment_id, arm, successors in views:
        in_arm = graph_check(successors)
        unreached &= {(p.code, p.path) for p in in_arm}  # an arm reaches the rest
        for problem in in_arm:
            if (problem.code, problem.path) in already:
                continue
            found.append(
                Problem(
                    problem.severity,
                    problem.code,
                    f'in experiment "{experiment_id}", arm "{arm}": {problem.message}',
                    problem.path,
                    problem.node,
                )
            )
    kept = [
        p
        for p in written
        if p.code not in ("unreachable", "unreached-ending") or (p.code, p.path) in unreached
    ]
    return kept + found


def _targets(node: Any) -> list[str]:
    choices = node.get("choices") if isinstance(node, dict) else None
    if not isinstance(choices, list):
        return []
    return [c["to"] for c in choices if isinstance(c, dict) and isinstance(c.get("to"), str)]


def _parts(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _nearest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f'; did you mean "{close[0]}"?' if close else ""
