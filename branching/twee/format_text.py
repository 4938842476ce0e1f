"""branching's text and expressions written as a Twine story format's own code.

An export for Harlowe, SugarCube or Chapbook writes what the viewer reads in that format's
notation: ``{gold}`` becomes ``(print: $gold)``, ``<<print $gold>>`` or ``{gold}``; conditional
text, sequences, shuffles and plurals become the format's conditions on visit counts and on the
number (the plural rules are compiled from CLDR by :mod:`~branching.twee.plural_rules`).

Story text is data: every literal piece is escaped for the format (Harlowe's verbatim markup,
SugarCube's ``\"\"\"...\"\"\"``, Chapbook's HTML entities), so ``(if:``, ``<<``, ``[[``, ``$x`` or
``-->`` in a story show as text and never run. What a format cannot say faithfully (the viewer's
profile, a sequence inside a condition, ...) is written as its source text and reported: the
writer learns what Twine will show.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from branching.story.expressions import (
    Binary,
    EndingSeenCall,
    ExprTree,
    HistoryCall,
    Lit,
    Unary,
    Var,
    VisitsCall,
)
from branching.story.text import (
    Block,
    Conditional,
    Number,
    Parts,
    Plural,
    Print,
    Select,
    Sequence,
    parse_text,
    unparse,
)
from branching.twee.plural_rules import Syntax, plural_conditions

TwineFormat = Literal["harlowe", "sugarcube", "chapbook"]
TWINE_FORMATS: tuple[TwineFormat, ...] = ("harlowe", "sugarcube", "chapbook")
#: StoryData's name and version of each format: versions Twine 2.6+ ships, so Twine finds the
#: format (it matches the same major version, at this minor version or newer).
FORMAT_DATA: dict[TwineFormat, tuple[str, str]] = {
    "harlowe": ("Harlowe", "3.3.0"),
    "sugarcube": ("SugarCube", "2.36.1"),
    "chapbook": ("Chapbook", "1.2.3"),
}


class Untranslated(ValueError):
    """A construct the format has no faithful equivalent for (the message says why)."""


@dataclass
class Context:
    """What writing one text needs: the story's language, node names and profile."""

    language: str
    #: Node id -> passage name (for ``visits("node")``).
    names: dict[str, str]
    profile: frozenset[str]
    warnings: list[str] = field(default_factory=list)
    #: Counter for temporary variables (Chapbook's texts, shuffles).
    temporaries: int = 0

    def temporary(self, stem: str) -> str:
        self.temporaries += 1
        return f"_{stem}{self.temporaries}"


# --- Literal text ----------------------------------------------------------------------------

#: What makes a piece of prose code or markup in some format (it is then escaped).
_RISKY = re.compile(r"[$_\[\]{}<>`\\|^~=@/#%&+]|--|''|\((?=[\w-]+:)")


def _plain(text: str) -> bool:
    return not _RISKY.search(text)


def _split_literal(text: str, wrap: Callable[[str], str], breaks: dict[str, str]) -> str:
    """Each line piece between ``breaks`` characters wrapped by ``wrap`` when it is not plain
    prose; the ``breaks`` characters themselves written as HTML character references."""
    splitter = re.compile("([" + re.escape("".join(breaks)) + "\n])")
    out: list[str] = []
    for piece in splitter.split(text):
        if piece in breaks:
            out.append(breaks[piece])
        elif piece == "\n" or _plain(piece):
            out.append(piece)
        else:
            out.append(wrap(piece))
    return "".join(out)


#: "[" is written as a reference in Harlowe and SugarCube text, so that no "[[" is left for
#: Twine's story map to draw as a link (it reads passage text, verbatim markup or not).
_HARLOWE_BREAKS = {"`": "&#96;", "[": "&#91;"}
_SUGARCUBE_BREAKS = {'"': "&quot;", "[": "&#91;"}


def _harlowe_literal(text: str) -> str:
    """Harlowe's verbatim markup around each line piece that is not plain prose; a backtick
    (the delimiter) and "[" are written as HTML character references, which Harlowe shows."""
    return _split_literal(text, lambda piece: f"`{piece}`", _HARLOWE_BREAKS)


def _sugarcube_literal(text: str) -> str:
    """SugarCube's verbatim text ``\"\"\"...\"\"\"`` around each line piece that is not
    plain prose; a double quote (the delimiter) and "[" as HTML character references."""
    return _split_literal(text, lambda piece: f'"""{piece}"""', _SUGARCUBE_BREAKS)


_CHAPBOOK_ENTITIES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "{": "&#123;",
    "}": "&#125;",
    "[": "&#91;",
    "]": "&#93;",
    "`": "&#96;",
    "\\": "&#92;",
    "$": "&#36;",
}
_CHAPBOOK_SPECIAL = re.compile("[&<>{}\\[\\]`\\\\$]")


def _chapbook_literal(text: str) -> str:
    """Chapbook text with HTML character references for what its inserts, modifiers, links and
    HTML read, and a line ``--`` (the end of a vars section) broken up."""
    escaped = _CHAPBOOK_SPECIAL.sub(lambda m: _CHAPBOOK_ENTITIES[m.group()], text)
    return re.sub(r"^(\s*)-(-\s*)$", r"\1&#45;\2", escaped, flags=re.MULTILINE)


# --- Expressions -----------------------------------------------------------------------------


def _number(value: float | int) -> str:
    text = repr(value)
    if "e" in text or "inf" in text or "nan" in text:
        raise Untranslated(f"the number {text} has no plain notation")
    return text


class _Writer:
    """One format's expressions and text; subclasses fill in the notation."""

    name = ""
    and_op = "&&"
    or_op = "||"
    equal_op = "==="
    unequal_op = "!=="

    def __init__(self, context: Context) -> None:
        self.context = context
        #: What ``#`` shows inside the plural being written.
        self.count: str | None = None

    # Expressions.
    def expression(self, tree: ExprTree) -> str:
        if isinstance(tree, Lit):
            value = tree.value
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, int | float):
                return _number(value)
            return self.string(value)
        if isinstance(tree, Var):
            if tree.name in self.context.profile:
                raise Untranslated(
                    f"{tree.name} is the viewer's profile, kept across playthroughs, which "
                    f"{self.title} has no notion of"
                )
            return self.variable(tree.name)
        if isinstance(tree, VisitsCall):
            return self.visits_of(self.context.names.get(tree.node, tree.node))
        if isinstance(tree, HistoryCall | EndingSeenCall):
            raise Untranslated(f"the viewer's earlier playthroughs are not known to {self.title}")
        if isinstance(tree, Unary):
            operand = self.expression(tree.operand)
            return self.negate(operand) if tree.op == "not" else self.minus(operand)
        assert isinstance(tree, Binary)
        left, right = self.expression(tree.left), self.expression(tree.right)
        op = {
            "and": self.and_op,
            "or": self.or_op,
            "==": self.equal_op,
            "!=": self.unequal_op,
        }.get(tree.op, tree.op)
        return f"({left} {op} {right})"

    @property
    def title(self) -> str:
        return FORMAT_DATA[self.name][0]  # type: ignore[index]

    def variable(self, name: str) -> str:
        return "$" + name

    def negate(self, operand: str) -> str:
        return f"!{_wrap(operand)}"

    def minus(self, operand: str) -> str:
        return f"-{_wrap(operand)}"

    def visits_of(self, passage: str) -> str:
        raise Untranslated(f"{self.title} cannot count the visits of another passage")

    def string(self, text: str) -> str:
        """A JavaScript string literal; brackets as escapes, so that no "[[" or "]" in it can
        end a link or a modifier, or draw a link on Twine's story map."""
        written = json.dumps(text, ensure_ascii=False)
        return written.replace("[", "\\u005b").replace("]", "\\u005d")

    def effects(self, effects: dict[str, str]) -> str:
        raise NotImplementedError

    def node_effects(self, effects: dict[str, str]) -> str:
        """A node's effects, run when the passage is shown, before its text."""
        return self.effects(effects)

    # Text.
    def text(self, source: str) -> str:
        """Node text (branching's syntax) as the format's passage text."""
        return self.parts(parse_text(source).parts, top=True)

    def parts(self, parts: Parts, *, top: bool = False) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(self.literal(part))
                continue
            try:
                out.append(self.block(part, top))
            except Untranslated as exc:
                source = unparse((part,))
                shown = source if len(source) <= 60 else source[:57] + "..."
                self.context.warnings.append(
                    f"kept {shown} as text: {exc}; {self.title} shows it as written"
                )
                out.append(self.literal(source))
        return "".join(out)

    def literal(self, text: str) -> str:
        raise NotImplementedError

    def block(self, block: Block, top: bool) -> str:
        raise NotImplementedError

    def counted(self, part: Plural, value: str) -> str:
        """What ``#`` shows in a plural."""
        raise NotImplementedError

    def syntax(self, number: str) -> Syntax:
        return Syntax(
            number,
            lambda x, v: f"{x} === {v}",
            lambda x, a, b: f"({x} >= {a} && {x} <= {b})",
            lambda x, m: f"{x} % {m}",
            lambda a, b: f"({a} && {b})",
            lambda a, b: f"({a} || {b})",
            lambda a: f"!{_wrap(a)}",
            "true",
            "false",
        )

    def plural_chain(self, part: Plural) -> list[tuple[str | None, Parts]]:
        """(condition, text) of each branch in the order tried; None: the rest (``other``)."""
        value = self.expression(Var(part.name, 0))
        chain: list[tuple[str | None, Parts]] = []
        branches = dict(part.branches)
        for selector, parts in part.branches:
            if selector.startswith("="):
                chain.append((self.syntax(value).equal(value, _exact(selector)), parts))
        absolute = self.absolute(value)
        for category, condition in plural_conditions(self.context.language, self.syntax(absolute)):
            if category in branches and condition != "false":
                chain.append((condition, branches[category]))
        if "other" in branches:
            chain.append((None, branches["other"]))
        return chain

    def absolute(self, value: str) -> str:
        return f"Math.abs({value})"

    def select_chain(self, part: Select) -> list[tuple[str | None, Parts]]:
        value = self.expression(Var(part.name, 0))
        chain: list[tuple[str | None, Parts]] = [
            (f"{value} {self.equal_op} {self.string(key)}", parts)
            for key, parts in part.branches
            if key != "other"
        ]
        other = dict(part.branches).get("other")
        if other is not None:
            chain.append((None, other))
        return chain

    def sequence_chain(self, part: Sequence, visits: str) -> list[tuple[str | None, Parts]]:
        """A sequence as conditions on the passage's visits (1 on the first visit)."""
        size = len(part.alternatives)
        chain: list[tuple[str | None, Parts]] = []
        for index, alternative in enumerate(part.alternatives):
            if part.kind == "cycle":
                condition = f"{visits} % {size} {self.equal_op} {(index + 1) % size}"
            else:
                condition = f"{visits} {self.equal_op} {index + 1}"
            last = index == size - 1
            chain.append((None if last and part.kind != "once" else condition, alternative))
        return chain

    def check_sequence(self, part: Sequence, top: bool) -> None:
        if not top:
            raise Untranslated(
                "a sequence inside another block is shown only when that block is, so the "
                "passage's visit count cannot stand for how often it was shown"
            )


def _wrap(text: str) -> str:
    return text if re.fullmatch(r"[\w$.]+|\(.*\)", text) and _balanced(text) else f"({text})"


def _balanced(text: str) -> bool:
    """Whether ``text`` is one parenthesised whole (or has no parentheses at the top)."""
    if not text.startswith("("):
        return True
    depth = 0
    for index, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and index < len(text) - 1:
            return False
    return True


def _exact(selector: str) -> int | float:
    number = float(selector[1:])
    return int(number) if number.is_integer() else number


class HarloweWriter(_Writer):
    name = "harlowe"
    and_op = "and"
    or_op = "or"
    equal_op = "is"
    unequal_op = "is not"

    def negate(self, operand: str) -> str:
        return f"(not {_wrap(operand)})"

    def minus(self, operand: str) -> str:
        return f"(0 - {_wrap(operand)})"

    def visits_of(self, passage: str) -> str:
        name = self.string(passage)
        # (history:) leaves out the passage being shown, which branching counts.
        return f"((count: (history:), {name}) + (cond: (passage:)'s name is {name}, 1, 0))"

    def syntax(self, number: str) -> Syntax:
        return Syntax(
            number,
            lambda x, v: f"{x} is {v}",
            lambda x, a, b: f"({x} >= {a} and {x} <= {b})",
            lambda x, m: f"({x} % {m})",
            lambda a, b: f"({a} and {b})",
            lambda a, b: f"({a} or {b})",
            lambda a: f"(not {_wrap(a)})",
            "true",
            "false",
        )

    def absolute(self, value: str) -> str:
        return f"(abs: {value})"

    def string(self, text: str) -> str:
        """A Harlowe string; one holding "[[" is joined from pieces, so that Twine's story map
        does not read a link in it."""
        if "[[" not in text:
            return json.dumps(text, ensure_ascii=False)
        pieces = text.split("[")
        return ' + "[" + '.join(json.dumps(piece, ensure_ascii=False) for piece in pieces)

    def literal(self, text: str) -> str:
        return _harlowe_literal(text)

    def chain(self, chain: list[tuple[str | None, Parts]], count: str | None = None) -> str:
        out: list[str] = []
        for index, (condition, parts) in enumerate(chain):
            body = self.inner(parts, count)
            if condition is None:
                out.append(f"(else:)[{body}]" if index else body)
            else:
                out.append(f"({'else-if' if index else 'if'}: {condition})[{body}]")
        return "".join(out)

    def inner(self, parts: Parts, count: str | None = None) -> str:
        outer, self.count = self.count, count if count is not None else self.count
        try:
            return self.parts(parts)
        finally:
            self.count = outer

    def block(self, block: Block, top: bool) -> str:
        if isinstance(block, Print):
            return f"(print: {self.expression(block.expr.tree)})"
        if isinstance(block, Conditional):
            chain: list[tuple[str | None, Parts]] = [
                (self.expression(block.condition.tree), block.then)
            ]
            if block.otherwise is not None:
                chain.append((None, block.otherwise))
            return self.chain(chain)
        if isinstance(block, Sequence):
            self.check_sequence(block, top)
            if block.kind == "shuffle":
                size = len(block.alternatives)
                if all(
                    all(isinstance(p, str) and _plain(p) and "\n" not in p for p in a)
                    for a in block.alternatives
                ):
                    strings = ", ".join(self.string("".join(a)) for a in block.alternatives)  # type: ignore[arg-type]
                    return f"(either: {strings})"
                pick = self.context.temporary("shuffle")
                numbers = ", ".join(str(i + 1) for i in range(size))
                chain = [
                    (f"{pick} is {i + 1}" if i < size - 1 else None, a)
                    for i, a in enumerate(block.alternatives)
                ]
                return f"(set: {pick} to (either: {numbers}))" + self.chain(chain)
            return self.chain(self.sequence_chain(block, "visits"))
        if isinstance(block, Plural):
            return self.chain(self.plural_chain(block), self.expression(Var(block.name, 0)))
        if isinstance(block, Select):
            return self.chain(self.select_chain(block))
        if isinstance(block, Number):
            return f"(print: {self.expression(Var(block.name, 0))})"
        if self.count is not None:
            return f"(print: {self.count})"
        raise Untranslated("'#' outside a plural")

    # Links and effects.
    def effects(self, effects: dict[str, str]) -> str:
        return "".join(f"(set: ${name} to {value})" for name, value in effects.items())

    def link(self, shown: str, target: str, condition: str | None, effects: str, note: str) -> str:
        # A space between the hook and the link: "[[[" would read as a link to Harlowe's eye.
        if effects:
            link = (
                f"(link-reveal-goto: {self.string(_harlowe_literal(shown))}, "
                f"{self.string(target)})[{effects}]{note}"
            )
        elif _plain(shown):
            link = f"[[{shown}->{target}]]{note}"
        else:  # Harlowe renders link text as markup: a string of verbatim text stays text
            link = (
                f"(link-goto: {self.string(_harlowe_literal(shown))}, {self.string(target)}){note}"
            )
        return f"(if: {condition})[ {link} ]" if condition else link


class SugarCubeWriter(_Writer):
    name = "sugarcube"

    def visits_of(self, passage: str) -> str:
        return f"visited({self.string(passage)})"

    def literal(self, text: str) -> str:
        return _sugarcube_literal(text)

    def chain(self, chain: list[tuple[str | None, Parts]], count: str | None = None) -> str:
        out: list[str] = []
        for index, (condition, parts) in enumerate(chain):
            body = self.inner(parts, count)
            if condition is None:
                out.append(f"<<else>>{body}" if index else body)
            else:
                out.append(f"<<{'elseif' if index else 'if'} {condition}>>{body}")
        if chain and chain[0][0] is not None:
            out.append("<</if>>")
        return "".join(out)

    def inner(self, parts: Parts, count: str | None = None) -> str:
        outer, self.count = self.count, count if count is not None else self.count
        try:
            return self.parts(parts)
        finally:
            self.count = outer

    def localised(self, value: str) -> str:
        return f"Number({value}).toLocaleString({self.string(self.context.language)})"

    def block(self, block: Block, top: bool) -> str:
        if isinstance(block, Print):
            return f"<<print {self.expression(block.expr.tree)}>>"
        if isinstance(block, Conditional):
            chain: list[tuple[str | None, Parts]] = [
                (self.expression(block.condition.tree), block.then)
            ]
            if block.otherwise is not None:
                chain.append((None, block.otherwise))
            return self.chain(chain)
        if isinstance(block, Sequence):
            self.check_sequence(block, top)
            if block.kind == "shuffle":
                size = len(block.alternatives)
                pick = self.context.temporary("shuffle")
                numbers = ", ".join(str(i + 1) for i in range(size))
                chain = [
                    (f"{pick} === {i + 1}" if i < size - 1 else None, a)
                    for i, a in enumerate(block.alternatives)
                ]
                return f"<<set {pick} to either({numbers})>>" + self.chain(chain)
            return self.chain(self.sequence_chain(block, "visited()"))
        if isinstance(block, Plural):
            return self.chain(self.plural_chain(block), self.expression(Var(block.name, 0)))
        if isinstance(block, Select):
            return self.chain(self.select_chain(block))
        if isinstance(block, Number):
            return f"<<print {self.localised(self.expression(Var(block.name, 0)))}>>"
        if self.count is not None:
            return f"<<print {self.localised(self.count)}>>"
        raise Untranslated("'#' outside a plural")

    def effects(self, effects: dict[str, str]) -> str:
        return ", ".join(f"${name} to {value}" for name, value in effects.items())

    def node_effects(self, effects: dict[str, str]) -> str:
        return f"<<set {self.effects(effects)}>>"

    def link(self, shown: str, target: str, condition: str | None, effects: str, note: str) -> str:
        # SugarCube evaluates link text as an expression when it can ("1+1" shows 2, and
        # "alert(1)" would run): a string literal is the one form that shows itself.
        setter = f"[{effects}]" if effects else ""
        link = f"[[{self.string(shown)}->{target}]{setter}]{note}"
        return f"<<if {condition}>>{link}<</if>>" if condition else link


#: Names a Chapbook variable cannot have: JavaScript's reserved words and literals, and the
#: objects of Chapbook's lookups and state.
_CHAPBOOK_TAKEN = frozenset(
    [
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "enum",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "implements",
        "import",
        "in",
        "instanceof",
        "interface",
        "let",
        "new",
        "null",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "static",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "await",
        "arguments",
        "eval",
        "undefined",
        "NaN",
        "Infinity",
        "Math",
        "String",
        "Number",
        "passage",
        "story",
        "browser",
        "engine",
        "now",
        "config",
        "random",
        "trail",
    ]
)


class ChapbookWriter(_Writer):
    """Chapbook: text that changes is computed in the vars section as a JavaScript string into
    a temporary variable, and shown with an insert ``{_text1}`` (Chapbook has no inline
    conditions, and its modifiers cannot nest)."""

    name = "chapbook"

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.vars: list[str] = []
        #: Per temporary: the JavaScript written and the branching block it came from, so that
        #: an import of an edited passage can give back the blocks the writer left alone.
        self.sources: dict[str, tuple[str, str]] = {}

    def variable(self, name: str) -> str:
        if name in _CHAPBOOK_TAKEN:
            raise Untranslated(
                f"{name} is a word of JavaScript or a Chapbook lookup, not a variable there"
            )
        return name

    def visits_of(self, passage: str) -> str:
        name = self.string(passage)
        return f"trail.filter(function (p) {{ return p === {name}; }}).length"

    def literal(self, text: str) -> str:
        return _chapbook_literal(text)

    def block(self, block: Block, top: bool) -> str:
        expression = self.js(block, top, None)
        name = self.context.temporary("text")
        self.vars.append(f"{name}: {expression}")
        self.sources[name] = (expression, unparse((block,)))
        return "{" + name + "}"

    def js_parts(self, parts: Parts, count: str | None) -> str:
        pieces: list[str] = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(self.string(_chapbook_literal(part)))
            else:
                pieces.append(self.js(part, False, count))
        return " + ".join(pieces) if pieces else '""'

    def js_chain(self, chain: list[tuple[str | None, Parts]], count: str | None = None) -> str:
        result = '""'
        for condition, parts in reversed(chain):
            text = self.js_parts(parts, count)
            result = text if condition is None else f"({condition} ? {text} : {result})"
        return result

    def localised(self, value: str) -> str:
        return f"Number({value}).toLocaleString({self.string(self.context.language)})"

    def js(self, block: Block, top: bool, count: str | None) -> str:
        if isinstance(block, Print):
            return f"String({self.expression(block.expr.tree)})"
        if isinstance(block, Conditional):
            chain: list[tuple[str | None, Parts]] = [
                (self.expression(block.condition.tree), block.then)
            ]
            if block.otherwise is not None:
                chain.append((None, block.otherwise))
            return self.js_chain(chain, count)
        if isinstance(block, Sequence):
            self.check_sequence(block, top)
            if block.kind == "shuffle":
                options = ", ".join(self.js_parts(a, count) for a in block.alternatives)
                size = len(block.alternatives)
                return f"[{options}][Math.floor(Math.random() * {size})]"
            return self.js_chain(self.sequence_chain(block, "passage.visits"), count)
        if isinstance(block, Plural):
            value = self.expression(Var(block.name, 0))
            return self.js_chain(self.plural_chain(block), value)
        if isinstance(block, Select):
            return self.js_chain(self.select_chain(block), count)
        if isinstance(block, Number):
            return self.localised(self.expression(Var(block.name, 0)))
        if count is not None:
            return self.localised(count)
        raise Untranslated("'#' outside a plural")

    def parts(self, parts: Parts, *, top: bool = False) -> str:
        out: list[str] = []
        for part in parts:
            if isinstance(part, str):
                out.append(self.literal(part))
                continue
            if isinstance(part, Print) and isinstance(part.expr.tree, Var):
                name = part.expr.tree.name
                if name not in self.context.profile:
                    out.append("{" + name + "}")
                    continue
            try:
                out.append(self.block(part, top))
            except Untranslated as exc:
                source = unparse((part,))
                shown = source if len(source) <= 60 else source[:57] + "..."
                self.context.warnings.append(
                    f"kept {shown} as text: {exc}; {self.title} shows it as written"
                )
                out.append(self.literal(source))
        return "".join(out)

    def effects(self, effects: dict[str, str]) -> str:
        return "\n".join(f"{name}: {value}" for name, value in effects.items())

    def link(self, shown: str, target: str, condition: str | None, effects: str, note: str) -> str:
        link = f"[[{_chapbook_literal(shown)}->{target}]]{note}"
        return f"[if {condition}]\n{link}\n[continue]" if condition else link


WRITERS: dict[TwineFormat, type[_Writer]] = {
    "harlowe": HarloweWriter,
    "sugarcube": SugarCubeWriter,
    "chapbook": ChapbookWriter,
}


def writer_for(story_format: TwineFormat, context: Context) -> _Writer:
    return WRITERS[story_format](context)
