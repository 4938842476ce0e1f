"""Past one machine: the choice log as a Parquet folder, and the report on DuckDB and Spark.

* :mod:`~branching.warehouse.layout`: the folder's layout, schemas and checks (every file in a
  folder given to a command is hostile until checked).
* :mod:`~branching.warehouse.export`: ``branching log export``, incremental and idempotent.
* :mod:`~branching.warehouse.metrics`: the report's counts, each written **once** as SQL
  (DuckDB's dialect) and transpiled by sqlglot for Spark and SQLite.
* :mod:`~branching.warehouse.engines`: where that SQL runs (DuckDB, Spark, SQLite).
* :mod:`~branching.warehouse.source`: from an engine to the same :class:`~analytics.report.Report`
  the ``--db`` path builds.

The layer sits between the commands and analytics (pyproject's import-linter contracts,
docs/architecture.md); DuckDB, PyArrow, PySpark and sqlglot are optional extras, imported only
inside these modules' functions or by modules the commands import lazily.
"""
