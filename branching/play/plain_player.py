"""The line-by-line player (``branching play --plain``): for screen readers, pipes and scripts.

It prints the passage, the choices numbered from 1 and a prompt, then reads one line:

* a number picks that choice (even after a timer's deadline: a typed answer is an explicit pick);
* an empty line lets the timer run out on a timed node (its default is taken and recorded as a
  timeout); on an untimed node it just asks again;
* ``b`` goes back to the previous choice point, ``r`` starts over, ``q`` quits;
* the end of input quits (a quit at the current node).

At an ending it says which one (its title and kind) and how many of the story's endings the
viewer has found, then lists the playthrough's choice points, numbered, each with what was
chosen there: a number goes back to that point, ``r`` starts over, ``q`` (or the end of input)
leaves. With an :class:`~branching.play.audience.AudienceView` it also says what share of
viewers made the same choice (after each choice and for each choice point at the ending), and
lists up to three suggestions of what to explore next, lettered ``x``, ``y``, ``z``: a letter
goes back to that choice point.

Anything else gets a one-line hint. Output is plain text: no colour and no escape sequences
ever, and control characters are stripped from everything printed as defence in depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TextIO

from branching.play.audience import SUGGESTION_KEYS, AudienceView, Suggestion, point_share
from branching.play.endings import KIND_WORDS, found_line
from branching.play.engine import Session
from branching.play.words import markdown_to_plain
from branching.story.untrusted import printable

PROMPT = "> "


def format_seconds(seconds: float) -> str:
    """Whole seconds for the viewer, rounded up (a timer with 7.2 s left says 8 s).

    >>> format_seconds(12.0), format_seconds(7.2), format_seconds(0.3)
    ('12 s', '8 s', '1 s')
    """
    return f"{max(1, math.ceil(seconds - 1e-9))} s"


class PlainPlayer:
    """Plays ``session`` over two text streams; :meth:`run` returns the exit status.

    ``on_change`` is called after every step (to autosave, and keep the viewer's profile);
    ``saved`` says whether quitting keeps the viewer's place, for the goodbye message. The
    endings found come from the session (the viewer's profile of the story).
    """

    def __init__(
        self,
        session: Session,
        stdin: TextIO,
        stdout: TextIO,
        *,
        on_change: Callable[[Session], None] | None = None,
        saved: bool = False,
        audience: AudienceView | None = None,
    ) -> None:
        self.session = session
        self.stdin = stdin
        self.stdout = stdout
        self.on_change = on_change
        self.saved = saved
        self.audience = audience or AudienceView()
        #: The suggestions on show at the ending (x, y, z).
        self._suggestions: list[Suggestion] = []
        # Piped input is not echoed by a terminal: echo it so a transcript reads like a session.
        self.echo = not _isatty(stdin)

    def say(self, text: str = "") -> None:
        self.stdout.write(printable(text) + "\n")

    def run(self, *, header: bool = True, resumed: bool = False) -> int:
        """Play until an ending (0), a quit (0) or a fault in the story (1).

        ``resumed`` says the session came from a save: the viewer is told, with what was
        adapted to a changed story (``session.resume_notes``).
        """
        session = self.session
        if header:
            story = session.story
            self.say(session.story_title() + (f", by {story.author}" if story.author else ""))
        if resumed:
            self.say("Continuing your saved playthrough (type r to start over).")
        for note in session.resume_notes:
            self.say(f"Note: {note}")
        while True:
            while session.status == "playing":
                self.show_passage()
                self.step()
                self.changed()
            if session.status != "ended":
                break
            self.show_ending()
            if not self.after_ending():
                self.stdout.flush()
                return 0
            self.changed()
        if session.status == "failed":
            self.say()
            self.say(f"The story stopped because of a fault in it: {session.fault}")
            self.say("Please tell its author.")
            self.stdout.flush()
            return 1
        self.say()
        if self.saved:
            self.say("You left the story. Your place is saved: play it again to continue.")
        else:
            self.say("You left the story.")
        self.stdout.flush()
        return 0

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.session)

    def show_text(self) -> None:
        """The passage's title and its words (Markdown read as words), framed by blank lines."""
        session = self.session
        self.say()
        title = session.title()
        if title:
            self.say(title)
        text = markdown_to_plain(session.text()).strip()
        if text:
            self.say(text)
        self.say()

    def show_passage(self) -> None:
        session = self.session
        self.show_text()
        offers = session.available_choices()
        for offer in offers:
            self.say(f"{offer.number}. {offer.label}")
        left = session.time_left()
        if left is not None:
            default = next(offer for offer in offers if offer.default)
            self.say(
                f"({format_seconds(left)}; Enter lets the timer run out: "
                f"{default.number}. {default.label})"
            )

    def hint(self) -> str:
        count = len(self.session.available_choices())
        numbers = "1" if count == 1 else f"a number from 1 to {count}"
        back = ", b to go back" if self.session.can_rewind else ""
        timer = ", Enter to let the timer run out" if self.session.time_left() is not None else ""
        return f"Type {numbers}{timer}{back}, r to start over or q to quit."

    def read(self) -> str | None:
        """One line from the viewer, or ``None`` at the end of input."""
        self.stdout.write(PROMPT)
        self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            self.stdout.write("\n")
            return None
        if self.echo:
            self.stdout.write(printable(line.rstrip("\r\n")) + "\n")
        return line.strip()

    def step(self) -> None:
        """Read lines until one of them does something, then do it."""
        session = self.session
        while True:
            answer = self.read()
            if answer is None or answer.lower() == "q":
                session.quit()
                return
            offers = session.available_choices()
            if answer == "":
                if session.time_left() is not None:
                    default = next(offer for offer in offers if offer.default)
                    self.say(f"Time ran out: {default.label}")
                    node = session.node_id
                    session.expire_timer()
                    if len(offers) > 1:
                        self.say_share(node, default.id)
                    return
                continue
            if answer.lower() == "b":
                if session.can_rewind:
                    point = session.history[-1]
                    session.rewind()
                    self.say(f"Back to: {point.label}")
                    return
                self.say("There is nothing to go back to yet. " + self.hint())
                continue
            if answer.lower() == "r":
                session.restart()
                self.say("Starting over.")
                return
            if answer.isdecimal() and 1 <= int(answer) <= len(offers):
                node, choice = session.node_id, offers[int(answer) - 1].id
                session.choose(choice)
                if len(offers) > 1:  # a lone choice is no choice: no share
                    self.say_share(node, choice)
                return
            self.say(self.hint())

    def say_share(self, node: str, choice: str) -> None:
        """Say the share of viewers who chose the same, when shares are on and enough chose."""
        words = self.audience.share_words(node, choice)
        if words is not None:
            self.say(f"({words}.)")

    def show_ending(self) -> None:
        """The ending's words, which ending it is, endings found, and the way back."""
        session = self.session
        self.show_text()
        ending = session.ending
        title = ending.title if ending else None
        if title == session.node.title:
            title = None  # just shown above the passage
        kind = KIND_WORDS.get(ending.kind if ending else "neutral", "An ending")
        shown = f"The end: {title}. {kind}." if title else f"The end. {kind}."
        self.say(shown)
        self.say(found_line(session))
        if session.history:
            self.say()
            self.say("Go back to a choice point:")
            for number, point in enumerate(session.history, 1):
                where = markdown_to_plain(point.label).strip()
                chosen = markdown_to_plain(point.choice_label).strip()
                share = point_share(self.audience, session.story, point)
                also = f" ({share})" if share else ""
                self.say(f'{number}. {where}: you chose "{chosen}"{also}')
        self._suggestions = self.audience.suggestions(session)[: len(SUGGESTION_KEYS)]
        if self._suggestions:
            self.say()
            self.say("What to explore next:")
            for key, item in zip(SUGGESTION_KEYS, self._suggestions, strict=False):
                where = markdown_to_plain(item.point_label).strip()
                choice = markdown_to_plain(item.choice_label).strip()
                self.say(f'{key}. Go back to "{where}" and choose "{choice}".')
                self.say(f"   {item.reason}.")
        self.say(self.ending_hint())
        self.stdout.flush()

    def ending_hint(self) -> str:
        count = len(self.session.history)
        if not count:
            return "Type r to start over or q to leave."
        numbers = "1" if count == 1 else f"a number from 1 to {count}"
        letters = SUGGESTION_KEYS[: len(self._suggestions)]
        follow = ""
        if letters:
            named = (
                letters[0] if len(letters) == 1 else ", ".join(letters[:-1]) + " or " + letters[-1]
            )
            follow = f", {named} to follow a suggestion"
        return f"Type {numbers} to go back there{follow}, r to start over or q to leave."

    def after_ending(self) -> bool:
        """Read what to do at an ending: True when play goes on (went back, started over)."""
        session = self.session
        while True:
            answer = self.read()
            if answer is None or answer.lower() == "q":
                self.say("The End.")
                return False
            if answer.lower() == "r":
                session.restart()
                self.say("Starting over.")
                return True
            if answer.lower() == "b" and session.history:
                answer = str(len(session.history))
            keys = SUGGESTION_KEYS[: len(self._suggestions)]
            if answer.lower() in keys:
                item = self._suggestions[keys.index(answer.lower())]
                session.rewind(item.step)
                where = markdown_to_plain(item.point_label).strip()
                offer = next((o for o in session.available_choices() if o.id == item.choice), None)
                if offer is None:  # not on offer after all: the viewer picks
                    self.say(f"Back to: {where}")
                else:
                    self.say(
                        f'Back to: {where}. The suggestion was {offer.number}. "{offer.label}".'
                    )
                return True
            if answer.isdecimal() and 1 <= int(answer) <= len(session.history):
                point = session.history[int(answer) - 1]
                session.rewind(point.step)
                self.say(f"Back to: {markdown_to_plain(point.label).strip()}")
                return True
            self.say(self.ending_hint())


def ask_yes_no(
    question: str, stdin: TextIO, stdout: TextIO, *, default: bool = True
) -> bool | None:
    """Ask a yes/no question on one line; ``None`` at the end of input."""
    suffix = "[Y/n]" if default else "[y/N]"
    while True:
        stdout.write(f"{printable(question)} {suffix} ")
        stdout.flush()
        line = stdin.readline()
        if not line:
            stdout.write("\n")
            return None
        if not _isatty(stdin):
            stdout.write(printable(line.rstrip("\r\n")) + "\n")
        answer = line.strip().lower()
        if answer == "":
            return default
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        stdout.write("Please answer y or n.\n")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
