"""Translations of a story: checking a PO file against it, and loading one to play.

A translation is a gettext PO file whose entries are matched to the story's strings by context
(``msgctxt``, see :mod:`branching.story.strings`), with the story's words as ``msgid``. A
translation is used string by string: one that is missing, empty, fuzzy, written for other
source words, or broken shows the story's own words instead, so a half-done translation can be
played.

``branching i18n check`` (:func:`check_translation`) reports what a translator must fix, each
problem at its PO line: missing, untranslated, fuzzy and outdated strings; blocks that do not
parse or name unknown variables; values, variables and conditions that differ from the source;
plurals without the forms the language needs (CLDR, from Babel); control characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from branching.story import locales
from branching.story.expressions import Kind, canonical, kind_of
from branching.story.model import Story
from branching.story.po import PoEntry, PoFile, read_po_file
from branching.story.problems import Severity
from branching.story.strings import StoryString, story_strings
from branching.story.text import (
    MARKER_OF,
    Conditional,
    Number,
    Plural,
    Print,
    Select,
    Sequence,
    Text,
    TextError,
    parse_text,
)
from branching.story.text_checks import check_text
from branching.story.untrusted import BIDI_CONTROL, CONTROL, has_surrogate, printable

#: Problem codes that only say the translation is not finished (warnings with
#: ``--allow-incomplete``).
INCOMPLETE = frozenset({"missing", "untranslated", "fuzzy", "source-changed"})


@dataclass(frozen=True, slots=True)
class PoProblem:
    """A problem of a translation, at a line of its PO file."""

    severity: Severity
    code: str
    message: str
    file: str
    line: int | None = None
    context: str | None = None

    def format(self) -> str:
        """``demo.fr.po:42: error [placeholders] node/hut/text: ...`` on one line."""
        where = self.file + (f":{self.line}" if self.line else "")
        context = f"{self.context}: " if self.context else ""
        return printable(
            f"{where}: {self.severity} [{self.code}] {context}{self.message}", one_line=True
        )

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "context": self.context,
        }


@dataclass
class Translation:
    """The usable strings of a translation, by context, and how many strings it leaves out."""

    language: str
    strings: dict[str, str] = field(default_factory=dict)
    #: Strings of the story (the translatable ones).
    total: int = 0
    file: str = ""
    #: Strings translated but left out because ``i18n check`` finds errors in them.
    broken: int = 0

    @property
    def missing(self) -> int:
        """Strings shown in the story's own language."""
        return self.total - len(self.strings)


def language_of(po: PoFile, fallback: str | None = None) -> str | None:
    """The translation's language: the PO header's ``Language``, else the file name's
    (``demo.fr.po`` is French), else ``fallback``.

    >>> language_of(PoFile("x/demo.pt-BR.po", None))
    'pt-BR'
    """
    if po.language:
        return po.language
    suffixes = Path(po.name).suffixes
    if len(suffixes) >= 2 and suffixes[-1] == ".po":
        guess = suffixes[-2].lstrip(".")
        try:
            locales.check_language(guess)
        except locales.LanguageError:
            return fallback
        return guess
    return fallback


def _kinds(story: Story) -> dict[str, Kind]:
    declared = {**story.variables, **story.profile}  # text reads profile values too
    return {name: kind_of(value) for name, value in declared.items()}


def load_translation(story: Story, path: str | Path, language: str | None = None) -> Translation:
    """The translation in ``path`` as the player uses it; raises :class:`PoReadError`.

    Only strings that :func:`check_translation` would not complain about are kept (translated,
    not fuzzy, for the current source words, and without errors); the others show the story's
    own words.
    """
    po = read_po_file(path)
    tag = language_of(po, language) or language or locales.DEFAULT_LANGUAGE
    translation = Translation(tag, file=str(path))
    kinds = _kinds(story)
    duplicated = {entry.context for entry in po.duplicates}
    for string in story_strings(story):
        translation.total += 1
        entry = po.entries.get(string.context)
        if entry is None or not _usable(entry, string):
            continue
        # The very checks `i18n check` runs, so the player never shows a string it rejects.
        found = _check_entry(string, entry, kinds, story, tag, "")
        if string.context in duplicated or any(p.severity == "error" for p in found):
            translation.broken += 1
            continue
        translation.strings[string.context] = entry.translation
    return translation


def _usable(entry: PoEntry, string: StoryString) -> bool:
    """Translated for the current source words and not waiting for review (the problems
    ``i18n check`` calls incomplete, or gettext plurals)."""
    return (
        bool(entry.translation)
        and not entry.fuzzy
        and not entry.gettext_plural
        and entry.source == string.source
    )


# --- Checking ----------------------------------------------------------------------------------


def check_translation(
    story: Story,
    po: PoFile,
    *,
    language: str | None = None,
    allow_incomplete: bool = False,
    story_file: str = "",
    story_lines: Mapping[str, int] | None = None,
) -> list[PoProblem]:
    """Every problem of the translation ``po`` of ``story``, in PO line order.

    ``story_lines`` (JSON pointer: line) lets a missing string say where the story has it.
    """
    problems: list[PoProblem] = []
    name = po.name
    incomplete: Severity = "warning" if allow_incomplete else "error"

    def add(
        severity: Severity, code: str, message: str, line: int | None, context: str | None
    ) -> None:
        problems.append(PoProblem(severity, code, message, name, line, context))

    tag = language_of(po, language)
    named = tag is not None
    if tag is None:
        add(
            "error",
            "unknown-language",
            'the file names no language: add a "Language: fr" header (Poedit: Translation > '
            "Properties) or name the file STORY.LANG.po",
            None,
            None,
        )
        tag = locales.DEFAULT_LANGUAGE
    else:
        try:
            locales.check_language(tag)
        except locales.LanguageError as exc:
            add(
                "error",
                "unknown-language",
                f"{exc}; use a BCP 47 tag such as fr or pt-BR",
                None,
                None,
            )
            tag, named = locales.DEFAULT_LANGUAGE, False
    source_language = story.language or locales.DEFAULT_LANGUAGE
    if named and tag.replace("_", "-").lower() == source_language.replace("_", "-").lower():
        add(
            "warning",
            "same-language",
            f"the translation is in {tag}, the story's own language",
            None,
            None,
        )

    kinds = _kinds(story)
    lines = story_lines or {}
    known: set[str] = set()
    for string in story_strings(story):
        known.add(string.context)
        entry = po.entries.get(string.context)
        if entry is None:
            where = f" ({story_file}:{lines[string.path]})" if string.path in lines else ""
            add(
                incomplete,
                "missing",
                f"no entry for this string of the story{where}: run "
                "`branching i18n update` to add it",
                None,
                string.context,
            )
            continue
        if entry.gettext_plural:
            add(
                "error",
                "gettext-plural",
                "gettext plural forms (msgid_plural) are not used: write the plural inside "
                "the text, {n, plural, one {...} other {...}}",
                entry.line,
                string.context,
            )
            continue
        if not entry.translation:
            add(incomplete, "untranslated", "not translated yet", entry.line, string.context)
            continue
        if entry.source != string.source:
            add(
                incomplete,
                "source-changed",
                "the story's words changed since this was translated: run `branching i18n "
                "update` (it marks the entry fuzzy and keeps the old words for comparison)",
                entry.line,
                string.context,
            )
            continue
        if entry.fuzzy:
            add(
                incomplete,
                "fuzzy",
                "marked fuzzy (needs review): it is not used until the mark is removed",
                entry.line,
                string.context,
            )
        problems.extend(_check_entry(string, entry, kinds, story, tag, name))

    for context, entry in po.entries.items():
        if context not in known:
            add(
                "warning",
                "obsolete",
                "the story has no such string any more (removed or renamed): "
                "`branching i18n update` keeps it as an obsolete entry",
                entry.line,
                context,
            )
    for entry in po.strays:
        add(
            "error",
            "no-context",
            f"an entry without msgctxt ({entry.source[:40]!r}): branching matches translations "
            "by context; extract a fresh template with `branching i18n extract`",
            entry.line,
            None,
        )
    for entry in po.duplicates:
        add("error", "duplicate-context", "this context is given twice", entry.line, entry.context)
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return problems


def _check_entry(
    string: StoryString,
    entry: PoEntry,
    kinds: Mapping[str, Kind],
    story: Story,
    tag: str,
    name: str,
) -> list[PoProblem]:
    found: list[PoProblem] = []
    text = entry.translation

    def add(severity: Severity, code: str, message: str) -> None:
        found.append(PoProblem(severity, code, message, name, entry.line, string.context))

    control = CONTROL.search(text)
    if control is not None:
        add(
            "error",
            "control-character",
            f"control character U+{ord(control.group()):04X} at character {control.start() + 1}: "
            "story text may hold newlines and tabs but no other control characters",
        )
    if has_surrogate(text):
        add("error", "control-character", "a lone surrogate (half of a character) in the text")
    bidi = BIDI_CONTROL.search(text)
    if bidi is not None:
        add(
            "warning",
            "bidi-control",
            f"invisible bidirectional control U+{ord(bidi.group()):04X}: it makes the text "
            "display in another order than it is written; remove it unless the script needs it",
        )
    if not string.has_blocks:
        return found
    if "{" not in text and "}" not in text and "{" not in string.source:
        return found
    for finding in check_text(text, kinds, story.nodes, tag):
        add(
            finding.severity, finding.code, f"{finding.message} (at character {finding.offset + 1})"
        )
    if not any(p.severity == "error" for p in found):
        for severity, code, message in _differences(string.source, text, tag):
            add(severity, code, message)
    return found


@dataclass
class _Signature:
    variables: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    shown: set[str] = field(default_factory=set)
    conditions: set[str] = field(default_factory=set)
    sequences: list[tuple[str, int]] = field(default_factory=list)
    plurals: list[Plural] = field(default_factory=list)


def _signature(text: Text) -> _Signature:
    signature = _Signature(set(text.variables), set(text.nodes))
    for block in text.blocks():
        if isinstance(block, Print):
            signature.shown.add(canonical(block.expr))
        elif isinstance(block, Conditional):
            signature.conditions.add(canonical(block.condition))
        elif isinstance(block, Plural):
            signature.shown.add(block.name)
            signature.plurals.append(block)
        elif isinstance(block, Number):
            signature.shown.add(block.name)
        elif isinstance(block, Select):
            signature.conditions.add(f"select {block.name}")
        elif isinstance(block, Sequence):
            signature.sequences.append((block.kind, len(block.alternatives)))
    return signature


def _differences(source: str, translation: str, language: str) -> list[tuple[Severity, str, str]]:
    """How a translation's blocks differ from the source's, as (severity, code, message)."""
    try:
        want = _signature(parse_text(source))
        got = _signature(parse_text(translation))
    except TextError:
        return []  # reported by the checks of each text
    found: list[tuple[Severity, str, str]] = []
    for missing in sorted(want.shown - got.shown):
        found.append(
            (
                "error",
                "placeholders",
                f"the source shows {{{_bare(missing)}}}; the translation does not",
            )
        )
    for extra in sorted(got.shown - want.shown):
        found.append(
            (
                "error",
                "placeholders",
                f"the translation shows {{{_bare(extra)}}}, which the source does not",
            )
        )
    for name in sorted(got.variables - want.variables):
        if name not in {_bare(s) for s in got.shown - want.shown}:
            found.append(
                (
                    "error",
                    "placeholders",
                    f'the translation uses the variable "{name}", which the source does not',
                )
            )
    for name in sorted(want.variables - got.variables):
        if name not in {_bare(s) for s in want.shown - got.shown}:
            found.append(
                (
                    "error",
                    "placeholders",
                    f'the source uses the variable "{name}"; the translation does not',
                )
            )
    for node in sorted(want.nodes ^ got.nodes):
        found.append(
            (
                "error",
                "placeholders",
                f'visits("{node}") is in one of the source and the translation only',
            )
        )
    for condition in sorted(want.conditions - got.conditions):
        if not _covered(condition, got):
            found.append(
                (
                    "error",
                    "placeholders",
                    f"the source depends on {_bare(condition)}; the translation does not",
                )
            )
    for condition in sorted(got.conditions - want.conditions):
        if not _covered(condition, want):
            found.append(
                (
                    "error",
                    "placeholders",
                    f"the translation depends on {_bare(condition)}, which the source does not",
                )
            )
    everyday = locales.everyday_categories(language)
    for plural in got.plurals:
        selectors = set(plural.selectors)
        lacking = sorted(everyday - selectors, key=locales.CATEGORIES.index)
        if lacking:
            forms = ", ".join(lacking)
            found.append(
                (
                    "error",
                    "plural-forms",
                    f"{locales.language_name(language)} needs the plural forms "
                    f"{', '.join(sorted(everyday, key=locales.CATEGORIES.index))} "
                    f"for everyday numbers; {{{plural.name}, plural, ...}} has no {forms}",
                )
            )
    if sorted(want.sequences) != sorted(got.sequences):
        found.append(
            (
                "warning",
                "variation-differs",
                f"the source varies with {_describe(want.sequences)}, the translation with "
                f"{_describe(got.sequences)}: viewers of each language see a different rhythm",
            )
        )
    return found


def _covered(condition: str, other: _Signature) -> bool:
    """A select in one text and a comparison of the same variable in the other are the same
    decision written two ways."""
    if condition.startswith("select "):
        name = condition.removeprefix("select ")
        return any(re.search(rf"\b{re.escape(name)}\b", c) for c in other.conditions)
    names = set(re.findall(r"\b[A-Za-z_]\w*\b", condition))
    return any(f"select {name}" in other.conditions for name in names)


def _bare(expression: str) -> str:
    """A canonical expression without its outer parentheses, for messages."""
    if expression.startswith("(") and expression.endswith(")"):
        return expression[1:-1]
    return expression


def _describe(sequences: Iterable[tuple[str, int]]) -> str:
    items = [f"{{{MARKER_OF[kind]}...}} of {count}" for kind, count in sequences]  # type: ignore[index]
    return ", ".join(items) if items else "no sequence"
