"""A dev IdP on 127.0.0.1 shared by the whole session (demo tenant, known client secrets).

Tests that change the server (rate limits, key rotation, clocks, restarts) start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from auth0.management import Auth0

from tests.idp.devkit import AGENT_SECRET, ENV, MGMT_SECRET, client, mgmt_token
from tests.idp.sdkkit import management
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant


@pytest.fixture(scope="session")
def mgmt_secret() -> str:
    """The demo tenant's ``mgmt`` client secret (Management API)."""
    return MGMT_SECRET


@pytest.fixture(scope="session")
def agent_secret() -> str:
    """The demo tenant's ``agent`` client secret (``https://api.example.com``, read:whoami)."""
    return AGENT_SECRET


@pytest.fixture(scope="session")
def dev_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevIdP]:
    """The demo tenant's dev IdP; its secrets are ``mgmt_secret`` and ``agent_secret``."""
    db = tmp_path_factory.mktemp("devidp") / "devidp.db"
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as idp:
        yield idp


@pytest.fixture(scope="session")
def mgmt(dev_idp: RunningDevIdP) -> str:
    """A Management API token of the shared dev IdP with every demo scope."""
    return mgmt_token(dev_idp)


@pytest.fixture(scope="module")
def sdk(dev_idp: RunningDevIdP, mgmt: str) -> Iterator[Auth0]:
    """The official auth0-python Management API client on the shared dev IdP."""
    with httpx.Client(timeout=10) as client:
        yield management(dev_idp.base_url, mgmt, client)


@pytest.fixture(scope="session")
def http(dev_idp: RunningDevIdP) -> Iterator[httpx.Client]:
    """An httpx client on the shared dev IdP's base URL."""
    with client(dev_idp.base_url) as http:
        yield http
