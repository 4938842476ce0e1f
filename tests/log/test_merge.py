"""``branching log merge``: logs from several machines into one, idempotently."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from branching.log import ChoiceLog, LogError, LogUnavailable, merge_all, merge_into, open_sources
from branching.play.events import EndingReached, NodeEntered
from tests.log.helpers import (
    PATH_WITH_REWIND,
    ROOT,
    info,
    log_at_version,
    quit_path,
    record_all,
    rows,
    run_cli,
)

_CONTENT = (
    "SELECT p.id, p.story_id, p.viewer, p.origin, p.status, p.started_at, p.updated_at, "
    "p.ended_at, p.last_node, p.ending, p.failure, p.event_count, e.seq, e.at, e.kind, e.node, "
    "e.choice, e.target, e.decision_ms, e.timed_out, e.step, e.detail, e.ending_kind "
    "FROM playthroughs p LEFT JOIN events e ON e.playthrough = p.pk ORDER BY p.id, e.seq"
)


def _machine_log(path: Path, viewer: str, count: int) -> list[str]:
    ids = []
    with ChoiceLog.open(path) as log:
        for i in range(count):
            who = info(viewer=viewer)
            record_all(log.start_playthrough(who), PATH_WITH_REWIND if i % 2 else quit_path())
            ids.append(who.playthrough_id)
        with log.bulk_writer() as writer:
            writer.write_playthrough(info(viewer=f"sim-{viewer}"), [(5.0, NodeEntered("start"))])
    return ids


def test_merge_combines_and_merging_again_adds_nothing(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    _machine_log(a, "alice", 5)
    _machine_log(b, "bob", 3)
    with ChoiceLog.open(out) as target:
        first = merge_into(target, a)
        second = merge_into(target, b)
        assert (first.playthroughs_added, first.events_added) == (6, 2 * 8 + 3 * 4 + 1)
        assert (second.playthroughs_added, second.events_added) == (4, 8 + 2 * 4 + 1)
        merged = rows(out, _CONTENT)
        again = merge_into(target, a)
        again_b = merge_into(target, b)
        assert (again.playthroughs_added, again.events_added, again.playthroughs_unchanged) == (
            0,
            0,
            6,
        )
        assert again_b.events_added == 0
        assert target.check() == []
    assert rows(out, _CONTENT) == merged
    assert sorted(merged) == sorted(rows(a, _CONTENT) + rows(b, _CONTENT))


def test_merging_a_later_copy_adds_only_the_new_events(tmp_path: Path) -> None:
    machine, snapshot, out = tmp_path / "m.db", tmp_path / "snapshot.db", tmp_path / "all.db"
    who = info()
    with ChoiceLog.open(machine) as log:
        recorder = log.start_playthrough(who)
        record_all(recorder, PATH_WITH_REWIND[:3])
        log.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(machine, snapshot)  # gathered mid-playthrough
        record_all(recorder, PATH_WITH_REWIND[3:])
    with ChoiceLog.open(out) as target:
        merge_into(target, snapshot)
        early = target.playthrough(who.playthrough_id)
        assert early is not None and (early.status, early.event_count) == ("open", 3)
        stats = merge_into(target, machine)
        assert (stats.playthroughs_extended, stats.events_added) == (1, 5)
        late = target.playthrough(who.playthrough_id)
        assert late is not None and (late.status, late.ending, late.event_count) == (
            "completed",
            "cellar",
            8,
        )
        assert [e.event for e in target.events(who.playthrough_id)] == PATH_WITH_REWIND
        assert merge_into(target, snapshot).events_added == 0
        assert target.check() == []
    assert rows(out, _CONTENT) == rows(machine, _CONTENT)


def test_diverging_histories_of_one_playthrough_are_counted_not_mixed(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    who = info()
    with ChoiceLog.open(a) as log:
        record_all(log.start_playthrough(who), [NodeEntered("start")])
    with ChoiceLog.open(b) as log:
        record_all(
            log.start_playthrough(who),
            [NodeEntered("elsewhere"), EndingReached("elsewhere", None, "good")],
        )
    with ChoiceLog.open(out) as target:
        merge_into(target, a)
        stats = merge_into(target, b)
        assert stats.conflicts == 1 and stats.events_added == 0
        assert [e.event for e in target.events(who.playthrough_id)] == [NodeEntered("start")]


def test_one_id_for_another_viewers_playthrough_is_a_conflict(tmp_path: Path) -> None:
    """Same id and the same first events, but mallory's: merging extended alice's."""
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    alice = info("alice")
    mallory = info("mallory", playthrough_id=alice.playthrough_id)
    with ChoiceLog.open(a, clock=lambda: 1000.0) as log:
        record_all(log.start_playthrough(alice), [NodeEntered("start")])
    with ChoiceLog.open(b, clock=lambda: 1000.0) as log:
        record_all(log.start_playthrough(mallory), PATH_WITH_REWIND)
    with ChoiceLog.open(out) as target:
        merge_into(target, a)
        stats = merge_into(target, b)
        assert stats.conflicts == 1 and stats.events_added == 0
        assert [e.event for e in target.events(alice.playthrough_id)] == [NodeEntered("start")]


def test_sources_are_never_changed_and_self_merge_is_refused(tmp_path: Path) -> None:
    a, out = tmp_path / "a.db", tmp_path / "all.db"
    _machine_log(a, "alice", 2)
    before = a.read_bytes()
    with ChoiceLog.open(out) as target:
        merge_into(target, a)
        with pytest.raises(LogUnavailable, match="output log itself"):
            merge_into(target, out)
    assert a.read_bytes() == before


def test_an_older_source_is_upgraded_in_a_copy(tmp_path: Path) -> None:
    old, out = tmp_path / "old.db", tmp_path / "all.db"
    log_at_version(old, 1)
    before = old.read_bytes()
    with ChoiceLog.open(out) as target:
        stats = merge_into(target, old)
        assert (stats.playthroughs_added, stats.events_added) == (1, 2)
        assert len(target.events("old-1")) == 2
    assert old.read_bytes() == before
    assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone() == (1,)


def test_merge_command(tmp_path: Path) -> None:
    a, b, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "all.db"
    _machine_log(a, "alice", 2)
    _machine_log(b, "bob", 2)
    first = run_cli("log", "merge", str(a), str(b), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert "3 playthroughs and 13 events added" in first.stdout
    assert "it now holds 6 playthroughs and 26 events" in first.stdout
    second = run_cli("log", "merge", str(a), str(b), "-o", str(out))
    assert second.returncode == 0, second.stderr
    assert "0 playthroughs and 0 events added; it now holds 6 playthroughs" in second.stdout


# -- all or nothing -----------------------------------------------------------------------------


def _damaged_log(path: Path) -> None:
    """A choice log that opens cleanly (the open check reads the right-hand edge of each table)
    but whose first page of events is garbage, so a merge fails part-way through reading it."""
    with ChoiceLog.open(path) as log, log.bulk_writer() as writer:
        for i in range(300):
            writer.write_playthrough(
                info(viewer=f"far-{i}"),
                [(5.0 + i, NodeEntered("start")), (6.0 + i, NodeEntered("hall"))],
            )
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    leaves = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY path"
    ).fetchall()
    conn.close()
    assert len(leaves) > 2
    with path.open("r+b") as f:
        f.seek((leaves[0][0] - 1) * page_size)
        f.write(b"\xa5" * page_size)
    ChoiceLog.open(path, readonly=True, create=False).close()  # passes the first check


def _whole_file(path: Path) -> tuple[bytes, list[tuple[object, ...]]]:
    return path.read_bytes(), rows(path, _CONTENT)


def test_a_bad_second_source_creates_no_output(tmp_path: Path) -> None:
    good, out = tmp_path / "good.db", tmp_path / "all.db"
    _machine_log(good, "alice", 2)
    story = ROOT / "stories" / "demo.json"
    result = run_cli("log", "merge", str(good), str(story), "-o", str(out))
    assert result.returncode == 1
    assert "the file is not an SQLite database" in result.stderr
    assert "demo.json" in result.stderr
    assert result.stdout == ""  # no "added" line for a log that was not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith("good.db")
    )


def test_a_bad_later_source_leaves_an_existing_output_unchanged(tmp_path: Path) -> None:
    first, good, out = tmp_path / "first.db", tmp_path / "good.db", tmp_path / "all.db"
    _machine_log(first, "zoe", 2)
    _machine_log(good, "alice", 2)
    assert run_cli("log", "merge", str(first), "-o", str(out)).returncode == 0
    before = _whole_file(out)
    missing = tmp_path / "nowhere.db"
    not_a_log = tmp_path / "other.db"
    sqlite3.connect(not_a_log).execute("CREATE TABLE t (x)").connection.close()
    for bad, message in [
        (missing, "nowhere.db"),
        (not_a_log, "not a branching choice log"),
        (out, "output log itself"),
    ]:
        result = run_cli("log", "merge", str(good), str(bad), "-o", str(out))
        assert result.returncode == 1, result.stdout
        assert message in result.stderr
        assert _whole_file(out) == before


def test_a_source_failing_part_way_leaves_the_output_unchanged(tmp_path: Path) -> None:
    first, good, damaged = tmp_path / "first.db", tmp_path / "good.db", tmp_path / "damaged.db"
    out, fresh = tmp_path / "all.db", tmp_path / "fresh.db"
    _machine_log(first, "zoe", 2)
    _machine_log(good, "alice", 3)
    _damaged_log(damaged)
    assert run_cli("log", "merge", str(first), "-o", str(out)).returncode == 0
    before = _whole_file(out)
    result = run_cli("log", "merge", str(good), str(damaged), "-o", str(out))
    assert result.returncode == 1
    assert "damaged.db" in result.stderr and "damaged" in result.stderr
    assert f"nothing was merged: {out} is unchanged" in result.stderr
    assert "Traceback" not in result.stderr
    assert _whole_file(out) == before
    result = run_cli("log", "merge", str(good), str(damaged), "-o", str(fresh))
    assert result.returncode == 1
    assert f"{fresh} was not created" in result.stderr
    assert not any(p.name.startswith("fresh.db") for p in tmp_path.iterdir())
    # The library call is all or nothing too (the target's transaction rolls back).
    with ChoiceLog.open(out) as target:
        with (
            pytest.raises(LogError, match=r"damaged\.db"),
            open_sources([good, damaged]) as sources,
        ):
            merge_all(target, sources)
        assert target.check() == []
    assert rows(out, _CONTENT) == before[1]


def test_one_merge_of_the_same_log_twice_adds_it_once(tmp_path: Path) -> None:
    a, out = tmp_path / "a.db", tmp_path / "all.db"
    _machine_log(a, "alice", 3)
    result = run_cli("log", "merge", str(a), str(a), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "0 playthroughs and 0 events added, 4 already present" in result.stdout
    assert sorted(rows(out, _CONTENT)) == sorted(rows(a, _CONTENT))


@pytest.mark.parametrize(
    ("source", "why"),
    [("empty.db", "it is empty: not a choice log"), ("/dev/null", "it is not a regular file")],
)
def test_an_empty_file_is_no_log_to_merge(tmp_path: Path, source: str, why: str) -> None:
    path = Path(source) if source.startswith("/") else tmp_path / source
    if not source.startswith("/"):
        path.write_bytes(b"")
    out = tmp_path / "all.db"
    result = run_cli("log", "merge", str(path), "-o", str(out))
    assert result.returncode == 1
    assert why in result.stderr
    assert not out.exists()
    assert not Path("/dev/null-journal").exists()


# -- every column survives ----------------------------------------------------------------------

#: Integer columns that hold a row number of ``playthroughs`` without a declared foreign key.
_PLAYTHROUGH_PK_COLUMNS = {("rollup_paths", "example")}


def _every_table(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the log at ``path``, with every column the file has (read
    from the file, not from the code: a column added later is compared too). Row numbers,
    which differ from file to file, are replaced by what they stand for: a playthrough by its
    id, a roll-up cohort by its key."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite%' AND name NOT LIKE '\\_%' ESCAPE '\\'"
            )
        ]
        pk_ids = dict(conn.execute("SELECT pk, id FROM playthroughs").fetchall())
        cohort_columns = [r[1] for r in conn.execute("PRAGMA table_info(rollup_cohorts)")]
        cohorts = {
            row[0]: row[1:]
            for row in conn.execute(f"SELECT {', '.join(cohort_columns)} FROM rollup_cohorts")
        }
        dump = {}
        for name in names:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            refs = {r[3]: r[2] for r in conn.execute(f"PRAGMA foreign_key_list({name})")}
            mapped = []
            for row in conn.execute(f"SELECT {', '.join(columns)} FROM {name}"):
                values: list[object] = []
                for column, value in zip(columns, row, strict=True):
                    target = refs.get(column)
                    if target == "playthroughs" or (name, column) in _PLAYTHROUGH_PK_COLUMNS:
                        value = pk_ids.get(value, value)
                    elif target == "rollup_cohorts":
                        value = cohorts.get(value, value)
                    elif (name, column) in {("playthroughs", "pk"), ("rollup_cohorts", "id")}:
                        continue  # this file's row numbers
                    values.append((column, value))
                mapped.append(tuple(values))
            dump[name] = sorted(mapped, key=repr)
        return dump
    finally:
        conn.close()


def _simulated_log(path: Path, *args: str) -> None:
    story = str(ROOT / "stories" / "demo.json")
    done = run_cli("simulate", story, "--db", str(path), "--workers", "1", *args)
    assert done.returncode == 0, done.stderr


def test_a_merged_log_holds_every_column_of_its_source(tmp_path: Path) -> None:
    """Every table, every column (the language, exposures, roll-ups split by language, shares,
    runs): a log merged into an empty one is the same log, whatever columns it has."""
    source, out = tmp_path / "fr.db", tmp_path / "merged.db"
    _simulated_log(source, "-n", "40", "--seed", "3", "--lang", "fr", "--viewers", "10")
    merged = run_cli("log", "merge", str(source), "-o", str(out))
    assert merged.returncode == 0, merged.stderr
    expected, got = _every_table(source), _every_table(out)
    assert {"playthroughs", "events", "exposures", "rollup_cohorts"} <= set(expected)
    assert rows(out, "SELECT DISTINCT language FROM playthroughs") == [("fr",)]
    assert expected["exposures"], "the demo story's experiment exposes every playthrough"
    for table in expected:
        assert got[table] == expected[table], table


def test_merging_two_logs_keeps_every_column_of_both(tmp_path: Path) -> None:
    fr, en, out = tmp_path / "fr.db", tmp_path / "en.db", tmp_path / "merged.db"
    _simulated_log(fr, "-n", "20", "--seed", "3", "--lang", "fr")
    _simulated_log(en, "-n", "20", "--seed", "4")
    merged = run_cli("log", "merge", str(fr), str(en), "-o", str(out))
    assert merged.returncode == 0, merged.stderr
    # The tables a merge copies row by row: the union of the sources, column by column.
    sources, got = [_every_table(fr), _every_table(en)], _every_table(out)
    for table in ("playthroughs", "events", "exposures"):
        union = sorted(sources[0][table] + sources[1][table], key=repr)
        assert got[table] == union, table


def test_report_by_language_on_a_merged_log_equals_its_source(tmp_path: Path) -> None:
    source, out = tmp_path / "fr.db", tmp_path / "merged.db"
    _simulated_log(source, "-n", "50", "--seed", "3", "--lang", "fr")
    assert run_cli("log", "merge", str(source), "-o", str(out)).returncode == 0
    story = str(ROOT / "stories" / "demo.json")
    reports = [
        run_cli(
            "report",
            story,
            "--db",
            str(db),
            "--origin",
            "simulated",
            "--lang",
            "fr",
            "--format",
            "json",
        )
        for db in (source, out)
    ]
    assert [r.returncode for r in reports] == [0, 0], reports[1].stderr
    source_report, merged_report = (json.loads(r.stdout) for r in reports)
    for report in (source_report, merged_report):
        del report["generated_at"], report["source"]  # when and which file, not what it counts
    assert merged_report["playthroughs"]["started"] == 50
    assert merged_report == source_report


def test_merging_an_older_log_keeps_every_column_it_has(tmp_path: Path) -> None:
    """A log from before the language column: merged, it holds what upgrading it in place
    does (every column it had, and ``NULL`` for the ones added since)."""
    old, upgraded, out = tmp_path / "old.db", tmp_path / "upgraded.db", tmp_path / "merged.db"
    log_at_version(old, 5)
    shutil.copy(old, upgraded)
    ChoiceLog.open(upgraded).close()
    assert run_cli("log", "merge", str(old), "-o", str(out)).returncode == 0
    expected, got = _every_table(upgraded), _every_table(out)
    assert expected["playthroughs"]
    for table in expected:
        assert got[table] == expected[table], table
