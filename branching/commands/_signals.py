"""Stopping a long command from outside: SIGTERM takes the path Ctrl-C takes.

``timeout``, ``kill`` and service managers stop a job with SIGTERM, whose default ends the
process at once: no ``finally`` runs, worker processes are left to a resource tracker that
complains about leaked semaphores, temporary files stay. Raised as :class:`Terminated` (a
:class:`KeyboardInterrupt`), it runs the same clean-up and messages as Ctrl-C; the command line
then exits 143 (128 + SIGTERM), as a shell reports it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: The exit status of a command stopped by SIGTERM.
TERMINATED_STATUS = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a :func:`terminate_like_interrupt` block ran."""


#: Set when SIGTERM arrived: an engine that caught the interrupt and raised its own
#: (DuckDB's "Query interrupted", given back as a plain KeyboardInterrupt) loses the kind.
_received = {"sigterm": False}


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    _received["sigterm"] = True
    raise Terminated


@contextlib.contextmanager
def terminate_like_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped(error: KeyboardInterrupt) -> tuple[str, int]:
    """What to say and the exit status for a command stopped by ``error``."""
    if isinstance(error, Terminated) or _received["sigterm"]:
        return "Terminated", TERMINATED_STATUS
    return "Interrupted", 130
