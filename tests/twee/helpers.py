"""Shared helpers for the Twee tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from branching.story.loader import LoadResult, load_story_bytes
from branching.twee import ImportResult, import_twee

ROOT = Path(__file__).resolve().parents[2]
# shared/corpus sits beside the repository (CI) or beside the folder of worktrees.
CORPUS = next(
    (p / "shared" / "corpus" for p in ROOT.parents if (p / "shared" / "corpus").is_dir()),
    ROOT.parent / "shared" / "corpus",
)


def imp(text: str, **options: Any) -> ImportResult:
    """Import one Twee text named t.twee."""
    return import_twee([("t.twee", text)], **options)


def loaded(story: dict[str, Any] | None) -> LoadResult:
    """The loader's verdict on an imported story: it must have no errors."""
    assert story is not None
    result = load_story_bytes(json.dumps(story).encode(), "imported.json")
    assert result.errors == [], [p.format("imported.json") for p in result.errors]
    return result


def messages(result: ImportResult) -> list[str]:
    return [p.format() for p in result.problems]
