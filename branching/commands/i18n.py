"""``branching i18n``: translations of a story as gettext PO files (extract, update, check)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from branching.commands._options import OutputPath

if TYPE_CHECKING:
    from collections.abc import Iterator

    from babel.messages.catalog import Catalog

    from branching.story.model import Story
    from branching.story.strings import StoryString


@click.group("i18n")
def i18n_group() -> None:
    """Translate a story: extract its strings, merge changes, check a translation.

    \b
    branching i18n extract STORY -o story.pot      template for translators' tools
    branching i18n update STORY STORY.fr.po        create or refresh the French file
    branching i18n check STORY STORY.fr.po         what the translator must still fix
    branching play STORY --lang fr                 play it in French

    See docs/translating.md.
    """


def _story_and_lines(path: str) -> tuple[Story, dict[str, int]]:
    from branching.commands._io import load_story_or_exit
    from branching.story.json_input import InputTooLarge, read_limited
    from branching.story.strings import story_strings, string_lines

    # Read once: a second read of a pipe (<(...), a FIFO) found nothing, or waited for ever.
    try:
        data: bytes | None = read_limited(path)
    except (OSError, InputTooLarge):
        data = None  # the loader reads it again to say why, and exits
    story = load_story_or_exit(path, "translated", data)
    text = (data or b"").decode("utf-8-sig")
    return story, string_lines(text, list(story_strings(story)))


def _template(story_path: str) -> tuple[Story, Catalog, dict[str, int]]:
    from branching.story import locales, po
    from branching.story.strings import story_strings

    story, lines = _story_and_lines(story_path)
    catalog = po.template(
        story_strings(story),
        story_file=Path(story_path).name,
        lines=lines,
        source_language=story.language or locales.DEFAULT_LANGUAGE,
        title=story.title,
        version=story.version,
    )
    return story, catalog, lines


@i18n_group.command("extract")
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False),
    help="Write the template here (default: stdout).",
)
def extract(story: str, output: str | None) -> None:
    """Write the translation template (POT) of STORY: every title, text and label.

    Each entry's msgctxt names the string (node/cellar/text, node/cellar/choice/open/label,
    ...), its msgid is the story's words and its reference the story file and line.
    Exit status: 0 written, 1 the story has errors or the output cannot be written, 2 the
    story cannot be read.
    """
    from branching.commands._io import write_output
    from branching.story import po

    _, catalog, _ = _template(story)
    write_output(po.po_text(catalog, template=True).decode("utf-8"), output)


@i18n_group.command("update")
@click.argument("story", type=click.Path(dir_okay=False))
@click.argument("translation", type=click.Path(dir_okay=False))
@click.option("--lang", metavar="TAG", help="Language of a new file (default: from its name).")
def update(story: str, translation: str, lang: str | None) -> None:
    """Merge STORY's current strings into the TRANSLATION file (created when missing).

    Unchanged strings keep their translation; strings whose words changed keep it too, marked
    fuzzy with the old words shown for comparison; new strings are added empty, or with the
    translation of the same words elsewhere (a renamed passage), marked fuzzy; strings no
    longer in the story become obsolete entries. Translator comments are kept. The file is
    replaced atomically. Exit status: 0 done, 1 the story has errors or TRANSLATION cannot be
    written, 2 a file cannot be read or TRANSLATION is not a regular file (a FIFO, a device).
    """
    from branching.commands._io import shown
    from branching.story import locales, po
    from branching.story.translation import language_of

    path = Path(translation)
    name = shown(path)
    # Refused before anything reads it: a FIFO would be waited on, /dev/null read as an
    # empty file, and replacing either would turn a device into a file (run as root).
    kind = po.not_a_regular_file(path)
    if kind is not None:
        click.echo(
            f"{name}: cannot update it: it is {kind}, not a PO file (i18n update reads the "
            "file and replaces it with the merged translation)",
            err=True,
        )
        sys.exit(2)
    _, fresh, _ = _template(story)
    if path.exists():
        try:
            existing = po.read_catalog(po.read_bytes(path), translation)
            po.refuse_duplicate_contexts(existing, translation)
        except po.PoReadError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
        merged, counts = po.merge(existing, fresh)
        summary = (
            f"{name}: {counts['kept']} kept, {counts['changed']} changed (marked fuzzy), "
            f"{counts['added']} new"
            + (
                f" ({counts['reused']} filled from identical words, marked fuzzy)"
                if counts["reused"]
                else ""
            )
            + f", {counts['obsolete']} obsolete"
        )
    else:
        tag = lang or language_of(po.PoFile(translation, None))
        if tag is None:
            raise click.UsageError(
                f"{name} does not exist and its name gives no language: name it "
                "STORY.LANG.po (e.g. demo.fr.po) or pass --lang"
            )
        try:
            locales.check_language(tag)
        except locales.LanguageError as exc:
            raise click.UsageError(str(exc)) from None
        merged = po.new_catalog(fresh, tag)
        summary = f"{name}: new {locales.language_name(tag)} translation, {len(fresh)} strings"
    try:
        po.write_atomically(path, po.po_text(merged))
    except OSError as exc:
        state = "is unchanged" if path.exists() else "was not created"
        raise click.ClickException(
            f"Cannot write {name}: {exc.strerror or exc} ({name} {state})"
        ) from None
    click.echo(summary)


@i18n_group.command("check")
@click.argument("story", type=click.Path(dir_okay=False))
@click.argument("translation", type=click.Path(dir_okay=False))
@click.option("--lang", metavar="TAG", help="Language of the translation (default: its header).")
@click.option(
    "--allow-incomplete",
    is_flag=True,
    help="Missing, untranslated, fuzzy and outdated strings are warnings, not errors (work in "
    "progress).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def check(
    story: str, translation: str, lang: str | None, allow_incomplete: bool, output_format: str
) -> None:
    """Check the TRANSLATION (a PO file) of STORY, each problem at its line.

    Missing, untranslated, fuzzy and outdated strings; {...} blocks that do not parse, name
    unknown variables or differ from the source's values, variables and conditions; plurals
    without the forms the language needs; control characters. Exit status: 0 no errors
    (warnings allowed), 1 errors, 2 a file cannot be read. Codes: docs/translating.md.
    """
    from branching.commands._io import shown
    from branching.story import locales
    from branching.story.po import PoReadError, read_po_file
    from branching.story.translation import check_translation, language_of
    from branching.story.untrusted import json_text

    loaded, lines = _story_and_lines(story)
    try:
        po_file = read_po_file(translation)
    except PoReadError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    problems = check_translation(
        loaded,
        po_file,
        language=lang,
        allow_incomplete=allow_incomplete,
        story_file=story,
        story_lines=lines,
    )
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    if output_format == "json":
        click.echo(json_text([p.to_json() for p in problems], indent=2))
    else:
        for problem in problems:
            click.echo(problem.format())
        tag = language_of(po_file, lang)
        total = sum(1 for _ in _strings(loaded))
        done = sum(
            1
            for s in _strings(loaded)
            if (e := po_file.entries.get(s.context)) is not None
            and e.translation
            and not e.fuzzy
            and e.source == s.source
        )
        counts = f"{done:,} of {total:,} strings translated"
        tail = f", {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
        named = locales.language_name(tag) if tag else "language unknown"
        line = f"{shown(translation)}: {named}, {counts}{tail}"
        click.echo(line, err=bool(errors))
    sys.exit(1 if errors else 0)


def _strings(story: Story) -> Iterator[StoryString]:
    from branching.story.strings import story_strings

    return story_strings(story)
