"""SugarCube: macros ``<<...>>``, naked variables, link and include macros."""

from __future__ import annotations

import re
from functools import lru_cache

from branching.twee.formats.common import (
    FORMAT_VARIABLE,
    Scanned,
    assignments,
    scan_common,
    scan_prose,
)
from branching.twee.formats.events import (
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
)
from branching.twee.links import link_from_arg
from branching.twee.strings import find_closer, skip_string, string_args

_SC_MACRO = re.compile(r"<<(/?)(=|-|[A-Za-z][\w-]*)")
_SC_SPECIAL = re.compile(r"\[\[|\[img\[|<<|<!--|/\*|/%|\"\"\"|<nowiki>|<|(?<![\w$])[$_][A-Za-z_]")
_SC_CODE_BODY = {"script", "widget"}
_IMAGE = "SugarCube image link"
_PROPERTY_START = re.compile(r"[.\[][\w\"']")
# "[^\][]", not "[^\]]": from each of many "$a[" the search for "]" ran to the end (quadratic).
_PROPERTY = re.compile(r"(?:\.\w+|\[[^\][]*\])+")
_SC_NAVIGATION_FREE = {
    "set",
    "unset",
    "print",
    "=",
    "-",
    "textbox",
    "textarea",
    "numberbox",
    "checkbox",
    "radiobutton",
    "cycle",
    "listbox",
    "audio",
    "cacheaudio",
    "playlist",
    "masteraudio",
    "createaudiogroup",
    "createplaylist",
    "waitforaudio",
    "track",
    "type",
    "nobr",
    "silently",
    "timed",
    "repeat",
    "stop",
    "if",
    "elseif",
    "else",
    "for",
    "break",
    "continue",
    "switch",
    "case",
    "default",
    "capture",
    "addclass",
    "removeclass",
    "toggleclass",
    "copy",
    "remove",
    "replace",
    "append",
    "prepend",
    "done",
}


@lru_cache(maxsize=8)
def _block_closer(name: str) -> re.Pattern[str]:
    """``<</script>>`` or ``<<endscript>>``: one compiled pattern per name, so that the
    remembered searches (:func:`find_closer`) recognise it."""
    return re.compile(rf"<</{re.escape(name)}>>|<<end{re.escape(name)}>>", re.IGNORECASE)


def scan_sugarcube(text: str, at: Lines) -> list[Event]:
    """Events of SugarCube passage text."""

    def construct(match: re.Match[str]) -> Scanned:
        start = match.start()
        line = at(start)
        token = match.group()
        if token in ("[[", "<!--", "<"):
            return scan_common(text, start, at, "sugarcube")
        if token == "<<":
            return _sugarcube_macro(text, start, at)
        if token == "[img[":
            end = find_closer(text, "]]", start)
            return None if end < 0 else ([Code(line, text[start : end + 2], _IMAGE)], end + 2)
        if token in ("/*", "/%"):
            end = find_closer(text, "*/" if token == "/*" else "%/", start + 2)
            if end < 0:
                return None
            return [Code(line, text[start : end + 2], "comment", silent=True)], end + 2
        if token in ('"""', "<nowiki>"):
            closer = '"""' if token == '"""' else "</nowiki>"
            end = find_closer(text, closer, start + len(token))
            if end < 0:
                return None
            return [Prose(line, text[start + len(token) : end], literal=True)], end + len(closer)
        return _naked_variable(text, start, line)

    return scan_prose(text, _SC_SPECIAL, at, construct)


def _naked_variable(text: str, start: int, line: int) -> Scanned:
    """``$gold`` in prose is printed; ``$hero.name`` or ``$bag[0]`` has no equivalent."""
    name = FORMAT_VARIABLE.match(text, start)
    assert name is not None
    end = name.end()
    if _PROPERTY_START.match(text, end):
        prop = _PROPERTY.match(text, end)
        stop = prop.end() if prop else end
        return [Code(line, text[start:stop], "SugarCube variable with a property")], stop
    return [Interp(line, name.group().lstrip("$"))], end


@lru_cache(maxsize=16)
def _macro_ends(text: str) -> dict[int, int]:
    """Per text: for each position a scan stepped on outside strings and links, where that scan
    ended (-1: no ``>>``). A later scan reaching such a position would repeat it exactly."""
    return {}


#: Where a scan of macro arguments must look: quotes, links and the closing ``>>``.
_MACRO_STOP = re.compile(r"[\"'`]|\[\[|>>")


def _macro_end(text: str, pos: int) -> int:
    """Position after the ``>>`` closing the macro whose arguments start at ``pos``; -1 if none.

    Linear over all the macros of a text: each scan records the stretches it read outside
    strings, and a scan that reaches one of them takes its result; the search for the next
    stop is remembered too. So 40,000 unclosed ``<<a`` cost one scan, not 40,000.
    """
    known = _macro_ends(text)
    stretches: list[int] = []  # starts of the stretches read outside strings and links
    i = pos
    result = -1
    while True:
        if i in known:
            result = known[i]
            break
        stretches.append(i)
        at = find_closer(text, _MACRO_STOP, i)  # remembered: a later scan from inside is O(1)
        if at < 0:
            break
        token = ">>" if text.startswith(">>", at) else "[[" if text.startswith("[[", at) else "q"
        if token == ">>":
            result = at + 2
            break
        if token == "[[":
            end = find_closer(text, "]]", at)
            if end < 0:
                break
            i = end + 2
        else:
            i = skip_string(text, at)
    for start in stretches:
        known[start] = result
    return result


def _sugarcube_macro(text: str, start: int, at: Lines) -> Scanned:
    match = _SC_MACRO.match(text, start)
    if not match:
        return None
    end = _macro_end(text, match.end())
    if end < 0:
        return None
    line = at(start)
    closing, name = match.group(1) == "/", match.group(2)
    lower = name.lower()
    raw = text[start:end]
    args = text[match.end() : end - 2].strip()
    if closing or (
        lower.startswith("end") and lower[3:] in ("if", "link", "button", "silently", "nobr")
    ):
        base = lower if closing else lower[3:]
        if base == "if":
            return [Close(line, raw)], end
        if base in ("link", "button"):
            return [LinkClose(line, raw)], end
        return [Code(line, raw, f"<</{base}>>", silent=True, names_passages=False)], end
    if lower == "if":
        return [Open(line, "if", args, raw)], end
    if lower in ("elseif", "else"):
        if lower == "else" and args.startswith("if "):
            args = args[3:]
            lower = "elseif"
        return [
            Close(line, raw),
            Open(line, "elseif" if lower == "elseif" else "else", args or None, raw),
        ], end
    if lower == "set":
        return assignments(args, line, raw), end
    if lower in ("link", "button"):
        strings = string_args(args)
        if strings and (pair := link_from_arg(strings[0])):
            return [LinkOpen(line, pair[0], pair[1], raw)], end
        if strings:
            target = strings[1] if len(strings) > 1 and not strings[1].startswith("[[") else None
            return [LinkOpen(line, strings[0], target, raw)], end
    if lower in ("goto", "include", "display"):
        strings = string_args(args)
        if strings:
            pair = link_from_arg(strings[0])
            jump = Goto if lower == "goto" else Embed
            return [jump(line, pair[1] if pair else strings[0], raw)], end
    if lower in ("actions", "choice"):
        events: list[Event] = []
        for arg in string_args(args):
            pair = link_from_arg(arg)
            events.append(Link(line, pair[0], pair[1]) if pair else Link(line, arg, arg))
        if events:
            return events, end
    if lower in ("print", "=", "-") and FORMAT_VARIABLE.fullmatch(args):
        return [Interp(line, args.lstrip("$"))], end
    if lower in ("print", "=", "-") and args.strip():
        return [PrintExpr(line, args, raw)], end
    if lower in ("back", "return"):
        strings = string_args(args)
        label = strings[0] if strings else lower.title()
        return [Back(line, label, raw, undo=lower == "back")], end
    if lower in _SC_CODE_BODY:
        closer = _block_closer(lower)
        found = find_closer(text, closer, end)
        close = closer.match(text, found) if found >= 0 else None
        stop = close.end() if close else end
        return [Code(line, text[start:stop], f"SugarCube <<{name}>> block")], stop
    return [
        Code(
            line,
            raw,
            f"SugarCube macro <<{name}>>",
            names_passages=lower not in _SC_NAVIGATION_FREE,
        )
    ], end
