"""The behaviour every vault backend promises (vault.protocol.Vault)."""

from __future__ import annotations

import json
import string
from dataclasses import replace

import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.contract.conftest import FIXED_NOW
from vaultborn.core.errors import UsageError
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import (
    AmbiguousReference,
    FieldNotFound,
    InvalidOtpUri,
    InvalidReference,
    ItemNotFound,
    KeyGenerationUnsupported,
    VaultNotFound,
)
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.keypair import KeyKind, jwk_thumbprint, open_private_key
from vaultborn.vault.model import Category, FieldType, Item
from vaultborn.vault.protocol import Vault
from vaultborn.vault.recipe import SYMBOLS, parse_recipe
from vaultborn.vault.secret import Secret

BREAK_GLASS = "Auth0 — admin@example.com"
M2M = "Auth0 M2M — my-agent"
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's SHA1 seed, base32
URI = f"otpauth://totp/Auth0:admin@example.com?secret={SEED}&issuer=Auth0"


def _break_glass(vault: Vault) -> Item:
    spec = ItemSpec(
        title=BREAK_GLASS,
        category=Category.LOGIN,
        tags=("vaultborn", "break-glass"),
        assignments=(parse_assignment("username=admin@example.com"),),
        generate_password=parse_recipe("letters,digits,symbols,32"),
    )
    return vault.create_item("ACL", spec)


def _m2m(vault: Vault, title: str = M2M, secret: str = "m2m-client-secret") -> Item:
    spec = ItemSpec(
        title=title,
        category=Category.API_CREDENTIAL,
        assignments=(parse_assignment(f"credential={secret}"),),
    )
    return vault.create_item("ACL", spec)


def test_create_generates_the_password_inside_the_vault(vault: Vault) -> None:
    item = _break_glass(vault)
    assert item.version == 1 and item.title == BREAK_GLASS and item.vault.name == "ACL"
    password_field = item.field_named("password")
    assert password_field.value is None, "create returns the item concealed"
    assert password_field.generated
    assert item.field_named("username").value == "admin@example.com"
    password = vault.read(f"op://ACL/{BREAK_GLASS}/password")
    assert isinstance(password, Secret) and len(password) == 32
    assert set(password.reveal()) <= set(string.ascii_letters + string.digits + SYMBOLS)
    assert vault.read(item.reference(password_field)) == password


def test_create_answers_with_the_values_when_asked_to_reveal(vault: Vault) -> None:
    spec = ItemSpec(
        title=BREAK_GLASS,
        category=Category.LOGIN,
        assignments=(parse_assignment("username=admin@example.com"),),
        generate_password=parse_recipe("letters,digits,symbols,32"),
    )
    made = vault.create_item("ACL", spec, reveal=True)
    password = made.field_named("password").value
    assert isinstance(password, Secret) and len(password) == 32
    assert password == vault.read(f"op://ACL/{BREAK_GLASS}/password")
    assert made.version == 1 and made.field_named("password").generated


def test_canonical_reference_is_id_based_and_resolves(vault: Vault) -> None:
    item = _break_glass(vault)
    canonical = vault.resolve(f"op://acl/{BREAK_GLASS.upper()}/PASSWORD")
    assert canonical.vault == item.vault.id and canonical.item == item.id
    assert canonical.field == "password"
    assert vault.resolve(canonical) == canonical
    assert vault.read(canonical) == vault.read(f"op://ACL/{BREAK_GLASS}/password")


@pytest.mark.parametrize(
    "typed", [M2M, "auth0 m2m — MY-AGENT", "Auth0 M2M - my-agent", "Auth0  M2M – my-agent"]
)
def test_names_match_leniently_when_unambiguous(vault: Vault, typed: str) -> None:
    _m2m(vault)
    assert vault.read(f"op://ACL/{typed}/credential").reveal() == "m2m-client-secret"


def test_ambiguity_lists_the_candidates_and_ids_disambiguate(vault: Vault) -> None:
    one = _m2m(vault, "GitHub", secret="first")
    two = _m2m(vault, "github", secret="second")
    with pytest.raises(AmbiguousReference) as err:
        vault.read("op://ACL/GITHUB/credential")
    assert set(err.value.candidates) == {one.id, two.id}
    assert vault.read(f"op://ACL/{two.id}/credential").reveal() == "second"
    with pytest.raises(ItemNotFound):
        vault.read("op://ACL/Git Hub/credential")


def test_find_items_by_title_tag_and_category(vault: Vault) -> None:
    bg, m2m = _break_glass(vault), _m2m(vault)
    assert [i.id for i in vault.find_items("ACL", title=BREAK_GLASS.upper())] == [bg.id]
    assert [i.id for i in vault.find_items(tags=["break-glass"])] == [bg.id]
    assert [i.id for i in vault.find_items("ACL", categories=[Category.API_CREDENTIAL])] == [m2m.id]
    assert vault.find_items("ACL", title="nope") == []


def test_otp_field_from_uri_gives_rfc_codes(vault: Vault) -> None:
    item = _break_glass(vault)
    updated = vault.set_otp("ACL", item.id, Secret(URI))
    assert updated.version == 2
    otp_field = updated.otp_field
    assert otp_field is not None and otp_field.type is FieldType.OTP and otp_field.value is None
    for at in (59, 1111111109, 2000000000):
        expected = pyotp.TOTP(SEED).at(at)
        assert vault.otp_code("ACL", BREAK_GLASS, at=at).reveal() == expected
    # Now, by reference: the backend's own clock (op's is real time), so allow one step.
    live = vault.read(f"op://ACL/{BREAK_GLASS}/one-time password?attribute=otp").reveal()
    assert live in {pyotp.TOTP(SEED).at(FIXED_NOW), *_codes_around_now()}


def _codes_around_now() -> set[str]:
    import time

    now = time.time()
    return {pyotp.TOTP(SEED).at(now + d) for d in (-30, 0, 30)}


def test_setting_the_same_otp_twice_is_one_change(vault: Vault) -> None:
    item = _break_glass(vault)
    assert vault.set_otp("ACL", item.id, URI).version == 2
    assert vault.set_otp("ACL", item.id, URI).version == 2
    assert vault.get_item("ACL", item.id).version == 2


def test_values_only_when_revealed(vault: Vault) -> None:
    item = _break_glass(vault)
    vault.set_otp("ACL", item.id, URI)
    concealed = vault.get_item("ACL", BREAK_GLASS)
    assert all(f.value is None for f in concealed.fields if f.type.is_secret)
    assert concealed.field_named("username").value == "admin@example.com"
    revealed = vault.get_item(None, item.id, reveal=True)
    otp_field = revealed.otp_field
    assert otp_field is not None and isinstance(otp_field.value, Secret)
    assert otp_field.value.reveal() == URI
    assert revealed.field_named("password").value == vault.read(f"op://ACL/{item.id}/password")


def test_edit_moves_the_version_only_on_change(vault: Vault) -> None:
    item = _break_glass(vault)
    same = vault.edit_item("ACL", item.id, ItemEdit(tags=("vaultborn", "break-glass")))
    assert same.version == 1
    renamed = vault.edit_item("ACL", BREAK_GLASS, ItemEdit(title="Renamed", tags=("x",)))
    assert (renamed.version, renamed.title, renamed.tags) == (2, "Renamed", ("x",))
    regenerated = vault.edit_item(
        "ACL", "Renamed", ItemEdit(generate_password=parse_recipe("digits,12"))
    )
    assert regenerated.version == 3
    assert vault.read(f"op://ACL/{item.id}/password").reveal().isdigit()
    custom = vault.edit_item(
        "ACL", item.id, ItemEdit(assignments=(parse_assignment("ops.note[text]=hello"),))
    )
    assert custom.field_named("note", section="ops").value == "hello"
    assert vault.read(f"op://ACL/{item.id}/ops/note").reveal() == "hello"


@pytest.mark.parametrize(
    ("ref", "error"),
    [
        ("op://Nope/x/password", VaultNotFound),
        ("op://ACL/nope/password", ItemNotFound),
        (f"op://ACL/{BREAK_GLASS}/nope", FieldNotFound),
        (f"op://ACL/{BREAK_GLASS}/password?attribute=otp", FieldNotFound),
        ("op://ACL/only-two", InvalidReference),
    ],
)
def test_typed_errors(vault: Vault, ref: str, error: type[Exception]) -> None:
    _break_glass(vault)
    with pytest.raises(error) as err:
        vault.read(ref)
    assert "\n" not in str(err.value)


def test_bad_input_loses_nothing(vault: Vault) -> None:
    item = _break_glass(vault)
    with pytest.raises(InvalidOtpUri):
        vault.set_otp("ACL", item.id, "otpauth://totp/x?secret=not!base32")
    assert vault.get_item("ACL", item.id).version == 1
    with pytest.raises(UsageError, match="Login and Password"):
        vault.create_item(
            "ACL",
            ItemSpec(
                title="api",
                category=Category.API_CREDENTIAL,
                generate_password=parse_recipe("20"),
            ),
        )
    assert vault.find_items("ACL", title="api") == []
    with pytest.raises(FieldNotFound):
        vault.otp_code("ACL", item.id, at=59)


def test_health_is_reported_without_raising(vault: Vault) -> None:
    checks = vault.health()
    assert checks and all(c.ok for c in checks), checks


# -- key pairs: born in the vault, only the public half comes out ------------------------------

KEY_TITLE = "Agent key — my-agent"


def _key_spec(kind: KeyKind = KeyKind.RSA) -> ItemSpec:
    return ItemSpec(
        title=KEY_TITLE,
        category=Category.SSH_KEY,
        generate_key=kind,
        assignments=(parse_assignment("client_id[text]=my-agent"),),
    )


@pytest.mark.parametrize("kind", list(KeyKind))
def test_a_key_pair_is_generated_inside_the_vault_and_only_its_public_half_shows(
    vault: Vault, kind: KeyKind
) -> None:
    if vault.backend in ("op", "op-sdk"):
        # credentials.md documents no key generation for op or the SDK: refused, nothing made.
        with pytest.raises(KeyGenerationUnsupported, match="local vault"):
            vault.create_item("ACL", _key_spec(kind))
        assert vault.find_items("ACL", title=KEY_TITLE) == []
        return
    item = vault.create_item("ACL", _key_spec(kind))
    assert item.category is Category.SSH_KEY and item.version == 1
    assert item.field_named("private key").type is FieldType.SSHKEY
    assert item.field_named("private key").value is None, "create returns the item concealed"
    public = vault.public_key("ACL", KEY_TITLE)
    jwk = public.jwk()
    assert jwk["kid"] == jwk_thumbprint(jwk) and jwk["alg"] == kind.algorithm
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwk), "no private member"
    assert item.field_named("fingerprint").value == public.fingerprint
    # The private half is readable by reference only, and it is the public half's partner.
    pem = vault.read(f"op://ACL/{KEY_TITLE}/private key")
    key, derived = open_private_key(pem)
    assert derived == public and isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    assert pem.reveal() not in json.dumps(vault.get_item("ACL", KEY_TITLE).to_json())


def test_two_key_items_get_two_keys(vault: Vault) -> None:
    if vault.backend in ("op", "op-sdk"):
        pytest.skip("1Password's backends cannot generate keys here (see the test above)")
    one = vault.create_item("ACL", _key_spec())
    two = vault.create_item("ACL", replace(_key_spec(), title="second key"))
    assert vault.public_key("ACL", one.id).kid != vault.public_key("ACL", two.id).kid


def test_a_key_items_key_fields_cannot_be_replaced(vault: Vault) -> None:
    if vault.backend in ("op", "op-sdk"):
        pytest.skip("1Password's backends cannot generate keys here (see the test above)")
    item = vault.create_item("ACL", _key_spec())
    before = vault.public_key("ACL", item.id)
    for assignment in ("public key[text]=ssh-rsa AAAA", "private key=x", "fingerprint[delete]"):
        with pytest.raises(UsageError, match="generated inside the vault"):
            vault.edit_item("ACL", item.id, ItemEdit(assignments=(parse_assignment(assignment),)))
    assert vault.public_key("ACL", item.id) == before
    assert vault.get_item("ACL", item.id).version == 1
    relabelled = vault.edit_item("ACL", item.id, ItemEdit(tags=("agent",)))
    assert relabelled.version == 2 and vault.public_key("ACL", item.id) == before


@pytest.mark.parametrize(
    "spec",
    [
        ItemSpec(title="no key", category=Category.SSH_KEY),
        ItemSpec(title="login", category=Category.LOGIN, generate_key=KeyKind.RSA),
    ],
    ids=["ssh-key-without-generation", "generation-outside-ssh-key"],
)
def test_a_key_is_generated_for_ssh_key_items_only(vault: Vault, spec: ItemSpec) -> None:
    # A usage mistake for the local vault; the op backend refuses every key request.
    with pytest.raises((UsageError, KeyGenerationUnsupported)):
        vault.create_item("ACL", spec)
    assert vault.find_items("ACL", title=spec.title) == []


def test_an_item_without_a_key_pair_has_no_public_key(vault: Vault) -> None:
    _m2m(vault)
    with pytest.raises(UsageError, match="not an SSH Key item") as err:
        vault.public_key("ACL", M2M)
    assert "\n" not in str(err.value) and "m2m-client-secret" not in str(err.value)
