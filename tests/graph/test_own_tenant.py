"""Verification against a tenant of your own: no demo API, no dev login page.

The embedded dev IdP stands in for the tenant; the run is told, as ``open_runtime`` tells it
for a plan with a domain, that there is no default protected API and no default login page.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.graph.kit import embedded_run
from vaultborn.browser.chromium import find_chromium

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def test_without_an_api_the_token_is_checked_against_the_jwks(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        run.deps = dataclasses.replace(run.deps, protected_api="", login_url="")
        (view,) = run.drive("run-own-tenant")

    assert view.status == "done", view.reason
    verify = view.values["verify"]
    jwks = run.idp.base_url + ".well-known/jwks.json"
    assert verify["token_check"] == f"signature and claims against {jwks}"
    assert "api_status" not in verify
    assert verify["login_drill"] == "skipped: no break_glass.login_url in the plan"


def test_a_plan_api_the_tenant_does_not_serve_stops_the_run(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        api = run.idp.base_url + "api/protected/nothing-here"
        run.plan = {**run.plan, "agent": {**run.plan["agent"], "protected_api": api}}
        run.deps = dataclasses.replace(run.deps, login_url="")
        with pytest.raises(Exception, match="answered 404 to the agent's token"):
            run.drive("run-own-api")
