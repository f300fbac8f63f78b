"""Who may use the approval inbox: the holder of its link, from this machine, by its own forms.

- **The token.** The inbox prints one link, ``http://127.0.0.1:PORT/?token=…`` (a fresh random
  token per start). Opening it trades the token for a cookie (``HttpOnly``,
  ``SameSite=Strict``) and redirects to the same page without the token, so it stays out of
  the history, later requests and ``Referer``. Without the cookie or the token nothing is
  served but a page saying so.
- **Loopback only.** The server listens on 127.0.0.1, and a request whose ``Host`` is not the
  inbox's own (a DNS rebinding page) is refused.
- **Forms.** Each form carries a CSRF value derived from the token, a cross-site page cannot
  read; a POST without it, or from another origin (``Origin``/``Sec-Fetch-Site``), is refused.
- **Headers.** Every response forbids caching, framing, sniffing and referrers to other sites;
  its Content-Security-Policy allows this origin's own script and style only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

__all__ = ["COOKIE", "SECURITY_HEADERS", "InboxGuard", "new_token"]

COOKIE = "vaultborn_inbox"
"""The session cookie's name."""

SECURITY_HEADERS: Mapping[str, str] = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # Not no-referrer: with it a browser sends "Origin: null" with the inbox's own forms.
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
"""Sent with every response."""


def new_token() -> str:
    """A fresh access token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class InboxGuard:
    """The checks of one inbox: its token, its origin, its session cookie and CSRF value.

    Args:
        token: The access token in the printed link.
        port: The port the inbox listens on (its origin is ``http://127.0.0.1:PORT``).
    """

    def __init__(self, token: str, port: int) -> None:
        if len(token) < 32:
            raise ValueError("an inbox token has at least 32 characters")
        self._key = token.encode()
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"
        self._hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
        self._origins = {f"http://{host}" for host in self._hosts}
        self.session = self._derive("session")
        self.csrf = self._derive("csrf")

    def _derive(self, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is the access token."""
        return given is not None and hmac.compare_digest(given.encode(), self._key)

    def cookie_ok(self, given: str | None) -> bool:
        """Whether ``given`` is this inbox's session cookie."""
        return given is not None and hmac.compare_digest(given, self.session)

    def host_ok(self, host: str | None) -> bool:
        """Whether a request's ``Host`` is the inbox's own (not a rebound name)."""
        return host in self._hosts

    def form_ok(self, csrf: object, headers: Mapping[str, str]) -> bool:
        """Whether a POST comes from the inbox's own page: its CSRF value and its origin."""
        if not isinstance(csrf, str) or not hmac.compare_digest(csrf, self.csrf):
            return False
        origin = headers.get("origin")
        if origin is not None and origin not in self._origins:
            return False
        return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")
