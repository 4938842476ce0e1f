"""Reading the story and writing the output: the same rules for every command.

A story that cannot be read or is not JSON exits 2, one with errors exits 1, each with the
loader's located messages.

Output goes through :func:`output_stream` (or :func:`write_output` for a text): the whole
write, flush and close included, so a full disk or a vanished directory is a one-line message
(exit 1), never a traceback; ``OSError.filename`` is ``None`` for a failed flush or close, so
the message names the file itself. A regular file is written to a temporary file beside it
and renamed into place: a failed write leaves the file as it was. Standard output is guarded
too, here and for every command at once (:func:`guard_stdout`, which ``branching.cli`` runs
around the whole command line).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import click

from branching.story.untrusted import printable

if TYPE_CHECKING:
    from branching.story.model import Story

T = TypeVar("T")


def load_story_or_exit(path: str | Path, purpose: str, data: bytes | None = None) -> Story:
    """The story in ``path``, or a message on stderr and exit status 2 (unreadable) or 1.

    ``purpose`` completes "has errors, so it cannot be ...": what the command does with it;
    ``data`` is the file's bytes when the command has read them (see ``read_story``).
    """
    from branching.story.loader import StoryError, read_story

    try:
        return read_story(path, purpose, data)
    except StoryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2 if exc.result is not None and not exc.result.readable else 1)


def is_stdout(output: str | os.PathLike[str] | None) -> bool:
    """``None`` and ``-`` mean standard output."""
    return output is None or os.fspath(output) == "-"


def shown(path: str | os.PathLike[str]) -> str:
    """A path in a message, on one line and without control characters (file names can hold
    them too)."""
    return printable(os.fspath(path), one_line=True)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def stdout_failed(exc: OSError) -> click.ClickException:
    """The message for a write to standard output that failed (a full disk behind a
    redirection); a closed pipe is re-raised for click, which exits quietly with status 1.

    Standard output is pointed at ``/dev/null`` first, so what is still buffered cannot fail
    again when the interpreter exits (that would print a traceback-like "Exception ignored").
    """
    if exc.errno == errno.EPIPE:
        raise exc
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return click.ClickException(f"Cannot write to standard output: {_reason(exc)}")


@contextlib.contextmanager
def output_stream(output: str | os.PathLike[str] | None) -> Iterator[TextIO]:
    """A text stream for a command's output: the file ``output``, or standard output (``None``
    or ``-``). Everything written, flushed and closed inside the block is covered.

    A regular file (new or existing) is written beside itself and renamed into place when the
    block ends, so a failure leaves it as it was; a device or pipe (``/dev/stdout``, a FIFO) is
    written directly.

    Raises:
        click.ClickException: ``Cannot write FILE: REASON`` (exit 1), for any failure.
    """
    if is_stdout(output):
        try:
            yield sys.stdout
            sys.stdout.flush()
        except OSError as exc:
            raise stdout_failed(exc) from None
        return
    assert output is not None
    path = Path(output)
    name = shown(path)
    if path.exists() and not path.is_file():
        if path.is_dir():
            raise click.ClickException(f"Cannot write {name}: it is a directory")
        try:
            with path.open("w", encoding="utf-8") as stream:
                yield stream
        except OSError as exc:
            raise click.ClickException(f"Cannot write {name}: {_reason(exc)}") from None
        return
    real = path.resolve()  # a symbolic link keeps pointing at the new content
    temp: str | None = None
    try:
        mode = real.stat().st_mode & 0o7777 if real.exists() else _default_mode()
        fd, temp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            yield stream
        os.chmod(temp, mode)
        os.replace(temp, real)
        temp = None
    except OSError as exc:
        state = "is unchanged" if path.exists() else "was not created"
        raise click.ClickException(
            f"Cannot write {name}: {_reason(exc)} ({name} {state})"
        ) from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _default_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_output(text: str, output: str | os.PathLike[str] | None) -> None:
    """Write ``text`` to the file ``output``, or to standard output when there is none (or
    ``-``); see :func:`output_stream`."""
    with output_stream(output) as stream:
        stream.write(text)


def sibling(output: str | os.PathLike[str], suffix: str) -> Path:
    """A file named after ``output`` (``report`` -> ``report-nodes.csv``), for a command that
    writes several files. ``output`` must name a file: next to a device such as ``/dev/full``
    it would create files in ``/dev``.

    Raises:
        click.ClickException: ``output`` exists and is not a regular file.
    """
    base = Path(output)
    if base.exists() and not base.is_file():
        raise click.ClickException(
            f"Cannot write files named after {shown(base)}: it is not a regular file, and this "
            f"output is several files (FILE{suffix}, ...) written beside it; give a file name"
        )
    stem = base.with_suffix("") if base.suffix.lower() == ".csv" else base
    return stem.with_name(stem.name + suffix)


def guard_stdout(run: Callable[[], T]) -> T:
    """Run ``run`` (the whole command line) so that a failed write to standard output (a full
    disk behind ``>``) is a message and exit 1, wherever it was written (``click.echo``, Rich,
    ``--help``), and flush what is still buffered before the process exits, inside the guard.
    """
    try:
        try:
            result = run()
        except SystemExit:
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        return result
    except OSError as exc:
        # Files are written through output_stream, which names them; an OSError without a
        # file name that says the output could not be stored can only come from a standard
        # stream. (Once a write failed its buffer is dropped: a second flush cannot tell.)
        if exc.filename is not None or exc.errno not in _OUTPUT_FULL:
            raise  # a closed pipe (EPIPE) included: click's own handling exits quietly
        error = stdout_failed(exc)
        error.show()
        sys.exit(error.exit_code)


#: What a write to a full or failing device says.
_OUTPUT_FULL = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG", "EIO") if hasattr(errno, name)
)
