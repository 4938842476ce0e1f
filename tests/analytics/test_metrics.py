"""Every metric checked against values worked out by hand (tests/analytics/scripted.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.report import Report, Selection, build_report
from analytics.stats import exact_percentile
from analytics.tally import tally_playthroughs
from tests.analytics import scripted


def report(top: int = 20, **selection: object) -> Report:
    chosen = Selection("caves", **selection)  # type: ignore[arg-type]
    kept = [
        p
        for p in scripted.playthroughs()
        if chosen.matches(p.story_id, p.story_version, p.variant, p.day, p.origin)
    ]
    return build_report(scripted.story(), tally_playthroughs(kept), chosen, top=top)


def test_playthrough_counts() -> None:
    s = report().summary
    assert (s.started, s.completed, s.quit, s.failed, s.open) == (8, 3, 2, 1, 2)
    assert s.completion_rate == pytest.approx(3 / 8)
    assert s.viewers == 4
    assert (s.rewinds, s.rewound) == (1, 1)
    # hall: p1 p3 p3 p4 p4 p6 p8 explicit, p2 timed out; cave: p1 p3 p8; river: p2.
    assert (s.explicit_choices, s.timeouts) == (11, 1)
    assert s.distinct_paths == 7  # p1 and p8 share theirs


def test_reached_and_visits_count_loops_once_and_rewinds_not_at_all() -> None:
    r = report()
    hall, cave, river = r.node("hall"), r.node("cave"), r.node("river")
    assert hall and cave and river
    assert (hall.reached, hall.visits) == (7, 8)  # p3 enters twice; p4's rewind is no visit
    assert (cave.reached, cave.visits) == (5, 6)  # p1 p3(x2) p4 p6 p8
    assert (river.reached, river.visits) == (2, 2)
    assert (hall.label, cave.label) == ("The Hall", "A dark cave.")  # title, else the text
    assert [c.label for c in hall.choices] == ["Go left", "Go right"]
    assert r.node("town").reached == 0  # type: ignore[union-attr]


def test_drop_offs_split_quits_failures_and_open() -> None:
    r = report()
    cave, hall, river = r.node("cave"), r.node("hall"), r.node("river")
    assert cave and hall and river
    assert (cave.quits, cave.failures, cave.drop_offs, cave.open_here) == (1, 1, 2, 1)
    assert cave.drop_off_rate == pytest.approx(2 / 5)
    assert (hall.drop_offs, hall.open_here) == (1, 0)
    assert hall.drop_off_rate == pytest.approx(1 / 7)
    assert river.drop_offs == 0 and river.drop_off_rate == 0
    assert r.node("town").drop_off_rate is None  # type: ignore[union-attr]  # never reached
    assert [n.id for n in r.by_drop_off()] == ["cave", "hall"]


def test_choice_shares_report_explicit_picks_and_timer_defaults_apart() -> None:
    hall = report().node("hall")
    assert hall is not None
    assert (hall.choices_made, hall.explicit, hall.timeouts) == (8, 7, 1)
    left, right = hall.choices
    assert (left.id, left.count, left.timeouts, left.taken) == ("left", 6, 0, 6)
    assert (right.id, right.count, right.timeouts, right.taken) == ("right", 1, 1, 2)
    assert right.default and not left.default
    assert left.share == pytest.approx(6 / 7) and right.share == pytest.approx(1 / 7)
    assert right.timeout_share == pytest.approx(1 / 8)
    assert left.taken_share == pytest.approx(6 / 8) and right.taken_share == pytest.approx(2 / 8)
    assert left.share_ci is not None
    low, high = left.share_ci
    assert low < 6 / 7 < high and high < 1
    assert round(low, 3) == 0.487  # Wilson 6/7


def test_decision_times_use_explicit_picks_only() -> None:
    hall = report().node("hall")
    assert hall is not None
    times = [1200, 2000, 1500, 4000, 900, 2500, 1000]
    for q, value in ((0.5, hall.decision_ms_median), (0.9, hall.decision_ms_p90)):
        exact = exact_percentile(times, q)
        assert exact is not None and value is not None
        assert abs(value - exact) / exact < 0.091
    assert report().node("treasure").decision_ms_median is None  # type: ignore[union-attr]


def test_rewinds_are_counted_at_the_node_left() -> None:
    r = report()
    assert r.node("river").rewinds == 1  # type: ignore[union-attr]
    assert r.node("hall").rewinds == 0  # type: ignore[union-attr]


def test_paths_most_popular_first_with_outcome() -> None:
    paths = report().paths
    assert len(paths) == 7
    first = paths[0]
    assert first.steps == ("hall", "cave", "treasure")
    assert (first.playthroughs, first.status, first.last_node) == (2, "completed", "treasure")
    assert first.share == pytest.approx(2 / 8)
    by_steps = {p.steps: p for p in paths}
    assert by_steps[("hall", "river", "↶hall", "cave")].status == "open"
    assert by_steps[("hall", "cave", "hall", "cave")].status == "quit"
    assert by_steps[()].last_node == ""
    assert [len(p.steps) for p in report(top=2).paths] == [3, len(paths[1].steps)]


def test_endings_and_coverage() -> None:
    r = report()
    endings = {e.id: e for e in r.endings}
    assert [e.id for e in r.endings] == ["treasure", "drown", "town"]
    assert endings["treasure"].playthroughs == 2
    assert endings["treasure"].share == pytest.approx(2 / 3)
    assert endings["treasure"].label == "Rich" and endings["treasure"].kind == "good"
    assert endings["town"].playthroughs == 0 and endings["town"].share == 0
    c = r.coverage
    assert c.dark_nodes == ["town", "secret"]
    assert [(d.node, d.id) for d in c.dark_choices] == [("river", "bridge"), ("secret", "town")]
    assert c.dark_endings == ["town"]
    assert (c.nodes_authored, c.nodes_reached) == (7, 5)
    assert (c.choices_authored, c.choices_taken) == (7, 5)
    assert c.unknown_nodes == []


def test_date_filter_selects_by_start_day() -> None:
    s = report(since=dt.date(2026, 11, 2), until=dt.date(2026, 11, 2)).summary
    assert (s.started, s.completed, s.open) == (2, 1, 1)  # p2 and p4


def test_no_playthroughs_gives_no_rates_and_no_errors() -> None:
    r = report(versions=("9",))
    assert r.summary.started == 0
    assert r.summary.completion_rate is None
    assert all(n.drop_off_rate is None for n in r.nodes)
    assert all(e.share is None for e in r.endings)
    assert r.paths == []
    assert len(r.coverage.dark_nodes) == 7


def test_node_entered_right_after_a_rewind_is_the_same_visit() -> None:
    from analytics.tally import Playthrough
    from branching.play.events import NodeEntered, Rewound

    events = [
        NodeEntered("hall"),
        scripted.pick("hall", "left", "cave", 900),
        NodeEntered("cave"),
        Rewound("cave", "hall", 0),
        NodeEntered("hall"),
    ]
    tally = tally_playthroughs([Playthrough("p", "v", events, "caves", "1")])
    assert (tally.nodes["hall"].visits, tally.nodes["hall"].reached) == (1, 1)
    ((key, path),) = tally.paths.items()
    assert path.steps == ("hall", "cave", "↶hall") and key[1:] == ("open", "hall")
