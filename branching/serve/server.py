"""The web server: one page, one websocket per tab, one player process per websocket.

Built on textual-serve's :class:`~textual_serve.server.Server` (pinned to 1.1.x: the methods
overridden here are not a public API). What it adds or takes away:

* Routes: ``/`` (the page), ``/ws`` (the player), and a fixed list of static files read once
  at start (no directory listing, no ``/download``): no path from the browser reaches the
  file system, and only the story given at start can be played.
* Viewer identity: a random id in an HttpOnly, SameSite=Lax cookie set by the page (Secure
  over HTTPS); the websocket refuses a missing or malformed one. The id reaches the player
  only in its handshake line, never the server user's own id.
* Limits: at most ``max_sessions`` players at once (a "no free seat" page with Retry-After,
  or a websocket closed with code 1013 and a reason); one live session per viewer (a second
  tab takes over: the first quits and saves before the second resumes the save); a session
  idle for ``idle_timeout`` seconds is closed (it saves); terminal sizes are bounded.
* Requests: on loopback (or with ``public_url``) only our own ``Host`` names are answered
  (DNS rebinding); a request with an ``Origin`` must come from that host (cross-site
  websockets); every response carries a Content-Security-Policy that allows nothing but this
  server; query parameters other than ``fontsize`` are dropped with a redirect (textual.js
  would act on ``delay`` and ``ping``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from branching.play.i18n import N_, _, current_language, ngettext
from branching.serve.child import MAX_SIZE, MIN_SIZE
from branching.serve.children import ChildOptions, StartFailed, ViewerAppService, WarmPool
from branching.serve.identity import (
    COOKIE,
    COOKIE_MAX_AGE,
    VIEWER_RE,
    is_loopback,
    loopback_hosts,
    new_viewer_id,
)
from branching.story.untrusted import printable

log = logging.getLogger("branching.serve")


class _EscapedFormatter(logging.Formatter):
    """Log lines with control characters escaped: what clients send (a header, a path) is
    quoted in some messages, and must not drive the operator's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _malformed_request_in_one_line(record: logging.LogRecord) -> bool:
    """A request aiohttp cannot parse (a bad header, a line too long) is the client's error,
    not the server's: one line saying so, not a traceback per request on the operator's
    terminal. Errors in the server's own code keep theirs."""
    from aiohttp.http_exceptions import HttpProcessingError

    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, HttpProcessingError):
        client = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        reason = " ".join(str(error.message).split())[:200]
        record.msg, record.args = (
            "Refused a malformed request from %s (%s): %s",
            (
                client,
                error.code,
                reason,
            ),
        )
        record.exc_info = record.exc_text = None
    return True


HERE = Path(__file__).resolve().parent
TEXTUAL_SERVE_STATIC = Path(textual_serve.__file__).resolve().parent / "static"
#: Every file the page needs, and nothing else: URL -> (file, content type).
STATIC_FILES = {
    "/static/js/textual.js": (TEXTUAL_SERVE_STATIC / "js/textual.js", "text/javascript"),
    "/static/css/xterm.css": (TEXTUAL_SERVE_STATIC / "css/xterm.css", "text/css"),
    "/static/fonts/RobotoMono-VariableFont_wght.ttf": (
        TEXTUAL_SERVE_STATIC / "fonts/RobotoMono-VariableFont_wght.ttf",
        "font/ttf",
    ),
    "/static/fonts/RobotoMono-Italic-VariableFont_wght.ttf": (
        TEXTUAL_SERVE_STATIC / "fonts/RobotoMono-Italic-VariableFont_wght.ttf",
        "font/ttf",
    ),
    "/own/page.js": (HERE / "static/page.js", "text/javascript"),
    "/own/page.css": (HERE / "static/page.css", "text/css"),
}
CSP = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
#: A websocket message from a browser: keys typed or pasted, a resize (64 KiB is plenty).
MAX_MESSAGE = 64 * 1024
#: Seconds a browser is asked to wait when every seat is taken.
RETRY_AFTER = 30

# Why the page's connection was closed, in the viewer's words (translated where sent).
TAKEN_OVER = N_("You opened this story in another tab, so it was closed here. Your place is saved.")
IDLE = N_("Closed after a long pause. Your place is saved.")
NO_COOKIE = N_("This page needs cookies to keep your place. Please allow them and reload.")
SHUTDOWN = N_("The server is stopping. Your place is saved.")
#: A websocket's close reason holds at most this many bytes of UTF-8.
MAX_REASON = 123


def full_house(cap: int) -> str:
    """Why a viewer cannot play now (a websocket close reason: see :func:`reason_bytes`).

    >>> full_house(1)
    'The only seat is taken. Please try again in a minute.'
    >>> full_house(20)
    'All 20 seats are taken. Please try again in a minute.'
    """
    if cap == 1:
        return _("The only seat is taken. Please try again in a minute.")
    return ngettext(
        "All %(count)d seats are taken. Please try again in a minute.",
        "All %(count)d seats are taken. Please try again in a minute.",
        cap,
    ) % {"count": cap}


def reason_bytes(reason: str) -> bytes:
    """A close reason for the page, in the viewer's language, cut to the bytes a websocket
    allows (at a character, with an ellipsis) so a longer translation never fails the close.

    >>> reason_bytes(IDLE)
    b'Closed after a long pause. Your place is saved.'
    >>> len(reason_bytes("é" * 100)), reason_bytes("é" * 100).decode()[-1]
    (123, '…')
    """
    data = _(reason).encode()
    if len(data) <= MAX_REASON:
        return data
    cut = data[: MAX_REASON - len("…".encode())].decode(errors="ignore")
    return (cut + "…").encode()


@dataclass(frozen=True, slots=True)
class Limits:
    max_sessions: int = 20
    idle_timeout: float = 30 * 60
    warm: int = 2


def bounded(value: Any, default: int, low: int) -> int:
    """A terminal dimension from a browser, clamped to what a player accepts.

    >>> bounded("120", 80, 20), bounded("x", 80, 20), bounded("99999", 80, 20), bounded(3, 80, 20)
    (120, 80, 500, 20)
    """
    try:
        number = int(str(value)[:8])
    except ValueError:
        number = default
    return max(low, min(MAX_SIZE, number))


class BranchingServer(Server):
    """Serves one story's player to browsers."""

    def __init__(
        self,
        child: ChildOptions,
        *,
        title: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        public_url: str | None = None,
        limits: Limits = Limits(),
        announce: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(
            command="branching.serve.child",
            host=host,
            port=port,
            title=title,
            public_url=public_url,
            statics_path=TEXTUAL_SERVE_STATIC,
            templates_path=HERE / "templates",
        )
        self.child = child
        self.limits = limits
        self.announce = announce
        self.pool = WarmPool(child, limits.warm)
        self.sessions: dict[str, ViewerAppService] = {}
        #: Seats taken, counting sessions still starting (checked and taken with no await
        #: in between, so two connections cannot both take the last seat).
        self.reserved = 0
        self.by_viewer: dict[str, ViewerAppService] = {}
        self.viewer_locks: dict[str, asyncio.Lock] = {}
        self.static: dict[str, tuple[bytes, str]] = {}
        self.allowed_hosts: frozenset[str] | None
        self.scheme: str | None = None
        if public_url is not None:
            parts = urlsplit(public_url)
            self.scheme = parts.scheme
            self.allowed_hosts = frozenset({parts.netloc})
        elif is_loopback(host):
            self.allowed_hosts = loopback_hosts(port)
        else:
            self.allowed_hosts = None  # any name this address is reached by (warned at start)

    # --- the aiohttp application ----------------------------------------------------------

    async def _make_app(self) -> web.Application:
        self.static = {
            url: (file.read_bytes(), content_type)
            for url, (file, content_type) in STATIC_FILES.items()
        }
        app = web.Application(middlewares=[self.guard], client_max_size=64 * 1024)
        # autoescape: the story's title is the writer's text
        environment = aiohttp_jinja2.setup(
            app,
            loader=jinja2.FileSystemLoader(self.templates_path),
            autoescape=jinja2.select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
        )
        # The pages speak the player's language (the story's): translated text is trusted,
        # the values put in it (the story's title) are escaped.
        environment.install_gettext_callables(_, ngettext, newstyle=True)  # type: ignore[attr-defined]
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/favicon.ico", self.handle_favicon),
                *(web.get(url, self.handle_static) for url in self.static),
            ]
        )
        app.on_response_prepare.append(self.add_headers)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    def scheme_of(self, request: web.Request) -> str:
        return self.scheme or ("https" if request.secure else "http")

    @web.middleware
    async def guard(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return web.Response(status=421, text="This server does not answer to that name.\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{self.scheme_of(request)}://{host}":
            return web.Response(status=403, text="Cross-site request refused.\n")
        return await handler(request)

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """On every response, errors included: allow nothing from anywhere but this server."""
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")

    async def handle_static(self, request: web.Request) -> web.StreamResponse:
        body, content_type = self.static[request.path]
        return web.Response(
            body=body, content_type=content_type, headers={"Cache-Control": "max-age=3600"}
        )

    async def handle_favicon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    def viewer_of(self, request: web.Request) -> str | None:
        value = request.cookies.get(COOKIE)
        return value if value is not None and VIEWER_RE.match(value) else None

    def remember_viewer(self, request: web.Request, response: web.StreamResponse) -> None:
        """Set the viewer cookie: the browser's id, or a new one; renewed on every visit (the
        400-day lifetime counts from the last visit)."""
        response.set_cookie(
            COOKIE,
            self.viewer_of(request) or new_viewer_id(),
            max_age=COOKIE_MAX_AGE,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.scheme_of(request) == "https",
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if set(request.query) - {"fontsize"}:
            raise web.HTTPFound("/")
        base = {"title": self.title, "lang": current_language().replace("_", "-")}
        viewer = self.viewer_of(request)
        if self.reserved >= self.limits.max_sessions and viewer not in self.by_viewer:
            response = aiohttp_jinja2.render_template(
                "full.html", request, {**base, "cap": self.limits.max_sessions}, status=503
            )
            response.headers["Retry-After"] = str(RETRY_AFTER)
        else:
            scheme = "wss" if self.scheme_of(request) == "https" else "ws"
            context = {
                **base,
                "font_size": max(8, min(40, bounded(request.query.get("fontsize"), 16, 8))),
                "websocket_url": f"{scheme}://{request.host}/ws",
            }
            response = aiohttp_jinja2.render_template("player.html", request, context)
        self.remember_viewer(request, response)
        return response

    # --- the player's websocket -------------------------------------------------------------

    async def refuse(
        self, request: web.Request, code: WSCloseCode, reason: str
    ) -> web.WebSocketResponse:
        """Open the websocket only to close it with a reason the page shows."""
        websocket = web.WebSocketResponse()
        await websocket.prepare(request)
        await websocket.close(code=code, message=reason_bytes(reason))
        return websocket

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        viewer = self.viewer_of(request)
        if viewer is None:  # never fall back to the server user's own id
            return await self.refuse(request, WSCloseCode.POLICY_VIOLATION, NO_COOKIE)
        if self.reserved >= self.limits.max_sessions and viewer not in self.by_viewer:
            log.info("refused a viewer: all %d seats taken", self.limits.max_sessions)
            return await self.refuse(
                request,
                WSCloseCode.TRY_AGAIN_LATER,
                full_house(self.limits.max_sessions),
            )
        self.reserved += 1
        try:
            return await self._play(request, viewer)
        finally:
            self.reserved -= 1

    async def _play(self, request: web.Request, viewer: str) -> web.StreamResponse:
        lock = self.viewer_locks.setdefault(viewer, asyncio.Lock())
        async with lock:
            # One live session per viewer: the older tab quits (and saves) before this one
            # resumes the save, so two processes never write one playthrough.
            old = self.by_viewer.get(viewer)
            if old is not None:
                old.close_reason = TAKEN_OVER
                await old.stop()
            websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
            await websocket.prepare(request)
            width = bounded(request.query.get("width"), 80, MIN_SIZE[0])
            height = bounded(request.query.get("height"), 24, MIN_SIZE[1])

            async def close() -> None:
                await websocket.close(
                    code=WSCloseCode.GOING_AWAY, message=reason_bytes(service.close_reason)
                )

            service = ViewerAppService(
                self.pool,
                viewer,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
            )
            try:
                await service.start(width, height)
            except StartFailed as exc:
                log.error("%s", exc)
                await websocket.close(
                    code=WSCloseCode.INTERNAL_ERROR,
                    message=b"The story could not be started. Please try again later.",
                )
                return websocket
            self.sessions[service.app_service_id] = service
            self.by_viewer[viewer] = service
            log.info("session started (%d live)", len(self.sessions))
        try:
            await self._process_messages(websocket, service)
        finally:
            await service.stop()
            self.sessions.pop(service.app_service_id, None)
            if self.by_viewer.get(viewer) is service:
                del self.by_viewer[viewer]
                if not lock.locked():
                    self.viewer_locks.pop(viewer, None)
            log.info("session ended (%d live)", len(self.sessions))
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        """As textual-serve's, plus: malformed messages are ignored, sizes are bounded, and
        a session left idle is closed."""
        assert isinstance(app_service, ViewerAppService)
        while not websocket.closed:
            left = self.limits.idle_timeout - (time.monotonic() - app_service.last_input)
            if left <= 0:
                app_service.close_reason = IDLE
                await app_service.stop()
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=reason_bytes(IDLE))
                return
            try:
                message = await websocket.receive(timeout=min(left, 60))
            except TimeoutError:
                continue
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if message.type == WSMsgType.ERROR:
                return
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = message.json()
                kind, data = envelope[0], envelope[1]
            except (ValueError, TypeError, IndexError, KeyError, RecursionError):
                continue
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    bounded(data.get("width"), 80, MIN_SIZE[0]),
                    bounded(data.get("height"), 24, MIN_SIZE[1]),
                )
            elif kind == "ping":
                try:
                    await websocket.send_json(["pong", str(data)[:32]])
                except ConnectionResetError:  # the tab closed while we answered: its end
                    return
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    # --- start and stop -------------------------------------------------------------------

    async def on_startup(self, app: web.Application) -> None:
        self.pool.refill()

    def _listening(self, message: str) -> None:
        """Called by aiohttp once the port is open (its own message is not used)."""
        if self.announce is not None:
            self.announce(f"Serving {self.title!r} on {self.public_url}/ (Ctrl+C stops)")

    async def on_shutdown(self, app: web.Application) -> None:
        """Ctrl+C or SIGTERM: every player quits (recording Quit, saving) before we exit."""
        services = list(self.sessions.values())
        if services and self.announce is not None:
            self.announce(f"Closing {len(services)} session(s)...")
        for service in services:
            service.close_reason = SHUTDOWN
        await asyncio.gather(
            self.pool.close(), *(s.stop() for s in services), return_exceptions=True
        )

    def initialize_logging(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_EscapedFormatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        handler.addFilter(_malformed_request_in_one_line)
        logging.basicConfig(level=logging.INFO, handlers=[handler])

    def serve(self, debug: bool = False) -> None:
        """Serve until Ctrl+C or SIGTERM. Raises :class:`OSError` if the port cannot be used."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=self._listening,
            access_log=None,
        )
