"""The story as a graph: statistics and maps (Mermaid, Graphviz DOT).

Import this module only where it is needed: it loads networkx (about 0.1 s). The plain checks of
``branching validate`` do not use it (see :mod:`branching.story.checks`).

Definitions used by ``branching stats`` (structure only: conditions are not evaluated here; see
``branching validate --deep`` for what real plays can reach):

* **Paths** are distinct sequences of nodes from the start to an ending. They are counted by
  dynamic programming over a topological order, never enumerated. When a loop (a group of
  nodes that can lead back to each other) lies on a way from the start to an ending, a viewer
  can go round it any number of times, so the count is *unbounded*.
* **Shortest path** is the fewest choices from the start to any ending.
* **Longest path** is the most choices from the start to an ending, counted the same way. When
  a loop lies on a way from the start to an ending a viewer can go round it any number of
  times, so it is *unbounded*, like the number of paths; otherwise it is the exact longest
  path of a DAG. So the shortest path is never longer than the longest.
* **Branching factor** is the mean number of choices at non-ending nodes; ``decision points``
  are nodes offering two or more choices.

>>> from branching.story.model import Story
>>> story = Story.model_validate({
...     "format": "branching/1", "id": "demo", "title": "Demo", "start": "a",
...     "nodes": {
...         "a": {"text": "Start", "choices": [{"label": "Left", "to": "b"},
...                                            {"label": "Right", "to": "c"}]},
...         "b": {"text": "Left", "choices": [{"label": "On", "to": "c"}]},
...         "c": {"text": "The end", "ending": True}}})
>>> stats = story_stats(story)
>>> stats.paths, stats.longest_path, stats.shortest_path
(2, 2, 1)
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from branching.story.model import Node, Story

if TYPE_CHECKING:
    import networkx as nx

#: What ``longest_path`` and ``paths`` are when a loop lies on a way to an ending.
UNBOUNDED: Literal["unbounded"] = "unbounded"

#: Characters of story text shown in a map box.
LABEL_CHARS = 48


def story_graph(story: Story) -> nx.DiGraph:
    """The story's nodes and choices as a networkx directed graph.

    Each edge keeps the choices it stands for (``choices``: list of (node id, choice index)),
    so two choices leading to the same node make one edge.

    Examples
    --------
    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "a", "nodes": {"a": {"choices": [{"label": "x", "to": "b"},
    ...     {"label": "y", "to": "b", "id": "y"}]}, "b": {"ending": True}}})
    >>> graph = story_graph(story)
    >>> list(graph.edges(data="choices"))
    [('a', 'b', [('a', 0), ('a', 1)])]
    """
    import networkx as nx

    # Gather edges in plain dicts first: one add_edges_from is ~5x faster than add_edge calls.
    edges: dict[tuple[str, str], list[tuple[str, int]]] = {}
    nodes = story.nodes
    for node_id, node in nodes.items():
        for index, choice in enumerate(node.choices or ()):
            if choice.to in nodes:
                edges.setdefault((node_id, choice.to), []).append((node_id, index))
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((u, v, {"choices": c}) for (u, v), c in edges.items())
    return graph


@dataclass(frozen=True)
class StoryStats:
    """What ``branching stats`` reports (see the module docstring for definitions)."""

    title: str
    nodes: int
    choices: int
    endings: int
    endings_by_kind: dict[str, int]
    unreachable: int
    variables: int
    conditional_choices: int
    timed_nodes: int
    branching_factor: float
    decision_points: int
    loops: int
    #: Fewest choices from the start to an ending; ``None`` when no ending can be reached.
    shortest_path: int | None
    #: Most choices from the start to an ending; :data:`UNBOUNDED` when a loop lies on the
    #: way, ``None`` when no ending can be reached.
    longest_path: int | Literal["unbounded"] | None
    #: Distinct start-to-ending paths; ``None`` when unbounded (a loop lies on the way).
    paths: int | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = UNBOUNDED if self.paths is None else self.paths
        return data


def story_stats(story: Story) -> StoryStats:
    """Counts, branching factor, path lengths and the number of paths of a story.

    Parameters
    ----------
    story
        A loaded story (its choices should lead to existing nodes; those that do not are
        ignored).

    Returns
    -------
    StoryStats

    Examples
    --------
    A loop on the way to the ending makes the number of paths unbounded:

    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "a", "nodes": {
    ...         "a": {"choices": [{"label": "again", "to": "a"}, {"label": "on", "to": "b"}]},
    ...         "b": {"ending": {"kind": "good"}}}})
    >>> stats = story_stats(story)
    >>> stats.paths is None, stats.loops, stats.shortest_path, stats.longest_path
    (True, 1, 1, 'unbounded')
    >>> stats.endings_by_kind
    {'good': 1}
    """
    # networkx allocates a few dicts per node and edge; see loader._collector_paused for why
    # the cyclic collector is paused meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _story_stats(story)
    finally:
        if enabled:
            gc.enable()


def _story_stats(story: Story) -> StoryStats:
    import networkx as nx

    graph = story_graph(story)
    endings = [node_id for node_id, node in story.nodes.items() if node.is_ending]
    kinds: dict[str, int] = {}
    for node_id in endings:
        info = story.nodes[node_id].ending_info
        kind = info.kind if info is not None else "neutral"
        kinds[kind] = kinds.get(kind, 0) + 1
    reachable = nx.descendants(graph, story.start) | {story.start}
    # Only nodes on some start-to-ending way matter for path counts and lengths. Subgraphs are
    # built as real graphs: networkx's filtered views cost ~10x more per step.
    useful_nodes = reachable & _can_finish(graph, endings)
    useful = _induced(graph, useful_nodes)
    components = list(nx.strongly_connected_components(_induced(graph, reachable)))
    cyclic = [c for c in components if _is_loop(graph, c)]

    choices = sum(len(node.choices or ()) for node in story.nodes.values())
    senders = [node for node in story.nodes.values() if not node.is_ending]
    shortest: int | None = None
    longest: int | Literal["unbounded"] | None = None
    paths: int | None = 0
    if story.start in useful:
        lengths = nx.single_source_shortest_path_length(useful, story.start)
        shortest = min((lengths[e] for e in endings if e in lengths), default=None)
        if any(c & useful_nodes for c in cyclic):
            # A viewer can go round the loop any number of times on the way to an ending.
            longest, paths = UNBOUNDED, None
        else:
            longest = int(nx.dag_longest_path_length(useful))
            paths = _count_paths(useful, story.start, endings)
    return StoryStats(
        title=story.title,
        nodes=len(story.nodes),
        choices=choices,
        endings=len(endings),
        endings_by_kind=kinds,
        unreachable=len(story.nodes) - len(reachable),
        variables=len(story.variables),
        conditional_choices=sum(
            1 for node in senders for choice in node.choices or () if choice.if_ is not None
        ),
        timed_nodes=sum(1 for node in senders if node.timer is not None),
        branching_factor=(
            sum(len(node.choices or ()) for node in senders) / len(senders) if senders else 0.0
        ),
        decision_points=sum(1 for node in senders if len(node.choices or ()) >= 2),
        loops=len(cyclic),
        shortest_path=shortest,
        longest_path=longest,
        paths=paths,
    )


def _is_loop(graph: nx.DiGraph, component: set[str]) -> bool:
    """A strongly connected component that a viewer can go round: 2+ nodes or a self-loop."""
    if len(component) > 1:
        return True
    node = next(iter(component))
    return bool(graph.has_edge(node, node))


def _induced(graph: nx.DiGraph, keep: set[str]) -> nx.DiGraph:
    import networkx as nx

    if len(keep) == len(graph):
        return graph
    induced = nx.DiGraph()
    induced.add_nodes_from(node for node in graph if node in keep)
    induced.add_edges_from((u, v) for u, v in graph.edges if u in keep and v in keep)
    return induced


def _can_finish(graph: nx.DiGraph, endings: list[str]) -> set[str]:
    """Nodes from which an ending can be reached: one backward search from all endings."""
    seen = set(endings)
    stack = list(endings)
    while stack:
        for source in graph.predecessors(stack.pop()):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return seen


def _count_paths(dag: nx.DiGraph, start: str, endings: list[str]) -> int:
    """Paths from ``start`` to the endings of a DAG, by dynamic programming (no enumeration)."""
    import networkx as nx

    counts: dict[str, int] = {start: 1}
    for node in nx.topological_sort(dag):
        here = counts.get(node, 0)
        if here:
            for target in dag.successors(node):
                counts[target] = counts.get(target, 0) + here
    return sum(counts.get(ending, 0) for ending in endings)


def format_stats(stats: StoryStats) -> str:
    """The text report of ``branching stats``.

    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "a", "nodes": {"a": {"choices": [{"label": "on", "to": "b"}]},
    ...                            "b": {"ending": True}}})
    >>> print(format_stats(story_stats(story)))
    S
      nodes              2 (1 ending; 0 unreachable)
      choices            1 (0 conditional; 0 timed nodes)
      variables          0
      branching factor   1.00 choices per non-ending node; 0 decision points (2+ choices)
      shortest path      1 choice to an ending
      longest path       1 choice to an ending
      loops              0
      paths              1 distinct path from the start to an ending
    """
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(stats.endings_by_kind.items()))
    endings = f"{stats.endings:,} ending{_s(stats.endings)}"
    if kinds and set(stats.endings_by_kind) != {"neutral"}:
        endings += f": {kinds}"
    if stats.paths is None:
        paths = f"{UNBOUNDED} ({_LOOP_ON_THE_WAY})"
    else:
        paths = f"{stats.paths:,} distinct path{_s(stats.paths)} from the start to an ending"
        if stats.paths >= 10**6:
            paths += f" (about 10^{math.floor(math.log10(stats.paths))})"
    rows = [
        ("nodes", f"{stats.nodes:,} ({endings}; {stats.unreachable:,} unreachable)"),
        (
            "choices",
            f"{stats.choices:,} ({stats.conditional_choices:,} conditional; "
            f"{stats.timed_nodes:,} timed node{_s(stats.timed_nodes)})",
        ),
        ("variables", f"{stats.variables:,}"),
        (
            "branching factor",
            f"{stats.branching_factor:.2f} choices per non-ending node; "
            f"{stats.decision_points:,} decision point{_s(stats.decision_points)} (2+ choices)",
        ),
        ("shortest path", _length(stats.shortest_path)),
        ("longest path", _length(stats.longest_path)),
        ("loops", f"{stats.loops:,}"),
        ("paths", paths),
    ]
    return "\n".join([stats.title] + [f"  {name:<18} {value}" for name, value in rows])


def _s(count: int) -> str:
    return "" if count == 1 else "s"


_LOOP_ON_THE_WAY = "a loop lies on a way from the start to an ending"


def _length(value: int | Literal["unbounded"] | None) -> str:
    if value is None:
        return "no ending can be reached from the start"
    if value == UNBOUNDED:
        return f"{UNBOUNDED} ({_LOOP_ON_THE_WAY}: a viewer can go round it any number of times)"
    return f"{value:,} choice{_s(value)} to an ending"


# --- Maps ------------------------------------------------------------------------------------


def _summary(node_id: str, node: Node) -> str:
    """A short one-line label for a node: its title, else the first words of its text."""
    text = node.title or " ".join(node.text.split()) or node_id
    if len(text) > LABEL_CHARS:
        text = text[: LABEL_CHARS - 1].rstrip() + "…"
    return text


def _short(text: str, limit: int = 32) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mermaid_text(text: str) -> str:
    """Story text made safe inside a double-quoted Mermaid label.

    Everything but letters, digits, spaces and a few harmless marks becomes a numeric entity
    (``#35;``), so quotes, brackets, pipes, ``%%`` directives and HTML stay literal text.

    >>> mermaid_text('Say "hi" <b>&</b> [x] #1 %%{init}%%')
    'Say #34;hi#34; #60;b#62;#38;#60;#47;b#62; #91;x#93; #35;1 #37;#37;#123;init#125;#37;#37;'
    """
    return "".join(
        char if char.isalnum() or char in " .,!?'-_…" else f"#{ord(char)};"
        for char in " ".join(text.split())
    )


def dot_text(text: str) -> str:
    """Story text made safe inside a double-quoted Graphviz string.

    Backslashes are doubled (Graphviz reads ``\\N``, ``\\G``, ``\\l`` ... as escapes) and
    quotes escaped; line breaks become spaces.

    >>> print(dot_text('a "quote" and \\\\N \\\\'))
    a \\"quote\\" and \\\\N \\\\
    """
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_mermaid(story: Story) -> str:
    """A Mermaid flowchart of the story.

    The start has a double border, endings are rounded (green/red/grey by kind); choices with a
    condition are dotted arrows labelled ``if ...``, and the choice a timer takes is a thick
    arrow labelled with the seconds. Node ids are replaced by ``n0, n1, ...`` (ids such as
    ``end`` are Mermaid keywords) and every label is escaped with :func:`mermaid_text`.

    Examples
    --------
    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": "S",
    ...     "start": "a", "variables": {"key": False}, "nodes": {
    ...         "a": {"title": "Door [locked]", "timer": {"seconds": 5, "default": "b"},
    ...               "choices": [{"label": "Wait", "to": "b"},
    ...                           {"label": "Open", "to": "c", "if": "key"}]},
    ...         "b": {"text": "Too late", "ending": {"kind": "bad"}},
    ...         "c": {"text": "Free", "ending": {"kind": "good"}}}})
    >>> print(to_mermaid(story))
    flowchart TD
      n0[["Door #91;locked#93;"]]
      n1(["Too late"]):::bad
      n2(["Free"]):::good
      n0 ==>|"Wait #40;5s#41;"| n1
      n0 -.->|"Open #40;if key#41;"| n2
      classDef good fill:#d4f4d4,stroke:#2a7a2a
      classDef bad fill:#f8d4d4,stroke:#a02a2a
      classDef neutral fill:#e8e8e8,stroke:#666666
    """
    names = {node_id: f"n{index}" for index, node_id in enumerate(story.nodes)}
    lines = ["flowchart TD"]
    for node_id, node in story.nodes.items():
        label = mermaid_text(_summary(node_id, node))
        name = names[node_id]
        if node_id == story.start:
            lines.append(f'  {name}[["{label}"]]')
        elif node.is_ending:
            info = node.ending_info
            kind = info.kind if info is not None else "neutral"
            lines.append(f'  {name}(["{label}"]):::{kind}')
        else:
            lines.append(f'  {name}["{label}"]')
    for node_id, node, choice_index, style in _choices(story):
        choice = (node.choices or [])[choice_index]
        if choice.to not in names:
            continue
        label = _edge_label(node, choice_index)
        arrow = {"timed": "==>", "conditional": "-.->", "plain": "-->"}[style]
        lines.append(f'  {names[node_id]} {arrow}|"{mermaid_text(label)}"| {names[choice.to]}')
    lines += [
        "  classDef good fill:#d4f4d4,stroke:#2a7a2a",
        "  classDef bad fill:#f8d4d4,stroke:#a02a2a",
        "  classDef neutral fill:#e8e8e8,stroke:#666666",
    ]
    return "\n".join(lines)


def to_dot(story: Story) -> str:
    """A Graphviz DOT digraph of the story (render with ``dot -Tsvg``).

    The start is a bold double octagon, endings are rounded and filled by kind; conditional
    choices are dashed, the choice a timer takes is bold. Ids and labels are quoted and escaped
    with :func:`dot_text`.

    Examples
    --------
    >>> from branching.story.model import Story
    >>> story = Story.model_validate({"format": "branching/1", "id": "s", "title": 'Say "x"',
    ...     "start": "a", "nodes": {"a": {"text": "C:\\\\dir", "choices": [
    ...         {"label": "Go", "to": "b"}]}, "b": {"text": "End", "ending": True}}})
    >>> print(to_dot(story))
    digraph story {
      label="Say \\"x\\"";
      node [shape=box, style=rounded, fontname="Helvetica"];
      "a" [label="C:\\\\dir", shape=doubleoctagon, style=bold];
      "b" [label="End", style="rounded,filled", fillcolor="#e8e8e8"];
      "a" -> "b" [label="Go"];
    }
    """
    fills = {"good": "#d4f4d4", "bad": "#f8d4d4", "neutral": "#e8e8e8"}
    lines = [
        "digraph story {",
        f'  label="{dot_text(story.title)}";',
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
    ]
    for node_id, node in story.nodes.items():
        attributes = [f'label="{dot_text(_summary(node_id, node))}"']
        if node_id == story.start:
            attributes += ["shape=doubleoctagon", "style=bold"]
        elif node.is_ending:
            info = node.ending_info
            kind = info.kind if info is not None else "neutral"
            attributes += ['style="rounded,filled"', f'fillcolor="{fills[kind]}"']
        lines.append(f'  "{dot_text(node_id)}" [{", ".join(attributes)}];')
    for node_id, node, choice_index, style in _choices(story):
        choice = (node.choices or [])[choice_index]
        if choice.to not in story.nodes:
            continue
        attributes = [f'label="{dot_text(_edge_label(node, choice_index))}"']
        if style == "conditional":
            attributes.append("style=dashed")
        elif style == "timed":
            attributes.append("style=bold")
        edge = f'"{dot_text(node_id)}" -> "{dot_text(choice.to)}"'
        lines.append(f"  {edge} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines)


def _choices(story: Story) -> Iterator[tuple[str, Node, int, str]]:
    """(node id, node, choice index, kind) for every choice; kind: timed, conditional, plain."""
    for node_id, node in story.nodes.items():
        for index, choice in enumerate(node.choices or ()):
            if node.timer is not None and choice.key == node.timer.default:
                kind = "timed"
            elif choice.if_ is not None:
                kind = "conditional"
            else:
                kind = "plain"
            yield node_id, node, index, kind


def _edge_label(node: Node, index: int) -> str:
    choice = (node.choices or [])[index]
    label = _short(choice.label)
    notes = []
    if node.timer is not None and choice.key == node.timer.default:
        notes.append(f"{node.timer.seconds:g}s")
    if choice.if_ is not None:
        notes.append(f"if {_short(choice.if_, 24)}")
    return f"{label} ({'; '.join(notes)})" if notes else label


def stats_json(stats: StoryStats) -> str:
    """The JSON report of ``branching stats --format json``."""
    return json.dumps(stats.to_json(), indent=2, ensure_ascii=False)
