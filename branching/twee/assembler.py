"""Drafts resolved into ``branching/1`` nodes: targets, embeds, choice ids, variables."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from branching.story.expressions import ExpressionError, Kind, Value, check, in_range, kind_of
from branching.story.expressions import parse as parse_expression
from branching.story.json_input import JsonInputError, loads
from branching.story.model import Ending
from branching.twee.builder import BACK, EMBED_MARK, ChoiceDraft, Draft
from branching.twee.clauses import SETTINGS_TAG, clause_text, clause_value, visible_text
from branching.twee.formats.events import Dialect
from branching.twee.formats.translate import constant_value
from branching.twee.ids import VARIABLE_RE, slugify
from branching.twee.notation import Passage
from branching.twee.problems import TweeProblem, quoted

_KINDS: tuple[Kind, ...] = ("bool", "number", "string")
_ZERO: dict[Kind, Value] = {"bool": False, "number": 0, "string": ""}


class Assembler:
    """Resolves drafts into nodes: targets, embeds, choice ids, comments, variables."""

    def __init__(
        self,
        by_name: dict[str, Passage],
        drafts: dict[str, Draft],
        ids: dict[str, str],
        dialect: Dialect,
        problems: list[TweeProblem],
    ) -> None:
        self.by_name = by_name
        self.drafts = drafts
        self.ids = ids
        self.native = dialect == "native"
        self.problems = problems
        self.made: list[dict[str, Any]] = []
        # Every effect and condition placed in the story, for type inference and checks.
        self.effects: list[tuple[str, dict[str, Any], str, int, Passage]] = []
        self.conditions: list[tuple[dict[str, Any], int, Passage]] = []
        #: Ways back waiting for the passages that lead to theirs: (node id, choice, draft).
        self.backs: list[tuple[str, dict[str, Any], ChoiceDraft, Passage]] = []
        #: Passages whose every way on was dropped (a link to no passage, a way back with
        #: nowhere to go): they are not endings, and the import says the story is unplayable.
        self.dead_ends: dict[str, tuple[Passage, str]] = {}
        self._dropped: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}

    def resolve(self, name: str) -> str | None:
        if name in self.drafts:
            return name
        stripped = name.strip()
        return stripped if stripped in self.drafts else None

    def expand(
        self, name: str, stack: tuple[str, ...]
    ) -> tuple[str, list[ChoiceDraft], list[tuple[str, Value, int]]]:
        """A passage's text with embeds filled in, and the choices and effects they bring."""
        draft = self.drafts[name]
        choices = list(draft.choices)
        effects = list(draft.effects)
        text = draft.text
        for embed in draft.embeds:
            marker = EMBED_MARK.format(embed.marker)
            target = self.resolve(embed.target)
            inserted = ""
            if target is None:
                self.problems.append(
                    draft.passage.problem(
                        f'embeds "{embed.target}", which is not a story passage; left it out',
                        embed.line,
                    )
                )
            elif target in stack or len(stack) > 8:
                self.problems.append(
                    draft.passage.problem(
                        f'embeds "{embed.target}" inside itself; left the repeat out', embed.line
                    )
                )
            else:
                inserted, more_choices, more_effects = self.expand(target, (*stack, name))
                for choice in more_choices:
                    copy = ChoiceDraft(
                        choice.label,
                        choice.target,
                        embed.line,
                        [*embed.conditions, *choice.conditions],
                        list(choice.effects),
                        list(choice.clauses),
                        back=choice.back,
                    )
                    choices.append(copy)
                if more_effects and embed.conditions:
                    self.problems.append(
                        draft.passage.problem(
                            f'dropped the effects of the embedded passage "{target}": '
                            "the embed depends on a condition",
                            embed.line,
                        )
                    )
                else:
                    effects.extend(more_effects)
            text = text.replace(marker, inserted.strip("\n"))
        return text, choices, effects

    def nodes(self) -> dict[str, dict[str, Any]]:
        nodes: dict[str, dict[str, Any]] = {}
        for name, draft in self.drafts.items():
            node_id = self.ids[name]
            text, choice_drafts, effects = self.expand(name, ())
            nodes[node_id] = self.node(name, draft, text, choice_drafts, effects)
            self.made.append(nodes[node_id])
        self.resolve_backs(nodes)
        return nodes

    def resolve_backs(self, nodes: dict[str, dict[str, Any]]) -> None:
        """Turn each way back into choices to the passages that lead to its own.

        With one such passage, a plain choice to it. With several, a string variable
        ``back_<node>`` remembers which one the viewer came from: every choice into the node
        sets it, and each way back is offered only towards that passage. Ways back themselves
        do not set it, so going back twice in a row goes back two passages, as in Twine.
        """
        if not self.backs:
            return
        incoming: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for source, node in nodes.items():
            for choice in node.get("choices") or ():
                if choice["to"] != BACK and choice["to"] != source:
                    incoming.setdefault(choice["to"], []).append((source, choice))
        variables: dict[str, str] = {}
        for node_id, placeholder, draft, passage in self.backs:
            node = nodes[node_id]
            choices: list[dict[str, Any]] = node["choices"]
            where = choices.index(placeholder)
            sources = list(dict.fromkeys(source for source, _ in incoming.get(node_id, ())))
            raw, undo = draft.back or ("", False)
            shown = " ".join(raw.split())[:50] or "the way back"
            if not sources:
                del choices[where]
                self._dropped.setdefault(node_id, []).append(shown)
                self.problems.append(
                    passage.problem(
                        f"dropped {shown}: no passage leads here, so there is nowhere to go back "
                        "to",
                        draft.line,
                    )
                )
                continue
            condition = placeholder.get("if")
            made: list[dict[str, Any]] = []
            if len(sources) == 1:
                made.append({"label": placeholder["label"], "to": sources[0]})
                if condition:
                    made[0]["if"] = condition
                whither = f'the passage that leads here ("{self._name(sources[0])}")'
            else:
                variable = variables.get(node_id)
                if variable is None:
                    variable = variables[node_id] = self._back_variable(node_id, nodes)
                    for source, choice in incoming[node_id]:
                        effects = choice.setdefault("set", {})
                        effects[variable] = json.dumps(source)
                        self.effects.append((variable, effects, "", draft.line, passage))
                for source in sources:
                    back_if = f"{variable} == {json.dumps(source)}"
                    choice = {
                        "label": placeholder["label"],
                        "to": source,
                        "if": f"({condition}) and {back_if}" if condition else back_if,
                    }
                    self.conditions.append((choice, draft.line, passage))
                    made.append(choice)
                whither = (
                    f"whichever of the {len(sources)} passages leading here the viewer came from "
                    f"(remembered in the variable {variable})"
                )
            keys = {c.get("id", c["to"]) for c in choices if c is not placeholder}
            for choice in made:
                if choice["to"] in keys:
                    candidate, number = f"back-{choice['to']}", 2
                    while candidate in keys:
                        candidate, number = f"back-{choice['to']}-{number}", number + 1
                    choice["id"] = candidate
                keys.add(choice.get("id", choice["to"]))
            choices[where : where + 1] = made
            note = (
                "; unlike the story format's, it does not undo what happened since (the player's "
                "b key does)"
                if undo
                else ""
            )
            self.problems.append(
                passage.problem(f"{shown} became a choice back to {whither}{note}", draft.line)
            )
        for node_id, node in nodes.items():
            if "choices" in node and not node["choices"]:
                del node["choices"]
                self._dead_end(node_id, node)

    def _back_variable(self, node_id: str, nodes: dict[str, dict[str, Any]]) -> str:
        base = "back_" + re.sub(r"[^A-Za-z0-9_]", "_", node_id)
        taken = {effect[0] for effect in self.effects}
        name, number = base, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        return name

    def _name(self, node_id: str) -> str:
        """The passage name of a node id."""
        if len(self._names) != len(self.ids):
            self._names = {i: name for name, i in self.ids.items()}
        return self._names.get(node_id, node_id)

    def _dead_end(self, node_id: str, node: dict[str, Any]) -> None:
        """Record a passage left with no way on although it had one: never an ending."""
        node.pop("ending", None)
        passage = self.drafts[self._name(node_id)].passage
        dropped = self._dropped.get(node_id, [])
        what = ", ".join(dropped[:3]) or "its links"
        self.dead_ends[node_id] = (passage, f"its only ways on were dropped ({what})")

    def node(
        self,
        name: str,
        draft: Draft,
        text: str,
        choice_drafts: list[ChoiceDraft],
        effects: list[tuple[str, Value, int]],
    ) -> dict[str, Any]:
        passage = draft.passage
        node_id = self.ids[name]
        clauses = dict(draft.clauses)
        node: dict[str, Any] = {}
        if "title" in clauses:
            value = clause_value(clauses["title"])
            if isinstance(value, str):
                node["title"] = value
        elif not (self.native and name == node_id):
            node["title"] = name
        tags = [tag for tag in passage.tags if tag != SETTINGS_TAG]
        if "tags" in clauses:
            value = clause_value(clauses["tags"])
            if isinstance(value, list) and all(isinstance(t, str) for t in value):
                tags = value
        if tags:
            node["tags"] = tags
        if "text" in clauses:
            exact = clause_text(clauses["text"])
            if "digest" in clauses or visible_text(exact) == text:
                text = exact
            else:
                self.problems.append(
                    passage.problem(
                        "the passage text was edited after export: used the edited text, "
                        "not the exact "
                        "text kept in its branching comment"
                    )
                )
        node["text"] = text
        node_effects: dict[str, Any] = {}
        for variable, value, line in effects:
            if variable in node_effects and node_effects[variable] != value:
                self.problems.append(passage.problem(f"sets {variable} twice; kept the last", line))
            node_effects[variable] = value
        self.place_effects(node, node_effects, clauses, node_id, passage.line, passage)
        choices = self.choices(passage, choice_drafts)
        if "choices" in clauses and clauses["choices"] == "[]" and not choices:
            node["choices"] = []
        if choices:
            node["choices"] = choices
        if "timer" in clauses:
            timer = _read_timer(clauses["timer"])
            keys = {c.get("id", c["to"]) for c in choices}
            if timer is None or timer["default"] not in keys:
                self.problems.append(
                    passage.problem(
                        f"ignored the timer {quoted(clauses['timer'])}: "
                        "it needs 'SECONDS -> CHOICE_ID' naming a choice"
                    )
                )
            else:
                node["timer"] = timer
        if "ending" in clauses:
            ending = _read_ending(clauses["ending"])
            if ending is _BAD or (choices and ending not in (None, False)):
                self.problems.append(
                    passage.problem(f"ignored the ending {quoted(clauses['ending'])}")
                )
                if not choices:
                    node["ending"] = True
            else:
                node["ending"] = ending
        elif not choices and not self._dropped.get(node_id):
            node["ending"] = True
        elif not choices:
            self._dead_end(node_id, node)
        if "variants" in clauses:
            variants = clause_value(clauses["variants"])
            if isinstance(variants, dict):
                node["variants"] = variants  # checked with the rest of the story
            else:
                self.problems.append(
                    passage.problem(f"ignored the variants {clauses['variants'][:60]!r}")
                )
        known = {
            "id",
            "title",
            "tags",
            "text",
            "timer",
            "ending",
            "choices",
            "variants",
            "digest",
            "texts",
        }
        for key in clauses:
            if key not in known and not key.startswith("set "):
                self.problems.append(
                    passage.problem(f"ignored the unknown branching clause {quoted(key)}")
                )
        return node

    def place_effects(
        self,
        owner: dict[str, Any],
        effects: dict[str, Any],
        clauses: dict[str, str],
        node_id: str,
        line: int,
        passage: Passage,
    ) -> None:
        """Give a node or choice its ``set``: ``effects`` and its ``set NAME`` clauses (they win).

        Each effect is remembered for type inference and checks (``node_id`` is "" for choices).
        """
        for key, raw in clauses.items():
            if key.startswith("set "):
                effects[key[4:]] = clause_value(raw)
        if effects:
            owner["set"] = effects
            for variable in effects:
                self.effects.append((variable, effects, node_id, line, passage))

    def choices(self, passage: Passage, drafts: list[ChoiceDraft]) -> list[dict[str, Any]]:
        node_id = self.ids[passage.name]
        made: list[tuple[ChoiceDraft, dict[str, Any]]] = []
        backs: list[dict[str, Any]] = []
        for draft in drafts:
            if draft.target == BACK:
                back: dict[str, Any] = {"label": draft.label.replace("{", "{{").replace("}", "}}")}
                back["to"] = BACK
                if draft.conditions and all(c is not None for c in draft.conditions):
                    parts = [c for c in draft.conditions if c]
                    if parts:
                        back["if"] = (
                            parts[0] if len(parts) == 1 else " and ".join(f"({p})" for p in parts)
                        )
                self.backs.append((node_id, back, draft, passage))
                backs.append(back)
                made.append((draft, back))
                continue
            target = self.resolve(draft.target)
            if target is None:
                self._dropped.setdefault(node_id, []).append(f'the link to "{draft.target}"')
                special = self.by_name.get(draft.target)
                why = " (a special passage, not a story node)" if special is not None else ""
                self.problems.append(
                    passage.problem(
                        f'the link "{draft.label}" leads to "{draft.target}", '
                        f"which does not exist{why}: made no choice",
                        draft.line,
                    )
                )
                continue
            clauses = dict(draft.clauses)
            label = clause_text(clauses["label"]) if "label" in clauses else draft.label
            if not self.native:
                label = label.replace("{", "{{").replace("}", "}}")
            choice: dict[str, Any] = {"label": label, "to": self.ids[target]}
            condition: str | None = None
            if "if" in clauses:
                condition = clause_text(clauses["if"])
            elif draft.conditions:
                if any(c is None for c in draft.conditions):
                    self.problems.append(
                        passage.problem(
                            f'the choice "{draft.label}" is offered always: '
                            "its condition could not be translated",
                            draft.line,
                        )
                    )
                else:
                    parts = [c for c in draft.conditions if c]
                    condition = (
                        " and ".join(
                            f"({p})" if len(parts) > 1 and " or " in p else p for p in parts
                        )
                        or None
                    )
            if condition:
                choice["if"] = condition
            effects = {variable: value for variable, value, _ in draft.effects}
            self.place_effects(choice, effects, clauses, "", draft.line, passage)
            if condition:
                self.conditions.append((choice, draft.line, passage))
            if "id" in clauses:
                choice["id"] = clause_text(clauses["id"])
            for key in clauses:
                if key not in ("id", "if", "label", "to") and not key.startswith("set "):
                    self.problems.append(
                        passage.problem(
                            f"ignored the unknown branching clause {quoted(key)} of a link",
                            draft.line,
                        )
                    )
            made.append((draft, choice))
        keys: set[str] = {c["id"] for _, c in made if "id" in c}
        for draft, choice in made:
            if "id" in choice or choice["to"] == BACK:
                continue
            if choice["to"] not in keys:
                keys.add(choice["to"])
                continue
            slug = slugify(draft.label) if draft.label.strip() else ""
            candidate = (
                slug if slug and not slug.startswith("passage-") and slug not in keys else ""
            )
            number = 2
            while not candidate or candidate in keys:
                candidate = f"{choice['to']}-{number}"
                number += 1
            choice["id"] = candidate
            keys.add(candidate)
        return [choice for _, choice in made]

    def variables(
        self,
        defaults: dict[str, Value],
        declared: dict[str, Value],
        start: str,
        profile: Mapping[str, Value] | None = None,
    ) -> dict[str, Value]:
        """Declare every variable the story uses, with a type all its uses agree on; names
        of the viewer's ``profile`` are known (their types count) but are not variables."""
        profile = profile or {}
        kinds: dict[str, Kind] = {name: kind_of(value) for name, value in profile.items()}
        kinds.update((name, kind_of(value)) for name, value in declared.items())
        for name, default in defaults.items():
            kinds.setdefault(name, kind_of(default))
        for variable, effects, _, _, _ in self.effects:
            got = effects.get(variable)
            if isinstance(got, bool | int | float):
                kinds.setdefault(variable, kind_of(got))
        changed = True
        while changed:
            changed = False
            for variable, effects, _, _, _ in self.effects:
                got = effects.get(variable)
                if variable in kinds or not isinstance(got, str):
                    continue
                try:
                    kind = check(parse_expression(got), kinds)
                except ExpressionError:
                    continue
                if kind is not None:
                    kinds[variable] = kind
                    changed = True
        used: set[str] = set()
        for choice, _, _ in self.conditions:
            used |= _names_in(choice["if"])
        for node in self.made:
            used |= _template_names(node.get("text", ""))
            for choice in node.get("choices") or []:
                used |= _template_names(choice.get("label", ""))
        for variable, effects, _, _, _ in self.effects:
            got = effects.get(variable)
            if isinstance(got, str):
                used |= _names_in(got)
        for name in sorted(used - kinds.keys()):
            if not VARIABLE_RE.match(name):
                continue
            kinds[name] = self._guess_kind(name, kinds)
            where = self._first_use(name)
            self.problems.append(
                where.problem(
                    f"the variable {name} is used but never set "
                    "(in code branching could read); it starts as "
                    f"{json.dumps(_ZERO[kinds[name]])}",
                    _line_naming(where, name),
                )
            )
        start_effects = self._start_effects(start)
        variables: dict[str, Value] = {}
        others = sorted(
            kinds.keys() - declared.keys() - profile.keys(), key=lambda n: (n.startswith("_"), n)
        )
        for name in [*declared, *others]:
            kind = kinds[name]
            for source in (declared, defaults, start_effects):
                candidate = source.get(name)
                if candidate is not None and kind_of(candidate) == kind:
                    variables[name] = candidate
                    break
            else:
                variables[name] = _ZERO[kind]
        self._drop_bad_expressions(kinds)
        return variables

    def _first_use(self, name: str) -> Passage:
        for choice, _, passage in self.conditions:
            if name in _names_in(choice["if"]):
                return passage
        for variable, effects, _, _, passage in self.effects:
            value = effects.get(variable)
            if isinstance(value, str) and name in _names_in(value):
                return passage
        for draft in self.drafts.values():
            if name in draft.interpolated:
                return draft.passage
        for draft, node in zip(self.drafts.values(), self.made, strict=True):
            # In text that changes, or a label: not the first passage, which may not use it.
            labels = (choice.get("label", "") for choice in node.get("choices") or [])
            if any(name in _template_names(t) for t in (node.get("text", ""), *labels)):
                return draft.passage
        return next(iter(self.drafts.values())).passage

    def _start_effects(self, start: str) -> dict[str, Value]:
        """Constant values the start node sets: good starting values when nothing else says."""
        for _, effects, node_id, _, _ in self.effects:
            if node_id == start:
                found: dict[str, Value] = {}
                for name, value in effects.items():
                    constant = constant_value(value, {}) if isinstance(value, str) else value
                    if constant is not None:
                        found[name] = constant
                return found
        return {}

    def _guess_kind(self, name: str, kinds: dict[str, Kind]) -> Kind:
        """The first type under which every condition and effect using ``name`` checks."""
        uses: list[tuple[str, Kind | None]] = [
            (choice["if"], "bool")
            for choice, _, _ in self.conditions
            if name in _names_in(choice["if"])
        ]
        for node in self.made:
            uses.extend(
                (condition, "bool")
                for condition in _text_conditions(node.get("text", ""))
                if name in _names_in(condition)
            )
        for variable, effects, _, _, _ in self.effects:
            value = effects.get(variable)
            if isinstance(value, str) and name in _names_in(value):
                uses.append((value, kinds.get(variable)))
        for kind in _KINDS:
            trial: dict[str, Kind] = {**kinds, name: kind}
            try:
                if all(
                    check(parse_expression(use), trial) in (wanted, None) or wanted is None
                    for use, wanted in uses
                ):
                    return kind
            except ExpressionError:
                continue
        return "string"

    def _drop_bad_expressions(self, kinds: dict[str, Kind]) -> None:
        problem: str | None
        for draft, node in zip(self.drafts.values(), self.made, strict=True):
            text = node.get("text", "")
            if "{" not in text:
                continue
            dropped: list[tuple[str, str]] = []
            fixed = _unconditional(text, kinds, dropped)
            if dropped:
                node["text"] = fixed
                for source, reason in dropped:
                    said = (
                        f"dropped the printed expression {source[1:]!r}: {reason}"
                        if source.startswith("=")
                        else f"the text under the condition {source!r} is kept and always "
                        f"shown: {reason}"
                    )
                    self.problems.append(draft.passage.problem(said))
        for choice, line, passage in self.conditions:
            condition = choice.get("if")
            if condition is None:
                continue
            problem = _expression_problem(condition, kinds, "bool")
            if problem:
                del choice["if"]
                self.problems.append(
                    passage.problem(
                        f"dropped the condition {quoted(condition)} of the choice "
                        f'"{choice["label"]}": {problem}',
                        line,
                    )
                )
        for variable, effects, _, line, passage in self.effects:
            if variable not in effects:
                continue
            value = effects[variable]
            if variable not in kinds:
                problem = f"{variable} is not a story variable"
            elif isinstance(value, str):
                problem = _expression_problem(value, kinds, kinds[variable])
            elif not in_range(value):
                problem = "the number is out of range (story numbers lie within ±2^53)"
            elif isinstance(value, bool | int | float):
                problem = (
                    None
                    if kind_of(value) == kinds[variable]
                    else f"{variable} holds {kinds[variable]} values"
                )
            else:
                problem = "the value is not a number, true/false or an expression"
            if problem:
                del effects[variable]
                shown = (
                    quoted(value)
                    if isinstance(value, str)
                    else json.dumps(value)[:40]
                    if isinstance(value, bool | int | float)
                    else _json_kind(value)
                )
                self.problems.append(
                    passage.problem(f"dropped the effect {variable} = {shown}: {problem}", line)
                )


def _json_kind(value: object) -> str:
    return "an array" if isinstance(value, list) else "an object" if value is not None else "null"


def _expression_problem(source: str, kinds: dict[str, Kind], wanted: Kind) -> str | None:
    try:
        kind = check(parse_expression(source), kinds)
    except ExpressionError as exc:
        return str(exc)
    if kind is not None and kind != wanted:
        return f"it gives {kind} where {wanted} is needed"
    return None


def _text_conditions(text: str) -> list[str]:
    """The conditions of a text's conditional blocks."""
    from branching.story.text import Conditional, TextError, parse_text

    try:
        parsed = parse_text(text)
    except TextError:
        return []
    return [block.condition.source for block in parsed.blocks() if isinstance(block, Conditional)]


def _unconditional(text: str, kinds: dict[str, Kind], dropped: list[tuple[str, str]]) -> str:
    """``text`` with every conditional block whose condition does not check as true/false
    replaced by its first part, shown always, and every printed expression that does not check
    left out (each noted in ``dropped``, a print's source after "=")."""
    from branching.story.text import (
        Conditional,
        Parts,
        Print,
        TextError,
        parse_text,
        unparse,
        with_parts,
    )

    def fix(parts: Parts) -> Parts:
        out: list[Any] = []
        for part in parts:
            if isinstance(part, Print):
                try:
                    check(part.expr, kinds)
                except ExpressionError as exc:  # a translated print of mixed types
                    dropped.append(("=" + part.expr.source, str(exc)))
                    continue
            elif isinstance(part, Conditional):
                problem = _expression_problem(part.condition.source, kinds, "bool")
                if problem:
                    dropped.append((part.condition.source, problem))
                    out.extend(fix(part.then))
                    continue
            if not isinstance(part, str):
                part = with_parts(part, fix)
            out.append(part)
        return tuple(out)

    try:
        parsed = parse_text(text)
    except TextError:
        return text
    fixed = fix(parsed.parts)
    return unparse(fixed) if dropped else text


def _names_in(expression: str) -> set[str]:
    try:
        return set(parse_expression(expression).variables)
    except ExpressionError:
        return set()


def _line_naming(passage: Passage, name: str) -> int | None:
    """The line of ``passage`` that first names the variable (``$name``, ``_name`` or bare),
    or None (the passage's own line)."""
    bare = name.removesuffix("_") if name.endswith("_") else name
    found = re.search(r"(?<![\w$])\$?" + re.escape(bare) + r"\b", passage.text)
    if found is None:
        return None
    return passage.line + 1 + passage.text.count("\n", 0, found.start())


def _template_names(text: str) -> set[str]:
    from branching.story.text import TextError, parse_text

    try:
        return set(parse_text(text).variables)
    except TextError:
        return set()


_BAD = object()


def _read_timer(raw: str) -> dict[str, Any] | None:
    match = re.fullmatch(
        r"\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?:(?:s|seconds?)\s*)?->\s*(\S+)\s*", raw
    )
    if not match:
        return None
    try:
        seconds = loads(match.group(1))
    except JsonInputError:  # 1e400 or 400 digits: not a timer anyone can wait for
        return None
    return {"seconds": seconds, "default": match.group(2)}


def _read_ending(raw: str) -> Any:
    if raw in ("good", "bad", "neutral"):
        return {"kind": raw}
    value = clause_value(raw)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        try:
            return Ending.model_validate(value).model_dump(
                exclude_none=True, exclude_defaults=False
            )
        except ValueError:
            return _BAD
    return _BAD
