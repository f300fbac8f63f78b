"""The Auth0 Management API v2 client (reference/credentials.md §2.2).

Every call carries a management token for ``<domain>api/v2/`` from a ``TokenSource`` (so the
management client's own secret also stays in the vault), goes through ``idp.http`` (429 and 5xx
retried, errors typed), and sends secrets only inside request bodies. A 401 on a cached token
(revoked, or the IdP restarted with new keys) drops it and retries once with a fresh one.

List answers are taken as a bare JSON array or, where Auth0 documents paging, as its
``include_totals`` envelope (``{start, limit, total, authenticators: [...]}``): which one
arrives depends on query defaults the client does not control across API versions.

Creation is not made idempotent here: the caller looks up before it creates and treats
``IdPConflict`` (409, "The user already exists.") as "done already" — match the type, not the
message text.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict, cast
from urllib.parse import quote

import httpx

from vaultborn.idp.errors import IdPAuthenticationFailed, IdPUnavailable
from vaultborn.idp.http import IdPHttp, base_url
from vaultborn.idp.tokens import TokenSource
from vaultborn.vault.reference import SecretReference
from vaultborn.vault.secret import Secret

__all__ = ["Auth0ManagementClient", "EnrollmentTicket", "User"]


class User(TypedDict):
    """The parts of Auth0's user object vaultborn reads; the rest is kept as sent."""

    user_id: str
    email: NotRequired[str]
    identities: NotRequired[list[dict[str, Any]]]


class EnrollmentTicket(TypedDict):
    """``POST /api/v2/guardian/enrollments/ticket``'s answer."""

    ticket_id: str
    ticket_url: str


class Auth0ManagementClient:
    """Users, MFA enrollment and M2M clients through the Management API.

    >>> mgmt = Auth0ManagementClient("https://tenant.us.auth0.com/", tokens,
    ...                              client_id="mgmt", secret_ref="op://ACL/Auth0 mgmt/credential")
    >>> mgmt.create_user("admin@example.com", password, "Username-Password-Authentication")

    Args:
        domain: The IdP's base URL; the audience is ``<domain>api/v2/``.
        tokens: Where the management token comes from.
        client_id: The management (M2M) application's client id.
        secret_ref: The reference of its client secret in the vault.
        http: An httpx client, or an ``IdPHttp`` to choose retries; None makes one, which
            ``close()`` closes.
    """

    def __init__(
        self,
        domain: str,
        tokens: TokenSource,
        *,
        client_id: str,
        secret_ref: str | SecretReference,
        http: httpx.Client | IdPHttp | None = None,
    ) -> None:
        self.domain = base_url(domain)
        self.audience = self.domain + "api/v2/"
        self.tokens, self.client_id, self.secret_ref = tokens, client_id, secret_ref
        self._owns_http = not isinstance(http, IdPHttp)
        self._http = http if isinstance(http, IdPHttp) else IdPHttp(http)

    def close(self) -> None:
        """Close the httpx client if this object made it (the ``TokenSource`` stays open)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Auth0ManagementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- users --------------------------------------------------------------------------------
    def create_user(self, email: str, password: Secret, connection: str, **extra: Any) -> User:
        """Create a database user; ``extra`` adds body fields (``email_verified`` …).

        Raises:
            IdPConflict: the user exists already.
        """
        body = {**extra, "email": email, "password": password.reveal(), "connection": connection}
        try:
            return _user(self._dict("POST", "users", json=body, redact=[password.reveal()]))
        finally:
            body.clear()

    def users_by_email(self, email: str) -> list[User]:
        """Users with exactly this email (case-sensitive; Auth0 stores it lower-cased)."""
        return [_user(u) for u in self._list("GET", "users-by-email", params={"email": email})]

    def get_user(self, user_id: str) -> User:
        """One user by id (``auth0|…``). Raises ``IdPNotFound`` if there is none."""
        return _user(self._dict("GET", f"users/{_seg(user_id)}"))

    def update_user(
        self,
        user_id: str,
        *,
        password: Secret | None = None,
        connection: str | None = None,
        blocked: bool | None = None,
    ) -> User:
        """Change a user's password (with its ``connection``) and/or blocked state."""
        body: dict[str, Any] = {}
        if password is not None:
            body["password"] = password.reveal()
        if connection is not None:
            body["connection"] = connection
        if blocked is not None:
            body["blocked"] = blocked
        redact = [password.reveal()] if password is not None else []
        try:
            return _user(self._dict("PATCH", f"users/{_seg(user_id)}", json=body, redact=redact))
        finally:
            body.clear()

    def delete_user(self, user_id: str) -> None:
        """Delete a user (Auth0 answers 204 also for one that does not exist)."""
        self._call("DELETE", f"users/{_seg(user_id)}")

    # -- MFA ----------------------------------------------------------------------------------
    def create_enrollment_ticket(
        self,
        user_id: str,
        *,
        send_mail: bool = False,
        factor: str | None = None,
        allow_multiple: bool = False,
    ) -> EnrollmentTicket:
        """A Guardian enrollment ticket; ``ticket_url`` opens the enrollment page.

        ``allow_multiple`` (``allow_multiple_enrollments``) lets a user enrolled already enroll
        another authenticator through it (a TOTP rotation); without it the page refuses them.
        """
        body: dict[str, Any] = {"user_id": user_id, "send_mail": send_mail}
        if factor is not None:
            body["factor"] = factor
        if allow_multiple:
            body["allow_multiple_enrollments"] = True
        answer = self._dict("POST", "guardian/enrollments/ticket", json=body)
        if not isinstance(answer.get("ticket_url"), str):
            raise IdPUnavailable("the enrollment ticket answer has no ticket_url")
        return cast(EnrollmentTicket, answer)

    def enrollments(self, user_id: str) -> list[dict[str, Any]]:
        """The user's Guardian enrollments."""
        return self._list("GET", f"users/{_seg(user_id)}/enrollments")

    def authentication_methods(self, user_id: str) -> list[dict[str, Any]]:
        """The user's authentication methods (``type`` ``totp`` once enrolled)."""
        return self._list(
            "GET", f"users/{_seg(user_id)}/authentication-methods", items="authenticators"
        )

    def add_totp_authentication_method(
        self, user_id: str, totp_secret: Secret, *, name: str = "vaultborn"
    ) -> dict[str, Any]:
        """Register a TOTP seed generated elsewhere (the vault) — the ``api`` strategy."""
        body = {"type": "totp", "name": name, "totp_secret": totp_secret.reveal()}
        try:
            return self._dict(
                "POST",
                f"users/{_seg(user_id)}/authentication-methods",
                json=body,
                redact=[totp_secret.reveal()],
            )
        finally:
            body.clear()

    def delete_authentication_method(self, user_id: str, method_id: str) -> None:
        """Remove one of the user's authentication methods (a pending TOTP left by a crash).

        A revocation removes each of them with it.

        Raises:
            IdPNotFound: It is not there (any more).
        """
        self._call("DELETE", f"users/{_seg(user_id)}/authentication-methods/{_seg(method_id)}")

    # -- M2M applications ---------------------------------------------------------------------
    def create_client(
        self, name: str, client_secret: Secret, *, app_type: str = "non_interactive"
    ) -> dict[str, Any]:
        """Create an application whose secret was born in the vault."""
        body = {"name": name, "app_type": app_type, "client_secret": client_secret.reveal()}
        try:
            return self._dict("POST", "clients", json=body, redact=[client_secret.reveal()])
        finally:
            body.clear()

    def create_client_grant(
        self, client_id: str, audience: str, scopes: list[str]
    ) -> dict[str, Any]:
        """Let ``client_id`` get tokens for ``audience`` with ``scopes``."""
        body = {"client_id": client_id, "audience": audience, "scope": list(scopes)}
        return self._dict("POST", "client-grants", json=body)

    def set_client_secret(self, client_id: str, client_secret: Secret) -> dict[str, Any]:
        """Give an application the secret born in the vault (``PATCH``: a rotation)."""
        body = {"client_secret": client_secret.reveal()}
        try:
            return self._dict(
                "PATCH", f"clients/{_seg(client_id)}", json=body, redact=[client_secret.reveal()]
            )
        finally:
            body.clear()

    def delete_client(self, client_id: str) -> None:
        """Delete an application (and with it its grants and credentials)."""
        self._call("DELETE", f"clients/{_seg(client_id)}")

    def client_grants(self, client_id: str) -> list[dict[str, Any]]:
        """The application's client grants (its APIs and scopes)."""
        params = {"client_id": client_id, "include_totals": "false"}
        return self._list("GET", "client-grants", params=params)

    def delete_client_grant(self, grant_id: str) -> None:
        """Delete one client grant. Raises ``IdPNotFound`` if it is gone."""
        self._call("DELETE", f"client-grants/{_seg(grant_id)}")

    # -- plumbing -----------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.audience + path
        for attempt in (1, 2):
            token = self.tokens.token(self.client_id, self.secret_ref, self.audience)
            headers = {"Authorization": f"Bearer {token.reveal()}"}
            try:
                return self._http.request(method, url, headers=headers, **kwargs)
            except IdPAuthenticationFailed:
                if attempt == 2:
                    raise
                self.tokens.invalidate(self.client_id, self.audience)
        raise AssertionError("unreachable")  # pragma: no cover

    def _dict(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self._call(method, path, **kwargs)
        if not isinstance(answer, dict):
            raise IdPUnavailable(f"{method} {self.audience}{path} did not answer a JSON object")
        return answer

    def _list(
        self, method: str, path: str, *, items: str | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        answer: Any = self._call(method, path, **kwargs)
        total: Any = None
        if items is not None and isinstance(answer, dict) and "total" in answer:
            total = answer["total"]
            answer = answer.get(items)
        if not isinstance(answer, list) or not all(isinstance(x, dict) for x in answer):
            raise IdPUnavailable(f"{method} {self.audience}{path} did not answer a JSON list")
        # A first page short of its total would silently hide items (an enrolled TOTP …).
        if total is not None and total != len(answer):
            raise IdPUnavailable(
                f"{method} {self.audience}{path} answered {len(answer)} of {total} items"
            )
        return answer


def _user(answer: dict[str, Any]) -> User:
    if not isinstance(answer.get("user_id"), str):
        raise IdPUnavailable("the IdP answered a user without a user_id")
    return cast(User, answer)


def _seg(value: str) -> str:
    return quote(value, safe="")
