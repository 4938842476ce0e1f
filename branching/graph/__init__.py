"""The story as a graph: statistics (:mod:`.stats`) and maps (:mod:`.maps`).

Import it only where it is needed: the statistics load networkx (about 0.1 s). The plain checks
of ``branching validate`` do not use it (see :mod:`branching.story.checks`).
"""

from __future__ import annotations

from branching.graph.maps import (
    LABEL_CHARS,
    StoryMap,
    dot_text,
    mermaid_text,
    story_map,
    to_dot,
    to_mermaid,
)
from branching.graph.stats import (
    UNBOUNDED,
    StoryStats,
    format_stats,
    stats_json,
    story_graph,
    story_stats,
)

__all__ = [
    "LABEL_CHARS",
    "UNBOUNDED",
    "StoryMap",
    "StoryStats",
    "dot_text",
    "format_stats",
    "mermaid_text",
    "stats_json",
    "story_graph",
    "story_map",
    "story_stats",
    "to_dot",
    "to_mermaid",
]
