"""Gettext PO files, the format translators' tools read and write (Poedit, Weblate, Crowdin).

Babel reads and writes them (``babel.messages.pofile``): fuzzy flags, translator comments,
previous source strings and obsolete entries included, so nothing here parses PO by hand.
PO files come from outside: :func:`read_catalog` reads at most :data:`MAX_BYTES`, insists on
UTF-8 and turns every malformed entry into a :class:`PoReadError` with its line, never a
traceback. Babel is imported inside the functions (it costs about 0.15 s).

A story's template (POT) has one entry per translatable string (see
:mod:`branching.story.strings`): ``msgctxt`` is the string's context, ``msgid`` its source
words, the reference comment the story file and line, and an extracted comment says what it is.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from branching.story.json_input import InputTooLarge, read_limited
from branching.story.strings import StoryString
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import PoFileParser

#: PO files larger than this are refused (a 24,700-passage story's is about 5 MB).
MAX_BYTES = 64 * 1024 * 1024
_WHAT = {
    "story title": "The story's title.",
    "title": "The title of a passage.",
    "text": "The text of a passage (Markdown; keep every {...} block, see docs/translating.md).",
    "label": "A choice the viewer picks.",
    "ending title": "The title of an ending.",
}


class PoReadError(Exception):
    """A PO file that cannot be read: ``str()`` says where (``file.po:LINE``) and why.

    The message is made printable here, once for every reason: it quotes the file's name and
    sometimes its content (Babel's reasons quote a msgid), either of which may hold ESC or a
    newline.

    >>> str(PoReadError("fr\\x1b]2;x\\x07\\n.po: cannot read the file"))
    'fr\\\\x1b]2;x\\\\x07\\\\x0a.po: cannot read the file'
    """

    def __init__(self, message: str) -> None:
        super().__init__(printable(message, one_line=True))


@dataclass
class PoEntry:
    """One translation as the file has it."""

    context: str | None
    source: str
    translation: str
    fuzzy: bool
    line: int
    #: True when the entry has gettext plural forms (``msgid_plural``), which stories do not use.
    gettext_plural: bool = False


@dataclass
class PoFile:
    """A PO file read: its header language and its entries by context."""

    name: str
    language: str | None
    entries: dict[str, PoEntry] = field(default_factory=dict)
    #: Entries without a context, or whose context was given twice (first line kept).
    strays: list[PoEntry] = field(default_factory=list)
    duplicates: list[PoEntry] = field(default_factory=list)


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, at most :data:`MAX_BYTES`; :class:`PoReadError` otherwise (a device
    or a pipe is read up to the limit, as story files are)."""
    name = str(path)
    try:
        return read_limited(path, MAX_BYTES)
    except InputTooLarge as exc:
        raise PoReadError(f"{name}: {exc}; refused") from None
    except OSError as exc:
        raise PoReadError(f"{name}: cannot read the file: {exc.strerror or exc}") from None


def read_catalog(data: bytes, name: str = "<po>") -> Catalog:
    """Babel's catalog of a PO file's bytes; :class:`PoReadError` for anything malformed."""
    from babel.messages.pofile import PoFileError

    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PoReadError(
            f"{name}:{line}: the file is not UTF-8 text (save it as UTF-8; Poedit and Weblate "
            "do by default)"
        ) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    _check_plural_forms(data, name)
    from babel.messages.catalog import Catalog

    catalog = Catalog(charset="utf-8")
    try:
        _strict_parser(catalog).parse(io.BytesIO(data))
    except PoFileError as exc:
        line = getattr(exc, "lineno", 0) + 1
        why = re.sub(r" on \d+$", "", str(exc))  # Babel appends its own 0-based line
        if len(why) > 200:  # Babel's reasons can quote a whole msgid
            why = why[:200] + "..."
        raise PoReadError(f"{name}:{line}: not a valid PO file ({why})") from None
    except (ValueError, LookupError, UnicodeError, RecursionError) as exc:
        raise PoReadError(f"{name}: not a valid PO file ({exc})") from None
    _take_previous_words(catalog)
    return catalog


#: A PO string: quoted, with only the escapes Babel's reader turns into characters. Babel
#: checks the keywords and the order of entries but not the strings: it drops one character
#: from each end, so ``msgid "abc`` read as ``ab``, ``msgid "a" junk`` as ``a" jun`` and
#: ``"\\q"`` stayed a backslash and a q.
_WELL_FORMED = re.compile(r'"[^"\\]*(?:\\[\\"abfnrtv][^"\\]*)*"')
_KEYWORDS = re.compile(r"msgctxt|msgid|msgid_plural|msgstr(?:\[.*)?")


def _strict_parser(catalog: Catalog) -> PoFileParser:
    """Babel's PO parser (``abort_invalid``), also refusing what it would read silently wrong.

    Each refusal goes through Babel's own ``_invalid_pofile``, so it is a ``PoFileError`` at
    its line like Babel's: a malformed string; ``msgstr`` without a ``msgid`` (Babel gave it
    to the next entry), a second ``msgstr`` or ``msgctxt`` for one entry (one was dropped);
    ``msgstr[N]`` without ``msgid_plural``, or a plain ``msgstr`` with it; and, as gettext's
    ``msgfmt``, an entry given twice (same ``msgctxt`` and ``msgid``), where Babel kept the
    first translation without a word.
    """
    from babel.messages.pofile import PoFileParser

    class StrictParser(PoFileParser):
        header_line: int | None = None

        def _process_message_line(self, lineno: int, line: str, obsolete: bool = False) -> None:
            if obsolete and line.startswith("|"):
                return  # an obsolete entry's previous words (msgmerge's "#~|"): nowhere to keep
            if line:
                why = self._why_malformed(line)
                if why is not None:
                    self._invalid_pofile(line, lineno, why)
            super()._process_message_line(lineno, line, obsolete)

        def _why_malformed(self, line: str) -> str | None:
            keyword, text = "", line
            if not line.startswith('"'):
                keyword, _, text = line.partition(" ")
                if not _KEYWORDS.fullmatch(keyword):
                    return None  # Babel refuses unknown keywords itself
                if keyword.startswith("msgstr[") and not re.fullmatch(r"msgstr\[[0-9]+\]", keyword):
                    return f"{keyword[:20]}: the index in [] must be a number"
                if not text.strip():
                    return f"{keyword} without a string"
            if not _WELL_FORMED.fullmatch(text.strip()):
                return (
                    f"malformed string {text.strip()[:60]!r}: a PO string is in double quotes, "
                    'with \\" for a quote and \\\\ for a backslash'
                )
            plural = len(self.messages) > 1
            if keyword.startswith("msgstr") and not self.messages:
                return f"{keyword} without a msgid before it"
            if keyword == "msgstr" and (self.translations or plural):
                if self.translations:
                    return "a second msgstr for the entry above (a msgid has one msgstr)"
                return "msgstr after msgid_plural (it needs msgstr[0], msgstr[1], ...)"
            if keyword.startswith("msgstr[") and not plural:
                return f"{keyword} without a msgid_plural before it"
            if keyword == "msgid_plural" and (not self.messages or self.translations or plural):
                return "msgid_plural without a msgid just before it"
            pending_context = cast("object", self.context)  # Babel types it as always None
            if keyword == "msgctxt" and pending_context is not None and not self.messages:
                return "a second msgctxt for the same entry"
            return None

        def _add_message(self) -> None:
            if not self.obsolete:
                msgid = self.messages[0].denormalize()
                context = self.context.denormalize() if self.context else None
                if not msgid and context is None and len(self.messages) == 1:
                    first = self.header_line
                    self.header_line = self.offset + 1
                else:
                    found = self.catalog.get(msgid, context)
                    first = found.lineno if found is not None else None
                if first is not None:
                    what = "header" if not msgid else "entry"
                    self._invalid_pofile(
                        "",
                        self.offset,
                        f"this {what} is given twice (first at line {first}); gettext refuses "
                        "duplicates: keep one",
                    )
            super()._add_message()

    return StrictParser(catalog, abort_invalid=True)


_PO_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _take_previous_words(catalog: Catalog) -> None:
    """Babel reads a ``#| msgid`` (the words a fuzzy entry was translated from) as a translator
    comment ``| msgid ...``; written back, it would stay a comment for ever. Turn it back into
    the entry's previous words."""
    from babel.messages.pofile import unescape

    for message in (*catalog, *catalog.obsolete.values()):
        previous = [c for c in message.user_comments if c.startswith("|")]
        if not previous:
            continue
        message.user_comments = [c for c in message.user_comments if not c.startswith("|")]
        text = " ".join(c[1:].strip() for c in previous)
        _, found, rest = text.partition("msgid ")
        if found:
            rest = rest.split("msgid_plural ", 1)[0]
            words = "".join(unescape(f'"{part}"') for part in _PO_STRING.findall(rest))
            message.previous_id = [words]


#: The C subset gettext allows in a plural expression.
_PLURAL_EXPRESSION = re.compile(r"[n0-9\s()?:<>=!&|%+\-*/]+")


def _header_field(data: bytes, wanted: str) -> tuple[str, int] | None:
    """The value of the header field ``wanted`` and its line, from the first ``msgstr`` (the
    header's), whose quoted lines a field may continue over."""
    text, starts = "", [(0, 1)]
    in_msgstr = False
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("utf-8").strip()
        if line.startswith("msgstr") and not in_msgstr:
            in_msgstr, line = True, line[len("msgstr") :].strip()
        elif not (in_msgstr and line.startswith('"')):
            if in_msgstr:
                break
            continue
        if len(line) >= 2 and line.startswith('"') and line.endswith('"'):
            starts.append((len(text), number))
            text += line[1:-1]
    offset = 0
    for field_text in text.split("\\n"):
        if field_text.startswith(f"{wanted}:"):
            at = max(number for position, number in starts if position <= offset)
            return field_text[len(wanted) + 1 :], at
        offset += len(field_text) + 2
    return None


def _check_plural_forms(data: bytes, name: str) -> None:
    """:class:`PoReadError` at its line for a header ``Plural-Forms`` that tools cannot use.

    Babel fails on a bad ``nplurals`` with a bare Python message and keeps any ``plural``, which
    ``i18n update`` would write back; stories use ICU plurals, so the header only has to be sane.
    """
    found = _header_field(data, "Plural-Forms")
    if found is None:
        return
    value, line = found
    params = dict(
        part.partition("=")[::2] for part in (p.strip() for p in value.split(";")) if part
    )
    nplurals = params.get("nplurals", "").strip()
    plural = params.get("plural", "").strip()
    why = None
    if not nplurals.isascii() or not nplurals.isdigit() or not 1 <= int(nplurals) <= 6:
        why = "nplurals must be a whole number from 1 to 6"
    elif not plural or not _PLURAL_EXPRESSION.fullmatch(plural) or not _balanced(plural):
        why = "plural must be a C expression of n, such as (n > 1)"
    if why is not None:
        raise PoReadError(
            f"{name}:{line}: the Plural-Forms header is malformed ({why}); correct it, e.g. "
            '"nplurals=2; plural=(n > 1);" for French (Poedit: Translation > Properties), '
            "or delete the line"
        )


def _balanced(expression: str) -> bool:
    depth = 0
    for char in expression:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def refuse_duplicate_contexts(catalog: Catalog, name: str) -> None:
    """:class:`PoReadError` at the second entry with a ``msgctxt`` already used (with other
    words: the same words twice is refused when read). gettext allows it, but a story string
    has one context, so which translation to keep would be a guess (``i18n check`` reports
    these as ``duplicate-context``)."""
    first: dict[str, int] = {}
    for message in catalog:
        if not message.id or message.context is None:
            continue
        line = int(message.lineno or 0)
        if message.context in first:
            raise PoReadError(
                f'{name}:{line}: msgctxt "{message.context[:80]}" is given twice (first at line '
                f"{first[message.context]}), with different msgids; delete the entry that is "
                "not for the story's current words"
            )
        first[message.context] = line


def read_po_file(path: str | Path) -> PoFile:
    """A PO file's entries by context; :class:`PoReadError` when it cannot be read."""
    name = str(path)
    catalog = read_catalog(read_bytes(path), name)
    language = catalog.locale_identifier if catalog.locale is not None else None
    if language is None:
        header = dict(catalog.mime_headers).get("Language")
        language = header.strip() or None if isinstance(header, str) else None
    result = PoFile(name, language.replace("_", "-") if language else None)
    for message in catalog:
        if not message.id:  # the header
            continue
        plural = isinstance(message.id, list | tuple)
        source = message.id[0] if plural else message.id
        translation = message.string
        if isinstance(translation, list | tuple):
            translation = translation[0] if translation else ""
        entry = PoEntry(
            message.context,
            str(source),
            str(translation or ""),
            bool(message.fuzzy),
            int(message.lineno or 0),
            gettext_plural=plural,
        )
        if entry.context is None:
            result.strays.append(entry)
        elif entry.context in result.entries:
            result.duplicates.append(entry)
        else:
            result.entries[entry.context] = entry
    return result


def template(
    strings: Iterable[StoryString],
    *,
    story_file: str,
    lines: Mapping[str, int],
    source_language: str,
    title: str,
    version: str | None = None,
) -> Catalog:
    """The template (POT) of a story: one untranslated entry per string.

    ``lines`` gives each string's line in the story file (by JSON pointer), for the reference
    comment that translators' tools link to the source.
    """
    from babel.messages.catalog import Catalog

    catalog = Catalog(
        project=title,
        version=version or "1",
        charset="utf-8",
        fuzzy=False,
        creation_date=_FIXED_DATE,
        revision_date=_FIXED_DATE,
        header_comment=(
            f"# Translations of the story {title!r} (source language: {source_language}).\n"
            "# Made by `branching i18n extract`; see docs/translating.md in branching.\n"
            "#"
        ),
    )
    for string in strings:
        line = lines.get(string.path)
        comments = [_WHAT[string.field]]
        catalog.add(
            string.source,
            "",
            locations=[(story_file, line)] if line else [(story_file, None)],  # type: ignore[list-item]
            auto_comments=comments,
            context=string.context,
        )
    return catalog


#: Templates carry a fixed date: extracting the same story twice gives the same file, so
#: version control shows only real changes.
_FIXED_DATE = datetime(2000, 1, 1, tzinfo=UTC)


def merge(existing: Catalog, fresh: Catalog) -> tuple[Catalog, dict[str, int]]:
    """``existing`` translations carried over to a ``fresh`` template, matched by context.

    Same context and same source: kept as it is. Same context, changed source: the translation
    is kept, marked fuzzy, with the old source as the "previous" string (``#| msgid``) so the
    translator's tool shows what changed. New contexts: empty. Contexts no longer in the story:
    kept as obsolete entries (``#~``). Translator comments and the header stay.

    Matching is by context only, never by similar words: Babel's ``Catalog.update`` would guess
    fuzzy matches by comparing every pair of strings, which takes minutes on a large story and
    can pair a text with the wrong passage.
    """
    from babel.messages.catalog import Message

    counts = {"kept": 0, "changed": 0, "added": 0, "reused": 0, "obsolete": 0}
    old = {message.context: message for message in existing if message.id and message.context}
    # Translations by their exact source words, for strings that moved to a new context.
    by_source = {
        str(message.id): message.string
        for message in (*existing.obsolete.values(), *existing)
        if message.id and isinstance(message.string, str) and message.string and not message.fuzzy
    }
    merged = existing.__class__(
        locale=existing.locale,
        project=existing.project,
        version=existing.version,
        copyright_holder=existing.copyright_holder,
        msgid_bugs_address=existing.msgid_bugs_address,
        last_translator=existing.last_translator,
        language_team=existing.language_team,
        charset="utf-8",
        creation_date=existing.creation_date,
        revision_date=existing.revision_date,
        fuzzy=existing.fuzzy,
        header_comment=existing.header_comment,
    )
    merged.mime_headers = existing.mime_headers
    for message in fresh:
        if not message.id:
            continue
        before = old.pop(message.context or "", None)
        new = Message(
            message.id,
            "",
            locations=message.locations,
            auto_comments=message.auto_comments,
            context=message.context,
        )
        if before is None:
            counts["added"] += 1
            reused = by_source.get(str(message.id))
            if reused is not None:
                new.string = reused
                new.flags.add("fuzzy")
                counts["reused"] += 1
        else:
            new.string = before.string
            new.user_comments = list(before.user_comments)
            new.flags = set(before.flags)
            if before.id == message.id:
                new.previous_id = list(before.previous_id)
                counts["kept"] += 1
            else:
                if before.string:
                    new.flags.add("fuzzy")
                    new.previous_id = [str(before.id)]
                counts["changed"] += 1
        merged[message.id] = new  # keyed by (msgid, context)
    for context, message in old.items():
        if message.string:
            merged.obsolete[(message.id, context)] = message  # type: ignore[index]
            counts["obsolete"] += 1
    for key, message in existing.obsolete.items():
        if key not in merged.obsolete:
            merged.obsolete[key] = message
    return merged, counts


def new_catalog(fresh: Catalog, language: str) -> Catalog:
    """A new translation (``LANG.po``) from a template: every entry empty, the header set."""
    from babel import Locale

    locale = Locale.parse(language.replace("-", "_"))
    catalog = fresh.__class__(
        locale=locale,
        project=fresh.project,
        version=fresh.version,
        charset="utf-8",
        creation_date=fresh.creation_date,
        revision_date=fresh.revision_date,
        fuzzy=False,
        header_comment=(
            f"# {locale.english_name} translation of the story {fresh.project!r}.\n"
            "# Made by `branching i18n update`; see docs/translating.md in branching.\n"
            "#"
        ),
    )
    for message in fresh:
        if message.id:
            catalog.add(
                message.id,
                "",
                locations=message.locations,
                auto_comments=message.auto_comments,
                context=message.context,
            )
    return catalog


#: Flags Babel adds to any entry whose words happen to parse as a Python format string
#: (``{felt_the_crack: ...}``, ``50% off``). Story text is not Python's: translators' tools
#: (Weblate's format checks) would flag correct translations, so they are never written.
_FORMAT_FLAGS = frozenset({"python-format", "python-brace-format"})


def po_text(catalog: Catalog, *, template: bool = False) -> bytes:
    """The catalog as PO (or POT) bytes, as Poedit and Weblate write them (width 76); without
    wrapping when a string has a word too long to wrap quickly (see :func:`wrap_width`)."""
    from babel.messages.pofile import write_po

    for message in (*catalog, *catalog.obsolete.values()):
        message.flags -= _FORMAT_FLAGS
    width = wrap_width(catalog)
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=width,
        omit_header=False,
        sort_output=False,
        include_previous=False,  # Babel wraps them as prose, even inside a string: see below
        ignore_obsolete=False,
    )
    data = _with_previous_words(buffer.getvalue(), catalog, width)
    if template:
        # A template names no language; Babel writes the source language there otherwise.
        data = data.replace(b'"Language: \\n"\n', b"", 1)
    return data


#: Babel's wrapping (``pofile.normalize``) takes time quadratic in the length of a word, a run
#: without spaces: 0.4 s for 10,000 characters, 43 s for 100,000, over an hour for a 1 MB
#: one. Past this length the whole file is written unwrapped (gettext's ``--no-wrap``), which
#: every PO tool reads; words this long are not prose, so real translations keep wrapping.
LONGEST_WRAPPED_WORD = 200
_UNWRAPPABLE = re.compile(rf"\S{{{LONGEST_WRAPPED_WORD + 1}}}")


def wrap_width(catalog: Catalog) -> int:
    """76 (Poedit's and Weblate's width), or 0 (no wrapping) when any string Babel would wrap
    holds a word longer than :data:`LONGEST_WRAPPED_WORD` characters.

    >>> from babel.messages.catalog import Catalog
    >>> catalog = Catalog()
    >>> _ = catalog.add("A short text.", context="node/a/text")
    >>> wrap_width(catalog)
    76
    >>> _ = catalog.add("x" * 201, context="node/b/text")
    >>> wrap_width(catalog)
    0
    """
    for message in (*catalog, *catalog.obsolete.values()):
        texts = [
            *(message.id if isinstance(message.id, list | tuple) else [message.id]),
            *(message.string if isinstance(message.string, list | tuple) else [message.string]),
            message.context,
            *message.previous_id,
        ]
        if any(isinstance(text, str) and _UNWRAPPABLE.search(text) for text in texts):
            return 0
    return 76


def _with_previous_words(data: bytes, catalog: Catalog, width: int = 76) -> bytes:
    """``data`` with each entry's previous words as ``#| msgid`` lines, written as msgmerge does
    (a PO string over several lines), just before the entry's ``msgctxt``."""
    from babel.messages.pofile import escape, normalize

    inserts: dict[bytes, bytes] = {}
    for message in catalog:
        if message.id and message.context and message.previous_id:
            lines = normalize(str(message.previous_id[0]), width=width).split("\n")
            block = "".join(
                f"#| msgid {line}\n" if i == 0 else f"#| {line}\n" for i, line in enumerate(lines)
            )
            inserts[f"msgctxt {escape(message.context)}\n".encode()] = block.encode()
    if not inserts:
        return data
    out: list[bytes] = []
    for line in data.splitlines(keepends=True):
        previous = inserts.pop(line, None)
        if previous is not None:
            out.append(previous)
        out.append(line)
    return b"".join(out)


def not_a_regular_file(path: str | Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file (``"a directory"``, ``"a named
    pipe (FIFO)"``, ...), else None (a regular file, a link to one, or nothing yet).

    >>> not_a_regular_file("/dev/null"), not_a_regular_file("/no/such/file.po")
    ('a device', None)
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # nothing there (or unreachable): reading or writing it says why
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device"


def write_atomically(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new, never half.

    The file keeps its mode (``chmod 664`` for a shared checkout stays 664), and a new one gets
    the mode a plain ``open()`` gives it: the temporary file ``mkstemp`` makes is 0600, which
    would otherwise hide a translation from the team that shares it. A symbolic link keeps
    pointing at the new content.
    """
    target = Path(path).resolve()
    kind = not_a_regular_file(target)
    if kind is not None:  # renaming over /dev/null would make it a regular file
        raise OSError(errno.EINVAL, f"it is {kind}, not a regular file")
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = _default_mode()
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
