"""``branching suggest``: what a viewer could explore next, and how good the suggestions are.

``branching suggest STORY --viewer ID`` (short for ``suggest show``) prints the suggestions
the players show at the ending of that viewer's latest way to an ending; ``branching suggest
evaluate STORY`` measures them against what returning viewers did next. The ranking is
:mod:`analytics.suggest`; the log's ``rollup_runs`` feeds it (:mod:`branching.log.runs`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from branching.commands._options import check_viewer, db_option, using_log
from branching.log.location import DbLocation
from branching.story.untrusted import json_text, printable

if TYPE_CHECKING:
    from branching.log.runs import Route
    from branching.play.profiles import ViewerProfile
    from branching.story.model import Story


class _SuggestGroup(click.Group):
    """``suggest STORY`` runs ``suggest show STORY``; ``suggest evaluate STORY`` evaluates."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("suggest", cls=_SuggestGroup)
def suggest_group() -> None:
    """What to explore next: `branching suggest STORY --viewer ID` (short for `suggest show`)
    prints the suggestions a viewer sees at the ending; `suggest evaluate` measures them.

    Suggestions are choices at the viewer's own choice points, ranked by what viewers with
    alike endings did (docs/suggestions.md). Everything is computed from the local log.
    """


_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)


@suggest_group.command("show")
@click.argument("story", type=click.Path(dir_okay=False))
@click.option(
    "--viewer",
    callback=check_viewer,
    metavar="ID",
    help="The viewer (default: you, as `branching viewer id` prints).",
)
@db_option
@_FORMAT
def show(story: str, viewer: str | None, db: DbLocation, fmt: str) -> None:
    """Print the suggestions for VIEWER's latest way to an ending of STORY.

    The same suggestions the players show on the ending screen: up to three choices at the
    playthrough's own choice points, each with its reason. Exit status: 0 (also when the
    viewer has no ending yet), 1 when the story has errors or the log cannot be read, 2 when
    the story cannot be read.
    """
    from branching.commands._audience import suggestions_for
    from branching.commands._io import load_story_or_exit, write_output
    from branching.log.runs import runs_of, story_runs
    from branching.play.audience import replay
    from branching.play.home import resolve_viewer
    from branching.story.experiments import assignments

    loaded = load_story_or_exit(story, "read")
    who = viewer or resolve_viewer().id
    if not db.path.exists():
        raise click.ClickException(f"No choice log at {db.describe()}.")
    with using_log(db, create=False) as log:
        conn = log.conn
        latest: tuple[str, Route, str] | None = None
        for pk, public in conn.execute(
            "SELECT pk, id FROM playthroughs WHERE viewer = ? AND story_id = ? "
            "ORDER BY updated_at DESC, id DESC",
            (who, loaded.id),
        ):
            runs = runs_of(conn, pk)
            if runs:
                latest = (public, runs[-1].route, runs[-1].ending)
                break
        rows = story_runs(conn, loaded.id) if latest else []
        before = _viewer_before(conn, who, loaded.id, latest[0]) if latest else None
    data: dict[str, Any] = {"story": loaded.id, "viewer": who, "playthrough": None}
    if latest is None:
        data["suggestions"] = []
        data["note"] = "this viewer has not reached an ending of the story yet"
    else:
        public, route, ending = latest
        session = replay(loaded, route, assignments(loaded, who, {}), before)
        data["playthrough"] = public
        data["ending"] = ending
        if session.status != "ended" or session.node_id != ending:
            data["suggestions"] = []
            data["note"] = "that playthrough no longer fits the story (it was edited)"
        else:
            from analytics.suggest import ending_title

            data["ending_title"] = ending_title(loaded, ending)
            data["endings_found"] = sorted(
                {e for w, e, node, _c, n in rows if w == who and not node and n}
            )
            data["suggestions"] = [
                {
                    "step": item.step + 1,
                    "node": item.node,
                    "node_label": item.point_label,
                    "choice": item.choice,
                    "choice_label": item.choice_label,
                    "reason": item.reason,
                }
                for item in suggestions_for(session, rows, who)
            ]
    if fmt == "json":
        write_output(json_text(data, indent=2) + "\n", None)
    else:
        write_output(_show_text(loaded, data), None)


def _show_text(story: Story, data: dict[str, Any]) -> str:
    lines = []
    who = printable(data["viewer"], one_line=True)
    if "note" in data:
        return f"{printable(story.title, one_line=True)}, viewer {who}: {data['note']}.\n"
    found = len(data["endings_found"])
    total = len(story.endings())
    lines.append(
        f"Viewer {who} last reached “{printable(data['ending_title'], one_line=True)}” "
        f"(playthrough {printable(data['playthrough'], one_line=True)}); "
        f"{found} of the story's {total} endings found."
    )
    if not data["suggestions"]:
        lines.append("Nothing to suggest: that playthrough had no other choices to try.")
    else:
        lines.append("What to explore next:")
        for number, item in enumerate(data["suggestions"], 1):
            where = printable(item["node_label"], one_line=True)
            choice = printable(item["choice_label"], one_line=True)
            lines.append(f"{number}. Go back to “{where}” and choose “{choice}”.")
            lines.append(f"   {printable(item['reason'], one_line=True)}.")
    return "\n".join(lines) + "\n"


@suggest_group.command("evaluate")
@click.argument("story", type=click.Path(dir_okay=False))
@db_option
@_FORMAT
def evaluate(story: str, db: DbLocation, fmt: str) -> None:
    """Measure the suggestions against what returning viewers did next.

    Each viewer with two or more playthroughs that reached an ending is shown, for their first
    playthrough, the suggestions everybody else's runs give (their own are left out); a hit at
    k is their next playthrough taking one of the top k suggested choices. Beside it: the same
    choice points ranked by popularity, and at random (its exact expected rate). Below 30
    evaluated viewers it says there is not enough data.
    """
    from analytics.suggest import Played
    from analytics.suggest import evaluate as run_evaluation
    from branching.commands._audience import points_of
    from branching.commands._io import load_story_or_exit, write_output
    from branching.log.runs import story_playthrough_runs, story_runs
    from branching.play.audience import replay
    from branching.story.experiments import assignments

    loaded = load_story_or_exit(story, "read")
    if not db.path.exists():
        raise click.ClickException(f"No choice log at {db.describe()}.")
    with using_log(db, create=False) as log:
        played = [
            Played(p.viewer, p.started_at, p.playthrough, p.runs[0].route, p.runs[0].ending)
            for _, p in story_playthrough_runs(log.conn, loaded.id)
        ]
        rows = story_runs(log.conn, loaded.id)

    def points(item: Played) -> Any:
        return points_of(replay(loaded, item.route, assignments(loaded, item.viewer, {})))

    result = run_evaluation(loaded, played, rows, points)
    if fmt == "json":
        write_output(json_text({"story": loaded.id, **result.as_dict()}, indent=2) + "\n", None)
        return
    title = printable(loaded.title, one_line=True)
    lines = [
        f"Suggestions for “{title}”: {result.viewers:,} viewers reached an ending, "
        f"{result.returning:,} came back for another, {result.evaluated:,} evaluated."
    ]
    if not result.enough:
        lines.append(
            f"Not enough data: at least {result.minimum} returning viewers are needed to "
            "measure the suggestions."
        )
    else:
        lines.append(
            "A hit: the viewer's next playthrough took one of the top k choices suggested after "
            "their first."
        )
        lines.append("")
        lines.append(f"{'ranking':<13}{'hit@1':>8}{'hit@3':>8}")
        for method in result.methods:
            at1, at3 = method.rates(result.evaluated)
            lines.append(f"{method.name:<13}{at1:>8.1%}{at3:>8.1%}")
    write_output("\n".join(lines) + "\n", None)


def _viewer_before(conn: Any, viewer: str, story_id: str, playthrough: str) -> ViewerProfile:
    """What the log says ``viewer`` had done before ``playthrough``: how many playthroughs of
    the story they began and which endings those reached (profile values are not logged, so a
    replay starts from the story's defaults)."""
    from branching.play.profiles import ViewerProfile

    (started,) = conn.execute(
        "SELECT started_at FROM playthroughs WHERE id = ?", (playthrough,)
    ).fetchone()
    earlier = (
        "FROM playthroughs WHERE viewer = ? AND story_id = ? "
        "AND (started_at < ? OR (started_at = ? AND id < ?))"
    )
    arguments = (viewer, story_id, started, started, playthrough)
    (count,) = conn.execute(f"SELECT count(*) {earlier}", arguments).fetchone()
    endings = {
        ending
        for (ending,) in conn.execute(
            f"SELECT DISTINCT ending {earlier} AND ending IS NOT NULL", arguments
        )
    }
    return ViewerProfile(playthroughs=int(count), endings=frozenset(endings))
