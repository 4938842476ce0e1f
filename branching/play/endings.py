"""How endings are said to the viewer, and how many a viewer has found.

Both players say "you have found 3 of the story's 7 endings". The endings found are part of
the viewer's profile of the story (:mod:`branching.play.profiles`), which the session carries
(``session.endings_found``): one record, kept in one file, that ``ending_seen()`` and the count
both read.
"""

from __future__ import annotations

from branching.play.engine import Session

#: How an ending's kind is said to the viewer, in both players.
KIND_WORDS = {"good": "A good ending", "bad": "A bad ending", "neutral": "An ending"}


def found_line(session: Session) -> str:
    """ "You have found 2 of the story's 5 endings" (and, for a returning viewer, "in 3
    playthroughs"), as both players say it at an ending."""
    total = len(session.story.endings())
    found = len(session.endings_found & set(session.story.endings()))
    noun = "ending" if total == 1 else "endings"
    line = f"You have found {found} of the story's {total} {noun}"
    played = session.earlier_playthroughs + 1
    if played > 1:
        line += f" in {played} playthroughs"
    return line + "."
