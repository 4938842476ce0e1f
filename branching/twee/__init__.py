"""Twee 3 import and export: move stories between Twine and ``branching``.

Twee is Twine's text notation (the Interactive Fiction Technology Foundation's *Twee 3
specification*). :func:`parse_twee` reads it to the letter of the specification; :func:`import_twee`
turns passages into nodes, Twine links into choices and link-less passages into endings, and
translates what it safely can of the story formats (Harlowe, SugarCube, Chapbook, Snowman):
variables, simple conditions and effects, link macros, embedded passages. Everything it cannot
translate is dropped (or kept as text) and reported as a located warning, never silently.

:func:`export_twee` writes a story as Twee 3 that Twine 2.6+ imports. What Twine has no notation
for (conditions, effects, timers, endings, ids) goes into HTML comments beside the passage and its
links, ``<!-- branching: if has_key; set door: true -->``, which Twine keeps as passage text and
:func:`import_twee` reads back, so an export followed by an import gives the same story.

Nothing here imports Textual or networkx, and nothing evaluates story code.

Modules, roughly in the order an import uses them:

- :mod:`~branching.twee.notation`: Twee files, passage headers and text, escapes.
- :mod:`~branching.twee.links`: the forms of Twine links.
- :mod:`~branching.twee.clauses`: branching's ``<!-- branching: ... -->`` comments.
- :mod:`~branching.twee.strings`: quoted strings and brackets in code and comments.
- :mod:`~branching.twee.ids`: node ids for passage names, and passage names for nodes.
- :mod:`~branching.twee.formats`: per story format, passage text scanned into events;
  :mod:`~branching.twee.formats.translate` turns their expressions into branching's.
- :mod:`~branching.twee.builder`: one passage's events into a draft node.
- :mod:`~branching.twee.assembler`: drafts into nodes, variables and their types.
- :mod:`~branching.twee.importer` and :mod:`~branching.twee.exporter`: the two entry points.
"""

from __future__ import annotations

from branching.story.problems import Severity
from branching.twee.clauses import SETTINGS_NAME, SETTINGS_TAG, parse_clauses
from branching.twee.exporter import (
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    IFID_NAMESPACE,
    ExportNote,
    ExportResult,
    export_story,
    export_twee,
    ifid_for,
)
from branching.twee.format_text import FORMAT_DATA, TWINE_FORMATS, TwineFormat
from branching.twee.formats import FORMATS, Dialect, guess_format, normalise_format, scan
from branching.twee.formats.translate import Untranslatable, translate_expression, variable_name
from branching.twee.ids import assign_ids, slugify
from branching.twee.importer import ImportResult, import_files, import_twee
from branching.twee.links import TwineLink, parse_link
from branching.twee.notation import (
    TWEE_SUFFIXES,
    Passage,
    decode,
    escape_header,
    escape_text,
    parse_header,
    parse_twee,
    read_sources,
)
from branching.twee.problems import TweeProblem, TweeReadError

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "FORMATS",
    "FORMAT_DATA",
    "IFID_NAMESPACE",
    "SETTINGS_NAME",
    "SETTINGS_TAG",
    "TWEE_SUFFIXES",
    "TWINE_FORMATS",
    "Dialect",
    "ExportNote",
    "ExportResult",
    "ImportResult",
    "Passage",
    "Severity",
    "TweeProblem",
    "TweeReadError",
    "TwineFormat",
    "TwineLink",
    "Untranslatable",
    "assign_ids",
    "decode",
    "escape_header",
    "escape_text",
    "export_story",
    "export_twee",
    "guess_format",
    "ifid_for",
    "import_files",
    "import_twee",
    "normalise_format",
    "parse_clauses",
    "parse_header",
    "parse_link",
    "parse_twee",
    "read_sources",
    "scan",
    "slugify",
    "translate_expression",
    "variable_name",
]
