"""Reports speak the story's words: titles or first words with ids at hand, drop-offs ranked by
rate as well as count, hints that name the user's own files and the filters that exist, and a
first simulated report that looks like a real one."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from click.testing import CliRunner, Result

from analytics.render import step_name
from analytics.report import NodeReport, Report
from analytics.stats import wilson
from branching.cli import main
from branching.log import ChoiceLog
from tests.analytics.test_metrics import report as scripted_report

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "stories" / "demo.json"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def simulated(tmp_path: Path, *extra: str) -> Path:
    db = tmp_path / "choices.db"
    result = run("simulate", DEMO, "-n", "300", "--seed", "11", "--db", db, *extra)
    assert result.exit_code == 0, result.output
    return db


def test_the_first_simulation_has_drop_offs_to_read(tmp_path: Path) -> None:
    """No --quit-rate: the documented default makes some viewers leave, as real ones do."""
    db = simulated(tmp_path)
    table = run("report", DEMO, "--db", db).output
    assert "No drop-offs" not in table
    assert "Biggest drop-offs" in table and "Highest drop-off rates" in table
    none = tmp_path / "none.db"
    assert run("simulate", DEMO, "-n", "50", "--seed", "2", "--quit-rate", "0", "--db", none)
    assert "No drop-offs" in run("report", DEMO, "--db", none).output


def test_tables_name_nodes_by_their_words_with_the_id_after(tmp_path: Path) -> None:
    db = simulated(tmp_path)
    table = run("report", DEMO, "--db", db, "--top", "40").output
    # Choices lead to titles, not ids; paths and outcomes read as titles with the id after.
    assert "→ Green Light" in table and "→ Team Two" in table
    assert "Last Light — Day Two, 13:58 cold_open" in " ".join(table.split())
    assert not re.search(r"→ (rope_up|wave|crack)\b", table)


def test_html_flow_and_paths_speak_in_titles_with_ids_on_hover(tmp_path: Path) -> None:
    db = simulated(tmp_path)
    out = tmp_path / "report.html"
    assert run("report", DEMO, "--db", db, "--format", "html", "-o", out).exit_code == 0
    page = out.read_text(encoding="utf-8")
    start = page.index('<svg class="flow"')
    flow = page[start : page.index("</svg>", start)]
    shown = re.findall(r'<tspan class="nid">([^<]*)</tspan>', flow)
    assert shown and shown[0].startswith("Last Light")
    assert not any(re.fullmatch(r"[a-z_]+", text) for text in shown)  # no bare ids
    assert "<title>Last Light — Day Two, 13:58 (cold_open)" in flow
    paths = page[page.index("<h2>Most popular paths</h2>") :]
    assert '<span class="chip" title="Last Light — Day Two, 13:58 (cold_open)">' in paths
    assert ">cold_open</span>" not in paths


def _node(node_id: str, reached: int, dropped: int) -> NodeReport:
    template = scripted_report().nodes[0]
    ci = wilson(dropped, reached)
    return dataclasses.replace(
        template,
        id=node_id,
        label=node_id,
        ending=None,
        reached=reached,
        drop_offs=dropped,
        quits=dropped,
        drop_off_rate=dropped / reached,
        drop_off_ci=ci,
    )


def test_drop_offs_are_ranked_by_rate_as_well_as_count() -> None:
    base: Report = scripted_report()
    busy, risky, tiny = _node("busy", 1000, 300), _node("risky", 60, 40), _node("tiny", 3, 3)
    ranked = dataclasses.replace(
        base,
        nodes=[busy, risky, tiny],
        summary=dataclasses.replace(base.summary, started=1000),
    )
    assert [n.id for n in ranked.by_drop_off()] == ["busy", "risky", "tiny"]
    # By rate: risky (40 of 60) before busy; tiny (3 of 3) reached too few to be ranked.
    assert ranked.rate_floor() == 20
    assert [n.id for n in ranked.by_drop_off_rate()] == ["risky", "busy"]


def test_step_names() -> None:
    assert step_name({"a": "The Hall"}, "↶a") == ("The Hall", "a", True)


def test_an_empty_log_suggests_the_story_file_the_user_named(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    ChoiceLog.open(db).close()
    copy = tmp_path / "my story.json"
    copy.write_bytes(DEMO.read_bytes())
    result = run("report", copy, "--db", db)
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"branching simulate '{copy}' --playthroughs 1000" in said
    assert "whiteout.json" not in said


def test_an_unknown_variant_lists_the_variants_and_origins_there_are(tmp_path: Path) -> None:
    db = simulated(tmp_path, "--variant", "b")
    result = run("report", DEMO, "--db", db, "--variant", "nope")
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert "no playthroughs of 'whiteout' with the variant 'nope'" in said
    assert "Variants it has: 'b' (300)" in said and "origins: 'simulated' (300)" in said
