"""Located problems in a story file: what ``branching validate`` reports.

Every problem has a stable ``code`` (documented in docs/story-format.md), the node it concerns,
a JSON pointer into the file and, once the loader resolves it, the line and column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

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

    def located(self, line: int, column: int) -> Problem:
        return replace(self, line=line, column=column)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

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
        return f"{where}: {self.severity} [{self.code}] {node}{self.message}{path}"


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
