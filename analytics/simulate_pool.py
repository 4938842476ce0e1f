"""Simulated audiences on every core: worker processes play blocks, the caller writes them.

:func:`play_in_workers` hands the blocks of a run (:func:`analytics.simulate.blocks`) to a
pool of worker processes and yields the finished blocks **in order**, so the caller (the one
process that holds the log) writes them exactly as one process playing them all would. At most
a few blocks per worker are in flight, so memory stays bounded when the writer is the slower
side.

Workers start with ``forkserver`` where the platform has it (``spawn`` elsewhere), never a
bare ``fork``: the parent holds an open SQLite connection and a progress thread. They ignore
Ctrl-C, which is the parent's to handle: it stops the pool and keeps what it has committed.
A worker that dies (killed, out of memory) surfaces as
:class:`concurrent.futures.process.BrokenProcessPool` from the iterator.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from analytics.simulate import Block, SimulationOptions, play_block
from branching.story.model import Story

#: Blocks queued per worker beyond the one it plays: enough that no worker waits for work.
AHEAD_PER_WORKER = 2
#: How often a worker checks that the process it works for is still there.
PARENT_CHECK_SECONDS = 0.5


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# The story and options of the run, set once per worker process by _start_worker.
_story: Story | None = None
_options: SimulationOptions | None = None


def _start_worker(story: Story, options: SimulationOptions, parent: int) -> None:
    global _story, _options
    _story, _options = story, options
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    """End this worker soon after the process that started it is gone (killed, say): nobody
    would read its blocks, and a forkserver's worker is not the parent's child to be reaped."""
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except OSError:
            pass  # exists, owned by someone else: cannot be ours gone


def _play(start: int, stop: int, log: bool) -> Block:
    assert _story is not None and _options is not None, "worker not started"
    return play_block(_story, _options, start, stop, log=log)


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # The server imports the simulator once; each worker forks from it ready to play.
        context.set_forkserver_preload(["analytics.simulate_pool"])
        return context
    return multiprocessing.get_context("spawn")


def play_in_workers(
    story: Story,
    options: SimulationOptions,
    ranges: Iterable[tuple[int, int]],
    count: int,
    workers: int,
    *,
    log: bool = True,
) -> Generator[Block, None, None]:
    """Play the ``count`` blocks ``ranges`` of ``options`` (end time resolved) in ``workers``
    processes; yield them in order. Closing the iterator early (an error or Ctrl-C in the
    caller) stops the workers at once."""
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(workers, count)),
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(story, options, os.getpid()),
    )
    pending: deque[Future[Block]] = deque()
    todo = iter(ranges)
    finished = False
    try:
        # The first submissions start the processes: a Ctrl-C in the middle of starting one
        # would leave it half-started, printing a traceback as it fails. It waits until after.
        with _interrupts_deferred():
            for lo, hi in todo:
                pending.append(pool.submit(_play, lo, hi, log))
                if len(pending) >= workers * (1 + AHEAD_PER_WORKER):
                    break
        while pending:
            block = pending.popleft().result()
            for lo, hi in todo:
                pending.append(pool.submit(_play, lo, hi, log))
                break
            yield block
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop(pool)


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives in the block; raise it when the block is done."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    # Blocked too, not only caught: processes started here inherit the mask across exec, and
    # the forkserver imports the simulator before it ignores SIGINT itself. A Ctrl-C then
    # would end it with a traceback, and the parent would see its pipe close.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending one is caught
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if caught:
        raise KeyboardInterrupt


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop the workers now, without waiting for the blocks they are playing."""
    # Python 3.14 has pool.terminate_workers(); before it, the processes are only reachable
    # through this attribute. Their blocks are not written, so ending them loses nothing.
    # Ended before the pool lets go of its queues: a worker still starting up would otherwise
    # find them gone and print a traceback.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    # Waiting (for processes already told to end) lets the pool's manager thread finish and be
    # forgotten: left running, it races the interpreter's exit hook, which then writes to its
    # closed wake-up pipe and prints a traceback after the interrupt message.
    pool.shutdown(wait=True, cancel_futures=True)
