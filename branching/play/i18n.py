"""The players' own words in the viewer's language: gettext, domain ``branching``.

Every viewer-facing string of the players (prompts, keys, the ending screen, notices) is
marked with :func:`_` (or :func:`ngettext` for counts, :func:`N_` where a constant is
translated later, where it is shown). Babel extracts them into ``branching/locale/branching.pot``
(docs/translating.md, "Translating branching itself"); each language's catalog is
``branching/locale/LANG/LC_MESSAGES/branching.po``, shipped inside the package.

The catalog is read at run time from the ``.po`` with Babel's reader and handed to gettext as
a compiled catalog in memory, so an editable install, a wheel and ``branching serve`` all load
the same file and nobody has to remember to compile it. Plural forms are the catalog header's
``Plural-Forms``, which Babel writes from the CLDR rules (a test holds them to CLDR). English
is the source language: it loads nothing (not even Babel). A language without a catalog, and
a tag that is not a language, fall back to English.

A process plays one language at a time (the plain player, the Textual app, one ``serve``
child per browser tab), so the active catalog is process-wide: :func:`use_language`.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

#: The gettext domain: ``branching/locale/*/LC_MESSAGES/branching.po``.
DOMAIN = "branching"
#: The language the players' words are written in.
SOURCE_LANGUAGE = "en"

_active: gettext.NullTranslations = gettext.NullTranslations()
#: The language of :data:`_active` (its catalog's name, e.g. ``fr``).
_language = SOURCE_LANGUAGE


def _(message: str) -> str:
    """``message`` in the viewer's language."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message that ``n`` takes in the viewer's language (CLDR rules)."""
    return _active.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the viewer's language, for a short word that needs a context."""
    return _active.pgettext(context, message)


def N_(message: str) -> str:
    """Marks a constant for extraction; it is translated with :func:`_` where it is shown."""
    return message


def either(items: Sequence[str]) -> str:
    """``x, y or z`` in the viewer's language (CLDR's list patterns, from Babel).

    >>> either(["x"]), either(["x", "y", "z"])
    ('x', 'x, y or z')
    """
    if len(items) < 2:
        return "".join(items)
    if _language == SOURCE_LANGUAGE:
        return ", ".join(items[:-1]) + " or " + items[-1]
    from babel.lists import format_list

    return str(format_list(list(items), style="or", locale=_language))


def number(value: int) -> str:
    """A count written the viewer's way: ``1,234`` in English, ``1\u202f234`` in French."""
    if _language == SOURCE_LANGUAGE:
        return f"{value:,}"
    from branching.story.locales import format_number

    return format_number(_language, value)


def current_language() -> str:
    """The language the players speak now (a catalog's name: ``en``, ``fr``, ``pt_BR``)."""
    return _language


def catalog_path(language: str) -> resources.abc.Traversable:
    """Where the catalog of ``language`` (``fr``, ``pt_BR``) is inside the package."""
    return resources.files("branching") / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _names(tag: str) -> list[str]:
    """Catalog names to try for a BCP 47 tag, most specific first: ``fr-CA`` -> fr_CA, fr."""
    parts = tag.replace("-", "_").split("_")
    if not tag or not all(part.isascii() and part.isalnum() for part in parts):
        return []
    parts[0] = parts[0].lower()
    return list(dict.fromkeys("_".join(parts[:n]) for n in range(len(parts), 0, -1)))


def catalog_name(tag: str) -> str:
    """The catalog that speaks ``tag`` (``fr-CA`` -> ``fr`` while only French exists);
    :data:`SOURCE_LANGUAGE` when none does."""
    for name in _names(tag):
        if name.split("_")[0] == SOURCE_LANGUAGE:
            break
        if catalog_path(name).is_file():
            return name
    return SOURCE_LANGUAGE


@lru_cache(maxsize=8)
def translations(name: str) -> gettext.NullTranslations:
    """The players' catalog named ``name`` (see :func:`catalog_name`)."""
    if name == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return _compile(catalog_path(name).read_bytes(), name)


def _compile(data: bytes, name: str) -> gettext.NullTranslations:
    # Babel reads the PO (never a parser of our own); the MO it writes goes straight to
    # gettext, in memory. Fuzzy entries are left out, as msgfmt does.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    catalog = read_po(io.BytesIO(data), locale=name, domain=DOMAIN, abort_invalid=True)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def use_language(tag: str | None) -> str:
    """Speak ``tag`` from now on (``None``: English), the language chosen for the story;
    returns the catalog's name (:data:`SOURCE_LANGUAGE` when the players do not speak it)."""
    global _active, _language
    name = catalog_name(tag) if tag else SOURCE_LANGUAGE
    _active, _language = translations(name), name
    return name


@contextmanager
def speaking(tag: str | None) -> Iterator[str]:
    """Speak ``tag`` inside the block (tests, a one-off message), then what was spoken before."""
    global _active, _language
    before = _active, _language
    try:
        yield use_language(tag)
    finally:
        _active, _language = before
