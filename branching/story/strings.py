"""The translatable strings of a story, each with a stable context.

A translator's tools (Poedit, Weblate, Crowdin) match translations by ``msgctxt`` and
``msgid``: the context says which string it is, whatever its words. Contexts are built from
ids, which never contain ``/``, so ``/`` separates their parts without ambiguity (a node id may
contain ``:``):

=========================================  ======================================
``story/title``                            the story's title
``node/ID/title``                          a node's title
``node/ID/text``                           a node's text
``node/ID/choice/KEY/label``               a choice's label (KEY: its id)
``node/ID/ending/title``                   an ending's own title
``node/ID/variant/EXP/ARM/text``           the text an experiment's arm shows
                                           instead (likewise ``/title`` and
                                           ``/choice/KEY/label``)
=========================================  ======================================

>>> from branching.story.loader import load_story_bytes
>>> story = load_story_bytes(b'''{"format": "branching/1", "id": "s", "title": "Hut",
...   "start": "a", "nodes": {"a": {"text": "Cold.", "choices": [{"label": "Run", "to": "b"}]},
...   "b": {"text": "Out.", "ending": {"title": "Free", "kind": "good"}}}}''').story
>>> [(s.context, s.source) for s in story_strings(story)]  # doctest: +NORMALIZE_WHITESPACE
[('story/title', 'Hut'), ('node/a/text', 'Cold.'), ('node/a/choice/b/label', 'Run'),
 ('node/b/text', 'Out.'), ('node/b/ending/title', 'Free')]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from branching.story.model import Choice, Ending, Node, Story
from branching.story.problems import pointer

Field = Literal["story title", "title", "text", "label", "ending title"]


def story_title() -> str:
    return "story/title"


def node_title(node_id: str) -> str:
    return f"node/{node_id}/title"


def node_text(node_id: str) -> str:
    return f"node/{node_id}/text"


def choice_label(node_id: str, choice_key: str) -> str:
    return f"node/{node_id}/choice/{choice_key}/label"


def ending_title(node_id: str) -> str:
    return f"node/{node_id}/ending/title"


def variant_prefix(node_id: str, experiment: str, arm: str) -> str:
    return f"node/{node_id}/variant/{experiment}/{arm}"


#: The fields of a node that experiment arms may replace, and that hold translatable words.
_VARIED = frozenset({"text", "title", "choices"})


def field_prefixes(node: Node, node_id: str, arms: Mapping[str, str]) -> dict[str, str]:
    """Where the words of each field of ``node`` come from as a viewer in ``arms`` sees it: the
    context prefix of its ``text``, ``title`` and ``choices`` (the node's own, or the last
    variant of the viewer's arms that replaces the field, as the engine applies them).

    >>> from branching.story.model import Node, NodeVariant
    >>> node = Node(text="a", variants={"e": {"b": NodeVariant(text="B")}})
    >>> field_prefixes(node, "n", {"e": "b"})["text"], field_prefixes(node, "n", {})["text"]
    ('node/n/variant/e/b', 'node/n')
    """
    prefixes = dict.fromkeys(_VARIED, f"node/{node_id}")
    for experiment, by_arm in node.variants.items():
        arm = arms.get(experiment, "")
        variant = by_arm.get(arm)
        if variant is not None:
            for name in variant.model_fields_set & _VARIED:
                prefixes[name] = variant_prefix(node_id, experiment, arm)
    return prefixes


@dataclass(frozen=True, slots=True)
class StoryString:
    """One translatable string: its context, its words, and where the story file holds it."""

    context: str
    source: str
    #: JSON pointer of the string in the story file.
    path: str
    field: Field
    node: str | None = None

    @property
    def has_blocks(self) -> bool:
        """Whether the string may hold ``{...}`` blocks (titles are plain text)."""
        return self.field in ("text", "label")


def story_strings(story: Story) -> Iterator[StoryString]:
    """Every non-empty translatable string of ``story``, in file order."""
    if story.title:
        yield StoryString(story_title(), story.title, "/title", "story title")
    for node_id, node in story.nodes.items():
        if node.title:
            yield StoryString(
                node_title(node_id),
                node.title,
                pointer("nodes", node_id, "title"),
                "title",
                node_id,
            )
        if node.text:
            yield StoryString(
                node_text(node_id), node.text, pointer("nodes", node_id, "text"), "text", node_id
            )
        yield from _labels(f"node/{node_id}", node.choices or (), ("nodes", node_id), node_id)
        if isinstance(node.ending, Ending) and node.ending.title:
            yield StoryString(
                ending_title(node_id),
                node.ending.title,
                pointer("nodes", node_id, "ending", "title"),
                "ending title",
                node_id,
            )
        for experiment, by_arm in node.variants.items():
            for arm, variant in by_arm.items():
                prefix = variant_prefix(node_id, experiment, arm)
                at = ("nodes", node_id, "variants", experiment, arm)
                if variant.title:
                    yield StoryString(
                        f"{prefix}/title", variant.title, pointer(*at, "title"), "title", node_id
                    )
                if variant.text:
                    yield StoryString(
                        f"{prefix}/text", variant.text, pointer(*at, "text"), "text", node_id
                    )
                yield from _labels(prefix, variant.choices or (), at, node_id)


def _labels(
    prefix: str, choices: Iterable[Choice], at: tuple[str, ...], node_id: str
) -> Iterator[StoryString]:
    for position, choice in enumerate(choices):
        if choice.label:
            yield StoryString(
                f"{prefix}/choice/{choice.key}/label",
                choice.label,
                pointer(*at, "choices", position, "label"),
                "label",
                node_id,
            )


def string_lines(text: str, strings: list[StoryString]) -> dict[str, int]:
    """The line of each string in the story file ``text`` (by JSON pointer), in one scan."""
    from branching.story.loader import line_numbers

    return line_numbers(text, [s.path for s in strings])
