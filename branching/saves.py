"""Saved playthroughs on disk: one JSON file per (story id, viewer), written atomically.

The data folder is the platform's user data folder for ``branching`` (``platformdirs``), or
``$BRANCHING_HOME`` when set (tests, portable installs). No UI import: both players use this.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from branching.engine import ResumeError

#: Environment variable that moves every file branching keeps (saves, log) to one folder.
HOME_ENV = "BRANCHING_HOME"
#: Environment variable naming the viewer when ``--viewer`` is not given.
VIEWER_ENV = "BRANCHING_VIEWER"


def data_dir() -> Path:
    """Where branching keeps the viewer's files: ``$BRANCHING_HOME`` or the user data folder."""
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("branching", appauthor=False))


def default_viewer() -> str:
    """The viewer's name when none is given: ``$BRANCHING_VIEWER``, else the login name."""
    name = os.environ.get(VIEWER_ENV)
    if name:
        return name
    try:
        return getpass.getuser() or "viewer"
    except (OSError, KeyError):  # no login name (some containers)
        return "viewer"


_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")


def _file_part(name: str) -> str:
    """``name`` made safe as one path component on every platform (reversible escaping).

    >>> _file_part("ann"), _file_part("../x"), _file_part("a:b c")
    ('ann', '%2E%2E%2Fx', 'a%3Ab%20c')
    """
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), name) or "%"


class SaveStore:
    """Saves under ``root`` (default ``data_dir()/saves``): ``root/<viewer>/<story id>.json``.

    Implements the players' ``Saves`` protocol: ``load``, ``save``, ``delete``.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / "saves"

    def path(self, story_id: str, viewer: str) -> Path:
        return self.root / _file_part(viewer) / f"{_file_part(story_id)}.json"

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None:
        """The saved state, ``None`` when there is none; :class:`ResumeError` if unreadable."""
        path = self.path(story_id, viewer)
        try:
            text = path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # no save (or no folder for one)
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise ResumeError(f"the save {path} cannot be read: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ResumeError(f"the save {path} is damaged (not JSON: {exc})") from None
        if not isinstance(data, dict):
            raise ResumeError(f"the save {path} is damaged (not a JSON object)")
        return data

    def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
        """Write ``state`` atomically: a crash leaves the old save or the new one, never half."""
        path = self.path(story_id, viewer)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".save-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(state, file, ensure_ascii=False, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def delete(self, story_id: str, viewer: str) -> None:
        self.path(story_id, viewer).unlink(missing_ok=True)
