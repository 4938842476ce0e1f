"""Harlowe: macros ``(name: ...)``, hooks ``[...]``, changers and link macros."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from branching.twee.formats.common import FORMAT_VARIABLE, assignments, scan_common
from branching.twee.formats.events import (
    Assign,
    Back,
    Close,
    Code,
    Embed,
    Event,
    Goto,
    Interp,
    Lines,
    Link,
    LinkClose,
    LinkOpen,
    Open,
    PrintExpr,
    Prose,
    Vary,
)
from branching.twee.strings import find_closer, skip_string, split_top, string_args


def _top_arguments(args: str) -> list[str]:
    """The comma-separated arguments of a macro (an argument that is not a plain string makes
    the macro untranslatable)."""
    return [part for part in split_top(args) if part.strip()]


_HW_MACRO = re.compile(r"\(([A-Za-z][\w-]*):")
_HW_SPECIAL = re.compile(
    r"\[\[|<!--|\((?=[A-Za-z][\w-]*:)|(?<![\w$])[$_][A-Za-z_]|\|[A-Za-z_]\w*>\[|<|`|[{}\]]"
)
#: ``]<name|``: a hook's closing bracket naming it.
_HOOK_NAME_AFTER = re.compile(r"\]<[A-Za-z_]\w*\|")
#: ``+ (changer:``: another changer joined to the one before.
_CHAINED = re.compile(r"\s*\+\s*\(([A-Za-z][\w-]*):")
_HOOK_OPEN = re.compile(r"[ \t]*\[(?!\[)")
_POSSESSIVE = re.compile(r"'s(?![\w'])")
_HW_CONDITIONS = {
    "if": "if",
    "unless": "if",
    "elseif": "elseif",
    "else-if": "elseif",
    "else": "else",
}


#: Hooks nested deeper than this are read as text: real stories nest a few levels, and the
#: scanner recurses once per level.
MAX_HOOK_DEPTH = 50


@lru_cache(maxsize=16)
def _closing_parens(text: str) -> dict[int, int]:
    """Per text: for each ``(`` a scan passed outside strings, the position after its ``)``
    (-1: never closed). Remembered so that 40,000 unclosed ``(a:`` cost one scan, not 40,000."""
    return {}


def _harlowe_args_end(text: str, open_at: int, pos: int) -> int:
    """Position after the ``)`` matching the ``(`` at ``open_at`` (arguments from ``pos``).

    A ``(`` met on the way whose match is known is jumped over: from there the scan would
    repeat an earlier one exactly; one known to be unclosed means this one is unclosed too.
    """
    known = _closing_parens(text)
    if open_at in known:
        return known[open_at]
    stack = [open_at]
    i = pos
    size = len(text)
    while i < size:
        c = text[i]
        if (
            c == "'"
            and _POSSESSIVE.match(text, i)
            and i > 0
            and (text[i - 1] in ")$_" or text[i - 1].isalnum())
        ):
            i += 2  # (history:)'s last, $list's 1st: Harlowe's possessive, not a string
            continue
        if c in "\"'":
            i = skip_string(text, i)
            continue
        if c == "(":
            after = known.get(i)
            if after is None:
                stack.append(i)
            elif after < 0:
                break
            else:
                i = after
                continue
        elif c == ")":
            known[stack.pop()] = i + 1
            if not stack:
                return i + 1
        i += 1
    for unclosed in stack:
        known[unclosed] = -1
    return -1


def _put_into(args: str) -> tuple[str, str] | None:
    """``(put: VALUE into $var)`` as (VALUE, $var): ``into`` and a variable end the arguments.
    Split by hand: the regex ``(.+?)\\s+into\\s+...`` retried every run of spaces from every
    position (quadratic).

    >>> _put_into("1 + $a into $b"), _put_into("'a into b' into _c"), _put_into("x into")
    (('1 + $a', '$b'), ("'a into b'", '_c'), None)
    """
    parts = args.rsplit(None, 2)
    if len(parts) == 3 and parts[1] == "into" and FORMAT_VARIABLE.fullmatch(parts[2]):
        return parts[0], parts[2]
    return None


def scan_harlowe(text: str, at: Lines) -> list[Event]:
    """Events of Harlowe passage text."""
    events: list[Event] = []
    _harlowe_run(text, 0, at, events, in_hook=False)
    return events


def _harlowe_run(
    text: str, pos: int, at: Lines, events: list[Event], in_hook: bool, depth: int = 0
) -> int:
    """Scan from ``pos`` until the end (or the ``]`` closing the current hook); return the end."""
    prose_start = pos

    def flush(end: int) -> None:
        if end > prose_start:
            events.append(Prose(at(prose_start), text[prose_start:end]))

    while True:
        match = _HW_SPECIAL.search(text, pos)
        if not match:
            flush(len(text))
            return len(text)
        start = match.start()
        token = match.group()
        line = at(start)
        if token == "]":
            if in_hook:
                flush(start)
                named = _HOOK_NAME_AFTER.match(text, start)
                return named.end() if named else start + 1
            pos = start + 1
            continue
        if token in ("{", "}"):  # whitespace-collapsing markup: formatting only
            flush(start)
            prose_start = pos = start + 1
            continue
        if token == "`":
            end = find_closer(text, "`", start + 1)
            if end < 0:
                pos = start + 1
                continue
            flush(start)
            events.append(Prose(line, text[start + 1 : end], literal=True))
            prose_start = pos = end + 1
            continue
        if token.startswith("|") and depth < MAX_HOOK_DEPTH:  # named hook |name>[ ... ]
            flush(start)
            pos = _harlowe_run(text, match.end(), at, events, in_hook=True, depth=depth + 1)
            prose_start = pos
            continue
        if token[0] in "$_":
            name_match = FORMAT_VARIABLE.match(text, start)
            assert name_match is not None
            flush(start)
            events.append(Interp(line, name_match.group().lstrip("$")))
            prose_start = pos = name_match.end()
            continue
        if token.startswith("|"):  # too deep: the rest of the hook is text
            pos = start + 1
            continue
        if token == "(":
            handled = _harlowe_macro(text, start, at, events, flush, depth)
            if handled < 0:
                pos = start + 1
                continue
            prose_start = pos = handled
            continue
        result = scan_common(text, start, at, "harlowe")
        if result is None:
            pos = start + len(token)
            continue
        flush(start)
        new_events, pos = result
        events.extend(new_events)
        prose_start = pos


def _harlowe_macro(
    text: str,
    start: int,
    at: Lines,
    events: list[Event],
    flush: Callable[[int], None],
    depth: int,
) -> int:
    """Read the macro at ``start`` (and its hook) into ``events``; its end, or -1 if none."""
    match = _HW_MACRO.match(text, start)
    if not match:
        return -1
    end = _harlowe_args_end(text, start, match.end())
    if end < 0:
        return -1
    flush(start)
    line = at(start)
    name = match.group(1).lower().replace("_", "")
    args = text[match.end() : end - 1].strip()
    raw = text[start:end]
    # Changers joined with "+" act on the hook that follows them all.
    while (more := _CHAINED.match(text, end)) is not None:
        more_end = _harlowe_args_end(text, more.start(1) - 1, more.end())
        if more_end < 0:
            break
        raw = text[start:more_end]
        end = more_end
    hook = _HOOK_OPEN.match(text, end) if depth < MAX_HOOK_DEPTH else None
    strings = string_args(args)

    def run_hook() -> int:
        assert hook is not None
        return _harlowe_run(text, hook.end(), at, events, in_hook=True, depth=depth + 1)

    def enclose(opening: Event, closing: type[Close | LinkClose]) -> int:
        """``opening``, the hook's events, then ``closing`` where the hook ends."""
        events.append(opening)
        stop = run_hook()
        events.append(closing(at(stop - 1), ""))
        return stop

    if name in _HW_CONDITIONS and hook:
        kind = _HW_CONDITIONS[name]
        if kind != "if":
            events.append(Close(line, ""))  # marks the chain: else follows the previous hook
        opening = Open(line, kind, args or None, raw, negate=name == "unless")  # type: ignore[arg-type]
        return enclose(opening, Close)
    if name in ("set", "put", "move"):
        if name == "set":
            events.extend(assignments(args, line, raw))
        else:
            put = _put_into(args)
            if put:
                events.append(Assign(line, put[1], "to", put[0], raw))
            else:
                events.append(Code(line, raw, f"Harlowe ({name}:)", names_passages=False))
        return end
    if name in ("link-undo", "linkundo"):
        events.append(Back(line, strings[0] if strings else "Back", raw))
        return run_hook() if hook else end
    if name == "undo":
        events.append(Back(line, "Back", raw))
        return end
    if "(history:)" in args.replace(" ", "") and name in (
        "link-goto",
        "linkgoto",
        "link-reveal-goto",
        "linkrevealgoto",
        "goto",
        "go-to",
    ):
        # A link to (history:)'s last goes to the previous passage without undoing anything.
        label = strings[0] if strings and name not in ("goto", "go-to") else "Back"
        events.append(Back(line, label, raw, undo=False))
        return run_hook() if hook else end
    if name in ("link-goto", "linkgoto") and strings:
        label = strings[0]
        target = strings[1] if len(strings) > 1 else strings[0]
        events.append(Link(line, label, target))
        return run_hook() if hook else end
    if name in ("goto", "go-to") and strings:
        events.append(Goto(line, strings[0], raw))
        return end
    if name in ("display",) and strings:
        events.append(Embed(line, strings[0], raw))
        return end
    if name == "either" and strings and len(strings) == len(_top_arguments(args)) and not hook:
        # (either: "a", "b") shows one at random each time: a shuffle is the closest, and
        # fairer (each once per round).
        events.append(Vary(line, strings, raw))
        return end
    if name == "print" and FORMAT_VARIABLE.fullmatch(args):
        events.append(Interp(line, args.lstrip("$")))
        return end
    if name == "print" and args.strip() and not hook:
        events.append(PrintExpr(line, args, raw))
        return end
    if name in ("link-reveal-goto", "linkrevealgoto") and strings and hook:
        target = strings[1] if len(strings) > 1 else strings[0]
        return enclose(LinkOpen(line, strings[0], target, raw), LinkClose)
    if (
        name in ("link", "link-reveal", "linkreveal", "link-replace", "linkreplace", "link-repeat")
        and strings
        and hook
    ):
        return enclose(LinkOpen(line, strings[0], None, raw), LinkClose)
    events.append(Code(line, raw, f"Harlowe macro ({match.group(1)}:)"))
    if hook:
        return run_hook()
    return end
