"""``vaultborn token`` and ``vaultborn call``: the agent's side of the M2M chain, by hand.

Both read the client secret (``--client``) or the client's private key (``--key``, then
``private_key_jwt``) from the vault by reference, get a token by client credentials
(``idp.tokens``), and never print the token unless ``token --raw`` asks for it. One command
shape serves every provider: ``--domain`` names an Auth0 tenant or an OpenID Provider's issuer,
and ``--kind`` (default: guessed, see ``idp.provider.guess_kind``) says how to talk to it.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer

from vaultborn.core.errors import ServiceError, UsageError
from vaultborn.core.tls import tls_context
from vaultborn.idp.errors import InvalidToken
from vaultborn.idp.http import endpoint
from vaultborn.idp.provider import KINDS, Provider
from vaultborn.idp.tokens import ClientKey, Credential, TokenSource, client_id_for
from vaultborn.idp.verify import unverified_claims
from vaultborn.render import console, print_json
from vaultborn.runner.wiring import Settings, open_vault
from vaultborn.vault.reference import parse_reference
from vaultborn.vault.secret import Secret

__all__ = ["register_token_commands"]

DOMAIN_ENV = "VAULTBORN_IDP_DOMAIN"
KIND_ENV = "VAULTBORN_IDP_KIND"
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')

ClientOpt = Annotated[
    str | None,
    typer.Option(
        "--client",
        metavar="REF",
        help="op:// reference of the client secret "
        "(e.g. 'op://ACL/Auth0 M2M — my-agent/credential').",
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        metavar="REF",
        help="Instead of --client: op:// reference of the client's private key (an SSH Key "
        "item's 'private key', e.g. 'op://ACL/my-agent key/private key'); each token request "
        "then signs a 60-second client assertion (private_key_jwt).",
    ),
]
AudienceOpt = Annotated[
    str, typer.Option("--audience", metavar="AUD", help="The API identifier the token is for.")
]
DomainOpt = Annotated[
    str | None,
    typer.Option(
        "--domain",
        metavar="URL",
        help="The IdP: an Auth0 domain (tenant.us.auth0.com) or an OpenID Provider's "
        f"issuer URL. Env: {DOMAIN_ENV}.",
    ),
]
KindOpt = Annotated[
    str | None,
    typer.Option(
        "--kind",
        metavar="KIND",
        help=f"auto, {' or '.join(KINDS)}: oidc reads the provider's discovery document and "
        "names the API by RFC 8707 'resource'; auth0 uses Auth0's endpoints and 'audience'. "
        f"Default auto: auth0 for *.auth0.com, else oidc. Env: {KIND_ENV}.",
    ),
]
ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--scope", metavar="SCOPES", help="Space-separated scopes to ask for (default: none named)."
    ),
]
ClientIdOpt = Annotated[
    str | None,
    typer.Option(
        "--client-id",
        metavar="ID",
        help="The client id; default: the 'client_id' or 'username' field of the --client "
        "(or --key) item.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _provider(domain: str | None, kind: str | None, http: httpx.Client) -> Provider:
    given = domain or os.environ.get(DOMAIN_ENV, "")
    if not given.strip():
        raise UsageError(f"no IdP domain: pass --domain or set {DOMAIN_ENV}")
    return Provider(given, kind or os.environ.get(KIND_ENV) or "auto", http=http)


def _credential(client: str | None, key: str | None) -> Credential:
    if (client is None) == (key is None):
        raise UsageError(
            "give --client REF (the client secret) or --key REF (the client's private key), "
            "one of them"
        )
    if key is not None:
        return ClientKey(parse_reference(key))
    return parse_reference(str(client))


def _acquire(
    settings: Settings,
    provider: Provider,
    ref: Credential,
    audience: str,
    client_id: str | None,
    scope: str | None,
) -> Secret:
    vault = open_vault(settings)
    cid = client_id or client_id_for(vault, ref)
    source = TokenSource(vault, provider=provider, http=provider.http)
    return source.token(cid, ref, audience, scope=scope)


def _claims(provider: Provider, audience: str, token: Secret) -> tuple[dict[str, Any], bool, str]:
    keys = provider.keys()
    try:
        claims = provider.verifier(audience).verify(token)
        return claims, True, f"verified against {provider.metadata().jwks_uri}"
    except InvalidToken as exc:
        why = f"{exc} ({keys.last_error})" if keys.last_error else str(exc)
    try:
        claims = unverified_claims(token)
    except InvalidToken:
        claims = {}  # an opaque token: nothing to show but that it exists
    return claims, False, f"NOT verified, shown as decoded: {why}"


def token_command(
    ctx: typer.Context,
    audience: AudienceOpt,
    client: ClientOpt = None,
    key: KeyOpt = None,
    domain: DomainOpt = None,
    kind: KindOpt = None,
    scope: ScopeOpt = None,
    client_id: ClientIdOpt = None,
    as_json: JsonOpt = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="Also print the access token itself (a secret).")
    ] = False,
) -> None:
    """Get an M2M access token (client secret or key from the vault) and print its claims.

    Claims are verified against the IdP's JWKS when it answers, else shown decoded, UNVERIFIED.

    The token itself only with --raw (alone: just the token, for scripts).
    """
    credential = _credential(client, key)
    with httpx.Client(timeout=10.0, verify=tls_context()) as http:
        provider = _provider(domain, kind, http)
        token = _acquire(ctx.obj, provider, credential, audience, client_id, scope)
        if raw and not as_json:
            typer.echo(token.reveal())
            return
        claims, verified, note = _claims(provider, audience, token)
        described = provider.describe()
    if as_json:
        out: dict[str, Any] = {
            "verified": verified,
            "note": note,
            "provider": described,
            "claims": claims,
        }
        if raw:
            out["access_token"] = token.reveal()
        print_json(out)
        return
    console.print(note, markup=False)
    width = max((len(k) for k in claims), default=0)
    for name, value in claims.items():
        shown = value if isinstance(value, str) else _json_text(value)
        if name in ("exp", "iat", "nbf") and isinstance(value, int | float):
            shown = f"{value} ({datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC)"
        console.print(f"  {name:<{width}}  {shown}", markup=False)


def call_command(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The protected API to GET.")],
    audience: AudienceOpt,
    client: ClientOpt = None,
    key: KeyOpt = None,
    domain: DomainOpt = None,
    kind: KindOpt = None,
    scope: ScopeOpt = None,
    client_id: ClientIdOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """GET a protected API with an M2M token (secret or key from the vault); print the answer.

    Exits 0 on a 2xx answer, 1 otherwise with the status and the WWW-Authenticate error.
    """
    try:  # a usage mistake first, before the vault or the IdP
        where = f"GET {endpoint(url)}"
    except httpx.InvalidURL:
        raise UsageError(f"{url!r} is not a valid URL") from None
    credential = _credential(client, key)
    try:
        with httpx.Client(timeout=10.0, verify=tls_context()) as http:
            token = _acquire(
                ctx.obj, _provider(domain, kind, http), credential, audience, client_id, scope
            )
            response = http.get(url, headers={"Authorization": f"Bearer {token.reveal()}"})
    except httpx.InvalidURL:
        raise UsageError(f"{url!r} is not a valid URL") from None
    except httpx.UnsupportedProtocol:
        raise UsageError(f"{url!r} is not an http:// or https:// URL") from None
    except httpx.HTTPError as exc:
        raise ServiceError(f"{where} failed ({type(exc).__name__})") from None
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    if as_json:
        print_json({"url": url, "status": response.status_code, "body": body})
    else:
        console.print(f"HTTP {response.status_code}", markup=False)
        if isinstance(body, str):
            console.print(body, markup=False)
        else:
            print_json(body)
    if not response.is_success:
        raise ServiceError(f"{where} → {response.status_code}{_www_authenticate(response)}")


def _www_authenticate(response: httpx.Response) -> str:
    params = dict(_AUTH_PARAM.findall(response.headers.get("www-authenticate", "")))
    if "error" not in params:
        return ""
    description = params.get("error_description", "")
    return f" ({params['error']}{': ' + description if description else ''})"


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def register_token_commands(app: typer.Typer) -> None:
    """Add ``token`` and ``call`` to the main ``vaultborn`` app."""
    app.command("token", rich_help_panel="Agent side")(token_command)
    app.command("call", rich_help_panel="Agent side")(call_command)
