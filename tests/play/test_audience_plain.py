"""What others chose and what to explore next, in the plain player: one line of words after a
choice, shares beside the choice points at the ending, suggestions lettered x, y, z."""

from __future__ import annotations

from collections.abc import Sequence

from branching.play.audience import AudienceView, Suggestion, share_sentence
from branching.play.engine import Session
from tests.play.test_plain_player import run_player

SHARES = {"hall": {"take": 5, "cellar": 31, "bridge": 14}, "cellar": {"open": 12, "flee": 2}}


def suggest(session: Session) -> Sequence[Suggestion]:
    return [
        Suggestion(0, "hall", "bridge", "The Hall", "Walk to the bridge",
                   "9 of the 30 viewers who also reached “Treasure” found “Far Side” this way"),
    ]  # fmt: skip


AUDIENCE = AudienceView(shares=lambda node: SHARES.get(node, {}), suggest=suggest)


def test_a_share_after_the_choice_and_beside_each_choice_point() -> None:
    # Take the lantern, go down to the cellar, open the chest: Treasure.
    code, out, session, _ = run_player("1\n1\n1\nq\n", audience=AUDIENCE)
    assert code == 0 and session.node_id == "treasure"
    assert "(10% of viewers chose this too.)" in out  # 5 of 50 at the hall
    assert "(62% of viewers chose this too.)" in out  # 31 of 50
    # At the cellar only 14 viewers chose: no share, after the choice or at the ending.
    assert out.count("viewers chose this too") == 4
    assert '2. The Hall: you chose "Go down to the cellar" (62% of viewers chose this too)' in out
    assert 'you chose "Open the chest"\n' in out


def test_a_suggestion_is_lettered_and_its_letter_goes_back_there() -> None:
    code, out, session, _ = run_player("1\n1\n1\nx\nq\n", audience=AUDIENCE)
    assert "What to explore next:" in out
    assert 'x. Go back to "The Hall" and choose "Walk to the bridge".' in out
    assert "   9 of the 30 viewers who also reached “Treasure” found “Far Side” this way." in out
    assert "x to follow a suggestion" in out
    # The bridge is on offer there (the lantern was not taken yet): its number is given.
    assert 'Back to: The Hall. The suggestion was 2. "Walk to the bridge".' in out
    assert session.node_id == "hall" and session.status == "quit" and not session.history


def test_without_an_audience_nothing_changes() -> None:
    _, out, _, _ = run_player("1\n1\n1\nx\nq\n")
    assert "viewers chose" not in out and "explore" not in out
    assert "to follow a suggestion" not in out


def test_the_threshold_keeps_a_single_viewer_out_of_sight() -> None:
    assert share_sentence({"a": 1}, "a") is None
    assert share_sentence({"a": 19}, "a") is None
    assert share_sentence({"a": 20}, "a") == "100% of viewers chose this too"
    assert share_sentence({"a": 10, "b": 10}, "a", min_viewers=21) is None
    # Counts that went wrong (a damaged log) never give a share over 100% or below 0.
    assert share_sentence({"a": -5, "b": 30}, "a") == "Fewer than 1% of viewers chose this"
