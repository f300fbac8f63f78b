"""The Universal Login pages of the dev IdP: enrollment tickets, login, the human check.

Plain server-rendered HTML in the shape and wording of Auth0 Universal Login
(reference/credentials.md §2.4), no JavaScript needed:

- ``GET|POST /guardian/enroll`` — the Guardian enrollment ticket (``idp.devserver.pages_enroll``)
- ``GET|POST /login``, ``POST /login/otp`` — the break-glass login (``pages_login``)
- ``POST /verify-human`` — the "Verify you are human" step, when the tenant requires it
  (``pages_guard``)

Markup, escaping and security headers: ``idp.devserver.pages_html``. No page puts a secret
(seed, code, password) in a URL, and no page logs one.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.pages_enroll import TICKET_PATH, EnrollmentPages
from vaultborn.idp.devserver.pages_guard import HUMAN_PATH, HumanCheck, LoginStates
from vaultborn.idp.devserver.pages_login import CHALLENGE_PATH, LOGIN_PATH, LoginPages

__all__ = ["page_routes"]


def page_routes(ctx: DevIdPContext) -> list[BaseRoute]:
    """The HTML routes over ``ctx``; each call draws a new human-check key."""
    human, failures = HumanCheck(ctx), ctx.store.failures
    enroll = EnrollmentPages(ctx, human, failures)
    login = LoginPages(ctx, human, failures, LoginStates())
    return [
        Route(TICKET_PATH, enroll.get, methods=["GET"]),
        Route(TICKET_PATH, enroll.post, methods=["POST"]),
        Route(LOGIN_PATH, login.get, methods=["GET"]),
        Route(LOGIN_PATH, login.post, methods=["POST"]),
        Route(CHALLENGE_PATH, login.challenge, methods=["POST"]),
        Route(HUMAN_PATH, human.submit, methods=["POST"]),
    ]
