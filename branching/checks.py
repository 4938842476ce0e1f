"""Whole-story checks: targets, choice ids, timers, expressions, text, and graph warnings.

They work on the plain JSON data rather than the pydantic models, so that a story with schema
errors still gets every other problem reported in the same run, and so that the linear checks on
a 100,000-node story stay cheap (plain dicts and adjacency lists, no networkx).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from branching.expressions import (
    ExpressionError,
    Kind,
    TemplateError,
    check,
    kind_of,
    parse,
    template,
)
from branching.problems import Problem, pointer

#: C0 and C1 control characters except newline and tab: they could drive the viewer's terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Raw C1 characters may sit in JSON text; C0 ones must be escaped (\u001b, \b, \f, \r).
_MAYBE_CONTROL = re.compile(
    r"[\x7f-\x9f]|\\(?:u00[01][0-9a-fA-F]|u00[89][0-9a-fA-F]|u007[fF]|[bfr])"
)


def check_story(
    raw: dict[str, Any], *, warnings: bool = True, text: str | None = None
) -> list[Problem]:
    """Every problem in a story's JSON data that the schema alone cannot see."""
    problems: list[Problem] = []
    nodes = raw.get("nodes")
    if not isinstance(nodes, dict):
        return problems
    variables = raw.get("variables")
    kinds: dict[str, Kind] = {}
    if isinstance(variables, dict):
        kinds = {
            name: kind_of(value)
            for name, value in variables.items()
            if isinstance(value, bool | int | float | str)
        }
    start = raw.get("start")
    if isinstance(start, str) and start not in nodes:
        problems.append(
            Problem("error", "missing-start", f'start node "{start}" does not exist', "/start")
        )

    for node_id, node in nodes.items():
        if isinstance(node, dict):
            problems.extend(_check_node(node_id, node, nodes, kinds))

    if text is None or may_hold_control_characters(text):
        problems.extend(_control_characters(raw))
    if warnings and not any(p.severity == "error" for p in problems):
        problems.extend(graph_warnings(raw))
    return problems


def _check_node(
    node_id: str, node: dict[str, Any], nodes: Mapping[str, Any], kinds: Mapping[str, Kind]
) -> Iterator[Problem]:
    here = pointer("nodes", node_id)
    choices = node.get("choices")
    ending = node.get("ending")
    is_ending = ending is not None and ending is not False
    if is_ending and choices:
        yield Problem(
            "error",
            "ending-with-choices",
            "an ending node cannot have choices",
            here + "/ending",
            node_id,
        )
    if not is_ending and not choices:
        yield Problem(
            "error",
            "no-choices",
            'the node has no choices and is not an ending; add choices or "ending": true',
            here,
            node_id,
        )
    text = node.get("text")
    if isinstance(text, str):
        yield from _check_template(text, here + "/text", node_id, kinds)
    if isinstance(node.get("set"), dict):
        yield from _check_effects(node["set"], here + "/set", node_id, nodes, kinds)

    keys: dict[str, int] = {}
    if isinstance(choices, list):
        for index, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            at = f"{here}/choices/{index}"
            target = choice.get("to")
            if isinstance(target, str) and target not in nodes:
                yield Problem(
                    "error",
                    "missing-node",
                    f'choice leads to "{target}", which does not exist',
                    at + "/to",
                    node_id,
                )
            key = choice.get("id", target)
            if isinstance(key, str):
                if key in keys:
                    yield Problem(
                        "error",
                        "duplicate-choice-id",
                        f'choice id "{key}" is used by choice {keys[key] + 1} too; '
                        'give one of them an "id"',
                        at + ("/id" if "id" in choice else "/to"),
                        node_id,
                    )
                else:
                    keys[key] = index
            label = choice.get("label")
            if isinstance(label, str):
                yield from _check_template(label, at + "/label", node_id, kinds)
            condition = choice.get("if")
            if isinstance(condition, str):
                yield from _check_expression(
                    condition, at + "/if", node_id, nodes, kinds, wanted="bool"
                )
            if isinstance(choice.get("set"), dict):
                yield from _check_effects(choice["set"], at + "/set", node_id, nodes, kinds)

    timer = node.get("timer")
    if isinstance(timer, dict):
        seconds = timer.get("seconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds <= 0:
            yield Problem(
                "error",
                "timer-seconds",
                f"a timer needs more than 0 seconds, not {seconds}",
                here + "/timer/seconds",
                node_id,
            )
        default = timer.get("default")
        if isinstance(default, str) and default not in keys and not is_ending:
            known = ", ".join(f'"{k}"' for k in keys) or "none"
            yield Problem(
                "error",
                "timer-default",
                f'timer default "{default}" is not a choice of this node (choice ids: {known})',
                here + "/timer/default",
                node_id,
            )
        if is_ending:
            yield Problem(
                "error",
                "timer-default",
                "an ending node has no choices for a timer to take",
                here + "/timer",
                node_id,
            )


def _check_template(
    text: str, at: str, node_id: str, kinds: Mapping[str, Kind]
) -> Iterator[Problem]:
    try:
        parsed = template(text)
    except TemplateError as exc:
        yield Problem(
            "error", "interpolation", f"{exc} (at character {exc.offset + 1})", at, node_id
        )
        return
    for name in sorted(parsed.variables - kinds.keys()):
        yield Problem(
            "error",
            "undefined-variable",
            f'{{{name}}} names no variable; declare it in "variables"',
            at,
            node_id,
        )


def _check_expression(
    source: str,
    at: str,
    node_id: str,
    nodes: Mapping[str, Any],
    kinds: Mapping[str, Kind],
    *,
    wanted: Kind | None,
    what: str = "condition",
) -> Iterator[Problem]:
    try:
        expr = parse(source)
    except ExpressionError as exc:
        yield Problem("error", "expression-syntax", f"{exc}: {source[:80]}", at, node_id)
        return
    undefined = sorted(expr.variables - kinds.keys())
    for name in undefined:
        yield Problem(
            "error",
            "undefined-variable",
            f'"{name}" is not a variable of this story; declare it in "variables"',
            at,
            node_id,
        )
    for target in sorted(expr.nodes):
        if target not in nodes:
            yield Problem(
                "error", "unknown-node-in-visits", f'visits("{target}") names no node', at, node_id
            )
    if undefined:
        return
    try:
        kind = check(expr, kinds)
    except ExpressionError as exc:
        yield Problem("error", "type-error", f"{exc}: {source[:80]}", at, node_id)
        return
    if wanted is not None and kind is not None and kind != wanted:
        described = {"bool": "true or false", "number": "a number", "string": "a string"}
        yield Problem(
            "error",
            "type-error",
            f"this {what} gives {described[kind]}, "
            f"but {described[wanted]} is needed: {source[:80]}",
            at,
            node_id,
        )


def _check_effects(
    effects: Mapping[str, Any],
    at: str,
    node_id: str,
    nodes: Mapping[str, Any],
    kinds: Mapping[str, Kind],
) -> Iterator[Problem]:
    for name, value in effects.items():
        here = f"{at}/{pointer(name)[1:]}"
        if name not in kinds:
            yield Problem(
                "error",
                "undefined-variable",
                f'sets "{name}", which is not a variable of this story; declare it in "variables"',
                here,
                node_id,
            )
            continue
        if isinstance(value, str):
            yield from _check_expression(
                value, here, node_id, nodes, kinds, wanted=kinds[name], what=f'value for "{name}"'
            )
        elif isinstance(value, bool | int | float) and kind_of(value) != kinds[name]:
            yield Problem(
                "error",
                "type-error",
                f'"{name}" holds {kinds[name]} values; {value!r} is {kind_of(value)}',
                here,
                node_id,
            )


def _control_characters(raw: Any) -> Iterator[Problem]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, str):
            match = CONTROL.search(value)
            if match:
                yield _control_problem(parts, f"U+{ord(match.group()):04X}", match.start())
        elif isinstance(value, dict):
            for key, item in value.items():
                if CONTROL.search(key):
                    yield _control_problem((*parts, key), "in a key", 0)
                stack.append((item, (*parts, key)))
        elif isinstance(value, list):
            stack.extend((item, (*parts, index)) for index, item in enumerate(value))


def _control_problem(parts: tuple[str | int, ...], what: str, offset: int) -> Problem:
    node = str(parts[1]) if len(parts) >= 2 and parts[0] == "nodes" else None
    return Problem(
        "error",
        "control-character",
        f"control character {what} at character {offset + 1}: story text may hold newlines and "
        "tabs but no other control characters (they could drive the viewer's terminal)",
        pointer(*parts),
        node,
    )


def may_hold_control_characters(text: str) -> bool:
    """A cheap test on the raw JSON text: False means no string in it has a control character."""
    return _MAYBE_CONTROL.search(text) is not None


# --- Graph warnings --------------------------------------------------------------------------


def adjacency(nodes: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each node's distinct existing targets, in choice order."""
    graph: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        targets: list[str] = []
        if isinstance(node, dict) and isinstance(node.get("choices"), list):
            for choice in node["choices"]:
                if isinstance(choice, dict):
                    target = choice.get("to")
                    if isinstance(target, str) and target in nodes and target not in targets:
                        targets.append(target)
        graph[node_id] = targets
    return graph


def reachable_from(graph: Mapping[str, list[str]], start: str) -> set[str]:
    """Nodes reachable from ``start`` (itself included).

    >>> sorted(reachable_from({"a": ["b"], "b": [], "c": ["a"]}, "a"))
    ['a', 'b']
    """
    seen = {start}
    queue = deque([start])
    while queue:
        for target in graph.get(queue.popleft(), ()):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def can_finish(graph: Mapping[str, list[str]], endings: set[str]) -> set[str]:
    """Nodes from which some ending can be reached (endings included).

    >>> sorted(can_finish({"a": ["b"], "b": [], "c": ["c"]}, {"b"}))
    ['a', 'b']
    """
    reverse: dict[str, list[str]] = {node: [] for node in graph}
    for source, targets in graph.items():
        for target in targets:
            reverse[target].append(source)
    seen = set(endings)
    queue = deque(endings)
    while queue:
        for source in reverse.get(queue.popleft(), ()):
            if source not in seen:
                seen.add(source)
                queue.append(source)
    return seen


def graph_warnings(raw: Mapping[str, Any]) -> list[Problem]:
    nodes = raw["nodes"]
    start = raw.get("start")
    if not isinstance(start, str) or start not in nodes:
        return []
    graph = adjacency(nodes)
    endings = {
        node_id
        for node_id, node in nodes.items()
        if isinstance(node, dict) and node.get("ending") not in (None, False)
    }
    reachable = reachable_from(graph, start)
    finishing = can_finish(graph, endings)
    problems: list[Problem] = []
    for node_id, node in nodes.items():
        here = pointer("nodes", node_id)
        if node_id not in reachable:
            if node_id in endings:
                problems.append(
                    Problem(
                        "warning",
                        "unreached-ending",
                        f'no path from the start "{start}" leads to this ending',
                        here,
                        node_id,
                    )
                )
            else:
                problems.append(
                    Problem(
                        "warning",
                        "unreachable",
                        f'no path from the start "{start}" leads here',
                        here,
                        node_id,
                    )
                )
            continue
        if node_id not in finishing:
            problems.append(
                Problem(
                    "warning",
                    "trap",
                    "no ending can be reached from here: a viewer who gets here can never finish",
                    here,
                    node_id,
                )
            )
        choices = node.get("choices") if isinstance(node, dict) else None
        if (
            isinstance(choices, list)
            and choices
            and all(isinstance(c, dict) and "if" in c for c in choices)
        ):
            problems.append(
                Problem(
                    "warning",
                    "all-conditional",
                    "every choice here has a condition: if none holds, the viewer is stuck "
                    "(`branching validate --deep` checks whether that can happen)",
                    here + "/choices",
                    node_id,
                )
            )
    return problems
