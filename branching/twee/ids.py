"""Names and ids: node ids for passage names (import) and passage names for nodes (export)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from branching.story.model import ID_PATTERN, VARIABLE_PATTERN, Story
from branching.twee.clauses import SETTINGS_NAME

ID_RE = re.compile(ID_PATTERN)
VARIABLE_RE = re.compile(VARIABLE_PATTERN)


def slugify(name: str) -> str:
    """A node id for a passage name: lower case, accents removed, other runs of characters ``-``.

    >>> slugify("Cloakroom Hook"), slugify("Ça va? Très bien!"), slugify("hang_cloak")
    ('cloakroom-hook', 'ca-va-tres-bien', 'hang_cloak')
    """
    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9_]+", "-", folded).strip("-")[:80].strip("-")
    if not slug or not ID_RE.match(slug):
        import hashlib

        slug = "passage-" + hashlib.sha1(name.encode()).hexdigest()[:8]
    return slug


def assign_ids(names: Sequence[str], fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Distinct ids for passage names, deterministic in the given order (``-2``, ``-3`` on clashes).

    ``fixed`` maps names to ids chosen beforehand (from export comments); they win.

    >>> assign_ids(["Foyer", "foyer", "Bar"])
    {'Foyer': 'foyer', 'foyer': 'foyer-2', 'Bar': 'bar'}
    """
    fixed = fixed or {}
    taken = set(fixed.values())
    ids: dict[str, str] = {}
    for name in names:
        if name in fixed:
            ids[name] = fixed[name]
            continue
        base = slugify(name)
        candidate, number = base, 2
        while candidate in taken:
            candidate = f"{base}-{number}"
            number += 1
        taken.add(candidate)
        ids[name] = candidate
    return ids


_UNSAFE_NAME = str.maketrans("[]{}|\\", "()()//")
_RESERVED_NAMES = {"StoryTitle", "StoryData", "StoryAuthor", SETTINGS_NAME}


def passage_names(story: Story) -> dict[str, str]:
    """A distinct, link-safe Twine passage name for every node: its title, else its id."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    titles: dict[str, int] = {}
    for node in story.nodes.values():
        if node.title:
            titles[node.title] = titles.get(node.title, 0) + 1
    for node_id, node in story.nodes.items():
        base = node.title if node.title and titles[node.title] == 1 else None
        name = _safe_name(base) if base else node_id
        if not name or name in taken or name in _RESERVED_NAMES:
            name = (
                f"{_safe_name(node.title)} ({node_id})"
                if node.title and _safe_name(node.title)
                else node_id
            )
        number = 2
        while name in taken or name in _RESERVED_NAMES:
            name = f"{node_id} ({number})"
            number += 1
        taken.add(name)
        names[node_id] = name
    return names


def _safe_name(title: str) -> str:
    """A title made safe for Twine links and headers: no brackets, braces, bars or arrows."""
    name = title.replace("->", "-").replace("<-", "-")
    name = name.translate(_UNSAFE_NAME)
    return " ".join(name.split())
