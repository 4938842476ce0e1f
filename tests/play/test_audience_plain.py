"""What others chose and what to explore next, in the plain player: one line of words after a
choice, shares beside the choice points at the ending, suggestions lettered x, y, z."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from analytics.simulate import SimulationOptions, simulate
from branching.log import ChoiceLog
from branching.play.audience import AudienceView, Suggestion, share_sentence
from branching.play.engine import Session
from branching.story.loader import read_story
from tests.play.test_plain_player import ROOT, cli, run_player

DEMO = ROOT / "stories" / "demo.json"

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
    _, out, session, _ = run_player("1\n1\n1\nx\nq\n", audience=AUDIENCE)
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


# --- Through `branching play`: the command wires the log in -------------------------------------


def test_play_shows_shares_from_the_log_when_asked(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with ChoiceLog.open(db) as log, log.bulk_writer() as writer:
        simulate(read_story(DEMO), SimulationOptions(60, seed=2), writer)
    common = ["--plain", "--db", str(db), "--new", "--no-timers"]

    def play(*args: str, story: Path = DEMO) -> str:
        result = cli(str(story), *common, *args, stdin="3\nq\n", home=tmp_path / "home")
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "% of viewers chose this too.)" in play("--show-shares")
    assert "viewers chose" not in play()  # off by default
    assert "viewers chose" not in play("--show-shares", "--shares-min-viewers", "1000")
    # The story can turn them on.
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    data["show_choice_shares"] = True
    data.pop("$schema", None)
    own = tmp_path / "demo.json"
    own.write_text(json.dumps(data), encoding="utf-8")
    assert "% of viewers chose this too.)" in play(story=own)
    # A threshold that could single a viewer out is refused.
    low = cli(str(DEMO), *common, "--shares-min-viewers", "1", home=tmp_path / "home")
    assert low.returncode == 2 and "--shares-min-viewers" in low.stderr
