"""Which choice log a command uses, and the one-line notice before its first use.

* The log: ``--db PATH``, else ``$BRANCHING_DB``, else ``choices.db`` in the user data
  directory (:func:`branching.play.home.data_dir`; ``~/.local/share/branching/choices.db`` on
  Linux).
* The notice: the first time a log is used for this user, players print one line saying where
  choices go and how to opt out (:func:`logging_notice`).

No SQLite here: commands resolve the path cheaply before anything opens it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from branching.play.home import Viewer, config_dir, data_dir
from branching.play.i18n import _
from branching.story.json_input import read_limited
from branching.story.untrusted import printable

ENV_DB = "BRANCHING_DB"
DB_FILENAME = "choices.db"
NOTICE_FILENAME = "announced-logs"


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
        """``PATH (from --db)``, for messages: a file name may hold control characters, which
        are shown escaped (:func:`~branching.story.untrusted.printable`)."""
        how = {"option": "from --db", "env": f"from ${ENV_DB}", "default": "default"}
        return f"{printable(self.path, one_line=True)} ({how[self.source]})"


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
        seen = set(read_limited(marker).decode("utf-8").splitlines())
    except (OSError, ValueError):  # unreadable, too large, not UTF-8
        seen = set()
    if key in seen:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with marker.open("a", encoding="utf-8") as f:
            f.write(key + "\n")
    except OSError:
        pass
    return _(
        "Your choices are logged to %(path)s as viewer %(viewer)s (play with --no-log to opt "
        "out; `branching viewer forget %(viewer)s` erases them)."
    ) % {"path": location.path, "viewer": viewer.id}
