"""Languages: BCP 47 tags, CLDR plural categories and number formats, all from Babel.

Plural rules are never written by hand here: Babel carries the Unicode CLDR data
(``Locale.plural_form``), so ``{n, plural, ...}`` picks the same form as every other tool a
translator uses. ``import babel`` costs about 0.15 s, so it is imported on first use only:
validating or playing a story without plurals or a ``language`` never loads it.

>>> plural_category("en", 1), plural_category("en", 2), plural_category("fr", 0)
('one', 'other', 'one')
>>> format_number("fr", 1234567)
'1\\u202f234\\u202f567'
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel import Locale

#: The language of a story that names none.
DEFAULT_LANGUAGE = "en"
#: Every CLDR plural category, in CLDR's order.
CATEGORIES = ("zero", "one", "two", "few", "many", "other")
#: Whole numbers up to this one are "everyday" counts: a category that one of them needs is
#: one a translation must not leave out (see :func:`everyday_categories`).
EVERYDAY_LIMIT = 1000
#: Longest language tag accepted (BCP 47 tags in use are far shorter).
MAX_TAG = 64


class LanguageError(ValueError):
    """A language tag Babel does not know (or that is not a tag at all)."""


@lru_cache(maxsize=256)
def _locale(tag: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    if not tag or len(tag) > MAX_TAG or not tag.isascii() or not tag.replace("-", "").isalnum():
        raise LanguageError(f"{tag!r} is not a BCP 47 language tag (e.g. en, fr, pt-BR)")
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError) as exc:
        raise LanguageError(f"unknown language {tag!r} ({exc})") from None


def check_language(tag: str) -> str:
    """The tag's language as Babel names it (``pt_BR``); :class:`LanguageError` if unknown.

    >>> check_language("pt-BR"), check_language("fr")
    ('pt_BR', 'fr')
    >>> check_language("klingon")
    Traceback (most recent call last):
    ...
    branching.story.locales.LanguageError: unknown language 'klingon' (...)
    """
    return str(_locale(tag))


def language_name(tag: str, in_language: str = DEFAULT_LANGUAGE) -> str:
    """The language's name in ``in_language`` (English by default), for messages; the tag
    itself when unknown.

    >>> language_name("fr"), language_name("pt-BR"), language_name("??")
    ('French', 'Portuguese (Brazil)', '??')
    >>> language_name("de", "fr"), language_name("fr", "fr")
    ('allemand', 'français')
    """
    try:
        if in_language == DEFAULT_LANGUAGE:
            return str(_locale(tag).english_name)
        return str(_locale(tag).get_display_name(_locale_or_default(in_language)))
    except LanguageError:
        return tag


def same_language(a: str, b: str) -> bool:
    """True when two tags name the same language (``fr`` and ``fr-FR`` count as the same).

    >>> same_language("fr", "fr-FR"), same_language("en", "fr"), same_language("pt_BR", "pt-BR")
    (True, False, True)
    """
    return primary(a) == primary(b)


def primary(tag: str) -> str:
    """The primary language subtag, lower case: ``pt-BR`` -> ``pt``.

    >>> primary("pt-BR"), primary("zh_Hant_TW"), primary("EN")
    ('pt', 'zh', 'en')
    """
    return tag.replace("_", "-").split("-", 1)[0].lower()


def _locale_or_default(tag: str) -> Locale:
    try:
        return _locale(tag)
    except LanguageError:  # validation reports it; play on with the default's rules
        return _locale(DEFAULT_LANGUAGE)


@lru_cache(maxsize=4096, typed=True)  # as format_number
def plural_category(tag: str, number: int | float) -> str:
    """The CLDR plural category of ``number`` in the language ``tag``."""
    return str(_locale_or_default(tag).plural_form(abs(number)))


@lru_cache(maxsize=256)
def categories(tag: str) -> frozenset[str]:
    """Every plural category the language uses, ``other`` included.

    >>> sorted(categories("en")), sorted(categories("pl"))
    (['one', 'other'], ['few', 'many', 'one', 'other'])
    """
    return frozenset(_locale_or_default(tag).plural_form.tags) | {"other"}


@lru_cache(maxsize=256)
def everyday_categories(tag: str) -> frozenset[str]:
    """The categories that some whole number from 0 to 1,000 needs in the language, and
    ``other`` (which ICU always requires).

    A translation that leaves one of these out shows ``other`` where the language wants
    another form (Polish "5 rakiet", not "5 rakiety"); the rest (French ``many``, for "un
    million de") only matter for very large or decimal numbers.

    >>> sorted(everyday_categories("fr")), sorted(everyday_categories("ru"))
    (['one', 'other'], ['few', 'many', 'one', 'other'])
    """
    rule = _locale_or_default(tag).plural_form
    return frozenset(str(rule(n)) for n in range(EVERYDAY_LIMIT + 1)) | {"other"}


def warm_up(tag: str) -> None:
    """Load Babel and the language's data now (a player calls it in a background thread, so
    the first plural does not pause the story for the 0.2 s Babel takes to import)."""
    categories(tag)
    format_number(tag, 1)


# Cached: a story shows the same few numbers over and over, and Babel takes tens of µs for each.
# ``typed``: 1, 1.0 and True are equal keys otherwise, and need not read the same.
@lru_cache(maxsize=4096, typed=True)
def format_number(tag: str, number: int | float) -> str:
    """``number`` written the language's way (the ``#`` of a plural): ``1,234`` in English."""
    from babel.numbers import format_decimal

    return str(format_decimal(number, locale=_locale_or_default(tag)))
