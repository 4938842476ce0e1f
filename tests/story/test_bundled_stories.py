"""The bundled stories load without a single problem and every part of them can be played.

``load_story`` gives the static view (schema, targets, expressions, graph warnings). On top of
that, :func:`explore` plays every reachable (node, variables, visits) state with the real
expression evaluator, so a condition that can never hold, a node where every choice can be
switched off, or a timer whose default can be hidden fails here, before a viewer finds it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from branching.story.expressions import (
    FIRST_TIME,
    Value,
    ViewerHistory,
    effect_value,
    evaluate,
    parse,
)
from branching.story.loader import load_story
from branching.story.model import Node, Story

ROOT = Path(__file__).resolve().parents[2]
STORIES = sorted((ROOT / "stories").glob("*.json"))
#: Far above what the bundled stories need; a story that hits it has an unbounded loop.
MAX_STATES = 200_000


@dataclass
class Exploration:
    nodes: set[str] = field(default_factory=set)
    endings: set[str] = field(default_factory=set)
    stuck: list[str] = field(default_factory=list)
    hidden_defaults: list[str] = field(default_factory=list)
    states: int = 0


def explore(story: Story, viewer: ViewerHistory = FIRST_TIME) -> Exploration:
    """Every state a viewer with this history can reach (profile values at their defaults);
    visits are tracked only for nodes that ``visits()`` reads."""
    watched: set[str] = set()
    for node in story.nodes.values():
        sources = [v for v in node.set.values() if isinstance(v, str)]
        for choice in node.choices or []:
            sources += [v for v in choice.set.values() if isinstance(v, str)]
            if choice.if_ is not None:
                sources.append(choice.if_)
        for source in sources:
            watched |= parse(source).nodes
    order = sorted(watched)
    names = sorted(story.variables) + sorted(story.profile)

    def enter(
        node_id: str, variables: dict[str, Value], visits: dict[str, int]
    ) -> tuple[str, tuple[Value, ...], tuple[int, ...]]:
        if node_id in visits:
            visits[node_id] += 1
        for name, value in story.nodes[node_id].set.items():
            variables[name] = effect_value(value, variables, visits.__getitem__, viewer)
        return node_id, tuple(variables[n] for n in names), tuple(visits[n] for n in order)

    def unpack(
        state: tuple[str, tuple[Value, ...], tuple[int, ...]],
    ) -> tuple[dict[str, Value], dict[str, int]]:
        return dict(zip(names, state[1], strict=True)), dict(zip(order, state[2], strict=True))

    result = Exploration()
    first = enter(story.start, {**story.variables, **story.profile}, dict.fromkeys(order, 0))
    seen = {first}
    queue = deque([first])
    while queue:
        state = queue.popleft()
        node_id = state[0]
        node = story.nodes[node_id]
        result.nodes.add(node_id)
        if node.is_ending:
            result.endings.add(node_id)
            continue
        variables, visits = unpack(state)
        offered = [
            choice
            for choice in node.choices or []
            if choice.if_ is None
            or evaluate(choice.if_, variables, visits.__getitem__, viewer) is True
        ]
        if not offered:
            result.stuck.append(node_id)
        if node.timer is not None and node.timer.default not in {c.key for c in offered}:
            result.hidden_defaults.append(node_id)
        for choice in offered:
            after, counts = dict(variables), dict(visits)
            for name, value in choice.set.items():
                after[name] = effect_value(value, after, counts.__getitem__, viewer)
            following = enter(choice.to, after, counts)
            if following not in seen:
                seen.add(following)
                queue.append(following)
                assert len(seen) <= MAX_STATES, f"{story.id}: more than {MAX_STATES} states"
    result.states = len(seen)
    return result


def test_there_are_bundled_stories() -> None:
    names = {path.name for path in STORIES}
    assert {"tutorial.json", "demo.json"} <= names


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_story_loads_without_errors_or_warnings(path: Path) -> None:
    result = load_story(path)
    assert result.ok, [p.format(path.name) for p in result.problems]
    assert result.problems == [], [p.format(path.name) for p in result.problems]


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_every_node_and_ending_is_reachable_in_real_play(path: Path) -> None:
    story = load_story(path).story
    assert story is not None
    # A first-time viewer, one back for a second go, and one who has seen every ending.
    viewers = [FIRST_TIME, ViewerHistory(1), ViewerHistory(5, frozenset(story.endings()))]
    nodes: set[str] = set()
    endings: set[str] = set()
    for viewer in viewers:
        seen = explore(story, viewer)
        assert seen.stuck == [], f"nodes where every choice can be switched off ({viewer})"
        assert seen.hidden_defaults == [], f"timers whose default can be hidden ({viewer})"
        nodes |= seen.nodes
        endings |= seen.endings
    assert sorted(set(story.nodes) - nodes) == []
    assert sorted(set(story.endings()) - endings) == []


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_returning_viewers_get_something_first_time_viewers_do_not(path: Path) -> None:
    story = load_story(path).story
    assert story is not None
    assert story.profile, "the bundled stories show the profile"
    first = explore(story).nodes
    returning = explore(story, ViewerHistory(1, frozenset(story.endings()))).nodes
    assert returning - first, "a returning viewer is offered a passage a newcomer is not"


@pytest.mark.parametrize("path", STORIES, ids=lambda p: p.name)
def test_bundled_stories_point_editors_at_the_schema(path: Path) -> None:
    story = load_story(path).story
    assert story is not None
    assert story.schema_ == "../docs/branching-1.schema.json"


def test_explore_finds_a_stuck_node_and_an_unreachable_ending() -> None:
    story = Story.model_validate(
        {
            "format": "branching/1",
            "id": "t",
            "title": "t",
            "start": "a",
            "variables": {"key": False},
            "nodes": {
                "a": {"choices": [{"label": "door", "to": "b", "if": "key"}]},
                "b": {"ending": True},
            },
        }
    )
    seen = explore(story)
    assert seen.stuck == ["a"]
    assert seen.endings == set()


def _ending_titles(story: Story) -> Mapping[str, str | None]:
    return {e: info.title for e in story.endings() if (info := story.nodes[e].ending_info)}


def test_demo_endings_all_have_titles_and_cover_every_kind() -> None:
    story = load_story(ROOT / "stories" / "demo.json").story
    assert story is not None
    assert all(_ending_titles(story).values())
    kinds = {info.kind for e in story.endings() if (info := story.nodes[e].ending_info)}
    assert kinds == {"good", "bad", "neutral"}


# --- docs/story-format.md -------------------------------------------------------------------

DOC = ROOT / "docs" / "story-format.md"


def _words(node: Node) -> int:
    return len(re.findall(r"\w+", " ".join([node.text, *(c.label for c in node.choices or [])])))


def test_the_demo_opens_by_teaching_not_by_timing_out() -> None:
    """The first screen a new viewer sees has no timer; the first timer, on every way there,
    comes after an untimed choice and gives time to read (3 s plus 1 s per 4 words)."""
    story = load_story(ROOT / "stories" / "demo.json").story
    assert story is not None
    start = story.nodes[story.start]
    assert start.timer is None and len(start.choices or []) >= 2
    assert "seconds" in start.text  # it says, in the fiction, what a timer will mean
    # Walk the untimed part of the map: every timed node met first must be readable in time.
    # Choices only returning viewers get are left out: they have met timers before.
    seen, stack, first_timers = {story.start}, [story.start], set()
    while stack:
        for choice in story.nodes[stack.pop()].choices or []:
            if choice.if_ is not None and parse(choice.if_).calls:
                continue
            target = story.nodes[choice.to]
            if target.timer is not None:
                first_timers.add(choice.to)
            elif choice.to not in seen:
                seen.add(choice.to)
                stack.append(choice.to)
    assert first_timers
    for node_id in first_timers:
        node = story.nodes[node_id]
        assert node.timer is not None
        assert node.timer.seconds >= 3 + _words(node) / 4, node_id


def test_the_complete_example_in_the_docs_validates_without_warnings(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- example-story -->", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "the-ferry.json"
    path.write_text(block, encoding="utf-8")
    result = load_story(path)
    assert result.problems == [], [p.format(path.name) for p in result.problems]
    assert result.story is not None
    seen = explore(result.story)
    assert seen.stuck == [] and seen.hidden_defaults == []
    assert seen.endings == set(result.story.endings())


def test_every_problem_code_the_validator_emits_is_documented() -> None:
    import re

    emitted: set[str] = set()
    for source in (ROOT / "branching").rglob("*.py"):
        code = source.read_text(encoding="utf-8")
        emitted |= set(
            re.findall(r'(?:Problem|TextFinding)\(\s*"(?:error|warning)",\s*"([a-z-]+)"', code)
        )
    assert emitted, "no problem codes found: has the Problem call changed shape?"
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert sorted(emitted - documented) == []
