"""A tab that closes while the server answers it ends its session quietly (no traceback on the
server's console): the message loop with a websocket whose peer has gone."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

pytest.importorskip("textual_serve")

from branching.serve.children import ViewerAppService
from branching.serve.server import BranchingServer, Limits


class GoneWebSocket:
    """A websocket whose browser sent a ping and closed before the pong."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def receive(self, timeout: float) -> aiohttp.WSMessage:
        return aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, json.dumps(["ping", "1"]), None)

    async def send_json(self, data: Any) -> None:
        self.sent.append(data)
        raise aiohttp.ClientConnectionResetError("Cannot write to closing transport")


async def test_a_pong_to_a_closed_tab_ends_the_loop_without_an_error() -> None:
    server = BranchingServer.__new__(BranchingServer)  # only the loop's own state is needed
    server.limits = Limits()
    service = ViewerAppService.__new__(ViewerAppService)
    service.last_input = time.monotonic()
    websocket = GoneWebSocket()
    await server._process_messages(websocket, service)  # type: ignore[arg-type]
    assert websocket.sent == [["pong", "1"]]
