"""Located problems in a story file: what ``branching validate`` reports.

Every problem has a stable ``code`` (documented in docs/validation.md), the node it concerns,
a JSON pointer into the file and, once the loader resolves it, the line and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from branching.story.untrusted import json_text, printable

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Severity
    code: str
    message: str
    path: str = ""
    node: str | None = None
    line: int | None = None
    column: int | None = None
    #: The character of the string at ``path`` the problem is about (0-based), for the loader
    #: to locate it exactly; not part of the JSON output.
    offset: int | None = field(default=None, compare=False, repr=False)

    def located(self, line: int, column: int) -> Problem:
        return replace(self, line=line, column=column)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["offset"]
        return data

    def format(self, filename: str) -> str:
        """One line for humans: ``story.json:12:5: error [missing-node] node "a": ...``.

        >>> Problem("error", "missing-node", 'choice leads to "x"', "/nodes/a/choices/0/to", "a",
        ...         12, 5).format("s.json")
        's.json:12:5: error [missing-node] node "a": choice leads to "x" (at /nodes/a/choices/0/to)'
        """
        where = filename
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        node = f'node "{self.node}": ' if self.node is not None else ""
        path = f" (at {self.path})" if self.path else ""
        # Messages quote story content (ids, keys, expressions): one line, nothing raw.
        return printable(
            f"{where}: {self.severity} [{self.code}] {node}{self.message}{path}", one_line=True
        )


def problems_json(problems: Iterable[Problem]) -> str:
    r"""The JSON list ``validate --format json`` prints, safe to show in a terminal.

    >>> print(problems_json([Problem("error", "missing-node", 'leads to "\x1b\x9b"')]))
    [
      {
        "severity": "error",
        "code": "missing-node",
        "message": "leads to \"\u001b\u009b\"",
        "path": "",
        "node": null,
        "line": null,
        "column": null
      }
    ]
    """
    return json_text([p.to_json() for p in problems], indent=2)


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from path parts.

    >>> pointer("nodes", "a/b", "choices", 0)
    '/nodes/a~1b/choices/0'
    """
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def unescape_pointer(path: str) -> list[str]:
    """The parts of a JSON pointer.

    >>> unescape_pointer('/nodes/a~1b/choices/0')
    ['nodes', 'a/b', 'choices', '0']
    """
    if not path:
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]
