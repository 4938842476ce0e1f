"""``branching simulate --workers N``: the same log for any N, and a sound log when stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from analytics.simulate import BLOCK, SimulationOptions, play_block
from branching.cli import main
from branching.story.loader import read_story

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"

#: Three blocks, the last one short: every way of sharing them out is exercised.
PLAYTHROUGHS = 2 * BLOCK + 137
#: Every option that changes what is played, at once.
OPTIONS = (
    "--seed", "11", "--quit-rate", "0.05", "--rewind-rate", "0.05", "--days", "3",
    "--plant", "flag-stakes=stakes,storm_warning,north_ridge,3",
)  # fmt: skip
TABLES = (
    "playthroughs",
    "events",
    "exposures",
    "experiment_units",
    "rollup_experiments",
    "rollup_nodes",
    "rollup_choices",
    "rollup_outcomes",
    "rollup_paths",
    "rollup_viewers",
    "rollup_cohort_totals",
    "rollup_cohorts",
)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in TABLES}


def test_any_number_of_workers_logs_the_same_playthroughs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The audience ends "now": the same now for every run, so the times can be compared too.
    monkeypatch.setattr(time, "time", lambda: 1_760_000_000.0)
    dumps, reports, shown, summaries = [], [], [], []
    for workers in (1, 2, 3):
        db = tmp_path / f"w{workers}.db"
        result = run("simulate", DEMO, "-n", PLAYTHROUGHS, *OPTIONS, "--workers", workers,
                     "--db", db)  # fmt: skip
        assert result.exit_code == 0, result.output
        summaries.append(result.output.split(" playthroughs/s)")[1].replace(str(db), "DB"))
        dumps.append(dump(db))
        report = json.loads(run("report", DEMO, "--db", db, "--format", "json").output)
        reports.append({k: v for k, v in report.items() if k not in ("generated_at", "source")})
        ids = [row[1] for row in dumps[-1]["playthroughs"][:: BLOCK // 2]]
        shown.append([run("log", "show", pid, "--db", db).output for pid in ids])
    assert len(dumps[0]["playthroughs"]) == PLAYTHROUGHS
    assert dumps[0]["exposures"] and dumps[0]["rollup_experiments"]
    for other in (1, 2):
        for table in TABLES:
            assert dumps[other][table] == dumps[0][table], (other + 1, table)
        assert reports[other] == reports[0]
        assert shown[other] == shown[0]
        assert summaries[other] == summaries[0]


def test_until_makes_two_runs_the_same_to_the_microsecond(tmp_path: Path) -> None:
    """Without --until the period ends when the run starts, so reruns differ in every time;
    with it, a rerun (any number of workers, any day) gives the same log."""
    dumps = []
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        result = run("simulate", DEMO, "-n", 1500, "--seed", 4, "--days", 3, "--until",
                     "2026-11-30", "--workers", workers, "--db", db)  # fmt: skip
        assert result.exit_code == 0, result.output
        dumps.append(dump(db))
    assert dumps[0] == dumps[1]
    started = [row[9] for row in dumps[0]["playthroughs"]]  # started_at
    assert min(started) >= 1_795_824_000 and max(started) < 1_796_083_200  # 28 Nov to 30 Nov
    refused = run("simulate", DEMO, "-n", 2, "--days", 5, "--until", "0001-01-02", "--no-log")
    assert refused.exit_code == 2 and "do not fit in the years 1970 to 9999" in refused.output


def test_blocks_are_the_same_however_they_are_cut() -> None:
    """A block's playthroughs depend on their numbers only, not on who played the others."""
    story = read_story(DEMO, "simulated")
    options = SimulationOptions(playthroughs=300, seed=5, rewind_rate=0.1, end_time=1.7e9)
    whole = play_block(story, options, 0, 300).playthroughs
    cuts = [play_block(story, options, lo, lo + 50) for lo in (0, 100, 250)]
    parts = [p for block in cuts for p in block.playthroughs]
    assert parts == whole[0:50] + whole[100:150] + whole[250:300]
    assert len({p.fixed[0] for p in whole}) == 300  # every playthrough id differs


def test_least_taken_is_the_same_with_any_number_of_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_760_000_000.0)
    found = []
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        args = ("simulate", DEMO, "-n", BLOCK + 50, "--seed", "2", "--least-taken")
        assert run(*args, "--workers", workers, "--db", db).exit_code == 0
        found.append(dump(db)["events"])
    assert found[0] == found[1]


@pytest.mark.parametrize("value", ["0", "-1", "-2000", "100000", "10**9", "two", ""])
def test_hostile_worker_counts_are_usage_errors(value: str) -> None:
    result = run("simulate", DEMO, "-n", "5", "--no-log", "--workers", value)
    assert result.exit_code == 2, result.output
    assert "--workers" in result.output and "Traceback" not in result.output


def test_a_worker_count_above_the_limit_names_the_limit() -> None:
    result = run("simulate", DEMO, "-n", "5", "--no-log", "--workers", "100000")
    assert re.search(r"from 1 to \d+", result.output), result.output


def _start(db: Path, workers: int) -> subprocess.Popen[str]:
    # faulthandler: a run that hangs is ended with SIGABRT by _finish, printing every thread.
    args = [sys.executable, "-X", "faulthandler", "-m", "branching", "simulate", str(DEMO)]
    args += ["-n", "10000000"]
    proc = subprocess.Popen(
        [*args, "--seed", "1", "--workers", str(workers), "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    # Wait until the first block is committed.
    while time.monotonic() < deadline and not _count(db):
        time.sleep(0.2)
    return proc


def _finish(proc: subprocess.Popen[str]) -> str:
    """The run's standard error once it ends; if it hangs, where each of its threads is."""
    try:
        return proc.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        pytest.fail("the run did not end within 60 s; its threads:\n" + proc.communicate()[1])


def _count(db: Path) -> int:
    # Not the -wal file's presence: a command that exits cleanly checkpoints and removes it.
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM playthroughs").fetchone()[0])
    except sqlite3.Error:
        return 0


def _written(err: str) -> int:
    match = re.search(r"The first ([\d,]+) playthroughs were written to", err)
    assert match, err
    return int(match.group(1).replace(",", ""))


def _parents() -> dict[int, int]:
    """Every process's parent (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _children(pid: int) -> list[int]:
    return [p for p, parent in _parents().items() if parent == pid]


def _grandchildren(pid: int) -> list[int]:
    """The children of the children of ``pid``: the workers, which a forkserver (a child)
    starts."""
    parents = _parents()
    children = {p for p, parent in parents.items() if parent == pid}
    return [p for p, parent in parents.items() if parent in children]


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_whole_blocks_and_says_how_many(tmp_path: Path, workers: int) -> None:
    db = tmp_path / "choices.db"
    proc = _start(db, workers)
    proc.send_signal(signal.SIGINT)
    err = _finish(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Interrupted. The first" in err, err
    written = _written(err)  # whole playthroughs, the first ones (Ctrl-C may split a block)
    assert written > 0 and _count(db) == written
    check = run("log", "check", "--db", db)
    assert check.exit_code == 0 and "is sound" in check.output, check.output


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds workers through /proc")
def test_a_killed_worker_stops_the_run_with_a_sound_log(tmp_path: Path) -> None:
    db = tmp_path / "choices.db"
    proc = _start(db, 2)
    workers = _grandchildren(proc.pid)
    assert workers, "no worker processes found"
    os.kill(workers[-1], signal.SIGKILL)
    err = _finish(proc)
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "worker process stopped unexpectedly" in err, err
    written = _written(err)
    assert _count(db) == written and written % BLOCK == 0
    check = run("log", "check", "--db", db)
    assert check.exit_code == 0 and "is sound" in check.output, check.output
    time.sleep(1.5)  # the other worker notices its parent is gone and ends
    assert not [p for p in workers if Path(f"/proc/{p}").exists() and _alive(p)]


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the forkserver via /proc")
def test_ctrl_c_while_the_workers_start_is_one_line(tmp_path: Path) -> None:
    # A terminal's Ctrl-C reaches the whole process group. The forkserver, still importing the
    # simulator, died with a traceback, and the command said "Aborted!" with status 1.
    args = [sys.executable, "-m", "branching", "simulate", str(DEMO), "-n", "100000"]
    proc = subprocess.Popen(
        [*args, "--workers", "2", "--db", str(tmp_path / "choices.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _children(proc.pid) and proc.poll() is None:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)  # the forkserver has just started: it is importing
    err = _finish(proc)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.startswith("Interrupted."), err


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the forkserver via /proc")
def test_sigterm_while_the_workers_start_is_one_line(tmp_path: Path) -> None:
    # Blocking SIGTERM in the main thread did not hold it: the kernel gave it to the progress
    # display's thread, and Python raised it in the main thread in the middle of starting a
    # worker. That worker, not yet recorded by the pool, failed once the parent had exited,
    # printing a traceback after "Terminated." (every time with a stop 0.4 s after start).
    args = [sys.executable, "-m", "branching", "simulate", str(DEMO), "-n", "100000"]
    proc = subprocess.Popen(
        [*args, "--workers", "2", "--db", str(tmp_path / "choices.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _children(proc.pid) and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(0.01)  # the forkserver is up (its import takes longer): workers are starting
    proc.send_signal(signal.SIGTERM)
    # Read until every process holding the run's standard error closes it: a worker left
    # behind, and its traceback, included.
    err = _finish(proc)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and err.startswith("Terminated."), err


def test_a_stop_abandons_a_block_being_played_but_never_a_block_being_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stop protocol of a worker (in this process): told to stop while playing, the block
    is abandoned at once; told to stop between blocks (sending one back, waiting for the
    next), nothing is interrupted, and the next block is refused before it starts. Killing a
    worker mid-send instead left the pool waiting for ever."""
    from analytics import simulate_pool as pool

    story = read_story(DEMO)
    options = SimulationOptions(playthroughs=2000, seed=1, end_time=1_700_000_000.0)
    monkeypatch.setattr(pool, "_story", story)
    monkeypatch.setattr(pool, "_options", options)
    monkeypatch.setattr(pool, "_stopping", False)
    assert len(pool._play(0, 10, True).playthroughs) == 10

    def stop_midway(*args: object, **kwargs: object) -> None:
        pool._on_stop(pool.STOP_SIGNAL, None)  # as the signal would, inside play_block
        raise AssertionError("play_block went on after the stop")

    monkeypatch.setattr(pool, "play_block", stop_midway)
    with pytest.raises(pool.Stopped):
        pool._play(10, 20, True)
    assert pool._stopping and not pool._playing

    monkeypatch.setattr(pool, "_stopping", False)
    pool._on_stop(pool.STOP_SIGNAL, None)  # between blocks: noted, nothing raised
    assert pool._stopping
    with pytest.raises(pool.Stopped):
        pool._play(20, 30, True)  # refused before play_block is called
