"""The plan's model and defaults, and the embedded default plan with its demo data.

``vaultborn.runner.plan`` parses ``vaultborn.toml`` into these classes and re-exports them. The
embedded default (no plan given) needs a few secrets that the demo generates in the local
vault first; ``DEMO_PREREQUISITES`` describes them (titles, fields, recipes) and nothing here
touches a vault.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from vaultborn.nodes.state import (
    AgentData,
    BreakGlassData,
    IdpData,
    PlanData,
    ScheduleData,
    VaultData,
)

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_CONNECTION",
    "DEFAULT_RECIPE",
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
]

EMBEDDED_SOURCE = "embedded default"
"""``Plan.source`` of the embedded default plan."""
DEFAULT_CONNECTION = "Username-Password-Authentication"
DEFAULT_RECIPE = "letters,digits,symbols,32"
DEFAULT_AUDIENCE = "https://api.example.com"
DEMO_VAULT = "ACL"
# Client secrets of the dev IdP need at least 32 characters; no symbols, so they paste cleanly.
_CLIENT_SECRET_RECIPE = "letters,digits,40"  # noqa: S105 (a recipe, not a password)


@dataclass(frozen=True)
class VaultPlan:
    """The trust anchor: ``backend`` (``local`` or ``op``) and the vault's ``name``."""

    backend: str = "local"
    name: str = "ACL"

    def to_dict(self) -> VaultData:
        """Every field, in order (as ``dataclasses.asdict`` would give them, but typed)."""
        return {"backend": self.backend, "name": self.name}


@dataclass(frozen=True)
class IdPPlan:
    """The IdP and its management client; ``domain`` None means the embedded dev IdP.

    ``kind = "auth0"`` creates the user and its enrollment ticket through the Management API
    (its client named here). ``kind = "oidc"`` is any OpenID Provider: tokens by its discovery
    document, the user made on an application's sign-up page (``break_glass.signup_url``).
    """

    management_client_id: str | None = None
    """The Management API client's id (``auth0`` only)."""
    management_secret: str | None = None
    """The ``op://`` reference of the management client's secret (``auth0`` only)."""
    kind: str = "auth0"
    """``auth0`` or ``oidc``."""
    domain: str | None = None
    """The Auth0 domain or the OpenID Provider's issuer, with a trailing slash
    (``https://tenant.us.auth0.com/``, ``https://idp.example.com/realms/acme/``)."""
    connection: str = DEFAULT_CONNECTION
    """The Auth0 database connection users are created in (``auth0`` only)."""

    def to_dict(self) -> IdpData:
        """Every field, in order (as ``dataclasses.asdict`` would give them, but typed)."""
        return {
            "management_client_id": self.management_client_id,
            "management_secret": self.management_secret,
            "kind": self.kind,
            "domain": self.domain,
            "connection": self.connection,
        }


@dataclass(frozen=True)
class BreakGlassPlan:
    """The break-glass account: e-mail, vault item title, password recipe, enrollment."""

    email: str
    item: str
    password_recipe: str = DEFAULT_RECIPE
    enrollment: str = "browser"
    """``browser`` (the "can't scan" page) or ``api`` (seed generated in the vault)."""
    login_url: str | None = None
    """Where the login drill starts (a page that shows the IdP's login form); None means the
    embedded dev IdP's ``/login``, or no drill with a tenant of your own."""
    signup_url: str | None = None
    """The application's sign-up page, where the user is created (``oidc`` only)."""
    enroll_url: str | None = None
    """The application's TOTP set-up page, opened logged out: the enrollment logs in with the
    item's username and password first (``oidc`` only; Auth0 uses an enrollment ticket)."""

    def to_dict(self) -> BreakGlassData:
        """Every field, in order (as ``dataclasses.asdict`` would give them, but typed)."""
        return {
            "email": self.email,
            "item": self.item,
            "password_recipe": self.password_recipe,
            "enrollment": self.enrollment,
            "login_url": self.login_url,
            "signup_url": self.signup_url,
            "enroll_url": self.enroll_url,
        }


@dataclass(frozen=True)
class AgentPlan:
    """The agent's M2M client: its id, the reference of its secret, the API audience."""

    client_id: str
    secret: str
    audience: str = DEFAULT_AUDIENCE
    protected_api: str | None = None
    """A URL of your API that must answer 200 to the agent's token; None means the embedded dev
    IdP's demo API, or — with a tenant of your own — checking the token against its JWKS."""
    scope: str | None = None
    """Space-separated scopes the agent's token asks for; None asks for none by name (Auth0
    grants the client's; an OpenID Provider its default)."""

    def to_dict(self) -> AgentData:
        """Every field, in order (as ``dataclasses.asdict`` would give them, but typed)."""
        return {
            "client_id": self.client_id,
            "secret": self.secret,
            "audience": self.audience,
            "protected_api": self.protected_api,
            "scope": self.scope,
        }


@dataclass(frozen=True)
class SeedPlan:
    """One runtime store target (``to``) seeded one way from a vault reference."""

    reference: str
    """The ``op://`` reference read (the TOML's ``from``)."""
    target: str
    """The target URI written (the TOML's ``to``), e.g. ``aws-secretsmanager://REGION/NAME``."""


@dataclass(frozen=True)
class SchedulePlan:
    """Lifecycle work a worker starts when due (``[schedule]``; see ``runner.due``)."""

    drift_every: str | None = None
    """How often a drift run checks the chain (``1d``); None: never on schedule."""
    rotate_every: str | None = None
    """How often each credential of ``rotate`` is rotated (``30d``); None: never."""
    rotate: tuple[str, ...] = ()
    """What is rotated on schedule: ``rotate --what`` names."""

    def to_dict(self) -> ScheduleData:
        """The keys the TOML had (so an absent one keeps the plan's digest as it was)."""
        data: ScheduleData = {}
        if self.drift_every is not None:
            data["drift_every"] = self.drift_every
        if self.rotate_every is not None:
            data["rotate_every"] = self.rotate_every
            data["rotate"] = list(self.rotate)
        return data


@dataclass(frozen=True)
class Plan:
    """A whole, checked setup plan."""

    vault: VaultPlan
    idp: IdPPlan
    break_glass: BreakGlassPlan
    agent: AgentPlan
    seeds: tuple[SeedPlan, ...] = ()
    source: str = field(default=EMBEDDED_SOURCE, compare=False)
    """The file the plan came from, or ``"embedded default"``; not part of the content."""
    notify: str | None = None
    """The ``op://`` reference of a webhook's URL told when the run waits (``[notify]``)."""
    schedule: SchedulePlan | None = None
    """Drift checks and rotations a worker starts when due (``[schedule]``)."""

    @property
    def embedded_idp(self) -> bool:
        """True when the embedded dev IdP serves (the plan names no domain)."""
        return self.idp.domain is None

    def to_dict(self) -> PlanData:
        """The plan's content as JSON data in the TOML's shape: references and plain values."""
        data: PlanData = {
            "vault": self.vault.to_dict(),
            "idp": self.idp.to_dict(),
            "break_glass": self.break_glass.to_dict(),
            "agent": self.agent.to_dict(),
            "seed": [{"from": s.reference, "to": s.target} for s in self.seeds],
        }
        if self.notify is not None:
            data["notify"] = {"webhook": self.notify}
        if self.schedule is not None:
            data["schedule"] = self.schedule.to_dict()
        return data

    @property
    def digest(self) -> str:
        """``sha256:`` and the hex digest of the canonical JSON of ``to_dict()``."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class DemoPrerequisite:
    """A vault item the embedded demo generates before the run: its shape, never a value."""

    title: str
    """The item's title in the demo vault."""
    field: str
    """The field holding the generated value."""
    recipe: str
    """The password recipe the value is generated with, e.g. ``letters,digits,40``."""

    @property
    def reference(self) -> str:
        """The ``op://`` reference of the generated value."""
        return f"op://{DEMO_VAULT}/{self.title}/{self.field}"


DEMO_MANAGEMENT = DemoPrerequisite(
    "vaultborn dev — Auth0 Management", "password", _CLIENT_SECRET_RECIPE
)
DEMO_AGENT = DemoPrerequisite("vaultborn dev — Auth0 M2M agent", "password", _CLIENT_SECRET_RECIPE)
DEMO_SOME_API = DemoPrerequisite("vaultborn dev — Some API", "password", _CLIENT_SECRET_RECIPE)
DEMO_PREREQUISITES = (DEMO_MANAGEMENT, DEMO_AGENT, DEMO_SOME_API)
"""What the embedded demo generates in the local vault first: the management and agent client
secrets of the dev IdP, and a downstream API key that the demo seeds."""
DEMO_SEED_TARGET = "aws-secretsmanager://us-east-1/vaultborn-demo/some-api"


def default_plan() -> Plan:
    """The embedded demo: local vault, dev IdP on loopback, moto's server in process."""
    return Plan(
        vault=VaultPlan(),
        idp=IdPPlan(management_client_id="mgmt", management_secret=DEMO_MANAGEMENT.reference),
        break_glass=BreakGlassPlan(email="admin@example.com", item="Auth0 — admin@example.com"),
        agent=AgentPlan(client_id="agent", secret=DEMO_AGENT.reference),
        seeds=(SeedPlan(DEMO_SOME_API.reference, DEMO_SEED_TARGET),),
        source=EMBEDDED_SOURCE,
    )
