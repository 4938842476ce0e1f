"""Times in the choice log: Unix seconds that may be anything a broken clock wrote.

A log merged from a machine whose clock was wrong can hold ``1e20``, ``-1e20`` or an infinity
(SQLite stores those; a NaN cannot be stored in a ``NOT NULL`` column and reads back as
``NULL`` elsewhere). Python's ``datetime`` covers the years 1 to 9999 only, and ``time.gmtime``
fails past the platform's ``time_t``. Everything that formats a log time or files it under a day
goes through this module, so no stored value can crash a command: :func:`valid` says whether a
time is usable, :func:`shown` and :func:`iso` format it (or say it is invalid), :func:`utc_day`
clamps it to the first or last day. The write path refuses invalid times
(:func:`branching.log.writer.write_batch`); ``branching log check`` reports those already stored.
"""

from __future__ import annotations

import datetime as _dt
import math

#: 0001-01-01T00:00:00Z, the first instant ``datetime`` can show.
FIRST = -62_135_596_800.0
#: 9999-12-31T23:59:59Z: the last whole second ``datetime`` can show (later fractions round up
#: into the year 10000).
LAST = 253_402_300_799.0
#: 1970-01-01T00:00:00Z, the Unix epoch: the earliest time a choice log can hold. Earlier
#: times are valid dates (shown as such), but no event was ever recorded before 1970: such a
#: time comes from a clock reset or set wrong, so the log refuses to store it and
#: ``log check`` reports it (see :func:`recordable`).
EARLIEST = 0.0
#: The days invalid times are counted under in the roll-ups, so a date filter excludes them.
FIRST_DAY = "0001-01-01"
LAST_DAY = "9999-12-31"


def valid(ts: object) -> bool:
    """True for a finite number of Unix seconds within the years 1 to 9999.

    >>> valid(1_700_000_000.0), valid(1e20), valid(-1e20), valid(float("nan")), valid(None)
    (True, False, False, False, False)
    """
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return False
    return FIRST <= ts <= LAST  # NaN compares false


def recordable(ts: object) -> bool:
    """True for a time a choice log can hold: a finite number of Unix seconds from 1970 to the
    end of 9999 (:data:`EARLIEST` to :data:`LAST`).

    >>> recordable(1_700_000_000.0), recordable(-1.0), recordable(1e20), recordable(None)
    (True, False, False, False)
    """
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return False
    return EARLIEST <= ts <= LAST  # NaN compares false


def unrecordable_text(ts: object) -> str:
    """Why a time cannot be in a log: ``invalid time (1e+20)``, or the date of one before 1970.

    >>> unrecordable_text(-1.0), unrecordable_text(float("nan"))
    ('1969-12-31 23:59:59, before 1970', 'invalid time (nan)')
    """
    if valid(ts):
        return f"{shown(ts)}, before 1970"  # type: ignore[arg-type]
    return invalid_text(ts)


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _datetime(ts: float) -> _dt.datetime:
    # Epoch plus a timedelta rather than fromtimestamp: the same on every platform, negative
    # times included (Windows' fromtimestamp refuses those).
    return _EPOCH + _dt.timedelta(seconds=ts)


def _number(ts: float) -> str:
    return repr(float(ts)) if isinstance(ts, int | float) else repr(ts)


def invalid_text(ts: object) -> str:
    """How an invalid time is shown: ``invalid time (1e+20)``.

    >>> invalid_text(1e20), invalid_text(float("-inf"))
    ('invalid time (1e+20)', 'invalid time (-inf)')
    """
    return f"invalid time ({_number(ts)})"  # type: ignore[arg-type]


def shown(ts: float | None) -> str:
    """A time for the terminal, UTC to the second; ``-`` for none, or ``invalid time (...)``.

    >>> shown(0.0), shown(None), shown(1e20)
    ('1970-01-01 00:00:00', '-', 'invalid time (1e+20)')
    """
    if ts is None:
        return "-"
    if not valid(ts):
        return invalid_text(ts)
    when = _datetime(ts)
    return f"{when.year:04d}-{when:%m-%d %H:%M:%S}"  # %Y drops the leading zeros of year 1


def iso(ts: float | None) -> str | None:
    """ISO 8601 UTC with microseconds (``None`` stays ``None``; an invalid time is described).

    >>> iso(0.5), iso(86400), iso(-1e20)
    ('1970-01-01T00:00:00.500000Z', '1970-01-02T00:00:00Z', 'invalid time (-1e+20)')
    """
    if ts is None:
        return None
    if not valid(ts):
        return invalid_text(ts)
    return _datetime(ts).isoformat().replace("+00:00", "Z")


def json_number(ts: float | None) -> float | None:
    """A time as a JSON number: ``None`` for an infinity or NaN, which JSON cannot hold."""
    if ts is None or not isinstance(ts, int | float) or not math.isfinite(ts):
        return None
    return float(ts)


def seconds_between(start: float, end: float) -> float | None:
    """``end - start``, or ``None`` when either time is invalid (a broken clock's difference
    means nothing)."""
    if not (valid(start) and valid(end)):
        return None
    return end - start


def utc_day(ts: float, cache: dict[int, str] | None = None) -> str:
    """The UTC day (``YYYY-MM-DD``) of a Unix time, clamped to :data:`FIRST_DAY` (before the
    year 1, or NaN) and :data:`LAST_DAY` (after 9999); ``cache`` spares formatting the same day
    again across a batch.

    >>> utc_day(0.0), utc_day(1e20), utc_day(-8e10), utc_day(float("nan"))
    ('1970-01-01', '9999-12-31', '0001-01-01', '0001-01-01')
    """
    if not FIRST <= ts <= LAST:
        return LAST_DAY if ts > LAST else FIRST_DAY
    key = int(ts // 86400)
    day = None if cache is None else cache.get(key)
    if day is None:
        date = _EPOCH + _dt.timedelta(days=key)
        day = f"{date.year:04d}-{date:%m-%d}"
        if cache is not None:
            cache[key] = day
    return day
