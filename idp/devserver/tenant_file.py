"""Tenant files: TOML text parsed and validated into a ``Tenant``.

::

    protected_audience = "https://api.example.com"   # the identifier the demo API accepts
    name = "vaultborn-dev"                           # optional: shown on pages, otpauth issuer
    token_lifetime = 86400                           # optional: seconds an access token lives
    key_grace_seconds = 86400                        # optional: a retired key stays published
    ticket_lifetime = 432000                         # optional: an enrollment ticket's seconds
    connections = ["Username-Password-Authentication"]
    require_human_check = false                      # optional: the pages' "verify you are human"
    multiple_enrollments = true                      # optional: tickets may enroll a second TOTP
    rate_limit = { requests = 1000, per_seconds = 1 }

    [[clients]]
    client_id = "agent"
    secret_env = "AGENT_SECRET"     # or secret_ref = "op://…" (resolved from the vault at start)
                                    # or public_key_ref = "op://…/public key" (private_key_jwt)
    audiences = ["https://api.example.com"]          # "management" means <base URL>api/v2/
    scopes = ["read:whoami"]
    claims = { owner = "ops", agent_type = "ci" }

A client's secret comes from exactly one of ``secret_env``, ``secret_ref`` or (in code only) an
in-memory ``Secret``; a client with ``public_key_ref`` (an SSH Key item's ``public key`` in the
vault) has no secret and authenticates by ``private_key_jwt``. Every validation error is a
one-line ``UsageError`` naming the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vaultborn.core.errors import UsageError
from vaultborn.core.files import read_small_file
from vaultborn.idp.devserver.tenant import (
    DEFAULT_CONNECTION,
    RESERVED_CLAIMS,
    RateLimit,
    Tenant,
    TenantClient,
)

__all__ = ["load_tenant", "parse_tenant"]

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 scope-token characters
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Table:
    """Reads one TOML table, naming the key in every error and refusing unknown keys."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data, self.where, self.seen = data, where, set[str]()

    def _key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.seen.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if isinstance(value, bool) and kind is not bool:
            raise UsageError(f"tenant: {self._key(key)} must be {_kind_name(kind)}")
        if not isinstance(value, kind):
            raise UsageError(f"tenant: {self._key(key)} must be {_kind_name(kind)}")
        return value

    def required(self, key: str, kind: type) -> Any:
        if key not in self.data:
            raise UsageError(f"tenant: {self._key(key)} is required")
        return self.get(key, kind)

    def strings(self, key: str, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
        values = self.get(key, list, [])
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v or (pattern and not pattern.fullmatch(v)):
                raise UsageError(f"tenant: {self._key(key)}[{i}] is not a valid value")
        return tuple(values)

    def positive(self, key: str, default: Any, kind: type | tuple[type, ...] = int) -> Any:
        value = self.get(key, kind, default)
        if value <= 0:
            raise UsageError(f"tenant: {self._key(key)} must be positive")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise UsageError(f"tenant: unknown key {self._key(unknown[0])!r}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "an array"}
    names.update({dict: "a table", float: "a number"})
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _client(data: Any, where: str) -> TenantClient:
    if not isinstance(data, dict):
        raise UsageError(f"tenant: {where} must be a table")
    t = _Table(data, where)
    client_id = t.required("client_id", str)
    if not _CLIENT_ID.fullmatch(client_id):
        raise UsageError(f"tenant: {where}.client_id must be 1–64 of A–Z a–z 0–9 . _ -")
    secret_env = t.get("secret_env", str)
    secret_ref = t.get("secret_ref", str)
    key_ref = t.get("public_key_ref", str)
    given = [k for k, v in (("secret_env", secret_env), ("secret_ref", secret_ref)) if v] + (
        ["public_key_ref"] if key_ref else []
    )
    if len(given) != 1:
        raise UsageError(
            f"tenant: {where} needs exactly one of secret_env, secret_ref or public_key_ref"
        )
    if key_ref is not None and not key_ref.startswith("op://"):
        raise UsageError(f"tenant: {where}.public_key_ref must be an op:// reference")
    if secret_env is not None and not _ENV_NAME.fullmatch(secret_env):
        raise UsageError(f"tenant: {where}.secret_env is not a variable name")
    if secret_ref is not None and not secret_ref.startswith("op://"):
        raise UsageError(f"tenant: {where}.secret_ref must be an op:// reference")
    audiences = t.strings("audiences")
    if not audiences:
        raise UsageError(f"tenant: {where}.audiences must name at least one audience")
    claims = dict(t.get("claims", dict, {}))
    reserved = sorted(RESERVED_CLAIMS & set(claims))
    if reserved:
        raise UsageError(f"tenant: {where}.claims may not set the reserved claim {reserved[0]!r}")
    client = TenantClient(
        client_id=client_id,
        audiences=audiences,
        scopes=t.strings("scopes", _SCOPE),
        name=t.get("name", str, ""),
        claims=claims,
        secret_env=secret_env,
        secret_ref=secret_ref,
        public_key_ref=key_ref,
    )
    t.done()
    return client


def parse_tenant(text: str) -> Tenant:
    """Parse and validate a tenant file's text.

    Raises:
        UsageError: The TOML does not parse, or a key is missing, unknown or of the wrong type.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"tenant: not valid TOML ({exc})") from None
    t = _Table(data, "")
    raw_clients = t.get("clients", list, [])
    clients = tuple(_client(c, f"clients[{i}]") for i, c in enumerate(raw_clients))
    ids = [c.client_id for c in clients]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UsageError(f"tenant: client_id {duplicates[0]!r} is declared twice")
    limit = RateLimit()
    raw_limit = t.get("rate_limit", dict)
    if raw_limit is not None:
        r = _Table(raw_limit, "rate_limit")
        limit = RateLimit(
            r.positive("requests", 1000), float(r.positive("per_seconds", 1, (int, float)))
        )
        r.done()
    grace = t.get("key_grace_seconds", int)
    if grace is not None and grace < 0:
        raise UsageError("tenant: key_grace_seconds may not be negative")
    tenant = Tenant(
        protected_audience=t.required("protected_audience", str),
        clients=clients,
        name=t.get("name", str, "vaultborn-dev"),
        connections=t.strings("connections") or (DEFAULT_CONNECTION,),
        token_lifetime=t.positive("token_lifetime", 86400),
        key_grace_seconds=grace,
        ticket_lifetime=t.positive("ticket_lifetime", 5 * 86400),
        require_human_check=t.get("require_human_check", bool, False),
        multiple_enrollments=t.get("multiple_enrollments", bool, True),
        rate_limit=limit,
    )
    t.done()
    return tenant


def load_tenant(source: Tenant | Path | str) -> Tenant:
    """A ``Tenant`` as is, a tenant file by path, or tenant TOML text.

    Raises:
        UsageError: The file cannot be read or is not a valid tenant.
    """
    if isinstance(source, Tenant):
        return source
    if isinstance(source, Path):
        try:
            data = read_small_file(source)
            # Universal newlines, as read_text() gave them.
            text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"tenant: cannot read {source}: {reason}") from None
        return parse_tenant(text)
    return parse_tenant(source)
