"""``branching report --engine duckdb|spark --events DIR``: the report from an export folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from branching.commands.export import unreadable
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from analytics.report import Report, Selection
    from branching.story.model import Story

_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return printable(text[0] if text else type(error).__name__, one_line=True)[:300]


def engine_report(
    engine: str,
    events: str | None,
    story: Story,
    selection: Selection,
    *,
    top: int,
    auto_origins: bool,
    experiment: str | None,
) -> Report:
    """Open the engine over the folder, build the report, or exit with a located message."""
    from analytics.source import NoData
    from analytics.stats import ImpossibleCounts
    from branching.commands.export import need_packages

    if engine == "duckdb":
        need_packages("pyarrow", "sqlglot", "duckdb", extra="duckdb")
    elif engine == "spark":
        need_packages("pyarrow", "sqlglot", "pyspark", extra="spark")
    from branching.warehouse.engines import EngineMissing
    from branching.warehouse.layout import FolderError, check_folder, find_unreadable
    from branching.warehouse.source import load_engine_report

    if engine == "sqlite":
        raise click.BadParameter(
            "--events is an export folder: read it with --engine duckdb or --engine spark "
            "(the sqlite engine reads --db)",
            param_hint="--events",
        )
    if events is None:
        raise click.BadParameter(
            f"--engine {engine} reads an export folder: name it with --events DIR "
            "(branching log export --format parquet -o DIR writes one)",
            param_hint="--events",
        )
    remote = bool(_URL.match(events))
    if remote and engine != "spark":
        raise click.BadParameter(
            "only --engine spark reads a URL; DuckDB reads a local folder", param_hint="--events"
        )
    folder: Path | str = events if remote else Path(events)
    try:
        if isinstance(folder, Path):
            check_folder(folder)
    except FolderError as e:
        unreadable(f"Cannot read the export folder: {e}")
    opened = None
    try:
        opened = _open(engine, folder)
        report, _ = load_engine_report(
            opened,
            story,
            selection,
            top=top,
            source=printable(events, one_line=True),
            auto_origins=auto_origins,
            experiment=experiment,
        )
    except EngineMissing as e:
        unreadable(f"Cannot run --engine {engine}: {e}")
        raise AssertionError from e  # unreachable: unreadable() exits
    except NoData as e:
        raise click.ClickException(str(e)) from e
    except ImpossibleCounts as e:
        unreadable(
            f"Cannot use the export folder {printable(events, one_line=True)}: it holds "
            f"impossible counts ({e}); its facts are damaged. Export the log again into a "
            "new folder."
        )
    except Exception as e:  # the engine's own errors: damaged data it met while reading
        if _is_engine_error(e):
            # The folder check reads footers only: a damaged data page fails mid-query, with
            # a message naming no file. Find it (a read of the whole folder, on failure only).
            broken = find_unreadable(folder) if isinstance(folder, Path) else None
            if broken is not None:
                unreadable(f"Cannot read the export folder: {broken}")
            unreadable(f"{engine} could not read {events}: {_first_line(e)}")
        raise
    finally:
        if opened is not None:
            opened.close()
    return report


def _open(engine: str, folder: Path | str) -> Any:
    from branching.warehouse.engines import DuckDBEngine, SparkEngine

    if engine == "duckdb":
        assert isinstance(folder, Path)
        return DuckDBEngine(folder)
    return SparkEngine(folder)


def _is_engine_error(error: Exception) -> bool:
    module = type(error).__module__
    return module.startswith(("duckdb", "_duckdb", "pyspark", "py4j", "pyarrow"))
