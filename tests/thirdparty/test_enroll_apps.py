"""``vaultborn enroll`` on two real web applications, from their login page, with only ``--item``.

django-allauth (login, then "Confirm Access", then its TOTP page, then recovery codes) and
Flask-Security-Too (login, then a choice of method, then a QR code whose key is in no labelled
element). The account is made beforehand by the independent client (httpx), with the
password generated in the vault; afterwards the independent client logs in with that password
and the code ``vaultborn otp`` prints, which proves the seed in the vault is the one the
application enrolled. test_webapp_harness.py proves the applications themselves.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.thirdparty.siteflows import SiteUser, path_of, signed_in_as, user_for
from tests.thirdparty.webapps import RunningSite
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.recipe import parse_recipe

KINDS = ["allauth", "flask_security"]

pytestmark = pytest.mark.robustness("third party: vaultborn enroll on allauth and Flask-Security")


@pytest.fixture(params=KINDS)
def site(request: pytest.FixtureRequest) -> RunningSite:
    return request.getfixturevalue(f"{request.param}_site")  # type: ignore[no-any-return]


def break_glass_item(home: Path, email: str, *, recipe: str = "letters,digits,24") -> str:
    """A login item with the e-mail as username and a password generated in the vault."""
    title = f"App — {email}"
    with LocalVault(home) as vault:
        vault.create_item(
            "ACL",
            ItemSpec(
                title=title,
                category=Category.LOGIN,
                assignments=(parse_assignment(f"username={email}"),),
                generate_password=parse_recipe(recipe),
            ),
        )
    return title


def vault_value(home: Path, title: str, field: str) -> str:
    with LocalVault(home) as vault:
        return vault.read(f"op://ACL/{title}/{field}").reveal()


def signed_up(site: RunningSite, home: Path) -> tuple[str, str, SiteUser]:
    """An account at the site, made by the independent client with the vault's password."""
    email = f"bg-{secrets.token_hex(4)}@example.com"
    title = break_glass_item(home, email)
    user = user_for(site, email, vault_value(home, title, "password"))
    user.sign_up()
    user.log_out()
    return email, title, user


def test_enroll_logs_in_confirms_and_keeps_recovery_codes_then_the_vault_code_logs_in(
    cli: Run, home: Path, site: RunningSite
) -> None:
    email, title, user = signed_up(site, home)
    with user:
        result = cli("enroll", site.enroll_url, "--item", title, "--json")
        assert result.code == 0, result.err + site.diagnostics()
        receipt = json.loads(result.out)
        assert receipt["outcome"] in ("success-screen", "left-enrollment")
        assert receipt["codes_sent"] == 1 and receipt["handoffs"] == 0
        assert receipt["screens"][0] == "generic:login"
        if site.kind.name == "allauth":
            assert receipt["screens"][:3] == ["generic:login", "generic:login", "generic:manual"]
            assert receipt["recovery_codes_kept"] == 10
        else:
            assert "generic:method" in receipt["screens"] and receipt["captured_by"] == "qr"

        code = cli("otp", title, "--vault", "ACL")
        assert code.code == 0 and code.out.strip().isdigit(), code.err
        page = user.log_in()
        assert path_of(page) == "/" + site.kind.login_code
        landed = user.submit_code(code.out.strip())
        assert signed_in_as(landed) == email, site.diagnostics()

        password = vault_value(home, title, "password")
        for leaked in (password, code.out.strip()):
            assert leaked not in result.out + result.err


def test_the_recovery_codes_kept_are_the_applications_own(
    cli: Run, home: Path, allauth_site: RunningSite
) -> None:
    email, title, user = signed_up(allauth_site, home)
    with user:
        assert cli("enroll", allauth_site.enroll_url, "--item", title).code == 0
        codes = vault_value(home, title, "recovery codes").split("\n")
        assert len(codes) == 10 and all(c.isdigit() and len(c) == 8 for c in codes)
        shown = cli("item", "get", title, "--vault", "ACL")
        assert shown.code == 0 and not any(c in shown.out for c in codes)
        user.log_in()
        assert signed_in_as(user.submit_recovery_code(codes[3])) == email


def test_a_wrong_password_is_one_line_naming_the_item_not_a_hand_off(
    cli: Run, home: Path, site: RunningSite
) -> None:
    _, title, _ = signed_up(site, home)
    with LocalVault(home) as vault:  # the item's password no longer matches the account's
        vault.edit_item("ACL", title, _regenerate())
    result = cli("enroll", site.enroll_url, "--item", title)
    assert result.code == 1
    *progress, error = result.err.splitlines()
    assert all(line.startswith("· ") for line in progress), result.err  # the screens seen
    assert error.startswith("vaultborn: ") and "refused the login" in error
    assert repr(title) in error
    assert "a person is needed" not in result.err
    assert vault_value(home, title, "password") not in result.err


def test_an_item_without_a_username_hands_the_login_to_a_person(
    cli: Run, home: Path, site: RunningSite
) -> None:
    with LocalVault(home) as vault:
        vault.create_item(
            "ACL",
            ItemSpec(
                title="No username",
                category=Category.PASSWORD,
                generate_password=parse_recipe("letters,digits,24"),
            ),
        )
    result = cli("enroll", site.enroll_url, "--item", "No username")
    assert result.code == 3, result.err
    assert "log in on the page" in result.err


def _regenerate() -> object:
    from vaultborn.vault.items import ItemEdit

    return ItemEdit(generate_password=parse_recipe("letters,digits,24"))
