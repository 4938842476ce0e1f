"""Options and helpers shared by commands that use the choice log (play, report, simulate...).

Kept free of SQLite: ``branching.log`` is imported only inside :func:`open_log`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
from builtins import min as builtins_min
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from branching.log.location import ENV_DB, DbLocation, resolve_db
from branching.play.home import check_viewer_id
from branching.story.experiments import check_forced, parse_arm_options
from branching.story.untrusted import printable

if TYPE_CHECKING:
    from branching.log import ChoiceLog
    from branching.story.model import Story

F = TypeVar("F", bound=Callable[..., Any])


class FloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses ``nan``, which passes every range comparison."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and math.isnan(number):
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


class OutputPath(click.Path):
    """``click.Path`` for what a command writes (``-o``): an empty name, as an unset shell
    variable gives (``-o "$OUT"``), is refused rather than taken as the current folder."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("the name is empty (an unset shell variable?).", param, ctx)
        return super().convert(value, param, ctx)


#: The largest count SQLite can take (``LIMIT``): a larger ``--top`` or ``--limit`` means "all".
MAX_COUNT = 2**63 - 1


class Count(click.IntRange):
    """A count of rows, at least ``min``; any number above :data:`MAX_COUNT` means all of them
    (``--top 99999999999999999999`` once overflowed SQLite and blamed the log)."""

    def __init__(self, min: int = 1) -> None:
        super().__init__(min=min)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        return None if number is None else builtins_min(number, MAX_COUNT)


class Seed(click.types.IntParamType):
    """A whole number of at most :attr:`DIGITS` digits (a random seed). Python refuses to read
    more than 4,300 digits and click then blamed the number for not being an integer, echoing
    every digit."""

    name = "integer"
    DIGITS = 40

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if re.fullmatch(rf"[+-]?[0-9]{{1,{self.DIGITS}}}", text):
            return int(text)
        shown = printable(text[:24], one_line=True) + ("..." if len(text) > 24 else "")
        self.fail(f"{shown!r} is not a whole number of at most {self.DIGITS} digits", param, ctx)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` option (``--since``, ``--until``): a calendar date in that form only."""
    if value is None:
        return None
    try:
        # Python also reads 20261127 and 2026-W48-5; the documented form is the only one.
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        shown = printable(value[:40], one_line=True)
        raise click.BadParameter(f"{shown!r} is not a date like 2026-11-27") from None


def _resolve_db(ctx: click.Context, param: click.Parameter, value: str | None) -> DbLocation:
    return resolve_db(value)


#: The help of every ``--db PATH`` option, so all commands describe the log the same way.
DB_HELP = (
    f"Choice log database (default: ${ENV_DB}, else choices.db in your user data "
    "directory; `branching log info` shows which)."
)


def db_option(f: F) -> F:
    """``--db PATH``: the command receives ``db: DbLocation`` (option, env or default)."""
    return click.option(
        "--db",
        "db",
        metavar="PATH",
        callback=_resolve_db,
        expose_value=True,
        help=DB_HELP,
    )(f)


def check_viewer(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: a valid viewer id, or ``None`` when not given."""
    if value is None:
        return None
    try:
        return check_viewer_id(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def viewer_option(f: F) -> F:
    """``--viewer ID``: the command receives ``viewer: str | None`` (None: this user's id)."""
    return click.option(
        "--viewer",
        "viewer",
        metavar="ID",
        callback=check_viewer,
        help="Who is playing: saves and the choice log are kept per viewer (default: "
        "$BRANCHING_VIEWER, else this user's random pseudonymous id).",
    )(f)


def _parse_arms(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> dict[str, str]:
    try:
        return parse_arm_options(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e


def arm_option(help: str) -> Callable[[F], F]:
    """``--arm EXPERIMENT=ARM`` (repeatable): the command receives ``arms: dict[str, str]``;
    check it against the story with :func:`check_arms`."""
    return click.option(
        "--arm", "arms", multiple=True, metavar="EXPERIMENT=ARM", callback=_parse_arms, help=help
    )


def check_arms(story: Story, arms: dict[str, str]) -> dict[str, str]:
    """``arms`` if the story has every experiment and arm named, else a usage error (exit 2)."""
    try:
        check_forced(story, arms)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--arm") from e
    return arms


def open_log(
    location: DbLocation,
    *,
    create: bool = True,
    readonly: bool = False,
    outdated_ok: bool = False,
    upgrade: bool = False,
    durable: bool = True,
    hint: str | None = None,
) -> ChoiceLog:
    """Open the log or exit with its message (never a traceback).

    Commands that only read pass ``readonly`` (nothing is written to the file or beside it, so
    an archived or shared log can be read) and, if they read only playthroughs and events,
    ``outdated_ok`` (an older schema is read as it is). ``upgrade``: a read-only open of an
    older log that needs the current schema (the report's roll-ups) upgrades it instead when
    the file may be written, as any open for writing would. ``hint`` is appended to the
    message, e.g. ``"play with --no-log to play without logging"``.
    """
    from branching.log import ChoiceLog, LogOutdated, LogUnavailable

    try:
        try:
            return ChoiceLog.open(
                location.path,
                create=create,
                readonly=readonly,
                outdated_ok=outdated_ok,
                durable=durable,
                create_parent=location.is_default,
                on_upgrade=_say_upgrading,
            )
        except LogOutdated:
            if not (readonly and upgrade and os.access(location.path, os.W_OK)):
                raise
            return ChoiceLog.open(
                location.path, create=False, durable=durable, on_upgrade=_say_upgrading
            )
    except LogUnavailable as e:
        raise click.ClickException(_sentence(str(e)) + (f"; {hint}" if hint else "")) from e


def _say_upgrading(notice: str) -> None:
    click.echo(notice, err=True)


@contextlib.contextmanager
def using_log(
    location: DbLocation,
    *,
    create: bool = True,
    readonly: bool = False,
    outdated_ok: bool = False,
    upgrade: bool = False,
    durable: bool = True,
) -> Iterator[ChoiceLog]:
    """Open the log for a command's block; any log error in the block becomes a message.

    That includes SQLite errors from a command's own reads on ``log.conn`` (a damaged page met
    after a clean open), which :class:`ChoiceLog`'s methods would have wrapped.
    """
    import sqlite3

    from branching.log import LogError
    from branching.log.errors import describe_sqlite_error

    log = open_log(
        location,
        create=create,
        readonly=readonly,
        outdated_ok=outdated_ok,
        upgrade=upgrade,
        durable=durable,
    )
    try:
        yield log
    except LogError as e:
        raise click.ClickException(_sentence(str(e))) from e
    except sqlite3.Error as e:
        message = f"Cannot use the choice log {location.path}: {describe_sqlite_error(e)}"
        raise click.ClickException(message) from e
    finally:
        log.close()


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]
