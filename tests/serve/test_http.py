"""What the server answers over plain HTTP: the page and its cookie, the fixed set of files,
and what it refuses (other names, other sites, other paths, other parameters)."""

from __future__ import annotations

import http.client
import re
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from tests.serve.helpers import ROOT, Served, new_viewer, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("http"), "--warm", "0") as running:
        yield running


def get(
    served: Served, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def viewer_cookie(headers: http.client.HTTPMessage) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(headers["Set-Cookie"])
    return cookie


def test_the_page_gives_a_new_browser_a_random_viewer_id_in_a_private_cookie(
    served: Served,
) -> None:
    status, headers, _ = get(served, "/")
    assert status == 200
    morsel = viewer_cookie(headers)["branching_viewer"]
    assert re.fullmatch(r"web-[A-Za-z0-9_-]{22}", morsel.value)
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert morsel["max-age"] == str(400 * 24 * 3600)
    assert not morsel["secure"]  # plain http on loopback; https (--public-url) makes it Secure
    assert headers["Cache-Control"] == "no-store"
    other = viewer_cookie(get(served, "/")[1])["branching_viewer"].value
    assert other != morsel.value


def test_a_returning_browser_keeps_its_id_and_a_forged_one_is_replaced(served: Served) -> None:
    viewer = new_viewer()
    _, headers, _ = get(served, "/", {"Cookie": f"branching_viewer={viewer}"})
    assert viewer_cookie(headers)["branching_viewer"].value == viewer  # renewed: 400 more days
    for forged in ("../../x", "alice", "web-" + "A" * 40, "web-AAAA AAAAAAAAAAAAAAAAAA"):
        _, headers, _ = get(served, "/", {"Cookie": f'branching_viewer="{forged}"'})
        assert viewer_cookie(headers)["branching_viewer"].value != forged


def test_every_response_allows_nothing_from_elsewhere(served: Served) -> None:
    for path in ("/", "/own/page.js", "/static/js/textual.js", "/nothing-here"):
        _, headers, _ = get(served, path)
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_the_page_and_its_files_name_no_other_server(served: Served) -> None:
    _, _, page = get(served, "/")
    assets = re.findall(rb'(?:href|src)="([^"]+)"', page)
    assert assets and all(a.startswith(b"/") and not a.startswith(b"//") for a in assets)
    for asset in assets:
        status, _, body = get(served, asset.decode())
        assert status == 200, asset
        if asset.startswith(b"/own/"):
            assert b"://" not in body  # our page's own script and style: nothing external
    _, _, css = get(served, "/own/page.css")
    assert b"/static/fonts/RobotoMono-VariableFont_wght.ttf" in css


@pytest.mark.parametrize(
    "path",
    [
        "/static/",
        "/static/js/",
        "/static/images/background.png",
        "/static/../pyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/own/",
        "/own/../child.py",
        "/download/abc",
        "/ws/../../etc/passwd",
        "/templates/player.html",
    ],
)
def test_no_other_path_reaches_the_file_system(served: Served, path: str) -> None:
    status, _, body = get(served, path)
    assert status == 404
    assert b"Index of" not in body


@pytest.mark.parametrize("query", ["?delay=1", "?ping=http://evil.example/", "?fontsize=12&x=1"])
def test_query_parameters_the_page_would_act_on_are_dropped(served: Served, query: str) -> None:
    status, headers, _ = get(served, "/" + query)
    assert status == 302 and headers["Location"] == "/"
    assert get(served, "/?fontsize=20")[0] == 200


def test_a_loopback_server_answers_only_to_its_own_names(served: Served) -> None:
    # DNS rebinding: a page at evil.example whose name now points at 127.0.0.1.
    for host in ("evil.example", f"evil.example:{served.port}", "127.0.0.1:1"):
        status, _, _ = get(served, "/", {"Host": host})
        assert status == 421
    for host in (f"localhost:{served.port}", f"127.0.0.1:{served.port}"):
        assert get(served, "/", {"Host": host})[0] == 200


def test_requests_from_another_site_are_refused(served: Served) -> None:
    status, _, _ = get(served, "/", {"Origin": "http://evil.example"})
    assert status == 403
    assert get(served, "/", {"Origin": served.url})[0] == 200


def test_the_story_title_is_text_in_the_page(tmp_path: Path) -> None:
    import json

    story = json.loads((ROOT / "stories" / "tutorial.json").read_text(encoding="utf-8"))
    story["title"] = '<img src=x onerror="alert(1)"> & Co'
    path = tmp_path / "titled.json"
    path.write_text(json.dumps(story), encoding="utf-8")
    with serving(tmp_path, "--warm", "0", story=path) as titled:
        _, _, page = get(titled, "/")
    assert b"<img" not in page
    assert b"&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Co" in page


def _raw(served: Served, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as connection:
        connection.sendall(request)
        return connection.recv(200)


def test_a_malformed_request_is_one_escaped_line_on_the_operators_terminal(
    served: Served,
) -> None:
    """Any client could fill the operator's terminal with aiohttp tracebacks quoting its own
    bytes (a bad header, a request line over 8 KB)."""
    before = len(served.output)
    bad_host = _raw(served, b"GET / HTTP/1.1\r\nHost: evil\x1b[31m\r\n\r\n")
    long_line = _raw(served, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b" 400 " in bad_host.split(b"\r\n")[0] and b" 400 " in long_line.split(b"\r\n")[0]
    for _ in range(100):
        if len(served.output) - before >= 2:
            break
        time.sleep(0.05)
    logged = "".join(served.output[before:])
    assert logged.count("Refused a malformed request from 127.0.0.1 (400)") == 2, logged
    assert "Traceback" not in logged and "\x1b" not in logged
