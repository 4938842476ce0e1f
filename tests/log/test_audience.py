"""Choice shares and runs in the log: each viewer counted once per node by their first decision
there, runs counted per ending reached, whatever wrote the events, and equal to a rebuild."""

from __future__ import annotations

import random
from pathlib import Path

from click.testing import CliRunner

from analytics.simulate import SimulationOptions, simulate
from branching.cli import main
from branching.log import ChoiceLog, merge_into
from branching.log.runs import rebuild_runs, runs_snapshot, story_runs
from branching.log.shares import node_shares, rebuild_shares, shares_snapshot
from branching.play.events import ChoiceMade, EndingReached, Event, NodeEntered, Quit, Rewound
from branching.story.loader import load_story
from tests.log.helpers import info

ROOT = Path(__file__).resolve().parents[2]


def cliff(choice: str, *, finish: bool = True) -> list[Event]:
    end = "sea" if choice == "jump" else "path"
    events: list[Event] = [
        NodeEntered("edge"),
        ChoiceMade("edge", choice, end, 2000),
        NodeEntered(end),
    ]
    events.append(EndingReached(end, None, "neutral") if finish else Quit(end))
    return events


def record(log: ChoiceLog, viewer: str, events: list[Event]) -> None:
    recorder = log.start_playthrough(info(viewer, story="cliff"))
    for event in events:
        recorder.record(event)


def test_a_viewer_counts_once_per_node_with_their_first_decision(tmp_path: Path) -> None:
    with ChoiceLog.open(tmp_path / "log.db") as log:
        record(log, "ann", cliff("jump"))
        record(log, "ann", cliff("walk"))  # a second playthrough changes nothing
        record(log, "bob", cliff("walk", finish=False))  # a quit after the choice counts
        # Cy goes back and changes her mind: her first decision is the one counted.
        record(
            log,
            "cy",
            [
                NodeEntered("edge"),
                ChoiceMade("edge", "walk", "path", 900),
                NodeEntered("path"),
                Rewound("path", "edge", 0),
                NodeEntered("edge"),
                ChoiceMade("edge", "jump", "sea", 900),
                NodeEntered("sea"),
                EndingReached("sea", None, "bad"),
            ],
        )
        assert node_shares(log.conn, "cliff", "edge") == {"jump": 1, "walk": 2}
        assert node_shares(log.conn, "cliff", "edge", origins=["simulated"]) == {}
        # Runs: Cy's route to the sea is the one after her rewind.
        rows = story_runs(log.conn, "cliff")
        assert ("cy", "sea", "edge", "jump", 1) in rows
        assert ("cy", "path", "edge", "walk", 1) not in rows
        assert ("ann", "path", "", "", 1) in rows
        before = {**shares_snapshot(log.conn), **runs_snapshot(log.conn)}
        with log.write_transaction() as conn:
            rebuild_shares(conn)
            rebuild_runs(conn)
        assert {**shares_snapshot(log.conn), **runs_snapshot(log.conn)} == before


def test_the_earliest_decision_wins_whatever_the_merge_order(tmp_path: Path) -> None:
    rng = random.Random(5)
    early, late = tmp_path / "early.db", tmp_path / "late.db"
    for path, start, choice in ((early, 1_000.0, "jump"), (late, 5_000.0, "walk")):
        with ChoiceLog.open(path) as log, log.bulk_writer() as writer:
            for viewer in ("ann", "bob", "cy"):
                times = [start + i + rng.random() for i in range(4)]
                writer.write_playthrough(
                    info(viewer, story="cliff"), list(zip(times, cliff(choice), strict=True))
                )
    snapshots = []
    for order in ((early, late), (late, early)):
        with ChoiceLog.open(tmp_path / f"merged-{order[0].stem}.db") as log:
            for source in order:
                merge_into(log, source)
            assert node_shares(log.conn, "cliff", "edge") == {"jump": 3}
            snapshots.append({**shares_snapshot(log.conn), **runs_snapshot(log.conn)})
    assert snapshots[0] == snapshots[1]


def test_forgetting_a_viewer_takes_them_out_of_shares_and_runs(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with ChoiceLog.open(db) as log:
        record(log, "ann", cliff("jump"))
        record(log, "bob", cliff("walk"))
        log.forget_viewer("ann")
        assert node_shares(log.conn, "cliff", "edge") == {"walk": 1}
        assert {row[0] for row in story_runs(log.conn, "cliff")} == {"bob"}
        assert log.conn.execute("SELECT count(*) FROM share_units").fetchone() == (1,)
    result = CliRunner().invoke(main, ["log", "rebuild-rollups", "--check", "--db", str(db)])
    assert result.exit_code == 0, result.output


def test_bulk_writes_equal_a_rebuild_and_check_finds_a_tampered_table(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    story = load_story(ROOT / "stories" / "demo.json").story
    assert story is not None
    with ChoiceLog.open(db) as log:
        with log.bulk_writer(batch_size=300) as writer:
            simulate(story, SimulationOptions(300, seed=4, rewind_rate=0.3), writer)
        shares = node_shares(log.conn, story.id, story.start)
        assert sum(shares.values()) == 300  # simulated viewers are one playthrough each
        before = {**shares_snapshot(log.conn), **runs_snapshot(log.conn)}
        with log.write_transaction() as conn:
            rebuild_shares(conn)
            rebuild_runs(conn)
        assert {**shares_snapshot(log.conn), **runs_snapshot(log.conn)} == before
        log.conn.execute("UPDATE rollup_shares SET viewers = viewers + 1")
        log.conn.commit()
    result = CliRunner().invoke(main, ["log", "rebuild-rollups", "--check", "--db", str(db)])
    assert result.exit_code == 1
    assert "rollup_shares" in result.output


def test_new_and_returning_viewers_in_one_bulk_write_equal_a_rebuild(tmp_path: Path) -> None:
    # New viewers' first decisions become units without a comparison; returning viewers' are
    # compared with their units (Ann's earlier decision stays hers, Bob's later one is not).
    with ChoiceLog.open(tmp_path / "log.db") as log:
        with log.bulk_writer() as writer:
            for viewer, start, choice in (("ann", 5_000.0, "walk"), ("bob", 1_000.0, "jump")):
                times = [start + i for i in range(4)]
                writer.write_playthrough(
                    info(viewer, story="cliff"), list(zip(times, cliff(choice), strict=True))
                )
        with log.bulk_writer() as writer:
            for viewer, start, choice in (
                ("ann", 1_000.0, "jump"),
                ("bob", 9_000.0, "walk"),
                ("cy", 2_000.0, "walk"),
                ("cy", 1_500.0, "jump"),  # a new viewer twice in the batch: the earlier counts
            ):
                times = [start + i for i in range(4)]
                writer.write_playthrough(
                    info(viewer, story="cliff"), list(zip(times, cliff(choice), strict=True))
                )
        assert node_shares(log.conn, "cliff", "edge") == {"jump": 3}
        before = shares_snapshot(log.conn)
        with log.write_transaction() as conn:
            rebuild_shares(conn)
        assert shares_snapshot(log.conn) == before


def test_units_left_by_deleted_playthroughs_are_still_compared(tmp_path: Path) -> None:
    # A damaged log: Ann's playthroughs deleted behind its back, her unit left. Her next
    # playthroughs look new, and are compared with that unit all the same.
    with ChoiceLog.open(tmp_path / "log.db") as log:
        with log.bulk_writer() as writer:
            writer.write_playthrough(
                info("ann", story="cliff"),
                list(zip([5_000.0 + i for i in range(4)], cliff("walk"), strict=True)),
            )
        log.conn.execute("PRAGMA foreign_keys = OFF")
        log.conn.execute("DELETE FROM events")
        log.conn.execute("DELETE FROM playthroughs")
        log.conn.execute("PRAGMA foreign_keys = ON")
        with log.bulk_writer() as writer:
            for viewer, start, choice in (("ann", 9_000.0, "jump"), ("bob", 1_000.0, "jump")):
                writer.write_playthrough(
                    info(viewer, story="cliff"),
                    list(zip([start + i for i in range(4)], cliff(choice), strict=True)),
                )
        # Ann's unit stays the earlier "walk"; Bob's is new.
        assert node_shares(log.conn, "cliff", "edge") == {"walk": 1, "jump": 1}
        with log.bulk_writer() as writer:
            writer.write_playthrough(
                info("ann", story="cliff"),
                list(zip([1_000.0 + i for i in range(4)], cliff("jump"), strict=True)),
            )
        assert node_shares(log.conn, "cliff", "edge") == {"jump": 2}
