"""Reading the choice log's roll-ups into a :class:`~analytics.tally.Tally`.

The roll-up tables belong to the log (:mod:`branching.log.rollups` defines, writes, rebuilds
and checks them); this module only reads them, per cohort, for reports.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from analytics.tally import ChoiceCounts, NodeCounts, PathCounts, Tally
from branching.log.rollups import NODE_COUNTERS, TIME_COLUMNS, steps_of

# --- Reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    id: int
    story_id: str
    story_version: str | None
    story_hash: str
    variant: str | None
    origin: str
    day: str
    #: The language the text was shown in; ``None`` for playthroughs logged before languages.
    language: str | None = None


def cohorts(conn: sqlite3.Connection, story_id: str | None = None) -> list[Cohort]:
    """All cohorts (of one story, if given)."""
    sql = (
        "SELECT id, story_id, story_version, story_hash, variant, origin, day, language "
        "FROM rollup_cohorts"
    )
    if story_id is not None:
        return [Cohort(*r) for r in conn.execute(sql + " WHERE story_id = ?", (story_id,))]
    return [Cohort(*r) for r in conn.execute(sql)]


def cohort_playthroughs(conn: sqlite3.Connection, ids: Sequence[int]) -> int:
    """Playthroughs in the given cohorts."""
    if not ids:
        return 0
    marks = ",".join("?" for _ in ids)
    (n,) = conn.execute(
        f"SELECT coalesce(sum(playthroughs), 0) FROM rollup_outcomes WHERE cohort IN ({marks})",
        tuple(ids),
    ).fetchone()
    return int(n)


def read_choices(
    conn: sqlite3.Connection, cohort_ids: Sequence[int]
) -> dict[tuple[str, str, str], ChoiceCounts]:
    """Choice counts (node, choice id, target) of the given cohorts, summed."""
    if not cohort_ids:
        return {}
    ids = tuple(cohort_ids)
    sql = (
        "SELECT node, choice, target, sum(explicit), sum(timeouts) FROM rollup_choices "
        f"WHERE cohort IN ({','.join('?' for _ in ids)}) GROUP BY node, choice, target"
    )
    return {
        (node, choice, target): ChoiceCounts(explicit, timeouts)
        for node, choice, target, explicit, timeouts in conn.execute(sql, ids)
    }


def read_tally(
    conn: sqlite3.Connection, cohort_ids: Sequence[int], *, top: int | None = 20
) -> Tally:
    """The tally of the given cohorts, with the ``top`` most popular paths (``None``: all).

    The cohorts must not overlap: either all-days cohorts or day cohorts, never both.
    """
    tally = Tally()
    if not cohort_ids:
        return tally
    ids = tuple(cohort_ids)
    one = len(ids) == 1
    where = "cohort = ?" if one else f"cohort IN ({','.join('?' for _ in ids)})"
    columns = (*NODE_COUNTERS, *TIME_COLUMNS)
    if one:
        sql = f"SELECT node, {', '.join(columns)} FROM rollup_nodes WHERE {where}"
    else:
        sums = ", ".join(f"sum({c})" for c in columns)
        sql = f"SELECT node, {sums} FROM rollup_nodes WHERE {where} GROUP BY node"
    for row in conn.execute(sql, ids):
        tally.nodes[row[0]] = NodeCounts(
            row[1], row[2], row[3], row[4], row[5], list(row[1 + len(NODE_COUNTERS) :])
        )

    sql = (
        f"SELECT node, choice, target, sum(explicit), sum(timeouts) FROM rollup_choices "
        f"WHERE {where} GROUP BY node, choice, target"
    )
    for node, choice, target, explicit, timeouts in conn.execute(sql, ids):
        tally.choices[(node, choice, target)] = ChoiceCounts(explicit, timeouts)

    sql = (
        f"SELECT status, last_node, rewound, sum(playthroughs) FROM rollup_outcomes "
        f"WHERE {where} GROUP BY status, last_node, rewound"
    )
    for status, last, rewound, count in conn.execute(sql, ids):
        if count:
            tally.outcomes[(status, last, bool(rewound))] += count

    if one:
        # Kept as rows come and go: no counting, whatever the size of the log.
        row = conn.execute(
            "SELECT viewers, paths FROM rollup_cohort_totals WHERE cohort = ?", ids
        ).fetchone()
        tally.viewers, tally.distinct_paths = row if row is not None else (0, 0)
    else:
        # Viewers and paths can recur across cohorts (days, versions): count them distinctly.
        (tally.viewers,) = conn.execute(
            f"SELECT count(DISTINCT viewer) FROM rollup_viewers WHERE {where}", ids
        ).fetchone()
        (tally.distinct_paths,) = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT path_hash, status, last_node "
            f"FROM rollup_paths WHERE {where})",
            ids,
        ).fetchone()

    limit = "" if top is None else f" LIMIT {max(int(top), 0):d}"
    if one:
        sql = (
            "SELECT path_hash, status, last_node, playthroughs, path_len, example, steps "
            "FROM rollup_paths WHERE cohort = ? "
            "ORDER BY playthroughs DESC, path_hash, status, last_node" + limit
        )
    else:
        sql = (
            "SELECT path_hash, status, last_node, sum(playthroughs), max(path_len), "
            "max(example), max(steps) FROM rollup_paths WHERE " + where + " "
            "GROUP BY path_hash, status, last_node "
            "ORDER BY sum(playthroughs) DESC, path_hash, status, last_node" + limit
        )
    for h, status, last, count, length, example, steps_text in conn.execute(sql, ids).fetchall():
        if steps_text is not None:
            steps = steps_text.split("\n") if steps_text else []
        else:
            steps = steps_of(conn, example, length)
        tally.paths[(h, status, last)] = PathCounts(count, tuple(steps))
    return tally


def read_experiment_counts(
    conn: sqlite3.Connection,
    story_id: str,
    experiment: str,
    origins: Sequence[str] | None = None,
) -> dict[str, Counter[tuple[str, str, str]]]:
    """Per arm, the experiment's viewer counts (:mod:`branching.log.exposures`), summed over
    the given origins (``None``: all)."""
    sql = (
        "SELECT arm, metric, node, key, sum(viewers) FROM rollup_experiments "
        "WHERE story_id = ? AND experiment = ?"
    )
    args: list[str] = [story_id, experiment]
    if origins is not None:
        sql += f" AND origin IN ({','.join('?' for _ in origins)})"
        args.extend(origins)
    found: dict[str, Counter[tuple[str, str, str]]] = {}
    for arm, metric, node, key, viewers in conn.execute(
        sql + " GROUP BY arm, metric, node, key", args
    ):
        found.setdefault(arm, Counter())[(metric, node, key)] = int(viewers)
    return found
