"""``branching serve`` refusing what it cannot do, with a message and its exit status; and the
per-tab process's handshake and environment."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from branching.cli import main
from branching.serve.child import read_handshake
from tests.serve.helpers import DEMO, ROOT, free_port


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_without_the_serve_extra_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # as if not installed
    result = run("serve", DEMO, "--home", tmp_path)
    assert result.exit_code == 2
    assert "pip install 'branching[serve]'" in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "url",
    ["stories.example.org", "ftp://x.example", "https://x.example/play", "https://u@x.example"],
)
def test_a_public_url_must_be_a_scheme_and_a_host(url: str, tmp_path: Path) -> None:
    result = run("serve", DEMO, "--home", tmp_path, "--public-url", url)
    assert result.exit_code == 2
    assert "--public-url" in result.output


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("--max-sessions", "0"), 2),
        (("--port", "70000"), 2),
        (("--idle-timeout", "nan"), 2),
        (("--time-scale", "0"), 2),
    ],
)
def test_option_values_out_of_range_are_usage_errors(
    args: tuple[str, ...], status: int, tmp_path: Path
) -> None:
    assert run("serve", DEMO, "--home", tmp_path, *args).exit_code == status


def test_a_broken_or_missing_story_is_refused_before_serving(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "branching/1", "id": "x", "start": "nowhere", "nodes": {}}')
    result = run("serve", broken, "--home", tmp_path / "home")
    assert result.exit_code == 1
    assert "broken.json" in result.output
    result = run("serve", tmp_path / "missing.json", "--home", tmp_path / "home")
    assert result.exit_code == 2


def test_an_unusable_home_or_log_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "a-file"
    file.write_text("")
    assert run("serve", DEMO, "--home", file).exit_code == 2  # a file, not a folder
    result = run("serve", DEMO, "--home", file / "inside")
    assert result.exit_code == 1
    assert "Cannot use" in result.output and "Traceback" not in result.output
    result = run("serve", DEMO, "--home", tmp_path / "h", "--db", tmp_path / "no" / "log.db")
    assert result.exit_code == 1
    assert "log.db" in result.output


def test_a_busy_port_is_said_and_other_machines_get_a_warning(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", port))
        taken.listen()
        result = subprocess.run(
            [
                *(sys.executable, "-m", "branching", "serve", str(DEMO), "--host", "0.0.0.0"),
                *("--port", str(port), "--home", str(tmp_path), "--warm", "0"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
    assert result.returncode == 2
    assert "warning: listening on 0.0.0.0: anyone who can reach it can play" in result.stderr
    # By default it logs where every other command reads: the report needs no --db.
    default_log = Path(os.environ["BRANCHING_HOME"]) / "choices.db"
    assert f"Choices are logged to {default_log};" in result.stderr
    assert f"See them with: branching report {DEMO}\n" in result.stderr
    assert default_log.is_file()
    assert f"Cannot listen on 0.0.0.0:{port}" in result.stderr
    assert "Traceback" not in result.stderr


# --- the per-tab process -----------------------------------------------------------------


def handshake(data: bytes) -> tuple[str, int, int] | None:
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        return read_handshake()
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read)


def test_the_handshake_gives_the_viewer_and_a_bounded_size() -> None:
    viewer = "web-" + "A" * 22
    line = json.dumps({"viewer": viewer, "width": 9999, "height": 1}).encode() + b"\nD\x00"
    assert handshake(line) == (viewer, 500, 10)
    assert handshake(b"") is None  # the pool closing before any viewer came


@pytest.mark.parametrize(
    "line",
    [
        b'{"viewer": "alice", "width": 80, "height": 24}\n',
        b'{"viewer": "web-AAAAAAAAAAAAAAAAAAAAAA", "width": "80", "height": 24}\n',
        b"[1, 2]\n",
        b"not json\n",
        b"[" * 3000 + b"\n",
        b"x" * 5000 + b"\n",
    ],
)
def test_a_bad_handshake_is_refused(line: bytes) -> None:
    with pytest.raises(ValueError):
        handshake(line)


def test_a_player_gets_none_of_the_server_users_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    from branching.serve.children import ChildOptions

    for name, value in {
        "BRANCHING_VIEWER": "server-user",
        "BRANCHING_DB": "/home/me/choices.db",
        "TEXTUAL": "debug,devtools",
        "TEXTUAL_LOG": "x.log",
        "NO_COLOR": "1",
    }.items():
        monkeypatch.setenv(name, value)
    options = ChildOptions(story=DEMO, db=Path("/srv/log.db"), home=Path("/srv/home"))
    env = options.environment()
    assert "BRANCHING_VIEWER" not in env and "BRANCHING_DB" not in env
    assert "TEXTUAL" not in env and "TEXTUAL_LOG" not in env and "NO_COLOR" not in env
    assert env["BRANCHING_HOME"] == "/srv/home"
    assert env["TEXTUAL_DRIVER"] == "branching.serve.driver:ServeDriver"
    argv = options.argv()
    assert argv[1:4] == ["-P", "-m", "branching.serve.child"]
    assert "--db" in argv and "/srv/log.db" in argv
