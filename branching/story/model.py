"""The story format ``branching/1`` as pydantic models.

These models are the contract for story files: the loader validates JSON against them (in
pydantic's Rust core), ``branching schema`` publishes their JSON Schema, and the engine reads
them. Checks that need the whole story (targets exist, expressions use defined variables, ...)
live in :mod:`branching.story.checks`, where each problem gets a location.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

FORMAT = "branching/1"
SCHEMA_URL = "https://branching.invalid/schema/branching-1.json"

#: Ids of nodes, choices and stories: letters, digits and ``_ - . :``; no spaces, so they read
#: well in expressions (``visits("cellar")``), in logs and in URLs.
ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]*$"
#: Variable names are identifiers, so expressions can use them bare.
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

Id = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=200)]
Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
#: An effect's value: an expression (a string) or a JSON literal (``true``, ``3``, ``0.5``).
#: To assign a string literal, quote it inside the expression: ``"'north'"``.
EffectValue = StrictBool | StrictInt | StrictFloat | StrictStr
Effects = dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], EffectValue]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Ending(_Model):
    """How a story ends at a node."""

    title: str | None = Field(None, description="Shown to the viewer; defaults to the node title.")
    kind: Literal["good", "bad", "neutral"] = "neutral"


class Timer(_Model):
    """A timed choice: when ``seconds`` run out, the choice ``default`` is taken."""

    seconds: StrictInt | StrictFloat = Field(description="Time to choose, in seconds (> 0).")
    default: Id = Field(description="Id of the choice taken when time runs out.")


class Choice(_Model):
    """One option offered at a node."""

    label: StrictStr = Field(description="What the viewer sees.")
    to: Id = Field(description="Id of the node this choice leads to.")
    id: Id | None = Field(None, description="Unique within the node; defaults to `to`.")
    if_: StrictStr | None = Field(
        None, alias="if", description="Boolean expression; the choice is offered only when true."
    )
    set: Effects = Field(
        default_factory=dict, description="Effects applied when chosen: {variable: expression}."
    )

    @property
    def key(self) -> str:
        """The choice id: its ``id`` or, by default, its target."""
        return self.id if self.id is not None else self.to


class NodeVariant(_Model):
    """What one experiment arm changes at a node. Fields left out keep the node as written;
    ``"timer": null`` removes the node's timer in this arm."""

    text: StrictStr = Field("", description="Replaces the node's text in this arm.")
    title: StrictStr | None = Field(None, description="Replaces the node's title in this arm.")
    choices: list[Choice] | None = Field(
        None,
        description="Replaces the whole list of choices. Keep a choice's `id` across arms when "
        "it is the same option, so the arms can be compared.",
    )
    timer: Timer | None = Field(None, description="Replaces the timer; null removes it.")


class Node(_Model):
    """A passage: text, then choices or an ending."""

    text: StrictStr = Field(
        "", description="Markdown; `{variable}` interpolates, `{{` and `}}` escape braces."
    )
    title: StrictStr | None = None
    tags: list[StrictStr] = Field(default_factory=list)
    set: Effects = Field(default_factory=dict, description="Effects applied on entering the node.")
    choices: list[Choice] | None = None
    timer: Timer | None = None
    ending: StrictBool | Ending | None = None
    variants: dict[Id, dict[Id, NodeVariant]] = Field(
        default_factory=dict,
        description="Experiment arms that change this node: {experiment id: {arm id: changes}}. "
        "The control arm (the first listed in the experiment) is the node as written.",
    )

    @property
    def is_ending(self) -> bool:
        return self.ending is not None and self.ending is not False

    @property
    def ending_info(self) -> Ending | None:
        """The ending with defaults filled in, or ``None`` for a non-ending node."""
        if isinstance(self.ending, Ending):
            return self.ending
        return Ending(title=None) if self.ending is True else None


class Experiment(_Model):
    """An A/B experiment: viewers are split between arms by weight; nodes say what each arm
    changes (``variants``). The first arm listed is the control."""

    title: StrictStr | None = Field(None, description="What the experiment tests, for reports.")
    arms: dict[Id, StrictInt | StrictFloat] = Field(
        description="{arm id: weight}; at least two arms, weights > 0. The first is the control."
    )

    @property
    def control(self) -> str:
        """The control arm: the first listed."""
        return next(iter(self.arms))


class Story(_Model):
    """A whole story file."""

    schema_: StrictStr | None = Field(None, alias="$schema", description="JSON Schema URL.")
    format: Literal["branching/1"] = Field(description='Always "branching/1".')
    id: Id
    title: StrictStr
    version: StrictStr | None = None
    author: StrictStr | None = None
    language: StrictStr | None = Field(None, description="BCP 47 tag, e.g. `en` or `pt-BR`.")
    start: Id = Field(description="Id of the first node.")
    variables: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], Scalar] = Field(
        default_factory=dict, description="Story state: {name: default}."
    )
    profile: dict[Annotated[str, Field(pattern=VARIABLE_PATTERN)], Scalar] = Field(
        default_factory=dict,
        description="The viewer's profile: {name: default}. Kept per viewer across "
        "playthroughs of this story; read and set like variables (names must differ from "
        "the variables').",
    )
    nodes: dict[Id, Node]
    experiments: dict[Id, Experiment] = Field(
        default_factory=dict,
        description="A/B experiments: {experiment id: {title, arms: {arm id: weight}}}.",
    )
    show_choice_shares: StrictBool = Field(
        False,
        description="After each choice and at the ending, show the share of viewers who chose "
        "the same (only where enough viewers chose).",
    )

    #: Set by the loader: a hash of the file's bytes (see :func:`content_hash`).
    _content_hash: str = PrivateAttr("")

    @property
    def content_hash(self) -> str:
        return self._content_hash

    def endings(self) -> list[str]:
        """Ids of the ending nodes, in file order."""
        return [node_id for node_id, node in self.nodes.items() if node.is_ending]


def content_hash(data: bytes) -> str:
    """A short stable hash of a story file's bytes, stored with saves and playthroughs.

    >>> content_hash(b'{}')
    'sha256:44136fa355b3'
    """
    return "sha256:" + hashlib.sha256(data).hexdigest()[:12]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``branching/1``, as ``branching schema`` prints it."""
    schema = Story.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_URL
    schema["title"] = "branching/1 story"
    return schema
