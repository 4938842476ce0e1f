"""What the players show of other viewers: choice shares and suggestions of what to explore next.

Both players take an :class:`AudienceView` from the command that starts them (the command
reads the choice log; the players never touch it). Everything here is plain data and words, so
the full-screen and the plain player say the same thing.

* **Shares**: after a choice, and for each choice point on the ending screen, "62% of viewers
  chose this too". A share is shown only when at least :attr:`AudienceView.min_viewers`
  distinct viewers (20 by default) made a decision at that node, so one viewer's choice cannot
  be read back by another.
* **Suggestions**: on the ending screen, up to three of the playthrough's own choice points
  with another choice to try there and the reason in words; following one goes back to that
  point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from branching.play.i18n import _, ngettext, number

if TYPE_CHECKING:  # kept light: ``branching play`` reads the constants at import time
    from branching.play.engine import ChoicePoint, Session
    from branching.play.profiles import ViewerProfile
    from branching.story.expressions import ViewerHistory
    from branching.story.model import Story

#: Shares are never shown for a node where fewer distinct viewers than this made a decision.
DEFAULT_MIN_VIEWERS = 20
#: The smallest threshold anyone may set: below it a share could single a viewer out.
LEAST_MIN_VIEWERS = 5
#: Suggestions shown at an ending, at most.
MAX_SUGGESTIONS = 3
#: Keys that follow a suggestion, in order (numbers go back to choice points).
SUGGESTION_KEYS = ("x", "y", "z")


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a suggestion is made, as facts (:func:`reason_words` says it to the viewer).

    ``kind``: viewers like this one found ``ending`` that way (``alike``: ``count`` of the
    ``of`` who also reached ``reached``; ``found``: ``count`` viewers), ``count`` viewers
    finished the story that way (``completed``), nobody has yet (``unseen``), or it is another
    way to an ending already found (``seen``; ``ending`` may be ``None``).
    """

    kind: Literal["alike", "found", "completed", "unseen", "seen"]
    ending: str | None = None
    count: int = 0
    of: int = 0
    reached: str | None = None


def reason_words(reason: Reason) -> str:
    """The reason as a sentence in the viewer's language (without its full stop).

    >>> reason_words(Reason("completed", "Dawn", 2))  # doctest: +ELLIPSIS
    '2 viewers finished the story after choosing this; it can lead to “Dawn”, which you ...'
    """
    values = {
        "count": number(reason.count),
        "of": number(reason.of),
        "ending": reason.ending,
        "reached": reason.reached,
    }
    if reason.kind == "alike":
        # The form follows ``count``, the subject of "found" (its verb agrees with it in
        # many languages); ``of`` is at least 2 in practice.
        text = ngettext(
            "%(count)s of the %(of)s viewers who also reached “%(reached)s” found “%(ending)s” "
            "this way",
            "%(count)s of the %(of)s viewers who also reached “%(reached)s” found “%(ending)s” "
            "this way",
            reason.count,
        )
    elif reason.kind == "found":
        text = ngettext(
            "%(count)s viewer found “%(ending)s” this way, an ending you have not found",
            "%(count)s viewers found “%(ending)s” this way, an ending you have not found",
            reason.count,
        )
    elif reason.kind == "completed":
        text = ngettext(
            "%(count)s viewer finished the story after choosing this; it can lead to "
            "“%(ending)s”, which you have not found",
            "%(count)s viewers finished the story after choosing this; it can lead to "
            "“%(ending)s”, which you have not found",
            reason.count,
        )
    elif reason.kind == "unseen":
        text = _(
            "No viewer has finished the story this way yet; it can lead to “%(ending)s”, which "
            "you have not found"
        )
    elif reason.ending is not None:
        text = _("You have found every ending this can lead to; it is another way to “%(ending)s”")
    else:
        text = _("You have found every ending this can lead to; it is another way on")
    return text % values


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Go back to choice point ``step`` (in the playthrough's history) and choose ``choice``."""

    step: int
    node: str
    choice: str
    #: The choice point as the viewer knows it (its title or first words).
    point_label: str
    #: The choice to try, as it was worded there.
    choice_label: str
    #: Why, in words ("12 of the 40 viewers who reached ... found ... this way").
    reason: str

    def headline(self) -> str:
        """'Go back to "The Crevasse" and choose "Lower the rope"'."""
        return _("Go back to “%(where)s” and choose “%(choice)s”") % {
            "where": self.point_label,
            "choice": self.choice_label,
        }


#: Distinct viewers per choice id at a node (each by their first decision there).
SharesReader = Callable[[str], Mapping[str, int]]
#: Suggestions for a session at its ending.
Suggester = Callable[["Session"], Sequence[Suggestion]]


@dataclass(frozen=True)
class AudienceView:
    """What a player may show of other viewers; either part may be off (``None``)."""

    shares: SharesReader | None = None
    suggest: Suggester | None = None
    min_viewers: int = DEFAULT_MIN_VIEWERS

    def share_words(self, node: str, choice: str) -> str | None:
        """The share in words ("62% of viewers chose this too"), or ``None`` (shares off, too
        few viewers at the node, or the log could not be read: a share is a nicety, never a
        reason to stop)."""
        if self.shares is None:
            return None
        try:
            counts = self.shares(node)
        except Exception:
            return None
        return share_sentence(counts, choice, self.min_viewers)

    def suggestions(self, session: Session) -> list[Suggestion]:
        if self.suggest is None or session.status != "ended":
            return []
        try:
            return list(self.suggest(session))[:MAX_SUGGESTIONS]
        except Exception:
            return []


def share_sentence(
    counts: Mapping[str, int], choice: str, min_viewers: int = DEFAULT_MIN_VIEWERS
) -> str | None:
    """The share of viewers whose first decision at a node was ``choice``, in words.

    >>> share_sentence({"rope": 31, "jump": 19}, "rope")
    '62% of viewers chose this too'
    >>> share_sentence({"rope": 31, "jump": 19}, "jump", 20)
    '38% of viewers chose this too'
    >>> share_sentence({"rope": 12, "jump": 7}, "rope") is None  # 19 viewers: too few
    True
    >>> share_sentence({"rope": 400}, "jump")
    'Fewer than 1% of viewers chose this'
    """
    total = sum(n for n in counts.values() if n > 0)
    if total < max(min_viewers, 1):
        return None
    share = 100.0 * max(counts.get(choice, 0), 0) / total
    if share < 0.5:
        # TRANSLATORS: %(share)d%% is a whole number with the percent sign after it.
        return _("Fewer than %(share)d%% of viewers chose this") % {"share": 1}
    if share > 99.5 and counts.get(choice, 0) < total:
        return _("More than %(share)d%% of viewers chose this too") % {"share": 99}
    return _("%(share)d%% of viewers chose this too") % {"share": round(share)}


def offered_at(
    story: Story,
    point: ChoicePoint,
    viewer: ViewerHistory | None = None,
    *,
    session: Session | None = None,
) -> list[tuple[str, str]]:
    """The choices (id, label as worded) that were on offer at a choice point, from the state
    it kept (variables, profile values, visits; ``viewer``: the viewer's history then):
    conditions are evaluated and labels filled in as the engine did, in the language of
    ``session`` (its translation) when given, else in the story's."""
    from branching.story import locales
    from branching.story.expressions import (
        FIRST_TIME,
        EvaluationError,
        ExpressionError,
        evaluate,
    )
    from branching.story.text import Context, TextError, TextEvaluationError, parse_text

    node = story.nodes.get(point.node_id)
    if node is None:
        return []

    def visits(node_id: str) -> int:
        return point.visits.get(node_id, 0)

    history = FIRST_TIME if viewer is None else viewer
    scope = {**point.variables, **point.profile}
    language = story.language or locales.DEFAULT_LANGUAGE
    offered = []
    for choice in node.choices or []:
        if choice.if_ is not None:
            try:
                if evaluate(choice.if_, scope, visits, history) is not True:
                    continue
            except (EvaluationError, ExpressionError):
                continue
        words, words_language = (choice.label, language)
        if session is not None:
            words, words_language = session.label_words(point.node_id, choice)
        try:
            label = parse_text(words).render(
                Context(scope, visits, language=words_language, viewer=history)
            )
        except (TextError, TextEvaluationError):
            label = choice.label
        offered.append((choice.key, label))
    return offered


def replay(
    story: Story,
    route: Sequence[tuple[str, str]],
    arms: Mapping[str, str] | None = None,
    viewer: ViewerProfile | None = None,
) -> Session:
    """A session (recording nothing) that took ``route`` ((node, choice) pairs) from the start,
    as far as the story still allows: for suggestions about a logged playthrough. ``viewer``:
    what the viewer had done before it (a returning viewer is offered other choices)."""
    from branching.play.engine import Session
    from branching.play.profiles import FIRST_VISIT

    session = Session(story, arms=arms, viewer=FIRST_VISIT if viewer is None else viewer)
    for node, choice in route:
        if session.status != "playing" or session.node_id != node:
            break
        if not any(offer.id == choice for offer in session.available_choices()):
            break
        session.choose(choice)
    return session


def point_share(audience: AudienceView, story: Story, point: ChoicePoint) -> str | None:
    """The share sentence of a choice point's choice (for the ending screen); none where only
    one choice was on offer (everybody "chose" it)."""
    if audience.shares is None or len(offered_at(story, point)) < 2:
        return None
    return audience.share_words(point.node_id, point.choice_id)
