"""From a choice log to a report: choose the cohorts, read the roll-ups, explain empty results.

:func:`load_report` is what ``branching report`` calls. :func:`raw_playthroughs` reads the raw
events instead (the source of truth), for checks and for :func:`load_report` with
``exact=True``, which recomputes everything from the events.
"""

from __future__ import annotations

import datetime as dt
import shlex
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from analytics.report import UNKNOWN_LANGUAGE, Report, Selection, build_report
from analytics.rollups import Cohort, cohort_playthroughs, cohorts, read_choices, read_tally
from analytics.tally import ChoiceCounts, Playthrough, Tally, tally_playthroughs
from branching.log.rollups import utc_day
from branching.log.state import EVENT_COLUMNS, row_to_event
from branching.story.model import Story

if TYPE_CHECKING:
    from analytics.experiments import ExperimentReport


class NoData(Exception):
    """Nothing to report; ``str()`` says why and what the log does hold."""


def select_cohorts(all_cohorts: list[Cohort], selection: Selection) -> list[Cohort]:
    """The cohorts a selection reads: the all-days ones, or day ones when dates are given."""
    return [
        c
        for c in all_cohorts
        if bool(c.day) == selection.dated
        and selection.matches(c.story_id, c.story_version, c.variant, c.day, c.origin, c.language)
    ]


def _describe_versions(conn: sqlite3.Connection, found: list[Cohort]) -> str:
    by_version: defaultdict[str | None, list[int]] = defaultdict(list)
    for c in found:
        if c.day == "":
            by_version[c.story_version].append(c.id)
    parts = []
    for version, ids in sorted(by_version.items(), key=lambda kv: kv[0] or ""):
        n = cohort_playthroughs(conn, ids)
        name = "no version" if version is None else f"version {version}"
        parts.append(f"{name}: {n:,} playthrough{'s' if n != 1 else ''}")
    return "; ".join(parts)


def _count_by(
    conn: sqlite3.Connection, found: list[Cohort], key: Callable[[Cohort], str | None]
) -> list[tuple[str | None, int]]:
    """Playthroughs per value of ``key`` over the all-days cohorts, most first."""
    ids: defaultdict[str | None, list[int]] = defaultdict(list)
    for c in found:
        if c.day == "":
            ids[key(c)].append(c.id)
    counted = [(value, cohort_playthroughs(conn, group)) for value, group in ids.items()]
    return sorted(counted, key=lambda item: (-item[1], item[0] or ""))


def _listed(counts: list[tuple[str | None, int]], none: str) -> str:
    return ", ".join(f"{none if value is None else repr(value)} ({n:,})" for value, n in counts)


def explain_empty(
    conn: sqlite3.Connection,
    story: Story,
    selection: Selection,
    source: str,
    story_path: str | None = None,
) -> str:
    """Why a selection has no playthroughs, in a sentence or two with a way forward.

    ``story_path`` is the story file as the user named it, for the commands suggested.
    """
    (total,) = conn.execute("SELECT count(*) FROM playthroughs").fetchone()
    if not total:
        path = shlex.quote(story_path) if story_path else "STORY.json"
        return (
            f"The choice log {source} is empty: no playthroughs yet. Play the story "
            f"(branching play {path}) or simulate an audience (branching simulate {path} "
            "--playthroughs 1000) to preview a report."
        )
    mine = cohorts(conn, story.id)
    if not mine:
        others = conn.execute(
            "SELECT story_id, count(*) FROM playthroughs GROUP BY story_id ORDER BY 2 DESC LIMIT 5"
        ).fetchall()
        listed = ", ".join(f"{sid!r} ({n:,})" for sid, n in others)
        return (
            f"The choice log {source} has no playthroughs of story {story.id!r} "
            f"({story.title}). It has playthroughs of: {listed}. Is this the right story file "
            "or the right --db?"
        )
    if selection.variant is not None and not any(c.variant == selection.variant for c in mine):
        variants = _listed(_count_by(conn, mine, lambda c: c.variant), "no variant")
        origins = _listed(_count_by(conn, mine, lambda c: c.origin), "none")
        return (
            f"The log has no playthroughs of {story.id!r} with the variant "
            f"{selection.variant!r}. Variants it has: {variants}; origins: {origins}. "
            "Name one of them with --variant, or leave --variant out for all."
        )
    have = _describe_versions(conn, mine)
    origins = _listed(_count_by(conn, mine, lambda c: c.origin), "none")
    return (
        f"No playthroughs of {story.id!r} match the filters ({selection.describe()}). "
        f"The log has {have} (origins: {origins}). Try --all-versions, --version, "
        "--origin or other dates."
    )


def load_report(
    conn: sqlite3.Connection,
    story: Story,
    selection: Selection,
    *,
    top: int = 20,
    source: str = "",
    exact: bool = False,
    now: dt.datetime | None = None,
    auto_origins: bool = False,
    experiment: str | None = None,
    story_path: str | None = None,
) -> Report:
    """The report of ``story`` over the selected playthroughs of the log on ``conn``.

    Reads the roll-ups (cost independent of the number of events), or recomputes from the raw
    events with ``exact=True``.

    ``experiment``: analyse only this experiment of the story (default: every one it has).

    ``auto_origins``: report viewers (``live`` and ``imported`` playthroughs) and say how many
    simulated ones were left out, or, when only simulated playthroughs match, report those and
    say so; ``selection.origins`` is then ignored.

    Raises:
        NoData: no playthrough matches; the message says what the log holds instead.
    """
    notes: list[str] = []
    if auto_origins:
        selection, note = _choose_origins(conn, story, selection)
        if note:
            notes.append(note)
    chosen = select_cohorts(cohorts(conn, story.id), selection)
    by_language: dict[str, dict[tuple[str, str, str], ChoiceCounts]] = {}
    languages: dict[str, int] = {}
    if exact:
        matching = [
            p
            for p in raw_playthroughs(conn, story.id)
            if selection.matches(
                p.story_id, p.story_version, p.variant, p.day, p.origin, p.language
            )
        ]
        tally = tally_playthroughs(matching)
        groups: defaultdict[str, list[Playthrough]] = defaultdict(list)
        for p in matching:
            groups[p.language or UNKNOWN_LANGUAGE].append(p)
        languages = {language: len(group) for language, group in groups.items()}
        if len(groups) > 1:
            by_language = {
                language: dict(tally_playthroughs(group).choices)
                for language, group in groups.items()
            }
    else:
        tally = read_tally(conn, [c.id for c in chosen], top=top) if chosen else Tally()
        ids: defaultdict[str, list[int]] = defaultdict(list)
        for c in chosen:
            ids[c.language or UNKNOWN_LANGUAGE].append(c.id)
        languages = {language: cohort_playthroughs(conn, group) for language, group in ids.items()}
        if len(ids) > 1:
            by_language = {language: read_choices(conn, group) for language, group in ids.items()}
    languages = dict(sorted(languages.items(), key=lambda item: (-item[1], item[0])))
    by_language = {
        language: by_language[language] for language in languages if language in by_language
    }
    if not tally.playthroughs:
        raise NoData(explain_empty(conn, story, selection, source, story_path))
    note = story_files_note(sorted({c.story_hash for c in chosen}), story.content_hash)
    if note:
        notes.append(note)
    report = build_report(
        story,
        tally,
        selection,
        top=top,
        source=source,
        notes=notes,
        now=now,
        languages=languages,
        by_language=by_language,
    )
    if story.experiments:
        report.experiments = load_experiments(conn, story, selection, only=experiment, exact=exact)
    return report


def story_files_note(hashes: list[str], mine: str | None) -> str | None:
    """The note for playthroughs logged with other files of the story (``hashes`` sorted)."""
    if len(hashes) > 1 or (hashes and mine and hashes != [mine]):
        listed = ", ".join(hashes[:4]) + (", ..." if len(hashes) > 4 else "")
        where = "another file" if len(hashes) == 1 else f"{len(hashes)} different files"
        return (
            f"Playthroughs were logged with {where} of this story ({listed}); this report "
            f"measures them against this file ({mine or 'unsaved'}), so content changed since "
            "may show as dark or as not in the story."
        )
    return None


def experiment_note(selection: Selection) -> str:
    """What every experiment report says about its unit and filters."""
    origins = "every origin" if selection.origins is None else " and ".join(selection.origins)
    return (
        f"Viewers of {origins} playthroughs; story versions, dates and variants are not "
        "applied to experiments: the whole experiment is analysed."
    )


def load_experiments(
    conn: sqlite3.Connection,
    story: Story,
    selection: Selection,
    *,
    only: str | None = None,
    exact: bool = False,
) -> list[ExperimentReport]:
    """The story's experiments (or ``only`` that one), per viewer, over the selection's
    origins. Versions, dates and variants do not apply: an experiment is analysed whole."""
    from analytics.experiments import build_experiment
    from analytics.rollups import read_experiment_counts

    ids = [only] if only is not None else list(story.experiments)
    if exact:
        from branching.log.exposures import recount_experiments

        recounted = recount_experiments(conn)
    reports = []
    for experiment_id in ids:
        if exact:
            counts: dict[str, Counter[tuple[str, str, str]]] = {}
            for (sid, origin, eid, arm, metric, node, key), n in recounted.items():
                if (
                    sid == story.id
                    and eid == experiment_id
                    and n
                    and (selection.origins is None or origin in selection.origins)
                ):
                    counts.setdefault(arm, Counter())[(metric, node, key)] += n
        else:
            counts = read_experiment_counts(conn, story.id, experiment_id, selection.origins)
        result = build_experiment(story, experiment_id, counts)
        result.notes.append(experiment_note(selection))
        reports.append(result)
    return reports


#: Playthroughs of people: played here or imported from elsewhere.
REAL_ORIGINS = ("live", "imported")


def _choose_origins(
    conn: sqlite3.Connection, story: Story, selection: Selection
) -> tuple[Selection, str | None]:
    found = cohorts(conn, story.id)
    real = replace(selection, origins=REAL_ORIGINS)
    simulated = replace(selection, origins=("simulated",))
    n_real = cohort_playthroughs(conn, [c.id for c in select_cohorts(found, real)])
    n_simulated = cohort_playthroughs(conn, [c.id for c in select_cohorts(found, simulated)])
    return choose_origins(selection, n_real, n_simulated)


def choose_origins(
    selection: Selection, n_real: int, n_simulated: int
) -> tuple[Selection, str | None]:
    """Viewers' playthroughs (and a note on the simulated ones left out), or the simulated
    ones when only they match, given how many of each the selection holds."""
    real = replace(selection, origins=REAL_ORIGINS)
    simulated = replace(selection, origins=("simulated",))
    if n_real or not n_simulated:
        note = (
            f"{n_simulated:,} simulated playthrough{'s are' if n_simulated != 1 else ' is'} "
            "left out (--origin simulated shows them)."
            if n_simulated
            else None
        )
        return real, note
    return simulated, (
        "Only simulated playthroughs match: this report is on a simulated audience "
        "(branching simulate), not on viewers."
    )


def raw_playthroughs(
    conn: sqlite3.Connection, story_id: str | None = None
) -> Iterator[Playthrough]:
    """Every playthrough (of one story, if given) with its events, from the raw tables."""
    where = "" if story_id is None else " WHERE story_id = ?"
    args: tuple[str, ...] = () if story_id is None else (story_id,)
    days: dict[int, str] = {}
    for (
        pk,
        pid,
        viewer,
        sid,
        version,
        story_hash,
        variant,
        origin,
        started,
        language,
    ) in conn.execute(
        "SELECT pk, id, viewer, story_id, story_version, story_hash, variant, origin, "
        "started_at, language FROM playthroughs" + where + " ORDER BY pk",
        args,
    ).fetchall():
        rows = conn.execute(
            "SELECT " + ", ".join(EVENT_COLUMNS) + " FROM events WHERE playthrough = ? "
            "ORDER BY seq",
            (pk,),
        ).fetchall()
        yield Playthrough(
            pid,
            viewer,
            [row_to_event(r) for r in rows],
            sid,
            version,
            story_hash,
            variant,
            utc_day(started, days),
            origin,
            language,
        )
