"""The players' own catalog (domain ``branching``): the template is current, every shipped
language is complete with matching placeholders and CLDR plural forms, and the catalog loads
from the package."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from branching.play import i18n

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "branching" / "locale"
TEMPLATE = LOCALE / "branching.pot"
LANGUAGES = sorted(path.parent.parent.name for path in LOCALE.glob("*/LC_MESSAGES/branching.po"))
#: Textual markup in a string of the full-screen player: its ``$name`` substitutions and tags.
MARKUP = re.compile(r"\$[a-z_]+|\[/?[a-z]*\]")


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def keys(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(message.id, message.context) for message in catalog if message.id}


def documented_extract_command() -> list[str]:
    """The ``pybabel extract`` line that docs/translating.md tells maintainers to run."""
    doc = (ROOT / "docs" / "translating.md").read_text(encoding="utf-8")
    lines = [line for line in doc.splitlines() if line.startswith("pybabel extract ")]
    assert len(lines) == 1, "docs/translating.md should give one `pybabel extract` command"
    return shlex.split(lines[0])


def test_the_template_holds_every_marked_string(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extracting again (the documented command) gives the shipped template's strings: a
    viewer-facing string added, changed or removed without `pybabel extract` fails here."""
    argv = documented_extract_command()
    out = argv.index("-o") + 1
    argv[out] = str(tmp_path / "fresh.pot")
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run([argv[0], "--quiet", *argv[1:]])
    fresh, shipped = read(tmp_path / "fresh.pot"), read(TEMPLATE)
    added = keys(fresh) - keys(shipped)
    removed = keys(shipped) - keys(fresh)
    assert not added and not removed, (
        f"branching/locale/branching.pot is out of date (run the commands in "
        f"docs/translating.md): new {sorted(map(str, added))}, gone {sorted(map(str, removed))}"
    )
    for message in fresh:
        if message.id:
            assert shipped[message.id].flags == message.flags, message.id


def test_a_french_catalog_ships() -> None:
    assert "fr" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_is_complete_and_current(language: str) -> None:
    catalog = read(LOCALE / language / "LC_MESSAGES" / "branching.po", language)
    assert keys(catalog) == keys(read(TEMPLATE)), "run `pybabel update` (docs/translating.md)"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: not translated: {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy: {message.id!r}"
        if message.pluralizable:
            assert len(strings) == catalog.num_plurals, message.id


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language: str) -> None:
    """Babel's checkers (python-format placeholders, the number of plural forms), and the
    ``$name``s and markup tags of the full-screen player's strings."""
    catalog = read(LOCALE / language / "LC_MESSAGES" / "branching.po", language)
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert problems == []
    for message in catalog:
        if not message.id or not isinstance(message.id, str):
            continue
        assert isinstance(message.string, str)
        assert sorted(MARKUP.findall(message.string)) == sorted(MARKUP.findall(message.id)), (
            message.id
        )


def python_format_names(message: Message) -> list[set[str]]:
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    return [set(re.findall(r"%\((\w+)\)", text)) for text in ids]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_keeps_the_named_placeholders(language: str) -> None:
    """Each translation (each plural form) uses exactly the names of its source, so ``%``
    with the player's values never raises and nothing is dropped."""
    catalog = read(LOCALE / language / "LC_MESSAGES" / "branching.po", language)
    for message in catalog:
        if not message.id or not message.python_format:
            continue
        singular, *plural = python_format_names(message)
        wanted = singular | (plural[0] if plural else set())
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            names = set(re.findall(r"%\((\w+)\)", text))
            # A singular form may leave out the count ("Type 1"): never add one.
            assert names <= wanted and (names >= singular - {"count"}), (message.id, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_are_cldr(language: str) -> None:
    """The header's Plural-Forms is Babel's for the language, and picks the form of the CLDR
    category for every count a player shows (0 to 2,000, and millions)."""
    catalog = read(LOCALE / language / "LC_MESSAGES" / "branching.po", language)
    plural = get_plural(language)
    assert catalog.plural_forms == f"nplurals={plural.num_plurals}; plural={plural.plural_expr};"
    rule = Locale.parse(language).plural_form
    order = [tag for tag in ("zero", "one", "two", "few", "many", "other") if tag in rule.tags]
    order.append("other")
    compiled = i18n.translations(language)
    for n in [*range(2001), 10**6, 2 * 10**6, 5 * 10**6 + 1]:
        assert order[compiled.plural(n)] == rule(n), n  # type: ignore[attr-defined]


def test_the_catalog_loads_and_falls_back_to_english() -> None:
    with i18n.speaking("fr-CA") as name:
        assert name == "fr"
        assert i18n._("Quit?") == "Quitter\u202f?"
        assert i18n._("%(seconds)d s") % {"seconds": 2} == "2\u00a0s"
    assert i18n._("Quit?") == "Quit?"
    for tag in ("en", "en-GB", "de", "xx-bogus", "../../etc", ""):
        with i18n.speaking(tag) as name:
            assert name == "en"
            assert i18n._("Quit?") == "Quit?"


def test_either_follows_the_language() -> None:
    assert i18n.either(["x", "y", "z"]) == "x, y or z"
    with i18n.speaking("fr"):
        assert i18n.either(["x", "y", "z"]) == "x, y ou z"
        assert i18n.number(1234) == "1\u202f234"


def test_fuzzy_entries_are_not_shown(tmp_path: Path) -> None:
    po = (
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Quit?"\nmsgstr "Partir ?"\n\nmsgid "Stay (n)"\nmsgstr "Rester (n)"\n'
    )
    compiled = i18n._compile(po.encode(), "fr")
    assert compiled.gettext("Quit?") == "Quit?"
    assert compiled.gettext("Stay (n)") == "Rester (n)"


def test_catalogs_are_package_resources() -> None:
    """The player finds its catalogs through importlib.resources (an editable install, a
    wheel: hatch ships every file under branching/)."""
    assert i18n.catalog_path("fr").is_file()
    assert i18n.catalog_path("fr").read_bytes().startswith(b"# French")
