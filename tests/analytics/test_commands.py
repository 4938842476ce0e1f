"""``branching simulate`` and ``branching report`` as a producer uses them."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.log import ChoiceLog
from tests.analytics import scripted

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"

#: The documented keys of the JSON document (docs/analytics.md); changing them is a breaking
#: change of the report format.
TOP_KEYS = {
    "format",
    "generated_at",
    "source",
    "unit",
    "story",
    "filters",
    "playthroughs",
    "languages",
    "nodes",
    "paths",
    "endings",
    "coverage",
    "experiments",
    "notes",
    "definitions",
}
NODE_KEYS = {
    "id",
    "label",
    "authored",
    "ending",
    "timed",
    "reached",
    "visits",
    "choices_made",
    "explicit",
    "timeouts",
    "drop_offs",
    "quits",
    "failures",
    "open_here",
    "drop_off_rate",
    "drop_off_ci",
    "rewinds",
    "decision_ms_median",
    "decision_ms_p90",
    "choices",
}
CHOICE_KEYS = {
    "id",
    "to",
    "label",
    "authored",
    "default",
    "count",
    "share",
    "share_ci",
    "timeouts",
    "timeout_share",
    "timeout_share_ci",
    "taken",
    "taken_share",
    "taken_share_ci",
    "by_language",
}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def write_story(tmp_path: Path, data: dict[str, Any], name: str = "story.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "choices.db"
    result = run(
        "simulate", DEMO, "-n", "300", "--seed", "7", "--quit-rate", "0.05",
        "--rewind-rate", "0.05", "--db", db,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return db


def test_simulate_logs_and_prints_coverage(demo_db: Path) -> None:
    with ChoiceLog.open(demo_db, readonly=True) as log:
        assert log.conn.execute("SELECT count(*) FROM playthroughs").fetchone() == (300,)
        origins = log.conn.execute("SELECT DISTINCT origin FROM playthroughs").fetchall()
    assert origins == [("simulated",)]


def test_simulate_summary_names_dark_content_and_faults(tmp_path: Path) -> None:
    data = copy.deepcopy(scripted.STORY_DATA)
    # A node whose only choice is never offered: every visit is a runtime fault.
    data["nodes"]["drown"] = {
        "text": "Cold water.",
        "choices": [{"label": "Swim up", "to": "town", "if": "visits('secret') > 0"}],
    }
    story = write_story(tmp_path, data)
    result = run("simulate", story, "-n", "200", "--seed", "1", "--no-log")
    assert result.exit_code == 0, result.output
    assert "Simulated 200 playthroughs" in result.output
    assert "nodes: 6 of 7 reached; never reached: secret" in result.output
    assert "choices: 6 of 8 reached; never reached: drown:town, secret:town" in result.output
    assert "endings: 2 of 2 reached" in result.output
    assert "Runtime faults" in result.output and "every choice is disabled" in result.output
    assert not (tmp_path / "choices.db").exists()


def test_simulate_is_reproducible(tmp_path: Path) -> None:
    documents = []
    for name in ("a.db", "b.db"):
        run("simulate", DEMO, "-n", "120", "--seed", "42", "--rewind-rate", "0.1", "--db",
            tmp_path / name)  # fmt: skip
        result = run("report", DEMO, "--db", tmp_path / name, "--format", "json")
        doc = json.loads(result.output)
        documents.append({k: doc[k] for k in ("playthroughs", "nodes", "paths", "endings")})
    assert documents[0] == documents[1]


def test_simulate_same_seed_twice_into_one_log_is_refused_clearly(demo_db: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", str(DEMO), "-n", "5", "--seed", "7",
                                       "--db", str(demo_db)])  # fmt: skip
    assert result.exit_code == 1
    assert "use another --seed" in result.output
    assert "Traceback" not in result.output


def test_least_taken_reaches_at_least_as_much(tmp_path: Path) -> None:
    covered = {}
    for flag in ([], ["--least-taken"]):
        # Nobody leaves early here: the comparison is of how the choices are picked.
        result = run(
            "simulate", DEMO, "-n", "25", "--seed", "3", "--quit-rate", "0", "--no-log", *flag
        )
        match = re.search(r"choices: (\d+) of", result.output)
        assert match
        covered[bool(flag)] = int(match.group(1))
    assert covered[True] >= covered[False]
    assert covered[True] > 50


def test_json_document(demo_db: Path) -> None:
    result = run("report", DEMO, "--db", demo_db, "--format", "json", "--top", "5")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc) == TOP_KEYS
    assert doc["format"] == "branching-report/1" and doc["unit"] == "playthrough"
    assert doc["story"]["id"] == "whiteout"
    p = doc["playthroughs"]
    assert p["started"] == 300 == p["completed"] + p["quit"] + p["failed"] + p["open"]
    assert len(doc["nodes"]) == 40 and all(set(n) == NODE_KEYS for n in doc["nodes"])
    assert all(set(c) == CHOICE_KEYS for n in doc["nodes"] for c in n["choices"])
    assert len(doc["paths"]) == 5
    assert all(set(x) == {"nodes", "playthroughs", "share", "outcome"} for x in doc["paths"])
    shares = [x["playthroughs"] for x in doc["paths"]]
    assert shares == sorted(shares, reverse=True)
    assert sum(e["playthroughs"] for e in doc["endings"]) == p["completed"]
    assert set(doc["coverage"]) == {"nodes", "choices", "endings", "unknown_nodes"}
    start = next(n for n in doc["nodes"] if n["id"] == "cold_open")
    assert start["reached"] == 300
    assert sum(c["taken"] for c in start["choices"]) == start["choices_made"]


def test_table_report_has_the_sections(demo_db: Path) -> None:
    result = run("report", DEMO, "--db", demo_db)
    assert result.exit_code == 0, result.output
    for heading in ("Unit: playthroughs", "Biggest drop-offs", "Choices at the busiest branch",
                    "Most popular paths", "Endings", "Coverage", "Definitions"):  # fmt: skip
        assert heading in result.output


def test_csv_files(demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "whiteout.csv"
    result = run("report", DEMO, "--db", demo_db, "--format", "csv", "-o", out)
    assert result.exit_code == 0, result.output
    nodes = list(csv.DictReader(io.StringIO((tmp_path / "whiteout-nodes.csv").read_text())))
    choices = list(csv.DictReader(io.StringIO((tmp_path / "whiteout-choices.csv").read_text())))
    assert len(nodes) == 40 and nodes[0]["node"] == "cold_open" and nodes[0]["reached"] == "300"
    assert len(choices) == 70 and {"node", "choice", "share", "share_low"} <= set(choices[0])


def test_date_filters(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    run("simulate", DEMO, "-n", "100", "--seed", "1", "--days", "10", "--db", db)
    whole = json.loads(run("report", DEMO, "--db", db, "--format", "json").output)
    assert whole["playthroughs"]["started"] == 100
    result = run("report", DEMO, "--db", db, "--format", "json", "--since", "2000-01-01",
                 "--until", "2000-01-02")  # fmt: skip
    assert result.exit_code == 1 and "No playthroughs of 'whiteout' match" in result.output
    bad = CliRunner().invoke(main, ["report", str(DEMO), "--db", str(db), "--since", "yesterday"])
    assert bad.exit_code == 2 and "is not a date" in bad.output


# --- Clear messages, never a traceback ----------------------------------------------------------


def test_no_log_file(tmp_path: Path) -> None:
    result = run("report", DEMO, "--db", tmp_path / "none.db")
    assert result.exit_code == 1
    assert "No choice log at" in result.output and "branching simulate" in result.output


def test_empty_log(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    ChoiceLog.open(db).close()
    result = run("report", DEMO, "--db", db)
    assert result.exit_code == 1 and "is empty" in result.output


def test_log_of_another_story(demo_db: Path, tmp_path: Path) -> None:
    story = write_story(tmp_path, scripted.STORY_DATA)
    result = run("report", story, "--db", demo_db, "--format", "html")
    assert result.exit_code == 1
    assert "no playthroughs of story 'caves'" in result.output and "'whiteout'" in result.output


def test_log_of_another_version(demo_db: Path, tmp_path: Path) -> None:
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    logged = data["version"]
    data["version"] = "2.0"
    story = write_story(tmp_path, data)
    result = run("report", story, "--db", demo_db)
    assert result.exit_code == 1
    assert f"version {logged}: 300 playthroughs" in result.output
    assert "--all-versions" in result.output
    ok = run("report", story, "--db", demo_db, "--all-versions", "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.output)["playthroughs"]["started"] == 300
    assert any("another file of this story" in n for n in json.loads(ok.output)["notes"])


def test_bad_story_file(tmp_path: Path, demo_db: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = run("report", bad, "--db", demo_db)
    # Not JSON: exit 2, as for every command that reads a story (1 is for a story with errors).
    assert result.exit_code == 2 and "cannot be read" in result.output


def test_spawned_cli_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    ChoiceLog.open(db).close()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "branching",
            "report",
            str(DEMO),
            "--db",
            str(db),
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "empty" in out.stderr and out.stdout == ""


# --- Story text is data ---------------------------------------------------------------------------

HOSTILE = "[bold red]red[/] [@click=app.bell]x[/] <script>alert(1)</script> =1+1"


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    data = copy.deepcopy(scripted.STORY_DATA)
    data["title"] = HOSTILE
    data["nodes"]["hall"]["title"] = HOSTILE
    data["nodes"]["hall"]["choices"][0]["label"] = '=HYPERLINK("http://evil","x")'
    data["nodes"]["hall"]["choices"][1]["label"] = HOSTILE
    story = write_story(tmp_path, data)
    db = tmp_path / "h.db"
    assert run("simulate", story, "-n", "40", "--seed", "2", "--db", db).exit_code == 0
    return story, db


def test_table_shows_markup_literally(hostile: tuple[Path, Path]) -> None:
    story, db = hostile
    result = run("report", story, "--db", db)
    assert result.exit_code == 0, result.output
    assert "[bold red]red[/]" in result.output and "[@click=app.bell]" in result.output


def test_csv_guards_formulas(hostile: tuple[Path, Path]) -> None:
    story, db = hostile
    result = run("report", story, "--db", db, "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.output)))
    labels = [row[3] for row in rows if len(row) > 3 and row[0] == "hall"]
    assert '\'=HYPERLINK("http://evil","x")' in labels
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_html_is_self_contained_and_escaped(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    story, db = hostile
    out = tmp_path / "r.html"
    assert run("report", story, "--db", db, "--format", "html", "-o", out).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Nothing fetched when viewing: no external resources at all.
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page)
    assert "http://evil" in page  # only as escaped text
    assert page.count("<svg") >= 2  # the flow diagram and the interval marks


def test_log_data_with_control_characters_is_shown_not_obeyed(tmp_path: Path) -> None:
    """A merged or hand-made log can hold anything: it must never drive the terminal."""
    from branching.play.events import ChoiceMade, NodeEntered, PlaythroughInfo, Quit

    story = write_story(tmp_path, scripted.STORY_DATA)
    db = tmp_path / "odd.db"
    evil = "cave\x1b]2;pwned\x07[bold]"
    with ChoiceLog.open(db) as log, log.bulk_writer() as writer:
        info = PlaythroughInfo("x" * 32, "caves", "1", "sha256:x", "viewer\x1b[2J", None)
        events = [NodeEntered("hall"), ChoiceMade("hall", "left", evil, 900), NodeEntered(evil)]
        writer.write_playthrough(info, [(1.7e9, e) for e in [*events, Quit(evil)]])
    table = run("report", story, "--db", db)
    assert table.exit_code == 0, table.output
    assert "\x1b" not in table.output and "\x07" not in table.output
    assert "cave\\x1b]2;pwned\\x07[bold]" in table.output  # shown literally, markup too
    html = run("report", story, "--db", db, "--format", "html").output
    assert "\x1b" not in html and "cave\\x1b]2;pwned\\x07[bold]" in html


def test_simulated_playthroughs_stay_apart_from_viewers(demo_db: Path) -> None:
    from branching.play.events import NodeEntered, PlaythroughInfo, Quit

    only_simulated = json.loads(run("report", DEMO, "--db", demo_db, "--format", "json").output)
    assert only_simulated["filters"]["origins"] == ["simulated"]
    assert any("simulated audience" in n for n in only_simulated["notes"])
    version = json.loads(DEMO.read_text(encoding="utf-8"))["version"]
    with ChoiceLog.open(demo_db) as log:
        for i in range(2):
            info = PlaythroughInfo(f"live{i}", "whiteout", version, "sha256:x", f"viewer{i}")
            recorder = log.start_playthrough(info)
            recorder.record(NodeEntered("cold_open"))
            recorder.record(Quit("cold_open"))
    viewers = json.loads(run("report", DEMO, "--db", demo_db, "--format", "json").output)
    assert viewers["playthroughs"]["started"] == 2
    assert viewers["filters"]["origins"] == ["live", "imported"]
    assert (
        "300 simulated playthroughs are left out (--origin simulated shows them)."
        in (viewers["notes"])
    )
    both = run("report", DEMO, "--db", demo_db, "--format", "json", "--origin", "live",
               "--origin", "simulated")  # fmt: skip
    assert json.loads(both.output)["playthroughs"]["started"] == 302
