"""A run's clients are bound to it explicitly: its vault operations are audited under its id."""

from __future__ import annotations

from pathlib import Path

from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.policy import Policy
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.tokens import TokenSource
from vaultborn.nodes.audited_vault import AuditedVault
from vaultborn.nodes.deps import Deps
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category


def test_each_run_audits_under_its_own_id_through_one_shared_runtime(tmp_path: Path) -> None:
    raw = LocalVault(tmp_path / "home")
    fields = (parse_assignment("password=not-audited"),)
    raw.create_item("ACL", ItemSpec(title="k", category=Category.PASSWORD, assignments=fields))
    audit = AuditLog(f"sqlite:///{tmp_path / 'state.db'}")
    vault = AuditedVault(raw, audit)
    tokens = TokenSource(vault, domain="https://tenant.example.com/")

    def management() -> Auth0ManagementClient:
        return Auth0ManagementClient(
            tokens.domain, tokens, client_id="m", secret_ref="op://ACL/k/password"
        )

    shared = Deps(
        vault=vault, management=management, tokens=tokens, store_for=lambda t: None,  # type: ignore[arg-type,return-value]
        idp_base_url=tokens.domain, protected_api="", policy=Policy.default(), audit=audit,
    )  # fmt: skip
    try:
        vault.read("op://ACL/k/password")  # the runtime's own read: no run, no row
        one, two = shared.for_run("run-one"), shared.for_run("run-two")
        one.vault.read("op://ACL/k/password")
        two.tokens.vault.read("op://ACL/k/password")  # as the token source would
        with one.management() as client:
            client.tokens.vault.read("op://ACL/k/password")  # as the management token would
        rows = [(e.run_id, e.subject) for e in audit.events() if e.kind == "vault"]
        assert rows == [
            ("run-one", "op://ACL/k/password"),
            ("run-two", "op://ACL/k/password"),
            ("run-one", "op://ACL/k/password"),
        ]
        assert one.for_run("run-one") is one  # bound already
        assert two.tokens._cache is tokens._cache  # the runs share what the process fetched
        assert "not-audited" not in str(audit.events())
    finally:
        tokens.close()
        audit.close()
        raw.close()
