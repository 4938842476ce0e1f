"""`branching serve` speaks the story's own language to viewers: the page, the player inside it,
the reasons a connection is refused or closed, and the "no free seat" page."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from branching.play.i18n import speaking
from branching.serve.server import IDLE, MAX_REASON, reason_bytes
from tests.serve.helpers import Player, serving

pytestmark = pytest.mark.slow

FRENCH = {
    "format": "branching/1",
    "id": "refuge",
    "title": "Le <Refuge>",
    "language": "fr",
    "start": "porte",
    "nodes": {
        "porte": {
            "title": "La porte",
            "text": "Le vent pousse la porte.",
            "choices": [{"id": "entrer", "label": "Entrer", "to": "fin"}],
        },
        "fin": {"text": "Il fait chaud.", "ending": {"title": "Au chaud", "kind": "good"}},
    },
}


async def test_a_french_story_is_served_in_french(tmp_path: Path) -> None:
    story = tmp_path / "refuge.json"
    story.write_text(json.dumps(FRENCH), encoding="utf-8")
    with serving(tmp_path, "--max-sessions", "1", "--warm", "0", story=story) as served:
        async with aiohttp.ClientSession() as http:
            async with http.get(served.url + "/") as page:
                html = await page.text()
            assert '<html lang="fr">' in html
            assert "L’histoire démarre…" in html and ">Rejouer</button>" in html
            seated = Player(served)
            await seated.connect(http)
            await seated.read_until("Choisir")  # the player's footer, in French
            late = Player(served)
            await late.connect(http)
            code, reason = await late.closed()
            assert code == 1013
            assert reason == "La seule place est prise. Réessayez dans une minute."
            async with http.get(served.url + "/") as page:
                full = await page.text()
            assert page.status == 503
            # The story's title is the writer's text: escaped inside the translated sentence.
            assert "La seule place pour <em>Le &lt;Refuge&gt;</em> est prise" in full
            assert "<title>Le &lt;Refuge&gt;\u00a0: aucune place libre</title>" in full
            await seated.close()


def test_a_translated_close_reason_fits_a_websocket_frame() -> None:
    with speaking("fr"):
        assert (
            reason_bytes(IDLE).decode()
            == "Fermée après une longue pause. Votre place est sauvegardée."
        )
    long = "é" * MAX_REASON
    assert len(reason_bytes(long)) <= MAX_REASON
    assert reason_bytes(long).decode().endswith("…")
