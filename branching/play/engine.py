"""The playthrough state machine: one :class:`Session` per playthrough of a loaded story.

A session knows where the viewer is (``node_id``), the story variables, how often each node was
entered, and the choice points passed on the way (``history``), so it can go back exactly. It
reads time only through an injected clock (tests use a fake one), reports what happens to a
:class:`~branching.play.events.Recorder`, and saves to and resumes from plain JSON. No UI, SQLite or
networkx import: both players and the simulator drive this same object.

Rules (also in docs/playing.md):

* Entering a node counts a visit, then applies the node's ``set`` effects in order (each sees
  the ones before it), then records ``NodeEntered``. ``visits("n")`` includes the current entry.
* Choosing records ``ChoiceMade``, applies the choice's ``set`` effects, then enters the target.
* Going back (``rewind``) restores the node, variables and visit counts of an earlier choice
  point exactly and records only ``Rewound``: no ``NodeEntered`` and no visit, because the path
  moves back rather than forward.
* ``restart`` ends the playthrough as quit (``Quit`` at the current node, if still playing) and
  starts a new one with a new id: a new recorder from ``recorder_factory`` when one was given,
  and ``NodeEntered`` for the start node.
* Experiments: a session plays the story as its viewer's arms see it (``arms``; experiments
  not named get their control arm). The first entry into a node that an experiment's arms
  change records ``Exposed(experiment, arm, node)`` right after ``NodeEntered``, once per
  playthrough; going back does not undo an exposure.
* Faults validation cannot rule out (every choice disabled, an expression failing on real
  values) set ``status = "failed"`` and record ``Failed``; they never raise.

>>> from branching.story.loader import load_story_bytes
>>> story = load_story_bytes(b'''{"format": "branching/1", "id": "door", "title": "Door",
...   "start": "hall", "variables": {"keys": 0},
...   "nodes": {"hall": {"text": "You hold {keys} keys.", "set": {"keys": "keys + 1"},
...                      "choices": [{"label": "Open", "to": "out"}]},
...             "out": {"text": "Outside.", "ending": true}}}''').story
>>> session = Session(story, clock=lambda: 0.0)
>>> session.text()
'You hold 1 keys.'
>>> [offer.label for offer in session.available_choices()]
['Open']
>>> session.choose("out")
>>> session.status, session.node_id
('ended', 'out')
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from branching.play.events import (
    ChoiceMade,
    EndingReached,
    Event,
    Exposed,
    Failed,
    MemoryRecorder,
    NodeEntered,
    NullRecorder,
    PlaythroughInfo,
    Quit,
    Recorder,
    Rewound,
)
from branching.play.profiles import FIRST_VISIT, ViewerProfile, adapt
from branching.story import locales
from branching.story.experiments import story_for_arms
from branching.story.expressions import (
    MAX_NUMBER,
    EvaluationError,
    ExpressionError,
    Value,
    ViewerHistory,
    effect_value,
    evaluate,
    format_value,
    kind_of,
)
from branching.story.model import ID_PATTERN, VARIABLE_PATTERN, Choice, Ending, Node, Story, Timer
from branching.story.strings import ending_title, field_prefixes, story_title
from branching.story.text import Context, TextError, TextEvaluationError, parse_text
from branching.story.untrusted import printable

#: Monotonic seconds; ``time.monotonic`` unless a test injects a fake.
Clock = Callable[[], float]
#: Opens the recorder of a playthrough, given its id (used on start, resume and restart).
RecorderFactory = Callable[[str], Recorder]
SessionStatus = Literal["playing", "ended", "failed", "quit"]

#: ``format`` of the JSON that :meth:`Session.to_json` writes. Version 2 added the sequence
#: counters of story text; saves of version 1 (without them) still resume.
SAVE_FORMAT = "branching-save/2"
READABLE_SAVE_FORMATS = ("branching-save/1", "branching-save/2")
#: A timer resumed from a save gets at least this long (or its full length, if shorter), so the
#: viewer has time to read the passage again before the default is taken.
RESUME_GRACE_SECONDS = 5.0
#: The longest time a save may say the choices were shown for (a year, in seconds): the time
#: becomes the choice's ``decision_ms`` in the log, so an absurd value from an edited save is
#: refused rather than recorded (or overflowing the log's integer column).
MAX_SAVED_SECONDS = 366 * 24 * 3600
#: How many words of a node's text name a choice point that has no title.
LABEL_WORDS = 8
LABEL_CHARS = 60


class SessionError(RuntimeError):
    """A player asked for something the session cannot do now (a programming error).

    For example choosing a choice that is not offered, or going back with no history. Players
    check first (:meth:`Session.available_choices`, :attr:`Session.can_rewind`).
    """


class ResumeError(Exception):
    """A save cannot be resumed. ``str()`` says why, for the viewer; offer to start over."""


class Diverged(ResumeError):
    """A logged event that the session could not have produced (:meth:`Session.follow`).

    ``index`` is its position in the events given, ``event`` the event, ``reason`` why.
    """

    def __init__(self, index: int, event: Event, reason: str) -> None:
        self.index = index
        self.event = event
        self.reason = reason
        super().__init__(f"event {index} does not fit: {reason}")


def new_playthrough_id() -> str:
    """A fresh random playthrough id (32 hex digits)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class TimerOptions:
    """How timed choices behave for this viewer (WCAG 2.2.1, Timing Adjustable).

    ``enabled=False`` switches timers off (the viewer always picks); ``scale`` multiplies every
    timer's seconds (``10`` gives ten times as long).

    >>> from branching.story.model import Timer
    >>> TimerOptions(scale=2.5).seconds(Timer(seconds=4, default="x"))
    10.0
    >>> TimerOptions(enabled=False).seconds(Timer(seconds=4, default="x")) is None
    True
    """

    enabled: bool = True
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise ValueError(f"the time scale must be a number greater than 0, not {self.scale}")

    def seconds(self, timer: Timer | None) -> float | None:
        """Seconds the viewer gets for ``timer``, or ``None`` when timers are off."""
        if not self.enabled or timer is None:
            return None
        return float(timer.seconds) * self.scale


@dataclass(frozen=True, slots=True)
class Offer:
    """A choice as offered now: its model ``choice``, ``id``, interpolated ``label`` and its
    1-based ``number`` among the offered choices. ``default`` marks the choice a running timer
    takes when it runs out."""

    choice: Choice
    id: str
    label: str
    number: int
    default: bool = False


@dataclass(frozen=True, slots=True)
class ChoicePoint:
    """A node with choices that the playthrough passed through: the exact state when its
    choices were shown, and what was chosen there.

    ``step`` is its index in :attr:`Session.history`; ``label`` names it for the viewer (the
    node title, or the first words of its text). ``counters`` are the sequence counters of
    story text as they were on entering the node, so going back shows the same words.
    """

    step: int
    node_id: str
    label: str
    variables: Mapping[str, Value]
    visits: Mapping[str, int]
    choice_id: str
    choice_label: str
    counters: Mapping[str, int] = field(default_factory=dict)
    #: The viewer's profile values then (going back restores them exactly, like variables).
    profile: Mapping[str, Value] = field(default_factory=dict)


def _no_visits(node_id: str) -> int:
    return 0


#: Rendering context of text without blocks (nothing in it is read).
_PLAIN = Context({}, _no_visits)


#: Offers that never change, by (node, translation, choices shown): see
#: :meth:`Session._offers_now`. A simulator visits the same nodes of one story thousands of
#: times; Offer is frozen, so sessions can share them.
_StaticOffers = tuple[Node, Mapping[str, str], tuple[Offer, ...]]
_STATIC_OFFERS: dict[tuple[int, int, tuple[bool, ...]], _StaticOffers] = {}
_MAX_STATIC_OFFERS = 4096
_NO_TRANSLATION: Mapping[str, str] = MappingProxyType({})


def _is_plain(text: str) -> bool:
    """Whether story text has no block (it shows the same words whatever the state)."""
    try:
        return parse_text(text).plain
    except TextError:
        return False


def _ending_ids(story: Story) -> frozenset[str]:
    """The story's ending ids, worked out once per story (a simulator starts thousands of
    sessions of one story)."""
    cached = _ENDINGS.get(id(story))
    if cached is not None and cached[0] is story:
        return cached[1]
    if len(_ENDINGS) >= _MAX_STATIC_OFFERS:
        _ENDINGS.clear()
    found = frozenset(story.endings())
    _ENDINGS[id(story)] = (story, found)  # holding the story keeps its id from being reused
    return found


_ENDINGS: dict[int, tuple[Story, frozenset[str]]] = {}


class _Fault(Exception):
    """Internal: a runtime fault at a node; becomes ``status = "failed"``."""


def _condition(choice: Choice) -> str:
    return f'the condition of choice "{choice.key}" ({choice.if_})'


@lru_cache(maxsize=4096)
def _words_label(text: str) -> str:
    """The first words of a node's text, to name a choice point that has no title (cached:
    a node's text is the same at most visits)."""
    words = text.split()
    label = " ".join(words[:LABEL_WORDS])
    if len(label) > LABEL_CHARS:
        label = label[: LABEL_CHARS - 1].rstrip()
    elif len(words) <= LABEL_WORDS:
        return label
    return label + "…"


class Session:
    """One playthrough of ``story``; see the module docstring for the rules.

    ``recorder`` receives the events; alternatively ``recorder_factory`` opens one per
    playthrough id (needed for :meth:`restart` to start a new playthrough in the log, and for
    :meth:`from_json` to reopen the saved one). The player closes ``session.recorder`` at the
    end; recorders replaced by a restart are closed by the session.
    """

    story: Story
    node_id: str
    variables: dict[str, Value]
    visits: dict[str, int]
    history: list[ChoicePoint]
    status: SessionStatus
    ending: Ending | None
    fault: str | None
    playthrough_id: str
    recorder: Recorder
    recorder_factory: RecorderFactory | None
    timers: TimerOptions
    #: The viewer's arm in each experiment of the story (the story is played as they see it).
    arms: dict[str, str]
    #: Experiments this playthrough was exposed to, with the arm (see :class:`Exposed`).
    exposed: dict[str, str]
    #: What was adapted when resuming a save of an older version of the story, for the viewer.
    resume_notes: list[str]
    #: Events recorded for this playthrough so far, those before the save it resumed included
    #: (``None``: unknown, a save written before saves kept it). Saved, so that a resume can
    #: tell whether the log holds more or fewer events than the save knows of.
    event_count: int | None
    #: The language the text is shown in (BCP 47): the translation's, else the story's.
    language: str
    #: Translated strings by context (see :mod:`branching.story.strings`); a string missing
    #: here is shown in the story's own language.
    translation: Mapping[str, str]
    #: How often each sequence in story text was shown (``"cellar/text#0"``: count).
    counters: dict[str, int]
    #: The viewer's profile values (``story.profile``), kept across playthroughs.
    profile: dict[str, Value]
    #: Playthroughs of this story the viewer began before this one (``playthroughs()``).
    earlier_playthroughs: int
    #: Ending ids the viewer has reached in any playthrough, this one included.
    endings_found: set[str]

    def __init__(
        self,
        story: Story,
        *,
        clock: Clock = time.monotonic,
        recorder: Recorder | None = None,
        timers: TimerOptions | None = None,
        playthrough_id: str | None = None,
        recorder_factory: RecorderFactory | None = None,
        arms: Mapping[str, str] | None = None,
        language: str | None = None,
        translation: Mapping[str, str] | None = None,
        viewer: ViewerProfile = FIRST_VISIT,
    ) -> None:
        self._setup(story, clock, timers, recorder_factory, arms, language, translation)
        self.playthrough_id = playthrough_id or new_playthrough_id()
        self._meet(viewer, adapt(self.story.profile, viewer.values, None, "Profile value"))
        self.recorder = self._open_recorder(recorder)
        self._reset()
        self.event_count = 0
        self._enter(story.start)

    def _meet(self, viewer: ViewerProfile, profile: dict[str, Value]) -> None:
        """Take in what the viewer brings from earlier playthroughs."""
        self.profile = profile
        self.earlier_playthroughs = viewer.earlier(self.playthrough_id)
        self.endings_found = set(viewer.endings)
        self._ending_ids = _ending_ids(self.story)
        self._history = self._viewer_history()

    def _viewer_history(self) -> ViewerHistory:
        return ViewerHistory(
            self.earlier_playthroughs, frozenset(self.endings_found & self._ending_ids)
        )

    @property
    def viewer_history(self) -> ViewerHistory:
        """What ``playthroughs()``, ``endings_found()`` and ``ending_seen()`` read now."""
        return self._history

    def viewer_profile(self) -> ViewerProfile:
        """The profile to keep for the viewer: this playthrough counted, its endings in."""
        return ViewerProfile(
            values=dict(self.profile),
            playthroughs=self.earlier_playthroughs + 1,
            current=self.playthrough_id,
            endings=frozenset(self.endings_found),
        )

    def _setup(
        self,
        story: Story,
        clock: Clock,
        timers: TimerOptions | None,
        recorder_factory: RecorderFactory | None,
        arms: Mapping[str, str] | None,
        language: str | None = None,
        translation: Mapping[str, str] | None = None,
    ) -> None:
        self.arms = {
            experiment_id: arms[experiment_id]
            if arms and arms.get(experiment_id) in experiment.arms
            else experiment.control
            for experiment_id, experiment in story.experiments.items()
        }
        self.story = story_for_arms(story, self.arms)
        #: The story as written (translations name the words of each arm apart).
        self._written = story
        self.clock = clock
        self.timers = timers if timers is not None else TimerOptions()
        self.recorder_factory = recorder_factory
        self.resume_notes = []
        # One shared empty mapping, so sessions without a translation share static offers.
        self.translation = translation if translation is not None else _NO_TRANSLATION
        self.language = language or story.language or locales.DEFAULT_LANGUAGE

    def _open_recorder(self, recorder: Recorder | None) -> Recorder:
        if recorder is not None:
            return recorder
        if self.recorder_factory is not None:
            return self.recorder_factory(self.playthrough_id)
        return NullRecorder()

    def _reset(self) -> None:
        self.node_id = self.story.start
        self.variables = dict(self.story.variables)
        self.visits = {}
        self.history = []
        self.exposed = {}
        self.counters = {}
        self._entry_counters: dict[str, int] = {}
        self._text = ""
        self.status = "playing"
        self.ending = None
        self.fault = None
        self._offers: list[Offer] = []
        self._shown_at = self.clock()
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._timer_total: float | None = None

    # --- Reading the state -------------------------------------------------------------------

    @property
    def node(self) -> Node:
        """The current node."""
        return self.story.nodes[self.node_id]

    @property
    def can_rewind(self) -> bool:
        """True when :meth:`rewind` has somewhere to go."""
        return self.status == "playing" and bool(self.history)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def text(self) -> str:
        """The current node's text as shown: translated, its ``{...}`` blocks rendered.

        Rendered once on entering the node (sequences advance then), so asking again gives the
        same words.
        """
        return self._text

    def title(self) -> str | None:
        """The current node's title, translated."""
        return self.translated(self._context("title", "title"), self.node.title)

    def story_title(self) -> str:
        """The story's title, translated."""
        return self.translated(story_title(), self.story.title) or self.story.title

    def translated(self, context: str, source: str | None) -> str | None:
        """The translation of the story string ``context`` (its ``source`` when none)."""
        if source is None:
            return None
        return self.translation.get(context, source)

    def available_choices(self) -> list[Offer]:
        """The choices offered now (conditions applied), numbered from 1; empty unless playing."""
        return list(self._offers) if self.status == "playing" else []

    def time_left(self) -> float | None:
        """Seconds left on the current timer, or ``None`` when no timer runs here.

        Frozen while paused. At 0 the player calls :meth:`expire_timer`; the session never takes
        the default by itself, so a pick made just after the deadline still counts as a pick.
        """
        if self.status != "playing" or self._timer_total is None:
            return None
        return max(0.0, self._timer_total - self._elapsed())

    def timer_seconds(self) -> float | None:
        """The full length of the current timer under the viewer's options (``None``: none)."""
        if self.status != "playing" or self._timer_total is None:
            return None
        return self.timers.seconds(self.node.timer)

    def playthrough_info(self, viewer: str, variant: str | None = None) -> PlaythroughInfo:
        """What a log needs to open this playthrough."""
        return PlaythroughInfo(
            playthrough_id=self.playthrough_id,
            story_id=self.story.id,
            story_version=self.story.version,
            story_hash=self.story.content_hash,
            viewer=viewer,
            variant=variant,
            language=self.language,
        )

    # --- Acting ------------------------------------------------------------------------------

    def choose(self, choice_id: str) -> None:
        """Take the offered choice ``choice_id`` (an explicit pick, even after the deadline)."""
        self._require_playing("choose")
        for offer in self._offers:
            if offer.id == choice_id:
                self._take(offer, timed_out=False)
                return
        raise SessionError(f'choice "{choice_id}" is not offered at node "{self.node_id}"')

    def expire_timer(self) -> None:
        """Take the timer's default now, recorded as a timeout (``timed_out=True``)."""
        self._require_playing("let the timer run out")
        if self._timer_total is None:
            raise SessionError(f'no timer is running at node "{self.node_id}"')
        offer = next(offer for offer in self._offers if offer.default)
        self._take(offer, timed_out=True)

    def pause_timer(self) -> None:
        """Stop the clock (timer deadline and decision time), e.g. while a dialog is open.

        Idempotent. Any step (choose, rewind, restart) shows new choices with a running clock.
        """
        if self._paused_at is None:
            self._paused_at = self.clock()

    def resume_timer(self) -> None:
        """Start the clock again after :meth:`pause_timer`, with the time that was left."""
        if self._paused_at is not None:
            self._paused_total += max(0.0, self.clock() - self._paused_at)
            self._paused_at = None

    def rewind(self, to: int | None = None) -> None:
        """Go back to ``history[to]`` (``None``: the latest choice point), exactly as it was.

        Records ``Rewound(from_node, to_node, step)`` and nothing else; the choices are shown
        afresh (the timer starts again in full). Also from an ending or a fault, so the viewer
        can try another branch (Bandersnatch-style); the playthrough then goes on. Not after quit.
        """
        if self.status == "quit":
            raise SessionError("cannot go back: the playthrough has quit")
        if not self.history:
            raise SessionError("there is no earlier choice point to go back to")
        step = len(self.history) - 1 if to is None else to
        if not 0 <= step < len(self.history):
            raise SessionError(f"no choice point {to} (history has {len(self.history)})")
        point = self.history[step]
        from_node = self.node_id
        del self.history[step:]
        self.node_id = point.node_id
        self.variables = dict(point.variables)
        self.profile = dict(point.profile)
        self.visits = dict(point.visits)
        self.counters = dict(point.counters)
        self.status = "playing"
        self.ending = None
        self.fault = None
        self._record(Rewound(from_node=from_node, to_node=point.node_id, step=step))
        try:
            self._render_text()
        except _Fault as fault:
            self._fail(str(fault))
            return
        self._show_choices()

    def restart(self) -> None:
        """End this playthrough as quit and start a new one from the story's start node.

        The viewer's profile goes on as it is, and the playthrough just left counts as an
        earlier one."""
        if self.status == "playing":
            self._record(Quit(self.node_id))
        self.playthrough_id = new_playthrough_id()
        self.earlier_playthroughs += 1
        self._history = self._viewer_history()
        if self.recorder_factory is not None:
            old = self.recorder
            self.recorder = self.recorder_factory(self.playthrough_id)
            old.close()
        self.resume_notes = []
        self._reset()
        self.event_count = 0
        self._enter(self.story.start)

    def quit(self) -> None:
        """Leave before an ending: records ``Quit`` at the current node (once; only if playing).

        The state stays as it was, so :meth:`to_json` can still save it for later.
        """
        if self.status != "playing":
            return
        self.pause_timer()
        self.status = "quit"
        self._record(Quit(self.node_id))

    # --- Transitions -------------------------------------------------------------------------

    def _require_playing(self, what: str) -> None:
        if self.status != "playing":
            raise SessionError(f"cannot {what}: the playthrough has {self.status}")

    def _record(self, event: Event) -> None:
        self.recorder.record(event)
        # The log numbers events, not exposures (kept apart, see branching.log.exposures).
        if self.event_count is not None and not isinstance(event, Exposed):
            self.event_count += 1

    def _visit_count(self, node_id: str) -> int:
        return self.visits.get(node_id, 0)

    @staticmethod
    def _scope(variables: Mapping[str, Value], profile: Mapping[str, Value]) -> dict[str, Value]:
        """The names expressions and text can read: variables and profile values."""
        return {**variables, **profile} if profile else dict(variables)

    def _render(self, key: str, source: str, what: str) -> str:
        """The string ``key`` (its translation, else ``source``) with its blocks rendered.

        Raises _Fault when a block fails on the current values.
        """
        text = self.translation.get(key, source)
        try:
            parsed = parse_text(text)
        except TextError:
            if text is source:  # only for stories built without the loader's checks
                return source
            text = source  # a broken translation: the loader drops these; be safe anyway
            try:
                parsed = parse_text(text)
            except TextError:
                return source
        if parsed.plain:
            return parsed.render(_PLAIN)
        context = Context(
            self._scope(self.variables, self.profile),
            self._visit_count,
            language=self.language if text is not source else self._source_language,
            counters=self.counters,
            key=key,
            seed=self.playthrough_id,
            viewer=self._history,
        )
        try:
            return parsed.render(context)
        except TextEvaluationError as exc:
            raise _Fault(f"{what} failed: {exc}") from None

    def _context(self, field: str, rest: str, node_id: str | None = None) -> str:
        """The translation context of the ``field`` (``text``, ``title``, ``choices``) of the
        current node (or ``node_id``) as this viewer's arms show it, then ``rest``."""
        node_id = self.node_id if node_id is None else node_id
        node = self._written.nodes.get(node_id)
        if node is None or not node.variants:
            return f"node/{node_id}/{rest}"
        return f"{field_prefixes(node, node_id, self.arms)[field]}/{rest}"

    def label_words(self, node_id: str, choice: Choice) -> tuple[str, str]:
        """A choice's label at ``node_id`` as this session words it, before its blocks are
        filled in: the translation (else the story's words), and the language to fill them
        in (for a choice point's labels, as on the ending screen)."""
        key = self._context("choices", f"choice/{choice.key}/label", node_id)
        text = self.translation.get(key)
        if text is None:
            return choice.label, self._source_language
        return text, self.language

    @property
    def _source_language(self) -> str:
        return self.story.language or locales.DEFAULT_LANGUAGE

    def _render_text(self) -> None:
        """Render the current node's text, remembering the counters it started from."""
        self._entry_counters = dict(self.counters)
        self._text = ""
        self._text = self._render(self._context("text", "text"), self.node.text, "the text")

    def _elapsed(self) -> float:
        now = self._paused_at if self._paused_at is not None else self.clock()
        return max(0.0, now - self._shown_at - self._paused_total)

    def _enter(self, node_id: str) -> None:
        self.node_id = node_id
        self.visits[node_id] = self.visits.get(node_id, 0) + 1
        node = self.node
        try:
            self.variables, self.profile = self._apply(node.set, "on entering the node")
            self._render_text()
        except _Fault as fault:
            self._record(NodeEntered(node_id))
            self._fail(str(fault))
            return
        self._record(NodeEntered(node_id))
        self._expose(node)
        if node.is_ending:
            self._end()
        else:
            self._show_choices()

    def _expose(self, node: Node) -> None:
        for experiment in node.variants:
            if experiment not in self.exposed and experiment in self.arms:
                arm = self.exposed[experiment] = self.arms[experiment]
                self._record(Exposed(experiment, arm, self.node_id))

    def _apply(
        self, effects: Mapping[str, Value], where: str
    ) -> tuple[dict[str, Value], dict[str, Value]]:
        """The variables and profile after ``effects``, applied in order (each sees the ones
        before it); raises _Fault with nothing applied. Without effects: the dicts as they are
        (the session replaces them, never changes them in place)."""
        if not effects:
            return self.variables, self.profile
        variables = dict(self.variables)
        profile = dict(self.profile)
        scope = self._scope(variables, profile)
        for name, value in effects.items():
            try:
                new = effect_value(value, scope, self._visit_count, self._history)
            except (EvaluationError, ExpressionError) as exc:
                raise _Fault(f'setting "{name}" to {value!r} {where} failed: {exc}') from None
            target = profile if name in self.story.profile else variables
            old = self.story.variables.get(name, self.story.profile.get(name))
            if old is None:
                raise _Fault(
                    f'"{name}" is set {where} but is not a variable or profile name of the story'
                )
            if kind_of(new) != kind_of(old):
                raise _Fault(
                    f'setting "{name}" to {value!r} {where} gave {format_value(new)!r}, '
                    f"but it holds {kind_of(old)} values"
                )
            target[name] = new
            scope[name] = new
        return variables, profile

    def _show_choices(self, *, timer_remaining: float | None = None, elapsed: float = 0.0) -> None:
        """Work out the offers at the current node and start its clock (and timer)."""
        node = self.node
        timer = node.timer
        offers = self._offers_now(node)
        if not offers:
            return  # failed
        self._offers = offers
        self._shown_at = self.clock() - elapsed
        self._paused_at = None
        self._paused_total = 0.0
        # A timer runs only when its default is on offer: a timeout must take a real choice.
        full = self.timers.seconds(timer) if any(o.default for o in offers) else None
        if full is None:
            self._timer_total = None
        elif timer_remaining is None:
            self._timer_total = full
        else:
            left = max(min(timer_remaining, full), min(full, RESUME_GRACE_SECONDS))
            self._timer_total = left + elapsed

    def _offers_now(self, node: Node) -> list[Offer]:
        """The offers at the current node on the current values (empty after a fault, which
        fails the playthrough). Offers that can never change (no conditions, labels without
        blocks, words not varied by an experiment) are kept, for each set of choices the
        conditions let through, for the next visit to the node by this or any session with the
        same translation."""
        shown = self._shown(node)
        if shown is not None:
            cached = _STATIC_OFFERS.get((id(node), id(self.translation), shown))
            if cached is not None and cached[0] is node and cached[1] is self.translation:
                return list(cached[2])
        timer = node.timer
        offers: list[Offer] = []
        scope: dict[str, Value] | None = None
        written = self._written.nodes.get(self.node_id)
        static = written is not None and not written.variants
        try:
            for choice in node.choices or []:
                if choice.if_ is not None:
                    if scope is None:
                        scope = self._scope(self.variables, self.profile)
                    try:
                        passes = evaluate(choice.if_, scope, self._visit_count, self._history)
                    except (EvaluationError, ExpressionError) as exc:
                        raise _Fault(f"{_condition(choice)} failed: {exc}") from None
                    if not isinstance(passes, bool):
                        raise _Fault(
                            f"{_condition(choice)} gave {format_value(passes)!r}, not true or false"
                        )
                    if not passes:
                        continue
                key = self._context("choices", f"choice/{choice.key}/label")
                label = self._render(key, choice.label, f'the label of choice "{choice.key}"')
                if static:
                    static = _is_plain(self.translation.get(key, choice.label))
                offers.append(
                    Offer(
                        choice=choice,
                        id=choice.key,
                        label=label,
                        number=len(offers) + 1,
                        default=timer is not None and choice.key == timer.default,
                    )
                )
            if not offers:
                raise _Fault("every choice is disabled by its condition, so the story cannot go on")
        except _Fault as fault:
            self._fail(str(fault))
            return []
        if static and shown is not None:
            if len(_STATIC_OFFERS) >= _MAX_STATIC_OFFERS:
                _STATIC_OFFERS.clear()
            # Holding the node and translation keeps their ids from being reused meanwhile.
            _STATIC_OFFERS[(id(node), id(self.translation), shown)] = (
                node,
                self.translation,
                tuple(offers),
            )
        return offers

    def _shown(self, node: Node) -> tuple[bool, ...] | None:
        """Which of the node's choices their conditions let through now (``None`` when a
        condition fails: :meth:`_offers_now` then reports the fault as it meets it)."""
        scope: dict[str, Value] | None = None
        shown = []
        for choice in node.choices or []:
            if choice.if_ is None:
                shown.append(True)
                continue
            if scope is None:
                scope = self._scope(self.variables, self.profile)
            try:
                value = evaluate(choice.if_, scope, self._visit_count, self._history)
            except (EvaluationError, ExpressionError):
                return None
            if not isinstance(value, bool):
                return None
            shown.append(value)
        return tuple(shown)

    def _take(self, offer: Offer, *, timed_out: bool) -> None:
        decision_ms = round(self._elapsed() * 1000)
        node_id = self.node_id
        point = ChoicePoint(
            step=len(self.history),
            node_id=node_id,
            label=self._point_label(),
            variables=dict(self.variables),
            visits=dict(self.visits),
            choice_id=offer.id,
            choice_label=offer.label,
            counters=self._entry_counters,
            profile=dict(self.profile),
        )
        self._record(ChoiceMade(node_id, offer.id, offer.choice.to, decision_ms, timed_out))
        try:
            variables, profile = self._apply(offer.choice.set, f'on choosing "{offer.id}"')
        except _Fault as fault:
            self._fail(str(fault))
            return
        self.variables = variables
        self.profile = profile
        self.history.append(point)
        self._enter(offer.choice.to)

    def _point_label(self) -> str:
        title = self.title()
        if title:
            return title
        return _words_label(self.text()) or self.node_id

    def _end(self) -> None:
        info = self.node.ending_info or Ending(title=None)
        source = info.title or self.node.title
        shown = (
            self.translated(ending_title(self.node_id), info.title) if info.title else self.title()
        )
        self.ending = Ending(title=shown, kind=info.kind)
        self.status = "ended"
        # Found for good: going back to an earlier choice point does not unfind it.
        self.endings_found.add(self.node_id)
        self._history = self._viewer_history()
        self._offers = []
        self._timer_total = None
        # The log keeps the story's own title, so reports read the same in every language.
        self._record(EndingReached(self.node_id, source, self.ending.kind))

    def _fail(self, message: str) -> None:
        self.fault = f'node "{self.node_id}": {message}'
        self.status = "failed"
        self._offers = []
        self._timer_total = None
        self._record(Failed(self.node_id, self.fault))

    # --- Catching up with a log --------------------------------------------------------------

    @classmethod
    def replay(
        cls,
        story: Story,
        events: Sequence[Event],
        *,
        timers: TimerOptions | None = None,
        arms: Mapping[str, str] | None = None,
    ) -> Session:
        """The session a whole logged playthrough of ``story`` leads to, checked step by step.

        Every event must be one this engine would have produced (see :meth:`follow`), from the
        start node on, with the playthrough's experiment ``arms`` (from its exposures). The
        result records nothing further (its recorder is a
        :class:`~branching.play.events.NullRecorder`).

        Raises:
            Diverged: the first event the story could not have produced, and why.
        """
        start = MemoryRecorder()
        session = cls(story, clock=lambda: 0.0, recorder=start, timers=timers, arms=arms)
        session.follow(events, pending=start.events)
        session.recorder = NullRecorder()
        return session

    def follow(self, events: Sequence[Event], *, pending: Sequence[Event] = ()) -> list[Event]:
        """Bring the session up to date with ``events`` that a log recorded for it after the
        state it is in (a save one step behind its log, after the player was killed between
        the two writes).

        Each event the viewer caused (a choice, a rewind, a quit) is taken again; each one the
        engine causes itself (entering the choice's target, an ending, a fault) must be the one
        it produces. ``pending``: events the session produced that its recorder has not been
        given yet; they come first. Nothing goes to :attr:`recorder` meanwhile.

        Exposures (:class:`~branching.play.events.Exposed`) are kept apart from the events a
        log numbers, so they are not compared: every one the session produces is returned, to
        be recorded (a log ignores an exposure it already holds).

        Returns:
            The events the session produced beyond ``events`` (say the log holds a choice but
            not the entry into its target, which the player was killed before recording), and
            its exposures: the caller records them.

        Raises:
            Diverged: the first event the session could not have produced, and why; the
                session is then in no useful state.
        """
        produced = MemoryRecorder()
        recorder, self.recorder = self.recorder, produced
        exposures: list[Event] = []
        queue: list[Event] = []

        def take(new: Sequence[Event]) -> None:
            for item in new:
                (exposures if isinstance(item, Exposed) else queue).append(item)

        take(pending)
        try:
            for index, event in enumerate(events):
                if isinstance(event, Exposed):
                    continue  # not numbered with the events: nothing to compare
                if not queue:
                    reason = self._take_again(event, events[index - 1] if index else None)
                    if reason is not None:
                        raise Diverged(index, event, reason)
                    take(produced.events)
                    produced.events.clear()
                    if not queue:  # the entry after a rewind: the same visit, nothing to do
                        continue
                expected = queue.pop(0)
                if not _same_event(expected, event):
                    raise Diverged(index, event, f"the story leads to {_tell(expected)} here")
            return exposures + queue
        finally:
            self.recorder = recorder

    def attach(self, recorder: Recorder, pending: Sequence[Event] = ()) -> None:
        """Record from now on to ``recorder``, first the ``pending`` events the session produced
        before it had one (what :meth:`follow` returned, or what :meth:`from_json` recorded to
        a holding recorder)."""
        self.recorder = recorder
        for event in pending:
            recorder.record(event)

    def reopen(self) -> bool:
        """Go on after a quit, as resuming its save does (:meth:`from_json`): the choices are
        shown afresh. Says whether the playthrough is playing (the choices can fail)."""
        if self.status == "quit":
            self.status = "playing"
            self._show_choices()
        return self.status == "playing"

    def _take_again(self, event: Event, before: Event | None) -> str | None:
        """Cause ``event`` again (a choice, a rewind, a quit); why it cannot be, or ``None``."""
        if self.status == "quit" and not self.reopen():
            return f"the playthrough cannot go on at {self.node_id!r} (a fault)"
        if isinstance(event, ChoiceMade):
            if self.status != "playing":
                return f"a choice after the playthrough has {self.status}"
            if event.node != self.node_id:
                return f"a choice at {event.node!r}, but the viewer was at {self.node_id!r}"
            offer = next((o for o in self._offers if o.id == event.choice), None)
            if offer is None:
                return f"choice {event.choice!r} is not offered at {event.node!r}"
            if offer.choice.to != event.to:
                return f"choice {event.choice!r} leads to {offer.choice.to!r}, not {event.to!r}"
            if event.timed_out and not offer.default:
                return f"choice {event.choice!r} is not what its timer takes when it runs out"
            self._take(offer, timed_out=event.timed_out)
            return None
        if isinstance(event, Rewound):
            if not self.history:
                return "there is no earlier choice point to go back to"
            if event.from_node != self.node_id:
                return f"going back from {event.from_node!r}, but the viewer was at " + repr(
                    self.node_id
                )
            step = event.step
            if not (0 <= step < len(self.history) and self.history[step].node_id == event.to_node):
                return f"choice point {step} is not {event.to_node!r}"
            self.rewind(step)
            return None
        if isinstance(event, Quit):
            if self.status != "playing" or event.node != self.node_id:
                return f"a quit at {event.node!r}, but the viewer was at {self.node_id!r}"
            self.quit()
            return None
        if (
            isinstance(event, NodeEntered)
            and isinstance(before, Rewound)
            and before.to_node == event.node == self.node_id
        ):
            return None
        return f"nothing the viewer does leads to {_tell(event)} here"

    # --- Save and resume ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-ready data, to resume later with :meth:`from_json`.

        Allowed while playing and after :meth:`quit`; a finished playthrough has nothing to
        resume (raises :class:`SessionError`).
        """
        if self.status not in ("playing", "quit"):
            raise SessionError(f"a playthrough that has {self.status} has nothing to save")
        left = self._frozen_time_left()
        return {
            "format": SAVE_FORMAT,
            "story": {
                "id": self.story.id,
                "version": self.story.version,
                "hash": self.story.content_hash,
            },
            "playthrough": self.playthrough_id,
            "node": self.node_id,
            "variables": dict(self.variables),
            "profile": dict(self.profile),
            "visits": dict(self.visits),
            # As on entering the node: resuming renders its text and labels from them again.
            "counters": dict(self._entry_counters),
            "history": [
                {
                    "node": point.node_id,
                    "label": point.label,
                    "choice": point.choice_id,
                    "choice_label": point.choice_label,
                    "variables": dict(point.variables),
                    "profile": dict(point.profile),
                    "visits": dict(point.visits),
                    "counters": dict(point.counters),
                }
                for point in self.history
            ],
            # Seconds since the choices were shown (pauses excluded), for decision_ms.
            "elapsed": round(min(self._elapsed(), MAX_SAVED_SECONDS), 3),
            "arms": dict(self.arms),
            "exposed": dict(self.exposed),
            # In story seconds (before --time-scale), so a resume with other options is fair.
            "timer_remaining": None if left is None else round(left / self.timers.scale, 3),
            # How many events the log should hold for this playthrough (lifecycle.resume).
            "events": self.event_count,
        }

    def _frozen_time_left(self) -> float | None:
        if self._timer_total is None:
            return None
        return max(0.0, self._timer_total - self._elapsed())

    @classmethod
    def from_json(
        cls,
        story: Story,
        data: Any,
        *,
        clock: Clock = time.monotonic,
        recorder: Recorder | None = None,
        timers: TimerOptions | None = None,
        recorder_factory: RecorderFactory | None = None,
        arms: Mapping[str, str] | None = None,
        language: str | None = None,
        translation: Mapping[str, str] | None = None,
        viewer: ViewerProfile = FIRST_VISIT,
    ) -> Session:
        """Resume a saved playthrough of ``story``, adapting it if the story changed since.

        ``viewer`` is the viewer's kept profile: its playthrough count and endings found. The
        profile values come from the save (they are part of the playthrough's state, snapshot
        at every choice point); a save written before profiles existed takes the kept ones.

        The playthrough keeps the arms it was saved with, for experiments (and arms) the story
        still has, so one playthrough never counts in two arms; ``arms`` fills in the rest.

        The rules, when the story's content hash differs from the saved one:

        * variables and profile values added since get their defaults, removed ones are dropped,
          and one whose type changed gets its default; visit counts of vanished nodes are
          dropped;
        * earlier choice points whose node vanished (or is no longer a node with choices) are
          dropped, so going back skips them;
        * if the saved node vanished, the playthrough resumes at the latest surviving choice
          point (recorded as ``Rewound``); if none survives, :class:`ResumeError`;
        * if the saved node is now an ending, the playthrough reaches it (``EndingReached``).

        Every adaptation is described in ``session.resume_notes``. Nothing is recorded for the
        resume itself: later events continue the same playthrough id. A save of another story,
        a damaged save, or one written by a newer version raises :class:`ResumeError`.
        """
        save = _parse_save(data)
        if save.story.id != story.id:
            raise ResumeError(
                f'this save belongs to the story "{save.story.id}", not to "{story.id}"'
            )
        notes: list[str] = []
        if save.story.hash != story.content_hash:
            old, new = save.story.version, story.version
            versions = f" (version {old} → {new})" if old != new and old and new else ""
            notes.append(f"The story has changed since this playthrough was saved{versions}.")
        variables = adapt(story.variables, save.variables, notes, "Story variable")
        profile = adapt(
            story.profile,
            save.profile if save.profile is not None else viewer.values,
            notes if save.profile is not None else None,
            "Profile value",
        )
        history: list[ChoicePoint] = []
        dropped = 0
        for saved in save.history:
            if not _is_choice_node(story, saved.node):
                dropped += 1
                continue
            history.append(
                ChoicePoint(
                    step=len(history),
                    node_id=saved.node,
                    label=saved.label,
                    variables=adapt(story.variables, saved.variables, None, "Story variable"),
                    visits=_adapt_visits(story, saved.visits),
                    choice_id=saved.choice,
                    choice_label=saved.choice_label,
                    counters=dict(saved.counters),
                    profile=profile
                    if saved.profile is None
                    else adapt(story.profile, saved.profile, None, "Profile value"),
                )
            )
        if dropped:
            places = "place" if dropped == 1 else "places"
            notes.append(
                f"{dropped} earlier {places} you could go back to no longer exist in the story."
            )

        fallback: ChoicePoint | None = None
        if save.node not in story.nodes:
            if not history:
                raise ResumeError(
                    "the story has changed since this playthrough was saved: the passage it "
                    f'was at ("{save.node}") is no longer in the story'
                )
            fallback = history[-1]
            notes.append(
                "The passage you were at is no longer in the story; "
                f'you are back at "{fallback.label}".'
            )

        session = cls.__new__(cls)
        session._setup(
            story,
            clock,
            timers,
            recorder_factory,
            {**(arms or {}), **save.arms},
            language,
            translation,
        )
        session.playthrough_id = save.playthrough
        session._meet(viewer, profile)
        session.recorder = session._open_recorder(recorder)
        session._reset()
        session.event_count = save.events
        session.resume_notes = notes
        session.node_id = save.node
        session.variables = variables
        session.visits = _adapt_visits(story, save.visits)
        session.history = history
        session.exposed = {
            experiment: arm
            for experiment, arm in save.exposed.items()
            if session.arms.get(experiment) == arm
        }
        session.counters = dict(save.counters)
        if fallback is not None:
            session.rewind(fallback.step)
            return session
        try:
            session._render_text()
        except _Fault as fault:
            session._fail(str(fault))
            return session
        if story.nodes[save.node].is_ending:
            notes.append("The story now ends here.")
            session._end()
        else:
            # An exposure lost to a crash right after entering the node is recorded now.
            session._expose(session.node)
            session._show_choices(
                timer_remaining=_scaled(save.timer_remaining, session.timers), elapsed=save.elapsed
            )
        return session


def _same_event(expected: Event, logged: Event) -> bool:
    """Whether a logged event is the one the session produced. Texts a newer ``branching`` may
    word differently (fault messages) and measured times do not count."""
    if type(expected) is not type(logged):
        return False
    if isinstance(expected, ChoiceMade) and isinstance(logged, ChoiceMade):
        return (expected.node, expected.choice, expected.to, expected.timed_out) == (
            logged.node,
            logged.choice,
            logged.to,
            logged.timed_out,
        )
    if isinstance(expected, EndingReached) and isinstance(logged, EndingReached):
        return (expected.node, expected.kind) == (logged.node, logged.kind)
    if isinstance(expected, Failed) and isinstance(logged, Failed):
        return expected.node == logged.node
    return expected == logged


def _tell(event: Event) -> str:
    """An event in a few words, for :class:`Diverged`."""
    if isinstance(event, NodeEntered):
        return f"entering {event.node!r}"
    if isinstance(event, ChoiceMade):
        return f"choice {event.choice!r} at {event.node!r}"
    if isinstance(event, Rewound):
        return f"going back to {event.to_node!r}"
    if isinstance(event, EndingReached):
        return f"the ending {event.node!r}"
    if isinstance(event, Quit):
        return f"a quit at {event.node!r}"
    if isinstance(event, Exposed):
        return f"the exposure to {event.experiment!r} at {event.node!r}"
    return f"a fault at {event.node!r}"


def _scaled(story_seconds: float | None, timers: TimerOptions) -> float | None:
    return None if story_seconds is None else story_seconds * timers.scale


def _is_choice_node(story: Story, node_id: str) -> bool:
    node = story.nodes.get(node_id)
    return node is not None and not node.is_ending and bool(node.choices)


def _adapt_visits(story: Story, saved: Mapping[str, int]) -> dict[str, int]:
    return {node: count for node, count in saved.items() if node in story.nodes and count > 0}


# --- The save format, checked on load --------------------------------------------------------

# A save is a file anyone can edit: every field is checked as a story file is. Strings hold no
# control characters (nothing from a save can drive the viewer's terminal) and no lone
# surrogates (pydantic refuses those in any constrained string); ids are ids; numbers are
# finite and in the range the story's expressions use, so resuming cannot overflow anything.
_Text = Annotated[str, Field(pattern=r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$", max_length=100_000)]
_Id = Annotated[str, Field(pattern=ID_PATTERN, max_length=200)]
_Name = Annotated[str, Field(pattern=VARIABLE_PATTERN, max_length=200)]
_Number = (
    Annotated[int, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
    | Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
)
_Scalar = bool | _Number | _Text
_Count = Annotated[int, Field(ge=0, le=MAX_NUMBER)]
_Seconds = Annotated[float, Field(ge=0, le=MAX_SAVED_SECONDS, allow_inf_nan=False)]


class _SaveModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _SavedStory(_SaveModel):
    id: _Id
    version: _Text | None = None
    hash: _Text


_Counters = dict[_Text, _Count]


class _SavedPoint(_SaveModel):
    node: _Id
    label: _Text
    choice: _Id
    choice_label: _Text
    variables: dict[_Name, _Scalar]
    visits: dict[_Id, _Count]
    counters: _Counters = Field(default_factory=dict)
    # Saves written before profiles existed have none.
    profile: dict[_Name, _Scalar] | None = None


class _Save(_SaveModel):
    format: Literal["branching-save/1", "branching-save/2"]
    story: _SavedStory
    playthrough: str = Field(pattern=r"^[A-Za-z0-9_.:\-]{1,100}$")
    node: _Id
    variables: dict[_Name, _Scalar]
    profile: dict[_Name, _Scalar] | None = None
    visits: dict[_Id, _Count]
    counters: _Counters = Field(default_factory=dict)
    history: list[_SavedPoint]
    elapsed: _Seconds = 0.0
    #: In story seconds, as the timer's own ``seconds`` (at most 2^53).
    timer_remaining: Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)] | None = None
    # Saves written before experiments existed have neither.
    arms: dict[_Text, _Text] = Field(default_factory=dict)
    exposed: dict[_Text, _Text] = Field(default_factory=dict)
    # Saves written before saves counted the log's events have no count.
    events: _Count | None = None


def _parse_save(data: Any) -> _Save:
    if not isinstance(data, dict):
        raise ResumeError("this is not a branching save (expected a JSON object)")
    found = data.get("format")
    if found not in READABLE_SAVE_FORMATS:
        if not isinstance(found, str):
            raise ResumeError(f'this is not a branching save (no "format": "{SAVE_FORMAT}")')
        # Quoted from the file: one line, escaped, and short.
        shown = printable(found if len(found) <= 40 else found[:40] + "...", one_line=True)
        if found.startswith("branching-save/"):
            raise ResumeError(
                f"this save was written by a newer version of branching ({shown}); "
                "update branching to resume it"
            )
        raise ResumeError(
            f'this is not a branching save (format "{shown}", expected "{SAVE_FORMAT}")'
        )
    try:
        save = _Save.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        # Save files are untrusted too: what is quoted back must not carry terminal control.
        where = printable("/".join(str(part) for part in first["loc"]))
        if first["type"] == "string_pattern_mismatch":
            reason = "holds control characters, or is not a valid id or name"
        elif first["type"] == "string_unicode":
            reason = "holds a lone surrogate (not text)"
        else:
            reason = first["msg"]
        raise ResumeError(f"the save is damaged: {where}: {reason}") from None
    return save
