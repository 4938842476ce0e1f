"""Wires the choice log into what the players show of other viewers (shares, suggestions).

The players take an :class:`~branching.play.audience.AudienceView` of plain callables; this
module is the one place that makes them from the log (``branching play``) and turns a ranking
(:mod:`analytics.suggest`) into words for ``branching suggest``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from analytics.suggest import Audience, Point, Ranked, rank
from branching.log.runs import RunRow, story_runs
from branching.log.shares import node_shares
from branching.play.audience import (
    DEFAULT_MIN_VIEWERS,
    MAX_SUGGESTIONS,
    AudienceView,
    Suggestion,
    offered_at,
    reason_words,
)
from branching.play.engine import Session

if TYPE_CHECKING:
    from branching.log import ChoiceLog


def points_of(session: Session) -> list[Point]:
    """The session's choice points, with the choices that were on offer at each."""
    story = session.story
    seen = session.viewer_history
    return [
        Point(p.step, p.node_id, p.choice_id, tuple(c for c, _ in offered_at(story, p, seen)))
        for p in session.history
    ]


def suggestions_for(
    session: Session, rows: Sequence[RunRow], viewer: str, limit: int = MAX_SUGGESTIONS
) -> list[Suggestion]:
    """Suggestions for ``session`` at its ending, from everybody's runs ``rows``."""
    if session.status != "ended":
        return []
    story = session.story
    seen = {ending for who, ending, node, _c, n in rows if who == viewer and not node and n}
    ranked = rank(
        story,
        points_of(session),
        Audience(rows),
        viewer=viewer,
        current=session.node_id,
        seen=seen,
        limit=limit,
    )
    return [_worded(session, item) for item in ranked]


def _worded(session: Session, item: Ranked) -> Suggestion:
    point = session.history[item.step]
    labels = dict(offered_at(session.story, point, session.viewer_history, session=session))
    return Suggestion(
        step=item.step,
        node=item.node,
        choice=item.choice,
        point_label=point.label,
        choice_label=labels.get(item.choice, item.choice),
        reason=reason_words(item.why),
    )


def audience_view(
    log: ChoiceLog | None,
    story_id: str,
    viewer: str,
    *,
    shares: bool,
    min_viewers: int = DEFAULT_MIN_VIEWERS,
) -> AudienceView:
    """Shares (when ``shares``) and suggestions read from ``log`` (a read-only connection the
    caller keeps open while the player runs); nothing without a log."""
    if log is None:
        return AudienceView(min_viewers=min_viewers)
    conn = log.conn

    def read_shares(node: str) -> dict[str, int]:
        return node_shares(conn, story_id, node)

    def suggest(session: Session) -> list[Suggestion]:
        try:
            rows = story_runs(conn, story_id)
        except sqlite3.Error:
            return []
        return suggestions_for(session, rows, viewer)

    return AudienceView(
        shares=read_shares if shares else None, suggest=suggest, min_viewers=min_viewers
    )
