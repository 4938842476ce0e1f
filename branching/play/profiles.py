"""The viewer's profile of a story: what survives from one playthrough to the next.

A story declares ``"profile": {"name": default}``; the values, how many playthroughs the viewer
began, and which endings they reached are kept per (viewer, story) in one small JSON file
beside the saves (``<data dir>/profiles/<viewer>/<story id>.json``). Expressions read them
through ``playthroughs()``, ``endings_found()``, ``ending_seen("id")`` and the profile names.

The file is the viewer's own state, not analytics: it is kept with ``--no-log`` too, shown by
``branching viewer export`` and deleted by ``branching viewer forget``. It is untrusted input
(anyone can edit it): read through the strict JSON reader (:mod:`branching.story.json_input`:
a size limit, no NaN, numbers that fit, no lone surrogates), checked against a strict model,
and a damaged file is set aside with a message, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from branching.play.home import data_dir, file_part
from branching.play.i18n import _
from branching.story.expressions import MAX_NUMBER, Value, format_value, kind_of
from branching.story.json_input import InputTooLarge, JsonInputError, loads, read_limited
from branching.story.untrusted import printable

#: ``format`` of a profile file.
PROFILE_FORMAT = "branching-profile/1"
#: A profile file is a few hundred bytes; anything past this is not one of ours.
MAX_PROFILE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ViewerProfile:
    """A viewer's profile of one story, as kept between playthroughs.

    ``playthroughs`` counts the playthroughs the viewer began, ``current`` among them (the
    latest one counted), so that keeping the same playthrough again never counts it twice.
    ``endings``: ids of the endings reached; ``values``: the story's profile names.

    >>> ViewerProfile(playthroughs=3, current="p3").earlier("p3")
    2
    >>> ViewerProfile(playthroughs=3, current="p3").earlier("p4")
    3
    """

    values: Mapping[str, Value] = field(default_factory=dict)
    playthroughs: int = 0
    current: str | None = None
    endings: frozenset[str] = frozenset()

    def earlier(self, playthrough_id: str) -> int:
        """How many playthroughs the viewer began before ``playthrough_id``."""
        if self.current is not None and self.current == playthrough_id:
            return max(0, self.playthroughs - 1)
        return self.playthroughs

    def to_json(self, story_id: str) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "story": story_id,
            "playthroughs": self.playthroughs,
            "current": self.current,
            "endings": sorted(self.endings),
            "values": dict(self.values),
        }


#: A viewer who has never played the story (also ``play --fresh-profile``).
FIRST_VISIT = ViewerProfile()


def adapt(
    declared: Mapping[str, Value], saved: Mapping[str, Value], notes: list[str] | None, what: str
) -> dict[str, Value]:
    """``saved`` values fitted to the names ``declared`` now (with their defaults).

    Names added since get their defaults, removed ones are dropped, and one whose type changed
    gets its default; each adaptation is described in ``notes`` (``what`` names the kind of
    value, e.g. "Story variable").

    >>> notes = []
    >>> adapt({"a": 1, "b": "x"}, {"a": "old", "c": 2}, notes, "Profile value")
    {'a': 1, 'b': 'x'}
    >>> len(notes)
    3
    """
    values: dict[str, Value] = {}
    for name, default in declared.items():
        if name not in saved:
            values[name] = default
            if notes is not None:
                notes.append(f'New {what.lower()} "{name}" starts at {format_value(default)}.')
        elif kind_of(saved[name]) != kind_of(default):
            values[name] = default
            if notes is not None:
                notes.append(
                    f'{what} "{name}" now holds {kind_of(default)} values; '
                    f"it starts again at {format_value(default)}."
                )
        else:
            values[name] = saved[name]
    if notes is not None:
        for name in saved:
            if name not in declared:
                notes.append(f'{what} "{name}" is no longer used and was dropped.')
    return values


class ProfileError(Exception):
    """A profile file that cannot be used; ``str()`` says why, for the viewer."""


# The file is untrusted: no control characters or lone surrogates in its strings, numbers
# finite and in the range expressions accept, bounded sizes, nothing but what we write.
_TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
_Text = Annotated[str, Field(pattern=_TEXT_PATTERN, max_length=10_000)]
_Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)]
_Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
_Int = Annotated[int, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]


class _ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal["branching-profile/1"]
    story: _Text
    playthroughs: int = Field(ge=0, le=MAX_NUMBER)
    current: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,100}$")] | None = None
    endings: list[_Text] = Field(max_length=100_000)
    values: dict[_Name, bool | _Int | _Number | _Text] = Field(max_length=10_000)


def _strict_loads(text: str | bytes) -> Any:
    """The strict JSON reader's verdict (no NaN, numbers that fit, no lone surrogates, ...)."""
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError:
        raise ProfileError("it is not UTF-8 text") from None
    try:
        return loads(decoded)
    except JsonInputError as exc:
        reason = printable(f"{exc}{exc.where()}", one_line=True)[:300]
        raise ProfileError(f"it is not usable JSON ({reason})") from None


def parse_profile(text: str | bytes, story_id: str) -> ViewerProfile:
    """The profile in ``text`` (a profile file's contents); :class:`ProfileError` if unusable.

    >>> parse_profile('{"format": "branching-profile/1", "story": "s", "playthroughs": "2",'
    ...               ' "endings": [], "values": {}}', "s")
    Traceback (most recent call last):
    ...
    branching.play.profiles.ProfileError: playthroughs: Input should be a valid integer
    >>> parse_profile('{"playthroughs": 1e999}', "s")
    Traceback (most recent call last):
    ...
    branching.play.profiles.ProfileError: it is not usable JSON (the number 1e999 is too large: ...
    """
    data = _strict_loads(text)
    if not isinstance(data, dict):
        raise ProfileError("it is not a JSON object")
    found = data.get("format")
    if found != PROFILE_FORMAT:
        shown = printable(json.dumps(found)[:60], one_line=True)
        raise ProfileError(f'its format is {shown}, not "{PROFILE_FORMAT}"')
    try:
        model = _ProfileFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = printable("/".join(str(part) for part in first["loc"]), one_line=True)[:200]
        if first["type"] == "string_pattern_mismatch":
            reason = "holds control characters"
        else:
            reason = printable(first["msg"], one_line=True)
        raise ProfileError(f"{where}: {reason}") from None
    if model.story != story_id:
        raise ProfileError(f'it belongs to the story "{printable(model.story, one_line=True)}"')
    return ViewerProfile(
        values=dict(model.values),
        playthroughs=model.playthroughs,
        current=model.current,
        endings=frozenset(model.endings),
    )


def _read_limited(path: Path) -> bytes:
    try:
        return read_limited(path, MAX_PROFILE_BYTES)
    except InputTooLarge:
        raise ProfileError(f"it is larger than {MAX_PROFILE_BYTES // 1024} KiB") from None


class ProfileStore:
    """Profiles under ``root`` (default ``data_dir()/profiles``): ``root/<viewer>/<story>.json``.

    The endings a viewer found are part of the profile, so the "you have found 3 of 7 endings"
    count and ``ending_seen()`` read one file that cannot disagree with itself.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / "profiles"
        #: What was last written per file, so an unchanged profile is not written again.
        self._written: dict[Path, dict[str, Any]] = {}

    def path(self, story_id: str, viewer: str) -> Path:
        return self.root / file_part(viewer) / f"{file_part(story_id)}.json"

    def legacy_path(self, story_id: str, viewer: str) -> Path:
        """Where versions before profiles kept the endings found (a JSON list of ids)."""
        return self.root.parent / "endings" / file_part(viewer) / f"{file_part(story_id)}.json"

    def _legacy(self, story_id: str, viewer: str) -> ViewerProfile:
        """The endings an older version noted, taken into the profile (its file goes once the
        profile is written); anything unreadable there counts as none found, as it did."""
        try:
            data = _strict_loads(_read_limited(self.legacy_path(story_id, viewer)))
        except (OSError, ProfileError):
            return FIRST_VISIT
        if not isinstance(data, list):
            return FIRST_VISIT
        endings = [item for item in data if isinstance(item, str) and len(item) <= 200]
        return ViewerProfile(endings=frozenset(printable(item) for item in endings))

    def load(self, story_id: str, viewer: str) -> ViewerProfile:
        """The viewer's profile (:data:`FIRST_VISIT` when there is none).

        Raises :class:`ProfileError` when the file exists but cannot be used.
        """
        path = self.path(story_id, viewer)
        try:
            data = _read_limited(path)
        except (FileNotFoundError, NotADirectoryError):
            return self._legacy(story_id, viewer)
        except OSError as exc:
            raise ProfileError(f"it cannot be read ({exc.strerror or exc})") from None
        return parse_profile(data, story_id)

    def load_or_set_aside(
        self, story_id: str, viewer: str, say: Callable[[str], None]
    ) -> ViewerProfile:
        """:meth:`load`; a damaged file is renamed ``*.damaged`` (kept, not lost) and the
        viewer, told with ``say``, plays as a first-time viewer."""
        try:
            return self.load(story_id, viewer)
        except ProfileError as exc:
            path = self.path(story_id, viewer)
            aside = path.with_name(path.name + ".damaged")
            values = {"path": path, "reason": exc, "aside": aside}
            try:
                os.replace(path, aside)
                said = _(
                    "Your profile of this story (%(path)s) cannot be used: %(reason)s; it was "
                    "kept as %(aside)s and a new profile starts, so the story treats you as a "
                    "first-time viewer."
                )
            except OSError:
                said = _(
                    "Your profile of this story (%(path)s) cannot be used: %(reason)s; a new "
                    "profile starts, so the story treats you as a first-time viewer."
                )
            say(said % values)
            return FIRST_VISIT

    def save(self, story_id: str, viewer: str, profile: ViewerProfile) -> None:
        """Write ``profile`` atomically (a crash leaves the old file or the new one)."""
        path = self.path(story_id, viewer)
        state = profile.to_json(story_id)
        if self._written.get(path) == state:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".profile-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(state, file, ensure_ascii=False, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._written[path] = state
        # One record of the endings found: the old notebook is in the profile now.
        with contextlib.suppress(OSError):
            self.legacy_path(story_id, viewer).unlink(missing_ok=True)

    def delete_viewer(self, viewer: str) -> list[Path]:
        """Delete every profile of ``viewer`` (damaged ones set aside, and endings noted by
        older versions, included); returns the files deleted."""
        deleted: list[Path] = []
        for root in (self.root, self.root.parent / "endings"):
            folder = root / file_part(viewer)
            try:
                entries = sorted(folder.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.is_file() or entry.is_symlink():
                    entry.unlink(missing_ok=True)
                    deleted.append(entry)
            with contextlib.suppress(OSError):  # not empty (something else in it) or gone
                folder.rmdir()
        self._written = {}
        return deleted

    def export_viewer(self, viewer: str) -> list[dict[str, Any]]:
        """Every profile of ``viewer`` as JSON-ready data (a damaged one with its error)."""
        folder = self.root / file_part(viewer)
        try:
            entries = sorted(p for p in folder.iterdir() if p.name.endswith(".json"))
        except OSError:
            return []
        found: list[dict[str, Any]] = []
        for entry in entries:
            try:
                data = _read_limited(entry)
                raw = _strict_loads(data)
                story_id = raw.get("story") if isinstance(raw, dict) else None
                if not isinstance(story_id, str):
                    raise ProfileError("it names no story")
                profile = parse_profile(data, story_id)
            except (OSError, ProfileError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                found.append({"file": str(entry), "error": printable(reason, one_line=True)})
                continue
            found.append({"file": str(entry), **profile.to_json(story_id)})
        return found
