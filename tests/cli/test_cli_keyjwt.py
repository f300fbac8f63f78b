"""The CLI's keys: `item create --category "ssh key"`, `item public-key`, `token`/`call --key`.

The end-to-end test plants nothing by hand: the private key is born in the vault by the CLI,
and every output, log record and the dev IdP's database are then scanned for any line of it.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import Run
from tests.idp.devkit import API, db_bytes
from vaultborn.idp.devserver.server import RunningDevIdP, start_dev_idp
from vaultborn.idp.devserver.tenant import Tenant, TenantClient
from vaultborn.vault.keypair import jwk_thumbprint
from vaultborn.vault.local import LocalVault

KEY = "Agent key — agent-k"
REF = f"op://ACL/{KEY}/private key"


def _create_key(cli: Run, *extra: str) -> None:
    result = cli("item", "create", "--vault", "ACL", "--title", KEY, "--category", "ssh key",
                 *extra)  # fmt: skip
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((), "give --client REF (the client secret) or --key REF"),
        (("--client", "op://ACL/x/credential", "--key", REF), "one of them"),
    ],
)
def test_token_needs_exactly_one_of_client_and_key(
    cli: Run, args: tuple[str, ...], words: str
) -> None:
    result = cli("token", "--audience", API, "--domain", "http://127.0.0.1:9/", *args)
    assert result.code == 2 and words in result.err and result.err.count("\n") == 1


def test_an_ssh_key_item_is_made_with_its_key_concealed(cli: Run) -> None:
    _create_key(cli, "--json")
    shown = cli("item", "get", KEY, "--vault", "ACL", "--json")
    fields = {f["label"]: f for f in json.loads(shown.out)["fields"]}
    assert fields["private key"]["type"] == "SSHKEY" and "value" not in fields["private key"]
    assert fields["public key"]["value"].startswith("ssh-rsa ")
    jwk = json.loads(cli("item", "public-key", KEY, "--vault", "ACL").out)
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["kid"] == jwk_thumbprint(jwk)
    pem = cli("item", "public-key", KEY, "--vault", "ACL", "--format", "pem").out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and "PRIVATE" not in pem


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--category", "ssh key", "--ssh-generate-key", "ed448"), "choose rsa or p256"),
        (("--category", "login", "--ssh-generate-key", "rsa"), "SSH Key items only"),
    ],
)
def test_a_key_mistake_is_one_line(cli: Run, args: tuple[str, ...], words: str) -> None:
    result = cli("item", "create", "--vault", "ACL", "--title", "k", *args)
    assert result.code == 2 and words in result.err and result.err.count("\n") == 1


def test_public_key_of_what_has_none_is_one_line(cli: Run) -> None:
    assert cli("item", "create", "--vault", "ACL", "--title", "login", "--category", "login",
               "--generate-password").code == 0  # fmt: skip
    result = cli("item", "public-key", "login", "--vault", "ACL")
    assert result.code == 2 and "not an SSH Key item" in result.err
    assert result.err.count("\n") == 1 and result.out == ""
    _create_key(cli, "--ssh-generate-key", "p256")
    result = cli("item", "public-key", KEY, "--vault", "ACL", "--format", "der")
    assert result.code == 2 and "choose jwk, pem or openssh" in result.err


@pytest.fixture
def key_idp(cli: Run, home: Path, tmp_path: Path) -> Iterator[RunningDevIdP]:
    """The CLI makes the key; a dev IdP reads its public half from the vault at start."""
    _create_key(cli)
    edited = cli("item", "edit", KEY, "--vault", "ACL", "client_id[text]=agent-k")
    assert edited.code == 0, edited.err
    client = TenantClient(
        client_id="agent-k",
        audiences=(API,),
        scopes=("read:whoami",),
        public_key_ref=f"op://ACL/{KEY}/public key",
    )
    with (
        LocalVault(home) as vault,
        start_dev_idp(
            Tenant(protected_audience=API, clients=(client,)),
            db=tmp_path / "devidp.db",
            resolve_secret=vault.read,
        ) as idp,
    ):
        yield idp


@pytest.mark.robustness("secret canaries: CLI outputs and files")
def test_token_and_call_with_a_key_and_the_private_key_is_nowhere(
    cli: Run, key_idp: RunningDevIdP, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    idp = key_idp.base_url
    outputs = []
    for args in (
        ("token", "--domain", idp, "--key", REF, "--audience", API, "--json"),
        ("token", "--domain", idp, "--key", REF, "--audience", API),
        ("call", idp + "api/protected/whoami", "--domain", idp, "--key", REF, "--audience", API),
        ("item", "get", KEY, "--vault", "ACL"),
        ("item", "get", KEY, "--vault", "ACL", "--json"),
        ("item", "list", "--json"),
        ("item", "public-key", KEY, "--vault", "ACL", "--format", "openssh"),
    ):
        result = cli(*args)
        assert result.code == 0, (args, result.err)
        outputs.append(result.out + result.err)
    answer = json.loads(outputs[0])
    assert answer["verified"] is True and answer["claims"]["azp"] == "agent-k"
    assert "HTTP 200" in outputs[2] and '"agent-k@clients"' in outputs[2]

    with LocalVault(home) as vault:
        private = vault.read(REF).reveal()
        public = vault.public_key("ACL", KEY)
    canaries = _private_forms(private, public.openssh + public.pem())
    assert len(canaries) > 10
    artifacts = {
        "outputs": "\n".join(outputs),
        "logs": caplog.text,
        "dev IdP database": db_bytes(key_idp.context.store.db.path).decode("latin-1"),
    }
    for name, text in artifacts.items():
        leaked = [c for c in canaries if c in text]
        assert not leaked, f"{name} holds a piece of the private key"


def _private_forms(pem: str, public_text: str) -> list[str]:
    """Pieces only the private key has: its PEM lines (less those its public half shares: the
    modulus is in both) and d, p, q as a JWK, hex or base64 would spell them."""
    lines = [line for line in pem.splitlines() if line and "-----" not in line]
    forms = [line for line in lines if line not in public_text]
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    for value in (numbers.d, numbers.p, numbers.q):
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        forms += [raw.hex(), base64.urlsafe_b64encode(raw).rstrip(b"=").decode()[:64],
                  base64.b64encode(raw).decode()[:64]]  # fmt: skip
    return forms
