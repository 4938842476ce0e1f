"""Saved playthroughs on disk: one JSON file per (story id, viewer), written atomically.

They live in the user data folder (:func:`branching.play.home.data_dir`), keyed by the viewer's
pseudonymous id. No UI import: both players use this.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from branching.play.engine import ResumeError
from branching.play.home import data_dir, file_part
from branching.story.json_input import InputTooLarge, JsonInputError, loads, read_limited
from branching.story.untrusted import printable


class SaveStore:
    """Saves under ``root`` (default ``data_dir()/saves``): ``root/<viewer>/<story id>.json``.

    Implements the players' ``Saves`` protocol: ``load``, ``save``, ``delete``.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / "saves"

    def path(self, story_id: str, viewer: str) -> Path:
        return self.root / file_part(viewer) / f"{file_part(story_id)}.json"

    def load(self, story_id: str, viewer: str) -> dict[str, Any] | None:
        """The saved state, ``None`` when there is none; :class:`ResumeError` if unreadable."""
        path = self.path(story_id, viewer)
        try:
            text = read_limited(path).decode("utf-8")
        except (FileNotFoundError, NotADirectoryError):  # no save (or no folder for one)
            return None
        except OSError as exc:
            raise ResumeError(f"the save {path} cannot be read: {exc.strerror or exc}") from None
        except (InputTooLarge, UnicodeDecodeError) as exc:
            raise ResumeError(f"the save {path} cannot be read: {exc}") from None
        try:
            data = loads(text)
        except JsonInputError as exc:
            raise ResumeError(f"the save {path} is damaged ({exc}{exc.where()})") from None
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

    def viewer_files(self, viewer: str) -> list[Path]:
        """The saved places of ``viewer`` (one file per story)."""
        try:
            return sorted(p for p in (self.root / file_part(viewer)).iterdir() if p.is_file())
        except OSError:
            return []

    def export_viewer(self, viewer: str) -> list[dict[str, Any]]:
        """Every saved place of ``viewer`` as the JSON it holds, with its file (a save that
        cannot be read with why, instead)."""
        found: list[dict[str, Any]] = []
        for path in self.viewer_files(viewer):
            if not path.name.endswith(".json"):
                continue  # a half-written temporary file (see save) holds nothing yet
            try:
                data = loads(read_limited(path).decode("utf-8"))
            except (OSError, InputTooLarge, UnicodeDecodeError, JsonInputError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                found.append({"file": str(path), "error": printable(reason, one_line=True)})
                continue
            found.append({"file": str(path), "save": data})
        return found

    def delete_viewer(self, viewer: str) -> list[Path]:
        """Delete every saved place of ``viewer``; returns the files deleted."""
        deleted = []
        for path in self.viewer_files(viewer):
            path.unlink(missing_ok=True)
            deleted.append(path)
        with contextlib.suppress(OSError):  # not empty, or never made
            (self.root / file_part(viewer)).rmdir()
        return deleted
