"""vaultborn: an agent workflow orchestrator whose credentials are born in the vault.

This package is the shell (the CLI, prompts, rendering, ``doctor``, the notebook helpers) and
the one name the project installs under: the layers are its sub-packages, from the ground up
``vaultborn.core``; ``vault``, ``idp``, ``stores``, ``browser``, ``approvals``; ``nodes``;
``graphs``; ``runner``. Each imports only the layers below it (``docs/architecture.md``).

For programs, the names below are the public API (loaded on first use, so ``import vaultborn``
stays cheap):

- ``run_setup(plan, policy=…, on_gate=…)``: a whole setup, synchronously; ``approve_all(name)``
  is an ``on_gate`` that approves everything as ``name``; ``answer_for(waiting, decision, …)``
  builds any answer an ``on_gate`` returns, bound to the run, request and digest that wait;
  ``load_plan``, ``Plan``, ``Policy``.
- ``open_vault(backend)``: the local vault or 1Password (the ``op`` CLI), as the CLI opens them;
  ``Secret`` is what a read returns (its value only through ``reveal()``).
- ``TokenSource``: M2M access tokens by client credentials, secrets read from the vault;
  ``JwtVerifier``: checks a token against an issuer's JWKS.
- ``start_dev_idp(tenant)``: the embedded Auth0-compatible IdP on loopback; ``demo_tenant``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import vaultborn.core  # noqa: F401  (LangGraph's strict msgpack, before any layer loads LangGraph)

if TYPE_CHECKING:
    from vaultborn.approvals.policy import Policy
    from vaultborn.approvals.request import answer_for
    from vaultborn.idp.devserver.server import start_dev_idp
    from vaultborn.idp.devserver.tenant import demo_tenant
    from vaultborn.idp.tokens import TokenSource
    from vaultborn.idp.verify import JwtVerifier
    from vaultborn.runner.library import approve_all, open_vault, run_setup
    from vaultborn.runner.plan import Plan, load_plan
    from vaultborn.vault.secret import Secret

__version__ = "0.1.0"

_PUBLIC = {
    "run_setup": "vaultborn.runner.library",
    "approve_all": "vaultborn.runner.library",
    "answer_for": "vaultborn.approvals.request",
    "open_vault": "vaultborn.runner.library",
    "load_plan": "vaultborn.runner.plan",
    "Plan": "vaultborn.runner.plan",
    "Policy": "vaultborn.approvals.policy",
    "Secret": "vaultborn.vault.secret",
    "TokenSource": "vaultborn.idp.tokens",
    "JwtVerifier": "vaultborn.idp.verify",
    "start_dev_idp": "vaultborn.idp.devserver.server",
    "demo_tenant": "vaultborn.idp.devserver.tenant",
}

__all__ = [
    "JwtVerifier",
    "Plan",
    "Policy",
    "Secret",
    "TokenSource",
    "__version__",
    "answer_for",
    "approve_all",
    "demo_tenant",
    "load_plan",
    "open_vault",
    "run_setup",
    "start_dev_idp",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'vaultborn' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value
