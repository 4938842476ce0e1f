"""The thread-owned log a Textual player uses: any thread may record, one thread writes."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from branching.events import NodeEntered
from branching.log import LogError, LogThread, LogUnavailable, LogWriteError
from tests.unit._log_helpers import PATH_WITH_REWIND, FakeClock, info, quit_path, rows


def test_events_recorded_from_other_threads_are_written_in_order(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    owner = LogThread.open(db, clock=FakeClock())
    who = info()
    recorder = owner.start_playthrough(who)
    worker_errors: list[BaseException] = []

    def worker() -> None:  # a Textual thread worker, say
        try:
            for event in PATH_WITH_REWIND:
                recorder.record(event)
        except BaseException as e:
            worker_errors.append(e)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert worker_errors == []
    assert [e.event for e in owner.events(who.playthrough_id)] == PATH_WITH_REWIND
    # Durable when record() returned: another connection sees all of it.
    assert rows(db, "SELECT count(*) FROM events") == [(8,)]
    found = owner.find_open_playthrough(who.viewer, who.story_id)
    assert found is None  # completed, nothing to resume
    recorder.close()
    owner.close()


async def test_arecord_leaves_the_event_loop_free(tmp_path: Path) -> None:
    owner = LogThread.open(tmp_path / "t.db")
    who = info()
    recorder = owner.start_playthrough(who)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for event in quit_path():
        await recorder.arecord(event)
    task.cancel()
    assert ticks > 0  # the loop ran while the disk was written
    assert len(owner.events(who.playthrough_id)) == 4
    owner.close()


def test_resume_through_the_thread(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    who = info()
    first = LogThread.open(db)
    first.start_playthrough(who).record(NodeEntered("start"))
    first.close()
    second = LogThread.open(db)
    found = second.find_open_playthrough(who.viewer, who.story_id)
    assert found is not None and found.id == who.playthrough_id
    recorder = second.resume_playthrough(found.id)
    recorder.record(NodeEntered("hall"))
    assert [e.seq for e in second.events(who.playthrough_id)] == [0, 1]
    second.close()
    recorder.close()  # after the owner closed: harmless


def test_errors_reach_the_caller(tmp_path: Path) -> None:
    with pytest.raises(LogUnavailable, match="does not exist"):
        LogThread.open(tmp_path / "missing" / "t.db")
    owner = LogThread.open(tmp_path / "t.db")
    recorder = owner.start_playthrough(info())
    recorder.close()
    with pytest.raises(LogWriteError, match="closed"):
        recorder.record(NodeEntered("start"))
    owner.close()
    with pytest.raises(LogError, match="closed"):
        owner.submit(lambda log: None)
