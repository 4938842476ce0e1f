"""The report as one JSON document (reference: docs/analytics.md, "JSON document")."""

from __future__ import annotations

import json

from analytics.report import Report


def render_json(report: Report, *, indent: int | None = None) -> str:
    """The document as text. Story text is kept as is (JSON strings are data).

    Compact by default: Python's C encoder is used only without ``indent``, which matters for a
    report on a 25,000-node story (tens of MB). Pipe it through ``jq .`` to read it.
    """
    return json.dumps(report.to_json(), indent=indent, ensure_ascii=False) + "\n"
