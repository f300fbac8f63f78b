"""A page only a person may pass (the dev IdP's human check) becomes a ``human_step`` wait.

Headless, nobody can tick the box in the run's own browser, so the run waits with the page's
address; an acknowledgement makes the step look at the page again (and wait again), and no
effect before it is repeated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from approvals.audit import AuditLog
from approvals.policy import Policy
from browser.chromium import find_chromium
from idp.auth0 import Auth0ManagementClient
from idp.devserver.server import start_dev_idp
from idp.devserver.tenant import demo_tenant
from idp.tokens import TokenSource
from nodes.deps import Deps
from stores.aws_config import open_aws_store
from vault.local import LocalVault
from vaultborn.plan import default_plan
from vaultborn.runs import RunView, StateDb, advance
from vaultborn.runtime import ensure_demo_secrets

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")


def test_human_check_waits_for_a_person_without_repeating_effects(tmp_path: Path) -> None:
    plan = default_plan().to_dict()
    vault = LocalVault(tmp_path / "home")
    ensure_demo_secrets(vault, plan)
    tenant = dataclasses.replace(
        demo_tenant(
            mgmt_secret=vault.read(plan["idp"]["management_secret"]),
            agent_secret=vault.read(plan["agent"]["secret"]),
        ),
        require_human_check=True,
    )
    db = StateDb(f"sqlite:///{tmp_path / 'state.db'}")
    audit = AuditLog(db.url)
    with (
        start_dev_idp(tenant, db=tmp_path / "devidp.db") as idp,
        TokenSource(vault, domain=idp.base_url) as tokens,
        open_aws_store(lambda line: None, env={}, home=tmp_path) as store,
    ):

        def management() -> Auth0ManagementClient:
            return Auth0ManagementClient(
                idp.base_url, tokens, client_id="mgmt", secret_ref=plan["idp"]["management_secret"]
            )

        deps = Deps(
            vault=vault, management=management, tokens=tokens, store_for=lambda t: store,
            idp_base_url=idp.base_url, protected_api=idp.base_url + "api/protected/whoami",
            policy=Policy.default_policy(), audit=audit, auto_approver="tester",
        )  # fmt: skip
        start: dict[str, Any] = {"run_id": "run-human", "plan": plan,
                                 "plan_digest": "sha256:x", "started_at": time.time()}  # fmt: skip

        async def both() -> tuple[RunView, RunView]:
            try:
                first = await advance(db, deps, "run-human", start=start)
                again = await advance(db, deps, "run-human", answer={"done": True, "by": "ana"})
                return first, again
            finally:
                await deps.browser.pool.close()

        first, again = asyncio.run(both())
        assert deps.browser.pool.launches == 1  # one Chromium for both attempts
        assert first.status == "waiting"
        assert first.waiting == {
            "kind": "human_step",
            "run_id": "run-human",
            "url": idp.base_url + "guardian/enroll",
            "instructions": "complete the human check on 'human-check' in the browser window",
        }
        user = first.values["user"]
        assert again.status == "waiting" and again.waiting is not None
        assert again.waiting["kind"] == "human_step"
        assert again.values["user"] == user
        with management() as mgmt:
            assert len(mgmt.users_by_email("admin@example.com")) == 1
        kinds = [(e.kind, e.subject) for e in audit.events("run-human")]
        assert kinds.count(("effect", "create_user")) == 1
        assert ("human_step", idp.base_url + "guardian/enroll") in kinds
    audit.close()
    vault.close()
