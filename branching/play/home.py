"""Where branching keeps a viewer's own files, and who the viewer is.

No UI and no SQLite here, so every command (and the players) can resolve these cheaply.
The choice log's location is :mod:`branching.log.location`.

* The folders: the user data directory (saves, the default log) and config directory
  (viewer id), from ``platformdirs`` (e.g. ``~/.local/share/branching`` on Linux).
* The viewer: ``--viewer ID``, else ``$BRANCHING_VIEWER``, else a random id kept in the user
  config directory (``~/.config/branching/viewer-id``), created on first use. The same id keys
  the viewer's saves and the log, and nothing in it is derived from the person or machine.
* ``$BRANCHING_HOME``, when set, replaces both directories (as for saves: tests, portable
  installs), so everything branching keeps is in one folder.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from branching.story.json_input import read_limited

APP_NAME = "branching"
#: Moves every file branching keeps (saves, log, viewer id) to one folder.
ENV_HOME = "BRANCHING_HOME"
#: Names the viewer when ``--viewer`` is not given (kiosks, scripts).
ENV_VIEWER = "BRANCHING_VIEWER"
VIEWER_FILENAME = "viewer-id"

#: Viewer ids: printable, no spaces, short enough to type into ``branching viewer forget``.
VIEWER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,128}$")


def data_dir() -> Path:
    """The user data directory (holds the default log): ``$BRANCHING_HOME`` if set."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser()
    import platformdirs  # here, not at the top: importing this module stays cheap

    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    """The user config directory (viewer id, notice marker): ``$BRANCHING_HOME`` if set."""
    home = os.environ.get(ENV_HOME)
    if home:
        return Path(home).expanduser()
    import platformdirs

    return platformdirs.user_config_path(APP_NAME, appauthor=False)


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def file_part(name: str) -> str:
    """``name`` made safe as one path component on every platform (reversible escaping).

    >>> file_part("ann"), file_part("../x"), file_part("a:b c")
    ('ann', '%2E%2E%2Fx', 'a%3Ab%20c')
    """
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name) or "%"


@dataclass(frozen=True, slots=True)
class Viewer:
    """A viewer id and where it came from (``ephemeral``: could not be saved, this run only)."""

    id: str
    source: Literal["option", "config", "new", "ephemeral"]


def new_viewer_id() -> str:
    """A random pseudonymous id: 16 hex digits, nothing derived from the person or machine."""
    return secrets.token_hex(8)


def check_viewer_id(value: str) -> str:
    """Return ``value`` if it is a usable viewer id, else raise :class:`ValueError`."""
    if not VIEWER_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a valid viewer id: use 1-128 letters, digits or _ . : @ + -"
        )
    return value


def resolve_viewer(given: str | None = None, *, config: Path | None = None) -> Viewer:
    """The viewer id: ``given`` (``--viewer``), else ``$BRANCHING_VIEWER``, else the saved one,
    else a new saved one.

    Two processes creating the id at the same moment agree on one. If the config directory
    cannot be written, the id is ``ephemeral`` (a fresh one each run) rather than an error.
    """
    if given is None:
        given = os.environ.get(ENV_VIEWER) or None
    if given is not None:
        return Viewer(check_viewer_id(given), "option")
    folder = config_dir() if config is None else config
    file = folder / VIEWER_FILENAME
    saved = _read_id(file)
    if saved is not None:
        return Viewer(saved, "config")
    fresh = new_viewer_id()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _create_exclusive(file, fresh + "\n")
    except FileExistsError:
        pass
    except OSError:
        return Viewer(fresh, "ephemeral")
    saved = _read_id(file)
    if saved is None:
        return Viewer(fresh, "ephemeral")
    return Viewer(saved, "new" if saved == fresh else "config")


def _read_id(file: Path) -> str | None:
    try:
        text = read_limited(file, limit=4096).decode("utf-8").strip()
    except (OSError, ValueError):  # unreadable, too large for an id, not UTF-8
        return None
    return text if VIEWER_PATTERN.match(text) else None


def _create_exclusive(file: Path, text: str) -> None:
    """Create ``file`` with ``text`` atomically; :class:`FileExistsError` if it exists."""
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".viewer-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, file)  # fails if another process created it first: theirs wins
        except FileExistsError:
            raise
        except OSError:  # no hard links here (some network or FAT file systems)
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
    finally:
        os.unlink(tmp)
