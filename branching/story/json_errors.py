"""JSON syntax errors said where the writer made them.

Python's decoder reports where it noticed the mistake, which is often the line after it: a
missing comma at the end of line 27 is "Expecting ',' delimiter" at the first key of line 28.
:func:`syntax_problem` turns the decoder's error into the mistake a writer fixes, at the place
they have to fix it.
"""

from __future__ import annotations

import json

from branching.story.problems import Problem

_SPACE = " \t\r\n"


def syntax_problem(text: str, exc: json.JSONDecodeError) -> Problem:
    r"""A located ``json-syntax`` problem for ``exc``, raised while decoding ``text``.

    >>> def said(text):
    ...     try:
    ...         json.loads(text)
    ...     except json.JSONDecodeError as exc:
    ...         p = syntax_problem(text, exc)
    ...         return p.line, p.column, p.message
    >>> said('{\n  "a": 1\n  "b": 2\n}')
    (2, 9, 'not valid JSON: missing comma at the end of line 2 (before line 3)')
    >>> said('{"a": 1 "b": 2}')
    (1, 8, 'not valid JSON: missing comma before column 9')
    >>> said('{\n  "a": 1,\n}')
    (2, 9, 'not valid JSON: a comma before } (JSON allows none after the last member)')
    >>> said('[1, 2, ]')
    (1, 6, 'not valid JSON: a comma before ] (JSON allows none after the last item)')
    >>> said("{'a': 1}")
    (1, 2, 'not valid JSON: keys and strings need double quotes ("), not single quotes')
    >>> said('{"a" 1}')
    (1, 5, 'not valid JSON: missing colon after the key')
    >>> said('{\n  "a": {"b": 1}\n')
    (2, 16, 'not valid JSON: the file ends before the JSON does (a closing } or ] is missing)')
    """
    position = exc.pos
    message = f"not valid JSON: {exc.msg}"
    at = position
    before = _previous(text, position)
    here = text[position] if position < len(text) else ""
    if not text[position:].strip(_SPACE) and before >= 0 and exc.msg.startswith("Expecting ','"):
        # The decoder wanted more at the very end: not a comma, the closing brackets.
        at = before + 1
        message = "not valid JSON: the file ends before the JSON does (a closing } or ] is missing)"
    elif exc.msg.startswith("Expecting ',' delimiter") and before >= 0:
        at = before + 1
        if "\n" in text[before:position]:
            line, _ = _line_column(text, before)
            message = (
                f"not valid JSON: missing comma at the end of line {line} (before line "
                f"{_line_column(text, position)[0]})"
            )
        else:
            message = (
                f"not valid JSON: missing comma before column {_line_column(text, position)[1]}"
            )
    elif here in "}]" and here and before >= 0 and text[before] == ",":
        at = before
        what = "member" if here == "}" else "item"
        message = f"not valid JSON: a comma before {here} (JSON allows none after the last {what})"
    elif here == "'":
        message = 'not valid JSON: keys and strings need double quotes ("), not single quotes'
    elif exc.msg.startswith("Expecting ':' delimiter") and before >= 0:
        at = before + 1
        message = "not valid JSON: missing colon after the key"
    line, column = _line_column(text, at)
    return Problem("error", "json-syntax", message, line=line, column=column)


def _previous(text: str, position: int) -> int:
    """Offset of the last character before ``position`` that is not white space, or -1."""
    index = position - 1
    while index >= 0 and text[index] in _SPACE:
        index -= 1
    return index


def _line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
