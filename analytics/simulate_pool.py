"""Simulated audiences on every core: worker processes play blocks, the caller writes them.

:func:`play_in_workers` hands the blocks of a run (:func:`analytics.simulate.blocks`) to a
pool of worker processes and yields the finished blocks **in order**, so the caller (the one
process that holds the log) writes them exactly as one process playing them all would. At most
a few blocks per worker are in flight, so memory stays bounded when the writer is the slower
side.

Workers start with ``forkserver`` where the platform has it (``spawn`` elsewhere), never a
bare ``fork``: the parent holds an open SQLite connection and a progress thread. They ignore
Ctrl-C, which is the parent's to handle: it stops the pool and keeps what it has committed.
Stopping is cooperative (:func:`_stop`): a worker is never killed while it may be sending a
block back, since a half-written result leaves the pool's reader waiting for the rest for ever.
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


#: Sent by the parent to stop its workers: the block being played is abandoned, and nothing
#: else in the worker is interrupted (see :func:`_on_stop`).
STOP_SIGNAL = signal.SIGUSR1

#: Blocked while the pool starts (:func:`_signals_deferred`); workers inherit the mask and
#: unblock what they handle.
_DEFERRED = {signal.SIGINT, signal.SIGTERM, STOP_SIGNAL}

# The story and options of the run, set once per worker process by _start_worker.
_story: Story | None = None
_options: SimulationOptions | None = None
# Whether this worker is inside play_block, and whether it was told to stop.
_playing = False
_stopping = False


class Stopped(BaseException):
    """A block abandoned because the run is stopping (the parent discards it). Not an
    ``Exception``, so no handler in the engine mistakes it for a fault of the story."""


def _start_worker(story: Story, options: SimulationOptions, parent: int) -> None:
    global _story, _options
    _story, _options = story, options
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(STOP_SIGNAL, _on_stop)
    # Blocked by the parent while it started this process (_signals_deferred): a stop sent
    # in the meantime is delivered now, to the handler rather than the default (death);
    # SIGTERM keeps its default, which the pool uses when a worker died (terminate_broken).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {STOP_SIGNAL, signal.SIGTERM})
    threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _on_stop(signum: int, frame: object) -> None:
    """Abandon the block being played; between blocks (sending one back, waiting for the
    next) only note it, so a result is always sent whole and the pool's protocol stays
    intact. The pool then ends this worker the normal way, once its queue is empty."""
    global _stopping
    _stopping = True
    if _playing:
        raise Stopped


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
    global _playing
    assert _story is not None and _options is not None, "worker not started"
    _playing = True
    try:
        if _stopping:
            raise Stopped
        return play_block(_story, _options, start, stop, log=log)
    finally:
        _playing = False


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
        with _signals_deferred():
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
def _signals_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) or a SIGTERM that arrives in the block until it is done, and
    block :data:`STOP_SIGNAL` in the processes started meanwhile until their handler is in
    place (:func:`_start_worker`).

    Starting the pool must not be cut short: a stop raised in the middle of starting a worker
    left a process the pool does not know (it was forked but not yet recorded), which the
    parent neither stops nor waits for; it then failed to start once the parent was gone,
    printing a traceback.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    # Caught, not only blocked: the mask is this thread's, and the kernel hands a signal to
    # any thread that does not block it (the progress display's), after which Python runs
    # the handler here in the main thread all the same.
    previous = {signum: signal.signal(signum, hold) for signum in (signal.SIGINT, signal.SIGTERM)}
    # Blocked too: processes started here inherit the mask across exec, and the forkserver
    # imports the simulator before it ignores SIGINT itself. A Ctrl-C then would end it with
    # a traceback, and the parent would see its pipe close.
    signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
    try:
        yield
    finally:
        # A signal still pending runs its handler (hold) within this call. The parent itself
        # is never sent STOP_SIGNAL.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _DEFERRED)
        for signum, handler in previous.items():
            if handler is None:  # set outside Python: put back Python's own
                default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
                signal.signal(signum, default)
            else:
                signal.signal(signum, handler)
    # Delivered again now the pool is whole, to the handlers the caller had in place: Ctrl-C
    # raises KeyboardInterrupt, the command's SIGTERM handler raises its own.
    for held in dict.fromkeys(caught):
        signal.raise_signal(held)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop the workers soon, without waiting for the blocks they are playing.

    Each worker is told to abandon its block (:func:`_on_stop`), the blocks not started are
    cancelled, and the pool ends the workers the normal way. Not ``terminate()``: a worker
    killed while sending a block back leaves half a message in the result pipe, and the
    pool's reader then waits for the rest for ever (the run never ended).
    """
    # Python 3.14 has pool.terminate_workers() (a kill, see above); before it, the processes
    # are only reachable through this attribute.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, STOP_SIGNAL)
    # Waiting lets the pool's manager thread finish and be forgotten: left running, it races
    # the interpreter's exit hook, which then writes to its closed wake-up pipe and prints a
    # traceback after the interrupt message.
    pool.shutdown(wait=True, cancel_futures=True)
