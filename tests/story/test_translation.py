"""Translations as PO files: extract, update, check, and the hostile files translators send."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from branching.story import po
from branching.story.loader import load_story_bytes
from branching.story.model import Story
from branching.story.strings import story_strings
from branching.story.translation import (
    INCOMPLETE,
    check_translation,
    load_translation,
)

ROOT = Path(__file__).resolve().parents[2]

STORY: dict[str, Any] = {
    "format": "branching/1",
    "id": "hut",
    "title": "The Hut",
    "language": "en",
    "start": "hut",
    "variables": {"flares": 2, "mood": "calm", "lit": True},
    "nodes": {
        "hut": {
            "title": "The Hut",
            "text": "{flares, plural, one {# flare} other {# flares}} left. {lit: Warm.|Cold.}",
            "choices": [{"id": "go", "label": "Go out ({mood})", "to": "out"}],
        },
        "out": {"text": "Snow.", "ending": {"title": "Outside", "kind": "good"}},
    },
}
GOOD = {
    "story/title": "Le refuge",
    "node/hut/title": "Le refuge",
    "node/hut/text": "{flares, plural, one {# fusée restante} other {# fusées restantes}}. "
    "{lit: Il fait chaud.|Il fait froid.}",
    "node/hut/choice/go/label": "Sortir ({mood})",
    "node/out/text": "Neige.",
    "node/out/ending/title": "Dehors",
}


def story(data: dict[str, Any] | None = None) -> Story:
    result = load_story_bytes(json.dumps(data or STORY).encode())
    assert result.story is not None, result.problems
    return result.story


def write_po(
    path: Path, entries: dict[str, str], *, language: str | None = "fr", **extra: Any
) -> Path:
    """A PO file for ``STORY`` with these translations (others left empty)."""
    parsed = story(extra.pop("data", None))
    catalog = po.template(
        story_strings(parsed),
        story_file="s.json",
        lines={},
        source_language="en",
        title=parsed.title,
    )
    translated = po.new_catalog(catalog, language or "fr")
    for message in translated:
        if message.id:
            message.string = entries.get(str(message.context), "")
            if message.context in extra.get("fuzzy", ()):
                message.flags.add("fuzzy")
    data = po.po_text(translated)
    if language is None:
        data = re.sub(rb'"Language: [^"]*\\n"\n', b"", data)
    path.write_bytes(data)
    return path


def codes(problems: list[Any]) -> list[tuple[str, str | None]]:
    return [(p.code, p.context) for p in problems]


def test_a_complete_translation_passes_and_plays(tmp_path: Path) -> None:
    path = write_po(tmp_path / "hut.fr.po", GOOD)
    assert check_translation(story(), po.read_po_file(path)) == []
    translation = load_translation(story(), path)
    assert translation.language == "fr" and translation.missing == 0


@pytest.mark.parametrize(
    ("change", "code", "context"),
    [
        ({"node/out/text": ""}, "untranslated", "node/out/text"),
        ({"node/hut/text": "{flares} fusées. {lit: chaud|froid}"}, None, None),  # fine
        ({"node/hut/text": "Fusées. {lit: chaud|froid}"}, "placeholders", "node/hut/text"),
        ({"node/hut/text": "{flares} {mood} fusées. {lit: a|b}"}, "placeholders", "node/hut/text"),
        ({"node/hut/text": "{flares} fusées."}, "placeholders", "node/hut/text"),
        (
            {"node/hut/text": "{flares, plural, one {#}} {lit: a|b}"},
            "missing-other",
            "node/hut/text",
        ),
        ({"node/hut/text": "{flares} {ghost} {lit: a|b}"}, "undefined-variable", "node/hut/text"),
        ({"node/hut/text": "{flares {lit: a|b}"}, "interpolation", "node/hut/text"),
        ({"node/hut/text": "{mood, plural, other {#}} {lit: a|b}"}, "type-error", "node/hut/text"),
        ({"node/out/text": "Nei\x1bge"}, "control-character", "node/out/text"),
        ({"node/out/text": "Nei\u202ege"}, "bidi-control", "node/out/text"),
    ],
)
def test_each_problem_is_found_at_its_entry(
    tmp_path: Path, change: dict[str, str], code: str | None, context: str | None
) -> None:
    path = write_po(tmp_path / "hut.fr.po", {**GOOD, **change})
    problems = check_translation(story(), po.read_po_file(path))
    if code is None:
        assert problems == []
        return
    assert (code, context) in codes(problems)
    problem = next(p for p in problems if p.code == code)
    text = path.read_text(encoding="utf-8").split("\n")
    assert f'msgctxt "{context}"' in text[problem.line - 2]  # msgid's line, after msgctxt
    # A broken string is never played: the story's own words show instead.
    translation = load_translation(story(), path)
    if problem.severity == "error":
        assert context not in translation.strings


def test_plural_forms_the_language_needs_are_required(tmp_path: Path) -> None:
    polish = {**GOOD, "node/hut/text": "{flares, plural, one {# raca} other {# rac}} {lit: a|b}"}
    path = write_po(tmp_path / "hut.pl.po", polish, language="pl")
    problems = check_translation(story(), po.read_po_file(path))
    forms = next(p for p in problems if p.code == "plural-forms")
    assert "few, many" in forms.message
    complete = "{flares, plural, one {# raca} few {# race} many {# rac} other {# racy}} {lit: a|b}"
    path = write_po(tmp_path / "hut.pl.po", {**polish, "node/hut/text": complete}, language="pl")
    assert check_translation(story(), po.read_po_file(path)) == []


def test_missing_fuzzy_and_outdated_strings_are_incomplete(tmp_path: Path) -> None:
    path = write_po(tmp_path / "hut.fr.po", GOOD, fuzzy={"node/out/text"})
    changed = json.loads(json.dumps(STORY))
    changed["nodes"]["out"]["ending"]["title"] = "Free"
    changed["nodes"]["new"] = {"text": "New.", "ending": True}
    problems = check_translation(story(changed), po.read_po_file(path))
    found = set(codes(problems))
    assert ("fuzzy", "node/out/text") in found
    assert ("source-changed", "node/out/ending/title") in found
    assert ("missing", "node/new/text") in found
    assert all(p.severity == "error" for p in problems if p.code in INCOMPLETE)
    relaxed = check_translation(story(changed), po.read_po_file(path), allow_incomplete=True)
    assert all(p.severity == "warning" for p in relaxed)
    translation = load_translation(story(changed), path)
    assert "node/out/text" not in translation.strings  # fuzzy: not used
    assert "node/out/ending/title" not in translation.strings  # translates other words


def test_update_keeps_translations_marks_changed_ones_fuzzy_and_keeps_comments(
    tmp_path: Path,
) -> None:
    path = write_po(tmp_path / "hut.fr.po", GOOD)
    text = path.read_text(encoding="utf-8").replace(
        'msgctxt "node/out/text"', '# Translator: snow is "neige".\nmsgctxt "node/out/text"'
    )
    path.write_text(text, encoding="utf-8")
    changed = json.loads(json.dumps(STORY))
    changed["nodes"]["out"]["text"] = "Deep snow."
    changed["nodes"]["hut"]["title"] = None
    del changed["nodes"]["hut"]["title"]
    changed["nodes"]["extra"] = {"text": "Extra.", "ending": True}
    fresh = po.template(
        story_strings(story(changed)),
        story_file="s.json",
        lines={},
        source_language="en",
        title="The Hut",
    )
    merged, counts = po.merge(po.read_catalog(path.read_bytes()), fresh)
    assert counts == {"kept": 4, "changed": 1, "added": 1, "reused": 0, "obsolete": 1}
    out = po.po_text(merged).decode()
    assert (
        '#, fuzzy\n#| msgid "Snow."\nmsgctxt "node/out/text"\nmsgid "Deep snow."\nmsgstr "Neige."'
        in out
    )
    assert '# Translator: snow is "neige".' in out
    assert '#~ msgctxt "node/hut/title"' in out  # obsolete, kept for the translator
    (tmp_path / "merged.po").write_text(out, encoding="utf-8")
    problems = check_translation(story(changed), po.read_po_file(tmp_path / "merged.po"))
    assert ("fuzzy", "node/out/text") in codes(problems)


def test_previous_words_survive_updates_as_gettext_writes_them(tmp_path: Path) -> None:
    long_text = "The wind howls over the ridge, and the snow comes sideways.\n\nThe hut is dark."
    before = json.loads(json.dumps(STORY))
    before["nodes"]["out"]["text"] = long_text
    path = write_po(tmp_path / "hut.fr.po", {**GOOD, "node/out/text": "Le vent."}, data=before)
    fresh = po.template(
        story_strings(story()),
        story_file="s.json",
        lines={},
        source_language="en",
        title="The Hut",
    )
    once = po.po_text(po.merge(po.read_catalog(path.read_bytes()), fresh)[0])
    # Read back and merged again (a second `i18n update`): the same file, not a comment.
    twice = po.po_text(po.merge(po.read_catalog(once), fresh)[0])
    assert twice == once
    text = once.decode()
    assert '#| msgid ""\n#| "The wind howls' in text and "\n# |" not in text
    assert po.read_catalog(once).get("Snow.", context="node/out/text").previous_id == [long_text]
    if shutil.which("msgfmt"):  # GNU gettext reads it too
        (tmp_path / "twice.po").write_bytes(twice)
        checked = subprocess.run(
            ["msgfmt", "--check", "-o", "/dev/null", str(tmp_path / "twice.po")],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr


def test_a_string_that_moved_gets_its_old_translation_marked_fuzzy(tmp_path: Path) -> None:
    path = write_po(tmp_path / "hut.fr.po", GOOD)
    moved = json.loads(json.dumps(STORY))
    moved["nodes"]["outside"] = moved["nodes"].pop("out")  # renamed: new contexts, same words
    moved["nodes"]["hut"]["choices"][0]["to"] = "outside"
    fresh = po.template(
        story_strings(story(moved)),
        story_file="s.json",
        lines={},
        source_language="en",
        title="The Hut",
    )
    merged, counts = po.merge(po.read_catalog(path.read_bytes()), fresh)
    assert counts["reused"] == 2 and counts["added"] == 2
    entry = merged.get("Snow.", context="node/outside/text")
    assert entry.string == "Neige." and entry.fuzzy


HEADER = 'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'


@pytest.mark.parametrize(
    ("data", "where", "words"),
    [
        (b'msgid "a"\nmsgstr "\xff"\n', 2, "not UTF-8"),
        (b"hello world\n", 1, "not a valid PO file"),
        (b'msgid "a"\nmsgstr "b"\nmsgstr "c"\n', 3, "a second msgstr for the entry above"),
        # Strings Babel read silently wrong (it drops a character from each end).
        ('msgctxt "a"\nmsgid "abc\nmsgstr "x"\n', 6, "malformed string '\"abc'"),
        ('msgctxt "a"\nmsgid abc\nmsgstr "x"\n', 6, "malformed string 'abc'"),
        ('msgctxt "a"\nmsgid "a" junk\nmsgstr "x"\n', 6, "malformed string"),
        ('msgctxt "a"\nmsgid "a"b"\nmsgstr "x"\n', 6, "malformed string"),
        ('msgctxt "a"\nmsgid "a\\q"\nmsgstr "x"\n', 6, "malformed string"),
        ('msgctxt "a"\nmsgid "a"\n"b\\"\nmsgstr "x"\n', 7, "malformed string"),
        ('msgctxt\nmsgid "a"\nmsgstr "x"\n', 5, "msgctxt without a string"),
        ('#~ msgctxt "a"\n#~ msgid "a\n#~ msgstr "x"\n', 6, "malformed string"),
        # Structure Babel read silently wrong (one of two was dropped or given elsewhere).
        ('msgctxt "a"\nmsgctxt "b"\nmsgid "a"\nmsgstr "x"\n', 6, "a second msgctxt"),
        ('msgctxt "a"\nmsgid "a"\nmsgstr[0] "x"\n', 7, "msgstr[0] without a msgid_plural"),
        ('msgctxt "a"\nmsgid "a"\nmsgid_plural "b"\nmsgstr[x] "x"\n', 8, "must be a number"),
        # The same entry twice: Babel kept the first translation; gettext refuses it.
        (
            'msgctxt "a"\nmsgid "a"\nmsgstr "x"\n\nmsgctxt "a"\nmsgid "a"\nmsgstr "y"\n',
            10,
            "this entry is given twice (first at line 6)",
        ),
        ('msgid "a"\nmsgstr "x"\n\nmsgid "a"\nmsgstr "y"\n', 8, "given twice (first at line 5)"),
        ("", 5, "this header is given twice (first at line 1)"),
    ],
)
def test_malformed_files_are_refused_with_a_located_message(
    tmp_path: Path, data: bytes | str, where: int, words: str
) -> None:
    path = tmp_path / "bad.po"
    path.write_bytes(data if isinstance(data, bytes) else (HEADER + (data or HEADER)).encode())
    with pytest.raises(po.PoReadError) as raised:
        po.read_po_file(path)
    assert str(raised.value).startswith(f"{path}:{where}: "), str(raised.value)
    assert words in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        'msgctxt "a"\nmsgid ""\n"one \\"two\\"\\n"\n"\\\\ \\t"\nmsgstr "x"\n',
        'msgctxt "a"\nmsgid "a"\nmsgid_plural "as"\nmsgstr[0] "x"\nmsgstr[1] "y"\n',
        # An obsolete entry's previous words, as msgmerge writes them (Babel refused "#~|").
        '#, fuzzy\n#~| msgid "old"\n#~ msgctxt "a"\n#~ msgid "a"\n#~ msgstr "x"\n',
        # The same context with other words is read: check reports it (duplicate-context).
        'msgctxt "a"\nmsgid "a"\nmsgstr "x"\n\nmsgctxt "a"\nmsgid "b"\nmsgstr "y"\n',
    ],
)
def test_well_formed_entries_are_read(data: str) -> None:
    po.read_catalog((HEADER + data).encode(), "ok.po")


def test_a_bogus_charset_in_the_header_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "odd.po"
    path.write_bytes(b'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=nonsense\\n"\n')
    assert po.read_po_file(path).entries == {}


@pytest.mark.parametrize(
    "header",
    [
        '"Plural-Forms: nplurals=x; plural=(n > 1);\\n"',
        '"Plural-Forms: nplurals=99999999999999999999; plural=n;\\n"',
        '"Plural-Forms: nplurals=2; "\n"plural=(n > 1;\\n"',  # continued on a second line
        '"Plural-Forms: nplurals=2; plural=__import__(n);\\n"',
    ],
)
def test_a_malformed_plural_forms_header_is_refused_at_its_line(
    tmp_path: Path, header: str
) -> None:
    path = tmp_path / "bad.fr.po"
    path.write_text(
        f'msgid ""\nmsgstr ""\n"Language: fr\\n"\n{header}\n\n'
        'msgctxt "story/title"\nmsgid "The Hut"\nmsgstr "Le refuge"\n',
        encoding="utf-8",
    )
    with pytest.raises(
        po.PoReadError, match=r"bad\.fr\.po:4: the Plural-Forms header is malformed"
    ):
        po.read_po_file(path)


def test_a_sane_plural_forms_header_over_two_lines_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.fr.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Plural-Forms: nplurals=2; plural=(n "\n'
        '"> 1);\\n"\n\nmsgctxt "story/title"\nmsgid "The Hut"\nmsgstr "Le refuge"\n',
        encoding="utf-8",
    )
    assert po.read_po_file(path).entries["story/title"].translation == "Le refuge"


def test_a_file_too_large_is_refused_before_parsing(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(po, "MAX_BYTES", 100)
    path = tmp_path / "big.po"
    path.write_bytes(b"#" * 200)
    with pytest.raises(po.PoReadError, match="200 bytes, more than 100 bytes"):
        po.read_po_file(path)


def test_a_device_is_read_only_up_to_the_limit(monkeypatch: Any) -> None:
    monkeypatch.setattr(po, "MAX_BYTES", 100)
    with pytest.raises(po.PoReadError, match=r"^/dev/zero: more than 100 bytes"):
        po.read_po_file("/dev/zero")


def test_entries_without_context_twice_or_with_gettext_plurals_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "odd.fr.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        'msgid "The Hut"\nmsgstr "Le refuge"\n\n'
        'msgctxt "node/out/text"\nmsgid "Snow."\nmsgid_plural "Snows."\n'
        'msgstr[0] "Neige."\nmsgstr[1] "Neiges."\n\n'
        'msgctxt "node/gone/text"\nmsgid "Gone."\nmsgstr "Parti."\n',
        encoding="utf-8",
    )
    found = set(codes(check_translation(story(), po.read_po_file(path))))
    assert ("no-context", None) in found
    assert ("gettext-plural", "node/out/text") in found
    assert ("obsolete", "node/gone/text") in found


def test_the_language_comes_from_the_header_else_the_file_name(tmp_path: Path) -> None:
    path = write_po(tmp_path / "hut.de.po", GOOD, language=None)
    assert load_translation(story(), path).language == "de"
    nameless = write_po(tmp_path / "translation.po", GOOD, language=None)
    problems = check_translation(story(), po.read_po_file(nameless))
    assert ("unknown-language", None) in codes(problems)


def test_checking_a_large_translation_stays_fast(tmp_path: Path) -> None:
    nodes = {
        f"n{i}": {
            "text": f"Passage {i}: {{flares, plural, one {{# flare}} other {{# flares}}}}.",
            "choices": [{"label": f"On {i}", "to": f"n{i + 1}"}],
        }
        for i in range(3000)
    }
    nodes["n3000"] = {"text": "End.", "ending": True}
    data = {**STORY, "start": "n0", "nodes": nodes}
    parsed = story(data)
    entries = {
        s.context: s.source.replace("# flare", "# fusée").replace("Passage", "Passage traduit")
        for s in story_strings(parsed)
    }
    catalog = po.template(
        story_strings(parsed), story_file="s.json", lines={}, source_language="en", title="Big"
    )
    translated = po.new_catalog(catalog, "fr")
    for message in translated:
        if message.id:
            message.string = entries[str(message.context)]
    path = tmp_path / "big.fr.po"
    path.write_bytes(po.po_text(translated))
    began = time.perf_counter()
    problems = check_translation(parsed, po.read_po_file(path))
    assert time.perf_counter() - began < 5.0
    assert problems == []


def test_the_demo_translation_is_complete_and_clean() -> None:
    from branching.story.loader import read_story

    demo = read_story(ROOT / "stories" / "demo.json")
    translation = po.read_po_file(ROOT / "stories" / "demo.fr.po")
    assert check_translation(demo, translation) == []
    assert len(translation.entries) == sum(1 for _ in story_strings(demo))


#: A story with a source string of every kind of field, each showing {flares} so that a
#: translation can drop it.
EVERY_FIELD: dict[str, Any] = {
    "format": "branching/1",
    "id": "lamp",
    "title": "The Lamp",
    "language": "en",
    "start": "hut",
    "variables": {"flares": 2, "mood": "calm"},
    "experiments": {"wording": {"title": "Wording", "arms": {"old": 1, "new": 1}}},
    "nodes": {
        "hut": {
            "title": "The Hut",
            "text": "{flares} left.",
            "choices": [{"id": "go", "label": "Light a flare ({flares} left)", "to": "out"}],
            "variants": {
                "wording": {
                    "new": {
                        "title": "The Cabin",
                        "text": "Still {flares} left.",
                        "choices": [{"id": "go", "label": "Burn one ({flares})", "to": "out"}],
                    }
                }
            },
        },
        "out": {"text": "Snow.", "ending": {"title": "Outside", "kind": "good"}},
    },
}

#: Translations with one kind of problem each; {} stands for the source's own words.
BAD_TRANSLATIONS = [
    "Sans placeholder",  # drops {flares} where the source has it
    "{flares} {mood} en trop",  # shows a variable the source does not
    "{flares} {ghost}",  # an unknown variable
    "{flares",  # a block that does not parse
    "{flares, plural, one {#}}",  # a plural without other
    "{mood, plural, other {#}} {flares}",  # a plural of a string
    "{flares} es\x1bc",  # a control character
    "{flares} nul\x00",
    "{flares} \u202eà l'envers",  # a warning only: still shown
    "Aucun bloc, ni accolade",  # fine in a title (no blocks there), an error in text
]


@pytest.mark.parametrize("bad", BAD_TRANSLATIONS)
def test_the_player_uses_exactly_the_strings_check_accepts(tmp_path: Path, bad: str) -> None:
    parsed = story(EVERY_FIELD)
    contexts = [s.context for s in story_strings(parsed)]
    assert {c.rsplit("/", 1)[-1] for c in contexts} >= {"title", "text", "label"}
    assert any("/variant/" in c for c in contexts) and "node/out/ending/title" in contexts
    for broken in contexts:
        entries = {c: f"{{flares}} fr {c}" for c in contexts}
        entries |= {c: "Fr" for c in contexts if c.endswith("title") or c == "node/out/text"}
        entries[broken] = bad
        path = write_po(tmp_path / "lamp.fr.po", entries, data=EVERY_FIELD)
        errors = {
            p.context
            for p in check_translation(parsed, po.read_po_file(path))
            if p.severity == "error"
        }
        translation = load_translation(parsed, path)
        shown = set(translation.strings)
        assert shown == set(contexts) - errors, (broken, bad, errors)
        assert translation.broken == len(errors)
