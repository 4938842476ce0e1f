"""Where things live: the choice log's path, the viewer's pseudonymous id, first-run notices.

No UI and no SQLite here, so every command (and the players) can resolve these cheaply.

* The log: ``--db PATH``, else ``$BRANCHING_DB``, else ``choices.db`` in the user data
  directory (``platformdirs``; e.g. ``~/.local/share/branching/choices.db`` on Linux).
* The viewer: ``--viewer ID``, else a random id kept in the user config directory
  (``~/.config/branching/viewer-id``), created on first use.
* ``$BRANCHING_HOME``, when set, replaces both directories (as for saves: tests, portable
  installs), so everything branching keeps is in one folder.
* The notice: the first time a log is used for this user, players print one line saying where
  choices go and how to opt out (:func:`logging_notice`).
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

APP_NAME = "branching"
ENV_DB = "BRANCHING_DB"
#: Moves every file branching keeps (saves, log, viewer id) to one folder; see saves.py.
ENV_HOME = "BRANCHING_HOME"
DB_FILENAME = "choices.db"
VIEWER_FILENAME = "viewer-id"
NOTICE_FILENAME = "announced-logs"

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


def default_db_path() -> Path:
    return data_dir() / DB_FILENAME


@dataclass(frozen=True, slots=True)
class DbLocation:
    """A resolved log path and where it came from."""

    path: Path
    source: Literal["option", "env", "default"]

    @property
    def is_default(self) -> bool:
        """True for the platform default, whose directory may be created on first use."""
        return self.source == "default"

    def describe(self) -> str:
        how = {"option": "from --db", "env": f"from ${ENV_DB}", "default": "default"}
        return f"{self.path} ({how[self.source]})"


def resolve_db(
    option: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> DbLocation:
    """The log to use: ``option`` (``--db``), else ``$BRANCHING_DB``, else the default.

    An empty ``--db`` or ``BRANCHING_DB`` counts as not given. ``~`` is expanded.
    """
    env = os.environ if environ is None else environ
    if option is not None and os.fspath(option) != "":
        return DbLocation(Path(os.fspath(option)).expanduser(), "option")
    value = env.get(ENV_DB, "")
    if value:
        return DbLocation(Path(value).expanduser(), "env")
    return DbLocation(default_db_path(), "default")


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
    """The viewer id: ``given`` (``--viewer``), else the saved one, else a new saved one.

    Two processes creating the id at the same moment agree on one. If the config directory
    cannot be written, the id is ``ephemeral`` (a fresh one each run) rather than an error.
    """
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
        text = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
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


def logging_notice(
    location: DbLocation, viewer: Viewer, *, config: Path | None = None
) -> str | None:
    """The one-line notice to print before play, or ``None`` if this log was announced before.

    The first time choices go to a given log file for this user, the player prints this line
    (and it is remembered in the config directory). If that cannot be remembered, the notice
    is shown every time: better repeated than missed.
    """
    folder = config_dir() if config is None else config
    marker = folder / NOTICE_FILENAME
    key = str(location.path.resolve())
    try:
        seen = set(marker.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        seen = set()
    if key in seen:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with marker.open("a", encoding="utf-8") as f:
            f.write(key + "\n")
    except OSError:
        pass
    return (
        f"Your choices are logged to {location.path} as viewer {viewer.id} "
        f"(play with --no-log to opt out; `branching viewer forget {viewer.id}` erases them)."
    )
