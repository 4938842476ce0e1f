"""Who a browser is, and which addresses the server answers to. No aiohttp here: the per-tab
process checks the viewer id with the same rule.

A browser's viewer id is a random pseudonym kept in a cookie (``web-`` and 128 random bits,
URL-safe base64), never derived from the person, and never the server user's own id.
"""

from __future__ import annotations

import ipaddress
import re
import secrets

COOKIE = "branching_viewer"
#: Browsers cap a cookie's lifetime at 400 days; the server renews it on every visit.
COOKIE_MAX_AGE = 400 * 24 * 3600
#: A served viewer id: exactly what :func:`new_viewer_id` makes (and a valid log viewer id).
VIEWER_RE = re.compile(r"^web-[A-Za-z0-9_-]{22}\Z")


def new_viewer_id() -> str:
    """A new browser viewer id, e.g. ``web-3q2Jt0_mZk1xW8aLQnC9yA``."""
    return "web-" + secrets.token_urlsafe(16)


def check_served_viewer(value: object) -> str:
    """``value`` if it is a browser viewer id, else :class:`ValueError`.

    >>> check_served_viewer("web-AAAAAAAAAAAAAAAAAAAAAA")
    'web-AAAAAAAAAAAAAAAAAAAAAA'
    """
    if not isinstance(value, str) or not VIEWER_RE.match(value):
        raise ValueError("not a browser viewer id")
    return value


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("example.org")
    (False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_hosts(port: int) -> frozenset[str]:
    """The ``Host`` headers a loopback server accepts. A web page elsewhere can point its own
    name at 127.0.0.1 (DNS rebinding) and then talk to us as same-origin: its requests carry
    its own name in ``Host``, and are refused.

    >>> sorted(loopback_hosts(8000))
    ['127.0.0.1:8000', '[::1]:8000', 'localhost:8000']
    """
    names = ("127.0.0.1", "localhost", "[::1]")
    hosts = {f"{name}:{port}" for name in names}
    if port in (80, 443):  # browsers leave the default port out of Host
        hosts.update(names)
    return frozenset(hosts)
