"""Importing the UI package, or the helpers the play command uses on every path, does not pull
in Textual; only ``branching.ui.app`` does (checked in a fresh interpreter)."""

from __future__ import annotations

import pytest

from tests.isolation import imported_after, top_level


@pytest.mark.parametrize("module", ["branching.ui", "branching.ui.services"])
def test_ui_helpers_do_not_import_textual(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    assert not top_level(modules) & {"textual", "rich"}


def test_the_app_module_is_where_textual_comes_in() -> None:
    assert "textual.app" in imported_after("import branching.ui.app")
