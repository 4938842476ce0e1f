"""Reading JSON we did not write: story files, saves, JSON inside Twee, the endings-found file.

Python's :mod:`json` accepts more than JSON and more than the rest of the program can use:
``NaN``, ``Infinity`` and ``-Infinity`` (not JSON at all), numbers too large for a double
(``1e400`` becomes ``inf``; an integer of 5,000 digits raises an uncaught ``ValueError``),
strings holding a lone surrogate (``"\\ud800"`` loads, then every UTF-8 encoder fails on it),
and nesting deep enough to raise ``RecursionError``. Every file is also read whole, so
``/dev/zero`` would never end. Everything we read as JSON comes through here:

* :func:`read_limited` reads at most :data:`MAX_INPUT_BYTES` (128 MiB) of a file;
* :func:`loads` and :func:`raw_decode` parse, and refuse each of the above with a
  :class:`JsonInputError` that says what and, where it can, the line and column.

The happy path costs one C-level parse plus a Python call per number: the hooks run only on
numbers, and the walk looking for lone surrogates runs only when the text holds a ``\\uD8..``
to ``\\uDF..`` escape.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from branching.story.problems import pointer
from branching.story.untrusted import LONE_SURROGATE

#: The largest file read as JSON or Twee (128 MiB): ten times The Intercept's 12 MB (24,700
#: nodes). Bigger input is refused before it is parsed, so ``/dev/zero`` ends at once.
MAX_INPUT_BYTES = 128 * 1024 * 1024
#: An integer literal with more digits cannot fit a double (the largest is about 1.8e308).
_MAX_DIGITS = 309

#: The kinds of refusal, as story problem codes (docs/validation.md).
SYNTAX = "json-syntax"
NUMBER = "json-number"
SURROGATE = "lone-surrogate"

PairsHook = Callable[[list[tuple[str, Any]]], Any]


class JsonInputError(ValueError):
    """JSON that cannot be used. ``str()`` is the reason; ``code`` one of the kinds above;
    ``line``/``column`` (1-based) where known, and ``path`` (a JSON pointer) for a value."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        path: str = "",
        decode_error: json.JSONDecodeError | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.line = line
        self.column = column
        self.path = path
        #: The decoder's own error, for a syntax error (the loader explains it to the writer).
        self.decode_error = decode_error

    def where(self) -> str:
        """`` at line L, column C`` when known, else ``""``."""
        if self.line is None:
            return ""
        return f" at line {self.line}, column {self.column or 1}"


class InputTooLarge(ValueError):
    """A file larger than the limit; ``str()`` says so (with the limit)."""


def read_limited(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of ``path``, refusing more than ``limit`` (default :data:`MAX_INPUT_BYTES`)
    before reading them all.

    Raises :class:`OSError` as ``open`` does, and :class:`InputTooLarge` past the limit (at
    once for a regular file; after ``limit`` bytes for a device or a pipe). A pipe that no
    program writes to is an :class:`OSError` after :data:`PIPE_WAIT` seconds, never a hang.

    >>> read_limited("/dev/zero", limit=10)
    Traceback (most recent call last):
    ...
    branching.story.json_input.InputTooLarge: more than 10 bytes (the most branching reads)
    """
    limit = MAX_INPUT_BYTES if limit is None else limit
    file, first = _open_without_waiting(path)
    with file:
        info = os.fstat(file.fileno())
        expected = info.st_size if stat.S_ISREG(info.st_mode) else 0
        if expected > limit:
            raise InputTooLarge(_too_large(limit, expected))
        parts: list[bytes] = [first] if first else []
        total = len(first)
        while True:
            # One read for a regular file (its size + 1, to see EOF); 1 MiB steps otherwise.
            want = min(limit + 1 - total, max(expected - total + 1, 1 << 20))
            chunk = file.read(want)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InputTooLarge(_too_large(limit))
    return parts[0] if len(parts) == 1 else b"".join(parts)


#: How long a named pipe with no program writing to it is waited on (a writer started just
#: before, ``cat story.json > fifo &``, may not have opened its end yet).
PIPE_WAIT = 1.0


def _open_without_waiting(path: str | os.PathLike[str]) -> tuple[BinaryIO, bytes]:
    """``path`` opened for reading, in blocking mode, without blocking in ``open``; and the
    bytes already read from a pipe to see whether a program writes to it.

    A plain ``open`` of a FIFO waits for a writer, for ever when none comes. Opened with
    ``O_NONBLOCK`` it returns at once; the flag is then cleared so that reads wait for a slow
    writer (process substitution, ``<(generate-story)``). A FIFO that no program holds open for
    writing reads as end-of-file at once, so it gets :data:`PIPE_WAIT` seconds for a writer
    to come, then a clear :class:`OSError`.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    if not nonblock:  # not POSIX: no FIFOs to wait on
        return open(path, "rb"), b""  # the caller closes it
    import fcntl
    import select

    fd = os.open(path, os.O_RDONLY | nonblock | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        first = b""
        if stat.S_ISFIFO(mode):
            try:
                # Data, or EAGAIN (nothing written yet): a writer holds the other end.
                first = os.read(fd, 1)
                waiting = not first
            except BlockingIOError:
                waiting = False
            if waiting:
                # End-of-file: no writer at present. Poll reports a writer that comes and writes
                # (POLLIN) or comes and goes (POLLHUP); Linux never reports the absence of one.
                poller = select.poll()
                poller.register(fd, select.POLLIN)
                if not poller.poll(round(PIPE_WAIT * 1000)):
                    raise OSError(
                        errno.ENODATA,
                        "it is a named pipe (FIFO) and no program is writing to it "
                        f"(waited {PIPE_WAIT:g} s)",
                    )
        if not stat.S_ISREG(mode):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~nonblock)
        return os.fdopen(fd, "rb"), first
    except BaseException:
        os.close(fd)
        raise


def _too_large(limit: int, size: int | None = None) -> str:
    shown = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
    found = f"{size:,} bytes, " if size is not None else ""
    return f"{found}more than {shown} (the most branching reads)"


# --- Parsing ---------------------------------------------------------------------------------


class _Refused(Exception):
    """Raised by a parse hook; carries the literal so the caller can find it in the text."""

    def __init__(self, code: str, literal: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.literal = literal


def _parse_constant(name: str) -> Any:
    raise _Refused(SYNTAX, name, f"not valid JSON: {name} is not a JSON number")


def _parse_int(literal: str) -> int:
    digits = len(literal) - (literal[0] == "-")
    if digits > _MAX_DIGITS:
        raise _Refused(NUMBER, literal, _too_big(literal, f" ({digits:,} digits)"))
    value = int(literal)
    if abs(value) > sys.float_info.max:
        raise _Refused(NUMBER, literal, _too_big(literal))
    return value


def _parse_float(literal: str) -> float:
    value = float(literal)
    if value in (float("inf"), float("-inf")):
        raise _Refused(NUMBER, literal, _too_big(literal))
    return value


def _too_big(literal: str, digits: str = "") -> str:
    shown = literal if len(literal) <= 24 else f"{literal[:10]}...{literal[-6:]}"
    return f"the number {shown}{digits} is too large: JSON numbers must fit a 64-bit float"


def _decoder(object_pairs_hook: PairsHook | None) -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_int=_parse_int,
        parse_float=_parse_float,
        parse_constant=_parse_constant,
        object_pairs_hook=object_pairs_hook,
    )


_STRICT = _decoder(None)

#: A \\uD800-\\uDFFF escape: only with one (or a raw surrogate) can a string hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _may_hold_surrogate(text: str, start: int = 0, end: int | None = None) -> bool:
    """A cheap test before the walk: two C-speed scans instead of a character class over
    the text (which takes five times as long as a literal-prefixed pattern)."""
    part = text[start:end] if start or end is not None else text
    if _SURROGATE_ESCAPE.search(part):
        return True
    if part.isascii():
        return False
    try:
        part.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_NESTING = "nested too deeply to read (more than about 900 levels of [ and {)"


def loads(
    text: str, *, object_pairs_hook: PairsHook | None = None, allow_surrogates: bool = False
) -> Any:
    """Parse ``text`` as strict JSON; :class:`JsonInputError` for anything we cannot use.

    ``allow_surrogates=True`` leaves lone surrogates for the caller to report (the story
    loader reports each one with its place, as it does control characters).

    >>> loads('{"seconds": 1e400}')
    Traceback (most recent call last):
    ...
    branching.story.json_input.JsonInputError: the number 1e400 is too large: JSON numbers must ...
    >>> error = _error(lambda: loads('[1,\\n NaN]'))
    >>> error.code, str(error), error.line, error.column
    ('json-syntax', 'not valid JSON: NaN is not a JSON number', 2, 2)
    >>> _error(lambda: loads('{"a": ["\\\\ud800"]}')).path
    '/a/0'
    """
    decoder = _STRICT if object_pairs_hook is None else _decoder(object_pairs_hook)
    try:
        value = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            SYNTAX,
            f"not valid JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            decode_error=exc,
        ) from None
    except RecursionError:
        raise JsonInputError(SYNTAX, _NESTING) from None
    except _Refused as exc:
        raise _located(text, 0, exc) from None
    if not allow_surrogates and _may_hold_surrogate(text):
        _refuse_surrogates(text, 0, value)
    return value


def raw_decode(text: str, index: int = 0) -> tuple[Any, int]:
    """Parse one JSON value starting at ``text[index]``; returns it and where it ends.

    Refuses what :func:`loads` refuses (lone surrogates included).

    >>> raw_decode('name {"position": "10,20"} tail', 5)
    ({'position': '10,20'}, 26)
    """
    try:
        value, end = _STRICT.raw_decode(text, index)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            SYNTAX,
            f"not valid JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            decode_error=exc,
        ) from None
    except RecursionError:
        raise JsonInputError(SYNTAX, _NESTING) from None
    except _Refused as exc:
        raise _located(text, index, exc) from None
    if _may_hold_surrogate(text, index, end):
        _refuse_surrogates(text, index, value)
    return value, end


def _error(call: Callable[[], Any]) -> JsonInputError:
    """The error ``call`` raises (for the examples above)."""
    try:
        call()
    except JsonInputError as exc:
        return exc
    raise AssertionError("no error")


#: A JSON string, or a literal outside strings (numbers, true/false/null, NaN, Infinity).
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([-+.\w]+)', re.DOTALL)


def _located(text: str, start: int, refused: _Refused) -> JsonInputError:
    """The error for a refused literal, at the first place it stands outside a string.

    Only on the way to an error, so a linear scan of the text is fine.
    """
    for match in _TOKEN.finditer(text, start):
        if match.group(1) == refused.literal:
            line, column = line_column(text, match.start())
            return JsonInputError(refused.code, str(refused), line=line, column=column)
    return JsonInputError(refused.code, str(refused))


def _refuse_surrogates(text: str, start: int, value: Any) -> None:
    path = first_surrogate(value)
    if path is None:
        return
    where = pointer(*path)
    offsets = value_offsets(text, {path[:size] for size in range(len(path) + 1)}, start)
    found = next(
        (offsets[path[:size]] for size in range(len(path), -1, -1) if path[:size] in offsets), None
    )
    line, column = line_column(text, found) if found is not None else (None, None)
    raise JsonInputError(
        SURROGATE,
        "a string holds a lone surrogate escape (such as \\ud800), which is not a character",
        line=line,
        column=column,
        path=where,
    )


def first_surrogate(value: Any) -> tuple[str, ...] | None:
    """The path (keys and indexes as strings) of the first string or key holding a lone
    surrogate, or ``None``. Iterative, so any nesting the parser accepted is fine.

    >>> first_surrogate({"a": [1, "ok", "x\\ud800"]})
    ('a', '2')
    """
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, parts = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return parts
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if LONE_SURROGATE.search(key):
                    return (*parts, key)
                stack.append((child, (*parts, key)))
        elif isinstance(item, list):
            stack.extend((child, (*parts, str(i))) for i, child in reversed(list(enumerate(item))))
    return None


# --- Places in the text ----------------------------------------------------------------------


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``text[offset]``.

    >>> line_column("ab\\ncd", 4)
    (2, 2)
    """
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_constant(name: str) -> None:
    return None


#: Skips values while locating: accepts anything the strict parser refused, so it can reach
#: the place of a problem the strict parser found.
_SKIPPER = json.JSONDecoder(
    parse_int=lambda literal: 0, parse_float=lambda literal: 0.0, parse_constant=_skip_constant
)


def value_offsets(
    text: str, wanted: set[tuple[str, ...]], start: int = 0
) -> dict[tuple[str, ...], int]:
    """Offsets of the JSON values (object members: their keys) at the ``wanted`` paths of
    the value starting at ``text[start]`` (after blanks); array indexes are given as strings.

    Descends only into wanted containers and skips every other value with the C decoder, so
    locating a few problems in a 50 MB file costs little more than parsing it once. For a key
    given twice the later offset wins, which is where a duplicate is reported. Text that is
    not the JSON it should be gives what was found before the mismatch.

    >>> value_offsets('{"a": [1, {"b": 2}]}', {(), ("a",), ("a", "1"), ("a", "1", "b")})
    {(): 0, ('a',): 1, ('a', '1'): 10, ('a', '1', 'b'): 11}
    """
    offsets: dict[tuple[str, ...], int] = {}
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]

    def space(index: int) -> int:
        match = _SPACE.match(text, index)
        assert match is not None
        return match.end()

    def walk(index: int, path: tuple[str, ...]) -> int:
        """Offsets within the value starting at ``index``; returns where the value ends."""
        char = text[index]
        if char == "{" and path in wanted:
            index = space(index + 1)
            if text[index] == "}":
                return index + 1
            while True:
                key, after = scanstring(text, index + 1)
                here = (*path, key)
                if here in wanted:
                    offsets[here] = index
                after = space(space(after) + 1)  # past the colon
                index = space(walk(after, here))
                if text[index] == ",":
                    index = space(index + 1)
                    continue
                return index + 1
        if char == "[" and path in wanted:
            index = space(index + 1)
            if text[index] == "]":
                return index + 1
            position = 0
            while True:
                here = (*path, str(position))
                if here in wanted:
                    offsets.setdefault(here, index)
                index = space(walk(index, here))
                position += 1
                if text[index] == ",":
                    index = space(index + 1)
                    continue
                return index + 1
        _, end = _SKIPPER.raw_decode(text, index)
        return int(end)

    first = space(start)
    offsets[()] = first
    # Text that is not the JSON we parsed: keep what was found before the mismatch.
    with contextlib.suppress(RecursionError, ValueError, IndexError):
        walk(first, ())
    return offsets
