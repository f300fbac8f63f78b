"""The login pages for break-glass drills, in the shape and wording of Auth0 Universal Login.

``GET /login`` shows screen ``login`` ("Welcome", e-mail and password, "Continue").
``POST /login`` checks the password: a wrong one (or an unknown e-mail) re-shows the form with
"Wrong email or password." (400); a user with a confirmed TOTP authenticator gets screen
``mfa-otp-challenge`` ("Verify Your Identity"), whose form posts the code with the login's
state token to ``POST /login/otp``; a user without MFA, or a right code, gets the
``login-success`` screen ("Login successful"). Codes are checked within one time step either
side of now and never accepted twice (``Mfa.verify_code``).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.failures import Failures
from vaultborn.idp.devserver.pages_enroll import CODE_FORMAT, INVALID_CODE, TOO_MANY
from vaultborn.idp.devserver.pages_guard import HumanCheck, LoginStates
from vaultborn.idp.devserver.pages_html import code_form, error_alert, esc, page, respond
from vaultborn.idp.devserver.users import MAX_PASSWORD_CHARS
from vaultborn.idp.devserver.web import read_params
from vaultborn.vault.secret import Secret

__all__ = ["CHALLENGE_PATH", "LOGIN_PATH", "LoginPages"]

LOGIN_PATH = "/login"
CHALLENGE_PATH = "/login/otp"
WRONG_CREDENTIALS = ("Wrong email or password.", "wrong-email-credentials")
TOO_MANY_LOGINS = (
    "Too many failed attempts. Wait for some minutes before retrying.",
    "too-many-attempts",
)
SESSION_EXPIRED = (
    "Your login session expired, you will need to start again.",
    "transaction-not-found",
)
_MAX_EMAIL_CHARS = 320
_CODE = re.compile(r"[0-9]{6}")


class LoginPages:
    """The login routes' handlers.

    Args:
        ctx: The server's context.
        human: The human check (a no-op unless the tenant requires it).
        failures: The failed-attempt counter.
        states: Logins waiting for their one-time code.
    """

    def __init__(
        self, ctx: DevIdPContext, human: HumanCheck, failures: Failures, states: LoginStates
    ) -> None:
        self._ctx, self._human, self._failures, self._states = ctx, human, failures, states

    async def get(self, request: Request) -> Response:
        """``GET /login``: the login form."""
        if not self._human.passed(request):
            return self._human.screen(LOGIN_PATH, {})
        return self._login()

    async def post(self, request: Request) -> Response:
        """``POST /login``: check the e-mail and password."""
        params = await read_params(request) or {}
        if not self._human.passed(request):
            return self._human.screen(LOGIN_PATH, {}, status=403)
        email = str(params.get("username") or params.get("email") or "").strip()
        password = str(params.get("password", ""))
        now, key = self._ctx.clock(), Failures.key("password", email.lower())
        if await run_in_threadpool(self._failures.blocked, key, now):
            return self._login(email, error=TOO_MANY_LOGINS, status=429)
        plausible = 0 < len(email) <= _MAX_EMAIL_CHARS and 0 < len(password) <= MAX_PASSWORD_CHARS
        user = (
            await run_in_threadpool(
                self._ctx.store.users.check_password,
                email,
                Secret(password, label="password"),
                now=now,
            )
            if plausible
            else None
        )
        if user is None:
            await run_in_threadpool(self._failures.record, key, now)
            return self._login(email, error=WRONG_CREDENTIALS, status=400)
        if not user.mfa_enrolled:
            return self._success(user.email)
        return self._challenge(self._states.issue(user.user_id, user.email, now))

    async def challenge(self, request: Request) -> Response:
        """``POST /login/otp``: check the one-time code of a login whose password was right."""
        params = await read_params(request) or {}
        if not self._human.passed(request):
            return self._human.screen(LOGIN_PATH, {}, status=403)
        token, now = str(params.get("state", "")), self._ctx.clock()
        state = self._states.get(token, now)
        if state is None:
            return self._login(error=SESSION_EXPIRED, status=400)
        key = Failures.key("otp", state.user_id)
        if await run_in_threadpool(self._failures.blocked, key, now):
            return self._challenge(token, error=TOO_MANY, status=429)
        code = re.sub(r"\s", "", str(params.get("code", "")))
        if not _CODE.fullmatch(code):
            return self._challenge(token, error=CODE_FORMAT, status=400)
        accepted = await run_in_threadpool(
            self._ctx.store.mfa.verify_code,
            state.user_id,
            Secret(code, label="one-time code"),
            now=now,
        )
        if accepted is None:
            await run_in_threadpool(self._failures.record, key, now)
            return self._challenge(token, error=INVALID_CODE, status=400)
        self._states.finish(token)
        return self._success(state.email)

    def _page(self, screen: str, title: str, description: str, body: str, status: int) -> Response:
        tenant = self._ctx.tenant.name
        content = page(
            page_title=f"Log in to {tenant}",
            tenant=tenant,
            prompt="mfa-otp" if screen == "mfa-otp-challenge" else "login",
            screen=screen,
            title=title,
            description=description,
            body=body,
        )
        return respond(content, status)

    def _login(
        self, email: str = "", *, error: tuple[str, str] | None = None, status: int = 200
    ) -> Response:
        body = (
            f"{error_alert(*error) if error else ''}"
            f'<form method="post" action="{LOGIN_PATH}" id="login-form">'
            '<label class="field" for="username">Email address</label>'
            '<input type="email" id="username" name="username" autocomplete="username" '
            f'placeholder="Email address" value="{esc(email)}" autofocus>'
            '<label class="field" for="password">Password</label>'
            '<input type="password" id="password" name="password" '
            'autocomplete="current-password" placeholder="Password">'
            '<button type="submit" class="primary" id="continue" name="action" value="default">'
            "Continue</button></form>"
        )
        description = f"Log in to {self._ctx.tenant.name} to continue."
        return self._page("login", "Welcome", description, body, status)

    def _challenge(
        self, token: str, *, error: tuple[str, str] | None = None, status: int = 200
    ) -> Response:
        body = (
            f"{error_alert(*error) if error else ''}"
            f"{code_form(CHALLENGE_PATH, {'state': token}, invalid=error is not None)}"
        )
        description = "Check your preferred one-time password application for a code."
        return self._page("mfa-otp-challenge", "Verify Your Identity", description, body, status)

    def _success(self, email: str) -> Response:
        body = '<div class="result" id="login-result" data-result="logged-in">✓</div>'
        description = f"You are logged in to {self._ctx.tenant.name} as {email}."
        return self._page("login-success", "Login successful", description, body, 200)
