"""Whole-story checks: targets, choice ids, timers, expressions, text, and graph warnings.

They work on the plain JSON data rather than the pydantic models, so that a story with schema
errors still gets every other problem reported in the same run, and so that the linear checks on
a 100,000-node story stay cheap: one pass over the nodes that also builds an integer adjacency
list, verdicts on expressions computed once per distinct source, JSON pointers built only for
problems, and graph searches over lists of integers (no networkx).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from branching.story import locales
from branching.story.experiment_checks import (
    check_arm_graphs,
    check_declarations,
    check_variants,
    declared_experiments,
)
from branching.story.expressions import Kind, in_range, kind_of
from branching.story.problems import Problem, pointer
from branching.story.suggestions import Suggestions
from branching.story.text_checks import TextFinding, check_text, expression_findings
from branching.story.untrusted import BIDI_CONTROL, CONTROL, LONE_SURROGATE

# Cheap tests on the file before any walk of the parsed data. C0 characters must be escaped in
# JSON text (\u001b, \b, \f, \r); DEL and C1 characters may also sit there raw, which in UTF-8
# is the byte 0x7f or 0xc2 followed by 0x80-0x9f. Searching bytes for a literal prefix is ~10x
# faster than a character class over decoded text.
_ESCAPED_CONTROL = re.compile(
    r"\\(?:u00[01][0-9a-fA-F]|u00[89][0-9a-fA-F]|u007[fF]|[bfr]|u202[a-eA-E]|u206[6-9]"
    # and surrogates (\ud800-\udfff), paired or not: the walk tells lone ones apart
    r"|u[dD][89a-fA-F])"
)
_ESCAPED_CONTROL_BYTES = re.compile(_ESCAPED_CONTROL.pattern.encode())
# Raw C1 characters, and raw bidi controls (U+202A-202E, U+2066-2069 in UTF-8).
_RAW_C1 = re.compile(rb"\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
_RAW_C1_TEXT = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

#: A problem before it is placed: (code, message).
_Finding = tuple[str, str]


#: A name quoted in a message.
_QUOTED = re.compile(r'"([^"]*)"')


def check_story(
    raw: dict[str, Any], *, warnings: bool = True, text: str | bytes | None = None
) -> list[Problem]:
    """Every problem in a story's JSON data that the schema alone cannot see.

    ``text`` is the file the data came from (bytes or decoded); when given, the walk looking
    for control characters runs only if the file may hold one. Graph warnings are computed
    on the map as it stands, errors or not, so one run reports every problem; a node whose way
    on is an error (a missing target, no choices) is not also called a trap.

    >>> story = {"start": "a", "nodes": {"a": {"choices": [{"label": "Go", "to": "b"}]}}}
    >>> [(p.code, p.path) for p in check_story(story)]
    [('missing-node', '/nodes/a/choices/0/to')]
    """
    problems: list[Problem] = []
    nodes = raw.get("nodes")
    if not isinstance(nodes, dict):
        return problems
    kinds: dict[str, Kind] = {}
    #: Names declared with a value no variable can hold: declared all the same, so their uses
    #: are not also called undeclared (the schema error on the value is the one to fix).
    broken: set[str] = set()
    # Profile names are read and set like variables: one namespace, checked the same way.
    for field in ("variables", "profile"):
        declared = raw.get(field)
        if not isinstance(declared, dict):
            continue
        for name, value in declared.items():
            if not isinstance(value, bool | int | float | str):
                broken.add(name)  # the schema reports the value
                continue
            if _out_of_range(value):
                problems.append(_range_problem(value, pointer(field, name), None))
            if field == "profile" and name in kinds:
                problems.append(
                    Problem(
                        "error",
                        "profile-name-clash",
                        f'"{name}" is both a story variable and a profile name; '
                        "rename one (an expression could not tell which it means)",
                        pointer("profile", name),
                    )
                )
                continue
            kinds[name] = kind_of(value)
    language = raw.get("language")
    if language is None:
        language = locales.DEFAULT_LANGUAGE
    elif isinstance(language, str):
        try:
            locales.check_language(language)
        except locales.LanguageError as exc:
            problems.append(
                Problem(
                    "error",
                    "unknown-language",
                    f"{exc}; use a BCP 47 tag such as en, fr or pt-BR",
                    "/language",
                )
            )
            language = locales.DEFAULT_LANGUAGE
    else:
        language = locales.DEFAULT_LANGUAGE  # the schema reports it

    start = raw.get("start")
    checker = _Checker(nodes, kinds, problems, language, warnings=warnings)
    if isinstance(start, str) and start not in nodes:
        problems.append(
            Problem(
                "error",
                "missing-start",
                f'start node "{start}" does not exist' + checker.suggest_node(start),
                "/start",
            )
        )

    for node_id, node in nodes.items():
        checker.node(node_id, node)
    declared = declared_experiments(raw)
    problems.extend(check_declarations(raw, nodes))
    for node_id, node in nodes.items():
        if isinstance(node, dict) and "variants" in node:
            problems.extend(check_variants(node_id, node, declared, checker.node_problems))

    if text is None or may_hold_control_characters(text):
        problems.extend(p for p in _control_characters(raw) if warnings or p.severity == "error")
    if warnings and isinstance(start, str):
        # The map as written gets its warnings whatever the errors; experiment arms' maps
        # only once the story is sound (their variants may be what is broken).
        written = checker.graph_warnings(start)
        if any(p.severity == "error" for p in problems):
            problems.extend(written)
        else:
            problems.extend(
                check_arm_graphs(
                    nodes,
                    declared,
                    lambda successors: checker.graph_warnings(start, checker.positions(successors)),
                    written,
                )
            )
    if broken:  # the names an undefined-variable message quotes, looked up in a set
        problems[:] = [
            p
            for p in problems
            if not (p.code == "undefined-variable" and broken & set(_QUOTED.findall(p.message)))
        ]
    return problems


def _ending_ids(nodes: Mapping[str, Any]) -> list[str]:
    return [
        node_id
        for node_id, node in nodes.items()
        if isinstance(node, dict) and node.get("ending") not in (None, False)
    ]


def _at(node_id: str, *parts: str | int) -> str:
    return pointer("nodes", node_id, *parts)


class _Checker:
    """One pass over the nodes: problems, plus what the graph warnings need."""

    def __init__(
        self,
        nodes: Mapping[str, Any],
        kinds: Mapping[str, Kind],
        problems: list[Problem],
        language: str = locales.DEFAULT_LANGUAGE,
        *,
        warnings: bool = True,
    ) -> None:
        self.warnings = warnings
        self.nodes = nodes
        self.kinds = kinds
        self.problems = problems
        self.language = language
        self.index = {node_id: position for position, node_id in enumerate(nodes)}
        #: Successors of each node by position (targets that exist; repeats allowed).
        self.successors: list[list[int]] = []
        self.endings: list[int] = []
        self.all_conditional: set[int] = set()
        #: Nodes whose way on is an error (no choices, a missing target): the trap search
        #: treats them as able to finish, so a warning never repeats an error.
        self.broken: list[int] = []
        self._suggestions = Suggestions(nodes, kinds, endings=_ending_ids(nodes))
        # Verdicts depend only on the source and the story, and stories repeat their conditions
        # and effects thousands of times.
        self._expressions: dict[tuple[str, Kind | None, str], list[_Finding]] = {}
        self._texts: dict[str, list[TextFinding]] = {}
        self._effects: dict[tuple[str, type, Any], list[_Finding]] = {}

    # --- Per node ----------------------------------------------------------------------------

    def node(self, node_id: str, node: Any) -> None:
        successors: list[int] = []
        self.successors.append(successors)
        if not isinstance(node, dict):
            return
        add = self.problems.append
        choices = node.get("choices")
        ending = node.get("ending")
        is_ending = ending is not None and ending is not False
        if is_ending:
            self.endings.append(len(self.successors) - 1)
            if choices:
                add(
                    Problem(
                        "error",
                        "ending-with-choices",
                        "an ending node cannot have choices",
                        _at(node_id, "ending"),
                        node_id,
                    )
                )
        elif not choices:
            self.broken.append(len(self.successors) - 1)
            add(
                Problem(
                    "error",
                    "no-choices",
                    'the node has no choices and is not an ending; add choices or "ending": true',
                    _at(node_id),
                    node_id,
                )
            )
        text = node.get("text")
        if text.__class__ is str and ("{" in text or "}" in text):
            self._place_text(self.text(text), node_id, "text")
        effects = node.get("set")
        if effects and isinstance(effects, dict):
            self.effects(effects, node_id, ("set",))

        keys: dict[str, int] = {}
        if isinstance(choices, list):
            index = self.index
            conditional = 0
            for position, choice in enumerate(choices):
                if choice.__class__ is not dict:
                    continue
                target = choice.get("to")
                if target.__class__ is str:
                    successor = index.get(target)
                    if successor is None:
                        self.broken.append(len(self.successors) - 1)
                        add(
                            Problem(
                                "error",
                                "missing-node",
                                f'choice leads to "{target}", which does not exist'
                                + self.suggest_node(target),
                                _at(node_id, "choices", position, "to"),
                                node_id,
                            )
                        )
                    else:
                        successors.append(successor)
                key = choice.get("id", target)
                if key.__class__ is str:
                    if key in keys:
                        add(
                            Problem(
                                "error",
                                "duplicate-choice-id",
                                f'choice id "{key}" is used by choice {keys[key] + 1} too; '
                                'give one of them an "id"',
                                _at(node_id, "choices", position, "id" if "id" in choice else "to"),
                                node_id,
                            )
                        )
                    else:
                        keys[key] = position
                label = choice.get("label")
                if label.__class__ is str and ("{" in label or "}" in label):
                    self._place_text(self.text(label), node_id, "choices", position, "label")
                size = len(choice)
                if size == 2 or (size == 3 and "id" in choice):
                    continue  # only label, to (and id): most choices stop here
                condition = choice.get("if")
                if condition is not None:
                    conditional += 1
                    if condition.__class__ is str:
                        found = self.expression(condition, "bool", "condition")
                        if found:
                            self._place(found, node_id, "choices", position, "if")
                effects = choice.get("set")
                if effects and isinstance(effects, dict):
                    self.effects(effects, node_id, ("choices", position, "set"))
            if choices and conditional == len(choices):
                self.all_conditional.add(len(self.successors) - 1)

        timer = node.get("timer")
        if isinstance(timer, dict):
            self.problems.extend(_check_timer(node_id, timer, keys, is_ending))

    def suggest_node(self, name: str) -> str:
        """``; did you mean "cellar"?`` for a node id that does not exist, or ``""``."""
        return self._suggestions.node(name)

    def _place(self, found: list[_Finding], node_id: str, *parts: str | int) -> None:
        if found:
            path = _at(node_id, *parts)
            self.problems.extend(
                Problem("error", code, message, path, node_id) for code, message in found
            )

    def node_problems(self, node_id: str, node: Mapping[str, Any]) -> list[Problem]:
        """The problems of one node's data on its own (a node as an experiment arm sees it)."""
        alone = _Checker(self.nodes, self.kinds, [], self.language, warnings=self.warnings)
        alone._expressions, alone._texts = self._expressions, self._texts
        alone._effects = self._effects
        alone.node(node_id, node)
        return alone.problems

    def positions(self, successors: Mapping[str, list[str]]) -> list[list[int]]:
        """Successors by id as the position lists :meth:`graph_warnings` takes."""
        index = self.index
        return [
            [index[target] for target in successors.get(node_id, ()) if target in index]
            for node_id in self.nodes
        ]

    def _place_text(self, found: list[TextFinding], node_id: str, *parts: str | int) -> None:
        if found:
            path = _at(node_id, *parts)
            self.problems.extend(
                Problem(f.severity, f.code, f.message, path, node_id, offset=f.offset)
                for f in found
                if self.warnings or f.severity == "error"
            )

    # --- Cached verdicts ---------------------------------------------------------------------

    def text(self, text: str) -> list[TextFinding]:
        found = self._texts.get(text)
        if found is None:
            found = self._texts[text] = check_text(
                text, self.kinds, self.nodes, self.language, self._suggestions
            )
        return found

    def expression(self, source: str, wanted: Kind | None, what: str) -> list[_Finding]:
        key = (source, wanted, what)
        found = self._expressions.get(key)
        if found is None:
            found = self._expressions[key] = expression_findings(
                source,
                self.kinds,
                self.nodes,
                wanted=wanted,
                what=what,
                suggestions=self._suggestions,
            )
        return found

    def effects(self, effects: Mapping[str, Any], node_id: str, at: tuple[str | int, ...]) -> None:
        for name, value in effects.items():
            if value.__class__ not in _SCALARS:
                continue  # an array, object or null: a schema error already
            key = (name, value.__class__, value)
            found = self._effects.get(key)
            if found is None:
                found = self._effects[key] = self._effect(name, value)
            if found:
                self._place(found, node_id, *at, name)

    def _effect(self, name: str, value: Any) -> list[_Finding]:
        kind = self.kinds.get(name)
        if kind is None:
            return [
                (
                    "undefined-variable",
                    f'sets "{name}", which is not a variable of this story; '
                    + self._suggestions.variable(name, 'declare it in "variables"'),
                )
            ]
        if isinstance(value, str):
            return self.expression(value, kind, f'value for "{name}"')
        if _out_of_range(value):
            return [_range_finding(value)]
        if isinstance(value, bool | int | float) and kind_of(value) != kind:
            shown = json.dumps(value)
            return [("type-error", f'"{name}" holds {kind} values; {shown} is {kind_of(value)}')]
        return []

    # --- Graph -------------------------------------------------------------------------------

    def graph_warnings(
        self, start: str, successors: list[list[int]] | None = None
    ) -> list[Problem]:
        """Unreachable nodes and endings, traps, and nodes whose every choice is conditional;
        on the story map as written, or on ``successors`` (an experiment arm's map)."""
        first = self.index.get(start)
        if first is None:
            return []
        if successors is None:
            successors = self.successors
        reachable = _search(successors, [first])
        predecessors: list[list[int]] = [[] for _ in successors]
        for source, targets in enumerate(successors):
            for target in targets:
                predecessors[target].append(source)
        finishing = _search(predecessors, self.endings + self.broken)
        endings = set(self.endings)
        problems: list[Problem] = []
        for position, node_id in enumerate(self.nodes):
            if not reachable[position]:
                ending = position in endings
                problems.append(
                    Problem(
                        "warning",
                        "unreached-ending" if ending else "unreachable",
                        f'no path from the start "{start}" leads to this ending'
                        if ending
                        else f'no path from the start "{start}" leads here',
                        _at(node_id),
                        node_id,
                    )
                )
                continue
            if not finishing[position]:
                problems.append(
                    Problem(
                        "warning",
                        "trap",
                        "no ending can be reached from here: "
                        "a viewer who gets here can never finish",
                        _at(node_id),
                        node_id,
                    )
                )
            if position in self.all_conditional:
                problems.append(
                    Problem(
                        "warning",
                        "all-conditional",
                        "every choice here has a condition: if none holds, the viewer is stuck "
                        "(`branching validate --deep` checks whether that can happen)",
                        _at(node_id, "choices"),
                        node_id,
                    )
                )
        return problems


def _search(graph: list[list[int]], sources: list[int]) -> bytearray:
    """Marks (1) of the nodes reachable from ``sources``, themselves included.

    >>> list(_search([[1], [], [0]], [0]))
    [1, 1, 0]
    """
    seen = bytearray(len(graph))
    stack = list(sources)
    for source in sources:
        seen[source] = 1
    pop, push = stack.pop, stack.append
    while stack:
        for target in graph[pop()]:
            if not seen[target]:
                seen[target] = 1
                push(target)
    return seen


# --- Findings that do not depend on where they are ------------------------------------------

#: The types a JSON scalar loads as (``null`` aside).
_SCALARS = frozenset({str, int, float, bool})


def _out_of_range(value: Any) -> bool:
    return not in_range(value)


def _range_finding(value: Any) -> _Finding:
    shown = f"{value:.3g}" if abs(value) < 1e300 else "this number"  # no float() overflow
    return (
        "number-range",
        f"{shown} is out of range: story numbers lie between -2^53 and 2^53 "
        "(about ±9.007e15), as expressions compute exactly only there",
    )


def _range_problem(value: Any, path: str, node_id: str | None) -> Problem:
    code, message = _range_finding(value)
    return Problem("error", code, message, path, node_id)


def _check_timer(
    node_id: str, timer: dict[str, Any], keys: Mapping[str, int], is_ending: bool
) -> Iterator[Problem]:
    seconds = timer.get("seconds")
    if _out_of_range(seconds):
        yield _range_problem(seconds, _at(node_id, "timer", "seconds"), node_id)
    elif isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds <= 0:
        yield Problem(
            "error",
            "timer-seconds",
            f"a timer needs more than 0 seconds, not {seconds}",
            _at(node_id, "timer", "seconds"),
            node_id,
        )
    default = timer.get("default")
    if isinstance(default, str) and default not in keys and not is_ending:
        known = ", ".join(f'"{k}"' for k in keys) or "none"
        import difflib

        close = difflib.get_close_matches(default, list(keys), n=1, cutoff=0.75)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        yield Problem(
            "error",
            "timer-default",
            f'timer default "{default}" is not a choice of this node (choice ids: {known})' + hint,
            _at(node_id, "timer", "default"),
            node_id,
        )
    if is_ending:
        yield Problem(
            "error",
            "timer-default",
            "an ending node has no choices for a timer to take",
            _at(node_id, "timer"),
            node_id,
        )


# --- Control characters ----------------------------------------------------------------------


def _control_characters(raw: Any) -> Iterator[Problem]:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(raw, ())]
    while stack:
        value, parts = stack.pop()
        if isinstance(value, str):
            match = CONTROL.search(value)
            if match:
                yield _control_problem(parts, f"U+{ord(match.group()):04X}", match.start())
            elif surrogate := LONE_SURROGATE.search(value):
                yield _surrogate_problem(parts, surrogate.start())
            elif bidi := BIDI_CONTROL.search(value):
                yield _bidi_problem(parts, bidi)
        elif isinstance(value, dict):
            for key, item in value.items():
                if CONTROL.search(key):
                    yield _control_problem((*parts, key), "in a key", 0)
                elif surrogate := LONE_SURROGATE.search(key):
                    yield _surrogate_problem((*parts, key), surrogate.start())
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


def _surrogate_problem(parts: tuple[str | int, ...], offset: int) -> Problem:
    node = str(parts[1]) if len(parts) >= 2 and parts[0] == "nodes" else None
    return Problem(
        "error",
        "lone-surrogate",
        f"a lone surrogate escape (\\ud800-\\udfff without its pair) at character {offset + 1}: "
        "it is not a character, so the text could not be shown or saved; write the character "
        "itself, or both halves of its pair",
        pointer(*parts),
        node,
    )


def _bidi_problem(parts: tuple[str | int, ...], match: re.Match[str]) -> Problem:
    node = str(parts[1]) if len(parts) >= 2 and parts[0] == "nodes" else None
    return Problem(
        "warning",
        "bidi-control",
        f"invisible bidirectional control U+{ord(match.group()):04X} at character "
        f"{match.start() + 1}: it makes the text display in another order than it is written; "
        "remove it unless right-to-left text really needs it",
        pointer(*parts),
        node,
    )


def may_hold_control_characters(text: str | bytes) -> bool:
    r"""A cheap test on the raw JSON file: False means no string in it has a control character
    (or a bidirectional control).

    >>> may_hold_control_characters(b'{"text": "tab\there"}')
    False
    >>> may_hold_control_characters('{"text": "\\u001b[31m"}')
    True
    >>> may_hold_control_characters('{"text": "\\u0085"}'.encode())
    True
    >>> may_hold_control_characters('{"text": "\x85"}'.encode())
    True
    """
    if isinstance(text, bytes):
        return (
            b"\x7f" in text
            or _RAW_C1.search(text) is not None
            or _ESCAPED_CONTROL_BYTES.search(text) is not None
        )
    return _RAW_C1_TEXT.search(text) is not None or _ESCAPED_CONTROL.search(text) is not None
