"""`vaultborn token` and `vaultborn call`: usage mistakes, then the chain against the dev IdP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.idp.devkit import AGENT_SECRET, API, ENV, MGMT_SECRET
from tests.idp.support import M2M_REF, m2m_vault
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import demo_tenant
from vaultborn.idp.verify import unverified_claims

AUD = "https://api.example.com"


@pytest.fixture
def vault_item(home: Path) -> None:
    m2m_vault(home).close()


@pytest.mark.parametrize("command", [["token"], ["call", "http://127.0.0.1:9/x"]])
def test_no_domain_is_a_one_line_usage_error(
    cli: Run, vault_item: None, command: list[str]
) -> None:
    result = cli(*command, "--client", M2M_REF, "--audience", AUD)
    assert result.code == 2
    assert result.err == "vaultborn: no IdP domain: pass --domain or set VAULTBORN_IDP_DOMAIN\n"
    assert result.out == ""


def test_a_bad_reference_is_a_usage_error(cli: Run) -> None:
    result = cli("token", "--client", "ACL/x", "--audience", AUD, "--domain", "http://127.0.0.1:9/")
    assert result.code == 2 and "op://" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize(
    ("kind", "first_request"),
    [
        # An OpenID Provider is asked for its discovery document first; Auth0's endpoints
        # are known without asking.
        (None, "GET http://127.0.0.1:9/.well-known/openid-configuration failed"),
        ("auth0", "POST http://127.0.0.1:9/oauth/token failed"),
    ],
)
def test_an_unreachable_idp_is_a_one_line_error_without_the_secret(
    cli: Run,
    vault_item: None,
    monkeypatch: pytest.MonkeyPatch,
    kind: str | None,
    first_request: str,
) -> None:
    monkeypatch.setenv("VAULTBORN_IDP_DOMAIN", "http://127.0.0.1:9/")
    if kind:
        monkeypatch.setenv("VAULTBORN_IDP_KIND", kind)
    result = cli("token", "--client", M2M_REF, "--audience", AUD)
    assert result.code == 1
    assert result.err.startswith(f"vaultborn: {first_request}")
    assert result.err.count("\n") == 1 and "s3cret" not in result.err + result.out


def test_an_unknown_kind_is_a_usage_error(cli: Run, vault_item: None) -> None:
    result = cli(
        "token", "--client", M2M_REF, "--audience", AUD,
        "--domain", "http://127.0.0.1:9/", "--kind", "okta",
    )  # fmt: skip
    assert result.code == 2
    assert result.err == "vaultborn: unknown IdP kind 'okta' (choose auth0 or oidc)\n"


def test_help_says_the_claims_may_be_unverified(cli: Run) -> None:
    result = cli("token", "--help")
    assert result.code == 0 and "UNVERIFIED" in result.out and "--raw" in result.out


# -- the chain against a real dev IdP on 127.0.0.1 ---------------------------------------------

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
MGMT_TITLE = "Auth0 M2M — mgmt"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDevIdP]:
    db = tmp_path_factory.mktemp("devidp") / "devidp.db"
    with start_dev_idp(demo_tenant(), db=db, env=ENV) as running:
        yield running


@pytest.fixture
def secrets_in_vault(home: Path) -> None:
    vault = m2m_vault(home, secret=AGENT_SECRET)
    vault.close()
    m2m_vault(home, secret=MGMT_SECRET, client_id="mgmt", title=MGMT_TITLE).close()


def test_call_reaches_the_protected_api_with_a_secret_from_the_vault(
    cli: Run, idp: RunningDevIdP, secrets_in_vault: None
) -> None:
    whoami = idp.base_url + "api/protected/whoami"
    result = cli("call", whoami, "--client", M2M_REF, "--audience", API, "--domain", idp.base_url)
    assert result.code == 0, result.err
    assert result.out.startswith("HTTP 200\n")
    body = json.loads(result.out.removeprefix("HTTP 200\n"))
    assert body["sub"] == "agent@clients" and body["owner"] == "ops"
    as_json = cli("call", whoami, "--client", M2M_REF, "--audience", API, "--domain", idp.base_url,
                  "--json")  # fmt: skip
    assert json.loads(as_json.out)["status"] == 200
    for output in (result.out + result.err, as_json.out + as_json.err):
        assert AGENT_SECRET not in output and not JWT.search(output)


def test_token_prints_verified_claims_and_the_token_only_with_raw(
    cli: Run, idp: RunningDevIdP, secrets_in_vault: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_IDP_DOMAIN", idp.base_url)
    args = ("token", "--client", M2M_REF, "--audience", API)
    shown = cli(*args, "--json")
    assert shown.code == 0, shown.err
    out = json.loads(shown.out)
    assert out["verified"] is True and out["claims"]["agent_type"] == "ci"
    # The shape that works for any OpenID Provider: discovery, a form body, RFC 8707 resource
    # (the dev IdP takes it as Auth0's compatibility profile does).
    assert out["provider"]["kind"] == "oidc"
    assert out["provider"]["metadata"] == idp.base_url + ".well-known/openid-configuration"
    as_auth0 = json.loads(cli(*args, "--kind", "auth0", "--json").out)
    assert as_auth0["verified"] is True and as_auth0["provider"]["kind"] == "auth0"
    assert "access_token" not in out and not JWT.search(shown.out)
    human = cli(*args)
    assert human.code == 0 and "verified against" in human.out and "agent@clients" in human.out
    assert not JWT.search(human.out)
    raw = cli(*args, "--raw")
    assert raw.code == 0 and JWT.fullmatch(raw.out.strip())
    # Two processes, two token requests: the same client and audience, not the same token
    # (minted in different seconds, they differ in iat and exp).
    both = json.loads(cli(*args, "--json", "--raw").out)["access_token"]
    kept = ("sub", "aud", "iss", "agent_type")
    assert JWT.fullmatch(both) and {k: unverified_claims(both).get(k) for k in kept} == {
        k: unverified_claims(raw.out.strip()).get(k) for k in kept
    }
    for result in (shown, human, raw):
        assert AGENT_SECRET not in result.out + result.err


def test_a_token_the_api_refuses_exits_1_naming_the_error(
    cli: Run, idp: RunningDevIdP, secrets_in_vault: None
) -> None:
    whoami = idp.base_url + "api/protected/whoami"
    ref = f"op://ACL/{MGMT_TITLE}/credential"
    result = cli("call", whoami, "--client", ref, "--audience", idp.management_audience,
                 "--domain", idp.base_url)  # fmt: skip
    assert result.code == 1 and result.out.startswith("HTTP 401\n")
    assert result.err.startswith(f"vaultborn: GET {whoami} → 401 (invalid_token")
    assert result.err.count("\n") == 1 and MGMT_SECRET not in result.out + result.err


def test_an_audience_without_a_grant_is_a_one_line_error(
    cli: Run, idp: RunningDevIdP, secrets_in_vault: None
) -> None:
    result = cli("token", "--client", M2M_REF, "--audience", "https://nope.example.com",
                 "--domain", idp.base_url, "--client-id", "agent")  # fmt: skip
    assert result.code == 1 and result.out == ""
    assert result.err.startswith(f"vaultborn: POST {idp.base_url}oauth/token → 403")
    assert AGENT_SECRET not in result.err
