"""Read-only logs (an archive, another user's file, read-only media) can be inspected.

Every command that only reads opens the log read-only, writing nothing to it or beside it.
Root ignores permissions, so as root the commands run in a forked child as ``nobody``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import sqlite3
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from branching.log import ChoiceLog
from tests.log.helpers import ROOT, info, log_at_version, quit_path, record_all

LANTERN = ROOT / "tests" / "fixtures" / "lantern.json"
NOBODY = 65534


#: What the commands import lazily, imported before forking: the child, as nobody, may not be
#: able to read the interpreter's own files (they live under /root here).
_LAZY = (
    "encodings.utf_8_sig",  # the story loader's encoding
    "json",
    "rich.console",
    "sqlite_utils",
    "analytics.render.csvout",
    "analytics.render.html",
    "analytics.render.jsonout",
    "analytics.render.table",
    "analytics.source",
    "branching.cli",
    "branching.log.merge",
    "branching.log.store",
    "branching.story.loader",
)


def run_as_reader(*args: str) -> tuple[int, str, str]:
    """``branching ARGS`` as a user who may only read the log: ``nobody`` when we are root
    (in a forked child, so nothing needs to be importable as nobody), else ourselves."""
    from branching.cli import main

    for name in _LAZY:
        importlib.import_module(name)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 70
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                # pytest has replaced sys.stdout and sys.stderr: write to the files instead.
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                if os.geteuid() == 0:
                    os.setgid(NOBODY)
                    os.setuid(NOBODY)
                try:
                    main(list(args), prog_name="branching")
                    code = 0
                except SystemExit as e:
                    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                except BaseException:
                    import traceback

                    traceback.print_exc()
            finally:
                with contextlib.suppress(BaseException):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), out.read(), err.read()


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    """A folder anyone may enter (pytest's own is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="branching-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder, ignore_errors=True)


def _archived_log(folder: Path, *, readonly_dir: bool) -> tuple[Path, str]:
    path = folder / "choices.db"
    who = info(story="lantern")
    with ChoiceLog.open(path) as log:
        record_all(log.start_playthrough(who), quit_path())
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)  # chmod 444
    if readonly_dir:
        folder.chmod(0o555)
    return path, who.playthrough_id


def _commands(path: Path, playthrough: str, folder: Path) -> dict[str, list[str]]:
    db = ["--db", str(path)]
    return {
        "log info": ["log", "info", *db],
        "log list": ["log", "list", *db],
        "log show": ["log", "show", playthrough, *db],
        "log check": ["log", "check", *db],
        "log check --story": ["log", "check", *db, "--story", str(LANTERN)],
        "viewer export": ["viewer", "export", "viewer-1", *db],
        "report": ["report", str(LANTERN), *db, "--all-versions"],
        "log merge": ["log", "merge", str(path), "-o", str(Path(tempfile.gettempdir()) / "x")],
    }


@pytest.mark.parametrize("readonly_dir", [False, True], ids=["file-444", "read-only-folder"])
def test_every_command_that_only_reads_reads_a_read_only_log(
    shared: Path, readonly_dir: bool
) -> None:
    path, playthrough = _archived_log(shared, readonly_dir=readonly_dir)
    for name, args in _commands(path, playthrough, shared).items():
        if name == "log merge":
            continue  # its output must be writable: below
        code, out, err = run_as_reader(*args)
        assert code == 0, (name, out, err)
        assert "Traceback" not in err, (name, err)
        assert sorted(p.name for p in shared.iterdir()) == ["choices.db"], name
    code, out, err = run_as_reader("log", "show", playthrough, "--db", str(path))
    assert "quit at hall" in out


def test_a_read_only_log_merges_into_a_writable_output(shared: Path, tmp_path: Path) -> None:
    path, _ = _archived_log(shared, readonly_dir=True)
    out_dir = Path(tempfile.mkdtemp(prefix="branching-out-"))
    out_dir.chmod(0o777)
    try:
        code, out, err = run_as_reader("log", "merge", str(path), "-o", str(out_dir / "all.db"))
        assert code == 0, (out, err)
        assert "1 playthrough and 4 events added" in out
        assert sorted(p.name for p in shared.iterdir()) == ["choices.db"]
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def test_a_log_being_written_is_read_with_its_pending_changes(shared: Path) -> None:
    """A -wal file beside the log (a player has it open) holds changes not yet in the file:
    the read sees them through SQLite's shared memory, read-only."""
    path = shared / "choices.db"
    writer = ChoiceLog.open(path)
    try:
        writer.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep the events in the -wal
        record_all(writer.start_playthrough(info()), quit_path())
        for name in ("choices.db", "choices.db-wal", "choices.db-shm"):
            (shared / name).chmod(0o644)
        shared.chmod(0o555)
        code, out, err = run_as_reader("log", "info", "--db", str(path))
        assert code == 0, err
        assert "Events:        4" in out
    finally:
        shared.chmod(0o755)
        writer.close()


def test_pending_changes_that_cannot_be_read_read_only_are_named(shared: Path) -> None:
    """A -wal file but no -shm in a read-only folder (a copy of a live log): SQLite cannot read
    the pending changes without creating the -shm, so the message says what to do."""
    path = shared / "choices.db"
    with ChoiceLog.open(path) as log:
        record_all(log.start_playthrough(info()), quit_path())
    copy = shared / "copy.db"
    live = sqlite3.connect(path)
    live.execute("PRAGMA wal_autocheckpoint = 0")
    live.execute("UPDATE playthroughs SET viewer = 'someone'")
    live.commit()
    shutil.copy(path, copy)
    shutil.copy(f"{path}-wal", f"{copy}-wal")
    live.close()
    for p in shared.iterdir():
        p.chmod(0o444)
    shared.chmod(0o555)
    code, _, err = run_as_reader("log", "info", "--db", str(copy))
    if os.geteuid() != 0 and code == 0:
        pytest.skip("this SQLite reads a WAL without its -shm")
    assert code == 1, err
    assert "copy the log with its -wal file to a writable folder" in err


def test_a_read_only_older_log_is_read_as_it_is_or_named_as_needing_an_upgrade(
    shared: Path,
) -> None:
    """An archive written by an older branching: what reads playthroughs and events reads it
    as it is; what needs today's roll-ups says how to upgrade it, and nothing is written."""
    path = shared / "choices.db"
    log_at_version(path, 1)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    shared.chmod(0o555)
    db = ["--db", str(path)]
    for args in (["log", "info", *db], ["log", "show", "old-1", *db], ["viewer", "export",
                 "v-old", *db], ["log", "list", *db]):  # fmt: skip
        code, out, err = run_as_reader(*args)
        assert code == 0, (args, out, err)
    for args in (["log", "check", *db], ["report", str(LANTERN), *db]):
        code, out, err = run_as_reader(*args)
        assert code == 1, (args, out, err)
        assert "older version of branching" in err and "make it writable" in err, err
        assert "Traceback" not in err
    assert sorted(p.name for p in shared.iterdir()) == ["choices.db"]
