"""The Guardian enrollment ticket pages, in the shape and wording of Auth0 Universal Login.

``GET /guardian/enroll?ticket=<id>`` (the ``ticket_url`` of the Management API) shows screen
``mfa-otp-enrollment-qr``: a QR code of the otpauth URI, "Trouble Scanning?", the code input.
``&screen=code`` shows ``mfa-otp-enrollment-code``: the base32 secret as text
(``#totp-secret``), "Copy code", "Go back". ``&screen=methods`` shows the other methods
(only "Google Authenticator or similar"). ``POST /guardian/enroll`` (``ticket``, ``code``,
``screen``) confirms the enrollment: a wrong code re-shows the screen with Auth0's error (400);
a right one confirms the authenticator and uses the ticket in one transaction, then shows
``mfa-enroll-result``. Unknown, expired, used tickets and enrolled users get that result
screen with Auth0's texts and a 4xx status.

A ticket's pending authenticator is created on its first visit and reused on every later one
(``Mfa.ticket_totp``), so a browser that crashed after reading the secret sees the same one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

import segno
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.failures import Failures
from vaultborn.idp.devserver.pages_guard import HumanCheck
from vaultborn.idp.devserver.pages_html import code_form, error_alert, esc, page, respond
from vaultborn.idp.devserver.records import AuthenticatorRecord
from vaultborn.idp.devserver.web import read_params
from vaultborn.idp.errors import IdPConflict
from vaultborn.vault.otp import OtpParameters, build_otpauth_uri
from vaultborn.vault.secret import Secret

__all__ = ["TICKET_PATH", "EnrollmentPages", "otpauth_uri", "qr_data_uri"]

TICKET_PATH = "/guardian/enroll"
PAGE_TITLE = "Secure your Account"
TITLE = "Secure Your Account"
QR_DESCRIPTION = (
    "Scan the QR Code below using your preferred authenticator app and then enter the "
    "provided one-time code below."
)
CODE_DESCRIPTION = (
    "Manually enter the following code into your preferred authenticator app and then enter "
    "the provided one-time code below."
)
INVALID_CODE = ("The code you entered is invalid", "invalid-code")
CODE_FORMAT = ("OTP Code must have 6 numeric characters", "invalid-otp-code-format")
TOO_MANY = ("Too many failed codes. Wait for some minutes before retrying.", "too-many-failures")

# Auth0's mfa-enroll-result texts, by outcome: (status, title, description, mark).
_RESULTS = {
    "enrolled": (200, "Enrolled", "You are now enrolled in Multifactor Authentication", "✓"),
    "invalid-ticket": (404, "Invalid Link", "The link is invalid or has expired.", "!"),
    "expired-ticket": (410, "Expired Link", "The link has expired.", "!"),
    "already-used": (
        410,
        "Already used",
        "This link has already been used. Please get a new link to enroll MFA.",
        "!",
    ),
    "already-enrolled": (
        409,
        "Already enrolled",
        "You are already enrolled in Multifactor Authentication. You will need to reset your "
        "MFA before being able to re-enroll.",
        "!",
    ),
}
_TICKET_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
_CODE = re.compile(r"[0-9]{6}")


def otpauth_uri(issuer: str, account: str, seed: Secret) -> Secret:
    """The otpauth URI of a seed (SHA1, 6 digits, 30 s), as the QR code carries it."""
    # The Key Uri Format forbids a colon in either name.
    params = OtpParameters(
        seed=seed, issuer=issuer.replace(":", " "), account=account.replace(":", " ")
    )
    return build_otpauth_uri(params)


def qr_data_uri(uri: Secret) -> str:
    """A PNG ``data:`` URI of the QR code of ``uri``."""
    return str(segno.make(uri.reveal(), error="m").png_data_uri(scale=5, border=4))


@dataclass(frozen=True)
class _Enrollment:
    ticket_id: str
    email: str
    authenticator: AuthenticatorRecord


class EnrollmentPages:
    """The enrollment ticket routes' handlers.

    Args:
        ctx: The server's context.
        human: The human check (a no-op unless the tenant requires it).
        failures: The failed-code counter.
    """

    def __init__(self, ctx: DevIdPContext, human: HumanCheck, failures: Failures) -> None:
        self._ctx, self._human, self._failures = ctx, human, failures

    async def get(self, request: Request) -> Response:
        """``GET /guardian/enroll``: the screen the query names."""
        query = dict(request.query_params)
        if not self._human.passed(request):
            return self._human.screen(TICKET_PATH, query)
        found = await self._load(query.get("ticket", ""))
        if isinstance(found, Response):
            return found
        if query.get("screen") == "methods":
            return self._methods(found)
        return self._screen(found, manual=query.get("screen") == "code")

    async def post(self, request: Request) -> Response:
        """``POST /guardian/enroll``: check the code and confirm the enrollment."""
        params = await read_params(request) or {}
        ticket_id, manual = str(params.get("ticket", "")), params.get("screen") == "code"
        if not self._human.passed(request):
            back = {"ticket": ticket_id, "screen": "code" if manual else ""}
            return self._human.screen(TICKET_PATH, back, status=403)
        found = await self._load(ticket_id)
        if isinstance(found, Response):
            return found
        now, key = self._ctx.clock(), Failures.key("ticket", ticket_id)
        if await run_in_threadpool(self._failures.blocked, key, now):
            return self._screen(found, manual=manual, error=TOO_MANY, status=429)
        code = re.sub(r"\s", "", str(params.get("code", "")))
        if not _CODE.fullmatch(code):
            return self._screen(found, manual=manual, error=CODE_FORMAT, status=400)
        try:
            confirmed = await run_in_threadpool(
                self._ctx.store.mfa.confirm_ticket_totp,
                ticket_id,
                Secret(code, label="one-time code"),
                now=now,
            )
        except IdPConflict:
            return self._result("already-enrolled")
        if confirmed is not None:
            return self._result("enrolled")
        again = await self._load(ticket_id)  # it may have expired or been used meanwhile
        if isinstance(again, Response):
            return again
        await run_in_threadpool(self._failures.record, key, now)
        return self._screen(found, manual=manual, error=INVALID_CODE, status=400)

    async def _load(self, ticket_id: str) -> _Enrollment | Response:
        if not _TICKET_ID.fullmatch(ticket_id):
            return self._result("invalid-ticket")
        store, now = self._ctx.store, self._ctx.clock()
        record = await run_in_threadpool(store.mfa.ticket, ticket_id)
        if record is None:
            return self._result("invalid-ticket")
        if record.used is not None:
            return self._result("already-used")
        if record.expires <= now:
            return self._result("expired-ticket")
        user = await run_in_threadpool(store.users.get, record.user_id)
        try:
            auth = await run_in_threadpool(store.mfa.ticket_totp, ticket_id, now=now)
        except IdPConflict:
            return self._result("already-enrolled")
        if user is None or auth is None:
            return self._result("invalid-ticket")
        return _Enrollment(ticket_id, user.email, auth)

    def _link(self, e: _Enrollment, **query: str) -> str:
        return esc(TICKET_PATH + "?" + urlencode({"ticket": e.ticket_id, **query}))

    def _screen(
        self,
        e: _Enrollment,
        *,
        manual: bool,
        error: tuple[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        alert = error_alert(*error) if error else ""
        methods = (
            f'<a id="try-another-method" href="{self._link(e, screen="methods")}">'
            "Try another method</a>"
        )
        if manual:
            top = (
                '<div id="totp-secret-box"><code class="secret" id="totp-secret" '
                f'data-secret="totp">{esc(e.authenticator.seed.reveal())}</code>'
                '<button type="button" class="secondary" id="copy-code" '
                'data-copy-target="totp-secret">Copy code</button></div>'
            )
            links = f'<a id="go-back" href="{self._link(e)}">Go back</a>{methods}'
        else:
            uri = otpauth_uri(self._ctx.tenant.name, e.email, e.authenticator.seed)
            top = (
                f'<div class="qr"><img id="qr-code" alt="QR code" src="{esc(qr_data_uri(uri))}">'
                f'</div><div class="links"><a id="trouble-scanning" data-action="toggle-view" '
                f'href="{self._link(e, screen="code")}">Trouble Scanning?</a></div>'
            )
            links = methods
        fields = {"ticket": e.ticket_id, "screen": "code" if manual else "qr"}
        body = (
            f"{alert}{top}{code_form(TICKET_PATH, fields, invalid=error is not None)}"
            f'<div class="links">{links}</div>'
        )
        content = page(
            page_title=PAGE_TITLE,
            tenant=self._ctx.tenant.name,
            prompt="mfa-otp",
            screen="mfa-otp-enrollment-code" if manual else "mfa-otp-enrollment-qr",
            title=TITLE,
            description=CODE_DESCRIPTION if manual else QR_DESCRIPTION,
            body=body,
            script=manual,
        )
        return respond(content, status)

    def _methods(self, e: _Enrollment) -> Response:
        body = (
            '<ul class="methods"><li><a id="method-otp" data-authenticator="otp" '
            f'href="{self._link(e)}">Google Authenticator or similar</a></li></ul>'
            f'<div class="links"><a id="go-back" href="{self._link(e)}">Go back</a></div>'
        )
        content = page(
            page_title=PAGE_TITLE,
            tenant=self._ctx.tenant.name,
            prompt="mfa",
            screen="mfa-enroll-options",
            title="Other Methods",
            body=body,
        )
        return respond(content)

    def _result(self, outcome: str) -> Response:
        status, title, description, mark = _RESULTS[outcome]
        body = f'<div class="result" id="enroll-result" data-result="{outcome}">{mark}</div>'
        content = page(
            page_title=PAGE_TITLE,
            tenant=self._ctx.tenant.name,
            prompt="mfa",
            screen="mfa-enroll-result",
            title=title,
            description=description,
            body=body,
        )
        return respond(content, status)
