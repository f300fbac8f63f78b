"""``vaultborn enroll`` against the dev IdP in real Chromium: receipt, errors, no secret shown."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.idp.devkit import ENV, client, create_ticket, create_user, mgmt_token
from vaultborn.browser.chromium import find_chromium
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")

ITEM = "Auth0 — admin@example.com"


@pytest.fixture(params=[False, True], ids=["plain", "human-check"])
def idp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningDevIdP]:
    tenant = dataclasses.replace(demo_tenant(), require_human_check=request.param)
    with start_dev_idp(tenant, db=tmp_path / "devidp.db", env=ENV) as running:
        yield running


def _ticket(idp: RunningDevIdP) -> str:
    with client(idp.base_url) as http:
        token = mgmt_token(idp)
        user = create_user(http, token, f"cli-{secrets.token_hex(4)}@example.com")
        return str(create_ticket(http, token, user["user_id"])["ticket_url"])


def _seed(home: Path) -> str:
    vault = LocalVault(home)
    try:
        item = vault.get_item("ACL", ITEM, reveal=True)
    finally:
        vault.close()
    (otp,) = [f for f in item.fields if f.type == "OTP"]
    assert otp.value is not None
    return otp.value.reveal()


@pytest.mark.parametrize("idp", [False], indirect=True, ids=["plain"])
def test_enroll_prints_a_receipt_and_no_secret(cli: Run, idp: RunningDevIdP, home: Path) -> None:
    assert cli("item", "create", "--vault", "ACL", "--title", ITEM, "--generate-password").code == 0
    ticket = _ticket(idp)

    result = cli("enroll", ticket, "--item", ITEM, "--vault", "ACL", "--json")

    assert result.code == 0, result
    receipt = json.loads(result.out)
    assert receipt["outcome"] == "success-screen"
    assert receipt["captured_by"] == "manual"
    assert receipt["item"]["title"] == ITEM
    seed = _seed(home)
    assert seed not in result.out + result.err
    assert seed.lower() not in (result.out + result.err).lower()
    assert ticket.split("ticket=")[1] not in result.out + result.err


@pytest.mark.parametrize("idp", [False], indirect=True, ids=["plain"])
def test_enroll_shows_progress_on_stderr(cli: Run, idp: RunningDevIdP) -> None:
    assert cli("item", "create", "--vault", "ACL", "--title", ITEM).code == 0
    result = cli("enroll", _ticket(idp), "--item", ITEM)

    assert result.code == 0, result
    assert "qr screen (auth0): capture" in result.err
    assert "success screen (auth0): finish" in result.err
    assert result.out.startswith(f"enrolled: {ITEM} (ACL)")


@pytest.mark.parametrize("idp", [True], indirect=True, ids=["human-check"])
def test_human_check_headless_exits_3_with_one_line(cli: Run, idp: RunningDevIdP) -> None:
    assert cli("item", "create", "--vault", "ACL", "--title", ITEM).code == 0
    result = cli("enroll", _ticket(idp), "--item", ITEM)

    assert result.code == 3
    (line,) = [x for x in result.err.splitlines() if x.startswith("vaultborn:")]
    assert line.endswith("(run again with --headed in a terminal to do it yourself)")
    assert f"a person is needed at {idp.base_url}guardian/enroll:" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("idp", [False], indirect=True, ids=["plain"])
def test_bad_input_is_one_line(cli: Run, idp: RunningDevIdP) -> None:
    missing = cli("enroll", _ticket(idp), "--item", "No such item")
    assert missing.code == 1
    assert missing.err.startswith("vaultborn: ") and missing.err.count("\n") == 1

    assert cli("item", "create", "--vault", "ACL", "--title", ITEM).code == 0
    driver = cli("enroll", "http://127.0.0.1:9/x", "--item", ITEM, "--driver", "ping")
    assert driver.code == 2
    assert "unknown driver 'ping'" in driver.err

    closed = cli("enroll", "http://127.0.0.1:9/enroll?ticket=abc", "--item", ITEM, "--timeout", "5")
    assert closed.code == 1
    assert closed.err.startswith("vaultborn: could not open http://127.0.0.1:9/enroll")
    assert "ticket=abc" not in closed.err
    assert closed.err.count("\n") == 1
