"""Where the report's SQL runs: DuckDB or Spark over an export folder, or SQLite over the tables
an export would write (the tests' bridge from the choice log to the one definition).

Each engine binds the relations :mod:`branching.warehouse.metrics` names: ``events``,
``playthroughs``, ``exposures`` (with the partition columns as text) and ``commits``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from branching.warehouse.layout import TABLES, commit_files, data_files, schema
from branching.warehouse.metrics import transpile

ENGINES = ("duckdb", "spark")
_HIVE_TYPES = "{'story_id': VARCHAR, 'story_version': VARCHAR, 'date': VARCHAR}"


class EngineMissing(Exception):
    """The engine's package (or Java, for Spark) is not installed; ``str()`` says how."""


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBEngine:
    """DuckDB over the folder's Parquet files (in memory, no extension downloads)."""

    name = "duckdb"

    def __init__(
        self, folder: Path, *, threads: int | None = None, memory_limit: str | None = None
    ) -> None:
        try:
            import duckdb
        except ImportError as e:
            raise EngineMissing(
                "the duckdb engine needs DuckDB: pip install 'branching[duckdb]'"
            ) from e
        self.con = duckdb.connect(config={"autoinstall_known_extensions": False})
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_sql_quote(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = false")
        for table in TABLES:
            files = [d.path.as_posix() for d in data_files(folder, table)]
            columns = ", ".join(f"NULL::{_duck_type(f.type)} AS {f.name}" for f in schema(table))
            if files:
                listed = ", ".join(_sql_quote(f) for f in files)
                # The file list was checked (layout.check_folder): read exactly those files.
                source = (
                    f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                    f"hive_types = {_HIVE_TYPES})"
                )
            else:
                source = (
                    f"SELECT {columns}, NULL::VARCHAR AS story_id, "
                    "NULL::VARCHAR AS story_version, NULL::VARCHAR AS date WHERE FALSE"
                )
            self.con.execute(f"CREATE VIEW {table} AS {source}")
        commits = [p.as_posix() for p in commit_files(folder)]
        if commits:
            listed = ", ".join(_sql_quote(f) for f in commits)
            self.con.execute(f"CREATE VIEW commits AS SELECT * FROM read_parquet([{listed}])")
        else:
            self.con.execute(
                "CREATE VIEW commits AS SELECT NULL::VARCHAR AS export_batch WHERE FALSE"
            )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.execute(sql).fetchall())

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()


def _duck_type(arrow_type: Any) -> str:
    text = str(arrow_type)
    return {
        "string": "VARCHAR",
        "int32": "INTEGER",
        "int64": "BIGINT",
        "bool": "BOOLEAN",
        "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
    }[text]


_SPARK: Any = None


def java_missing() -> str | None:
    """Why Spark cannot start here (no Java), or ``None``."""
    import shutil

    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return None
    return (
        "Spark needs Java 17 or newer: install a headless JRE (Debian/Ubuntu: "
        "`apt-get install -y default-jre-headless`; macOS: `brew install openjdk@17`)"
    )


def spark_session(master: str | None = None, memory: str | None = None) -> Any:
    """One SparkSession per process: local mode on every core, unless ``master`` or
    ``SPARK_MASTER`` names one, or spark-submit started this process (its master and
    configuration apply)."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise EngineMissing("the spark engine needs PySpark: pip install 'branching[spark]'") from e
    why = java_missing()
    if why:
        raise EngineMissing(why)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("branching-report")
    chosen = master or os.environ.get("SPARK_MASTER")
    if chosen:
        if chosen.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.master(chosen)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):  # not under spark-submit: local mode
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.master(f"local[{os.cpu_count() or 1}]").config(
            "spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 1))
        )
    if memory:
        builder = builder.config("spark.driver.memory", memory)
    _SPARK = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Partition values are text (a version "1.10" must not become 1.1):
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK


class SparkEngine:
    """Spark SQL over the folder (a local path, or s3a://, gs://, hdfs:// on a cluster)."""

    name = "spark"

    def __init__(self, folder: Path | str, *, spark: Any = None, files: bool = True) -> None:
        self.spark = spark or spark_session()
        from pyspark.sql import types as T

        mapping = {
            "string": T.StringType(),
            "int32": T.IntegerType(),
            "int64": T.LongType(),
            "bool": T.BooleanType(),
            "timestamp[us, tz=UTC]": T.TimestampType(),
        }
        partitions = [
            T.StructField(c, T.StringType(), True) for c in ("story_id", "story_version", "date")
        ]
        base = str(folder)
        for table in TABLES:
            fields = [T.StructField(f.name, mapping[str(f.type)], True) for f in schema(table)]
            struct = T.StructType(fields + partitions)
            if files and isinstance(folder, Path):
                paths = [d.path.as_posix() for d in data_files(folder, table)]
            else:
                paths = [f"{base}/{table}"]
            if paths:
                frame = (
                    self.spark.read.schema(struct)
                    .option("basePath", f"{base}/{table}")
                    .parquet(*paths)
                )
            else:
                frame = self.spark.createDataFrame([], struct)
            frame.createOrReplaceTempView(table)
        commit_paths = (
            [p.as_posix() for p in commit_files(folder)]
            if files and isinstance(folder, Path)
            else [f"{base}/commits"]
        )
        commits = T.StructType(
            [T.StructField(f.name, mapping[str(f.type)], True) for f in schema("commits")]
        )
        frame = (
            self.spark.read.schema(commits).parquet(*commit_paths)
            if commit_paths
            else self.spark.createDataFrame([], commits)
        )
        frame.createOrReplaceTempView("commits")
        self._cached: dict[str, Any] = {}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(transpile(sql, "spark")).collect()]

    def keep(self, name: str, sql: str) -> None:
        frame = self.spark.sql(transpile(sql, "spark")).cache()
        frame.count()
        frame.createOrReplaceTempView(name)
        self._cached[name] = frame

    def drop(self, name: str) -> None:
        frame = self._cached.pop(name, None)
        if frame is not None:
            frame.unpersist()
        self.spark.catalog.dropTempView(name)

    def close(self) -> None:
        for name in list(self._cached):
            self.drop(name)


class SQLiteEngine:
    """SQLite (Python's own) over the rows of an export folder, loaded into memory: the one
    definition run over a log's raw events, to check the roll-ups against it."""

    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        import pyarrow.parquet as pq

        self.con = sqlite3.connect(":memory:")
        for table in (*TABLES, "commits"):
            names = list(schema(table).names)
            if table != "commits":
                names += ["story_id", "story_version", "date"]
            self.con.execute(f"CREATE TABLE {table} ({', '.join(names)})")
            marks = ", ".join("?" for _ in names)
            files = (
                [(p, None) for p in commit_files(folder)]
                if table == "commits"
                else [(d.path, d.partition) for d in data_files(folder, table)]
            )
            for path, partition in files:
                data = pq.read_table(path, columns=list(schema(table).names)).to_pylist()
                extra = tuple(partition) if partition is not None else ()
                self.con.executemany(
                    f"INSERT INTO {table} VALUES ({marks})",
                    [(*row.values(), *extra) for row in data],
                )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.con.execute(transpile(sql, "sqlite")).fetchall())

    def keep(self, name: str, sql: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")
        self.con.execute(f"CREATE TEMP TABLE {name} AS {transpile(sql, 'sqlite')}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()


def open_engine(name: str, folder: Path) -> DuckDBEngine | SparkEngine:
    """The named engine over ``folder`` (checked by the caller)."""
    if name == "duckdb":
        return DuckDBEngine(folder)
    if name == "spark":
        return SparkEngine(folder)
    raise ValueError(f"unknown engine {name!r}")
