"""Story statistics: what ``branching stats`` reports.

It loads networkx (about 0.1 s) when it computes. The plain checks of ``branching validate`` do
not use it (see :mod:`branching.story.checks`).

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
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from branching.story.model import Story

if TYPE_CHECKING:
    import networkx as nx

#: What ``longest_path`` and ``paths`` are when a loop lies on a way to an ending.
UNBOUNDED: Literal["unbounded"] = "unbounded"


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


def stats_json(stats: StoryStats) -> str:
    """The JSON report of ``branching stats --format json``."""
    return json.dumps(stats.to_json(), indent=2, ensure_ascii=False)
