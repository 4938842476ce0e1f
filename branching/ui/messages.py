"""Messages the player's screens and widgets post up to the app, which owns the session."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Choose(Message):
    """The viewer picked the choice ``choice_id`` (by number key, Enter or mouse)."""

    choice_id: str


@dataclass
class TimeUp(Message):
    """The countdown of the node ``node_id`` ran out (the app takes the timer's default)."""

    node_id: str


@dataclass
class GoBack(Message):
    """Go back to the choice point ``history[step]``; ``None`` means the previous one.

    ``choice`` is a suggested choice there (from the ending's suggestions), put under the
    cursor for the viewer to take or not."""

    step: int | None = None
    choice: str | None = None


@dataclass
class Restart(Message):
    """Start the story again from its first passage."""


@dataclass
class QuitRequested(Message):
    """The viewer asked to quit (the app confirms first)."""


@dataclass
class ScreenReady(Message):
    """The play screen is composed: the app may start (or offer to resume) the story."""


@dataclass
class PassageShown(Message):
    """Posted by the app once a move's passage (or ending) has been painted on screen.

    Nothing in the player needs it; tests and the benchmark watch for it (``message_hook``).
    """

    node_id: str
