"""Plans of ``idp.kind = "oidc"``: an OpenID Provider for tokens, an app's pages for the user."""

from __future__ import annotations

import pytest

from vaultborn.core.errors import UsageError
from vaultborn.runner.plan import parse_plan

pytestmark = pytest.mark.robustness("hostile input: plans")

OIDC = """\
[idp]
kind = "oidc"
domain = "https://idp.example.com/realms/acme"
[break_glass]
email = "admin@example.com"
item = "App — admin@example.com"
signup_url = "https://app.example.com/accounts/signup/"
enroll_url = "https://app.example.com/accounts/2fa/totp/activate/"
login_url = "https://app.example.com/accounts/login/"
[agent]
client_id = "agent"
secret = "op://ACL/OP — agent/credential"
audience = "https://api.example.com"
scope = "read:whoami  write:x"
"""


def test_an_oidc_plan_names_an_issuer_with_a_path_and_the_applications_pages() -> None:
    plan = parse_plan(OIDC, "p.toml")
    assert plan.idp.kind == "oidc"
    assert plan.idp.domain == "https://idp.example.com/realms/acme/"
    assert plan.idp.management_client_id is None and plan.idp.management_secret is None
    assert plan.break_glass.signup_url == "https://app.example.com/accounts/signup/"
    assert plan.break_glass.enroll_url == "https://app.example.com/accounts/2fa/totp/activate/"
    assert plan.agent.scope == "read:whoami write:x"
    assert not plan.embedded_idp
    data = plan.to_dict()
    assert data["break_glass"]["enroll_url"] == plan.break_glass.enroll_url
    assert data["agent"]["scope"] == "read:whoami write:x"


def _without(line: str) -> str:
    assert line in OIDC
    return OIDC.replace(line + "\n", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _without('domain = "https://idp.example.com/realms/acme"'),
            "plan p.toml: idp.domain: missing (required)",
        ),
        (
            OIDC.replace('kind = "oidc"', 'kind = "oidc"\nmanagement_client_id = "m"'),
            'plan p.toml: idp.management_client_id: only for kind = "auth0"',
        ),
        (
            OIDC.replace('kind = "oidc"', 'kind = "oidc"\nconnection = "db"'),
            'plan p.toml: idp.connection: only for kind = "auth0"',
        ),
        (
            _without('signup_url = "https://app.example.com/accounts/signup/"'),
            'plan p.toml: break_glass.signup_url: missing (required for idp.kind = "oidc")',
        ),
        (
            _without('enroll_url = "https://app.example.com/accounts/2fa/totp/activate/"'),
            'plan p.toml: break_glass.enroll_url: missing (required for idp.kind = "oidc")',
        ),
        (
            OIDC.replace('item = "App', 'enrollment = "api"\nitem = "App'),
            "plan p.toml: break_glass.enrollment: an OpenID Provider has no API",
        ),
        (
            OIDC.replace("https://app.example.com/accounts/signup/", "http://app.example.com/s"),
            "plan p.toml: break_glass.signup_url: plain http is allowed only for 127.0.0.1",
        ),
        (
            OIDC.replace("realms/acme", "realms/acme?x=1"),
            "plan p.toml: idp.domain: an issuer has no query or fragment",
        ),
        (
            OIDC.replace('"read:whoami  write:x"', "'read:\"x\"'"),
            "plan p.toml: agent.scope: expected space-separated scope names",
        ),
    ],
)
def test_each_oidc_mistake_is_one_line_naming_the_key(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_plan(text, "p.toml")
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


AUTH0 = """\
[idp]
domain = "tenant.us.auth0.com"
management_client_id = "mgmt"
management_secret = "op://ACL/M/password"
[break_glass]
email = "a@example.com"
item = "Auth0 — a"
[agent]
client_id = "agent"
secret = "op://ACL/A/password"
"""


@pytest.mark.parametrize("key", ["signup_url", "enroll_url"])
def test_auth0_plans_refuse_the_application_pages(key: str) -> None:
    text = AUTH0.replace('item = "Auth0 — a"', f'item = "Auth0 — a"\n{key} = "https://a.example/x"')
    with pytest.raises(UsageError, match=f'break_glass.{key}: only for idp.kind = "oidc"'):
        parse_plan(text, "p.toml")


def test_auth0_plans_still_need_their_management_client() -> None:
    with pytest.raises(UsageError, match=r"idp\.management_client_id: missing \(required\)"):
        parse_plan(AUTH0.replace('management_client_id = "mgmt"\n', ""), "p.toml")
