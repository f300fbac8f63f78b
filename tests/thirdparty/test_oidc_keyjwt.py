"""private_key_jwt against a real OpenID Provider: panva's oidc-provider takes the vault's key.

The key pairs are generated in a local vault; the provider is started with their public JWKs
only (``token_endpoint_auth_method: private_key_jwt`` and ``jwks``), so it checks every
assertion vaultborn signs with code no one here wrote, and the protected API verifies the
tokens with ``jose``. The private keys never leave the vault but for one signature each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.thirdparty.oidc_op import (
    API_RESOURCE,
    API_SCOPE,
    OPClient,
    RunningOP,
    start_oidc_provider,
)
from vaultborn.idp.errors import IdPAuthenticationFailed
from vaultborn.idp.provider import Provider
from vaultborn.idp.tokens import ClientKey, TokenSource
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.keypair import KeyKind
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

pytestmark = pytest.mark.robustness("third party: private_key_jwt on oidc-provider")


def _title(kind: KeyKind) -> str:
    return f"OP — agent-key-{kind}"


def _ref(kind: KeyKind) -> str:
    return f"op://ACL/{_title(kind)}/private key"


@pytest.fixture(scope="module")
def vault_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local vault with an RSA and a P-256 key item (``client_id`` = agent-key-<kind>)."""
    home = tmp_path_factory.mktemp("op-keys") / ".vaultborn"
    with LocalVault(home) as vault:
        for kind in KeyKind:
            spec = ItemSpec(
                title=_title(kind),
                category=Category.SSH_KEY,
                generate_key=kind,
                assignments=(parse_assignment(f"client_id[text]=agent-key-{kind}"),),
            )
            vault.create_item("ACL", spec)
    return home


@pytest.fixture(scope="module")
def key_op(vault_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOP]:
    """oidc-provider with one private_key_jwt client per vault key, given its public JWK."""
    with LocalVault(vault_home) as vault:
        clients = [
            OPClient(
                f"agent-key-{kind}",
                "private_key_jwt",
                public_jwk=vault.public_key("ACL", _title(kind)).jwk(),
            )
            for kind in KeyKind
        ]
    with start_oidc_provider(tmp_path_factory.mktemp("op-keyjwt"), clients=clients) as op:
        yield op


@pytest.mark.parametrize("kind", list(KeyKind))
def test_token_source_gets_a_verified_token_with_the_vault_key(
    vault_home: Path, key_op: RunningOP, kind: KeyKind
) -> None:
    with (
        LocalVault(vault_home) as vault,
        Provider(key_op.issuer, "oidc") as provider,
        TokenSource(vault, provider=provider) as source,
    ):
        token = source.token(f"agent-key-{kind}", ClientKey(_ref(kind)), API_RESOURCE,
                             scope=API_SCOPE)  # fmt: skip
        claims = provider.verifier(API_RESOURCE).verify(token)
    assert claims["client_id"] == f"agent-key-{kind}" and claims["scope"] == API_SCOPE
    assert claims["iss"] == key_op.issuer


def test_the_provider_refuses_a_key_it_was_not_given(vault_home: Path, key_op: RunningOP) -> None:
    with (
        LocalVault(vault_home) as vault,
        Provider(key_op.issuer, "oidc") as provider,
        TokenSource(vault, provider=provider) as source,
        pytest.raises(IdPAuthenticationFailed) as err,
    ):
        # The P-256 key presented as the RSA client's: oidc-provider finds no matching key.
        source.token("agent-key-rsa", ClientKey(_ref(KeyKind.P256)), API_RESOURCE,
                     scope=API_SCOPE)  # fmt: skip
    assert err.value.status == 401 and err.value.error == "invalid_client"
    assert "\n" not in str(err.value) and "eyJ" not in str(err.value)


def test_cli_token_and_call_with_a_key_reach_an_api_that_verifies_with_jose(
    cli: Run, vault_home: Path, key_op: RunningOP
) -> None:
    home = ["--home", str(vault_home)]
    token = cli(*home, "token", "--domain", key_op.issuer, "--key", _ref(KeyKind.RSA),
                "--audience", API_RESOURCE, "--scope", API_SCOPE, "--json")  # fmt: skip
    assert token.code == 0, token.err
    answer = json.loads(token.out)
    assert answer["verified"] is True and answer["claims"]["client_id"] == "agent-key-rsa"
    call = cli(*home, "call", key_op.api_url, "--domain", key_op.issuer,
               "--key", _ref(KeyKind.P256), "--audience", API_RESOURCE, "--scope", API_SCOPE,
               "--json")  # fmt: skip
    assert call.code == 0, call.err
    body = json.loads(call.out)
    assert body["status"] == 200 and body["body"]["client_id"] == "agent-key-p256"
