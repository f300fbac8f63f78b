"""The setup plan (``vaultborn.toml``): which vault, IdP, break-glass account, agent and targets.

Every mistake is one line naming the key: ``plan vaultborn.toml: idp.domain: expected a URL
like https://tenant.us.auth0.com, got 'tenant'``. A plan holds references and plain values
only. With no plan the embedded default serves: the local vault, the dev IdP on loopback and
moto's server in process, after the items of ``DEMO_PREREQUISITES`` are generated.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from vaultborn.core.errors import UsageError
from vaultborn.core.files import read_small_file
from vaultborn.idp.provider import KINDS
from vaultborn.runner.due import parse_duration
from vaultborn.runner.plan_default import (
    DEFAULT_AUDIENCE,
    DEFAULT_CONNECTION,
    DEFAULT_RECIPE,
    DEMO_PREREQUISITES,
    EMBEDDED_SOURCE,
    AgentPlan,
    BreakGlassPlan,
    DemoPrerequisite,
    IdPPlan,
    Plan,
    SchedulePlan,
    SeedPlan,
    VaultPlan,
    default_plan,
)
from vaultborn.runner.wiring import VAULT_BACKENDS
from vaultborn.stores.registry import parse_target
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.reference import SCHEME, parse_reference

__all__ = [
    "DEMO_PREREQUISITES",
    "EMBEDDED_SOURCE",
    "AgentPlan",
    "BreakGlassPlan",
    "DemoPrerequisite",
    "IdPPlan",
    "Plan",
    "SchedulePlan",
    "SeedPlan",
    "VaultPlan",
    "default_plan",
    "load_plan",
    "parse_plan",
]

_LOOPBACK = ("127.0.0.1", "localhost")
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SECTIONS = ("vault", "idp", "break_glass", "agent", "seed", "notify", "schedule")
_Check = Callable[[str], str]


class _Table:
    """One TOML table being read; every error names ``<path><key>``."""

    def __init__(self, raw: object, path: str, keys: tuple[str, ...], fail: _Fail) -> None:
        if not isinstance(raw, dict):
            raise fail(path.rstrip("."), f"expected a table, got {_describe(raw)}")
        self.data: dict[str, Any] = raw
        self.path, self._fail = path, fail
        unknown = sorted(set(raw) - set(keys))
        if unknown:
            close = difflib.get_close_matches(unknown[0], keys, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise fail.unknown(f"{path}{unknown[0]}{hint}")

    def fail(self, key: str, problem: str) -> UsageError:
        return self._fail(self.path + key, problem)

    def text(self, key: str, default: str | None = None, check: _Check | None = None) -> str:
        """The string at ``key`` (``default`` if absent; required if None), checked."""
        if key not in self.data:
            if default is None:
                raise self.fail(key, "missing (required)")
            return default
        value, hidden = self.data[key], key in ("management_secret", "secret", "from", "webhook")
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_describe(value, hidden)}")
        if not value.strip() or value != value.strip() or _CONTROL.search(value):
            problem = "empty" if not value.strip() else "has surrounding spaces or control chars"
            raise self.fail(key, problem)
        if check is None:
            return value
        try:
            return check(value)
        except UsageError as error:
            raise self.fail(key, error.message) from None

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value not in options:
            raise self.fail(key, f"expected {' or '.join(options)}, got {value!r}")
        return value


class _Fail:
    """Builds the one-line errors of one plan source."""

    def __init__(self, source: str) -> None:
        self.prefix = f"plan {source}: "

    def __call__(self, key: str, problem: str) -> UsageError:
        return UsageError(f"{self.prefix}{key}: {problem}")

    def unknown(self, key: str) -> UsageError:
        return UsageError(f"{self.prefix}unknown key {key}")


def _describe(value: object, hidden: bool = False) -> str:
    kind = {dict: "a table", list: "an array", bool: "a boolean"}.get(type(value))
    if kind or hidden:
        return kind or f"a value of type {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reference(text: str) -> str:
    # Not echoed unless it looks like a reference: a pasted secret must not reach the terminal.
    if not text.startswith(SCHEME):
        raise UsageError("not a secret reference: expected op://vault/item/[section/]field")
    try:
        ref = parse_reference(text)
    except UsageError as error:
        raise UsageError(f"not a secret reference: {error.message}") from None
    if ref.wants_otp:
        raise UsageError(f"not a secret reference: {text!r} asks for a one-time code")
    return str(ref)


def _domain(text: str) -> str:
    bad = UsageError(f"expected a URL like https://tenant.us.auth0.com, got {text!r}")
    try:
        url = urlsplit(text if "://" in text else "https://" + text)
        host, port = url.hostname or "", url.port
    except ValueError:
        raise bad from None
    loopback = host in _LOOPBACK
    if (
        url.scheme not in ("http", "https")
        or not (loopback or _HOST.fullmatch(host))
        or url.username is not None
        or url.path not in ("", "/")
        or "?" in text
        or "#" in text
    ):
        raise bad
    if url.scheme == "http" and not loopback:
        raise UsageError(f"plain http is allowed only for 127.0.0.1 or localhost, got {text!r}")
    return f"{url.scheme}://{host}{'' if port is None else f':{port}'}/"


def _issuer(text: str) -> str:
    """An OpenID Provider's issuer: an http(s) URL that may have a path, with a trailing "/"."""
    url = _url(text if "://" in text else "https://" + text)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise UsageError(f"an issuer has no query or fragment, got {text!r}")
    return url if url.endswith("/") else url + "/"


def _scope(text: str) -> str:
    if not all(part.isprintable() and '"' not in part for part in text.split()):
        raise UsageError("expected space-separated scope names")
    return " ".join(text.split())


def _url(text: str) -> str:
    """A full http(s) URL (plain http only on loopback); a token or a password goes there."""
    bad = UsageError(f"expected a URL like https://api.example.com/path, got {text!r}")
    try:
        url = urlsplit(text)
        host = url.hostname or ""
        url.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise bad from None
    loopback = host in _LOOPBACK
    if url.scheme not in ("http", "https") or not (loopback or _HOST.fullmatch(host)):
        raise bad
    if url.username is not None or url.password is not None:
        raise UsageError(f"a URL in a plan cannot carry credentials, got {url.hostname!r}")
    if url.scheme == "http" and not loopback:
        raise UsageError(f"plain http is allowed only for 127.0.0.1 or localhost, got {text!r}")
    return text


def _email(text: str) -> str:
    if not _EMAIL.fullmatch(text) or not text.isprintable():  # bidi, zero-width, NUL
        raise UsageError(f"expected an e-mail address like admin@example.com, got {text!r}")
    return text


def _name(text: str) -> str:
    if "/" in text:
        raise UsageError(f"a vault or item name cannot contain '/', got {text!r}")
    return text


def _client_id(text: str) -> str:
    if any(c.isspace() for c in text) or "/" in text:
        raise UsageError(f"expected a client id without spaces or '/', got {text!r}")
    return text


def parse_plan(text: str, source: str = "vaultborn.toml") -> Plan:
    """Parse and check a plan's TOML text; ``source`` names it in errors and ``Plan.source``.

    Raises:
        UsageError: One line naming the key and the problem (or the TOML line and column).
    """
    fail = _Fail(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"plan {source}: TOML syntax: {' '.join(str(error).split())}") from None
    except (ValueError, RecursionError) as error:
        raise UsageError(f"plan {source}: TOML syntax: {type(error).__name__}") from None
    _Table(data, "", _SECTIONS, fail)
    v = _Table(data.get("vault", {}), "vault.", ("backend", "name"), fail)
    vault = VaultPlan(v.choice("backend", VAULT_BACKENDS, "local"), v.text("name", "ACL", _name))
    i = _Table(_required(data, "idp", fail), "idp.", _IDP_KEYS, fail)
    kind = i.choice("kind", KINDS, "auth0")
    idp = _idp_plan(i, kind)
    b = _Table(_required(data, "break_glass", fail), "break_glass.", _BREAK_GLASS_KEYS, fail)
    break_glass = BreakGlassPlan(
        email=b.text("email", check=_email),
        item=b.text("item", check=_name),
        password_recipe=b.text("password_recipe", DEFAULT_RECIPE, lambda t: str(parse_recipe(t))),
        enrollment=b.choice("enrollment", ("browser", "api"), "browser"),
        login_url=b.text("login_url", "", _url) or None,
        signup_url=b.text("signup_url", "", _url) or None,
        enroll_url=b.text("enroll_url", "", _url) or None,
    )
    _check_kind_needs(kind, break_glass, b)
    agent_keys = ("client_id", "secret", "audience", "protected_api", "scope")
    a = _Table(_required(data, "agent", fail), "agent.", agent_keys, fail)
    agent = AgentPlan(
        client_id=a.text("client_id", check=_client_id),
        secret=a.text("secret", check=_reference),
        audience=a.text("audience", DEFAULT_AUDIENCE),
        protected_api=a.text("protected_api", "", _url) or None,
        scope=a.text("scope", "", _scope) or None,
    )
    notify = None
    if "notify" in data:  # a webhook's URL is a credential: the plan names it by reference
        notify = _Table(data["notify"], "notify.", ("webhook",), fail).text(
            "webhook", check=_reference
        )
    seeds = _seeds(data.get("seed", []), fail)
    schedule = _schedule(data["schedule"], fail) if "schedule" in data else None
    return Plan(vault, idp, break_glass, agent, seeds, source, notify=notify, schedule=schedule)


_IDP_KEYS = ("kind", "domain", "management_client_id", "management_secret", "connection")
_AUTH0_ONLY = ("management_client_id", "management_secret", "connection")
_BREAK_GLASS_KEYS = (
    "email",
    "item",
    "password_recipe",
    "enrollment",
    "login_url",
    "signup_url",
    "enroll_url",
)


def _idp_plan(i: _Table, kind: str) -> IdPPlan:
    """The [idp] table of either kind; each kind refuses the other's keys by name."""
    if kind == "auth0":
        return IdPPlan(
            kind=kind,
            domain=i.text("domain", "", _domain) or None,
            management_client_id=i.text("management_client_id", check=_client_id),
            management_secret=i.text("management_secret", check=_reference),
            connection=i.text("connection", DEFAULT_CONNECTION),
        )
    for key in _AUTH0_ONLY:
        if key in i.data:
            raise i.fail(
                key,
                'only for kind = "auth0": an OpenID Provider has no standard user API; the '
                "user is made on the application's sign-up page (break_glass.signup_url)",
            )
    return IdPPlan(kind=kind, domain=i.text("domain", check=_issuer))


def _check_kind_needs(kind: str, bg: BreakGlassPlan, table: _Table) -> None:
    """What each kind needs of [break_glass]: pages for ``oidc``, none for ``auth0``."""
    if kind == "auth0":
        for key in ("signup_url", "enroll_url"):
            if getattr(bg, key) is not None:
                raise table.fail(
                    key, 'only for idp.kind = "oidc": Auth0 users and tickets come from its API'
                )
        return
    if bg.signup_url is None:
        raise table.fail("signup_url", 'missing (required for idp.kind = "oidc")')
    if bg.enrollment == "api":
        raise table.fail(
            "enrollment", 'an OpenID Provider has no API to register a seed: use "browser"'
        )
    if bg.enroll_url is None:
        raise table.fail("enroll_url", 'missing (required for idp.kind = "oidc")')


def _required(data: Mapping[str, Any], key: str, fail: _Fail) -> object:
    if key not in data:
        raise fail(key, f"missing (required): add a [{key}] table")
    return data[key]


def _seeds(raw: object, fail: _Fail) -> tuple[SeedPlan, ...]:
    if not isinstance(raw, list):
        raise fail("seed", f"expected [[seed]] tables, got {_describe(raw)}")
    seeds: list[SeedPlan] = []
    for index, entry in enumerate(raw):
        table = _Table(entry, f"seed[{index}].", ("from", "to"), fail)
        seed = SeedPlan(
            reference=table.text("from", check=_reference),
            target=table.text("to", check=parse_target),
        )
        for earlier, other in enumerate(seeds):
            if other.target == seed.target:
                raise table.fail("to", f"{seed.target} is already seeded by seed[{earlier}]")
        seeds.append(seed)
    return tuple(seeds)


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _schedule(raw: object, fail: _Fail) -> SchedulePlan:
    """``[schedule]``: ``drift_every``, and ``rotate_every`` with what it rotates (``rotate``)."""
    table = _Table(raw, "schedule.", ("drift_every", "rotate_every", "rotate"), fail)
    drift = table.text("drift_every", "", _duration) or None
    every = table.text("rotate_every", "", _duration) or None
    if every is None:
        if "rotate" in table.data:
            raise table.fail("rotate", "needs schedule.rotate_every (how often to rotate)")
        if drift is None:
            raise fail("schedule", "names no work: add drift_every or rotate_every")
        return SchedulePlan(drift_every=drift)
    return SchedulePlan(drift, every, _rotations(table))


def _rotations(table: _Table) -> tuple[str, ...]:
    """``schedule.rotate``: ``rotate --what`` names, each once (default: the client secret)."""
    from vaultborn.nodes.lifecycle_steps import ROTATE_WHATS  # the steps load only when used

    raw = table.data.get("rotate", ["client-secret"])
    if not isinstance(raw, list) or not raw:
        raise table.fail(
            "rotate", f'expected an array like ["client-secret"], got {_describe(raw)}'
        )
    names: list[str] = []
    for index, name in enumerate(raw):
        if not isinstance(name, str) or name not in ROTATE_WHATS:
            raise table.fail(
                f"rotate[{index}]",
                f"unknown credential {_describe(name)} (one of {', '.join(ROTATE_WHATS)})",
            )
        if name in names:
            raise table.fail(f"rotate[{index}]", f"{name} is named twice")
        names.append(name)
    return tuple(names)


def load_plan(path: Path | None) -> Plan:
    """The plan in the TOML file at ``path``, or the embedded default when ``path`` is None.

    Raises:
        UsageError: The file cannot be read, or it is not a valid plan.
    """
    if path is None:
        return default_plan()
    try:
        text = read_small_file(path).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"plan {path}: not UTF-8 text") from None
    except OSError as error:
        raise UsageError(f"plan {path}: cannot read it: {error.strerror or error}") from None
    # Universal newlines, as read_text() gave them.
    return parse_plan(text.replace("\r\n", "\n").replace("\r", "\n"), str(path))
