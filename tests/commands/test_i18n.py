"""``branching i18n`` and ``--lang``: from a story to a translated, checked, played and
measured version, through the command line as a writer and a translator use it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from branching.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"
LOCALE = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def _strings() -> int:
    from branching.story.loader import read_story
    from branching.story.strings import story_strings

    return sum(1 for _ in story_strings(read_story(DEMO)))


#: Translatable strings of the demo (titles, texts, labels, ending titles, arms' words).
STRINGS = _strings()


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def play(
    *args: str | Path, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in LOCALE}
    environment.pop("BRANCHING_VIEWER", None)
    environment.update({"BRANCHING_HOME": str(home), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "branching", "play", *map(str, args), "--plain", "--no-log"],
        input="q\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
    )


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo and its French translation, copied where tests may write."""
    for name in ("demo.json", "demo.fr.po"):
        shutil.copy(ROOT / "stories" / name, tmp_path / name)
    return tmp_path / "demo.json"


def test_extract_writes_every_string_with_its_context_and_line(demo: Path, tmp_path: Path) -> None:
    result = run("i18n", "extract", demo, "-o", tmp_path / "demo.pot")
    assert result.exit_code == 0, result.output
    pot = (tmp_path / "demo.pot").read_text(encoding="utf-8")
    assert pot.count("\nmsgctxt ") == STRINGS
    assert '#: demo.json:5\nmsgctxt "story/title"\nmsgid "Whiteout"\nmsgstr ""' in pot
    assert 'msgctxt "node/haul/choice/anchor/label"' in pot
    assert "Language:" not in pot  # a template names no language
    again = run("i18n", "extract", demo).output
    assert again == pot  # stable: the same story gives the same file


def test_extract_exit_codes_follow_validate(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "branching/1"}', encoding="utf-8")
    assert run("i18n", "extract", broken).exit_code == 1
    (tmp_path / "nonsense.json").write_bytes(b"\xff\xfe")
    assert run("i18n", "extract", tmp_path / "nonsense.json").exit_code == 2


def test_the_shipped_french_translation_passes_check() -> None:
    result = run("i18n", "check", DEMO, ROOT / "stories" / "demo.fr.po")
    assert result.exit_code == 0, result.output
    assert (
        f"French, {STRINGS} of {STRINGS} strings translated, 0 errors, 0 warnings" in result.output
    )


def test_a_changed_story_is_found_by_check_and_merged_by_update(demo: Path) -> None:
    data = json.loads(demo.read_text(encoding="utf-8"))
    data["nodes"]["grab"]["title"] = "Hold Tight"
    data["nodes"]["grab"]["choices"].append({"id": "wait", "label": "Wait", "to": "storm_warning"})
    demo.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    po = demo.with_name("demo.fr.po")
    checked = run("i18n", "check", demo, po)
    assert checked.exit_code == 1
    assert "[source-changed] node/grab/title" in checked.output
    assert "[missing] node/grab/choice/wait/label" in checked.output
    assert run("i18n", "check", demo, po, "--allow-incomplete").exit_code == 0
    updated = run("i18n", "update", demo, po)
    assert updated.exit_code == 0
    assert f"{STRINGS - 1} kept, 1 changed (marked fuzzy), 1 new, 0 obsolete" in updated.output
    text = po.read_text(encoding="utf-8")
    assert '#, fuzzy\n#| msgid "Hold On"\nmsgctxt "node/grab/title"' in text
    after = run("i18n", "check", demo, po, "--format", "json")
    found = {(p["code"], p["context"]) for p in json.loads(after.output)}
    assert found == {("fuzzy", "node/grab/title"), ("untranslated", "node/grab/choice/wait/label")}


def test_update_creates_a_new_translation_named_by_its_file(demo: Path) -> None:
    result = run("i18n", "update", demo, demo.with_name("demo.pt-BR.po"))
    assert result.exit_code == 0 and "new Portuguese (Brazil) translation" in result.output
    assert '"Language: pt_BR\\n"' in demo.with_name("demo.pt-BR.po").read_text(encoding="utf-8")
    nameless = run("i18n", "update", demo, demo.with_name("translation.po"))
    assert nameless.exit_code == 2 and "--lang" in nameless.output


def test_written_files_keep_their_mode_and_new_ones_follow_the_umask(demo: Path) -> None:
    translation = demo.with_name("demo.fr.po")
    translation.chmod(0o664)
    assert run("i18n", "update", demo, translation).exit_code == 0
    assert translation.stat().st_mode & 0o777 == 0o664  # a shared checkout stays shared
    old = os.umask(0o022)
    try:
        assert run("i18n", "update", demo, demo.with_name("demo.de.po")).exit_code == 0
        assert run("i18n", "extract", demo, "-o", demo.with_name("demo.pot")).exit_code == 0
    finally:
        os.umask(old)
    for name in ("demo.de.po", "demo.pot"):
        assert demo.with_name(name).stat().st_mode & 0o777 == 0o644, name
    link = demo.with_name("linked.fr.po")
    link.symlink_to(translation.name)
    assert run("i18n", "update", demo, link).exit_code == 0
    assert link.is_symlink() and translation.stat().st_mode & 0o777 == 0o664


def test_story_strings_get_no_python_format_flags(demo: Path, tmp_path: Path) -> None:
    pot = run("i18n", "extract", demo).output
    assert "{felt_the_crack:" in pot and "{You lose count" in pot  # Python would parse them
    assert "python-brace-format" not in pot and "python-format" not in pot
    # A file that has them (an older branching wrote them) loses them; the translator's own
    # flags stay.
    translation = demo.with_name("demo.fr.po")
    text = translation.read_text(encoding="utf-8")
    text = text.replace(
        'msgctxt "node/ledge/text"', '#, fuzzy, python-brace-format\nmsgctxt "node/ledge/text"'
    )
    assert "#: demo.json:319\n" in text
    translation.write_text(
        text.replace("#: demo.json:319\n", "#: demo.json:319\n#, python-format\n"),
        encoding="utf-8",
    )
    assert run("i18n", "update", demo, translation).exit_code == 0
    updated = translation.read_text(encoding="utf-8")
    assert "python-brace-format" not in updated and "python-format" not in updated
    assert '#, fuzzy\nmsgctxt "node/ledge/text"' in updated


@pytest.mark.parametrize(
    "shipped", sorted((ROOT / "stories").glob("*.po")) + sorted((ROOT / "stories").glob("*.pot"))
)
def test_shipped_translations_are_as_update_writes_them(shipped: Path, tmp_path: Path) -> None:
    story = ROOT / "stories" / f"{shipped.name.split('.')[0]}.json"
    copy = tmp_path / shipped.name
    shutil.copy(shipped, copy)
    shutil.copy(story, tmp_path / story.name)
    if shipped.suffix == ".pot":
        result = run("i18n", "extract", tmp_path / story.name, "-o", copy)
    else:
        result = run("i18n", "update", tmp_path / story.name, copy)
    assert result.exit_code == 0, result.output
    assert copy.read_bytes() == shipped.read_bytes()


def test_check_refuses_an_unreadable_translation_with_exit_2(demo: Path) -> None:
    bad = demo.with_name("demo.de.po")
    bad.write_bytes(b'msgid "x"\nmsgstr "\xff\xfe"\n')
    result = run("i18n", "check", demo, bad)
    assert result.exit_code == 2 and "not UTF-8" in result.output
    assert run("i18n", "check", demo, demo.with_name("missing.po")).exit_code == 2


def test_extract_writes_into_a_pipe_without_replacing_it(demo: Path, tmp_path: Path) -> None:
    """The output goes through the commands' shared writer: a pipe or device is written
    directly. Before, extract renamed a file over it (as root, ``-o /dev/full`` replaced the
    device with a regular file)."""
    fifo = tmp_path / "pot.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as end:  # blocks until the command opens its end
            received.append(end.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        result = run("i18n", "extract", demo, "-o", fifo)
    finally:
        reader.join(timeout=10)
        if reader.is_alive():  # the command never opened the pipe: let the reader go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            reader.join(timeout=10)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert received[0] == run("i18n", "extract", demo).stdout_bytes


def test_extract_that_cannot_write_says_where_and_why(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "demo.pot"
    result = run("i18n", "extract", demo, "-o", target)
    assert result.exit_code == 1
    assert f"Cannot write {target}: No such file or directory ({target} was not created)" in (
        result.output
    )
    folder = run("i18n", "extract", demo, "-o", tmp_path)
    assert folder.exit_code == 2 and "is a directory" in folder.output


def test_extract_reads_a_story_from_a_pipe_once(demo: Path, tmp_path: Path) -> None:
    """The story was read twice (to load it, then for its lines): from a FIFO the second read
    waited for ever, and from ``<(...)`` it found nothing, so no entry had its line."""
    fifo = tmp_path / "piped.json"
    os.mkfifo(fifo)
    data = demo.read_bytes()

    def write() -> None:
        with open(fifo, "wb") as end:  # blocks until the command opens its end
            end.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "branching", "i18n", "extract", str(fifo)],
            capture_output=True,
            timeout=60,  # a regression fails here instead of hanging
            cwd=ROOT,
        )
    finally:
        writer.join(timeout=10)
        if writer.is_alive():
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    assert done.returncode == 0, done.stderr
    assert b'#: piped.json:5\nmsgctxt "story/title"' in done.stdout


def test_update_refuses_a_translation_that_is_not_a_regular_file(demo: Path) -> None:
    """A FIFO was waited on for ever (and /dev/null, as root, replaced by a regular file)."""
    fifo = demo.with_name("demo.de.po")
    os.mkfifo(fifo)
    started = time.monotonic()
    result = run("i18n", "update", demo, fifo)
    assert time.monotonic() - started < 5  # refused before anything reads it
    assert result.exit_code == 2
    assert f"{fifo}: cannot update it: it is a named pipe (FIFO), not a PO file" in result.output
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    folder = run("i18n", "update", demo, demo.parent)
    assert folder.exit_code == 2 and "is a directory" in folder.output


def test_a_malformed_string_is_refused_at_its_line_by_check_update_and_play(demo: Path) -> None:
    """Babel dropped a character from each end of any string: ``msgstr "Blanc total`` was
    read as ``Blanc tota`` and shown to viewers."""
    translation = demo.with_name("demo.fr.po")
    text = translation.read_text(encoding="utf-8")
    broken = text.replace('msgstr "Blanc total"', 'msgstr "Blanc total', 1)
    line = broken[: broken.index('msgstr "Blanc total\n')].count("\n") + 1
    translation.write_text(broken, encoding="utf-8")
    said = f"{translation}:{line}: not a valid PO file (malformed string"
    for args in (
        ("i18n", "check", demo, translation),
        ("i18n", "update", demo, translation),
        ("play", demo, "--plain", "--no-log", "--translations", translation),
    ):
        result = run(*args)
        assert result.exit_code == 2 and said in result.output, (args, result.output)
    assert translation.read_text(encoding="utf-8") == broken  # update left it alone


def test_duplicate_entries_are_refused_not_merged_silently(demo: Path) -> None:
    translation = demo.with_name("demo.fr.po")
    text = translation.read_text(encoding="utf-8")
    entry = 'msgctxt "story/title"\nmsgid "Whiteout"\nmsgstr "Blanc total"\n'
    first = text[: text.index(entry)].count("\n") + 2  # the msgid's line
    last = text.count("\n") + 3
    # The same entry twice: Babel kept the first translation and dropped the other.
    translation.write_text(text + "\n" + entry.replace("Blanc total", "Tempête"), "utf-8")
    said = f"{translation}:{last}: not a valid PO file (this entry is given twice (first at "
    for command in ("check", "update"):
        result = run("i18n", command, demo, translation)
        assert result.exit_code == 2 and f"{said}line {first})" in result.output, result.output
    # The same context with other words: check reports it; update refused to guess (it kept
    # whichever came last).
    translation.write_text(
        text + "\n" + entry.replace("Whiteout", "Snowblind").replace("Blanc total", "Aveugle"),
        "utf-8",
    )
    checked = run("i18n", "check", demo, translation)
    assert checked.exit_code == 1
    assert f"{translation}:{last}: error [duplicate-context] story/title" in checked.output
    updated = run("i18n", "update", demo, translation)
    assert updated.exit_code == 2
    assert (
        f'{translation}:{last}: msgctxt "story/title" is given twice (first at line {first})'
    ) in updated.output


def test_a_one_word_megabyte_is_extracted_quickly_and_whole(demo: Path) -> None:
    """Babel wraps lines in time quadratic in a word's length: this took about an hour."""
    story = json.loads(demo.read_text(encoding="utf-8"))
    word = "x" * 1_000_000
    story["nodes"][story["start"]]["text"] = word
    demo.write_text(json.dumps(story), encoding="utf-8")
    started = time.process_time()
    assert run("i18n", "extract", demo, "-o", demo.with_name("demo.pot")).exit_code == 0
    assert run("i18n", "update", demo, demo.with_name("demo.de.po")).exit_code == 0
    assert time.process_time() - started < 20
    from branching.story.po import read_po_file

    for name in ("demo.pot", "demo.de.po"):
        entry = read_po_file(demo.with_name(name)).entries[f"node/{story['start']}/text"]
        assert entry.source == word


#: A file name that retitles the terminal, rings the bell and breaks a message in two.
HOSTILE = "b\x1b]2;pwned\x07\nc"
HOSTILE_SHOWN = "b\\x1b]2;pwned\\x07\\x0ac"


@pytest.mark.parametrize(
    ("command", "content", "said"),
    [
        ("check", b'msgid "a"\nmsgstr "\xff"\n', ":2: the file is not UTF-8"),
        ("check", b"hello world\n", ":1: not a valid PO file"),
        ("check", None, ": cannot read the file: No such file or directory"),
        ("check", (ROOT / "stories" / "demo.fr.po").read_bytes(), ": French, "),
        ("update", b"hello world\n", ":1: not a valid PO file"),
        ("update", None, " does not exist and its name gives no language"),
        ("play", b"hello world\n", ":1: not a valid PO file"),
    ],
    ids=["not-utf8", "syntax", "missing", "summary", "update", "no-language", "play"],
)
def test_po_messages_show_a_hostile_file_name_escaped(
    demo: Path, command: str, content: bytes | None, said: str
) -> None:
    path = demo.with_name(f"{HOSTILE}.po")
    if content is not None:
        path.write_bytes(content)
    if command == "play":
        result = run("play", demo, "--plain", "--no-log", "--translations", path)
    else:
        result = run("i18n", command, demo, path)
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "pwned\x07\nc" not in result.output
    assert f"{demo.parent}/{HOSTILE_SHOWN}.po{said}" in result.output
    assert result.exit_code == (0 if said == ": French, " else 2), result.output


def test_play_in_french_by_option_or_by_locale(tmp_path: Path) -> None:
    by_option = play(DEMO, "--lang", "fr", home=tmp_path / "a")
    assert by_option.returncode == 0, by_option.stderr
    assert (
        "Blanc total" in by_option.stdout and "Demander à Jonah de s’encorder" in by_option.stdout
    )
    by_locale = play(DEMO, home=tmp_path / "b", env={"LANG": "fr_FR.UTF-8"})
    assert "Demander à Jonah de s’encorder" in by_locale.stdout
    english = play(DEMO, home=tmp_path / "c", env={"LANG": "C.UTF-8"})
    assert "Ask Jonah to rope up" in english.stdout


def test_the_language_variable_is_a_priority_list(tmp_path: Path) -> None:
    # No German translation: gettext's order goes on to French, as the docs promise.
    shown = play(DEMO, home=tmp_path / "a", env={"LANGUAGE": "de:fr", "LANG": "de_DE.UTF-8"})
    assert "Demander à Jonah de s’encorder" in shown.stdout, shown.stderr
    english_first = play(DEMO, home=tmp_path / "b", env={"LANGUAGE": "de:en:fr"})
    assert "Ask Jonah to rope up" in english_first.stdout
    hostile = play(DEMO, home=tmp_path / "c", env={"LANGUAGE": "x/y:../z:fr"})
    assert hostile.returncode == 0 and "Demander à Jonah de s’encorder" in hostile.stdout


def test_a_missing_translation_falls_back_with_one_notice(demo: Path, tmp_path: Path) -> None:
    nothing = play(demo, "--lang", "de", home=tmp_path / "a")
    assert "Ask Jonah to rope up" in nothing.stdout
    assert "no German translation" in nothing.stderr and "demo.de.po" in nothing.stderr
    # The notice names the file it looked for, made from the story's name: escaped.
    hostile = demo.rename(demo.with_name(f"{HOSTILE}.json"))
    named = play(hostile, "--lang", "de", home=tmp_path / "h")
    assert f"(looked for {HOSTILE_SHOWN}.de.po)" in named.stderr and "\x1b" not in named.stderr
    demo = hostile.rename(demo)
    partial = demo.with_name("demo.fr.po")
    text = partial.read_text(encoding="utf-8").replace(
        'msgstr "Demander à Jonah de s’encorder"', 'msgstr ""'
    )
    partial.write_text(text, encoding="utf-8")
    shown = play(demo, "--lang", "fr", home=tmp_path / "b")
    assert "Ask Jonah to rope up" in shown.stdout and "Faire signe au drone" in shown.stdout
    # The notice is in the player's words, in the language it plays in.
    assert shown.stderr.count("pas encore traduit") == 1
    assert f"1 texte sur {STRINGS} n’est pas encore traduit en français" in shown.stderr
    broken = text.replace('msgstr "Faire signe au drone"', 'msgstr "Faire signe {au drone"')
    partial.write_text(broken, encoding="utf-8")
    shown = play(demo, "--lang", "fr", home=tmp_path / "c")
    assert "Wave at the drone" in shown.stdout  # a string with errors is never shown
    assert (
        f"2 textes sur {STRINGS} ne sont pas encore traduits en français (1 d’entre eux avec "
        "des erreurs\u00a0: lancez `branching i18n check`)\u202f; ils sont affichés en anglais."
        in shown.stderr
    )


def test_control_characters_count_as_errors_in_the_notice(demo: Path, tmp_path: Path) -> None:
    po_file = demo.with_name("demo.fr.po")
    text = po_file.read_text(encoding="utf-8")
    for raw in ("\x1b", "\x00"):
        po_file.write_text(
            text.replace('msgstr "Faire signe au drone"', f'msgstr "Faire signe{raw} au drone"'),
            encoding="utf-8",
        )
        shown = play(demo, "--lang", "fr", home=tmp_path / repr(raw))
        assert "Wave at the drone" in shown.stdout and raw not in shown.stdout
        # Translated but invalid: the notice sends the translator to `i18n check`.
        assert "(1 avec des erreurs\u00a0: lancez `branching i18n check`)" in shown.stderr


def test_play_with_an_explicit_translations_file_and_bad_requests(
    demo: Path, tmp_path: Path
) -> None:
    moved = tmp_path / "elsewhere.po"
    shutil.move(demo.with_name("demo.fr.po"), moved)
    shown = play(demo, "--translations", moved, home=tmp_path / "a")
    assert "Faire signe au drone" in shown.stdout
    unknown = play(demo, "--lang", "xx-nowhere", home=tmp_path / "b")
    assert unknown.returncode == 2 and "--lang" in unknown.stderr
    missing = play(demo, "--translations", tmp_path / "nope.po", home=tmp_path / "c")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_report_checks_lang_as_play_does(demo: Path, tmp_path: Path) -> None:
    played = play(demo, "--lang", "xx!", home=tmp_path / "a")
    reported = CliRunner().invoke(
        main, ["report", str(demo), "--db", str(tmp_path / "log.db"), "--lang", "xx!"]
    )
    assert played.returncode == reported.exit_code == 2
    assert played.stderr.startswith("--lang: ") and reported.output == played.stderr


def test_a_locale_spelling_of_a_tag_is_taken_by_play_and_report(demo: Path, tmp_path: Path) -> None:
    # fr_CA is how locales spell fr-CA: both commands take it, as reports match it.
    played = play(demo, "--lang", "fr_CA", home=tmp_path / "a")
    assert played.returncode == 0, played.stderr
    assert "Blanc total" in played.stdout
    reported = CliRunner().invoke(
        main, ["report", str(demo), "--db", str(tmp_path / "log.db"), "--lang", "fr_CA"]
    )
    assert "is not a BCP 47" not in reported.output


def test_reports_split_choice_shares_by_language(demo: Path, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    for lang, seed in (("en", "1"), ("fr", "2")):
        result = run("simulate", demo, "-n", "150", "--seed", seed, "--lang", lang, "--db", db)
        assert result.exit_code == 0, result.output
    doc = json.loads(run("report", demo, "--db", db, "--format", "json").output)
    assert doc["languages"] == [
        {"language": "en", "playthroughs": 150},
        {"language": "fr", "playthroughs": 150},
    ]
    opening = next(n for n in doc["nodes"] if n["id"] == "cold_open")
    for choice in opening["choices"]:
        assert set(choice["by_language"]) == {"en", "fr"}
    total = sum(c["by_language"]["fr"]["count"] for c in opening["choices"])
    assert total == sum(
        1 for c in opening["choices"] for _ in range(c["by_language"]["fr"]["count"])
    )
    french = json.loads(run("report", demo, "--db", db, "--format", "json", "--lang", "fr").output)
    assert french["filters"]["language"] == "fr"
    assert french["playthroughs"]["started"] == 150 and french["languages"] == [
        {"language": "fr", "playthroughs": 150}
    ]
    assert all(c["by_language"] == {} for n in french["nodes"] for c in n["choices"])
    exact = json.loads(run("report", demo, "--db", db, "--format", "json", "--exact").output)
    assert exact["nodes"] == doc["nodes"] and exact["languages"] == doc["languages"]
    table = run("report", demo, "--db", db).output
    assert "Shares by the language the story was shown in" in table
    csv = run("report", demo, "--db", db, "--format", "csv").output
    assert "\nnode,choice,to,language,playthroughs,count,share,share_low,share_high\n" in csv
    html = run("report", demo, "--db", db, "--format", "html").output
    assert 'title="share of the picks by viewers who saw the story in fr' in html
