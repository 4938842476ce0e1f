"""Analytics never pulls in the UI, and its commands stay light to import."""

from __future__ import annotations

from tests.isolation import imported_after, top_level


def test_analytics_has_no_ui() -> None:
    modules = top_level(
        imported_after(
            "import analytics.source, analytics.simulate, analytics.render.table, "
            "analytics.render.html, analytics.render.csvout, analytics.render.jsonout"
        )
    )
    assert not modules & {"textual", "networkx"}


def test_metrics_need_no_database_or_terminal() -> None:
    modules = top_level(imported_after("import analytics.report, analytics.tally, analytics.stats"))
    assert not modules & {"textual", "networkx", "sqlite3", "sqlite_utils", "rich"}


def test_commands_import_lightly() -> None:
    modules = top_level(
        imported_after(
            "import branching.commands.report, branching.commands.simulate, "
            "branching.commands.rollups"
        )
    )
    assert not modules & {"textual", "networkx", "sqlite_utils", "rich", "sqlite3"}
