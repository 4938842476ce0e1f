"""The story map (``branching graph``): Mermaid and Graphviz DOT.

A writer needs the map most when the story is broken, so :func:`story_map` draws it from a
loaded story or from a story file's JSON data as it is, whatever its errors: a choice leading to
a node that does not exist is a red dashed arrow to a red ``missing: x`` box, a missing start is
a red box too, and nodes that no path from the start reaches are drawn dashed and grey. Every box
shows the node id, which is what the writer searches for in the file, over its title or the
first words of its text; an ending shows its own title and kind.

Story text is data: :func:`mermaid_text` and :func:`dot_text` make it inert in each format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from branching.story.model import Story
from branching.story.untrusted import printable

#: Characters of story text shown in a map box under the id.
LABEL_CHARS = 48

Style = Literal["plain", "conditional", "timed"]
_KINDS = ("good", "bad", "neutral")


@dataclass(frozen=True)
class Arrow:
    """A choice on the map."""

    label: str
    to: str
    style: Style
    #: What the arrow's label adds to the choice's: the timer's seconds, the condition.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Box:
    """A node on the map."""

    id: str
    #: The node's title, else the first words of its text ("" when it has neither).
    summary: str
    #: (title shown, kind) for an ending; the title is the ending's, else the node's.
    ending: tuple[str | None, str] | None
    arrows: tuple[Arrow, ...]


@dataclass
class StoryMap:
    """What a map shows: boxes, arrows, what the start reaches and what is missing."""

    title: str
    start: str | None
    boxes: dict[str, Box]
    reachable: set[str] = field(default_factory=set)

    @property
    def start_missing(self) -> bool:
        return self.start is not None and self.start not in self.boxes

    def missing_targets(self) -> list[str]:
        """Targets of choices that name no node, in the order they appear."""
        found: dict[str, None] = {}
        for box in self.boxes.values():
            for arrow in box.arrows:
                if arrow.to not in self.boxes:
                    found[arrow.to] = None
        return list(found)


def story_map(story: Story | Mapping[str, Any]) -> StoryMap:
    """The map of a loaded story, or of a story file's JSON data even when it has errors.

    >>> broken = {"title": "T", "start": "hall", "nodes": {
    ...     "hall": {"title": "Hall", "choices": [{"label": "Down", "to": "celar"}]},
    ...     "cellar": {"text": "Dark.", "ending": {"title": "Lost", "kind": "bad"}}}}
    >>> found = story_map(broken)
    >>> found.missing_targets(), sorted(found.reachable), found.boxes["cellar"].ending
    (['celar'], ['hall'], ('Lost', 'bad'))
    """
    if isinstance(story, Story):
        found = StoryMap(story.title, story.start, dict(_boxes_of_story(story)))
    else:
        nodes = story.get("nodes")
        title = story.get("title")
        start = story.get("start")
        found = StoryMap(
            title if isinstance(title, str) else "",
            start if isinstance(start, str) else None,
            dict(_boxes_of_data(nodes if isinstance(nodes, Mapping) else {})),
        )
    found.reachable = _reachable(found)
    return found


def _boxes_of_story(story: Story) -> Iterator[tuple[str, Box]]:
    for node_id, node in story.nodes.items():
        timer = node.timer
        arrows = tuple(
            _arrow(
                choice.label,
                choice.to,
                choice.if_,
                timer.seconds if timer is not None and choice.key == timer.default else None,
            )
            for choice in node.choices or ()
        )
        info = node.ending_info
        ending = (info.title or node.title, info.kind) if info is not None else None
        yield node_id, Box(node_id, _summary(node.title, node.text), ending, arrows)


def _boxes_of_data(nodes: Mapping[Any, Any]) -> Iterator[tuple[str, Box]]:
    """Boxes from JSON data as it is: whatever has the wrong type is left out, never fatal."""
    for node_id, node in nodes.items():
        if not isinstance(node_id, str):
            continue
        if not isinstance(node, Mapping):
            yield node_id, Box(node_id, "", None, ())
            continue
        title = _text(node.get("title")) or None
        timer = node.get("timer")
        default = seconds = None
        if isinstance(timer, Mapping):
            default = timer.get("default")
            seconds = timer.get("seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                seconds = None
        arrows: list[Arrow] = []
        choices = node.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, Mapping) or not isinstance(choice.get("to"), str):
                continue
            key = choice.get("id", choice["to"])
            condition = choice.get("if")
            arrows.append(
                _arrow(
                    _text(choice.get("label")),
                    choice["to"],
                    condition if isinstance(condition, str) else None,
                    seconds if key == default else None,
                )
            )
        ending = node.get("ending")
        shown: tuple[str | None, str] | None = None
        if ending is not None and ending is not False:
            kind = ending.get("kind") if isinstance(ending, Mapping) else None
            own = _text(ending.get("title")) if isinstance(ending, Mapping) else ""
            shown = (own or title, kind if kind in _KINDS else "neutral")
        summary = _summary(title, _text(node.get("text")))
        yield node_id, Box(node_id, summary, shown, tuple(arrows))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _arrow(label: str, to: str, condition: str | None, seconds: float | None) -> Arrow:
    notes: list[str] = []
    style: Style = "plain"
    if seconds is not None:
        notes.append(f"{seconds:g}s")
        style = "timed"
    if condition is not None:
        notes.append(f"if {_short(condition, 24)}")
        if style == "plain":
            style = "conditional"
    return Arrow(label, to, style, tuple(notes))


def _reachable(found: StoryMap) -> set[str]:
    if found.start is None or found.start not in found.boxes:
        return set()
    seen = {found.start}
    stack = [found.start]
    while stack:
        for arrow in found.boxes[stack.pop()].arrows:
            if arrow.to in found.boxes and arrow.to not in seen:
                seen.add(arrow.to)
                stack.append(arrow.to)
    return seen


def _summary(title: str | None, text: str) -> str:
    """A short one-line description: the title, else the first words of the text."""
    return _short(title or text, LABEL_CHARS)


def _short(text: str, limit: int = 32) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _lines(box: Box) -> list[str]:
    """What a box says, line by line: its id, then its title or an ending's title and kind."""
    if box.ending is not None:
        title, kind = box.ending
        second = f"{kind} ending: {_short(title, LABEL_CHARS)}" if title else f"{kind} ending"
        return [box.id, second]
    return [box.id, box.summary] if box.summary else [box.id]


def _edge_label(arrow: Arrow) -> str:
    label = _short(arrow.label)
    return f"{label} ({'; '.join(arrow.notes)})" if arrow.notes else label


# --- Mermaid ---------------------------------------------------------------------------------

#: Mermaid flowchart words that cannot be node names; ours all start with ``n_``, ``n`` + digit
#: or ``m`` + digit, so none can be one.
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def mermaid_text(text: str) -> str:
    """Story text made safe inside a double-quoted Mermaid label.

    Everything but letters, digits, spaces and a few harmless marks becomes a numeric entity
    (``#35;``), so quotes, brackets, pipes, ``%%`` directives and HTML stay literal text.

    >>> mermaid_text('Say "hi" <b>&</b> [x] #1 %%{init}%%')
    'Say #34;hi#34; #60;b#62;#38;#60;#47;b#62; #91;x#93; #35;1 #37;#37;#123;init#125;#37;#37;'
    >>> mermaid_text("act-2.bridge ch3:door")
    'act-2.bridge ch3:door'
    """
    return "".join(
        char if char.isalnum() or char in " .,!?'-_…:" else f"#{ord(char)};"
        for char in " ".join(text.split())
    )


def _mermaid_names(boxes: Mapping[str, Box]) -> dict[str, str]:
    """Mermaid node names that keep the node id readable: ``n_cellar``, ``n_act_2_bridge``.

    Characters a name cannot hold become ``_``; a name two ids would share falls back to
    ``n`` and the node's position. The exact id is always in the box's label.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for index, node_id in enumerate(boxes):
        name = "n_" + _NAME_CHARS.sub("_", node_id)
        if name in taken:
            name = f"n{index}"
        names[node_id] = name
        taken.add(name)
    return names


def to_mermaid(story: Story | StoryMap) -> str:
    """A Mermaid flowchart of the story.

    Each box shows the node id over its title or first words (an ending: its kind and title).
    The start has a double border, endings are rounded (green/red/grey by kind), nodes no path
    from the start reaches are dashed and grey; choices with a condition are dotted arrows
    labelled ``if ...``, and the choice a timer takes is a thick arrow labelled with the
    seconds. A choice to a node that does not exist is a red dotted arrow to a red
    ``missing: x`` box. Every label is escaped with :func:`mermaid_text`.

    Examples
    --------
    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "a", "variables": {"key": False}, "nodes": {
    ...         "a": {"title": "Door [locked]", "timer": {"seconds": 5, "default": "b"},
    ...               "choices": [{"label": "Wait", "to": "b"},
    ...                           {"label": "Open", "to": "c", "if": "key"}]},
    ...         "b": {"title": "Corridor", "ending": {"kind": "bad", "title": "Too late"}},
    ...         "c": {"text": "Free", "ending": {"kind": "good"}},
    ...         "d": {"text": "Nobody comes here", "choices": [{"label": "On", "to": "c"}]}}})
    >>> print(to_mermaid(story))
    flowchart TD
      %% Each box: the node id, then its title or first words (an ending: its kind and title).
      %% Dashed grey: no path from the start leads there. Red: a missing node.
      n_a[["a<br/>Door #91;locked#93;"]]
      n_b(["b<br/>bad ending: Too late"]):::bad
      n_c(["c<br/>good ending"]):::good
      n_d["d<br/>Nobody comes here"]
      n_a ==>|"Wait #40;5s#41;"| n_b
      n_a -.->|"Open #40;if key#41;"| n_c
      n_d -->|"On"| n_c
      classDef good fill:#d4f4d4,stroke:#2a7a2a
      classDef bad fill:#f8d4d4,stroke:#a02a2a
      classDef neutral fill:#e8e8e8,stroke:#666666
      classDef unreachable stroke-dasharray:5 5,color:#777777
      classDef missing fill:#fdd,stroke:#c00,stroke-width:2px,stroke-dasharray:5 5,color:#c00
      class n_d unreachable
    """
    found = story if isinstance(story, StoryMap) else story_map(story)
    names = _mermaid_names(found.boxes)
    lines = [
        "flowchart TD",
        "  %% Each box: the node id, then its title or first words (an ending: its kind and "
        "title).",
        "  %% Dashed grey: no path from the start leads there. Red: a missing node.",
    ]
    for node_id, box in found.boxes.items():
        label = "<br/>".join(mermaid_text(line) for line in _lines(box))
        name = names[node_id]
        if node_id == found.start:
            lines.append(f'  {name}[["{label}"]]')
        elif box.ending is not None:
            lines.append(f'  {name}(["{label}"]):::{box.ending[1]}')
        else:
            lines.append(f'  {name}["{label}"]')
    missing = {target: f"m{index}" for index, target in enumerate(found.missing_targets())}
    for target, name in missing.items():
        lines.append(f'  {name}["missing: {mermaid_text(target)}"]:::missing')
    if found.start_missing and found.start is not None:
        lines.append(f'  m_start[["missing start: {mermaid_text(found.start)}"]]:::missing')
    broken: list[int] = []
    edges = 0
    for node_id, box in found.boxes.items():
        for arrow in box.arrows:
            label = mermaid_text(_edge_label(arrow))
            if arrow.to in names:
                shape = {"timed": "==>", "conditional": "-.->", "plain": "-->"}[arrow.style]
                lines.append(f'  {names[node_id]} {shape}|"{label}"| {names[arrow.to]}')
            else:
                broken.append(edges)
                lines.append(f'  {names[node_id]} -.->|"{label}"| {missing[arrow.to]}')
            edges += 1
    lines += [
        "  classDef good fill:#d4f4d4,stroke:#2a7a2a",
        "  classDef bad fill:#f8d4d4,stroke:#a02a2a",
        "  classDef neutral fill:#e8e8e8,stroke:#666666",
        "  classDef unreachable stroke-dasharray:5 5,color:#777777",
        "  classDef missing fill:#fdd,stroke:#c00,stroke-width:2px,stroke-dasharray:5 5,color:#c00",
    ]
    unreachable = [names[node_id] for node_id in found.boxes if node_id not in found.reachable]
    for chunk in range(0, len(unreachable), 50):
        lines.append(f"  class {','.join(unreachable[chunk : chunk + 50])} unreachable")
    for chunk in range(0, len(broken), 50):
        indices = ",".join(str(i) for i in broken[chunk : chunk + 50])
        lines.append(f"  linkStyle {indices} stroke:#c00,stroke-width:2px,color:#c00")
    return "\n".join(lines)


# --- Graphviz DOT ----------------------------------------------------------------------------


def dot_text(text: str) -> str:
    """Story text made safe inside a double-quoted Graphviz string.

    Control characters are shown as ``\\x1b`` (never sent raw), backslashes are doubled
    (Graphviz reads ``\\N``, ``\\G``, ``\\l`` ... as escapes) and quotes escaped; line breaks
    become spaces.

    >>> print(dot_text('a "quote" and \\\\N \\\\'))
    a \\"quote\\" and \\\\N \\\\
    >>> print(dot_text("bell\\x07"))
    bell\\\\x07
    """
    text = printable(" ".join(text.split()), one_line=True)
    return text.replace("\\", "\\\\").replace('"', '\\"')


_FILLS = {"good": "#d4f4d4", "bad": "#f8d4d4", "neutral": "#e8e8e8"}


def to_dot(story: Story | StoryMap) -> str:
    """A Graphviz DOT digraph of the story (render with ``dot -Tsvg``).

    Nodes are named by their ids and labelled with the id over the title or first words (an
    ending: its kind and title). The start is a bold double octagon, endings are rounded and
    filled by kind, nodes no path from the start reaches are dashed and grey; conditional
    choices are dashed, the choice a timer takes is bold. A choice to a node that does not
    exist is a red dashed arrow to a red ``missing: x`` box. Every string is escaped with
    :func:`dot_text`.

    Examples
    --------
    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": 'Say "x"',
    ...     "start": "a", "nodes": {"a": {"text": "C:\\\\dir", "choices": [
    ...         {"label": "Go", "to": "b"}]}, "b": {"title": "End", "ending": True}}})
    >>> print(to_dot(story))
    digraph story {
      label="Say \\"x\\"";
      node [shape=box, style=rounded, fontname="Helvetica"];
      "a" [label="a\\nC:\\\\dir", shape=doubleoctagon, style=bold];
      "b" [label="b\\nneutral ending: End", style="rounded,filled", fillcolor="#e8e8e8"];
      "a" -> "b" [label="Go"];
    }
    """
    found = story if isinstance(story, StoryMap) else story_map(story)
    lines = [
        "digraph story {",
        f'  label="{dot_text(found.title)}";',
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for node_id, box in found.boxes.items():
        label = "\\n".join(dot_text(line) for line in _lines(box))
        attributes = [f'label="{label}"']
        styles = ["rounded"]
        if node_id == found.start:
            attributes.append("shape=doubleoctagon")
            styles = ["bold"]
        elif box.ending is not None:
            styles.append("filled")
            attributes.append(f'fillcolor="{_FILLS[box.ending[1]]}"')
        if node_id not in found.reachable:
            styles.append("dashed")
            attributes += [
                'color="#999999"',
                'fontcolor="#777777"',
                'tooltip="no path from the start leads here"',
            ]
        if styles != ["rounded"]:
            style = styles[0] if len(styles) == 1 else f'"{",".join(styles)}"'
            attributes.insert(2 if node_id == found.start else 1, f"style={style}")
        lines.append(f'  "{dot_text(node_id)}" [{", ".join(attributes)}];')
    missing: dict[str, str] = {}
    wanted = found.missing_targets()
    if found.start_missing and found.start is not None and found.start not in wanted:
        wanted.append(found.start)
    for target in wanted:
        name = f"missing: {target}"
        while name in found.boxes or name in missing.values():
            name += "'"
        missing[target] = name
        label = f"missing start: {target}" if target == found.start else f"missing: {target}"
        lines.append(
            f'  "{dot_text(name)}" [label="{dot_text(label)}", style="filled,dashed", '
            'fillcolor="#ffe0e0", color="#c00000", fontcolor="#c00000"];'
        )
    for node_id, box in found.boxes.items():
        for arrow in box.arrows:
            attributes = [f'label="{dot_text(_edge_label(arrow))}"']
            target = arrow.to if arrow.to in found.boxes else missing[arrow.to]
            if arrow.to not in found.boxes:
                attributes += ["style=dashed", 'color="#c00000"', 'fontcolor="#c00000"']
            elif arrow.style == "conditional":
                attributes.append("style=dashed")
            elif arrow.style == "timed":
                attributes.append("style=bold")
            edge = f'"{dot_text(node_id)}" -> "{dot_text(target)}"'
            lines.append(f"  {edge} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines)
