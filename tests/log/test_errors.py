"""Unusable log paths give a clear message before anything starts, never a traceback."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from branching.log import ChoiceLog, LogError, LogUnavailable
from branching.play.events import NodeEntered
from tests.log.helpers import PATH_WITH_REWIND, info, quit_path, record_all, run_cli


def _open_message(path: Path) -> str:
    with pytest.raises(LogUnavailable) as caught:
        ChoiceLog.open(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "log.db"
    assert "the directory" in _open_message(path) and "does not exist" in _open_message(path)
    assert not (tmp_path / "no").exists()


def test_missing_directory_of_the_default_location_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "branching" / "choices.db"
    ChoiceLog.open(path, create_parent=True).close()
    assert path.exists()


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert "is a directory" in _open_message(tmp_path)


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("These are my notes, not a database.\n" * 50)
    before = path.read_bytes()
    assert "not an SQLite database" in _open_message(path)
    assert path.read_bytes() == before


def _damaged_copy(tmp_path: Path, how: str) -> Path:
    good = tmp_path / "good.db"
    with ChoiceLog.open(good) as log:
        with log.bulk_writer() as writer:
            for i in range(2000):
                writer.write_playthrough(info(viewer=f"v{i}"), [(1.0, NodeEntered("a"))] * 3)
        log.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # The analytics roll-up tables share the file, so find the log's own pages by name.
        events_pages = sorted(
            page for (page,) in log.conn.execute("SELECT pageno FROM dbstat WHERE name = 'events'")
        )
    data = bytearray(good.read_bytes())
    size = len(data)
    if how == "truncated":
        data = data[: size // 2]
    elif how == "schema page":
        data[100:4096] = os.urandom(3996)  # page 1, the root of the schema, after the header
    elif how == "table pages":
        data[4096 : 4096 * 5] = os.urandom(4096 * 4)
    elif how == "last pages":
        for page in events_pages[-2:]:  # the end of the events, where the newest ones are
            data[(page - 1) * 4096 : page * 4096] = os.urandom(4096)
    bad = tmp_path / f"{how.replace(' ', '-')}.db"
    bad.write_bytes(bytes(data))
    return bad


@pytest.mark.parametrize("how", ["truncated", "schema page", "table pages", "last pages"])
def test_a_damaged_file_is_refused_at_open(tmp_path: Path, how: str) -> None:
    message = _open_message(_damaged_copy(tmp_path, how))
    assert "damaged" in message or "not an SQLite database" in message


def test_damage_deep_inside_is_found_by_check_and_never_a_traceback(tmp_path: Path) -> None:
    good = _damaged_copy(tmp_path, "none")
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8192] = os.urandom(8192)
    bad = tmp_path / "middle.db"
    bad.write_bytes(bytes(data))
    with ChoiceLog.open(bad) as log:  # open only probes the pages writes touch
        assert log.check() != []
        try:
            record_all(log.start_playthrough(info()), quit_path())
        except LogError as e:  # a write that touches the damage fails cleanly
            assert "damaged" in str(e)
    result = run_cli("log", "check", "--db", str(bad))
    assert result.returncode == 1
    assert "problem(s) found" in result.stderr and "Traceback" not in result.stderr


def test_damage_met_by_a_command_after_a_clean_open_is_a_message(tmp_path: Path) -> None:
    good = _damaged_copy(tmp_path, "none")
    with ChoiceLog.open(good) as log:
        (index_page,) = log.conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'playthroughs_by_viewer'"
        ).fetchone()
    data = bytearray(good.read_bytes())
    data[(index_page - 1) * 4096 : index_page * 4096] = b"\xff" * 4096
    bad = tmp_path / "index.db"
    bad.write_bytes(bytes(data))
    # `viewer forget` counts the viewer's rows itself, through that index.
    result = run_cli("viewer", "forget", "v3", "--db", str(bad), "--yes")
    assert result.returncode == 1
    assert "damaged" in result.stderr and "Traceback" not in result.stderr


def _open_as_nobody(path: Path, *, readonly: bool = False) -> str:
    """Try to open ``path`` in a forked child running as ``nobody`` (root ignores permissions).

    Forking keeps the already imported modules, so the child needs no access to the venv.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                with ChoiceLog.open(path, readonly=readonly) as log:
                    result = f"OPENED {log.info().events} events"
            except LogUnavailable as e:
                result = f"UNAVAILABLE {e}"
            except BaseException as e:
                result = f"CRASHED {e!r}"
            os.write(write, result.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        output = f.read().decode()
    os.waitpid(pid, 0)
    return output


def _readonly_setup(tmp_path: Path, *, file_readonly: bool) -> tuple[Path, Path]:
    """A shared directory with a log in it, made read-only for its file or its directory."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"branching-ro-{os.getpid()}-{tmp_path.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = folder / "choices.db"
    with ChoiceLog.open(path) as log:
        record_all(log.start_playthrough(info()), quit_path())
    if file_readonly:
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        folder.chmod(0o777 if os.geteuid() == 0 else 0o755)
    else:
        path.chmod(0o666)  # the file itself is writable: only the directory is not
        folder.chmod(0o555)
    return folder, path


def _open_here(path: Path, *, readonly: bool = False) -> str:
    try:
        with ChoiceLog.open(path, readonly=readonly) as log:
            return f"OPENED {log.info().events} events"
    except LogUnavailable as e:
        return f"UNAVAILABLE {e}"


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_file_or_directory(tmp_path: Path, what: str) -> None:
    folder, path = _readonly_setup(tmp_path, file_readonly=what == "file")
    try:
        output = _open_as_nobody(path) if os.geteuid() == 0 else _open_here(path)
        assert output.startswith("UNAVAILABLE"), output
        assert "read-only" in output or "not writable" in output
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
        shutil.rmtree(folder, ignore_errors=True)


def test_cli_turns_every_unusable_path_into_a_message(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00\x01not sqlite" * 100)
    cases = [
        (["log", "info", "--db", str(garbage)], "not an SQLite database"),
        (["log", "info", "--db", str(tmp_path)], "is a directory"),
        (["log", "info", "--db", str(tmp_path / "nowhere" / "x.db")], "does not exist"),
        (["viewer", "export", "someone", "--db", str(garbage)], "not an SQLite database"),
        (["log", "merge", str(garbage), "-o", str(tmp_path / "out.db")], "not an SQLite database"),
        (
            ["log", "merge", str(garbage), "-o", str(tmp_path / "nowhere" / "out.db")],
            "does not exist",
        ),
    ]
    for args, expected in cases:
        result = run_cli(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_a_log_on_read_only_media_can_still_be_read(tmp_path: Path) -> None:
    """An archived log (read-only file in a read-only directory) opens read-only for reports
    and merges, although SQLite cannot create its WAL index there."""
    folder, path = _readonly_setup(tmp_path, file_readonly=True)
    folder.chmod(0o555)
    try:
        reader = _open_as_nobody if os.geteuid() == 0 else _open_here
        assert reader(path, readonly=True) == "OPENED 4 events"
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
        shutil.rmtree(folder, ignore_errors=True)


class _InterruptedAfterBegin:
    """A connection on which Ctrl-C lands just as ``BEGIN IMMEDIATE`` returns (Python runs
    the signal handler after the C call: the transaction has begun)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        if sql == "BEGIN IMMEDIATE":
            raise KeyboardInterrupt
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_ctrl_c_as_a_transaction_begins_leaves_none_open(tmp_path: Path) -> None:
    # Seen in `simulate`: the bulk writer's close then failed with "Safety level may not be
    # changed inside a transaction" instead of ending with status 130.
    with ChoiceLog.open(tmp_path / "log.db") as log:
        real = log.conn
        log.set_bulk_mode(True)
        log.conn = _InterruptedAfterBegin(real)  # type: ignore[assignment]
        with pytest.raises(KeyboardInterrupt), log.write_transaction():
            pass
        log.conn = real
        assert not real.in_transaction
        log.set_bulk_mode(False)  # a PRAGMA: refused inside a transaction


class _InterruptedAfterCommit(_InterruptedAfterBegin):
    """A connection on which Ctrl-C lands just as ``COMMIT`` returns: the batch is in."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        cursor = self._conn.execute(sql, *args)
        if sql == "COMMIT":
            raise KeyboardInterrupt
        return cursor


@pytest.mark.parametrize("interrupted", [_InterruptedAfterBegin, _InterruptedAfterCommit])
def test_the_bulk_writers_counts_match_the_file_after_ctrl_c(
    tmp_path: Path, interrupted: type[_InterruptedAfterBegin]
) -> None:
    # `simulate` stopped by Ctrl-C says how many playthroughs were written, from these counts:
    # one block short when the interrupt landed as its COMMIT returned.
    with ChoiceLog.open(tmp_path / "log.db") as log, log.bulk_writer() as writer:
        writer.write_playthrough(
            info(), [(1.0 + i, e) for i, e in enumerate(PATH_WITH_REWIND)], started_at=0.0
        )
        writer.flush()
        real = log.conn
        log.conn = interrupted(real)  # type: ignore[assignment]
        writer.write_playthrough(
            info(), [(1.0 + i, e) for i, e in enumerate(PATH_WITH_REWIND)], started_at=0.0
        )
        with pytest.raises(KeyboardInterrupt):
            writer.flush()
        log.conn = real
        (in_file,) = real.execute("SELECT count(*) FROM playthroughs").fetchone()
        (events,) = real.execute("SELECT count(*) FROM events").fetchone()
        assert (writer.playthroughs_written, writer.events_written) == (in_file, events)
        assert in_file == (2 if interrupted is _InterruptedAfterCommit else 1)
