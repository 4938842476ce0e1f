"""Make a large export folder by replicating a real export with DuckDB itself.

Simulating 100 million events one by one would take hours here; instead a simulated log is
exported once (``branching log export``), and DuckDB copies its rows REPLICAS times under new
playthrough ids (``id-k``), new viewers, one start day per replica (its own ``date`` partition)
and its own committed batch. Each replica's pre-aggregated facts are the base's facts (written by
``branching log export`` with the one definition) with the replica's day and batch: the counts
do not depend on ids or viewers; its first choices are the base's with the replica's
playthrough ids and batch. A ``--stale`` share of the playthroughs also gets an older,
shorter snapshot in a separate batch without either (as a live export of playthroughs that went on
would leave, or an export from before facts were written), so the report must deduplicate, and
read those batches' events, as it would in real use.

    python -m tests.benchmarks.scale_data BASE_FOLDER OUT --replicas 24 [--stale 0.01]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

HIVE = (
    "hive_partitioning = true, "
    "hive_types = {'story_id': VARCHAR, 'story_version': VARCHAR, 'date': VARCHAR}"
)
EVENT_COLUMNS = (
    'seq, "at" + {shift} AS "at", kind, node, choice, target, decision_ms, timed_out, step, '
    "detail, ending_kind, visit, first_visit, variant, origin"
)


def replicate(base: Path, out: Path, replicas: int, stale: float, threads: int = 2) -> None:
    import duckdb

    shutil.rmtree(out, ignore_errors=True)
    (out / "commits").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    con.execute(
        f"CREATE TABLE ev AS SELECT * FROM read_parquet('{base}/events/**/*.parquet', {HIVE})"
    )
    con.execute(
        f"CREATE TABLE pt AS SELECT * FROM read_parquet('{base}/playthroughs/**/*.parquet', {HIVE})"
    )
    con.execute(
        f"CREATE TABLE xp AS SELECT * FROM read_parquet('{base}/exposures/**/*.parquet', {HIVE})"
    )
    for table in ("facts", "first_choices"):
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_parquet('{base}/{table}/*.parquet', "
            "hive_partitioning = false)"
        )
    (n_ev,) = con.execute("SELECT count(*) FROM ev").fetchone()  # type: ignore[misc]
    (n_pt,) = con.execute("SELECT count(*) FROM pt").fetchone()  # type: ignore[misc]
    print(f"base: {n_pt:,} playthroughs, {n_ev:,} events", flush=True)
    opts = (
        "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000, "
        "PARTITION_BY (story_id, story_version, date), APPEND"
    )
    viewers = max(n_pt * replicas // 3, 1)
    started = time.perf_counter()

    def day(shift: int) -> str:
        return f"strftime(CAST(date AS DATE) + INTERVAL {shift} DAY, '%Y-%m-%d')"

    def copy(batch: str, k: int, where: str = "TRUE", events_where: str = "TRUE",
             count: str = "event_count", viewer: str | None = None,
             facts: bool = True) -> None:  # fmt: skip
        shift = f"INTERVAL {k} DAY"
        who = viewer or f"'viewer-' || CAST(hash(viewer || '{k}') % {viewers} AS VARCHAR)"
        con.execute(
            f"""COPY (
            SELECT e.playthrough_id || '-{k}' AS playthrough_id,
                   {EVENT_COLUMNS.format(shift=shift)},
                   '{batch}' AS export_batch, story_id, story_version, {day(k)} AS date
            FROM ev AS e JOIN (SELECT playthrough_id, {count} AS n FROM pt WHERE {where}) AS s
              USING (playthrough_id)
            WHERE e.seq < s.n AND {events_where}
            ORDER BY playthrough_id, seq
        ) TO '{out}/events' ({opts}, FILENAME_PATTERN 'part-{batch}-{{uuid}}')"""
        )
        con.execute(
            f"""COPY (
            SELECT playthrough_id || '-{k}' AS playthrough_id, {who} AS viewer, story_hash,
                   variant, origin, started_at + {shift} AS started_at,
                   updated_at + {shift} AS updated_at, ended_at + {shift} AS ended_at, status,
                   last_node, ending, ending_kind, failure, CAST({count} AS INTEGER) AS event_count,
                   rewound, path_hash, path, language, '{batch}' AS export_batch, story_id,
                   story_version,
                   {day(k)} AS date
            FROM pt WHERE {where}
        ) TO '{out}/playthroughs' ({opts}, FILENAME_PATTERN 'part-{batch}-{{uuid}}')"""
        )
        # The experiment exposures of the copied playthroughs (same viewers, shifted times).
        con.execute(
            f"""COPY (
            SELECT x.playthrough_id || '-{k}' AS playthrough_id, experiment, arm, node, seq,
                   "at" + {shift} AS "at", {who} AS viewer, origin,
                   '{batch}' AS export_batch, story_id, story_version, {day(k)} AS date
            FROM xp AS x JOIN (SELECT playthrough_id, {count} AS n FROM pt WHERE {where}) AS s
              USING (playthrough_id)
            WHERE x.seq < s.n
        ) TO '{out}/exposures' ({opts}, FILENAME_PATTERN 'part-{batch}-{{uuid}}')"""
        )
        if facts:
            (out / "facts").mkdir(exist_ok=True)
            con.execute(
                f"""COPY (
                SELECT story_id, story_version, {day(k)} AS date, variant, origin, language, kind,
                       node, choice, target, timed_out, bucket, n, visits, reached,
                       '{batch}' AS export_batch
                FROM facts
            ) TO '{out}/facts/part-{batch}.parquet' (FORMAT parquet, COMPRESSION zstd)"""
            )
            (out / "first_choices").mkdir(exist_ok=True)
            con.execute(
                f"""COPY (
                SELECT story_id, playthrough_id || '-{k}' AS playthrough_id, experiment,
                       exposed_seq, node, choice, timed_out, decision_ms,
                       '{batch}' AS export_batch
                FROM first_choices ORDER BY playthrough_id, experiment, exposed_seq, node
            ) TO '{out}/first_choices/part-{batch}.parquet' (FORMAT parquet, COMPRESSION zstd)"""
            )
        con.execute(
            f"COPY (SELECT '{batch}' AS export_batch, 'bench' AS source, now() AS exported_at, "
            f"{n_pt}::BIGINT AS playthroughs, {n_ev}::BIGINT AS events) "
            f"TO '{out}/commits/part-{batch}.parquet' (FORMAT parquet)"
        )

    for k in range(replicas):
        copy(f"bench-{k:04d}", k)
        print(f"replica {k + 1}/{replicas}: {time.perf_counter() - started:.0f} s", flush=True)
    if stale:
        # Older snapshots (first half of the events) of some playthroughs of a few replicas.
        # (Its rows are superseded, so the figures stay those of the full replicas.)
        pick = f"hash(playthrough_id) % 1000 < {int(stale * 1000)}"
        for k in range(min(replicas, 4)):
            copy(f"bench-stale-{k:04d}", k, where=pick, count="event_count // 2",
                 viewer="'viewer-stale'", facts=False)  # fmt: skip
        print(f"stale snapshots: {time.perf_counter() - started:.0f} s", flush=True)
    for table in ("events", "playthroughs", "exposures", "facts", "first_choices"):
        files = list((out / table).rglob("*.parquet"))
        size = sum(p.stat().st_size for p in files)
        print(f"{table}: {len(files)} files, {size / 1e9:.2f} GB", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--replicas", type=int, default=24)
    parser.add_argument("--stale", type=float, default=0.01)
    args = parser.parse_args()
    replicate(args.base, args.out, args.replicas, args.stale)
