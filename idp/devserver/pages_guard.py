"""What guards the dev IdP's pages: the "verify you are human" step and the login state.

The failure limits (the lockout) are in the database: ``idp.devserver.failures``.

- ``HumanCheck``: when the tenant sets ``require_human_check``, the enrollment and login
  pages answer with a "Verify you are human" screen (``data-screen="human-check"``) until a
  person ticks its box. The POST sets a cookie signed with a key this server drew at start
  (HMAC-SHA256 over its expiry; HttpOnly, SameSite=Lax). There is no real CAPTCHA: the
  screen is a marker at which browser drivers must hand the page to a person.
- ``LoginStates``: the step between a correct password and the one-time code, kept in this
  process's memory under a random token that travels in a hidden field; it names the user
  (never the password), expires after ``LOGIN_STATE_SECONDS`` and serves one login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.pages_html import error_alert, hidden, page, respond
from vaultborn.idp.devserver.web import read_params

__all__ = [
    "HUMAN_COOKIE",
    "HUMAN_PATH",
    "LOGIN_STATE_SECONDS",
    "HumanCheck",
    "LoginState",
    "LoginStates",
]

HUMAN_COOKIE = "vb_human"
HUMAN_PATH = "/verify-human"
HUMAN_SECONDS = 3600
"""How long a passed human check lasts."""
LOGIN_STATE_SECONDS = 300.0
_MAX_ENTRIES = 10_000
# Where a passed check may send the browser back to: these pages, these query parameters.
_RETURNS = {"/guardian/enroll": ("ticket", "screen"), "/login": ()}


def _safe_return(path: str, query: dict[str, str]) -> str:
    keep = _RETURNS.get(path)
    if keep is None:
        return "/login"
    kept = {k: query[k] for k in keep if query.get(k)}
    return path + ("?" + urlencode(kept) if kept else "")


class HumanCheck:
    """The per-tenant "Verify you are human" step.

    Args:
        ctx: The server's context (tenant setting and clock).
    """

    def __init__(self, ctx: DevIdPContext) -> None:
        self._ctx = ctx
        self._key = secrets.token_bytes(32)

    def _mac(self, expires: str) -> str:
        return hmac.new(self._key, b"human-check|" + expires.encode(), hashlib.sha256).hexdigest()

    def passed(self, request: Request) -> bool:
        """Whether the request may go on: the check is off, or its cookie is valid."""
        if not self._ctx.tenant.require_human_check:
            return True
        expires, _, mac = request.cookies.get(HUMAN_COOKIE, "").partition(".")
        if not expires.isdigit() or len(expires) > 12:
            return False
        return hmac.compare_digest(mac, self._mac(expires)) and int(expires) > self._ctx.clock()

    def screen(self, path: str, query: dict[str, str], *, status: int = 200) -> Response:
        """The check, returning afterwards to ``path`` with the allowed ``query`` parameters."""
        return self._render(_safe_return(path, query), status=status)

    def _render(self, back: str, *, status: int, error: str | None = None) -> Response:
        tenant = self._ctx.tenant.name
        body = (
            f"{error_alert(error, 'human-check-required')}"
            f'<form method="post" action="{HUMAN_PATH}" id="human-check-form">'
            f"{hidden({'next': back})}"
            '<label class="captcha" id="human-check" data-captcha="human-check">'
            '<input type="checkbox" name="human" value="yes" id="human-check-box">'
            "<span>Verify you are human</span></label>"
            '<button type="submit" class="primary" id="continue">Continue</button></form>'
        )
        content = page(
            page_title="Verify you are human",
            tenant=tenant,
            prompt="human-check",
            screen="human-check",
            title="Verify you are human",
            description=f"{tenant} needs to review the security of your connection before "
            "proceeding.",
            body=body,
        )
        return respond(content, status)

    async def submit(self, request: Request) -> Response:
        """``POST /verify-human``: set the cookie and go back (303), or ask again (400)."""
        params = await read_params(request) or {}
        parts = urlsplit(str(params.get("next", "/login")))
        back = _safe_return(parts.path, dict(parse_qsl(parts.query)))
        if params.get("human") != "yes":
            return self._render(back, status=400, error="Please verify you are human.")
        expires = str(int(self._ctx.clock()) + HUMAN_SECONDS)
        response = RedirectResponse(back, status_code=303, headers={"cache-control": "no-store"})
        response.set_cookie(
            HUMAN_COOKIE,
            f"{expires}.{self._mac(expires)}",
            max_age=HUMAN_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self._ctx.base_url.startswith("https:"),
        )
        return response


@dataclass(frozen=True)
class LoginState:
    """A login between its password and its one-time code."""

    user_id: str
    email: str
    expires: float


class LoginStates:
    """Login states by random token, in this process's memory; each serves one login."""

    def __init__(self) -> None:
        self._states: dict[str, LoginState] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: str, email: str, now: float) -> str:
        """A new token for a user whose password was right."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._states) >= _MAX_ENTRIES:
                for k in [k for k, s in self._states.items() if s.expires <= now]:
                    del self._states[k]
            self._states[token] = LoginState(user_id, email, now + LOGIN_STATE_SECONDS)
        return token

    def get(self, token: str, now: float) -> LoginState | None:
        """The live state behind ``token``, or None."""
        with self._lock:
            state = self._states.get(token)
            if state is not None and state.expires <= now:
                del self._states[token]
                return None
            return state

    def finish(self, token: str) -> None:
        """End the login (its code was accepted, or it failed too often)."""
        with self._lock:
            self._states.pop(token, None)
