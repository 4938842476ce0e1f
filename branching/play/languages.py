"""Which language a playthrough is shown in, and where its translation comes from.

``branching play --lang fr`` (or the viewer's locale: ``LANGUAGE``, ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, as gettext reads them) looks for ``STORY.fr.po`` next to the story
(``demo.json`` -> ``demo.fr.po``; ``demo.fr-CA.po`` or ``demo.fr_CA.po`` first for ``fr_CA``);
``--translations FILE`` names the file instead. Strings the translation lacks are shown in the
story's own language, with one notice saying how many.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from branching.play.i18n import _, ngettext, number, speaking
from branching.story import locales
from branching.story.model import Story
from branching.story.po import PoReadError
from branching.story.translation import Translation, load_translation
from branching.story.untrusted import printable

#: Environment variables naming the viewer's language, in gettext's order of precedence.
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


class LanguageError(Exception):
    """The viewer asked for a translation that cannot be used (``str()`` says why)."""


@dataclass
class LanguageChoice:
    """The language to show, its translation (None: the story's own words), notices."""

    language: str
    translation: Translation | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def strings(self) -> dict[str, str]:
        return self.translation.strings if self.translation is not None else {}


def environment_languages(environ: Mapping[str, str] | None = None) -> list[str]:
    """The viewer's languages from the locale variables, most wanted first, as BCP 47 tags.

    ``LANGUAGE`` is a priority list, as gettext reads it (``de:fr``: German, else French).

    >>> environment_languages({"LANGUAGE": "de:fr_FR:", "LANG": "en_US.UTF-8"})
    ['de', 'fr-FR']
    >>> environment_languages({"LC_ALL": "C", "LANG": "de_DE"})
    []
    """
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name, "")
        if not value:
            continue
        names = value.split(":") if name == "LANGUAGE" else [value]
        tags = [n.split(".")[0].split("@")[0].replace("_", "-") for n in names]
        tags = [tag for tag in dict.fromkeys(tags) if tag]
        if not tags:
            continue  # LANGUAGE=":" names nothing
        if tags[0] in ("C", "POSIX"):
            return []  # gettext: the first of LC_ALL, LC_MESSAGES, LANG that is set decides
        return tags
    return []


def environment_language(environ: Mapping[str, str] | None = None) -> str | None:
    """The viewer's first language from the locale variables, as a BCP 47 tag, or None.

    >>> environment_language({"LANG": "fr_CA.UTF-8"})
    'fr-CA'
    >>> environment_language({"LANGUAGE": "pt_BR:pt", "LANG": "C.UTF-8"})
    'pt-BR'
    >>> environment_language({"LC_ALL": "C", "LANG": "de_DE"}) is None
    True
    """
    return next(iter(environment_languages(environ)), None)


def check_requested(tag: str) -> None:
    """:class:`LanguageError` (``--lang: unknown language ...``) unless ``tag`` names a
    language: the one check of ``--lang`` for every command that takes it. A locale's
    spelling (``fr_CA``) is taken as the tag it names (``fr-CA``), as reports match it."""
    try:
        locales.check_language(tag.replace("_", "-"))
    except locales.LanguageError as exc:
        raise LanguageError(f"--lang: {exc}") from None


def candidates(story_path: str | Path, tag: str) -> list[Path]:
    """Where a translation into ``tag`` of the story file may be, most specific first.

    >>> [p.name for p in candidates("stories/demo.json", "fr-CA")]
    ['demo.fr-CA.po', 'demo.fr_CA.po', 'demo.fr.po']
    """
    path = Path(story_path)
    names = [tag, tag.replace("-", "_"), locales.primary(tag)]
    return [path.with_name(f"{path.stem}.{name}.po") for name in dict.fromkeys(names)]


def choose_language(
    story: Story,
    story_path: str | Path,
    *,
    requested: str | None,
    explicit: bool,
    translations: str | Path | None = None,
    fallbacks: Sequence[str] = (),
) -> LanguageChoice:
    """The language and translation for a playthrough of ``story``.

    ``requested`` is ``--lang`` (``explicit``) or the environment's language; ``fallbacks``
    the environment's next languages, tried in order when ``requested`` has no translation
    (``LANGUAGE=de:fr``). Raises
    :class:`LanguageError` for an explicit request that cannot work (an unknown language, a
    ``--translations`` file that cannot be read).
    """
    source = story.language or locales.DEFAULT_LANGUAGE
    if translations is not None:
        try:
            translation = load_translation(story, translations, requested)
        except PoReadError as exc:
            raise LanguageError(str(exc)) from None
        return _with_notice(LanguageChoice(translation.language, translation), source)
    if not explicit:
        requested = _first_available(story_path, source, [requested or "", *fallbacks])
    if requested is None:
        return LanguageChoice(source)
    requested = requested.replace("_", "-")  # a locale's spelling of the tag
    if explicit:
        check_requested(requested)
    if locales.same_language(requested, source):
        return LanguageChoice(source)
    found = next((path for path in candidates(story_path, requested) if path.is_file()), None)
    if found is None:
        choice = LanguageChoice(source)
        if explicit:
            with speaking(source) as words:
                choice.notices.append(
                    _(
                        "This story has no %(language)s translation (looked for %(file)s); it is "
                        "shown in %(source)s."
                    )
                    % {
                        "language": locales.language_name(requested, words),
                        # The story's file name: it may hold control characters.
                        "file": printable(
                            candidates(story_path, requested)[-1].name, one_line=True
                        ),
                        "source": locales.language_name(source, words),
                    }
                )
        return choice
    try:
        translation = load_translation(story, found, requested)
    except PoReadError as exc:
        choice = LanguageChoice(source)
        with speaking(source) as words:
            choice.notices.append(
                _("The translation cannot be read (%(reason)s); the story is shown in %(source)s.")
                % {"reason": exc, "source": locales.language_name(source, words)}
            )
        return choice
    return _with_notice(LanguageChoice(translation.language, translation), source)


def _first_available(story_path: str | Path, source: str, tags: Sequence[str]) -> str | None:
    """The first of the environment's languages the story can be shown in: its own, or one
    with a translation file (gettext's order); None when there is none."""
    for tag in tags:
        try:
            locales.check_language(tag)  # the environment may hold anything
        except locales.LanguageError:
            continue
        if locales.same_language(tag, source) or any(
            path.is_file() for path in candidates(story_path, tag)
        ):
            return tag
    return None


def _with_notice(choice: LanguageChoice, source: str) -> LanguageChoice:
    translation = choice.translation
    if translation is not None and translation.missing:
        count, broken = translation.missing, translation.broken
        with speaking(translation.language) as words:
            values = {
                "count": number(count),
                "total": number(translation.total),
                "broken": number(broken),
                "language": locales.language_name(translation.language, words),
                "source": locales.language_name(source, words),
            }
            if broken:
                notice = ngettext(
                    "%(count)s of %(total)s strings is not translated into %(language)s yet "
                    "(%(broken)s of them with errors: run `branching i18n check`); it is shown "
                    "in %(source)s.",
                    "%(count)s of %(total)s strings are not translated into %(language)s yet "
                    "(%(broken)s of them with errors: run `branching i18n check`); they are "
                    "shown in %(source)s.",
                    count,
                )
            else:
                notice = ngettext(
                    "%(count)s of %(total)s strings is not translated into %(language)s yet; it "
                    "is shown in %(source)s.",
                    "%(count)s of %(total)s strings are not translated into %(language)s yet; "
                    "they are shown in %(source)s.",
                    count,
                )
            choice.notices.append(notice % values)
    return choice
