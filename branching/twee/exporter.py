"""A story as Twee 3 for Twine 2.6+, with branching comments for what Twine cannot say."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from branching.story import locales
from branching.story.expressions import ExpressionError
from branching.story.expressions import parse as parse_expression
from branching.story.model import Choice, Ending, Node, Story
from branching.story.text import TextError
from branching.story.untrusted import printable
from branching.twee.clauses import (
    BRANCHING_NOTE,
    SETTINGS_NAME,
    SETTINGS_TAG,
    comments,
    quote_json,
    write_expression,
    write_value,
)
from branching.twee.format_text import (
    FORMAT_DATA,
    Context,
    TwineFormat,
    Untranslated,
    writer_for,
)
from branching.twee.ids import passage_names, slugify
from branching.twee.links import shown_label
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


@dataclass
class ExportNote:
    """Something Twine will show differently from branching, in one passage."""

    passage: str
    line: int
    message: str

    def format(self, file: str = "<twee>") -> str:
        """``FILE:LINE: passage "Name": warning: message``, on one line with nothing raw: the
        file name and the passage's words may hold control characters.

        >>> ExportNote("Start", 3, "kept as text").format("out\\x1b[2J\\n.twee")
        'out\\\\x1b[2J\\\\x0a.twee:3: passage "Start": warning: kept as text'
        """
        where = f"{file}:{self.line}"
        return printable(
            f'{where}: passage "{self.passage}": warning: {self.message}', one_line=True
        )


@dataclass
class ExportResult:
    """The Twee text of an export and what Twine will not play as branching does."""

    text: str
    notes: list[ExportNote] = field(default_factory=list)


def export_twee(
    story: Story, *, ifid: str | None = None, story_format: TwineFormat = "harlowe"
) -> str:
    """A story as Twee 3 text that Twine 2.6+ imports and :func:`import_twee` reads back
    (see :func:`export_story`, which also says what could not be translated)."""
    return export_story(story, ifid=ifid, story_format=story_format).text


def export_story(
    story: Story, *, ifid: str | None = None, story_format: TwineFormat = "harlowe"
) -> ExportResult:
    """A story as Twee 3 for Twine 2.6+ in ``story_format`` (Harlowe, SugarCube or Chapbook).

    Passages are named after node titles (made unique and link-safe). What the viewer reads is
    written in the format's own code: text that changes, variables, conditions on links and
    effects (see :mod:`~branching.twee.format_text`). The exact story is also kept in ``<!--
    branching ... -->`` comments, with a digest of the passage as written, so that
    :func:`import_twee` gives back the same story, or the writer's edit when the passage was
    changed in Twine.
    """
    names = passage_names(story)
    positions = _layout(story)
    out: list[str] = []
    notes: list[ExportNote] = []
    out.append(f":: StoryTitle\n{escape_text(' '.join(story.title.split()) or story.id)}\n")
    format_name, format_version = FORMAT_DATA[story_format]
    data = {
        "ifid": (ifid or ifid_for(story.id)).upper(),
        "format": format_name,
        "format-version": format_version,
        "start": names[story.start],
        "zoom": 1,
    }
    out.append(f":: StoryData\n{json.dumps(data, indent=2, ensure_ascii=False)}\n")
    out.append(_settings_passage(story, story_format))
    line = sum(part.count("\n") + 1 for part in out) + 1
    for node_id, node in story.nodes.items():
        context = Context(
            story.language or locales.DEFAULT_LANGUAGE, names, frozenset(story.profile)
        )
        passage = _node_passage(
            story, node_id, node, names, positions[node_id], story_format, context
        )
        notes.extend(ExportNote(names[node_id], line, message) for message in context.warnings)
        out.append(passage)
        line += passage.count("\n") + 1
    return ExportResult("\n".join(out), notes)


def body_digest(body: str) -> str:
    """The digest of a passage as the viewer reads it: its text without branching comments,
    line ends trimmed (Twine may trim them), so an edit in Twine changes it."""
    lines = [line.rstrip() for line in strip_notes(body).split("\n")]
    return hashlib.sha256("\n".join(lines).strip().encode()).hexdigest()[:16]


def strip_notes(body: str) -> str:
    """``body`` without its ``<!-- branching ... -->`` comments."""
    out: list[str] = []
    position = 0
    for start, inner in comments(body):
        if BRANCHING_NOTE.match(inner):
            out.append(body[position:start])
            position = start + len(inner) + 7
    out.append(body[position:])
    return "".join(out)


def _settings_passage(story: Story, story_format: TwineFormat) -> str:
    lines = [
        f":: {escape_header(SETTINGS_NAME)} [{SETTINGS_TAG}] "
        + '{"position":"100,-50","size":"100,100"}',
        "Story settings for branching (https://branching.invalid): not part of the story.",
        f"id: {story.id}",
        f"twine_format: {story_format}",
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
    story: Story,
    node_id: str,
    node: Node,
    names: dict[str, str],
    position: tuple[int, int],
    story_format: TwineFormat,
    context: Context,
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
    writer = writer_for(story_format, context)
    if node.text:
        # The exact text, always: what the passage shows is the format's translation of it.
        clauses.append(f"text: {quote_json(node.text)}")
    try:
        text = writer.text(node.text).strip("\n").rstrip()
    except TextError as exc:
        context.warnings.append(f"kept the text as written: it does not parse ({exc.reason})")
        text = writer.literal(node.text).strip("\n").rstrip()
    for variable, value in node.set.items():
        clauses.append(f"set {variable}: {write_value(value)}")
    if node.timer is not None:
        clauses.append(f"timer: {quote_json(node.timer.seconds)} -> {node.timer.default}")
        context.warnings.append(
            f"{writer.title} has no timed choices: the timer ({node.timer.seconds} s) is kept "
            "in the branching comment only"
        )
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
        context.warnings.append(
            f"{writer.title} shows the node as it is without experiments: its variants "
            f"({', '.join(node.variants)}) are kept in the branching comment only"
        )
    header = f":: {escape_header(name)}"
    if node.tags and twine_tags:
        header += " [" + " ".join(escape_header(tag) for tag in node.tags) + "]"
    header += " " + json.dumps(
        {"position": f"{position[0]},{position[1]}", "size": "100,100"}, separators=(",", ":")
    )
    effects = _effects(writer, node.set, "the node", node_level=True)
    links = [_link_line(choice, names, writer) for choice in node.choices or []]
    visible: list[str] = []
    if effects and story_format != "chapbook":
        visible.append(effects)
    if text:
        visible.append(text)
    if links:
        visible.append("\n".join(links))
    sources = getattr(writer, "sources", None)
    if sources:
        clauses.append(f"texts: {quote_json({n: list(v) for n, v in sources.items()})}")
    written = "\n\n".join(visible)
    vars_section = [effects] if effects and story_format == "chapbook" else []
    vars_section += getattr(writer, "vars", [])
    before = "\n".join(vars_section) + "\n--\n" if vars_section else ""
    after = "\n" + written if written else ""
    clauses.append(f"digest: {body_digest(before + after)}")
    note = "<!-- branching\n" + "\n".join(clauses) + "\n-->"
    # The digest is of the text as read back, so "::" at a line start is escaped after it.
    return header + "\n" + escape_text(before + note + after) + "\n"


def _effects(writer: Any, effects: dict[str, Any], owner: str, node_level: bool = False) -> str:
    """``set`` effects in the format's notation; those it cannot say are reported."""
    written: dict[str, str] = {}
    for variable, value in effects.items():
        source = value if isinstance(value, str) else json.dumps(value)
        try:
            if variable in writer.context.profile:
                raise Untranslated("it is the viewer's profile")
            writer.variable(variable)  # a name the format cannot have raises
            written[variable] = writer.expression(parse_expression(source).tree)
        except (Untranslated, ExpressionError) as exc:
            writer.context.warnings.append(
                f"{writer.title} will not set {variable} for {owner} ({exc}): the effect is "
                "kept in the branching comment only"
            )
    if not written:
        return ""
    return str(writer.node_effects(written) if node_level else writer.effects(written))


def _link_line(choice: Choice, names: dict[str, str], writer: Any) -> str:
    target = names[choice.to]
    label = choice.label
    shown = shown_label(label)
    clauses: list[str] = [f"to: {quote_json(target)}", f"label: {quote_json(label)}"]
    if choice.id is not None:
        clauses.append(f"id: {choice.id}")
    if choice.if_ is not None:
        clauses.append("if " + write_expression(choice.if_))
    for variable, value in choice.set.items():
        clauses.append(f"set {variable}: {write_value(value)}")
    condition: str | None = None
    if choice.if_ is not None:
        try:
            condition = writer.expression(parse_expression(choice.if_).tree)
        except (Untranslated, ExpressionError) as exc:
            writer.context.warnings.append(
                f'{writer.title} offers the choice "{shown}" always: its condition '
                f"{choice.if_!r} cannot be translated ({exc})"
            )
    if "{" in label:
        writer.context.warnings.append(
            f'the label "{shown}" is shown as written: text that changes is not translated '
            "in link labels"
        )
    effects = _effects(writer, choice.set, f'the choice "{shown}"')
    note = " <!-- branching: " + "; ".join(clauses) + " -->"
    return str(writer.link(shown, target, condition, effects, note))
