"""One passage's events turned into a draft node, with warnings for what is left out."""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field
from typing import Any

from branching.story.expressions import Value
from branching.story.text import Print, TextError, escape_alternative, parse_text, unparse
from branching.story.untrusted import CONTROL
from branching.twee.formats.common import assignments
from branching.twee.formats.events import (
    Assign,
    Back,
    Close,
    Code,
    Dialect,
    Embed,
    Event,
    Goto,
    Interp,
    Link,
    LinkClose,
    LinkOpen,
    Note,
    Open,
    PrintExpr,
    Prose,
    Vary,
)
from branching.twee.formats.translate import (
    Untranslatable,
    literal_string,
    literal_value,
    translate_expression,
    variable_name,
)
from branching.twee.ids import VARIABLE_RE
from branching.twee.notation import Passage
from branching.twee.problems import TweeProblem
from branching.twee.strings import string_args

#: The target of a way back (:class:`Back`): the assembler resolves it to the passages that lead
#: to the one holding it. No passage name can hold this character (control characters are
#: removed from Twee sources).
BACK = "\x00back"


@dataclass
class ChoiceDraft:
    """A choice before its target is resolved; ``marker`` is its place in the text."""

    label: str
    target: str  # passage name, or BACK
    line: int
    conditions: list[str | None]  # None: a condition that could not be translated
    effects: list[tuple[str, Value, int]] = field(default_factory=list)
    clauses: list[tuple[str, str]] = field(default_factory=list)
    marker: int = -1
    #: For a way back: the story-format code it came from, and whether that code also undoes.
    back: tuple[str, bool] | None = None


@dataclass
class EmbedDraft:
    """An embedded passage, filled in once every passage is drafted."""

    target: str
    line: int
    conditions: list[str | None]
    marker: int


@dataclass
class Draft:
    """A passage's node before assembly: text pieces with markers for links and embeds."""

    passage: Passage
    pieces: list[str] = field(default_factory=list)
    choices: list[ChoiceDraft] = field(default_factory=list)
    effects: list[tuple[str, Value, int]] = field(default_factory=list)
    embeds: list[EmbedDraft] = field(default_factory=list)
    clauses: list[tuple[str, str]] = field(default_factory=list)
    labels: dict[int, str] = field(default_factory=dict)
    interpolated: set[str] = field(default_factory=set)
    text: str = ""
    #: Code it could not translate was dropped (a start of nothing but links dropped none).
    dropped_code: bool = False
    #: Temporaries set to a random pick ``either(1, ..., n)``: name -> n (see shuffles_back).
    shuffles: dict[str, int] = field(default_factory=dict)


#: Formats whose passages become HTML: a character reference (&#91;, &amp;) in their prose
#: shows as its character.
_HTML_FORMATS = ("harlowe", "sugarcube", "chapbook")
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _character(match: re.Match[str]) -> str:
    """The character of a reference, unless it names none or a control character (story text
    may not hold those: the reference then stays as written).

    >>> _REFERENCE.sub(_character, "&#91;&amp;&#27;&#0;&bogus;&#65533;")
    '[&&#27;&#0;&bogus;\ufffd'
    """
    reference = match.group()
    character = html.unescape(reference)
    named_replacement = reference.lower() in ("&#65533;", "&#xfffd;")
    if (
        character in ("", reference)
        or CONTROL.search(character)
        or ("\ufffd" in character and not named_replacement)
    ):
        return reference
    return character


_MARK = "\x00{}\x01"
#: ``either(1, 2, 3)`` (SugarCube) or ``(either: 1, 2, 3)`` (Harlowe): a random pick of 1..n.
_SHUFFLE_PICK = re.compile(
    r"\s*(?:either\s*\(|\(\s*either\s*:)\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\)\s*$"
)
#: A condition testing a pick: ``_shuffle1 == 2``.
_PICK_TEST = re.compile(r"\(*\s*(_\w+)\s*==\s*(\d{1,3})\s*\)*")
EMBED_MARK = "\x02{}\x03"
_DECORATION = re.compile(r"^[\s*_~|•·\-–—,.;:/()<>]*$")


@dataclass
class _Chain:
    """The conditional text of an if/elseif/else chain: ``{c1: A|{c2: B|C}}``."""

    #: Where its block goes in the draft's pieces.
    index: int
    #: (the branch's own condition, or None for an else; its text, written for a block)
    parts: list[tuple[str | None, str]] = field(default_factory=list)
    #: A condition could not be translated: the rest of the chain's text stays unconditional.
    broken: bool = False

    def render(self) -> str:
        if self.broken or not any(text.strip() for _, text in self.parts):
            return ""
        # Line-based sections (Chapbook's [if]) end with line breaks: they go after the block.
        breaks = min(len(t) - len(t.rstrip("\n")) for _, t in self.parts if t)
        if breaks:
            parts = [(c, t[:-breaks] if t else t) for c, t in self.parts]
            return _conditional(parts) + "\n" * breaks
        return _conditional(self.parts)


def _conditional(parts: list[tuple[str | None, str]]) -> str:
    condition, text = parts[0]
    if condition is None:
        return text
    rest = f"|{_conditional(parts[1:])}" if len(parts) > 1 else ""
    return "{" + condition + ": " + text + rest + "}"


_LINK_MARKS = re.compile("\x00\\d+\x01")
_MARKERS = re.compile("\x00\\d+\x01|\x02\\d+\x03")


@dataclass
class _Branch:
    """An open conditional section of the passage."""

    condition: str | None  # translated; None when untranslatable
    raw: str
    line: int
    prose: bool = False
    chain: list[str | None] = field(default_factory=list)  # conditions of earlier branches
    #: Its own condition, translated ("" for an else; None when it could not be translated).
    own: str | None = ""
    #: Where its text starts in the draft's pieces.
    start: int = 0
    #: The chain of conditional text it belongs to.
    text_chain: _Chain | None = None


class Builder:
    """Turns the events of one passage into a draft node, warning about what it leaves out."""

    def __init__(
        self,
        passage: Passage,
        dialect: Dialect,
        ids: dict[str, str],
        names: set[str],
        keep_macros: bool,
        problems: list[TweeProblem],
    ) -> None:
        self.passage = passage
        self.dialect = dialect
        self.ids = ids
        self.names = names
        self.keep = keep_macros
        self.problems = problems
        self.draft = Draft(passage)
        self.branches: list[_Branch] = []
        self.closed: _Branch | None = None  # the branch just closed, for else/elseif
        self.link: ChoiceDraft | None = None
        self.html: list[tuple[int, str]] = []

    def warn(self, message: str, line: int) -> None:
        self.problems.append(self.passage.problem(message, line))

    def conditions(self) -> list[str | None]:
        return [branch.condition for branch in self.branches]

    def add_text(self, text: str, verbatim: bool = False) -> None:
        if not verbatim:
            text = text.replace("{", "{{").replace("}", "}}")
        self.draft.pieces.append(text)
        if text.strip() and self.branches:
            self.branches[-1].prose = True

    def add_choice(self, label: str, target: str, line: int) -> ChoiceDraft:
        label = _shown_label(label, self.dialect)
        marker = len(self.draft.labels)
        choice = ChoiceDraft(label, target, line, self.conditions(), marker=marker)
        self.draft.labels[marker] = label
        self.draft.pieces.append(_MARK.format(marker))
        self.draft.choices.append(choice)
        return choice

    def translate(self, source: str, line: int, what: str, it: str | None = None) -> str | None:
        dialect = self.dialect if self.dialect != "native" else "plain"
        try:
            current = self.ids.get(self.passage.name)
            return translate_expression(source, dialect, self.ids, it, current)
        except Untranslatable as exc:
            self.warn(f"could not translate the {what} {source.strip()[:60]!r} ({exc})", line)
            return None

    def run(self, events: list[Event]) -> Draft:
        for event in events:
            self.handle(event)
        while self.branches:
            self.close_branch(self.passage.line)
        if self.link is not None:
            self.finish_link(self.passage.line)
        if self.html:
            tags = sorted({name for _, name in self.html})
            verb = "kept" if self.keep else "removed"
            self.warn(f"{verb} HTML tags ({', '.join(tags)}); their text is kept", self.html[0][0])
        return self.draft

    def handle(self, event: Event) -> None:
        if isinstance(event, Prose):
            if event.text.strip():
                self.closed = None
            text = event.text
            if not (event.verbatim or event.literal) and self.dialect in _HTML_FORMATS:
                text = _REFERENCE.sub(_character, text)
            self.add_text(text, event.verbatim)
        elif isinstance(event, Interp):
            self.interpolate(event)
        elif isinstance(event, PrintExpr):
            self.print_expression(event)
        elif isinstance(event, Vary):
            alternatives = "|".join(escape_alternative(a) for a in event.alternatives)
            self.draft.pieces.append("{~" + alternatives + "}")
            if self.branches:
                self.branches[-1].prose = True
        elif isinstance(event, Link):
            self.on_link(event)
        elif isinstance(event, Code):
            self.on_code(event)
        elif isinstance(event, Open):
            self.open_branch(event)
        elif isinstance(event, Close):
            if self.branches:
                self.close_branch(event.line)
        elif isinstance(event, Assign):
            self.on_assign(event)
        elif isinstance(event, LinkOpen):
            if self.link is not None:
                self.finish_link(event.line)
            self.link = ChoiceDraft(event.label, event.target or "", event.line, self.conditions())
            self.link.marker = len(self.draft.pieces)
            self.draft.pieces.append("")
        elif isinstance(event, LinkClose):
            if self.link is not None:
                self.finish_link(event.line)
        elif isinstance(event, Goto):
            if self.link is not None:
                self.link.target = event.target
            else:
                self.warn(
                    f'automatic jump {event.raw.strip()[:50]} became a choice "Continue"',
                    event.line,
                )
                self.add_choice("Continue", event.target, event.line)
        elif isinstance(event, Back):
            choice = self.add_choice(event.label.strip() or "Back", BACK, event.line)
            choice.back = (event.raw, event.undo)
        elif isinstance(event, Embed):
            marker = len(self.draft.embeds)
            self.draft.embeds.append(
                EmbedDraft(event.target, event.line, self.conditions(), marker)
            )
            self.draft.pieces.append(EMBED_MARK.format(marker))
        elif isinstance(event, Note):
            last = self.draft.choices[-1] if self.draft.choices else None
            before = [piece for piece in self.draft.pieces if piece.strip(" \t")]
            if (
                last is not None
                and last.line == event.line
                and before
                and before[-1] == _MARK.format(last.marker)
            ):
                last.clauses.extend(event.clauses)  # the comment right after a link is the link's
            else:
                self.draft.clauses.extend(event.clauses)

    def interpolate(self, event: Interp) -> None:
        if VARIABLE_RE.match(event.name):
            name = variable_name(event.name)
            self.draft.pieces.append("{" + name + "}")
            self.draft.interpolated.add(name)
        else:
            self.add_text(event.name)

    def print_expression(self, event: PrintExpr) -> None:
        """A printed expression becomes ``{expression}``; one that does not translate is
        dropped (or kept as text), said so by the translation's warning."""
        expression = self.translate(event.source, event.line, "printed expression")
        if expression is not None:
            blocks = ["{" + expression + "}", "{(" + expression + ")}"]
            if expression.startswith("(") and expression.endswith(")"):
                # The translation brackets each operation: (print: ($gold * 2)), branching's
                # own export of {gold * 2}, reads back as written. An inner part that parses
                # alone was the whole: "(a) + (b)" gives "a) + (b", which does not.
                blocks.insert(0, "{" + expression[1:-1] + "}")
            for block in blocks:
                try:
                    text = parse_text(block)
                except TextError:
                    continue
                if len(text.parts) == 1 and isinstance(text.parts[0], Print):
                    self.draft.pieces.append(block)
                    self.draft.interpolated.update(text.variables)
                    if self.branches:
                        self.branches[-1].prose = True
                    return
            self.warn(f"could not print {event.raw.strip()[:60]!r} in branching's text", event.line)
        if self.keep:
            self.add_text(event.raw)

    def on_link(self, event: Link) -> None:
        label = event.label.strip()
        if self.dialect == "sugarcube":
            label = _evaluated_label(label)
        target = event.target
        if self.dialect == "sugarcube" and target.strip() == "previous()":
            # [[Back|previous()]]: the passage the viewer came from, nothing undone.
            back = self.add_choice(label or "Back", BACK, event.line)
            back.back = (f"[[{label}|{target}]]", False)
            return
        choice = self.add_choice(label, target, event.line)
        if event.setter is not None:
            effects = (
                assignments(event.setter, event.line, event.setter)
                if self.dialect == "sugarcube"
                else []
            )
            translated = [self.assignment(e) for e in effects if isinstance(e, Assign)]
            if (
                effects
                and all(t is not None for t in translated)
                and len(translated) == len(effects)
            ):
                choice.effects.extend(t for t in translated if t is not None)
            else:
                self.warn(f"dropped the link setter [{event.setter}] of [[{label}]]", event.line)

    def on_code(self, event: Code) -> None:
        if event.html:
            self.html.append((event.line, event.raw.split()[0].strip("</>").lower()))
            if self.keep:
                self.add_text(event.raw)
            return
        if self.keep:
            self.add_text(event.raw)
        if not event.silent:
            self.draft.dropped_code = self.draft.dropped_code or not self.keep
            verb = "kept as text" if self.keep else "dropped"
            shown = " ".join(event.raw.split())
            shown = shown if len(shown) <= 70 else shown[:67] + "..."
            detail = f": {shown}" if shown and shown not in event.what else ""
            self.warn(f"{verb} {event.what}{detail}", event.line)
        if event.names_passages:
            for name in dict.fromkeys(string_args(event.raw)):
                if name in self.names:
                    self.warn(
                        f'the code names the passage "{name}": imported it as a choice "{name}"',
                        event.line,
                    )
                    self.add_choice(name, name, event.line)

    def open_branch(self, event: Open) -> None:
        chain: list[str | None] = []
        if event.kind != "if":
            if self.closed is None:
                self.warn(
                    f"{event.raw.strip() or 'else'} follows no if; read it as a plain if",
                    event.line,
                )
            else:
                chain = [*self.closed.chain, self.closed.condition]
        condition: str | None
        own: str | None = ""
        if event.condition is not None:
            own = self.translate(event.condition, event.line, "condition")
            if own is not None and event.negate:
                own = f"not ({own})"
        parts = [f"not ({c})" if c is not None else None for c in chain]
        if own != "":
            parts.append(own)
        if any(part is None for part in parts):
            condition = None
        else:
            condition = " and ".join(part for part in parts if part) or None
            if condition is None:  # an else after conditions that could not be read
                condition = "true"
        branch = _Branch(condition, event.raw, event.line, chain=chain)
        if condition == "true":
            branch.condition = None
        branch.own = None if own is None else own or ""
        if event.kind != "if" and self.closed is not None:
            branch.text_chain = self.closed.text_chain
            chain_at = branch.text_chain.index if branch.text_chain is not None else None
            if chain_at is not None and all(
                not p.strip() for p in self.draft.pieces[chain_at + 1 :]
            ):
                del self.draft.pieces[chain_at + 1 :]  # layout between (if:)[...] and (else:)
        self.branches.append(branch)
        self.closed = None
        if self.keep and condition is None and event.raw:
            self.add_text(event.raw)
        branch.start = len(self.draft.pieces)

    def close_branch(self, line: int) -> None:
        branch = self.branches.pop()
        pieces = self.draft.pieces
        text = "".join(pieces[branch.start :])
        prose = bool(_MARKERS.sub("", text).strip())
        chain = branch.text_chain
        if chain is None:
            chain = branch.text_chain = _Chain(branch.start)
            pieces.insert(branch.start, "")
            branch.start += 1
        written = self._block_text(text) if prose else ""
        if branch.own is None or chain.broken or written is None:
            chain.broken = True
            if prose and branch.raw:
                shown = " ".join(branch.raw.split())[:60]
                self.warn(
                    f"the text under {shown} is kept and always shown (its condition could "
                    "not be translated)",
                    branch.line,
                )
        else:
            if prose:
                del pieces[branch.start :]  # the text moves into the block
            else:
                # Only links here: they become choices with the condition, and their labels
                # must not show as unconditional text.
                pieces[branch.start :] = [
                    _LINK_MARKS.sub("", piece) for piece in pieces[branch.start :]
                ]
            chain.parts.append((branch.own or None, written))
        pieces[chain.index] = chain.render()
        self.closed = branch

    def _block_text(self, text: str) -> str | None:
        """Text of the passage (as written outside blocks) written for inside a block."""
        try:
            return unparse(parse_text(text).parts, inner=True)
        except TextError:
            return None

    def assignment(self, event: Assign) -> tuple[str, Value, int] | None:
        target = variable_name(event.target)
        pick = _SHUFFLE_PICK.match(event.value) if event.op in ("to", "=") else None
        if pick and target.startswith("_") and self.dialect in ("harlowe", "sugarcube"):
            numbers = [int(n) for n in re.split(r"\s*,\s*", pick.group(1))]
            if len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1)):
                # A pick for a shuffle (branching's own export writes one): the text chosen on
                # it becomes the shuffle again once the passage's text is finished.
                self.draft.shuffles[target] = len(numbers)
                return None
        if self.dialect in ("harlowe", "sugarcube") and not event.target.startswith(("$", "_")):
            target = ""
        if not VARIABLE_RE.match(target):
            self.warn(
                f"could not translate the assignment {event.raw.strip()[:60]!r} "
                "(only plain variables can be set)",
                event.line,
            )
            return None
        value = event.value
        if event.op in ("+=", "-=", "*=", "/=", "%="):
            value = f"{event.target} {event.op[0]} ({value})"
        translated = self.translate(value, event.line, "value", it=target)
        if translated is None:
            return None
        literal = literal_value(translated)
        return target, (literal if literal is not None else translated), event.line

    def on_assign(self, event: Assign) -> None:
        effect = self.assignment(event)
        if effect is None:
            if self.keep:
                self.add_text(event.raw)
            return
        if self.link is not None:
            self.link.effects.append(effect)
        elif self.branches:
            self.warn(
                f"dropped the effect {event.raw.strip()[:60]!r}: it depends on a condition, "
                "and node effects cannot",
                event.line,
            )
        else:
            self.draft.effects.append(effect)

    def finish_link(self, line: int) -> None:
        link = self.link
        assert link is not None
        self.link = None
        if not link.target:
            self.warn(
                f'the link "{link.label}" leads to no passage (it only reveals text); '
                "kept its text",
                link.line,
            )
            self.draft.pieces[link.marker] = link.label.replace("{", "{{").replace("}", "}}")
            if link.effects:
                self.warn("dropped the effects of that link", link.line)
            return
        marker = len(self.draft.labels)
        self.draft.labels[marker] = link.label
        self.draft.pieces[link.marker] = _MARK.format(marker)
        link.marker = marker
        self.draft.choices.append(link)


_BACKTICKS = re.compile(r"`+")


def _shown_label(label: str, dialect: Dialect) -> str:
    """A link's label as the format shows it: character references read (Harlowe's and
    Chapbook's labels are markup), Harlowe's verbatim spans as written, and the "<!--" the
    export wrote with a zero-width space (see ``shown_label``) as it was.

    >>> _shown_label("a &#91;&#91;`x] ] &lt;` &lt;!\u200b--", "harlowe")
    'a [[x] ] &lt; <!--'
    """
    if dialect in ("harlowe", "chapbook"):
        parts: list[str] = []
        position = 0
        for start, end, inner in _verbatim_spans(label) if dialect == "harlowe" else ():
            parts.append(_REFERENCE.sub(_character, label[position:start]))
            parts.append(inner)
            position = end
        parts.append(_REFERENCE.sub(_character, label[position:]))
        label = "".join(parts)
    return label.replace("<!\u200b--", "<!--")


def _verbatim_spans(text: str) -> list[tuple[int, int, str]]:
    """Harlowe's verbatim spans: a run of n backticks up to the next run of exactly n
    (``(start, end, inside)``). Each run is paired by a lookup in the later runs of its length,
    not by a search of the text from each (a regex backtracks over every run length)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    spans: list[tuple[int, int, str]] = []
    done = -1  # runs up to this index are inside a span already
    for index, (start, end) in enumerate(runs):
        if index <= done:
            continue
        same = by_length[end - start]
        after = bisect.bisect_right(same, index)
        if after < len(same):
            close = same[after]
            spans.append((start, runs[close][1], text[end : runs[close][0]]))
            done = close
    return spans


def _evaluated_label(label: str) -> str:
    r"""What SugarCube shows for link text that is a string literal: the string (it evaluates
    link text as an expression; exports quote labels so that they show as written).

    >>> _evaluated_label('"1+1 \\"quoted\\""'), _evaluated_label("Go on")
    ('1+1 "quoted"', 'Go on')
    """
    if len(label) >= 2 and label[0] == label[-1] and label[0] in "\"'":
        try:
            translated = translate_expression(label, "sugarcube")
        except Untranslatable:
            return label
        value = literal_string(translated)
        if value is not None:
            return value
    return label


def finish_text(pieces: list[str], labels: dict[int, str], native: bool) -> str:
    """Join pieces; drop lines holding only links (they become the choice list), inline others."""
    text = "".join(pieces)
    out: list[str] = []
    mark = re.compile("\x00(\\d+)\x01")
    for line in text.split("\n"):
        if mark.search(line):
            if _DECORATION.match(mark.sub("", line)) and "\x02" not in line:
                continue
            line = mark.sub(
                lambda m: labels.get(int(m.group(1)), "").replace("{", "{{").replace("}", "}}"),
                line,
            )
        out.append(line if native else line.rstrip())
    result = "\n".join(out)
    if not native:
        result = re.sub(r"\n{3,}", "\n\n", result)
    return result.lstrip("\n").rstrip()


def shuffles_back(text: str, shuffles: dict[str, int]) -> str:
    """``text`` with each chain of conditions on a pick of ``shuffles`` (``{_s == 1: a|{_s ==
    2: b|c}}``, what ``<<set _s to either(1, 2, 3)>><<if _s === 1>>a...`` reads as) written as
    the shuffle it was, ``{~a|b|c}``; a chain that does not test 1, 2, ... n in order stays."""
    from branching.story.text import Conditional, Parts, Sequence, with_parts

    def tested(part: object, name: str | None, number: int) -> str | None:
        if not isinstance(part, Conditional):
            return None
        match = _PICK_TEST.fullmatch(part.condition.source)
        if not match or int(match.group(2)) != number or match.group(1) not in shuffles:
            return None
        return match.group(1) if name in (None, match.group(1)) else None

    def shuffle(part: Conditional) -> Sequence | None:
        name = tested(part, None, 1)
        if name is None:
            return None
        size = shuffles[name]
        alternatives: list[Parts] = []
        current: object = part
        for number in range(1, size):
            if tested(current, name, number) is None:
                return None
            assert isinstance(current, Conditional)
            alternatives.append(fix(current.then))
            otherwise = current.otherwise or ()
            if number == size - 1:
                alternatives.append(fix(otherwise))
            elif len(otherwise) == 1:
                current = otherwise[0]
            else:
                return None
        return Sequence("shuffle", tuple(alternatives), 0, part.offset)

    def fix(parts: Parts) -> Parts:
        out: list[Any] = []
        for part in parts:
            if isinstance(part, Conditional):
                found = shuffle(part)
                if found is not None:
                    out.append(found)
                    continue
            if not isinstance(part, str):
                part = with_parts(part, fix)
            out.append(part)
        return tuple(out)

    try:
        parsed = parse_text(text)
    except TextError:
        return text
    return unparse(fix(parsed.parts))
