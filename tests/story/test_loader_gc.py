"""The loader pauses the cycle collector while it works and always restores its state."""

from __future__ import annotations

import gc

import pytest

from branching.story.loader import load_story_bytes

STORY = b"""{"format": "branching/1", "id": "s", "title": "S", "start": "a",
            "nodes": {"a": {"text": "Hi.", "ending": true}}}"""


@pytest.mark.parametrize("data", [STORY, b"{not json", b"\xff"], ids=["ok", "not-json", "bytes"])
def test_loader_restores_the_garbage_collector(data: bytes) -> None:
    assert gc.isenabled()
    load_story_bytes(data)
    assert gc.isenabled()
    gc.disable()
    try:
        load_story_bytes(data)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
