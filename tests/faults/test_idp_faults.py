"""Faults on the wire between the run and the IdP: each one retried to convergence.

A ``FaultProxy`` sits in front of the dev IdP for every call the run makes (management API,
tokens, the protected API, the browser's pages). After each fault the whole setup still ends
``done`` with exactly one IdP user and one confirmed TOTP authenticator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.proxy import Fault, FaultProxy
from tests.graph.kit import embedded_run
from vaultborn.browser.chromium import find_chromium

pytestmark = [
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium found"),
    pytest.mark.robustness("fault: IdP over the wire (resets, 5xx, 429, slow)"),
]

FAULTS = {
    "user created, answer lost (reset after)": Fault("POST", r"^/api/v2/users$", "reset-after"),
    "connection reset before the user POST": Fault("POST", r"^/api/v2/users$", "reset-before"),
    "500 twice on the user POST": Fault("POST", r"^/api/v2/users$", "status:500", times=2),
    "429 storm on the token endpoint": Fault("POST", r"^/oauth/token$", "status:429", times=4),
    "ticket created, answer lost": Fault(
        "POST", r"^/api/v2/guardian/enrollments/ticket$", "reset-after"
    ),
    "503 on the authentication-methods read": Fault(
        "GET", r"/authentication-methods$", "status:503", times=2
    ),
    "slow protected API (2 s)": Fault("GET", r"^/api/protected/whoami$", "delay:2"),
}


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_setup_converges_through_the_fault(tmp_path: Path, fault: Fault) -> None:
    proxy: FaultProxy | None = None

    def front(base_url: str) -> str:
        nonlocal proxy
        proxy = FaultProxy(base_url).__enter__()
        proxy.faults.append(fault)
        return proxy.base_url

    try:
        with embedded_run(tmp_path, front=front) as run:
            (view,) = run.drive("run-faults")

            assert view.status == "done", view.reason
            assert proxy is not None and proxy.fired, "the fault never fired"
            with run.management() as mgmt:
                users = mgmt.users_by_email("admin@example.com")
                assert len(users) == 1
                methods = mgmt.authentication_methods(users[0]["user_id"])
            assert [(m["type"], m["confirmed"]) for m in methods] == [("totp", True)]
    finally:
        if proxy is not None:
            proxy.__exit__(None, None, None)
