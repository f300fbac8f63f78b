"""The official auth0-python SDK as an independent client of the dev IdP's private_key_jwt.

The SDK registers a vault-born public key the way Auth0's Management API takes one (a client
credential, then the client's ``client_authentication_methods``), and its ``GetToken`` signs
its own client assertion with ``client_assertion_signing_key``: aud ``https://{domain}/``, a
180-second lifetime, a UUID ``jti``. None of vaultborn's signing code runs on the client side.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import jwt
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error
from auth0.management import (
    Auth0,
    ClientAuthenticationMethod,
    ClientAuthenticationMethodPrivateKeyJwt,
    ClientCredential,
    CredentialId,
    PostClientCredentialResponseContent,
    UpdateClientResponseContent,
)

from tests.idp.devkit import API
from tests.idp.sdkkit import known
from vaultborn.idp.devserver.server import RunningDevIdP
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.keypair import KeyKind
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

TITLE = "sdk agent key"


@pytest.fixture
def vault(home: Path) -> LocalVault:
    """A local vault holding one RSA key pair, generated inside it."""
    vault = LocalVault(home)
    vault.create_item(
        "ACL", ItemSpec(title=TITLE, category=Category.SSH_KEY, generate_key=KeyKind.RSA)
    )
    return vault


def _key_client(sdk: Auth0, vault: LocalVault) -> tuple[str, str]:
    """A client switched to the vault key through the SDK; its id and credential id."""
    created = sdk.clients.create(
        name="sdk key agent",
        app_type="non_interactive",
        request_options={"additional_body_parameters": {"client_secret": secrets.token_hex(24)}},
    )
    assert created.client_id
    sdk.client_grants.create(client_id=created.client_id, audience=API, scope=["read:whoami"])
    public = vault.public_key("ACL", TITLE)
    cred = sdk.clients.credentials.create(
        created.client_id, credential_type="public_key", pem=public.pem(), alg="RS256"
    )
    assert isinstance(known(cred), PostClientCredentialResponseContent)
    assert cred.id and cred.kid == public.kid and cred.alg == "RS256"
    assert cred.credential_type == "public_key"
    methods = ClientAuthenticationMethod(
        private_key_jwt=ClientAuthenticationMethodPrivateKeyJwt(
            credentials=[CredentialId(id=cred.id)]
        )
    )
    updated = sdk.clients.update(created.client_id, client_authentication_methods=methods)
    assert isinstance(known(updated), UpdateClientResponseContent)
    assert updated.token_endpoint_auth_method is None
    assert updated.client_authentication_methods is not None
    return created.client_id, cred.id


def _get_token(dev_idp: RunningDevIdP, client_id: str, pem: str) -> GetToken:
    return GetToken(
        f"127.0.0.1:{dev_idp.port}",
        client_id,
        client_assertion_signing_key=pem,
        protocol="http",
        telemetry=False,
    )


def test_the_sdk_registers_the_vault_key_and_signs_its_own_assertion(
    sdk: Auth0, dev_idp: RunningDevIdP, vault: LocalVault
) -> None:
    client_id, cred_id = _key_client(sdk, vault)
    # The person running the SDK reads the key from the vault, as they would for any client.
    pem = vault.read(f"op://ACL/{TITLE}/private key").reveal()
    answer = _get_token(dev_idp, client_id, pem).client_credentials(audience=API)
    jwks = jwt.PyJWKClient(dev_idp.base_url + ".well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(answer["access_token"]).key
    claims = jwt.decode(
        answer["access_token"], key, algorithms=["RS256"], audience=API, issuer=dev_idp.issuer
    )
    assert claims["sub"] == f"{client_id}@clients" and claims["scope"] == "read:whoami"

    listed = sdk.clients.credentials.list(client_id)
    assert [c.id for c in known(listed)] == [cred_id]
    assert all(isinstance(c, ClientCredential) for c in listed)


@pytest.mark.robustness("hostile input: client assertions")
def test_the_sdk_with_another_key_is_refused_as_invalid_client(
    sdk: Auth0, dev_idp: RunningDevIdP, vault: LocalVault
) -> None:
    client_id, _ = _key_client(sdk, vault)
    vault.create_item(
        "ACL", ItemSpec(title="other key", category=Category.SSH_KEY, generate_key=KeyKind.RSA)
    )
    other = vault.read("op://ACL/other key/private key").reveal()
    with pytest.raises(Auth0Error) as err:
        _get_token(dev_idp, client_id, other).client_credentials(audience=API)
    assert err.value.status_code == 401 and err.value.error_code == "invalid_client"
