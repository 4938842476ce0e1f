"""Twee sources to a ``branching/1`` story: passages, StoryData, settings, start, checks."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from branching.story.expressions import Value, in_range
from branching.story.json_input import JsonInputError, loads
from branching.story.model import FORMAT, Story
from branching.twee.assembler import Assembler
from branching.twee.builder import Builder, Draft, finish_text, shuffles_back
from branching.twee.clauses import (
    BRANCHING_NOTE,
    SETTINGS_TAG,
    clause_text,
    clause_value,
    comments,
    parse_clauses,
)
from branching.twee.exporter import body_digest
from branching.twee.format_text import FORMAT_DATA, TWINE_FORMATS
from branching.twee.formats import Dialect, guess_format, normalise_format, scan
from branching.twee.formats.translate import constant_value
from branching.twee.ids import ID_RE, VARIABLE_RE, assign_ids, slugify
from branching.twee.links import link_markup, shown_label
from branching.twee.notation import Passage, parse_twee, read_sources
from branching.twee.problems import TweeProblem, quoted

_SUGARCUBE_SPECIAL = {
    "StoryCaption",
    "StoryMenu",
    "StoryBanner",
    "StorySubtitle",
    "StoryShare",
    "StoryInterface",
    "PassageReady",
    "PassageDone",
    "PassageHeader",
    "PassageFooter",
    "StoryDisplayTitle",
}
_HARLOWE_SPECIAL_TAGS = {"header", "footer", "debug-header", "debug-footer"}


@dataclass
class ImportResult:
    """What :func:`import_twee` made of Twee files: a ``branching/1`` dict and problems."""

    story: dict[str, Any] | None
    problems: list[TweeProblem] = field(default_factory=list)
    format: str = "plain"
    passages: int = 0
    #: Why the imported story cannot be played as it is (empty when it can). The story is
    #: still given, so that the writer can finish it by hand.
    unplayable: list[TweeProblem] = field(default_factory=list)

    @property
    def errors(self) -> list[TweeProblem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[TweeProblem]:
        return [p for p in self.problems if p.severity == "warning"]


def import_files(paths: Sequence[str | Path], **options: Any) -> ImportResult:
    """Read and import Twee files (see :func:`import_twee`); raises :class:`TweeReadError`."""
    sources, problems = read_sources(paths)
    stem = Path(paths[0]).stem if paths else "story"
    fallback = re.sub(r"[-_]+", " ", stem).strip().capitalize() or "Story"
    result = import_twee(sources, fallback_title=fallback, **options)
    result.problems[:0] = problems
    return result


def import_twee(
    sources: Sequence[tuple[str, str]],
    *,
    keep_macros: bool = False,
    story_format: str | None = None,
    start: str | None = None,
    fallback_title: str = "story",
) -> ImportResult:
    """Import Twee 3 sources (``(file name, text)`` pairs, in order) as a ``branching/1`` dict.

    Never raises for bad content: every problem is in ``result.problems`` (located), and when
    there are errors ``result.story`` is None.
    """
    with _cycle_collector_paused():
        result = _import(sources, keep_macros, story_format, start, fallback_title)
    # A problem of the whole import (an unknown --start, an invalid story) names the input,
    # not "<twee>", so that the writer knows which import said it.
    files = ", ".join(name for name, _ in sources)
    if files:
        result.problems[:] = [p if p.file else replace(p, file=files) for p in result.problems]
        result.unplayable[:] = [p if p.file else replace(p, file=files) for p in result.unplayable]
    return result


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while an import runs (and restore its state after).

    An import makes millions of objects and no garbage cycles, so the collector's repeated passes
    over them found nothing and took a third of the time of importing a 24,700-passage story.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(
    sources: Sequence[tuple[str, str]],
    keep_macros: bool,
    story_format: str | None,
    start: str | None,
    fallback_title: str,
) -> ImportResult:
    problems: list[TweeProblem] = []
    by_name, order = _collect_passages(sources, problems)
    result = ImportResult(None, problems, passages=len(by_name))
    if not by_name:
        files = ", ".join(name for name, _ in sources) or "the input"
        problems.append(
            TweeProblem(
                "error", "no passages found (a passage starts with a line '::Name')", files, None
            )
        )
        return result

    settings = next((p for p in by_name.values() if SETTINGS_TAG in p.tags), None)
    data = _story_data(by_name.get("StoryData"), problems)
    dialect = _choose_dialect(by_name, order, data, settings, story_format, problems)
    result.format = dialect

    story_names, init = _sort_passages(by_name, order, dialect, problems)
    if not story_names:
        problems.append(
            TweeProblem(
                "error",
                "no story passages (only StoryTitle, StoryData, scripts or styles)",
                sources[0][0],
                None,
            )
        )
        return result
    exported = _exported_format(settings) if dialect == "native" else None
    read_as: dict[str, Dialect] = {}
    #: Per passage: Chapbook text temporaries the writer left alone -> their branching block.
    kept_blocks: dict[str, dict[str, str]] = {}
    if exported is not None:
        # No story format can set the viewer's profile: those effects live in the comments only.
        profile = set(re.findall(r"^profile\s+(\S+):", settings.text if settings else "", re.M))
        for name in story_names:
            read_as[name] = _exported_passage(
                by_name[name], exported, problems, kept_blocks.setdefault(name, {}), profile
            )
    ids = _node_ids(by_name, story_names)
    names = set(story_names)

    def build(passage: Passage) -> Draft:
        own = read_as.get(passage.name, dialect)
        events = scan(passage.text, passage.line + 1, own)
        return Builder(passage, own, ids, names, keep_macros, problems).run(events)

    drafts: dict[str, Draft] = {}
    for name in story_names:
        draft = drafts[name] = build(by_name[name])
        own = read_as.get(name, dialect)
        draft.text = finish_text(draft.pieces, draft.labels, own == "native")
        if draft.shuffles:
            draft.text = shuffles_back(draft.text, draft.shuffles)
        for temporary, block in kept_blocks.get(name, {}).items():
            draft.text = draft.text.replace("{" + temporary + "}", block)
            draft.interpolated.discard(temporary)
    defaults: dict[str, Value] = {}
    for passage in init:
        _starting_values(passage, build(passage), defaults, problems)

    assembler = Assembler(by_name, drafts, ids, dialect, problems)
    nodes = assembler.nodes()
    story, variables_declared = _story_fields(by_name, settings, fallback_title, problems)
    start_name = _choose_start(start, data, by_name, story_names, problems)
    if start_name is None:
        return result
    story["start"] = ids[start_name]
    story["variables"] = assembler.variables(
        defaults, variables_declared, ids[start_name], story.get("profile", {})
    )
    story["nodes"] = nodes
    ordered = {key: story[key] for key in _STORY_KEYS if key in story}
    if not ordered["variables"]:
        ordered.pop("variables")
    problems.extend(_validate(ordered, set(assembler.dead_ends)))
    if not any(p.severity == "error" for p in problems):
        result.story = ordered
        result.unplayable = _unplayable(
            ordered, assembler.dead_ends, by_name[start_name], drafts[start_name].dropped_code
        )
    return result


def _exported_format(settings: Passage | None) -> Dialect | None:
    """The story format an export wrote its passages in (its settings' ``twine_format``)."""
    if settings is None:
        return None
    match = re.search(r"^twine_format:\s*(\w+)\s*$", settings.text, re.MULTILINE)
    if match and match.group(1) in TWINE_FORMATS:
        return match.group(1)  # type: ignore[return-value]
    return None


_HIDDEN_NOTE = re.compile(r"<!--\s*branching\b", re.IGNORECASE)
#: Clauses that describe what the passage shows: on an edited passage, the edit says it.
_SHOWN_NODE_CLAUSES = ("text", "digest", "texts")
_SHOWN_LINK_CLAUSES = ("label", "if")


def _exported_passage(
    passage: Passage,
    story_format: Dialect,
    problems: list[TweeProblem],
    kept_blocks: dict[str, str],
    profile: set[str],
) -> Dialect:
    """How to read a passage of an export in a story format, rewriting its text for that.

    Unchanged since the export (its digest matches): the branching comments hold the exact
    node, so the passage becomes the comments alone, read as branching's own notation. Edited
    in Twine: the writer's edit wins, so the passage is read through the format's translator
    and the comments keep only what Twine cannot show (ids, timers, endings, effects on the
    viewer's profile).
    """
    notes = [
        (start, body, parse_clauses(body[note.end() :]))
        for start, body in comments(passage.text)
        if (note := BRANCHING_NOTE.match(body))
    ]
    for _, body in comments(passage.text):
        if not BRANCHING_NOTE.match(body) and _HIDDEN_NOTE.search(body):
            problems.append(
                passage.problem(
                    "a '<!--' in the passage's text opens a comment that hides a branching "
                    "comment: the choice or node details it kept are lost"
                )
            )
    node = next((n for n in notes if not any(k == "to" for k, _ in n[2])), None)
    digest = dict(node[2]).get("digest") if node is not None else None
    if node is None or digest is None:
        return "native"
    if body_digest(passage.text) == digest:
        lines = ["<!--" + node[1] + "-->"]
        for _, body, clauses in notes:
            values = dict(clauses)
            if "to" not in values:
                continue
            target, label = clause_text(values["to"]), clause_text(values.get("label", '""'))
            lines.append(f"[[{link_markup(shown_label(label), target)}]] <!--{body}-->")
        passage.text = "\n".join(lines)
        return "native"
    titles: dict[str, str] = {name: data[0] for name, data in FORMAT_DATA.items()}
    title = titles.get(story_format, story_format.title())
    problems.append(
        passage.problem(
            f"the passage was edited in Twine after export: read the edited text as "
            f"{title} (its branching comment keeps only ids, timers and endings)"
        )
    )
    texts = clause_value(dict(node[2]).get("texts", "{}"))
    out: list[str] = []
    position = 0
    for start, body, clauses in notes:
        out.append(passage.text[position:start])
        position = start + len(body) + 7
        is_link = any(k == "to" for k, _ in clauses)
        dropped = _SHOWN_LINK_CLAUSES if is_link else _SHOWN_NODE_CLAUSES
        kept = [
            (k, v)
            for k, v in clauses
            if (k not in dropped and re.fullmatch(r"[a-z]+", k))
            or (k.startswith("set ") and k[4:].strip() in profile)
        ]
        if kept and is_link:  # on the link's line, or it is not the link's any more
            out.append("<!-- branching: " + "; ".join(f"{k}: {v}" for k, v in kept) + " -->")
        elif kept:  # one clause a line: an edit may have left a quote open in one of them
            out.append("<!-- branching\n" + "\n".join(f"{k}: {v}" for k, v in kept) + "\n-->")
    out.append(passage.text[position:])
    passage.text = "".join(out)
    if isinstance(texts, dict) and texts:
        passage.text = _keep_untouched_blocks(passage.text, texts, kept_blocks)
    return story_format


def _keep_untouched_blocks(text: str, texts: dict[str, Any], kept: dict[str, str]) -> str:
    """Take out of a Chapbook vars section each text temporary the writer left as exported,
    remembering its branching block (``kept``), so that the passage's ``{_text1}`` gives back
    the block itself rather than JavaScript the importer cannot read."""
    lines = text.split("\n")
    if "--" not in (line.strip() for line in lines):
        return text
    end = next(i for i, line in enumerate(lines) if line.strip() == "--")
    section: list[str] = []
    for line in lines[:end]:
        name, _, value = line.partition(":")
        exported = texts.get(name.strip())
        if (
            isinstance(exported, list)
            and len(exported) == 2
            and all(isinstance(part, str) for part in exported)
            and value.strip() == exported[0]
        ):
            kept[name.strip()] = exported[1]
        else:
            section.append(line)
    rest = lines[end + 1 :]
    return "\n".join([*section, "--", *rest] if section else rest)


def _unplayable(
    story: dict[str, Any],
    dead_ends: dict[str, tuple[Passage, str]],
    start: Passage,
    start_dropped_code: bool,
) -> list[TweeProblem]:
    """Why a viewer could not play the imported story through (nothing when they can)."""
    found = [
        passage.problem(
            f"{why}: it is not an ending, so the story has an error here "
            "(add a choice or an ending to the node)"
        )
        for passage, why in dead_ends.values()
    ]
    nodes: dict[str, Any] = story["nodes"]
    first = story["start"]
    # A start of nothing but links (a menu, Twine's own example) is a normal start: only an
    # empty screen, or words lost with the code they were written in, make it unplayable.
    if not re.search(r"\w", nodes[first].get("text", "")):
        if start_dropped_code:
            found.append(
                start.problem(
                    "the start passage shows no words once the code branching cannot translate "
                    "is removed: a viewer would begin at an empty screen"
                )
            )
        elif not nodes[first].get("choices"):
            found.append(
                start.problem(
                    "the start passage shows no words and offers no choice: a viewer would "
                    "begin at an empty screen"
                )
            )
    seen, stack = {first}, [first]
    while stack:
        for choice in nodes[stack.pop()].get("choices") or ():
            if choice["to"] not in seen:
                seen.add(choice["to"])
                stack.append(choice["to"])
    if not any(nodes[n].get("ending") not in (None, False) for n in seen):
        found.append(
            start.problem(
                "no ending can be reached from the start passage: a viewer could never finish"
            )
        )
    return [TweeProblem("error", p.message, p.file, p.line, p.passage) for p in found]


#: The order of a story's fields in the file written.
_STORY_KEYS = (
    "$schema",
    "format",
    "id",
    "title",
    "version",
    "author",
    "language",
    "start",
    "variables",
    "profile",
    "nodes",
    "experiments",
)
_SETTINGS_KEYS = ("id", "title", "version", "author", "language", "$schema")


def _collect_passages(
    sources: Sequence[tuple[str, str]], problems: list[TweeProblem]
) -> tuple[dict[str, Passage], list[str]]:
    """Every passage by name, and the names in file order (a repeated name keeps the last)."""
    by_name: dict[str, Passage] = {}
    order: list[str] = []
    for filename, text in sources:
        passages, notes = parse_twee(text, filename)
        problems.extend(notes)
        for passage in passages:
            previous = by_name.get(passage.name)
            if previous is not None:
                # The specification is silent; Tweego, the reference compiler, keeps the last.
                problems.append(
                    passage.problem(
                        f"a second passage with this name replaces the one at "
                        f"{previous.file}:{previous.line} (Twee compilers keep the last)"
                    )
                )
            else:
                order.append(passage.name)
            by_name[passage.name] = passage
    return by_name, order


def _choose_dialect(
    by_name: dict[str, Passage],
    order: list[str],
    data: dict[str, Any],
    settings: Passage | None,
    story_format: str | None,
    problems: list[TweeProblem],
) -> Dialect:
    """How to read the passages: --format, else an export's own notation, StoryData or a guess."""
    if settings is not None and story_format is None:
        return "native"
    declared = normalise_format(data.get("format") if isinstance(data.get("format"), str) else None)
    chosen = normalise_format(story_format) or declared
    if chosen is None:
        candidates = [p.text for p in by_name.values() if not _is_code_passage(p)]
        chosen = guess_format(candidates)
        if chosen != "plain":
            first = by_name[order[0]]
            problems.append(
                TweeProblem(
                    "warning",
                    f"StoryData names no story format; read the passages as {chosen.title()}, "
                    "whose code they use (choose with --format)",
                    first.file,
                    first.line,
                )
            )
    return chosen  # type: ignore[return-value]


def _sort_passages(
    by_name: dict[str, Passage], order: list[str], dialect: Dialect, problems: list[TweeProblem]
) -> tuple[list[str], list[Passage]]:
    """Names of the story passages, and the passages of starting values; the rest is reported."""
    story_names: list[str] = []
    init: list[Passage] = []
    for name in order:
        passage = by_name[name]
        role = _special(passage, dialect)
        if role == "story":
            story_names.append(name)
        elif role == "init":
            init.append(passage)
        elif role in ("script", "stylesheet", "media", "special"):
            lines = passage.text.count("\n") + 1 if passage.text.strip() else 0
            what = {
                "script": f"a script passage ({lines} lines of JavaScript)",
                "stylesheet": f"a stylesheet passage ({lines} lines of CSS)",
                "media": "a media passage",
                "special": f"a special passage of {dialect.title()} "
                "(its interface or every-passage code)",
            }[role]
            problems.append(passage.problem(f"dropped {what}: branching has no equivalent"))
    return story_names, init


def _node_ids(by_name: dict[str, Passage], story_names: list[str]) -> dict[str, str]:
    """Node ids: the ``id`` clause an export wrote, else one made from the passage name."""
    fixed: dict[str, str] = {}
    for name in story_names:
        wanted = _node_clause(by_name[name].text, "id")
        if wanted and ID_RE.match(wanted) and wanted not in fixed.values():
            fixed[name] = wanted
    return assign_ids(story_names, fixed)


def _starting_values(
    passage: Passage, draft: Draft, defaults: dict[str, Value], problems: list[TweeProblem]
) -> None:
    """Add the constant effects of an init passage (StoryInit, startup) to ``defaults``."""
    for variable, value, line in draft.effects:
        constant = value if not isinstance(value, str) else constant_value(value, defaults)
        if constant is None:
            problems.append(
                passage.problem(
                    f"the starting value of {variable} is not a constant; used its type's zero",
                    line,
                )
            )
            continue
        defaults[variable] = constant
    problems.append(
        passage.problem(
            f"read {len(draft.effects)} starting values from this passage; it is not a story node"
        )
    )


def _story_fields(
    by_name: dict[str, Passage],
    settings: Passage | None,
    fallback_title: str,
    problems: list[TweeProblem],
) -> tuple[dict[str, Any], dict[str, Value]]:
    """The story's own fields (StoryTitle, StoryAuthor, an export's settings) and its variables."""
    title, author = fallback_title, None
    if "StoryTitle" in by_name and by_name["StoryTitle"].text.strip():
        title = " ".join(by_name["StoryTitle"].text.split())
    if "StoryAuthor" in by_name and by_name["StoryAuthor"].text.strip():
        author = " ".join(by_name["StoryAuthor"].text.split())
    story: dict[str, Any] = {"format": FORMAT, "id": slugify(title)[:80], "title": title}
    if author:
        story["author"] = author
    if settings is None:
        return story, {}
    values, variables = _read_settings(settings, problems)
    story.update((key, values[key]) for key in _SETTINGS_KEYS if key in values)
    if values.get("experiments"):
        story["experiments"] = values["experiments"]
    if values.get("profile"):
        story["profile"] = values["profile"]
    return story, variables


def _is_code_passage(passage: Passage) -> bool:
    return passage.name in ("StoryTitle", "StoryData") or bool(
        {"script", "stylesheet"} & set(passage.tags)
    )


def _special(passage: Passage, dialect: str) -> str:
    """What a passage is: "story", "init" (starting values), or something that is not a node."""
    tags = set(passage.tags)
    name = passage.name
    if name in ("StoryTitle", "StoryData", "StoryAuthor") or SETTINGS_TAG in tags:
        return "meta"
    if "script" in tags:
        return "script"
    if "stylesheet" in tags:
        return "stylesheet"
    if any(tag.startswith("Twine.") for tag in tags):
        return "media"
    if dialect == "native":
        return "story"
    if name in ("StorySettings", "StoryIncludes"):
        return "special"
    if dialect == "sugarcube":
        if name == "StoryInit" or "init" in tags:
            return "init"
        if name in _SUGARCUBE_SPECIAL or "widget" in tags:
            return "special"
    if dialect == "harlowe":
        if tags & {"startup", "debug-startup"}:
            return "init"
        if tags & _HARLOWE_SPECIAL_TAGS:
            return "special"
    return "story"


def _story_data(passage: Passage | None, problems: list[TweeProblem]) -> dict[str, Any]:
    if passage is None:
        return {}
    try:
        data = loads(passage.text)
    except JsonInputError as exc:
        problems.append(
            passage.problem(
                f"could not decode StoryData ({exc}); discarded it and went on, as the Twee 3 "
                "specification recommends",
                passage.line + (exc.line or 1),
            )
        )
        return {}
    if not isinstance(data, dict):
        problems.append(passage.problem("StoryData is not a JSON object; discarded it"))
        return {}
    if not isinstance(data.get("ifid"), str) or not data.get("ifid"):
        problems.append(
            passage.problem("StoryData has no ifid (the specification requires one); ignored")
        )
    return data


def _choose_start(
    option: str | None,
    data: dict[str, Any],
    by_name: dict[str, Passage],
    story_names: list[str],
    problems: list[TweeProblem],
) -> str | None:
    names = set(story_names)
    if option is not None:
        if option in names:
            return option
        problems.append(TweeProblem("error", f'--start names no story passage: "{option}"'))
        return None
    wanted = data.get("start")
    if isinstance(wanted, str):
        if wanted in names:
            return wanted
        where = by_name.get("StoryData")
        problems.append(
            TweeProblem(
                "warning",
                f'StoryData names the start passage "{wanted}", which is not a story passage',
                where.file if where else "",
                where.line if where else None,
            )
        )
    if "Start" in names:
        return "Start"
    first = by_name[story_names[0]]
    problems.append(
        first.problem(
            "no StoryData start and no passage named Start: the story starts at the first "
            "passage, as Twine does when its start passage is gone (choose with --start)"
        )
    )
    return story_names[0]


def _node_clause(text: str, key: str) -> str | None:
    scanned, link_on_line = 0, False  # one pass: comments come in order
    for start, body in comments(text):
        newline = text.rfind("\n", scanned, start)
        if newline >= 0:
            scanned, link_on_line = newline + 1, False
        link_on_line = link_on_line or text.find("[[", scanned, start) >= 0
        scanned = start
        note = BRANCHING_NOTE.match(body)
        if not note:
            continue
        clauses = parse_clauses(body[note.end() :])
        if link_on_line or any(clause == "to" for clause, _ in clauses):
            continue  # a link's comment
        for clause, value in clauses:
            if clause == key:
                return clause_text(value)
    return None


def _read_settings(
    passage: Passage, problems: list[TweeProblem]
) -> tuple[dict[str, Any], dict[str, Value]]:
    values: dict[str, Any] = {}
    variables: dict[str, Value] = {}
    for offset, line in enumerate(passage.text.split("\n"), 1):
        match = re.match(r"^((?:variable|profile|experiment)\s+\S+|[$\w]+):\s?(.*)$", line.strip())
        if not match:
            continue
        key, raw = match.group(1), match.group(2)
        value = clause_value(raw)
        if key.startswith(("variable ", "profile ")):
            kind, name = key.split(None, 1)
            if (
                isinstance(value, bool | int | float | str)
                and in_range(value)
                and VARIABLE_RE.match(name)
            ):
                if kind == "variable":
                    variables[name] = value
                else:  # the viewer's profile (docs/story-format.md): kept as it is
                    values.setdefault("profile", {})[name] = value
            else:
                problems.append(
                    passage.problem(
                        f"ignored the {kind} line {quoted(line.strip())}", passage.line + offset
                    )
                )
        elif key.startswith("experiment "):
            name = key.split(None, 1)[1]
            if isinstance(value, dict):
                values.setdefault("experiments", {})[name] = value
            else:
                problems.append(
                    passage.problem(
                        f"ignored the experiment line {line.strip()!r}", passage.line + offset
                    )
                )
        elif key in _SETTINGS_KEYS:
            values[key] = value if isinstance(value, str) else raw
    return values, variables


def _validate(raw: dict[str, Any], dead_ends: set[str]) -> list[TweeProblem]:
    """Problems the loader would report for the imported story: none, unless there is a bug
    (or a passage is a dead end, which the import reports as making the story unplayable)."""
    from pydantic import ValidationError

    from branching.story.checks import check_story

    problems: list[TweeProblem] = []
    try:
        Story.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False)[:10]:
            where = "/".join(str(part) for part in error["loc"])
            problems.append(
                TweeProblem("error", f"the imported story is invalid at {where}: {error['msg']}")
            )
    for problem in check_story(raw, warnings=False):
        if problem.code == "no-choices" and problem.node in dead_ends:
            continue
        if problem.severity == "error":
            problems.append(
                TweeProblem("error", f"the imported story is invalid: {problem.format('story')}")
            )
    return problems
