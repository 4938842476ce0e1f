"""The viewer's profile: kept across playthroughs, restored by going back, adapted on resume,
read as untrusted input, and shown or erased by ``branching viewer``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.simulate import SimulationOptions, simulate
from branching.play.engine import Session
from branching.play.profiles import (
    FIRST_VISIT,
    MAX_PROFILE_BYTES,
    ProfileError,
    ProfileStore,
    ViewerProfile,
)
from branching.story.loader import load_story_bytes, read_story

ROOT = Path(__file__).resolve().parents[2]
KEEPER = ROOT / "tests" / "fixtures" / "keeper.json"
DEMO = ROOT / "stories" / "demo.json"


def play_through(session: Session, *choices: str) -> Session:
    for choice in choices:
        session.choose(choice)
    return session


def test_the_profile_survives_from_one_playthrough_to_the_next(tmp_path: Path) -> None:
    story = read_story(KEEPER)
    store = ProfileStore(tmp_path)
    first = play_through(Session(story, viewer=store.load("keeper", "ann")), "knock", "take")
    assert first.text() == "Outside again."
    assert [o.id for o in Session(story).available_choices()] == ["knock"]
    store.save("keeper", "ann", first.viewer_profile())

    again = Session(story, viewer=store.load("keeper", "ann"))
    assert again.text() == "You knock. The keeper nods: you again."
    assert again.viewer_history.playthroughs == 1
    assert [o.id for o in again.available_choices()] == ["knock", "unlock"]
    again.choose("unlock")
    store.save("keeper", "ann", again.viewer_profile())

    third = Session(story, viewer=store.load("keeper", "ann"))
    assert third.viewer_history.playthroughs == 2
    assert third.viewer_history.endings == {"out", "vault"}
    third.choose("knock")
    assert "ask" in [o.id for o in third.available_choices()]  # ending_seen('vault')
    # Another viewer of the same story is a newcomer.
    assert store.load("keeper", "bob") == FIRST_VISIT


def test_keeping_the_same_playthrough_twice_counts_it_once(tmp_path: Path) -> None:
    story = read_story(KEEPER)
    store = ProfileStore(tmp_path)
    session = Session(story)
    store.save("keeper", "ann", session.viewer_profile())
    session.choose("knock")
    store.save("keeper", "ann", session.viewer_profile())
    assert store.load("keeper", "ann").playthroughs == 1
    session.restart()  # the one left counts as earlier; the new one is counted once
    store.save("keeper", "ann", session.viewer_profile())
    assert store.load("keeper", "ann").playthroughs == 2
    assert session.viewer_history.playthroughs == 1


def test_going_back_restores_the_profile_exactly() -> None:
    story = read_story(KEEPER)
    session = play_through(Session(story), "knock", "take")
    assert session.profile == {"key": True, "echo": " The keeper nods: you again."}
    session.rewind(1)  # the hall: the echo was set on entering it, the key not yet taken
    assert session.profile == {"key": False, "echo": " The keeper nods: you again."}
    session.rewind(0)  # the door, before anything
    assert session.profile == {"key": False, "echo": ""}
    assert session.text() == "You knock."


def test_an_ending_reached_stays_found_after_going_back() -> None:
    story = read_story(KEEPER)
    session = play_through(Session(story), "knock", "leave")
    session.rewind(1)
    assert session.viewer_history.endings == {"out"}
    assert session.viewer_profile().endings == {"out"}


def test_a_save_keeps_the_profile_at_every_choice_point() -> None:
    story = read_story(KEEPER)
    session = play_through(Session(story), "knock")
    state = json.loads(json.dumps(session.to_json()))
    resumed = Session.from_json(story, state)
    assert resumed.profile == session.profile
    resumed.rewind(0)
    assert resumed.profile == {"key": False, "echo": ""}


def test_resume_after_an_edit_adapts_the_profile_like_variables() -> None:
    story = read_story(KEEPER)
    session = play_through(Session(story), "knock")
    state = session.to_json()
    raw = json.loads(KEEPER.read_text(encoding="utf-8"))
    raw["version"] = "2"
    raw["profile"] = {"key": "brass", "mood": 3}  # key changes type, echo goes, mood is new
    nodes = raw["nodes"]
    nodes["door"]["text"] = "You knock."
    nodes["door"]["choices"][1]["if"] = "key == 'iron'"
    nodes["hall"]["set"] = {}
    nodes["hall"]["choices"][0]["set"] = {"key": "'iron'"}
    edited = load_story_bytes(json.dumps(raw).encode()).story
    assert edited is not None
    resumed = Session.from_json(edited, state)
    assert resumed.profile == {"key": "brass", "mood": 3}
    notes = "\n".join(resumed.resume_notes)
    assert 'Profile value "key" now holds string values' in notes
    assert 'New profile value "mood" starts at 3.' in notes
    assert 'Profile value "echo" is no longer used and was dropped.' in notes
    # The kept profile is fitted to the story the same way when a playthrough starts.
    fresh = Session(edited, viewer=ViewerProfile({"key": True, "echo": "x"}, 1, "p"))
    assert fresh.profile == {"key": "brass", "mood": 3}


def test_a_save_from_before_profiles_takes_the_kept_profile() -> None:
    story = read_story(KEEPER)
    state = Session(story).to_json()
    del state["profile"]
    kept = ViewerProfile({"key": True, "echo": " Hello."}, 3, "earlier")
    resumed = Session.from_json(story, state, viewer=kept)
    assert resumed.profile == {"key": True, "echo": " Hello."}
    assert resumed.viewer_history.playthroughs == 3


HOSTILE = {
    "control characters": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": 1,'
    ' "endings": [], "values": {"echo": "\\u001b]2;pwned\\u0007"}}',
    "a huge number": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": '
    + "9" * 5000
    + ', "endings": [], "values": {}}',
    "a number past the range": '{"format": "branching-profile/1", "story": "keeper",'
    ' "playthroughs": 1, "endings": [], "values": {"key": 1e308}}',
    "NaN": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": NaN,'
    ' "endings": [], "values": {}}',
    "wrong types": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": "2",'
    ' "endings": {"a": 1}, "values": []}',
    "a list in a value": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": 0,'
    ' "endings": [], "values": {"key": [1, 2]}}',
    "truncated JSON": '{"format": "branching-profile/1", "story": "kee',
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "a lone surrogate": '{"format": "branching-profile/1", "story": "keeper", "playthroughs": 0,'
    ' "endings": ["\\ud800"], "values": {}}',
    "another story's profile": '{"format": "branching-profile/1", "story": "other",'
    ' "playthroughs": 0, "endings": [], "values": {}}',
    "not UTF-8": b'{"format": "\xff"}',
    "too large": " " * (MAX_PROFILE_BYTES + 1),
    "a future format": '{"format": "branching-profile/9"}',
}


@pytest.mark.parametrize("content", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_profile_file_gives_a_message_not_a_traceback(
    tmp_path: Path, content: str | bytes
) -> None:
    store = ProfileStore(tmp_path)
    path = store.path("keeper", "ann")
    path.parent.mkdir(parents=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    with pytest.raises(ProfileError) as caught:
        store.load("keeper", "ann")
    message = str(caught.value)
    assert "\x1b" not in message and len(message) < 400
    said: list[str] = []
    assert store.load_or_set_aside("keeper", "ann", said.append) == FIRST_VISIT
    assert "cannot be used" in said[0] and "first-time viewer" in said[0]
    assert not path.exists() and path.with_name(path.name + ".damaged").exists()
    # Play goes on, and the next profile written is sound.
    session = Session(read_story(KEEPER))
    store.save("keeper", "ann", session.viewer_profile())
    assert store.load("keeper", "ann").playthroughs == 1


def test_simulated_viewers_each_keep_their_own_profile() -> None:
    story = read_story(KEEPER)
    # The vault opens only to a viewer who took the key in an earlier playthrough.
    alone = simulate(story, SimulationOptions(playthroughs=60, seed=3, quit_rate=0.0))
    assert alone.endings["vault"] == 0
    shared = simulate(story, SimulationOptions(playthroughs=60, seed=3, viewers=6))
    assert shared.endings["vault"] > 0
    assert shared.completed == 60


# --- Through the command line ----------------------------------------------------------------


def cli(*args: str, stdin: str = "", home: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BRANCHING_HOME": str(home)}
    environment.pop("BRANCHING_VIEWER", None)
    return subprocess.run(
        [sys.executable, "-m", "branching", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )


def test_cli_returning_viewer_export_fresh_profile_and_forget(tmp_path: Path) -> None:
    play = ("play", str(KEEPER), "--plain", "--viewer", "ann")
    first = cli(*play, "--no-log", stdin="1\n1\nq\n", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "You knock.\n" in first.stdout
    assert "You have found 1 of the story's 2 endings." in first.stdout
    # --no-log does not switch the profile off: it is the viewer's own state.
    kept = tmp_path / "profiles" / "ann" / "keeper.json"
    assert json.loads(kept.read_text())["values"]["key"] is True

    second = cli(*play, "--no-log", stdin="2\nq\n", home=tmp_path)
    assert "You knock. The keeper nods: you again." in second.stdout
    assert "2. Open it with the key you kept" in second.stdout
    assert "You have found 2 of the story's 2 endings in 2 playthroughs." in second.stdout

    before = kept.read_bytes()
    fresh = cli(*play, "--fresh-profile", "--no-log", stdin="1\nq\n", home=tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "first-time viewer" in fresh.stderr
    assert "You knock.\n" in fresh.stdout and "the key you kept" not in fresh.stdout
    assert "Your place is saved" not in fresh.stdout
    assert kept.read_bytes() == before  # left untouched
    assert not (tmp_path / "saves" / "ann" / "keeper.json").exists()

    exported = json.loads(cli("viewer", "export", "ann", home=tmp_path).stdout)
    [profile] = exported["profiles"]
    assert profile["story"] == "keeper" and profile["playthroughs"] == 2
    assert profile["endings"] == ["out", "vault"] and profile["values"]["key"] is True

    forgot = cli("viewer", "forget", "ann", "--yes", home=tmp_path)
    assert forgot.returncode == 0, forgot.stderr
    assert "profile and save file(s)" in forgot.stdout
    assert not kept.exists()
    assert json.loads(cli("viewer", "export", "ann", home=tmp_path).stdout)["profiles"] == []
    again = cli(*play, "--no-log", stdin="q\n", home=tmp_path)
    assert "the key you kept" not in again.stdout


def test_cli_plays_on_with_a_damaged_profile(tmp_path: Path) -> None:
    kept = tmp_path / "profiles" / "ann" / "keeper.json"
    kept.parent.mkdir(parents=True)
    kept.write_text('{"format": "branching-profile/1", "values": {"key": "\\u001b[31m', "utf-8")
    result = cli("play", str(KEEPER), "--plain", "--viewer", "ann", "--no-log", stdin="q\n",
                 home=tmp_path)  # fmt: skip
    assert result.returncode == 0
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    assert "cannot be used: it is not usable JSON" in result.stderr
    assert kept.with_name("keeper.json.damaged").exists()
    listed = json.loads(cli("viewer", "export", "ann", home=tmp_path).stdout)["profiles"]
    assert listed[0]["playthroughs"] == 1  # a new, sound profile


def test_the_demo_recognises_a_returning_viewer_at_the_start_and_at_the_ending(
    tmp_path: Path,
) -> None:
    play = ("play", str(DEMO), "--plain", "--viewer", "ann", "--no-log", "--no-timers")
    # Walk on, scream his name, crawl to the edge, lower the rope, just hang on, don't let go.
    to_the_fall = "3\n2\n1\n2\n3\n2\nq\n"
    first = cli(*play, stdin=to_the_fall, home=tmp_path)
    assert "You have found 1 of the story's 7 endings.\n" in first.stdout
    assert "lived this afternoon before" not in first.stdout
    assert "You know how it ends" not in first.stdout
    second = cli(*play, stdin=to_the_fall, home=tmp_path)
    assert "You have lived this afternoon before: the wind" in second.stdout
    assert "4. “Jonah. Stop. Right there.”" in second.stdout
    assert "3. Kick your heels into the ice. You know how it ends" in second.stdout
    assert "You have found 1 of the story's 7 endings in 2 playthroughs." in second.stdout
