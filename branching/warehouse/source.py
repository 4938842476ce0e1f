"""From an engine to a report: the same :class:`~analytics.report.Report` ``--db`` builds.

Mirrors :func:`analytics.source.load_report` step by step (choosing viewers' or simulated
playthroughs, the note on story files, the experiments), with the counts from
:mod:`branching.warehouse.metrics` instead of the log's roll-ups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from analytics.report import UNKNOWN_LANGUAGE, Report, Selection, build_report
from analytics.source import (
    REAL_ORIGINS,
    NoData,
    choose_origins,
    experiment_note,
    story_files_note,
)
from branching.story.model import Story
from branching.warehouse.metrics import (
    Engine,
    TallyInfo,
    compute_tally,
    drop_winners,
    experiment_counts,
    experiment_selection,
    origin_counts,
    origin_rows,
    story_counts,
)


def _choose_origins(engine: Engine, selection: Selection) -> tuple[Selection, str | None]:
    rows = origin_rows(engine, selection)
    n_real, n_simulated = sum(rows[o] for o in REAL_ORIGINS), rows["simulated"]
    if n_real and n_simulated:  # the note says how many simulated playthroughs are left out
        simulated = replace(selection, origins=("simulated",))
        n_simulated = origin_counts(engine, simulated)["simulated"]
    return choose_origins(selection, n_real, n_simulated)


def _explain_empty(engine: Engine, story: Story, selection: Selection, source: str) -> str:
    stories = story_counts(engine)
    if not stories:
        return (
            f"The export folder {source} holds no playthroughs yet: export a choice log into it "
            "with `branching log export --format parquet -o FOLDER`."
        )
    if story.id not in {s for s, _ in stories}:
        listed = ", ".join(f"{s!r} ({n:,})" for s, n in stories)
        return (
            f"The export folder {source} has no playthroughs of story {story.id!r} "
            f"({story.title}). It has playthroughs of: {listed}."
        )
    return (
        f"No playthroughs of {story.id!r} in {source} match the filters "
        f"({selection.describe()}). Try --all-versions, --version, --origin or other dates."
    )


def load_engine_report(
    engine: Engine,
    story: Story,
    selection: Selection,
    *,
    top: int = 20,
    source: str = "",
    now: dt.datetime | None = None,
    auto_origins: bool = False,
    experiment: str | None = None,
) -> tuple[Report, TallyInfo]:
    """The report of ``story`` over the selected playthroughs an engine reads.

    Raises:
        NoData: no playthrough matches; the message says what the folder holds instead.
    """
    notes: list[str] = []
    if auto_origins:
        selection, note = _choose_origins(engine, selection)
        if note:
            notes.append(note)
    # The experiments count every version, day and language of the selection's origins: when
    # the report's selection is that too, its winners serve both.
    shared = experiment_selection(story.id, selection.origins)
    reuse = bool(story.experiments) and selection == shared
    info = compute_tally(engine, selection, top=top, keep_counted=reuse)
    tally = info.tally
    if not tally.playthroughs:
        if reuse:
            drop_winners(engine)
        raise NoData(_explain_empty(engine, story, selection, source))
    note = story_files_note(info.story_hashes, story.content_hash)
    if note:
        notes.append(note)
    # Playthroughs per language, and choice shares per language side by side, as the log gives
    # them (analytics.source.load_report).
    languages: dict[str, int] = {}
    for language, count in info.languages.items():
        name = language or UNKNOWN_LANGUAGE
        languages[name] = languages.get(name, 0) + count
    languages = dict(sorted(languages.items(), key=lambda item: (-item[1], item[0])))
    report = build_report(
        story,
        tally,
        selection,
        top=top,
        source=source,
        notes=notes,
        now=now,
        languages=languages,
        by_language={language: info.by_language.get(language, {}) for language in languages}
        if len(languages) > 1
        else None,
    )
    if story.experiments:
        from analytics.experiments import build_experiment

        ids = [experiment] if experiment is not None else list(story.experiments)
        reports = []
        for experiment_id in ids:
            counts = experiment_counts(
                engine,
                story.id,
                experiment_id,
                selection.origins,
                winners_kept=shared if reuse else None,
            )
            result = build_experiment(story, experiment_id, counts)
            result.notes.append(experiment_note(selection))
            reports.append(result)
        report.experiments = reports
    if reuse:
        drop_winners(engine)
    return report, info
