"""The nearest existing node id or variable for a misspelt one, for "did you mean" hints."""

from __future__ import annotations

from collections.abc import Collection


class Suggestions:
    """The nearest existing id or variable for a misspelt one, as field names get in the loader.

    Lookups are cached. Each misspelt name is compared with every id (difflib) while that
    stays cheap; past a budget for the whole story (a file full of broken links, each compared
    with thousands of ids, was quadratic: 4,000 of them took 80 s), candidates are first
    narrowed to those one edit (deletion, insertion, substitution or swap) away through an index
    of their one-character deletions, so the check stays linear in the story.

    >>> hint = Suggestions({"cellar": {}, "hall": {}}, {"gold": "number"})
    >>> hint.node("celar"), hint.node("zzz")
    ('; did you mean "cellar"?', '')
    >>> hint.variable("gld", "declare it")
    'did you mean "gold"? (or declare it)'
    """

    #: Characters compared (name length x pool size, summed) before lookups use the index.
    BUDGET = 2_000_000
    #: Ids longer than this are not indexed (their deletions would cost length squared).
    INDEXED_LENGTH = 64
    #: At most this many candidates from the index are compared for one name.
    CANDIDATES = 50
    CUTOFF = 0.75

    def __init__(
        self, nodes: Collection[str], kinds: Collection[str], endings: Collection[str] = ()
    ) -> None:
        self._pools: dict[str, list[str]] = {
            "node": list(nodes),
            "variable": list(kinds),
            "ending": list(endings),
        }
        self._sizes = {kind: sum(map(len, pool)) for kind, pool in self._pools.items()}
        self._deletions: dict[str, dict[str, list[str]]] = {}
        self._cache: dict[tuple[str, str], str | None] = {}
        self._spent = 0

    def node(self, name: str) -> str:
        found = self._nearest("node", name)
        return f'; did you mean "{found}"?' if found else ""

    def ending(self, name: str) -> str:
        """``; did you mean "lighthouse"?`` naming the nearest ending node, or ``""``."""
        found = self._nearest("ending", name)
        return f'; did you mean "{found}"?' if found else ""

    def variable(self, name: str, otherwise: str) -> str:
        """``did you mean "gold"? (or OTHERWISE)``, or just ``OTHERWISE``."""
        found = self._nearest("variable", name)
        return f'did you mean "{found}"? (or {otherwise})' if found else otherwise

    def _nearest(self, kind: str, name: str) -> str | None:
        key = (kind, name)
        if key not in self._cache:
            import difflib

            pool = self._candidates(kind, name)
            close = difflib.get_close_matches(name, pool, n=1, cutoff=self.CUTOFF)
            self._cache[key] = close[0] if close else None
        return self._cache[key]

    def _candidates(self, kind: str, name: str) -> list[str]:
        pool = self._pools[kind]
        cost = len(name) * len(pool) + self._sizes[kind]
        if self._spent + cost <= self.BUDGET:
            self._spent += cost
            return pool
        if len(name) > self.INDEXED_LENGTH:
            return []
        index = self._deletions.get(kind)
        if index is None:
            index = self._deletions[kind] = {}
            for known in pool:
                if len(known) <= self.INDEXED_LENGTH:
                    for variant in _one_deleted(known):
                        index.setdefault(variant, []).append(known)
        found: dict[str, None] = {}
        for variant in _one_deleted(name):
            for known in index.get(variant, ())[: self.CANDIDATES]:
                found[known] = None
            if len(found) >= self.CANDIDATES:
                break
        return list(found)


def _one_deleted(word: str) -> set[str]:
    """``word`` and every string made by deleting one of its characters."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
