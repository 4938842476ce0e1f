"""Shared fixtures: one Spark session per test session (it takes seconds to start), and the
reason Spark tests skip when Java is missing (never in CI, where .ci/run installs it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

duckdb = pytest.importorskip("duckdb", reason="pip install -e '.[test]' installs DuckDB")
pytest.importorskip("pyarrow", reason="pip install -e '.[test]' installs PyArrow")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pip install -e '.[test]' installs PySpark")
    from branching.warehouse.engines import java_missing, spark_session

    why = java_missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"Spark tests must run in CI: {why}")
        pytest.skip(why)
    session = spark_session(master="local[2]")
    yield session
