"""Stopping a player process, without a server: what counts is that the process ends."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from textual_serve.download_manager import DownloadManager

from branching.serve.children import ChildOptions, ViewerAppService, WarmPool


async def _nothing(*_: object) -> None:
    return None


async def test_a_hung_player_is_killed_even_when_its_output_reader_ended_first(
    tmp_path: Path,
) -> None:
    """The reader task can end before the process does (the browser went away while a frame
    was being sent); a process that answers nothing must still be made to end."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import time; time.sleep(120)",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    os.kill(process.pid, signal.SIGSTOP)  # hung: not even SIGTERM gets through
    options = ChildOptions(story=tmp_path / "s.json", db=tmp_path / "l.db", home=tmp_path)
    service = ViewerAppService(
        WarmPool(options, 0),
        "web-AAAAAAAAAAAAAAAAAAAAAA",
        write_bytes=_nothing,
        write_str=_nothing,
        close=_nothing,
        download_manager=DownloadManager(),
    )
    assert process.stdin is not None
    service._process = process
    service._stdin = process.stdin
    service._task = asyncio.create_task(_nothing())  # the reader, already done
    await asyncio.sleep(0)

    started = time.monotonic()
    try:
        await asyncio.wait_for(service.stop(grace=0.5), 10)
    finally:
        if process.returncode is None:  # the test failed: leave no stopped process behind
            process.kill()
            await process.wait()

    assert process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
