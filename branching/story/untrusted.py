"""Untrusted text: the one rule for showing strings that came from outside.

Story files, saves, choice logs (perhaps merged from another machine), Twee sources and PO
files are data. Whatever shows them (a terminal, the full-screen player, CSV, JSON, HTML, an
error message) passes them through :func:`printable` first, so an escape sequence in a story
or a log row can never retitle, recolour or drive the viewer's terminal, and a lone surrogate
can never make an encoder fail.

The story model refuses control characters at load (:data:`CONTROL`, with a located error);
:func:`printable` is the defence for everything that is not a loaded story.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: C0 and C1 control characters except newline and tab: they could drive the viewer's terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Bidirectional embedding, override and isolate controls: invisible, they make text display in
#: another order than it is stored ("Trojan Source"), so validation warns about them.
BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: A surrogate code point: in a decoded string it is always a lone one (a pair of ``\\uD83D``
#: ``\\uDE00`` escapes decodes to one character), which no UTF-8 encoder can write.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: What :func:`printable` escapes: control characters and lone surrogates (``"\\ud800"`` is a
#: valid JSON string escape, but no encoder can write it); on one line, newline and tab too.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_UNPRINTABLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
#: What ``json.dumps(..., ensure_ascii=False)`` leaves raw: DEL, C1 and lone surrogates.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, *, one_line: bool = False) -> str:
    """``value`` as text fit for any output: control characters (ESC, BEL, ...) and lone
    surrogates are shown as ``\\xNN`` / ``\\uNNNN``, never sent raw. Newlines and tabs stay,
    unless the text must stay on ``one_line`` (a message quoting a file, a table cell).

    >>> printable("ok\\x1b]2;pwned\\x07")
    'ok\\\\x1b]2;pwned\\\\x07'
    >>> printable("caf\\u00e9\\tline\\n"), printable("\\ud800"), printable(42)
    ('café\\tline\\n', '\\\\ud800', '42')
    >>> printable("two\\nlines", one_line=True)
    'two\\\\x0alines'
    """
    text = value if isinstance(value, str) else str(value)
    return (_UNPRINTABLE_LINE if one_line else _UNPRINTABLE).sub(_escape, text)


#: Words (runs without spaces) longer than this are shortened in messages.
LONGEST_WORD = 120
_LONG_WORD = re.compile(rf"\S{{{LONGEST_WORD + 1},}}")


def shortened(message: str) -> str:
    """``message`` with any word over :data:`LONGEST_WORD` characters cut to its ends and its
    length: an option value of thousands of digits is not echoed whole.

    >>> shortened("'" + "9" * 5000 + "' is not in the range 1<=x<=36500.")
    "'999999999999999999999999999999999999999…(5,002 characters)…99999' is not in the range 1<=x<=36500."
    >>> shortened("short words stay")
    'short words stay'
    """  # noqa: E501
    return _LONG_WORD.sub(lambda m: f"{m[0][:40]}…({len(m[0]):,} characters)…{m[0][-6:]}", message)


def json_text(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON that is safe to print and to encode: readable non-ASCII text, but
    control characters and lone surrogates as ``\\uNNNN`` escapes (still the same JSON value),
    and never the ``NaN``/``Infinity`` that are not JSON (a :class:`ValueError`).

    >>> json_text({"id": "caf\\u00e9\\x1b\\x9b\\ud800"})
    '{"id": "café\\\\u001b\\\\u009b\\\\ud800"}'
    >>> json.loads(json_text(["\\x9b"])) == ["\\x9b"]
    True
    """
    text = json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_surrogate(text: str) -> bool:
    """True if ``text`` holds a lone surrogate (it cannot be encoded as UTF-8).

    >>> has_surrogate("a\\ud83d"), has_surrogate("a😀")
    (True, False)
    """
    return any("\ud800" <= c <= "\udfff" for c in text)
