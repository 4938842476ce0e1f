"""The plain player and ``branching play --plain``, driven through standard input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from branching.play.engine import Session, TimerOptions
from branching.play.events import ChoiceMade, MemoryRecorder, Quit, Rewound
from branching.play.plain_player import PlainPlayer, ask_yes_no
from branching.play.profiles import FIRST_VISIT
from branching.story.loader import read_story

ROOT = Path(__file__).resolve().parent.parent.parent
LANTERN = ROOT / "tests" / "fixtures" / "lantern.json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_player(
    lines: str, *, timers: TimerOptions | None = None, **options: Any
) -> tuple[int, str, Session, MemoryRecorder]:
    """Play the lantern story in-process with ``lines`` as the viewer's input."""
    recorder = MemoryRecorder()
    viewer = options.pop("viewer", FIRST_VISIT)
    session = Session(
        read_story(LANTERN), clock=FakeClock(), recorder=recorder, timers=timers, viewer=viewer
    )
    out = io.StringIO()
    code = PlainPlayer(session, io.StringIO(lines), out, **options).run()
    return code, out.getvalue(), session, recorder


def cli(
    *args: str, stdin: str = "", home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "BRANCHING_HOME": str(home), **(env or {})}
    environment.pop("BRANCHING_VIEWER", None)
    return subprocess.run(
        [sys.executable, "-m", "branching", "play", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )


# --- In-process: every key ------------------------------------------------------------------


def test_prints_passage_then_numbered_choices_then_prompt() -> None:
    code, out, _, _ = run_player("q\n")
    assert code == 0
    assert out.startswith(
        "The Lantern, by branching tests\n"
        "\n"
        "The Hall\n"
        "Welcome, stranger. You have 1 gold.\n"
        "\n"
        "1. Take the lantern\n"
        "2. Walk to the bridge\n"
        "> q\n"
    )


def test_number_chooses_and_ending_exits_zero() -> None:
    code, out, session, _ = run_player("1\n1\n1\n")
    assert code == 0
    assert session.status == "ended"
    # The end input at the ending leaves, as anywhere else.
    assert out.endswith(
        "Gold! You now have 12.\n"
        "\n"
        "The end. A good ending.\n"
        "You have found 1 of the story's 2 endings.\n"
        "\n"
        "Go back to a choice point:\n"
        '1. The Hall: you chose "Take the lantern"\n'
        '2. The Hall: you chose "Go down to the cellar"\n'
        '3. A chest glints in the dark. Something moves…: you chose "Open the chest"\n'
        "Type a number from 1 to 3 to go back there, r to start over or q to leave.\n"
        "> \n"
        "The End.\n"
    )


def test_at_an_ending_a_number_goes_back_to_that_choice_point() -> None:
    code, out, session, _ = run_player("1\n1\n1\n2\nq\n")
    assert code == 0
    assert "> 2\nBack to: The Hall\n" in out
    assert session.status == "quit" and session.node_id == "hall"
    assert "1. Go down to the cellar" in out.split("Back to: The Hall")[1]


def test_at_an_ending_r_starts_over_and_nonsense_gets_the_hint() -> None:
    _, out, session, _ = run_player("1\n1\n1\nx\n9\nr\nq\n")
    hint = "Type a number from 1 to 3 to go back there, r to start over or q to leave."
    assert out.count(hint) == 3  # under the list, then after x and after 9
    assert "Starting over." in out
    assert session.node_id == "hall"


def test_endings_found_are_remembered_for_the_viewer() -> None:
    from branching.play.profiles import ViewerProfile

    returning = ViewerProfile(playthroughs=1, endings=frozenset({"far_side"}))
    _, out, session, _ = run_player("1\n1\n1\n", viewer=returning)
    assert "You have found 2 of the story's 2 endings in 2 playthroughs." in out
    assert session.viewer_profile().endings == {"far_side", "treasure"}


def test_b_goes_back_and_says_where() -> None:
    _, out, session, recorder = run_player("1\nb\nq\n")
    assert "Back to: The Hall\n" in out
    assert Rewound(from_node="hall", to_node="hall", step=0) in recorder.events
    assert session.variables["lantern"] is False
    assert out.count("1. Take the lantern") == 2


def test_b_with_nothing_to_go_back_to_gets_a_hint() -> None:
    _, out, _, recorder = run_player("b\nq\n")
    assert "There is nothing to go back to yet." in out
    assert not any(isinstance(e, Rewound) for e in recorder.events)


def test_invalid_input_gets_a_one_line_hint_and_asks_again() -> None:
    _, out, _, recorder = run_player("7\nhello\n0\n-1\n2\nq\n")
    hint = "Type a number from 1 to 2, r to start over or q to quit.\n"
    assert out.count(hint) == 4
    assert ChoiceMade("hall", "bridge", "bridge", 0, False) in recorder.events


def test_empty_line_on_an_untimed_node_asks_again() -> None:
    _, out, session, recorder = run_player("\n\nq\n")
    assert out.count("> ") == 3
    assert session.node_id == "hall"
    assert not any(isinstance(e, ChoiceMade) for e in recorder.events)


def test_timed_node_says_how_long_and_empty_line_takes_the_default_as_timeout() -> None:
    _, out, session, recorder = run_player("1\n1\n\nq\n")
    assert "(12 s; Enter lets the timer run out: 2. Flee upstairs)\n" in out
    assert "Time ran out: Flee upstairs\n" in out
    assert ChoiceMade("cellar", "flee", "hall", 0, True) in recorder.events
    assert session.node_id == "hall"


def test_time_scale_and_no_timers_change_what_the_viewer_is_told() -> None:
    _, out, _, _ = run_player("1\n1\nq\n", timers=TimerOptions(scale=10))
    assert "(120 s; Enter lets the timer run out" in out
    _, out, _, recorder = run_player("1\n1\n\nq\n", timers=TimerOptions(enabled=False))
    assert "Enter lets the timer run out" not in out
    assert not any(isinstance(e, ChoiceMade) and e.timed_out for e in recorder.events)


def test_end_of_input_quits_at_the_current_node() -> None:
    code, out, session, recorder = run_player("2\n")
    assert code == 0
    assert session.status == "quit"
    assert recorder.events[-1] == Quit("bridge")
    assert out.endswith("You left the story.\n")


def test_r_starts_over() -> None:
    _, out, session, recorder = run_player("2\nr\nq\n")
    assert "Starting over.\n" in out
    assert Quit("bridge") in recorder.events
    assert session.node_id == "hall" and session.history == []


def test_fault_is_reported_with_the_node_and_exit_one() -> None:
    code, out, session, _ = run_player("2\n2\n")
    assert code == 1
    assert session.status == "failed"
    assert 'The story stopped because of a fault in it: node "river": every choice' in out


def test_on_change_runs_after_every_step() -> None:
    session = Session(read_story(LANTERN), clock=FakeClock())
    seen: list[str] = []
    player = PlainPlayer(
        session, io.StringIO("1\n2\n"), io.StringIO(), on_change=lambda s: seen.append(s.node_id)
    )
    player.run()
    assert seen == ["hall", "bridge", "bridge"]


def test_ask_yes_no() -> None:
    out = io.StringIO()
    assert ask_yes_no("Go?", io.StringIO("maybe\n\n"), out) is True
    assert "Please answer y or n." in out.getvalue()
    assert ask_yes_no("Go?", io.StringIO("n\n"), io.StringIO()) is False
    assert ask_yes_no("Go?", io.StringIO(""), io.StringIO()) is None


# --- The command, in a subprocess -----------------------------------------------------------


def test_cli_plays_to_an_ending_with_no_escape_sequences(tmp_path: Path) -> None:
    result = cli(
        str(LANTERN),
        "--plain",
        stdin="1\n1\n1\n",
        home=tmp_path,
        env={"TERM": "xterm-256color", "FORCE_COLOR": "1", "CLICOLOR_FORCE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "Treasure\nGold! You now have 12.\n\nThe end. A good ending." in result.stdout
    assert "\x1b" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # The playthrough is over: nothing is left to resume.
    assert not list(tmp_path.glob("saves/*/*.json"))


def test_cli_eof_quits_and_the_next_run_continues(tmp_path: Path) -> None:
    first = cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="1\n2\n", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Your place is saved" in first.stdout
    save = tmp_path / "saves" / "ann" / "lantern.json"
    assert json.loads(save.read_text())["node"] == "bridge"

    second = cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="1\n", home=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "Continuing your saved playthrough" in second.stdout
    assert "The end: Across. A good ending." in second.stdout
    assert not save.exists()

    # Another viewer starts from the beginning.
    other = cli(str(LANTERN), "--plain", "--viewer", "bob", stdin="q\n", home=tmp_path)
    assert "Continuing" not in other.stdout


def test_cli_new_ignores_the_save(tmp_path: Path) -> None:
    cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="2\n", home=tmp_path)
    result = cli(str(LANTERN), "--plain", "--viewer", "ann", "--new", stdin="q\n", home=tmp_path)
    assert "Continuing" not in result.stdout
    assert "Welcome, stranger. You have 1 gold." in result.stdout


def test_cli_resume_after_story_edit_tells_what_changed(tmp_path: Path) -> None:
    story = tmp_path / "story.json"
    story.write_text(LANTERN.read_text())
    cli(str(story), "--plain", "--viewer", "ann", stdin="2\n", home=tmp_path)
    raw: dict[str, Any] = json.loads(story.read_text())
    raw["variables"]["courage"] = 5
    story.write_text(json.dumps(raw))
    result = cli(str(story), "--plain", "--viewer", "ann", stdin="q\n", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Note: The story has changed since this playthrough was saved." in result.stdout
    assert 'Note: New story variable "courage" starts at 5.' in result.stdout
    assert "The Bridge" in result.stdout


def test_cli_unresumable_save_offers_to_start_over(tmp_path: Path) -> None:
    save = tmp_path / "saves" / "ann" / "lantern.json"
    save.parent.mkdir(parents=True)
    save.write_text("{not json")
    declined = cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="n\n", home=tmp_path)
    assert declined.returncode == 1
    assert "Your saved playthrough cannot be continued" in declined.stdout
    assert "damaged" in declined.stdout
    assert save.read_text() == "{not json"

    accepted = cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="y\nq\n", home=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert "Welcome, stranger. You have 1 gold." in accepted.stdout
    assert json.loads(save.read_text())["node"] == "hall"


def test_cli_timers_options(tmp_path: Path) -> None:
    scaled = cli(str(LANTERN), "--plain", "--time-scale", "2.5", stdin="1\n1\nq\n", home=tmp_path)
    assert "(30 s; Enter lets the timer run out" in scaled.stdout
    off = cli(str(LANTERN), "--plain", "--no-timers", "--new", stdin="1\n1\nq\n", home=tmp_path)
    assert "Enter lets the timer run out" not in off.stdout
    bad = cli(str(LANTERN), "--plain", "--time-scale", "0", home=tmp_path)
    assert bad.returncode == 2 and "--time-scale" in bad.stderr


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 2, "cannot read the file"),
        ("{", 2, "not valid JSON"),
        ('{"format": "branching/1"}', 1, "cannot be played"),
    ],
)
def test_cli_story_errors_are_messages_not_tracebacks(
    tmp_path: Path, content: str | None, code: int, message: str
) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content)
    result = cli(str(path), "--plain", home=tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_failing_log_warns_once_and_play_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    from branching.play.events import Event
    from branching.play.lifecycle import SafeRecorder

    class Broken:
        calls = 0

        def record(self, event: Event) -> None:
            Broken.calls += 1
            raise OSError("disk full")

        def close(self) -> None:
            raise OSError("disk full")

    session = Session(read_story(LANTERN), clock=FakeClock(), recorder=SafeRecorder(Broken()))
    session.choose("bridge")
    session.choose("back")
    session.recorder.close()
    assert session.node_id == "hall"
    assert Broken.calls == 1  # stops trying after the first failure
    err = capsys.readouterr().err
    assert err.count("the choice log failed (disk full)") == 1


def test_cli_cannot_save_warns_and_plays_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("a file where the data folder should be")
    # --no-log: the choice log would live in the same unusable folder, and an unusable log is
    # refused before the story starts (tests/log/test_player_recording.py); here only saves fail.
    result = cli(str(LANTERN), "--plain", "--no-log", stdin="1\n1\n1\n", home=home)
    assert result.returncode == 0
    assert "The end. A good ending." in result.stdout
    assert result.stderr.count("cannot save your place") == 1
    assert "Traceback" not in result.stderr


def test_markdown_is_read_as_words_not_markers(tmp_path: Path) -> None:
    story = {
        "format": "branching/1",
        "id": "md",
        "title": "Markdown",
        "start": "a",
        "nodes": {
            "a": {
                "text": "# The Hut\n\n**Recording.** It is _cold_ and `late`; see [the map](http://x.test).",
                "choices": [{"label": "Go", "to": "b"}],
            },
            "b": {"text": "*The end.*", "ending": True},
        },
    }
    path = tmp_path / "md.json"
    path.write_text(json.dumps(story))
    result = cli(str(path), "--plain", "--no-log", stdin="1\n", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        "The Hut\n\nRecording. It is cold and late; see the map (http://x.test)." in result.stdout
    )
    assert "The end." in result.stdout
    assert "**" not in result.stdout and "#" not in result.stdout


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(format="branching-save/2\x1b]2;pwned\x07"),
        lambda d: d.update(elapsed=1e306),
        lambda d: d.update(variables={**d["variables"], "gold": 1e300}),
    ],
    ids=["format", "elapsed", "variable"],
)
def test_cli_a_hostile_save_is_explained_safely_and_play_goes_on(
    tmp_path: Path, damage: Any
) -> None:
    cli(str(LANTERN), "--plain", "--viewer", "ann", stdin="2\n", home=tmp_path)
    save = tmp_path / "saves" / "ann" / "lantern.json"
    data = json.loads(save.read_text())
    damage(data)
    save.write_text(json.dumps(data))
    result = cli(
        str(LANTERN), "--plain", "--viewer", "ann", "--db", str(tmp_path / "c.db"),
        stdin="y\n2\n3\nq\n", home=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Your saved playthrough cannot be continued" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert "could not" not in result.stderr.lower()  # the log kept recording
