"""The drift report's decisions: pure functions of what was read, no value among it."""

from __future__ import annotations

from typing import Any, cast

import pytest

from vaultborn.idp.auth0 import User
from vaultborn.nodes.drift import decide_store, decide_totp, decide_user, report
from vaultborn.stores.protocol import Provenance, StoreState

TARGET = "aws-secretsmanager://us-east-1/app/key"
SOURCE = "op://v1/i1/password"


def _user(**extra: Any) -> User:
    return cast(User, {"user_id": "auth0|1", "email": "a@example.com", **extra})


def test_one_unblocked_user_is_in_sync_and_anything_else_drifted() -> None:
    assert decide_user([_user()])["status"] == "in-sync"
    assert decide_user([_user(blocked=False)])["status"] == "in-sync"
    assert decide_user([_user(blocked=True)])["status"] == "drifted"
    assert decide_user([])["status"] == "drifted"
    assert decide_user([_user(), _user()])["status"] == "drifted"


@pytest.mark.parametrize(
    ("methods", "status"),
    [
        ([{"type": "totp", "confirmed": True, "id": "t1"}], "in-sync"),
        ([{"type": "totp", "confirmed": False, "id": "t1"}], "drifted"),
        ([], "drifted"),
        ([{"type": "totp", "confirmed": True, "id": f"t{i}"} for i in (1, 2)], "drifted"),
        ([{"type": "totp", "confirmed": True}, {"type": "email", "confirmed": True}], "in-sync"),
    ],
)
def test_exactly_one_confirmed_totp(methods: list[dict[str, Any]], status: str) -> None:
    assert decide_totp(methods)["status"] == status


def _state(**kwargs: Any) -> StoreState:
    return StoreState(target=TARGET, **{"exists": True, "version_id": "k3", **kwargs})


@pytest.mark.parametrize(
    ("state", "expected_id", "status", "says"),
    [
        (_state(provenance=Provenance(SOURCE, 3)), "k3", "in-sync", "vault version 3"),
        (_state(provenance=Provenance(SOURCE, 3)), None, "in-sync", "vault version 3"),
        (_state(exists=False, version_id=None), "k3", "drifted", "missing"),
        (_state(provenance=Provenance(SOURCE, 3), pending_deletion=True), "k3", "drifted",
         "scheduled for deletion"),
        (_state(), "k3", "drifted", "no provenance"),
        (_state(provenance=Provenance("op://v1/other/password", 3)), "k3", "drifted",
         "seeded from"),
        (_state(provenance=Provenance(SOURCE, 2)), "k2", "drifted", "vault is at 3"),
        (_state(provenance=Provenance(SOURCE, 3), version_id="by-hand"), "k3", "drifted",
         "written outside vaultborn"),
    ],
)  # fmt: skip
def test_a_store_holds_the_vault_current_version_written_by_a_seed(
    state: StoreState, expected_id: str | None, status: str, says: str
) -> None:
    check = decide_store(TARGET, state, SOURCE, 3, expected_id)
    assert (check["status"], check["credential"]) == (status, TARGET)
    assert says in check["detail"]


def test_unknown_is_not_drift() -> None:
    checks = [decide_user([_user()]), {"credential": "IdP TOTP", "status": "unknown", "detail": ""}]
    assert report(checks) == {"in_sync": True, "drifted": 0, "checks": checks}  # type: ignore[arg-type]
    assert report([*checks, decide_user([])])["drifted"] == 1  # type: ignore[list-item]
