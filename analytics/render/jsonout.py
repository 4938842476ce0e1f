"""The report as one JSON document (reference: docs/analytics.md, "JSON document")."""

from __future__ import annotations

from analytics.report import Report
from branching.story.untrusted import json_text


def render_json(report: Report, *, indent: int | None = None) -> str:
    """The document as text. Story text is kept as is (JSON strings are data), except that
    control characters and lone surrogates (ids from a log may hold them) are ``\\uNNNN``
    escapes: ``json.dumps`` escapes C0 but leaves DEL and C1 (``\\x9b`` is a terminal's CSI)
    raw, and a lone surrogate could not be encoded at all.

    Compact by default: Python's C encoder is used only without ``indent``, which matters for a
    report on a 25,000-node story (tens of MB). Pipe it through ``jq .`` to read it.
    """
    return json_text(report.to_json(), indent=indent) + "\n"
