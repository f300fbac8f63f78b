"""OpSdkVault against the fake service and, where it runs offline, the real SDK.

The contract suite (tests/contract) proves the behaviour it shares with the other backends;
these tests prove what is the SDK's own: one call per read, the ``totp`` spelling, the
generator, typed errors (rate limits, permissions, conflicts, tokens), timeouts and that an
edit keeps what vaultborn does not model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from onepassword import (
    DesktopSessionExpiredException,
    ItemCategory,
    ItemCreateParams,
    ItemField,
    ItemFieldType,
    RateLimitExceededException,
)

from vaultborn.core.errors import ConfigurationError, TransientError
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import (
    InvalidRecipe,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    VaultConflict,
    VaultError,
    VaultUnavailable,
)
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.model import Category
from vaultborn.vault.opsdk.backend import OpSdkVault
from vaultborn.vault.opsdk.client import SdkClient, authenticate
from vaultborn.vault.opsdk.fake import FakeOnePassword
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.secret import Secret

SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
URI = f"otpauth://totp/Auth0:admin@example.com?secret={SEED}&issuer=Auth0"
TOKEN = "ops_CANARY-token-9f3b2c"  # a canary: no message may ever show it


@pytest.fixture
def service() -> FakeOnePassword:
    return FakeOnePassword(["ACL"])


@pytest.fixture
def vault(service: FakeOnePassword) -> Iterator[OpSdkVault]:
    sdk = OpSdkVault(service.connect(Secret(TOKEN)), timeout=10, redact=[Secret(TOKEN)])
    yield sdk
    sdk.close()


def _login(vault: OpSdkVault, recipe: str = "letters,digits,symbols,32") -> Any:
    spec = ItemSpec(
        title="Break Glass",
        category=Category.LOGIN,
        assignments=(parse_assignment("username=admin@example.com"),),
        generate_password=parse_recipe(recipe),
    )
    return vault.create_item("ACL", spec)


def test_a_read_by_name_is_one_sdk_call(vault: OpSdkVault, service: FakeOnePassword) -> None:
    _login(vault)
    before = vault.calls
    password = vault.read("op://ACL/Break Glass/password")
    assert len(password) == 32
    assert vault.calls - before == 1
    assert service.calls["secrets.resolve_all"] == 1


def test_otp_is_asked_for_as_the_sdks_totp(vault: OpSdkVault, service: FakeOnePassword) -> None:
    item = _login(vault)
    vault.set_otp("ACL", item.id, URI)
    seen: list[str] = []
    real = service.connect(Secret(TOKEN))

    async def spying() -> SdkClient:
        client = await real()
        resolve_all = client.secrets.resolve_all

        async def spy(refs: Any) -> Any:
            seen.extend(refs)
            return await resolve_all(refs)

        client.secrets.resolve_all = spy  # type: ignore[method-assign]
        return client

    sdk = OpSdkVault(spying, timeout=10)
    code = sdk.read("op://ACL/Break Glass/one-time password?attribute=otp").reveal()
    sdk.close()
    assert seen == ["op://ACL/Break Glass/one-time password?attribute=totp"]
    assert code in {pyotp.TOTP(SEED).at(time.time() + d) for d in (-30, 0, 30)}


def test_passwords_come_from_the_sdks_own_generator(vault: OpSdkVault) -> None:
    _login(vault, "letters,digits,40")
    assert vault.read("op://ACL/Break Glass/password").reveal().isalnum()
    item = vault.get_item("ACL", "Break Glass")
    vault.edit_item("ACL", item.id, ItemEdit(generate_password=parse_recipe("digits,6")))
    assert len(pin := vault.read("op://ACL/Break Glass/password").reveal()) == 6 and pin.isdigit()
    # The SDK's own limits, in its own words, as a usage error of the recipe.
    with pytest.raises(InvalidRecipe, match="between 8 and 100"):
        _login(vault, "letters,4")
    with pytest.raises(InvalidRecipe, match="letters, or PINs of digits only"):
        _login(vault, "symbols,20")


@pytest.mark.robustness("fault: 1Password SDK (timeouts, tokens, rate limits, conflicts)")
@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (RateLimitExceededException("rate limit exceeded"), RateLimited),
        (DesktopSessionExpiredException("session expired"), NotSignedIn),
        (Exception("(403) Forbidden: You aren't authorized"), PermissionDenied),
        (Exception("something new went wrong"), VaultError),
    ],
)
def test_sdk_errors_are_typed_one_line_and_token_free(
    vault: OpSdkVault, service: FakeOnePassword, raised: Exception, expected: type[Exception]
) -> None:
    service.fail("vaults.list", raised)
    with pytest.raises(expected) as err:
        vault.vaults()
    assert type(err.value) is expected or issubclass(type(err.value), expected)
    assert "\n" not in str(err.value) and TOKEN not in str(err.value)
    if expected is RateLimited:
        assert isinstance(err.value, TransientError)  # the graphs' retry policy takes it


@pytest.mark.robustness("fault: 1Password SDK (timeouts, tokens, rate limits, conflicts)")
def test_a_conflicting_put_is_applied_again(vault: OpSdkVault, service: FakeOnePassword) -> None:
    item = _login(vault)
    service.fail("items.put", Exception("(409) Conflict: changed by someone else"))
    edited = vault.edit_item("ACL", item.id, ItemEdit(tags=("a",)))
    assert edited.tags == ("a",) and edited.version == 2
    service.fail("items.put", Exception("(409) Conflict"), times=4)
    with pytest.raises(VaultConflict):
        vault.edit_item("ACL", item.id, ItemEdit(tags=("b",)))


@pytest.mark.robustness("fault: 1Password SDK (timeouts, tokens, rate limits, conflicts)")
def test_token_problems_name_the_variable_never_the_token() -> None:
    missing = OpSdkVault.from_env({})
    with pytest.raises(ConfigurationError, match="OP_SERVICE_ACCOUNT_TOKEN"):
        missing.vaults()
    missing.close()
    # The real SDK, offline: a malformed token fails before any network call can be made.
    for token in ("not-a-token", "ops_CANARYnotbase64"):
        real = OpSdkVault(authenticate(Secret(token)), timeout=30, redact=[Secret(token)])
        with pytest.raises(ConfigurationError) as err:
            real.vaults()
        real.close()
        assert "OP_SERVICE_ACCOUNT_TOKEN" in str(err.value) and token not in str(err.value)


@pytest.mark.robustness("fault: 1Password SDK (timeouts, tokens, rate limits, conflicts)")
def test_a_call_that_never_returns_times_out() -> None:
    async def hang() -> SdkClient:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")

    sdk = OpSdkVault(hang, timeout=0.2)
    with pytest.raises(VaultUnavailable, match=r"did not answer within 0\.2 s"):
        sdk.vaults()
    sdk.close()


def test_an_edit_keeps_what_vaultborn_does_not_model(
    vault: OpSdkVault, service: FakeOnePassword
) -> None:
    (vault_id,) = [v.id for v in vault.vaults()]
    foreign = ItemField(id="key", title="ssh key", field_type=ItemFieldType.SSHKEY, value="PRIV")
    created = asyncio.run(
        service.connect(Secret(TOKEN))()
    )  # a client of the same service, as another program would use it
    made = asyncio.run(
        created.items.create(
            ItemCreateParams(category=ItemCategory.LOGIN, vault_id=vault_id, title="Mixed",
                             fields=[foreign], notes="keep me")
        )
    )  # fmt: skip
    shown = vault.get_item("ACL", "Mixed")
    assert shown.field_named("ssh key").value is None  # a secret of a type it does not model
    assert shown.field_named("notesPlain").value == "keep me"
    vault.edit_item("ACL", made.id, ItemEdit(tags=("kept",)))
    after = asyncio.run(created.items.get(vault_id, made.id))
    (kept,) = [f for f in after.fields if f.id == "key"]
    assert kept.field_type == ItemFieldType.SSHKEY and kept.value == "PRIV"
    assert after.notes == "keep me" and after.tags == ["kept"] and after.version == 2


def test_versions_are_found_for_the_items_found(vault: OpSdkVault) -> None:
    item = _login(vault)
    vault.edit_item("ACL", item.id, ItemEdit(tags=("x",)))
    (found,) = vault.find_items("ACL", title="break glass")
    assert found.version == 2


def test_processes_share_the_fake_through_its_state_file(tmp_path: Path) -> None:
    env = {"VAULTBORN_TEST_OP_SDK_FAKE": str(tmp_path / "sdk.json")}
    env["OP_SERVICE_ACCOUNT_TOKEN"] = TOKEN
    one, two = OpSdkVault.from_env(env), OpSdkVault.from_env(env)
    _login(one)
    assert len(two.read("op://ACL/Break Glass/password")) == 32
    assert "(fake)" in two.health()[1].detail
    one.close()
    two.close()
