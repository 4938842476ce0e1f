"""The Textual player driven like a viewer would: keys, mouse, timers, going back, endings,
quitting and resuming. Time comes from a fake clock; nothing sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import OptionList

from branching.play.engine import Session
from branching.play.events import (
    ChoiceMade,
    EndingReached,
    MemoryRecorder,
    NodeEntered,
    Quit,
    Rewound,
)
from branching.play.lifecycle import SafeRecorder, ViewerNotices, say_once
from branching.play.profiles import ViewerProfile
from branching.story.loader import read_story
from branching.ui.screens.confirm_quit import ConfirmQuitScreen
from branching.ui.screens.help import HelpScreen
from branching.ui.screens.play import PlayScreen
from branching.ui.screens.resume import ResumeScreen
from branching.ui.services import MemorySaves
from branching.ui.widgets.choice_list import ChoiceList
from branching.ui.widgets.countdown import Countdown

from .conftest import FIXTURES, FakeClock, playing, screen_text, tick, wait_for_text

SIZE = (80, 24)


def choices_made(recorder: MemoryRecorder) -> list[tuple[str, str, bool]]:
    return [(e.node, e.choice, e.timed_out) for e in recorder.events if isinstance(e, ChoiceMade)]


async def test_first_passage_shows_title_text_and_numbered_choices(build: Any) -> None:
    app = build()
    async with app.run_test(size=SIZE):
        shown = await wait_for_text(app, "Night has fallen")
        assert "The Lighthouse" in shown.splitlines()[0]  # the header carries the story title
        assert "The Shore" in shown
        assert "1. Climb to the lamp room" in shown
        assert "2. Walk along the beach" in shown
        assert "3. Go home to bed" in shown
        # The footer lists the keys.
        footer = shown.splitlines()[-1]
        for key in ("1-9", "Choose", "b", "Back", "?", "Help", "q", "Quit"):
            assert key in footer


async def test_where_choices_are_logged_is_said_above_the_first_passage(build: Any) -> None:
    notice = "Your choices are logged to /tmp/x.db as viewer 1234abcd"
    app = build(notices=[notice])
    async with app.run_test(size=SIZE) as pilot:
        shown = await wait_for_text(app, "Night has fallen")
        assert notice in shown
        assert "1. Climb to the lamp room" in shown  # nothing covers the choices
        await pilot.press("2")
        shown = await wait_for_text(app, "Something glints")
        assert notice not in shown  # said once, not on every passage


async def test_number_key_takes_that_choice(build: Any, recorder: MemoryRecorder) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("2")
        shown = await wait_for_text(app, "Something glints")
        assert "The Beach" in shown
        assert "1. Dig it up" in shown
        assert "Night has fallen" not in shown
    assert choices_made(recorder) == [("shore", "beach", False)]


async def test_a_number_with_no_choice_does_nothing(build: Any, recorder: MemoryRecorder) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("7")
        assert "Night has fallen" in screen_text(app)
    assert choices_made(recorder) == []


async def test_arrows_and_enter_take_the_highlighted_choice(
    build: Any, recorder: MemoryRecorder
) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("down", "down", "up", "enter")
        await wait_for_text(app, "Something glints")
    assert choices_made(recorder) == [("shore", "beach", False)]


async def test_clicking_a_choice_takes_it(build: Any, recorder: MemoryRecorder) -> None:
    app = build()
    async with playing(app) as pilot:
        choices = app.screen.query_one(ChoiceList)
        # The list has a border: the third option is on the fourth row of the widget.
        assert await pilot.click(ChoiceList, offset=(5, 3))
        await wait_for_text(app, "never learn what happened")
        assert app.play_screen.at_ending
        assert not choices.display
    assert choices_made(recorder) == [("shore", "home", False)]


async def test_only_available_choices_are_listed(build: Any, lighthouse: Any) -> None:
    story = lighthouse.model_copy(
        update={
            "nodes": {
                **lighthouse.nodes,
                "beach": lighthouse.nodes["beach"].model_copy(
                    update={
                        "choices": [
                            lighthouse.nodes["beach"].choices[0].model_copy(update={"if_": "lamp"}),
                            lighthouse.nodes["beach"].choices[1],
                        ]
                    }
                ),
            }
        }
    )
    app = build(story=story)
    async with playing(app) as pilot:
        await pilot.press("2")
        shown = await wait_for_text(app, "Something glints")
        assert "Dig it up" not in shown
        assert "1. Go back to the lighthouse" in shown


# --- timers ---------------------------------------------------------------------------------


async def test_countdown_shows_seconds_left_and_marks_the_default(
    build: Any, clock: FakeClock
) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("1")
        shown = await wait_for_text(app, "hundred and twelve")
        assert "10 s" in shown
        assert "2. Wait and watch  (when time runs out)" in shown
        clock.advance(3.2)
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        screen.refresh_timer()
        await pilot.pause()
        assert app.screen.query_one(Countdown).seconds_shown == "7 s"
        assert "7 s" in screen_text(app)


async def test_timer_running_out_takes_the_default_and_says_so(
    build: Any, clock: FakeClock, recorder: MemoryRecorder
) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("1")
        await wait_for_text(app, "hundred and twelve")
        await tick(app, clock, 9.9)
        assert "hundred and twelve" in screen_text(app)  # not yet
        clock.advance(0.2)
        app.play_screen.refresh_timer()
        shown = await wait_for_text(app, "Too late")
        assert "Time ran out — taken: Wait and watch" in shown
        assert app.play_screen.at_ending
    assert choices_made(recorder) == [("shore", "stairs", False), ("stairs", "rocks", True)]


async def test_timers_pause_while_a_dialog_is_open(build: Any, clock: FakeClock) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("1")
        await wait_for_text(app, "hundred and twelve")
        clock.advance(4)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        clock.advance(600)  # reading the help for ten minutes
        app.play_screen.refresh_timer()
        await pilot.press("escape")
        assert isinstance(app.screen, PlayScreen)
        app.play_screen.refresh_timer()
        await pilot.pause()
        assert app.screen.query_one(Countdown).seconds_shown == "6 s"
        # The quit dialog pauses it too.
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        clock.advance(600)
        await pilot.press("n")
        app.play_screen.refresh_timer()
        await pilot.pause()
        assert "hundred and twelve" in screen_text(app)
        assert app.screen.query_one(Countdown).seconds_shown == "6 s"


async def test_no_timers_never_takes_the_default(build: Any, clock: FakeClock) -> None:
    app = build(timers=False)
    async with playing(app) as pilot:
        await pilot.press("1")
        shown = await wait_for_text(app, "hundred and twelve")
        assert not app.screen.query_one(Countdown).display
        assert "when time runs out" not in shown
        await tick(app, clock, 10_000)
        assert "hundred and twelve" in screen_text(app)


async def test_time_scale_gives_more_time(build: Any, clock: FakeClock) -> None:
    app = build(time_scale=10)
    async with playing(app) as pilot:
        await pilot.press("1")
        shown = await wait_for_text(app, "hundred and twelve")
        assert "100 s" in shown
        await tick(app, clock, 50)
        assert "hundred and twelve" in screen_text(app)
        assert app.screen.query_one(Countdown).seconds_shown == "50 s"


# --- going back -----------------------------------------------------------------------------


async def test_b_goes_back_to_the_previous_choice_point(
    build: Any, recorder: MemoryRecorder
) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("2")
        await wait_for_text(app, "Something glints")
        await pilot.press("b")
        shown = await wait_for_text(app, "Night has fallen")
        assert "Went back to: The Shore" in shown
        await pilot.press("3")
        await wait_for_text(app, "never learn")
    assert Rewound(from_node="beach", to_node="shore", step=0) in recorder.events


async def test_b_at_the_start_says_there_is_nowhere_to_go(build: Any) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert "Night has fallen" in screen_text(app)
        assert any("no earlier choice point" in str(n.message) for n in app._notifications)


class FailingLog:
    """A recorder whose disk fails after ``good`` events."""

    def __init__(self, good: int) -> None:
        self.good = good

    def record(self, event: object) -> None:
        if self.good == 0:
            raise OSError("disk I/O error")
        self.good -= 1

    def close(self) -> None:
        pass


async def test_a_log_that_fails_during_play_is_said_inside_the_player(build: Any) -> None:
    to_viewer = ViewerNotices(plain=False)
    app = build(recorder=SafeRecorder(FailingLog(good=1), say_once(to_viewer)), notices=[])
    to_viewer.target = app.tell_viewer  # as `branching play` wires it
    async with playing(app) as pilot:
        await pilot.press("2")
        await wait_for_text(app, "Something glints")  # play goes on
        messages = [str(n.message) for n in app._notifications]
        assert any("choice log failed (disk I/O error)" in m for m in messages), messages


async def test_a_log_failure_before_the_player_runs_is_said_above_the_first_passage(
    build: Any, lighthouse: Any, clock: FakeClock
) -> None:
    to_viewer = ViewerNotices(plain=False)
    recorder = SafeRecorder(FailingLog(good=0), say_once(to_viewer))
    # As in `branching play`: the session (and its first event) exists before the app.
    session = Session(lighthouse, clock=clock, recorder=recorder)
    app = build(session=session, notices=to_viewer.pending)
    async with playing(app):
        assert "choice log failed (disk I/O error)" in screen_text(app)


# --- endings --------------------------------------------------------------------------------


async def test_ending_screen_names_the_ending_and_counts_endings_found(build: Any) -> None:
    app = build(viewer_profile=ViewerProfile(playthroughs=2, endings=frozenset({"lit", "rocks"})))
    async with playing(app) as pilot:
        await pilot.press("2", "1")
        shown = await wait_for_text(app, "The End")
        assert app.play_screen.at_ending
        assert "An old coin" in shown  # the ending's own passage
        assert "The Beachcomber" in shown
        assert "An ending" in shown
        assert "You have found 3 of the story's 4 endings in 3 playthroughs." in shown
        assert "1. The Shore" in shown
        assert "2. The Beach" in shown


async def test_endings_found_in_this_run_count_without_a_log(build: Any) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("3")
        assert "You have found 1 of the story's 4 endings." in await wait_for_text(app, "The End")
        await pilot.press("r")
        await wait_for_text(app, "Started again")
        await pilot.press("2", "1")
        assert "found 2 of the story's 4" in await wait_for_text(app, "The Beachcomber")
        await pilot.press("r")
        await pilot.press("3")
        assert "found 2 of the story's 4" in await wait_for_text(app, "The End")


async def test_restart_from_an_ending(build: Any, recorder: MemoryRecorder) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("3")
        await wait_for_text(app, "The End")
        await pilot.press("r")
        shown = await wait_for_text(app, "Night has fallen")
        assert not app.play_screen.at_ending
        assert "1. Climb to the lamp room" in shown
        assert "Started again from the beginning." in shown
    entered = [e.node for e in recorder.events if isinstance(e, NodeEntered)]
    assert entered == ["shore", "home", "shore"]


async def test_go_back_to_any_earlier_choice_point_from_an_ending(
    build: Any, recorder: MemoryRecorder
) -> None:
    app = build(timers=False)
    async with playing(app) as pilot:
        await pilot.press("2", "2", "2")  # beach, back up to the stairs, wait: shipwreck
        await wait_for_text(app, "Shipwreck")
        points = app.screen.query_one("#ending-points", OptionList)
        assert points.option_count == 3
        assert points.highlighted == 2  # the latest choice point is under the cursor
        await pilot.press("up", "enter")  # the beach
        shown = await wait_for_text(app, "Something glints")
        assert not app.play_screen.at_ending
        assert "1. Dig it up" in shown
        assert "Went back to: The Beach" in shown
        await pilot.press("1")
        await wait_for_text(app, "The Beachcomber")
    assert Rewound(from_node="rocks", to_node="beach", step=1) in recorder.events
    reached = [e.node for e in recorder.events if isinstance(e, EndingReached)]
    assert reached == ["rocks", "coin"]


async def test_b_at_an_ending_goes_back_to_the_last_choice(build: Any) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("1", "1")
        await wait_for_text(app, "The Keeper")
        assert "A good ending" in screen_text(app)
        await pilot.press("b")
        await wait_for_text(app, "hundred and twelve")


# --- quitting and resuming ------------------------------------------------------------------


async def test_quit_asks_first_and_can_be_cancelled(build: Any) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("q")
        shown = await wait_for_text(app, "Quit?")
        assert "Your place is saved" in shown
        await pilot.press("n")
        assert isinstance(app.screen, PlayScreen)
        await pilot.press("escape")
        assert app.is_running


async def test_quit_saves_and_next_start_offers_to_resume(
    build: Any, saves: MemorySaves, recorder: MemoryRecorder
) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("2")
        await wait_for_text(app, "Something glints")
        await pilot.press("q", "y")
        await pilot.pause()
        assert not app.is_running
    assert Quit("beach") in recorder.events
    assert saves.load("lighthouse", "ada") is not None
    assert saves.load("lighthouse", "someone-else") is None

    later = MemoryRecorder()
    again = build(recorder=later)
    async with again.run_test(size=SIZE) as pilot:
        shown = await wait_for_text(again, "Welcome back")
        assert isinstance(again.screen, ResumeScreen)
        assert "You were at: The Beach" in shown
        await pilot.press("r")
        shown = await wait_for_text(again, "Something glints")
        assert "Resumed where you left off." in shown
        await pilot.press("b")  # the history came back too
        await wait_for_text(again, "Night has fallen")
    assert not any(isinstance(e, NodeEntered) for e in later.events)


async def test_start_over_instead_of_resuming(build: Any, saves: MemorySaves) -> None:
    first = build()
    async with playing(first) as pilot:
        await pilot.press("2", "q", "y")
    again = build()
    async with playing(again, until="Welcome back") as pilot:
        await pilot.press("s")
        await wait_for_text(again, "Night has fallen")
        assert again.saves is not None
        again.saves.flush()
        state = saves.load("lighthouse", "ada")
        assert state is not None and state["node"] == "shore"


async def test_an_ending_clears_the_saved_place(build: Any, saves: MemorySaves) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("2")
        assert app.saves is not None
        app.saves.flush()
        assert saves.load("lighthouse", "ada") is not None  # saved after every move
        await pilot.press("1")
        await wait_for_text(app, "The End")
        app.saves.flush()
        assert saves.load("lighthouse", "ada") is None
        await pilot.press("q")
        assert "nothing is lost" in await wait_for_text(app, "Quit?")
        await pilot.press("y")
    assert saves.load("lighthouse", "ada") is None


async def test_a_save_that_no_longer_fits_starts_over_with_a_notice(
    build: Any, saves: MemorySaves
) -> None:
    saves.save("lighthouse", "ada", {"format": "branching-save/1", "story": "nonsense"})
    app = build()
    async with playing(app):
        assert isinstance(app.screen, PlayScreen)
        assert any("cannot be continued" in str(n.message) for n in app._notifications)


async def test_resume_from_a_session_the_cli_opened(
    build: Any, lighthouse: Any, clock: FakeClock, recorder: MemoryRecorder
) -> None:
    session = Session(lighthouse, clock=clock, recorder=recorder)
    session.choose("stairs")
    clock.advance(4)
    session.quit()
    resumed = Session.from_json(lighthouse, session.to_json(), clock=clock, recorder=recorder)
    app = build(session=resumed, resumed=True)
    async with playing(app, until="Welcome back") as pilot:
        clock.advance(100)  # the countdown waits for the answer
        await pilot.press("enter")
        shown = await wait_for_text(app, "hundred and twelve")
        assert "Resumed where you left off." in shown
        app.play_screen.refresh_timer()
        await pilot.pause()
        assert app.screen.query_one(Countdown).seconds_shown == "6 s"


async def test_ctrl_c_twice_quits_without_waiting(build: Any, saves: MemorySaves) -> None:
    app = build()
    async with playing(app) as pilot:
        await pilot.press("1", "ctrl+c")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running
    state = saves.load("lighthouse", "ada")
    assert state is not None and state["node"] == "stairs"


async def test_help_lists_the_keys_and_timer_options(build: Any) -> None:
    app = build(time_scale=3)
    async with playing(app) as pilot:
        await pilot.press("question_mark")
        shown = await wait_for_text(app, "Keys")
        assert "go back to the previous choice point" in shown
        assert "3 times as long as written" in shown
        await pilot.press("question_mark")
        assert isinstance(app.screen, PlayScreen)


async def test_a_fault_stops_the_story_and_says_where(build: Any) -> None:
    app = build(story=read_story(FIXTURES / "lantern.json"))
    async with playing(app, until="Walk to the bridge") as pilot:
        await pilot.press("2")
        shown = await wait_for_text(app, "Jump into the river")
        number = next(
            line.split(".")[0].strip(" │")
            for line in shown.splitlines()
            if "Jump into the river" in line
        )
        await pilot.press(number)
        shown = await wait_for_text(app, "The story stopped")
        assert app.play_screen.at_ending
        assert 'node "river"' in shown
        assert "every choice is disabled" in shown
        assert "The Hall" in shown and "The Bridge" in shown  # choice points to go back to
        await pilot.press("b")
        await wait_for_text(app, "Jump into the river")
        assert not app.play_screen.at_ending


async def test_page_keys_scroll_a_long_passage(build: Any, lighthouse: Any) -> None:
    long_text = "\n\n".join(f"Paragraph {n} of a long passage." for n in range(1, 40))
    shore = lighthouse.nodes["shore"].model_copy(update={"text": long_text})
    story = lighthouse.model_copy(update={"nodes": {**lighthouse.nodes, "shore": shore}})
    app = build(story=story)
    async with playing(app, until="Paragraph 1 of") as pilot:
        passage = app.play_screen.query_one("#passage")
        assert passage.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert passage.scroll_y > 0
        assert "Paragraph 1 of" not in screen_text(app)
        await pilot.press("pageup")
        await wait_for_text(app, "Paragraph 1 of")
        await pilot.press("1")  # the choices still have the keys
        await wait_for_text(app, "hundred and twelve")


async def test_a_save_that_fails_is_reported_once_and_play_goes_on(build: Any) -> None:
    class ReadOnly(MemorySaves):
        def save(self, story_id: str, viewer: str, state: dict[str, Any]) -> None:
            raise PermissionError("read-only folder")

    app = build(saves=ReadOnly())
    async with playing(app) as pilot:
        assert app.saves is not None
        app.saves.flush()
        await pilot.press("2")
        await wait_for_text(app, "Something glints")
        app.saves.flush()
        await pilot.press("b")
        await wait_for_text(app, "Night has fallen")
        messages = [str(n.message) for n in app._notifications]
        assert sum("Cannot save your place" in m for m in messages) == 1
        assert any("read-only folder" in m for m in messages)


@pytest.mark.parametrize("width", [1, 2, 4, 5, 8])
async def test_a_terminal_a_few_columns_wide_never_crashes_the_player(
    width: int, build: Any, recorder: MemoryRecorder
) -> None:
    """Too narrow for a word: the player lays itself out clipped, and still plays, through
    the help and quit dialogs and the ending panel."""
    app = build()
    async with app.run_test(size=(width, 24)) as pilot:
        for key in ("1", "question_mark", "escape", *"1111111", "q"):
            await pilot.press(key)
            await pilot.pause()
        assert any(isinstance(e, EndingReached) for e in recorder.events)
    assert app.return_code in (None, 0)
