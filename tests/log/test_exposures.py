"""Experiment exposures in the log: each viewer counted once, through their first exposed
playthrough, whatever wrote the events (live, bulk, merge) and in whatever order."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from analytics.simulate import SimulationOptions, simulate
from branching.cli import main
from branching.log import ChoiceLog, merge_into
from branching.log.encoding import time_bucket
from branching.log.exposures import experiment_snapshot, rebuild_experiments, recount_experiments
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Exposed,
    NodeEntered,
    Quit,
)
from tests.log.helpers import info
from tests.play.test_experiment_play import story


def counts(log: ChoiceLog) -> Counter[tuple[object, ...]]:
    return Counter(
        {tuple(row[:-1]): row[-1] for row in log.conn.execute("SELECT * FROM rollup_experiments")}
    )


def exposed_run(choice: str, *, arm: str = "new", finish: bool = True) -> list[Event]:
    events: list[Event] = [
        NodeEntered("gate"),
        ChoiceMade("gate", "edge", "edge", 1000),
        NodeEntered("edge"),
        Exposed("wording", arm, "edge"),
        ChoiceMade("edge", choice, "sea" if choice == "jump" else "path", 2000),
        NodeEntered("sea" if choice == "jump" else "path"),
    ]
    node = "sea" if choice == "jump" else "path"
    events.append(EndingReached(node, None, "neutral") if finish else Quit(node))
    return events


def test_live_events_move_the_counts_as_the_playthrough_goes_on(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "log.db") as log:
        recorder = log.start_playthrough(info("ann", story="cliff"))
        events = exposed_run("jump")
        for event in events[:4]:  # exposed at the cliff, not chosen yet
            recorder.record(event)
        assert counts(log) == {
            ("cliff", "live", "wording", "new", "exposed", "", ""): 1,
            ("cliff", "live", "wording", "new", "outcome", "", "open"): 1,
        }
        for event in events[4:]:
            recorder.record(event)
        assert counts(log) == {
            ("cliff", "live", "wording", "new", "exposed", "", ""): 1,
            ("cliff", "live", "wording", "new", "outcome", "", "completed"): 1,
            ("cliff", "live", "wording", "new", "ending", "", "sea"): 1,
            ("cliff", "live", "wording", "new", "choice", "edge", "jump"): 1,
            ("cliff", "live", "wording", "new", "time", "edge", str(time_bucket(2000))): 1,
        }
        # The same viewer plays again: still one unit, their first exposed playthrough.
        again = log.start_playthrough(info("ann", story="cliff"))
        for event in exposed_run("walk"):
            again.record(event)
        assert counts(log)[("cliff", "live", "wording", "new", "exposed", "", "")] == 1
        assert counts(log)[("cliff", "live", "wording", "new", "choice", "edge", "walk")] == 0
        assert counts(log) == recount_experiments(log.conn)


def test_bulk_writes_equal_a_recount_and_a_rebuild(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "log.db") as log:
        with log.bulk_writer(batch_size=50) as writer:
            simulate(
                story(), SimulationOptions(400, seed=3, quit_rate=0.2, rewind_rate=0.2), writer
            )
        written = counts(log)
        assert written[("cliff", "simulated", "wording", "old", "exposed", "", "")] > 50
        assert written == recount_experiments(log.conn)
        before = experiment_snapshot(log.conn)
        with log.write_transaction() as conn:
            rebuild_experiments(conn)
        assert experiment_snapshot(log.conn) == before


def test_one_batch_with_repeat_viewers_equals_a_recount(tmp_path: Path) -> None:
    """A bulk batch holding several exposed playthroughs of one viewer, later ones first, and
    viewers whose unit an earlier batch made: each viewer's earliest exposure is their unit,
    exactly as a recount from the events finds it (the batch's new units are written together,
    so the repeats must still see them)."""
    with ChoiceLog.open(tmp_path / "log.db") as log:
        with log.bulk_writer(batch_size=1_000_000) as writer:  # one transaction each
            for viewer in ("ann", "bob"):
                start = 5_000.0
                writer.write_playthrough(
                    info(viewer, story="cliff"),
                    [(start + i, e) for i, e in enumerate(exposed_run("walk"))],
                )
        with log.bulk_writer(batch_size=1_000_000) as writer:
            for viewer, start, choice in (
                ("cy", 9_000.0, "walk"),
                ("cy", 1_000.0, "jump"),  # earlier than the one before it in the batch
                ("cy", 3_000.0, "walk"),
                ("ann", 1_000.0, "jump"),  # earlier than the unit already in the file
                ("bob", 9_000.0, "jump"),  # later: bob's unit stays
                ("dee", 2_000.0, "jump"),
            ):
                writer.write_playthrough(
                    info(viewer, story="cliff"),
                    [(start + i, e) for i, e in enumerate(exposed_run(choice))],
                )
        written = counts(log)
        assert written == recount_experiments(log.conn)
        by_choice = {key[-1]: n for key, n in written.items() if key[4] == "choice" and n}
        assert by_choice == {"jump": 3, "walk": 1}  # cy, ann, dee jumped; bob walked
        before = experiment_snapshot(log.conn)
        with log.write_transaction() as conn:
            rebuild_experiments(conn)
        assert experiment_snapshot(log.conn) == before


def test_the_first_exposure_wins_whatever_the_merge_order(tmp_path: Path) -> None:
    """A viewer exposed on two machines: the earlier playthrough is their unit, and merging
    in either order gives the same tables."""
    rng = random.Random(5)
    early, late = tmp_path / "early.db", tmp_path / "late.db"
    for path, start, choice in ((early, 1_000.0, "jump"), (late, 5_000.0, "walk")):
        with ChoiceLog.open(path) as log, log.bulk_writer() as writer:
            for viewer in ("ann", "bob", "cy"):
                times = [start + i + rng.random() for i in range(7)]
                writer.write_playthrough(
                    info(viewer, story="cliff"), list(zip(times, exposed_run(choice), strict=True))
                )
    snapshots = []
    for order in ((early, late), (late, early)):
        target = tmp_path / f"merged-{order[0].stem}.db"
        with ChoiceLog.open(target) as log:
            for source in order:
                merge_into(log, source)
            snapshots.append(experiment_snapshot(log.conn))
            by_choice = {key[-1]: n for key, n in counts(log).items() if key[4] == "choice" and n}
            assert by_choice == {"jump": 3}  # the early machine's playthroughs
            assert counts(log) == recount_experiments(log.conn)
    assert snapshots[0] == snapshots[1]


def test_forgetting_a_viewer_takes_them_out_of_the_experiment(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with ChoiceLog.open(db) as log:
        for viewer, choice in (("ann", "jump"), ("bob", "walk")):
            recorder = log.start_playthrough(info(viewer, story="cliff"))
            for event in exposed_run(choice):
                recorder.record(event)
        exported = log.export_viewer("ann")
        assert exported["playthroughs"][0]["exposures"][0]["arm"] == "new"
        log.forget_viewer("ann")
        assert counts(log)[("cliff", "live", "wording", "new", "exposed", "", "")] == 1
        assert log.conn.execute("SELECT count(*) FROM exposures").fetchone() == (1,)
        assert counts(log) == recount_experiments(log.conn)
    result = CliRunner().invoke(main, ["log", "rebuild-rollups", "--check", "--db", str(db)])
    assert result.exit_code == 0, result.output


def test_viewer_export_shows_assignments(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with ChoiceLog.open(db) as log:
        recorder = log.start_playthrough(info("ann", story="cliff"))
        for event in exposed_run("jump"):
            recorder.record(event)
    result = CliRunner().invoke(main, ["viewer", "export", "ann", "--db", str(db)])
    assert result.exit_code == 0, result.output
    exposures = json.loads(result.output)["playthroughs"][0]["exposures"]
    assert [(x["experiment"], x["arm"], x["node"]) for x in exposures] == [
        ("wording", "new", "edge")
    ]
