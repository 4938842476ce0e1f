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
from branching.play.i18n import _, either
from branching.play.words import markdown_to_plain
from branching.story.untrusted import printable

PROMPT = "> "


def format_seconds(seconds: float) -> str:
    """Whole seconds for the viewer, rounded up (a timer with 7.2 s left says 8 s).

    >>> format_seconds(12.0), format_seconds(7.2), format_seconds(0.3)
    ('12 s', '8 s', '1 s')
    """
    whole = max(1, math.ceil(seconds - 1e-9))
    return _("%(seconds)d s") % {"seconds": whole}


def goodbye(*, saved: bool) -> str:
    """What the viewer is told on leaving a story before its end."""
    if saved:
        return _("You left the story. Your place is saved: play it again to continue.")
    return _("You left the story.")


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
            title = session.story_title()
            self.say(
                _("%(title)s, by %(author)s") % {"title": title, "author": story.author}
                if story.author
                else title
            )
        if resumed:
            self.say(_("Continuing your saved playthrough (type r to start over)."))
        for note in session.resume_notes:
            self.say(_("Note: %(note)s") % {"note": note})
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
            self.say(
                _("The story stopped because of a fault in it: %(fault)s")
                % {"fault": session.fault}
            )
            self.say(_("Please tell its author."))
            self.stdout.flush()
            return 1
        self.say()
        self.say(goodbye(saved=self.saved))
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
                _("(%(time)s; Enter lets the timer run out: %(number)d. %(label)s)")
                % {"time": format_seconds(left), "number": default.number, "label": default.label}
            )

    def hint(self) -> str:
        count = len(self.session.available_choices())
        timed = self.session.time_left() is not None
        back = self.session.can_rewind
        # Whole sentences, so each language can order them its own way; "1" or a range is
        # another sentence, not a plural.
        if count == 1:
            if timed and back:
                hint = _(
                    "Type 1, Enter to let the timer run out, b to go back, r to start over or q "
                    "to quit."
                )
            elif timed:
                hint = _("Type 1, Enter to let the timer run out, r to start over or q to quit.")
            elif back:
                hint = _("Type 1, b to go back, r to start over or q to quit.")
            else:
                hint = _("Type 1, r to start over or q to quit.")
        elif timed and back:
            hint = _(
                "Type a number from 1 to %(count)d, Enter to let the timer run out, b to go back,"
                " r to start over or q to quit."
            )
        elif timed:
            hint = _(
                "Type a number from 1 to %(count)d, Enter to let the timer run out, r to start "
                "over or q to quit."
            )
        elif back:
            hint = _(
                "Type a number from 1 to %(count)d, b to go back, r to start over or q to quit."
            )
        else:
            hint = _("Type a number from 1 to %(count)d, r to start over or q to quit.")
        return hint % {"count": count}

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
                    self.say(_("Time ran out: %(label)s") % {"label": default.label})
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
                    self.say(_("Back to: %(where)s") % {"where": point.label})
                    return
                self.say(_("There is nothing to go back to yet.") + " " + self.hint())
                continue
            if answer.lower() == "r":
                session.restart()
                self.say(_("Starting over."))
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
            self.say(_("(%(share)s.)") % {"share": words})

    def show_ending(self) -> None:
        """The ending's words, which ending it is, endings found, and the way back."""
        session = self.session
        self.show_text()
        ending = session.ending
        title = ending.title if ending else None
        if title == session.node.title:
            title = None  # just shown above the passage
        kind = _(KIND_WORDS.get(ending.kind if ending else "neutral", KIND_WORDS["neutral"]))
        shown = (
            _("The end: %(title)s. %(kind)s.") % {"title": title, "kind": kind}
            if title
            else _("The end. %(kind)s.") % {"kind": kind}
        )
        self.say(shown)
        self.say(found_line(session))
        if session.history:
            self.say()
            self.say(_("Go back to a choice point:"))
            for number, point in enumerate(session.history, 1):
                where = markdown_to_plain(point.label).strip()
                chosen = markdown_to_plain(point.choice_label).strip()
                share = point_share(self.audience, session.story, point)
                line = _('%(number)d. %(where)s: you chose "%(chosen)s"') % {
                    "number": number,
                    "where": where,
                    "chosen": chosen,
                }
                self.say(line + (_(" (%(share)s)") % {"share": share} if share else ""))
        self._suggestions = self.audience.suggestions(session)[: len(SUGGESTION_KEYS)]
        if self._suggestions:
            self.say()
            self.say(_("What to explore next:"))
            for key, item in zip(SUGGESTION_KEYS, self._suggestions, strict=False):
                where = markdown_to_plain(item.point_label).strip()
                choice = markdown_to_plain(item.choice_label).strip()
                self.say(
                    _('%(key)s. Go back to "%(where)s" and choose "%(choice)s".')
                    % {"key": key, "where": where, "choice": choice}
                )
                self.say("   " + _("%(reason)s.") % {"reason": item.reason})
        self.say(self.ending_hint())
        self.stdout.flush()

    def ending_hint(self) -> str:
        count = len(self.session.history)
        if not count:
            return _("Type r to start over or q to leave.")
        letters = SUGGESTION_KEYS[: len(self._suggestions)]
        if count == 1 and letters:
            hint = _(
                "Type 1 to go back there, %(letters)s to follow a suggestion, r to start over or "
                "q to leave."
            )
        elif count == 1:
            hint = _("Type 1 to go back there, r to start over or q to leave.")
        elif letters:
            hint = _(
                "Type a number from 1 to %(count)d to go back there, %(letters)s to follow a "
                "suggestion, r to start over or q to leave."
            )
        else:
            hint = _(
                "Type a number from 1 to %(count)d to go back there, r to start over or q to leave."
            )
        return hint % {"count": count, "letters": either(letters)}

    def after_ending(self) -> bool:
        """Read what to do at an ending: True when play goes on (went back, started over)."""
        session = self.session
        while True:
            answer = self.read()
            if answer is None or answer.lower() == "q":
                self.say(_("The End."))
                return False
            if answer.lower() == "r":
                session.restart()
                self.say(_("Starting over."))
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
                    self.say(_("Back to: %(where)s") % {"where": where})
                else:
                    self.say(
                        _('Back to: %(where)s. The suggestion was %(number)d. "%(label)s".')
                        % {"where": where, "number": offer.number, "label": offer.label}
                    )
                return True
            if answer.isdecimal() and 1 <= int(answer) <= len(session.history):
                point = session.history[int(answer) - 1]
                session.rewind(point.step)
                where = markdown_to_plain(point.label).strip()
                self.say(_("Back to: %(where)s") % {"where": where})
                return True
            self.say(self.ending_hint())


def ask_yes_no(
    question: str, stdin: TextIO, stdout: TextIO, *, default: bool = True
) -> bool | None:
    """Ask a yes/no question on one line; ``None`` at the end of input."""
    # TRANSLATORS: the answers the viewer may type (y or n), capitalised for the default.
    suffix = _("[Y/n]") if default else _("[y/N]")
    # TRANSLATORS: words (separated by spaces) that answer "yes", besides y and yes.
    yes = {"y", "yes", *_("y yes").lower().split()}
    # TRANSLATORS: words (separated by spaces) that answer "no", besides n and no.
    no = {"n", "no", *_("n no").lower().split()}
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
        if answer in yes:
            return True
        if answer in no:
            return False
        stdout.write(_("Please answer y or n.") + "\n")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
