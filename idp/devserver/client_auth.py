"""Who is asking at the token endpoint: a client secret, or a signed client assertion.

Three ways in, one per request (RFC 6749 §2.3: a client uses one method at a time):

- ``client_secret_basic``: HTTP Basic, both parts form-encoded first (RFC 6749 §2.3.1);
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the body;
- ``private_key_jwt``: ``client_assertion_type`` =
  ``urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and ``client_assertion``, a JWT
  signed with one of the client's registered keys (RFC 7523 §2.2, checked by
  ``idp.devserver.assertion_check``); ``client_id`` is optional and must match.

Secret failures answer as before (401 ``access_denied`` "Unauthorized"); assertion failures
answer 401 ``invalid_client`` with the failed check. A client with keys has no secret.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.responses import Response

from vaultborn.idp.devserver.assertion_check import (
    ASSERTION_TYPE,
    LEEWAY,
    AssertionRefused,
    check_assertion,
)
from vaultborn.idp.devserver.context import DevIdPContext
from vaultborn.idp.devserver.records import ClientRecord
from vaultborn.idp.devserver.web import oauth_error, printable
from vaultborn.vault.secret import Secret

__all__ = ["authenticate_client"]

log = logging.getLogger(__name__)


def authenticate_client(
    ctx: DevIdPContext, params: dict[str, Any], basic: tuple[str, str] | None
) -> ClientRecord | Response:
    """The authenticated client, or the error response to send."""
    if "client_assertion" in params or "client_assertion_type" in params:
        if basic is not None or "client_secret" in params:
            return oauth_error(
                400, "invalid_request", "Use one client authentication method, not several"
            )
        return _by_assertion(ctx, params)
    return _by_secret(ctx, params, basic)


def _by_secret(
    ctx: DevIdPContext, params: dict[str, Any], basic: tuple[str, str] | None
) -> ClientRecord | Response:
    client_id, raw_secret = params.get("client_id"), params.get("client_secret")
    if basic is not None:
        client_id, raw_secret = basic
    if not isinstance(client_id, str) or not client_id:
        return oauth_error(400, "invalid_request", "Missing required parameter: client_id")
    if not isinstance(raw_secret, str) or not raw_secret:
        return oauth_error(401, "access_denied", "Unauthorized")
    secret = Secret(raw_secret, label="client secret")
    params.pop("client_secret", None)
    client = ctx.store.clients.authenticate(client_id, secret)
    if client is None:
        log.info("token refused: bad credentials for client %r", printable(client_id))
        return oauth_error(401, "access_denied", "Unauthorized")
    return client


def _by_assertion(ctx: DevIdPContext, params: dict[str, Any]) -> ClientRecord | Response:
    if params.get("client_assertion_type") != ASSERTION_TYPE:
        return oauth_error(
            400, "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}"
        )
    assertion = params.pop("client_assertion", None)
    client_id = params.get("client_id")
    if not isinstance(assertion, str) or (client_id is not None and not isinstance(client_id, str)):
        return oauth_error(400, "invalid_request", "client_assertion must be a string")
    now = ctx.clock()
    try:
        asserted = check_assertion(
            assertion,
            keys_for=lambda cid: ctx.store.client_keys.enabled(cid, now),
            audiences=_audiences(ctx),
            now=now,
            client_id=client_id or None,
        )
    except AssertionRefused as refused:
        log.info("token refused: %s", refused.description)
        return oauth_error(401, "invalid_client", refused.description)
    if not ctx.store.client_keys.use_jti(
        asserted.client_id, asserted.jti, asserted.expires + LEEWAY, now
    ):
        log.info("token refused: replayed assertion of %r", printable(asserted.client_id))
        return oauth_error(401, "invalid_client", "The client assertion was used before (jti)")
    client = ctx.store.clients.get(asserted.client_id)
    if client is None:  # deleted between the key lookup and now
        return oauth_error(401, "invalid_client", "The client does not exist")
    return client


def _audiences(ctx: DevIdPContext) -> list[str]:
    """The ``aud`` values that name this server.

    Its token endpoint and its issuer, and the issuer as Auth0's SDKs spell it
    (``https://{domain}/``), which a TLS-terminating proxy in front of it would serve.
    """
    issuer = ctx.issuer
    names = [ctx.url("oauth/token"), issuer]
    if issuer.startswith("http://"):
        names.append("https://" + issuer.removeprefix("http://"))
    return names
