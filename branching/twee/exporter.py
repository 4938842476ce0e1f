"""A story as Twee 3 for Twine 2.6+, with branching comments for what Twine cannot say."""

from __future__ import annotations

import json
import re
import uuid
from collections import deque
from typing import Any

from branching.story.model import Ending, Node, Story
from branching.twee.clauses import (
    SETTINGS_NAME,
    SETTINGS_TAG,
    quote_json,
    visible_text,
    write_expression,
    write_value,
)
from branching.twee.ids import passage_names, slugify
from branching.twee.notation import escape_header, escape_text

#: What an exported file declares in StoryData: Harlowe is Twine's default format; Twine 2.6+
#: matches "3.3.0" to the newest installed Harlowe 3.x (semver ^3.3.0), so it opens without a
#: complaint about a missing format.
EXPORT_FORMAT = "Harlowe"
EXPORT_FORMAT_VERSION = "3.3.0"
#: Namespace of the name-based (version 5) UUIDs used as IFIDs of exported stories.
IFID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://branching.invalid/ifid")


def ifid_for(story_id: str) -> str:
    """The IFID of an exported story: a name-based UUID (RFC 4122 version 5) of its id, upper case.

    The same story id always gets the same IFID, so repeated exports do not churn diffs; it is a
    valid UUID (Tweego accepts versions 1 to 5, Twine any string). Pass ``ifid`` to
    :func:`export_twee` to keep the IFID a story had in Twine.

    >>> ifid_for("cellar") == ifid_for("cellar"), ifid_for("cellar")[14]
    (True, '5')
    """
    return str(uuid.uuid5(IFID_NAMESPACE, story_id)).upper()


def _layout(story: Story) -> dict[str, tuple[int, int]]:
    """Story-map positions: one column per step from the start, unreached nodes in a last column."""
    depth: dict[str, int] = {story.start: 0}
    queue = deque([story.start])
    while queue:
        node_id = queue.popleft()
        node = story.nodes.get(node_id)
        for choice in (node.choices or []) if node else []:
            if choice.to in story.nodes and choice.to not in depth:
                depth[choice.to] = depth[node_id] + 1
                queue.append(choice.to)
    last = max(depth.values(), default=0) + 1
    rows: dict[int, int] = {}
    positions: dict[str, tuple[int, int]] = {}
    for node_id in story.nodes:
        column = depth.get(node_id, last)
        row = rows.get(column, 0)
        rows[column] = row + 1
        positions[node_id] = (100 + 200 * column, 100 + 150 * row)
    return positions


def _text_is_safe(text: str) -> bool:
    """Whether node text reads back exactly from a passage (else a copy goes in a comment)."""
    if "[[" in text or "<!--" in text or "\x00" in text:
        return False
    if text != text.strip("\n").rstrip():
        return False
    return not any(line.startswith("\\:") for line in text.split("\n"))


def export_twee(story: Story, *, ifid: str | None = None) -> str:
    """A story as Twee 3 text that Twine 2.6+ imports and :func:`import_twee` reads back.

    Passages are named after node titles (made unique and link-safe), links are
    ``[[label->Passage]]``, and what Twine has no notation for is written in ``<!-- branching:
    ... -->`` comments: a block at the top of a passage (id, effects, timer, ending) and one after
    each link that needs it (condition, effects, choice id).
    """
    names = passage_names(story)
    positions = _layout(story)
    out: list[str] = []
    out.append(f":: StoryTitle\n{escape_text(' '.join(story.title.split()) or story.id)}\n")
    data = {
        "ifid": (ifid or ifid_for(story.id)).upper(),
        "format": EXPORT_FORMAT,
        "format-version": EXPORT_FORMAT_VERSION,
        "start": names[story.start],
        "zoom": 1,
    }
    out.append(f":: StoryData\n{json.dumps(data, indent=2, ensure_ascii=False)}\n")
    out.append(_settings_passage(story))
    for node_id, node in story.nodes.items():
        out.append(_node_passage(story, node_id, node, names, positions[node_id]))
    return "\n".join(out)


def _settings_passage(story: Story) -> str:
    lines = [
        f":: {escape_header(SETTINGS_NAME)} [{SETTINGS_TAG}] "
        + '{"position":"100,-50","size":"100,100"}',
        "Story settings for branching (https://branching.invalid): not part of the story.",
        f"id: {story.id}",
    ]
    if story.title != " ".join(story.title.split()) or not story.title:
        lines.append(f"title: {quote_json(story.title)}")
    for key, value in (
        ("version", story.version),
        ("author", story.author),
        ("language", story.language),
        ("$schema", story.schema_),
    ):
        if value is not None:
            lines.append(f"{key}: {quote_json(value)}")
    for name, default in story.variables.items():
        lines.append(f"variable {name}: {quote_json(default)}")
    for name, default in story.profile.items():
        lines.append(f"profile {name}: {quote_json(default)}")
    for experiment_id, experiment in story.experiments.items():
        dumped = experiment.model_dump(mode="json", exclude_none=True)
        lines.append(f"experiment {experiment_id}: {quote_json(dumped)}")
    return "\n".join(lines) + "\n"


def _node_passage(
    story: Story, node_id: str, node: Node, names: dict[str, str], position: tuple[int, int]
) -> str:
    name = names[node_id]
    clauses: list[str] = []
    if slugify(name) != node_id:
        clauses.append(f"id: {node_id}")
    inferred_title = None if name == node_id else name
    if node.title != inferred_title:
        clauses.append(f"title: {quote_json(node.title)}")
    twine_tags = all(
        tag
        and not re.search(r"\s", tag)
        and tag not in ("script", "stylesheet", SETTINGS_TAG)
        and not tag.startswith("Twine.")
        for tag in node.tags
    )
    if node.tags and not twine_tags:
        clauses.append(f"tags: {quote_json(node.tags)}")
    text = node.text
    if not _text_is_safe(text):
        clauses.append(f"text: {quote_json(text)}")
        text = visible_text(text)
    for variable, value in node.set.items():
        clauses.append(f"set {variable}: {write_value(value)}")
    if node.timer is not None:
        clauses.append(f"timer: {quote_json(node.timer.seconds)} -> {node.timer.default}")
    default_ending = node.ending is True and not node.choices
    if not default_ending and (node.ending is not None or not node.choices):
        ending = node.ending
        if isinstance(ending, Ending):
            dumped = ending.model_dump(exclude_none=True)
            clauses.append(
                f"ending: {ending.kind}"
                if dumped == {"kind": ending.kind}
                else f"ending: {quote_json(dumped)}"
            )
        else:
            clauses.append(f"ending: {quote_json(ending)}")
    if node.choices == []:
        clauses.append("choices: []")
    if node.variants:
        # Exactly the fields each arm gives (a "timer": null removes the timer in that arm).
        variants = {
            experiment: {
                arm: variant.model_dump(mode="json", by_alias=True, exclude_unset=True)
                for arm, variant in arms.items()
            }
            for experiment, arms in node.variants.items()
        }
        clauses.append(f"variants: {quote_json(variants)}")
    header = f":: {escape_header(name)}"
    if node.tags and twine_tags:
        header += " [" + " ".join(escape_header(tag) for tag in node.tags) + "]"
    header += " " + json.dumps(
        {"position": f"{position[0]},{position[1]}", "size": "100,100"}, separators=(",", ":")
    )
    body: list[str] = []
    if clauses:
        body.append("<!-- branching\n" + "\n".join(clauses) + "\n-->")
    if text:
        body.append(escape_text(text))
    links = [_link_line(choice, names) for choice in node.choices or []]
    if links:
        body.append("\n".join(links))
    return header + "\n" + "\n\n".join(body) + "\n"


def _link_line(choice: Any, names: dict[str, str]) -> str:
    target = names[choice.to]
    label = choice.label
    clauses: list[str] = []
    shown = " ".join(label.replace("]]", "] ]").replace("][", "] [").split())
    if shown != label or not label:
        clauses.append(f"label: {quote_json(label)}")
    if shown == target and not re.search(r"->|<-|\|", target):
        link = f"[[{target}]]"
    else:
        link = f"[[{shown}->{target}]]"
    if choice.id is not None:
        clauses.append(f"id: {choice.id}")
    if choice.if_ is not None:
        clauses.append("if " + write_expression(choice.if_))
    for variable, value in choice.set.items():
        clauses.append(f"set {variable}: {write_value(value)}")
    if clauses:
        link += " <!-- branching: " + "; ".join(clauses) + " -->"
    return link
