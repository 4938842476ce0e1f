"""The report's counts, each defined once as SQL over the exported events and playthroughs.

Written in DuckDB's dialect and run there as is; :func:`transpile` (sqlglot) turns the same text
into Spark SQL and SQLite, so there is one definition per metric, not one per engine. The
per-playthrough facts the SQL aggregates (which entries are visits, the outcome, the path) are
derived at export by :mod:`analytics.tally`'s own functions
(:func:`branching.warehouse.export.derive`).
The tests run this SQL on SQLite over a log's raw events and check that it equals the log's
incremental roll-ups, and that DuckDB and Spark give the same report as ``--db``.

Relations the queries name (each engine binds them, :mod:`branching.warehouse.engines`):

* ``events``, ``playthroughs``, ``exposures``: the folder's tables, with the partition columns
  ``story_id``, ``story_version`` and ``date`` (all text; ``date`` is ``YYYY-MM-DD``);
* ``commits``: committed export batches;
* ``facts``, ``first_choices``: the batches' pre-aggregated rows (:data:`FACTS_SQL`,
  :data:`EXPOSED_FIRST_CHOICES_SQL`), for the batches listed in the engine's ``facts`` and
  ``first_choices``;
* ``pt``: the playthroughs *counted*: committed, selected, one row per playthrough id (the most
  events, then the smallest batch id), materialised once per report (:data:`WINNERS_SQL`), and
  ``superseded``: the selection's other rows (:data:`SUPERSEDED_SQL`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from analytics.report import UNKNOWN_LANGUAGE, Selection
from analytics.tally import ChoiceCounts, PathCounts, Tally
from branching.log.encoding import EDGES_MS, NUM_BUCKETS

Dialect = str  # "duckdb", "spark" or "sqlite"


def transpile(sql: str, dialect: Dialect) -> str:
    """The one definition (DuckDB SQL) in ``dialect``."""
    if dialect == "duckdb":
        return sql
    import sqlglot

    return str(sqlglot.transpile(sql, read="duckdb", write=dialect)[0])


def _lit(value: str) -> str:
    """A string literal, quoted by sqlglot (story ids and versions are arbitrary text)."""
    from sqlglot import exp

    return str(exp.Literal.string(value).sql("duckdb"))


def language_sql(wanted: str, column: str) -> str:
    """:func:`analytics.report.language_matches` as SQL: the same tag, or a regional variant of
    a tag without region (``fr`` matches ``fr-CA``), whatever the case and ``_`` or ``-``."""
    tag = wanted.replace("_", "-").lower()
    value = f"lower(replace({column}, '_', '-'))"
    if "-" in tag:
        return f"{value} = {_lit(tag)}"
    return f"({value} = {_lit(tag)} OR substr({value}, 1, {len(tag) + 1}) = {_lit(tag + '-')})"


def selection_sql(selection: Selection, alias: str, *, language: bool = True) -> str:
    """The WHERE condition of a :class:`Selection` on a table with the partition columns,
    ``variant``, ``origin`` and ``language`` (the same rules as :meth:`Selection.matches`).
    ``language=False`` for ``events``, which carry no language: their playthroughs do."""
    a = alias + "."
    parts = [f"{a}story_id = {_lit(selection.story_id)}"]
    if selection.versions is not None:
        named = [v for v in selection.versions if v is not None]
        alternatives = []
        if named:
            alternatives.append(f"{a}story_version IN ({', '.join(_lit(v) for v in named)})")
        if None in selection.versions:
            alternatives.append(f"{a}story_version IS NULL")
        parts.append("(" + " OR ".join(alternatives or ["FALSE"]) + ")")
    if selection.variant is not None:
        parts.append(f"{a}variant = {_lit(selection.variant)}")
    if selection.origins is not None:
        parts.append(f"{a}origin IN ({', '.join(_lit(o) for o in selection.origins)})")
    # ISO dates compare as text in every engine: no DATE type to transpile.
    if selection.since is not None:
        parts.append(f"{a}date >= {_lit(selection.since.isoformat())}")
    if selection.until is not None:
        parts.append(f"{a}date <= {_lit(selection.until.isoformat())}")
    if selection.language is not None:
        if not language:
            raise ValueError("a language filter needs the playthroughs' language")
        parts.append(language_sql(selection.language, f"{a}language"))
    return " AND ".join(parts)


def bucket_sql(column: str) -> str:
    """:func:`branching.log.encoding.time_bucket` (``bisect_right(EDGES_MS, ms)``) as a binary
    search of CASEs: six comparisons a row, generated from the same edges."""

    def search(lo: int, hi: int) -> str:  # the bucket is in [lo, hi]
        if lo == hi:
            return str(lo)
        mid = (lo + hi + 1) // 2  # bucket >= mid  <=>  column >= EDGES_MS[mid - 1]
        return (
            f"CASE WHEN {column} >= {EDGES_MS[mid - 1]} THEN {search(mid, hi)} "
            f"ELSE {search(lo, mid - 1)} END"
        )

    return search(0, NUM_BUCKETS - 1)


# --- The definitions ----------------------------------------------------------------------------

#: Committed rows of the selection, one per playthrough id: the snapshot with the most events
#: (a playthrough exported again after it went on), ties to the smallest batch id (the same
#: playthrough exported from two machines). ``versions``: how many rows were read for it.
WINNERS_SQL = """
SELECT * FROM (
  SELECT p.playthrough_id, p.export_batch, p.viewer, p.story_hash, p.origin, p.status,
         p.last_node, p.ending, p.rewound, p.path_hash, p.language,
         row_number() OVER (PARTITION BY p.playthrough_id
                            ORDER BY p.event_count DESC, p.export_batch) AS version_rank,
         count(*) OVER (PARTITION BY p.playthrough_id) AS versions
  FROM playthroughs AS p
  WHERE p.export_batch IN (SELECT c.export_batch FROM commits AS c) AND {where}
) AS ranked
WHERE version_rank = 1
"""

#: started / completed / quit / failed / open and drop-offs: playthroughs per outcome.
OUTCOMES_SQL = """
SELECT status, coalesce(last_node, '') AS last_node, rewound, count(*) AS playthroughs
FROM pt GROUP BY status, coalesce(last_node, ''), rewound
"""

#: Distinct viewers; rows read and superseded (for the engine's own figures).
TOTALS_SQL = """
SELECT count(*) AS playthroughs, count(DISTINCT viewer) AS viewers, sum(versions) AS rows_read
FROM pt
"""

DISTINCT_PATHS_SQL = """
SELECT count(*) AS paths FROM (
  SELECT DISTINCT path_hash, status, coalesce(last_node, '') AS last_node FROM pt
) AS d
"""

HASHES_SQL = "SELECT DISTINCT story_hash FROM pt"

#: Playthroughs per language (``NULL``: logged before languages were).
LANGUAGES_SQL = "SELECT language, count(*) AS playthroughs FROM pt GROUP BY language"

#: The most popular paths with their outcome; ties in the order the roll-ups use.
TOP_PATHS_SQL = """
SELECT path_hash, status, coalesce(last_node, '') AS last_node, count(*) AS playthroughs
FROM pt
GROUP BY path_hash, status, coalesce(last_node, '')
ORDER BY playthroughs DESC, path_hash, status, last_node
{limit}
"""

#: The steps of the paths shown (``pt`` keeps hashes only: paths are long text).
PATH_STEPS_SQL = """
SELECT p.path_hash, min(p.path) AS path FROM playthroughs AS p
WHERE p.path_hash IN ({hashes}) AND {where}
GROUP BY p.path_hash
"""

#: One pass over the events gives every per-node and per-choice count and the decision-time
#: histograms: reached, visits, explicit picks, timer defaults, rewinds away from a node. Grouped
#: by everything a selection filters on and by batch, so that the same query, run once over a
#: batch's events at export, gives the batch's pre-aggregated ``facts`` (a committed batch never
#: changes), and run at report time over the events of batches without them gives rows of the
#: same shape. ``{language}``: the playthrough's language (``w.language`` through the join).
FACTS_SQL = """
SELECT e.story_id, e.story_version, e.date, e.variant, e.origin, {language} AS language,
       e.kind, e.node, e.choice, e.target, e.timed_out,
       CAST(CASE WHEN e.kind = 'choice' AND NOT e.timed_out AND e.decision_ms IS NOT NULL
                 THEN {bucket} END AS INTEGER) AS bucket,
       count(*) AS n,
       sum(CASE WHEN e.visit THEN 1 ELSE 0 END) AS visits,
       sum(CASE WHEN e.first_visit THEN 1 ELSE 0 END) AS reached,
       e.export_batch
FROM {source}
WHERE e.kind IN ('enter', 'choice', 'rewind') AND {where}
GROUP BY e.story_id, e.story_version, e.date, e.variant, e.origin, {language},
         e.kind, e.node, e.choice, e.target, e.timed_out,
         CASE WHEN e.kind = 'choice' AND NOT e.timed_out AND e.decision_ms IS NOT NULL
              THEN {bucket} END,
         e.export_batch
"""

#: The counts of a selection: the facts rows (pre-aggregated, or computed above) added up.
SUM_FACTS_SQL = """
SELECT f.language, f.kind, f.node, f.choice, f.target, f.timed_out, f.bucket,
       sum(f.n) AS n, sum(f.visits) AS visits, sum(f.reached) AS reached
FROM {facts}
WHERE {where}
GROUP BY f.language, f.kind, f.node, f.choice, f.target, f.timed_out, f.bucket
"""

#: The events counted are those of each winner's own batch. A batch's pre-aggregated facts are
#: used when every row of the selection in it is a winner (the common case: no playthrough
#: exported twice); otherwise its events are read, joined to the winners. Without facts (a
#: folder exported before they were written) and without a language to tell apart, a batch of
#: winners is read without the join.
EVENTS_PLAIN = "events AS e"
EVENTS_JOINED = (
    "events AS e JOIN pt AS w ON w.playthrough_id = e.playthrough_id "
    "AND w.export_batch = e.export_batch"
)
NO_LANGUAGE = "CAST(NULL AS VARCHAR)"
COMMITTED_SQL = "SELECT export_batch FROM commits"
#: The selection's rows that are not counted: the other snapshots of the playthroughs held more
#: than once (few: found from the winners read more than once, without a join over all
#: playthroughs). Kept beside ``pt`` as ``superseded``: their batches' events are read joined
#: to the winners, and their exposures are not units.
SUPERSEDED_SQL = """
SELECT p.playthrough_id, p.export_batch
FROM playthroughs AS p
JOIN (SELECT playthrough_id, export_batch FROM pt WHERE versions > 1) AS w
  ON w.playthrough_id = p.playthrough_id
WHERE p.export_batch <> w.export_batch
  AND p.export_batch IN (SELECT c.export_batch FROM commits AS c) AND {where}
"""

#: Batches with a row of the selection that is not counted.
MIXED_BATCHES_SQL = "SELECT DISTINCT export_batch FROM superseded"

#: Committed rows of the selection per origin (a playthrough exported twice counts twice): which
#: origins the selection holds at all, without counting distinct ids over every playthrough.
ORIGIN_ROWS_SQL = """
SELECT origin, count(*) AS playthrough_rows
FROM playthroughs AS p
WHERE p.export_batch IN (SELECT c.export_batch FROM commits AS c) AND {where}
GROUP BY origin
"""

#: Playthroughs per origin (for choosing viewers' or simulated playthroughs, as ``--db`` does).
ORIGINS_SQL = """
SELECT origin, count(DISTINCT playthrough_id) AS playthroughs
FROM playthroughs AS p
WHERE p.export_batch IN (SELECT c.export_batch FROM commits AS c) AND {where}
GROUP BY origin
"""

#: What the folder holds, per story (for saying why a selection is empty).
STORIES_SQL = """
SELECT story_id, count(DISTINCT playthrough_id) AS playthroughs FROM playthroughs AS p
WHERE p.export_batch IN (SELECT c.export_batch FROM commits AS c)
GROUP BY story_id ORDER BY playthroughs DESC, story_id LIMIT 5
"""

# Experiments (branching.log.exposures): each viewer's first exposed playthrough is their unit
# (per story, origin and experiment; earliest exposure, ties by playthrough id); a unit counts
# its playthrough's outcome and ending, and its first choice at each node from the exposure on.

#: The units of one experiment, with their playthrough's winning row: each viewer's earliest
#: counted exposure (ties: the smallest playthrough id). The exposures counted are the
#: committed ones of the selection less those of ``superseded`` snapshots (a few), so only the
#: chosen exposure, one per viewer, is joined to the winners (not every exposure first: half
#: the CPU at 3.5 million exposures). An exposure without its playthrough's row in its batch
#: (a damaged folder) is not a unit.
UNITS_SQL = """
SELECT u.origin, u.viewer, u.arm, u.exposed_seq, w.playthrough_id, w.export_batch,
       w.status, w.ending
FROM (
  SELECT * FROM (
    SELECT x.origin, x.viewer, x.arm, x.seq AS exposed_seq, x.playthrough_id, x.export_batch,
           row_number() OVER (PARTITION BY x.origin, x.viewer
                              ORDER BY x.at, x.playthrough_id) AS unit_rank
    FROM exposures AS x
    LEFT JOIN superseded AS s
      ON s.playthrough_id = x.playthrough_id AND s.export_batch = x.export_batch
    WHERE x.experiment = {experiment} AND s.playthrough_id IS NULL
      AND x.export_batch IN (SELECT c.export_batch FROM commits AS c) AND {where}
  ) AS ranked
  WHERE unit_rank = 1
) AS u
JOIN pt AS w ON w.playthrough_id = u.playthrough_id AND w.export_batch = u.export_batch
"""

#: Viewers per (arm, metric, key) over the units: exposed, per outcome, per ending.
EXPERIMENT_COUNTS_SQL = """
SELECT arm, 'exposed' AS metric, '' AS key, count(*) AS viewers
FROM units GROUP BY arm
UNION ALL
SELECT arm, 'outcome', status, count(*) FROM units GROUP BY arm, status
UNION ALL
SELECT arm, 'ending', ending, count(*) FROM units
WHERE status = 'completed' AND ending IS NOT NULL GROUP BY arm, ending
"""

#: Viewers per arm and first choice at a node, with whether the timer chose it and the
#: decision-time bucket of an explicit pick: one pass over the units' first choices
#: (``{unit_choices}``, not kept), from which :func:`experiment_counts` adds up the ``choice``,
#: ``timeout`` and ``time`` counts.
UNIT_CHOICE_COUNTS_SQL = """
SELECT arm, node, choice, timed_out, bucket, count(*) AS viewers FROM (
  SELECT c.arm, c.node, c.choice, c.timed_out,
         CASE WHEN NOT c.timed_out AND c.decision_ms IS NOT NULL THEN {bucket} END AS bucket
  FROM ({unit_choices}) AS c
) AS picked
GROUP BY arm, node, choice, timed_out, bucket
"""

#: Each unit's first choice at each node, from its exposure on, read from the events of the
#: units' batches that match ``{batches}`` (those without pre-aggregated first choices).
FIRST_CHOICES_SQL = """
SELECT arm, node, choice, timed_out, decision_ms FROM (
  SELECT u.arm, e.node, e.choice, e.timed_out, e.decision_ms,
         row_number() OVER (PARTITION BY u.origin, u.viewer, e.node ORDER BY e.seq) AS pick
  FROM units AS u
  JOIN events AS e ON e.playthrough_id = u.playthrough_id AND e.export_batch = u.export_batch
  WHERE e.kind = 'choice' AND e.seq >= u.exposed_seq AND e.story_id = {story} AND {batches}
) AS ranked
WHERE pick = 1
"""

#: Pre-aggregation of :data:`FIRST_CHOICES_SQL`, run once per batch at export: per exposure
#: (playthrough, experiment, the exposure's seq), the playthrough's first choice at each node
#: from the exposure on. A unit is one playthrough with one exposure, so the window there per
#: (origin, viewer, node) is exactly this one per exposure and node (and story, which
#: FIRST_CHOICES_SQL filters the events on); about five rows per exposed playthrough.
EXPOSED_FIRST_CHOICES_SQL = """
SELECT story_id, playthrough_id, experiment, exposed_seq, node, choice, timed_out, decision_ms,
       export_batch
FROM (
  SELECT e.story_id, x.playthrough_id, x.experiment, x.seq AS exposed_seq, e.node, e.choice,
         e.timed_out, e.decision_ms, x.export_batch,
         row_number() OVER (PARTITION BY x.export_batch, x.playthrough_id, x.experiment, x.seq,
                                         e.story_id, e.node
                            ORDER BY e.seq) AS pick
  FROM exposures AS x
  JOIN events AS e ON e.playthrough_id = x.playthrough_id AND e.export_batch = x.export_batch
  WHERE e.kind = 'choice' AND e.seq >= x.seq AND {where}
) AS ranked
WHERE pick = 1
"""

#: :data:`FIRST_CHOICES_SQL` for the units of batches with pre-aggregated first choices: the
#: units joined with their exposure's rows, no window and no events.
UNIT_FIRST_CHOICES_SQL = """
SELECT u.arm, f.node, f.choice, f.timed_out, f.decision_ms
FROM units AS u
JOIN first_choices AS f ON f.playthrough_id = u.playthrough_id
  AND f.export_batch = u.export_batch AND f.exposed_seq = u.exposed_seq
WHERE f.experiment = {experiment} AND f.story_id = {story} AND {batches}
"""


# --- Running them -------------------------------------------------------------------------------


class Engine(Protocol):
    """What an engine offers: run a SELECT written in DuckDB's dialect (the engine transpiles
    it), and keep a SELECT's result as a named relation for the next queries."""

    name: str
    #: Batches whose pre-aggregated facts, and first choices, the engine can read.
    facts: set[str]
    first_choices: set[str]

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...
    def keep(self, name: str, sql: str) -> None: ...
    def drop(self, name: str) -> None: ...


@dataclass
class TallyInfo:
    """A selection's tally, with what the engine read to compute it."""

    tally: Tally
    story_hashes: list[str]
    #: Playthroughs per language as logged (``None``: not known).
    languages: dict[str | None, int] = field(default_factory=dict)
    rows_read: int = 0
    superseded: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: Per language (``unknown`` for none), the choice counts, when there are several languages.
    by_language: dict[str, dict[tuple[str, str, str], ChoiceCounts]] = field(default_factory=dict)
    #: Batches counted from their pre-aggregated facts, and from their events.
    from_facts: int = 0
    from_events: int = 0


def compute_tally(
    engine: Engine,
    selection: Selection,
    *,
    top: int | None = 20,
    clock: Callable[[], float] = time.perf_counter,
    keep_counted: bool = False,
) -> TallyInfo:
    """The :class:`Tally` of ``selection`` (the ``top`` most popular paths; ``None``: all).

    ``keep_counted``: leave the selection's winners kept (:func:`keep_winners`, for
    :func:`experiment_counts` over the same playthroughs); the caller drops them
    (:func:`drop_winners`)."""
    timings: dict[str, float] = {}
    started = clock()

    def lap(name: str) -> None:
        nonlocal started
        now = clock()
        timings[name] = round(now - started, 3)
        started = now

    tally = Tally()
    keep_winners(engine, selection)
    lap("winners")
    for status, last, rewound, count in engine.rows(OUTCOMES_SQL):
        tally.outcomes[(status, last, bool(rewound))] += int(count)
    ((playthroughs, viewers, rows_read),) = engine.rows(TOTALS_SQL)
    tally.viewers = int(viewers or 0)
    ((distinct,),) = engine.rows(DISTINCT_PATHS_SQL)
    tally.distinct_paths = int(distinct or 0)
    hashes = sorted(str(h) for (h,) in engine.rows(HASHES_SQL))
    languages = {language: int(count) for language, count in engine.rows(LANGUAGES_SQL)}
    limit = "" if top is None else f"LIMIT {max(int(top), 0):d}"
    top_paths = engine.rows(TOP_PATHS_SQL.format(limit=limit))
    steps_of: dict[int, tuple[str, ...]] = {}
    if top_paths:
        hashes_in = ", ".join(sorted({str(int(h)) for h, *_ in top_paths}))
        sql = PATH_STEPS_SQL.format(hashes=hashes_in, where=selection_sql(selection, "p"))
        for h, path in engine.rows(sql):
            steps_of[int(h)] = tuple(path.split("\n")) if path else ()
    for h, status, last, count in top_paths:
        tally.paths[(int(h), status, last)] = PathCounts(int(count), steps_of[int(h)])
    lap("playthroughs")

    superseded = int(rows_read or 0) - int(playthroughs or 0)
    committed = {str(b) for (b,) in engine.rows(COMMITTED_SQL)}
    mixed: set[str] = set()
    if superseded:
        mixed = {str(b) for (b,) in engine.rows(MIXED_BATCHES_SQL)}
    # Languages apart: shares per language when there are several, or a language filter.
    by_language = selection.language is not None or len(languages) > 1
    from_facts = sorted((committed - mixed) & engine.facts)
    raw = committed - set(from_facts)
    plain = set() if by_language else raw - mixed
    queries = []
    if from_facts:
        listed = ", ".join(_lit(b) for b in from_facts)
        queries.append(
            SUM_FACTS_SQL.format(
                facts="facts AS f",
                where=f"{selection_sql(selection, 'f')} AND f.export_batch IN ({listed})",
            )
        )
    for batches, source, language in (
        (sorted(plain), EVENTS_PLAIN, NO_LANGUAGE),
        (sorted(raw - plain), EVENTS_JOINED, "w.language"),
    ):
        if batches:
            listed = ", ".join(_lit(b) for b in batches)
            facts = facts_sql(
                source,
                language,
                f"{selection_sql(replace(selection, language=None), 'e', language=False)} "
                f"AND e.export_batch IN ({listed})",
            )
            queries.append(SUM_FACTS_SQL.format(facts=f"({facts}) AS f", where="TRUE"))
    per_language: dict[str, dict[tuple[str, str, str], ChoiceCounts]] = {}
    for sql in queries:
        for language, kind, node, choice, target, timed_out, b, n, visits, reached in engine.rows(
            sql
        ):
            n = int(n)
            if kind == "enter":
                counts = tally.node(node)
                counts.visits += int(visits)
                counts.reached += int(reached)
            elif kind == "choice":
                counts = tally.node(node)
                chosen = tally.choices.setdefault((node, choice, target), ChoiceCounts())
                mine = per_language.setdefault(language or UNKNOWN_LANGUAGE, {}).setdefault(
                    (node, choice, target), ChoiceCounts()
                )
                if timed_out:
                    counts.timeouts += n
                    chosen.timeouts += n
                    mine.timeouts += n
                else:
                    counts.explicit += n
                    chosen.explicit += n
                    mine.explicit += n
                    if b is not None:
                        counts.times[int(b)] += n
            else:  # rewind: away from its node
                tally.node(node).rewinds += n
    lap("events")
    if not keep_counted:
        drop_winners(engine)
    info = TallyInfo(tally, hashes, languages, int(rows_read or 0), superseded, timings)
    info.from_facts, info.from_events = len(from_facts), len(raw)
    if len(languages) > 1:
        info.by_language = per_language
    return info


def keep_winners(engine: Engine, selection: Selection) -> None:
    """Keep the selection's counted rows (``pt``) and the rows they supersede
    (``superseded``)."""
    engine.keep("pt", WINNERS_SQL.format(where=selection_sql(selection, "p")))
    engine.keep("superseded", SUPERSEDED_SQL.format(where=selection_sql(selection, "p")))


def drop_winners(engine: Engine) -> None:
    """Drop what :func:`keep_winners` kept."""
    engine.drop("superseded")
    engine.drop("pt")


def facts_sql(source: str, language: str, where: str) -> str:
    """:data:`FACTS_SQL` over ``source`` (events aliased ``e``)."""
    return FACTS_SQL.format(
        source=source, language=language, where=where, bucket=bucket_sql("e.decision_ms")
    )


def origin_counts(engine: Engine, selection: Selection) -> Counter[str]:
    """Playthroughs of the selection per origin (the selection's own origins, or all)."""
    sql = ORIGINS_SQL.format(where=selection_sql(selection, "p"))
    return Counter({str(o): int(n) for o, n in engine.rows(sql)})


def origin_rows(engine: Engine, selection: Selection) -> Counter[str]:
    """Committed rows of the selection (its origins aside) per origin: non-zero exactly where
    :func:`origin_counts` is, and a tenth of its cost (no distinct ids)."""
    sql = ORIGIN_ROWS_SQL.format(where=selection_sql(replace(selection, origins=None), "p"))
    return Counter({str(o): int(n) for o, n in engine.rows(sql)})


def story_counts(engine: Engine) -> list[tuple[str, int]]:
    """The stories the folder holds most playthroughs of, with their counts."""
    return [(str(s), int(n)) for s, n in engine.rows(STORIES_SQL)]


def experiment_selection(story_id: str, origins: Sequence[str] | None) -> Selection:
    """The playthroughs an experiment counts: the story's, of the origins (every version,
    variant, day and language, as the log's experiment counts)."""
    return Selection(story_id, origins=None if origins is None else tuple(origins))


def experiment_counts(
    engine: Engine,
    story_id: str,
    experiment: str,
    origins: Sequence[str] | None,
    *,
    winners_kept: Selection | None = None,
) -> dict[str, Counter[tuple[str, str, str]]]:
    """Per arm, the experiment's viewer counts, as
    :func:`analytics.rollups.read_experiment_counts` reads them from the log.

    ``winners_kept``: the selection whose winners are kept
    (``compute_tally(..., keep_counted=True)``); when it is the experiment's own, they are not
    computed again."""
    chosen = experiment_selection(story_id, origins)
    reuse = winners_kept == chosen
    if not reuse:
        keep_winners(engine, chosen)
    units = UNITS_SQL.format(
        experiment=_lit(experiment), where=selection_sql(chosen, "x", language=False)
    )
    engine.keep("units", units)
    found: dict[str, Counter[tuple[str, str, str]]] = {}
    for arm, metric, key, viewers in engine.rows(EXPERIMENT_COUNTS_SQL):
        found.setdefault(str(arm), Counter())[(str(metric), "", str(key))] += int(viewers)
    sql = UNIT_CHOICE_COUNTS_SQL.format(
        unit_choices=unit_choices_sql(engine, story_id, experiment),
        bucket=bucket_sql("c.decision_ms"),
    )
    for arm, node, choice, timed_out, b, viewers in engine.rows(sql):
        counts, n = found.setdefault(str(arm), Counter()), int(viewers)
        counts[("choice", str(node), str(choice))] += n
        if timed_out:
            counts[("timeout", str(node), "")] += n
        if b is not None:  # an explicit pick with its decision time
            counts[("time", str(node), str(int(b)))] += n
    engine.drop("units")
    if not reuse:
        drop_winners(engine)
    return found


def unit_choices_sql(engine: Engine, story_id: str, experiment: str) -> str:
    """The units' first choices (over ``units``): from the pre-aggregated first choices of the
    units' batches that have them, from the events of the others (older exports)."""
    batches = {str(b) for (b,) in engine.rows("SELECT DISTINCT export_batch FROM units")}
    ready = sorted(batches & engine.first_choices)
    raw = sorted(batches - engine.first_choices)
    story = _lit(story_id)
    parts = []
    if ready:
        listed = f"u.export_batch IN ({', '.join(_lit(b) for b in ready)})"
        parts.append(
            UNIT_FIRST_CHOICES_SQL.format(experiment=_lit(experiment), story=story, batches=listed)
        )
    if raw or not parts:  # no units at all: an empty relation of the same shape
        listed = f"u.export_batch IN ({', '.join(_lit(b) for b in raw)})" if raw else "FALSE"
        parts.append(FIRST_CHOICES_SQL.format(story=story, batches=listed))
    return "\nUNION ALL\n".join(parts)


def exposed_first_choices_sql(where: str) -> str:
    """:data:`EXPOSED_FIRST_CHOICES_SQL` (exposures aliased ``x``, events ``e``), in a fixed
    order so that the same batch always gives the same file."""
    return (
        f"SELECT * FROM ({EXPOSED_FIRST_CHOICES_SQL.format(where=where)}) AS f "
        "ORDER BY f.playthrough_id, f.experiment, f.exposed_seq, f.story_id, f.node"
    )


def every_query(selection: Selection) -> dict[str, str]:
    """Each definition as the engines run it, for reading and for the transpile tests."""
    return {
        "winners": WINNERS_SQL.format(where=selection_sql(selection, "p")),
        "outcomes": OUTCOMES_SQL,
        "totals": TOTALS_SQL,
        "distinct_paths": DISTINCT_PATHS_SQL,
        "languages": LANGUAGES_SQL,
        "top_paths": TOP_PATHS_SQL.format(limit="LIMIT 10"),
        "path_steps": PATH_STEPS_SQL.format(hashes="1, 2", where=selection_sql(selection, "p")),
        "facts": facts_sql(EVENTS_JOINED, "w.language", selection_sql(selection, "e")),
        "sum_facts": SUM_FACTS_SQL.format(facts="facts AS f", where=selection_sql(selection, "f")),
        "superseded": SUPERSEDED_SQL.format(where=selection_sql(selection, "p")),
        "mixed_batches": MIXED_BATCHES_SQL,
        "origin_rows": ORIGIN_ROWS_SQL.format(where=selection_sql(selection, "p")),
        "origins": ORIGINS_SQL.format(where=selection_sql(selection, "p")),
        "units": UNITS_SQL.format(
            experiment=_lit("exp"),
            where=selection_sql(
                experiment_selection(selection.story_id, selection.origins), "x", language=False
            ),
        ),
        "first_choices": FIRST_CHOICES_SQL.format(
            story=_lit(selection.story_id), batches="u.export_batch IN ('a', 'b')"
        ),
        "exposed_first_choices": exposed_first_choices_sql("x.export_batch = 'a'"),
        "unit_first_choices": UNIT_FIRST_CHOICES_SQL.format(
            experiment=_lit("exp"), story=_lit(selection.story_id), batches="TRUE"
        ),
        "experiment_counts": EXPERIMENT_COUNTS_SQL,
        "unit_choice_counts": UNIT_CHOICE_COUNTS_SQL.format(
            unit_choices=FIRST_CHOICES_SQL.format(
                story=_lit(selection.story_id), batches="u.export_batch IN ('a', 'b')"
            ),
            bucket=bucket_sql("c.decision_ms"),
        ),
    }
