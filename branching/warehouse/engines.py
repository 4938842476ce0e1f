"""Where the report's SQL runs: DuckDB or Spark over an export folder, or SQLite over the tables
an export would write (the tests' bridge from the choice log to the one definition).

Each engine binds the relations :mod:`branching.warehouse.metrics` names: ``events``,
``playthroughs``, ``exposures`` (with the partition columns as text), ``commits``, and the
pre-aggregated ``facts`` and ``first_choices`` (the engine's ``facts`` and ``first_choices``
sets list the batches that have them).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from branching.warehouse.layout import (
    PRE_AGGREGATED,
    TABLES,
    DataFile,
    commit_files,
    data_files,
    pre_aggregated_files,
    schema,
)
from branching.warehouse.metrics import transpile

ENGINES = ("duckdb", "spark")
_HIVE_TYPES = "{'story_id': VARCHAR, 'story_version': VARCHAR, 'date': VARCHAR}"


class EngineMissing(Exception):
    """The engine's package (or Java, for Spark) is not installed; ``str()`` says how."""


def _is_interrupt(error: BaseException) -> bool:
    """DuckDB ends a query on Ctrl-C with an error of its own (an ``InterruptException``, or a
    plain ``RuntimeError: Query interrupted`` while it binds a statement)."""
    return type(error).__name__ == "InterruptException" or (
        isinstance(error, RuntimeError) and str(error).startswith("Query interrupted")
    )


@contextlib.contextmanager
def _ctrl_c() -> Iterator[None]:
    """Give DuckDB's interrupted queries back as the :class:`KeyboardInterrupt` they were, so the
    command line says "Interrupted." instead of reporting a damaged folder."""
    try:
        yield
    except Exception as error:
        if _is_interrupt(error):
            raise KeyboardInterrupt from None
        raise


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(folder: Path, table: str, batch: str | None) -> list[DataFile]:
    """A table's data files, or only those of one batch (named ``part-<batch>-<n>.parquet``;
    the queries also filter on the batch column, so a longer batch id sharing the prefix is
    harmless)."""
    found = list(data_files(folder, table))
    if batch is None:
        return found
    return [d for d in found if d.path.name.startswith(f"part-{batch}-")]


def _empty_select(table: str, partitions: bool) -> str:
    columns = [f"NULL::{_duck_type(f.type)} AS {f.name}" for f in schema(table)]
    if partitions:
        columns += [f"NULL::VARCHAR AS {c}" for c in ("story_id", "story_version", "date")]
    return f"SELECT {', '.join(columns)} WHERE FALSE"


class DuckDBEngine:
    """DuckDB over the folder's Parquet files (in memory, no extension downloads)."""

    name = "duckdb"

    def __init__(
        self,
        folder: Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        batch: str | None = None,
    ) -> None:
        try:
            import duckdb
        except ImportError as e:
            raise EngineMissing(
                "the duckdb engine needs DuckDB: pip install 'branching[duckdb]'"
            ) from e
        with _ctrl_c():
            self.con = duckdb.connect(config={"autoinstall_known_extensions": False})
            self._bind(folder, threads, memory_limit, batch)

    def _bind(
        self, folder: Path, threads: int | None, memory_limit: str | None, batch: str | None
    ) -> None:
        self.con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_sql_quote(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = false")
        for table in TABLES:
            files = [d.path.as_posix() for d in _files(folder, table, batch)]
            if files:
                listed = ", ".join(_sql_quote(f) for f in files)
                # The file list was checked (layout.check_folder): read exactly those files.
                source = (
                    f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                    f"hive_types = {_HIVE_TYPES})"
                )
            else:
                source = _empty_select(table, partitions=True)
            self.con.execute(f"CREATE VIEW {table} AS {source}")
        found = {
            table: {} if batch is not None else pre_aggregated_files(folder, table)
            for table in PRE_AGGREGATED
        }
        self.facts, self.first_choices = set(found["facts"]), set(found["first_choices"])
        unpartitioned = [("commits", commit_files(folder))]
        unpartitioned += [(table, list(found[table].values())) for table in PRE_AGGREGATED]
        for table, paths in unpartitioned:
            if paths:
                listed = ", ".join(_sql_quote(p.as_posix()) for p in paths)
                source = f"SELECT * FROM read_parquet([{listed}], hive_partitioning = false)"
            else:
                source = _empty_select(table, partitions=False)
            self.con.execute(f"CREATE VIEW {table} AS {source}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with _ctrl_c():
            return list(self.con.execute(sql).fetchall())

    def keep(self, name: str, sql: str) -> None:
        with _ctrl_c():
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def drop(self, name: str) -> None:
        with _ctrl_c():
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


def batch_facts(folder: Path, batch: str) -> Any:
    """The pre-aggregated facts of one batch (an Arrow table of the ``facts`` schema)."""
    return batch_tables(folder, batch, ("facts",))["facts"]


def batch_tables(
    folder: Path, batch: str, tables: tuple[str, ...] = PRE_AGGREGATED
) -> dict[str, Any]:
    """The pre-aggregated tables of one batch, by name (Arrow tables of their schemas): the one
    definition (:data:`~branching.warehouse.metrics.FACTS_SQL`,
    :data:`~branching.warehouse.metrics.EXPOSED_FIRST_CHOICES_SQL`) over the batch's own
    events, on DuckDB when it is installed, else on SQLite (the export needs only PyArrow and
    sqlglot)."""

    from branching.warehouse.metrics import EVENTS_JOINED, exposed_first_choices_sql, facts_sql

    engine: DuckDBEngine | SQLiteEngine
    try:
        engine = DuckDBEngine(folder, batch=batch, threads=1)
    except EngineMissing:
        engine = SQLiteEngine(folder, batch=batch)
    name = _sql_quote(batch)
    found: dict[str, Any] = {}
    try:
        for table in tables:
            if table == "facts":
                engine.keep(
                    "pt",
                    "SELECT playthrough_id, export_batch, language FROM playthroughs "
                    f"WHERE export_batch = {name}",
                )
                sql = facts_sql(EVENTS_JOINED, "w.language", f"e.export_batch = {name}")
            else:
                sql = exposed_first_choices_sql(f"x.export_batch = {name}")
            found[table] = _arrow(engine.rows(sql), table)
    finally:
        engine.close()
    return found


def _arrow(rows: list[tuple[Any, ...]], table: str) -> Any:
    import pyarrow as pa

    wanted = schema(table)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in wanted]
    arrays = {}
    for field, values in zip(wanted, columns, strict=True):
        if pa.types.is_boolean(field.type):  # SQLite gives 0 and 1
            values = tuple(None if v is None else bool(v) for v in values)
        arrays[field.name] = pa.array(values, type=field.type)
    return pa.table(arrays, schema=wanted)


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
        quiet = Path(__file__).with_name("spark-log4j2.properties").as_uri()
        builder = (
            builder.master(f"local[{os.cpu_count() or 1}]")
            .config("spark.sql.shuffle.partitions", str(max(2, os.cpu_count() or 1)))
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={quiet}")
        )
    if memory:
        builder = builder.config("spark.driver.memory", memory)
    # py4j logs to the root logger (with a traceback) whenever a call to the JVM fails, a
    # Ctrl-C included; the failure reaches the caller as an exception, which says it once.
    logging.getLogger().addFilter(_not_from_py4j)
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


def _not_from_py4j(record: logging.LogRecord) -> bool:
    return f"{os.sep}py4j{os.sep}" not in record.pathname


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
        ready: dict[str, set[str]] = {}
        for table in PRE_AGGREGATED:
            struct = T.StructType(
                [T.StructField(f.name, mapping[str(f.type)], True) for f in schema(table)]
            )
            ready[table] = set()
            if files and isinstance(folder, Path):
                found = pre_aggregated_files(folder, table)
                ready[table] = set(found)
                frame = (
                    self.spark.read.schema(struct).parquet(*(p.as_posix() for p in found.values()))
                    if found
                    else self.spark.createDataFrame([], struct)
                )
            else:  # a URL: the batches named in its files, if it has any
                try:
                    frame = self.spark.read.schema(struct).parquet(f"{base}/{table}")
                    batches = frame.select("export_batch").distinct().collect()
                    ready[table] = {r[0] for r in batches}
                except Exception as e:  # none under the URL: read from the events
                    if "PATH_NOT_FOUND" not in str(e) and "does not exist" not in str(e):
                        raise
                    frame = self.spark.createDataFrame([], struct)
            frame.createOrReplaceTempView(table)
        self.facts, self.first_choices = ready["facts"], ready["first_choices"]
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

    def __init__(self, folder: Path, *, batch: str | None = None) -> None:
        import pyarrow.parquet as pq

        self.con = sqlite3.connect(":memory:")
        found = {
            table: {} if batch is not None else pre_aggregated_files(folder, table)
            for table in PRE_AGGREGATED
        }
        self.facts, self.first_choices = set(found["facts"]), set(found["first_choices"])
        for table in (*TABLES, "commits", *PRE_AGGREGATED):
            names = list(schema(table).names)
            if table in TABLES:
                names += ["story_id", "story_version", "date"]
            self.con.execute(f"CREATE TABLE {table} ({', '.join(names)})")
            marks = ", ".join("?" for _ in names)
            if table == "commits":
                files: list[tuple[Path, Any]] = [(p, None) for p in commit_files(folder)]
            elif table in PRE_AGGREGATED:
                files = [(p, None) for p in found[table].values()]
            else:
                files = [(d.path, d.partition) for d in _files(folder, table, batch)]
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
