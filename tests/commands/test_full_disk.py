"""A full disk: writing output (a file, or standard output redirected to it) is a message.

``/dev/full`` accepts the open and fails every write with ENOSPC, like a full disk; a failed
flush or close raises an ``OSError`` without a file name. Nothing may end in a traceback, and a
command that writes several files named after ``-o`` must not create them beside a device.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from branching.log import ChoiceLog
from branching.play.events import ChoiceMade, NodeEntered, Quit
from branching.story.loader import read_story
from tests.log.helpers import info

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"
FULL = Path("/dev/full")

pytestmark = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")


def _run(*args: str, to_full: bool = False) -> subprocess.CompletedProcess[str]:
    """``branching ARGS``, with standard output on /dev/full when ``to_full``."""
    with open(FULL if to_full else os.devnull, "w") as stdout:
        result = subprocess.run(
            [sys.executable, "-m", "branching", *args],
            cwd=ROOT,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    return subprocess.CompletedProcess(result.args, result.returncode, "", result.stderr)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("full") / "choices.db"
    story = read_story(DEMO)
    start = story.start
    offer = (story.nodes[start].choices or [])[0]
    with ChoiceLog.open(path) as opened:
        who = info(
            viewer="ann", story=story.id, story_hash=story.content_hash, story_version=story.version
        )
        recorder = opened.start_playthrough(who)
        for event in (
            NodeEntered(start),
            ChoiceMade(start, offer.key, offer.to, 900),
            NodeEntered(offer.to),
            Quit(offer.to),
        ):
            recorder.record(event)
    return path


def _said_full(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert "No space left on device" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "html", "csv"])
def test_a_report_to_a_full_disk_is_a_message(log: Path, fmt: str) -> None:
    report = ["report", str(DEMO), "--db", str(log), "--format", fmt]
    _said_full(_run(*report, to_full=True))
    if fmt == "csv":
        return  # -o names the files' prefix: below
    result = _run(*report, "-o", str(FULL))
    _said_full(result)
    assert "Cannot write /dev/full" in result.stderr


def test_csv_files_are_never_created_beside_a_device(log: Path) -> None:
    before = set(FULL.parent.glob("full-*.csv"))
    try:
        result = _run("report", str(DEMO), "--db", str(log), "--format", "csv", "-o", str(FULL))
        assert result.returncode == 1
        assert "it is not a regular file" in result.stderr and "Traceback" not in result.stderr
        assert set(FULL.parent.glob("full-*.csv")) == before
    finally:
        for path in set(FULL.parent.glob("full-*.csv")) - before:
            path.unlink()  # what the old code left in /dev


def test_viewer_export_to_a_full_disk_is_a_message(log: Path) -> None:
    export = ["viewer", "export", "ann", "--db", str(log)]
    _said_full(_run(*export, to_full=True))
    _said_full(_run(*export, "-o", str(FULL)))


@pytest.mark.parametrize(
    "args",
    [
        ["log", "list"],
        ["log", "info"],
        ["log", "check"],
        ["graph", str(DEMO)],
        ["schema"],
        ["stats", str(DEMO)],
        ["validate", str(DEMO)],
        ["export", "twee", str(DEMO)],
        ["--help"],
    ],
)
def test_every_command_on_a_full_standard_output_is_a_message(log: Path, args: list[str]) -> None:
    if args[0] == "log":
        args = [*args, "--db", str(log)]
    _said_full(_run(*args, to_full=True))


def test_a_failed_write_leaves_an_existing_file_as_it_was(log: Path, tmp_path: Path) -> None:
    """Written beside itself and renamed: a file in a folder that vanished is no problem, and
    a failure never leaves half a report."""
    target = tmp_path / "report.json"
    target.write_text("the previous report\n", encoding="utf-8")
    ok = _run("report", str(DEMO), "--db", str(log), "--format", "json", "-o", str(target))
    assert ok.returncode == 0, ok.stderr
    assert target.read_text(encoding="utf-8").startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    missing = tmp_path / "nowhere" / "report.json"
    gone = _run("report", str(DEMO), "--db", str(log), "--format", "json", "-o", str(missing))
    assert gone.returncode == 1 and "Cannot write" in gone.stderr
    assert "No such file or directory" in gone.stderr and "Traceback" not in gone.stderr


def test_a_write_that_fails_half_way_keeps_the_previous_file(log: Path, tmp_path: Path) -> None:
    """A file-size limit makes the write fail after the first kilobyte, as a disk filling up
    would: the previous report stays whole, and no temporary file is left."""
    import resource
    import signal

    target = tmp_path / "report.json"
    target.write_text("the previous report\n", encoding="utf-8")

    def limit() -> None:  # in the child, before branching starts
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    args = ["report", str(DEMO), "--db", str(log), "--format", "json", "-o", str(target)]
    result = subprocess.run(
        [sys.executable, "-m", "branching", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "File too large" in result.stderr
    assert "report.json is unchanged" in result.stderr
    assert target.read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
