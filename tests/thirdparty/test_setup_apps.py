"""``vaultborn setup`` with a plan that names software no one here wrote.

``idp.kind = "oidc"``: the agent's tokens come from panva's oidc-provider (found by its
discovery document, RFC 8707 ``resource``), the protected API that must accept them verifies
with ``jose``; the break-glass account is signed up, enrolled and drilled on a real web
application (django-allauth, Flask-Security-Too) through its own pages. The password is born
in the vault, the seed goes from the page into the vault, and nothing secret rests anywhere
else. Afterwards the independent client logs in with the vault's password and code.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.graph.test_setup_cli import _secret_values
from tests.idp.support import m2m_vault
from tests.rundb import at_rest
from tests.thirdparty.oidc_op import (
    API_RESOURCE,
    API_SCOPE,
    RunningOP,
)
from tests.thirdparty.siteflows import path_of, signed_in_as, user_for
from tests.thirdparty.webapps import RunningSite
from vaultborn.vault.local import LocalVault

AGENT_TITLE = "OP — agent-basic"
TARGET = "aws-secretsmanager://us-east-1/agents/app-agent"

pytestmark = pytest.mark.robustness("third party: a setup on an app and oidc-provider")


@pytest.fixture(params=["allauth", "flask_security"])
def site(request: pytest.FixtureRequest) -> RunningSite:
    return request.getfixturevalue(f"{request.param}_site")  # type: ignore[no-any-return]


def write_plan(tmp_path: Path, op: RunningOP, site: RunningSite, email: str) -> Path:
    plan = tmp_path / "vaultborn.toml"
    plan.write_text(
        f"""\
[idp]
kind = "oidc"
domain = "{op.issuer}"
[break_glass]
email = "{email}"
item = "App — {email}"
password_recipe = "letters,digits,28"
signup_url = "{site.signup_url}"
enroll_url = "{site.enroll_url}"
login_url = "{site.login_url}"
[agent]
client_id = "agent-basic"
secret = "op://ACL/{AGENT_TITLE}/credential"
audience = "{API_RESOURCE}"
scope = "{API_SCOPE}"
protected_api = "{op.api_url}"
[[seed]]
from = "op://ACL/{AGENT_TITLE}/credential"
to = "{TARGET}"
""",
        encoding="utf-8",
    )
    return plan


def test_a_setup_on_an_app_and_an_openid_provider_runs_to_done(
    cli: Run, home: Path, tmp_path: Path, oidc_op: RunningOP, site: RunningSite
) -> None:
    client = oidc_op.client("client_secret_basic")
    assert client.client_secret is not None
    m2m_vault(home, secret=client.client_secret, client_id="agent-basic", title=AGENT_TITLE)
    email = f"bg-{secrets.token_hex(4)}@example.com"
    plan = write_plan(tmp_path, oidc_op, site, email)

    result = cli("setup", "--plan", str(plan), "--auto-approve", "--json")
    assert result.code == 0, result.err + site.diagnostics()
    view = json.loads(result.out)
    assert view["status"] == "done", view
    shown = cli("show", view["run_id"], "--json")
    state = json.loads(shown.out)["state"]
    assert state["user"] == {"user_id": email, "email": email, "created": True}
    assert state["enrollment"]["status"] == "confirmed"
    assert state["enrollment"]["outcome"] in ("success-screen", "left-enrollment")
    if site.kind.name == "allauth":
        assert state["enrollment"]["recovery_codes_kept"] == 10
    verify = state["verify"]
    assert verify["api_status"] == 200 and verify["token_check"] == f"accepted by {oidc_op.api_url}"
    assert verify["token_audience"] == API_RESOURCE and verify["token_subject"] == "agent-basic"
    assert verify["login_drill"] in ("left-login", "success-screen")
    assert list(state["seeds"]) == [TARGET]
    assert cli("audit", "verify").code == 0

    # The independent client: the account takes the vault's password and the vault's code.
    title = f"App — {email}"
    with LocalVault(home) as vault:
        password = vault.read(f"op://ACL/{title}/password").reveal()
    with user_for(site, email, password) as user:
        assert path_of(user.log_in()) == "/" + site.kind.login_code
        # allauth refuses a code twice, and the drill used one of this step's neighbours:
        # the first of now's and the next step's codes that was not used logs in.
        landed = None
        for at in (time.time(), time.time() + 30):
            code = cli("otp", title, "--vault", "ACL", "--at", str(int(at))).out.strip()
            landed = signed_in_as(user.submit_code(code))
            if landed is not None:
                break
        assert landed == email, site.diagnostics()

    values = _secret_values(home)
    assert len(values) >= 3  # the break-glass password and seed, the agent's secret
    stored = at_rest(home)
    for value in values:
        assert value.encode() not in stored
        assert value not in result.out + result.err + shown.out


def test_a_second_setup_for_the_account_finds_it_made_and_enrolled(
    cli: Run, home: Path, tmp_path: Path, oidc_op: RunningOP, flask_security_site: RunningSite
) -> None:
    """A run that crashed after the sign-up and the enrollment converges without repeating them.

    The first run's state is dropped (a new data directory for the runs, the same vault), so
    the second run has only what the application shows: the account exists, its login asks
    for the code the vault already holds. (Flask-Security: allauth refuses a code used once,
    so there the second run waits for the next time steps; unit tests cover its pages.)
    """
    client = oidc_op.client("client_secret_basic")
    assert client.client_secret is not None
    m2m_vault(home, secret=client.client_secret, client_id="agent-basic", title=AGENT_TITLE)
    email = f"bg-{secrets.token_hex(4)}@example.com"
    plan = write_plan(tmp_path, oidc_op, flask_security_site, email)
    first = cli("setup", "--plan", str(plan), "--auto-approve", "--json")
    assert first.code == 0, first.err
    (home / "state.db").unlink()

    again = cli("setup", "--plan", str(plan), "--auto-approve", "--json")
    assert again.code == 0, again.err + flask_security_site.diagnostics()
    state = json.loads(cli("show", json.loads(again.out)["run_id"], "--json").out)["state"]
    assert state["item"]["created"] is False
    assert state["user"]["created"] is False
    assert state["enrollment"]["status"] == "confirmed"
    assert state["enrollment"]["source"] == "existing"
    assert state["enrollment"]["outcome"] == "already-enrolled"
