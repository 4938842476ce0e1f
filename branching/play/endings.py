"""How endings are said to the viewer, and how many a viewer has found.

Both players say "you have found 3 of the story's 7 endings". The endings found are part of
the viewer's profile of the story (:mod:`branching.play.profiles`), which the session carries
(``session.endings_found``): one record, kept in one file, that ``ending_seen()`` and the count
both read.
"""

from __future__ import annotations

from branching.play.engine import Session
from branching.play.i18n import N_, ngettext

#: How an ending's kind is said to the viewer, in both players (translate with ``_()`` where
#: shown).
KIND_WORDS = {"good": N_("A good ending"), "bad": N_("A bad ending"), "neutral": N_("An ending")}


def found_line(session: Session) -> str:
    """ "You have found 2 of the story's 5 endings" (and, for a returning viewer, "in 3
    playthroughs"), as both players say it at an ending."""
    total = len(session.story.endings())
    found = len(session.endings_found & set(session.story.endings()))
    played = session.earlier_playthroughs + 1
    values = {"found": found, "total": total, "played": played}
    if played > 1:
        # The count that agrees with the noun decides the form ("endings", in most languages).
        return (
            ngettext(
                "You have found %(found)d of the story's %(total)d ending in %(played)d "
                "playthroughs.",
                "You have found %(found)d of the story's %(total)d endings in %(played)d "
                "playthroughs.",
                total,
            )
            % values
        )
    return (
        ngettext(
            "You have found %(found)d of the story's %(total)d ending.",
            "You have found %(found)d of the story's %(total)d endings.",
            total,
        )
        % values
    )
