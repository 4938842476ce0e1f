"""The web server's packages are loaded only by ``branching serve`` itself: the CLI, the serve
package and the per-tab process's entry module stay light (checked in a fresh interpreter)."""

from __future__ import annotations

import pytest

from tests.isolation import imported_after, top_level

SERVER = {"aiohttp", "aiohttp_jinja2", "jinja2", "textual_serve"}


@pytest.mark.parametrize(
    "module",
    ["branching.cli", "branching.serve", "branching.serve.identity", "branching.serve.child"],
)
def test_no_web_server_until_serving(module: str) -> None:
    modules = imported_after(f"import {module}")
    assert module in modules
    assert not top_level(modules) & (SERVER | {"textual", "sqlite3"})


def test_the_per_tab_process_never_loads_the_web_server() -> None:
    # What the child imports to play (its warm-up list), without the server's packages.
    modules = imported_after(
        "import branching.serve.child, branching.serve.driver, branching.ui.app, "
        "branching.log.recorder, branching.log.player_log"
    )
    assert not top_level(modules) & SERVER
