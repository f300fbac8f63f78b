from __future__ import annotations

import pytest

from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import FieldNotFound, InvalidOtpUri
from vaultborn.vault.items import ItemEdit, ItemSpec, apply_edit, new_item
from vaultborn.vault.model import Category, FieldType, Item, Purpose, VaultInfo
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.secret import Secret

ACL = VaultInfo("a" * 26, "ACL")
URI = "otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=X"


def _login() -> Item:
    spec = ItemSpec(
        title="Auth0 — admin@example.com",
        category=Category.LOGIN,
        tags=("vaultborn", "vaultborn", " "),
        assignments=(parse_assignment("username=admin@example.com"),),
        generate_password=parse_recipe("letters,digits,symbols,32"),
    )
    return new_item(spec, ACL)


def test_new_login_has_generated_password_and_username() -> None:
    item = _login()
    assert item.version == 1 and item.tags == ("vaultborn",)
    password = item.field_named("password")
    assert password.purpose is Purpose.PASSWORD and password.generated
    assert isinstance(password.value, Secret) and len(password.value) == 32
    assert item.field_named("username").value == "admin@example.com"
    assert len(item.id) == 26


def test_json_conceals_unless_revealed_and_round_trips() -> None:
    item = _login()
    concealed = item.to_json()
    password_json = next(f for f in concealed["fields"] if f["id"] == "password")
    assert "value" not in password_json
    assert password_json["reference"] == "op://ACL/Auth0 — admin@example.com/password"
    revealed = item.to_json(reveal=True)
    assert Item.from_json(revealed) == item
    assert Item.from_json(concealed) == item.concealed()


def test_edit_bumps_version_only_on_change() -> None:
    item = _login()
    set_otp = ItemEdit(assignments=(parse_assignment(f"one-time password[otp]={URI}"),))
    once = apply_edit(item, set_otp)
    assert once.version == 2 and once.otp_field is not None
    assert once.otp_field.id.startswith("TOTP_") and once.otp_field.type is FieldType.OTP
    assert apply_edit(once, set_otp) is once
    assert apply_edit(once, ItemEdit(title=once.title, tags=once.tags)) is once
    assert apply_edit(once, ItemEdit(tags=("x",))).version == 3


def test_regenerating_changes_the_password() -> None:
    item = _login()
    again = apply_edit(item, ItemEdit(generate_password=parse_recipe("20")))
    assert again.version == 2
    assert again.field_named("password").value != item.field_named("password").value


def test_sections_are_created_and_dropped_when_empty() -> None:
    item = apply_edit(_login(), ItemEdit(assignments=(parse_assignment("ops.key[text]=v"),)))
    assert [s.label for s in item.sections] == ["ops"]
    assert item.field_named("key", section="ops").value == "v"
    emptied = apply_edit(item, ItemEdit(assignments=(parse_assignment("ops.key[delete]"),)))
    assert emptied.sections == ()


def test_custom_fields_default_to_concealed() -> None:
    item = apply_edit(_login(), ItemEdit(assignments=(parse_assignment("api key=abc"),)))
    assert item.field_named("API KEY").type is FieldType.CONCEALED


def test_refusals() -> None:
    with pytest.raises(UsageError, match="Login and Password items"):
        new_item(
            ItemSpec(
                title="t", category=Category.API_CREDENTIAL, generate_password=parse_recipe("")
            ),
            ACL,
        )
    with pytest.raises(UsageError, match="needs a title"):
        new_item(ItemSpec(title="  "), ACL)
    with pytest.raises(InvalidOtpUri):
        apply_edit(_login(), ItemEdit(assignments=(parse_assignment("otp[otp]=not-a-uri"),)))
    with pytest.raises(FieldNotFound):
        apply_edit(_login(), ItemEdit(assignments=(parse_assignment("nope[delete]"),)))


def test_api_credential_template() -> None:
    item = new_item(
        ItemSpec(
            title="Auth0 M2M — my-agent",
            category=Category.parse("API Credential"),
            assignments=(parse_assignment("credential=s3cr3t"),),
        ),
        ACL,
    )
    assert item.category is Category.API_CREDENTIAL
    assert [f.id for f in item.fields] == ["credential"]
