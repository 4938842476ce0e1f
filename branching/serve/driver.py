"""Textual's web driver for served players: quits cleanly when the server goes away.

Selected by the server with ``TEXTUAL_DRIVER=branching.serve.driver:ServeDriver``.

textual 8.2's ``WebDriver`` just stops reading when its input (the server's pipe) ends, and
nothing tells the app: a server that is killed (or crashes) would leave every player running
with nobody to talk to, holding its viewer's playthrough open. Here, the end of input posts
``ExitApp``, so the player records Quit, saves and exits; writes to a server that is gone are
dropped instead of failing the exit. The app has no use for opening URLs or sending files to
the browser, so those are refused here as well as in the server and the page.
"""

from __future__ import annotations

import contextlib
from typing import Any

from textual import messages
from textual.drivers.web_driver import WebDriver


class ServeDriver(WebDriver):
    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # input ended, but not because the app is exiting
            self._app.post_message(messages.ExitApp())

    def write(self, data: str) -> None:
        with contextlib.suppress(BrokenPipeError):  # the server is gone: nobody to draw for
            super().write(data)

    def write_meta(self, data: dict[str, object]) -> None:
        with contextlib.suppress(BrokenPipeError):
            super().write_meta(data)

    def write_binary_encoded(self, data: tuple[str | bytes, ...]) -> None:
        with contextlib.suppress(BrokenPipeError):
            super().write_binary_encoded(data)

    def open_url(self, url: str, new_tab: bool = True) -> None:
        """Never: story text must not open anything in the viewer's browser."""

    def deliver_binary(self, *args: Any, **kwargs: Any) -> None:
        """Never: the player sends no files to the browser."""
        raise RuntimeError("served players do not deliver files")
