"""OpVault against the fake op: ids to op, values only on stdin, sign-in modes, failures."""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import pytest

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import AuthorizationTimeout, KeyGenerationUnsupported, NotSignedIn
from vaultborn.vault.items import ItemEdit, ItemSpec, apply_edit
from vaultborn.vault.keypair import KeyKind
from vaultborn.vault.model import Category, FieldType, Item
from vaultborn.vault.op import OpVault
from vaultborn.vault.op.fake import install_fake_op
from vaultborn.vault.op.shapes import edit_payload, item_from_op
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.secret import Secret

SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
URI = f"otpauth://totp/Auth0:admin@example.com?secret={SEED}&issuer=Auth0"
M2M = "Auth0 M2M — my-agent"
FIXED_NOW = 1_700_000_000.0


@dataclass
class Fake:
    op: Path
    state: Path
    log: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def vault(self, **kwargs: Any) -> OpVault:
        kwargs.setdefault("timeout", 20)
        return OpVault(op_bin=str(self.op), clock=lambda: FIXED_NOW, **kwargs)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.op), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fake:
    monkeypatch.setenv("FAKE_OP_VAULTS", "ACL,Private")
    state, log = tmp_path / "op-state.json", tmp_path / "op-argv.jsonl"
    return Fake(install_fake_op(tmp_path / "bin", state=state, argv_log=log), state, log)


def _login(vault: OpVault, *assignments: str, recipe: str | None = "letters,digits,24") -> Item:
    spec = ItemSpec(
        title="Break Glass",
        category=Category.LOGIN,
        tags=("vaultborn", "break-glass"),
        assignments=tuple(
            parse_assignment(a) for a in ("username=admin@example.com", *assignments)
        ),
        generate_password=parse_recipe(recipe) if recipe else None,
    )
    return vault.create_item("ACL", spec)


def test_login_password_is_generated_in_the_vault_and_read_by_name_or_id(fake: Fake) -> None:
    vault = fake.vault()
    item = _login(vault)
    password_field = item.field_named("password")
    assert password_field.generated and password_field.value is None
    assert [c for c in fake.calls() if c[:2] == ["item", "create"]] == [
        [
            *("item", "create", "--vault", "ACL", "--category", "Login", "--format", "json"),
            *("--generate-password=letters,digits,24", "-"),
        ]
    ]
    by_name = vault.read("op://acl/break glass/password")
    assert fake.calls()[-1] == ["read", "--no-newline", "op://acl/break glass/password"]
    by_id = vault.read(item.reference(password_field))
    assert fake.calls()[-1] == [
        "read",
        "--no-newline",
        f"op://{item.vault.id}/{item.id}/password",
    ]
    assert by_name == by_id and len(by_name) == 24 and by_name.reveal().isalnum()


def test_em_dash_title_resolves_leniently_and_op_reads_by_ids(fake: Fake) -> None:
    vault = fake.vault()
    spec = ItemSpec(
        title=M2M,
        category=Category.API_CREDENTIAL,
        assignments=(parse_assignment("credential=m2m-client-secret"),),
    )
    item = vault.create_item("ACL", spec)
    assert item.category is Category.API_CREDENTIAL and item.title == M2M
    for typed in (M2M, "auth0 m2m - MY-AGENT"):
        assert vault.read(f"op://ACL/{typed}/credential").reveal() == "m2m-client-secret"
        assert fake.calls()[-1] == [
            "read",
            "--no-newline",
            f"op://{item.vault.id}/{item.id}/credential",
        ]
    reads = [arg for call in fake.calls() if call[0] == "read" for arg in call]
    assert not any("—" in arg for arg in reads), "op never sees a reference it cannot parse"


def test_otp_from_uri_gives_the_rfc_code_and_ops_live_code(fake: Fake) -> None:
    vault = fake.vault()
    item = _login(vault, recipe=None)
    updated = vault.set_otp("ACL", item.id, Secret(URI))
    otp_field = updated.otp_field
    assert updated.version == 2 and otp_field is not None and otp_field.value is None
    assert vault.set_otp("ACL", item.id, URI).version == 2
    assert [c[:2] for c in fake.calls()].count(["item", "edit"]) == 1, "a no-op edit calls no edit"
    assert vault.otp_code("ACL", item.id, at=59).reveal() == pyotp.TOTP(SEED).at(59)
    live = vault.otp_code("ACL", "Break Glass").reveal()
    assert live in {pyotp.TOTP(SEED).at(time.time() + d) for d in (-30, 0, 30)}
    assert fake.calls()[-1][-1] == "--otp"


def test_no_secret_value_ever_reaches_argv(fake: Fake) -> None:
    vault = fake.vault()
    canary, canary2 = (f"canary-{secrets.token_hex(8)}" for _ in range(2))
    item = _login(vault, f"recovery code[password]={canary}")
    vault.edit_item("ACL", item.id, ItemEdit(assignments=(parse_assignment(f"ops.key={canary2}"),)))
    vault.set_otp("ACL", "Break Glass", Secret(URI))
    password = vault.read("op://ACL/Break Glass/password").reveal()
    assert vault.read("op://ACL/Break Glass/recovery code").reveal() == canary
    assert vault.read("op://ACL/Break Glass/ops/key").reveal() == canary2
    values = [canary, canary2, SEED, URI, password]
    stored = fake.state.read_text()
    assert all(v in stored for v in values), "the workflow did carry every value into the vault"
    argv = [arg for call in fake.calls() for arg in call]
    leaked = [v for v in values if any(v in arg for arg in argv)]
    assert leaked == []
    assert ["item", "edit"] in [c[:2] for c in fake.calls()], "edits went through op item edit"
    # The fake is faithful to op >= 2.30: values only with --reveal.
    get = ["item", "get", "break glass", "--vault", "acl", "--format", "json"]
    assert canary not in fake.run(*get).stdout
    one = json.loads(fake.run(*get, "--reveal", "--fields", "label=recovery code").stdout)
    assert one["value"] == canary and one["type"] == "CONCEALED"


def test_service_account_names_the_vault_in_every_item_command(
    fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OP_SERVICE_ACCOUNT_TOKEN", "ops_" + "x" * 40)
    monkeypatch.setenv("FAKE_OP_VAULTS", "ACL,Ops,Private")
    refused = fake.run("item", "list", "--format", "json")
    assert refused.returncode == 1 and "--vault flag" in refused.stderr
    before = len(fake.calls())
    vault = fake.vault()
    assert [v.name for v in vault.vaults()] == ["ACL", "Ops"]  # no Private for a service account
    item = _login(vault)
    assert [s.id for s in vault.find_items(tags=["break-glass"])] == [item.id]
    assert len(vault.read("op://ACL/Break Glass/password")) == 24
    item_calls = [c for c in fake.calls()[before:] if c[0] == "item"]
    assert item_calls and all("--vault" in c for c in item_calls), item_calls
    checks = vault.health()
    assert [c.ok for c in checks] == [True, True] and "service account" in checks[1].detail


def test_signed_out_is_a_one_line_not_signed_in(
    fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OP_SIGNED_OUT", "1")
    vault = fake.vault()
    with pytest.raises(NotSignedIn) as err:
        vault.read("op://ACL/Break Glass/password")
    assert "\n" not in str(err.value) and "op signin" in str(err.value)
    binary, sign_in = vault.health()
    assert binary.ok and "2.30.0" in binary.detail
    assert not sign_in.ok and "not signed in" in sign_in.detail


def test_an_unanswered_prompt_times_out_quickly(
    fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OP_HANG", "30")
    vault = fake.vault(timeout=0.5)
    start = time.monotonic()
    with pytest.raises(AuthorizationTimeout, match=r"within 0\.5 s"):
        vault.vaults()
    assert time.monotonic() - start < 5


def test_conflicts_are_retried_until_the_edit_lands(
    fake: Fake, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    vault = fake.vault(sleep=sleeps.append)
    item = _login(vault, recipe=None)
    monkeypatch.setenv("FAKE_OP_FAIL", "(409) Conflict: the item changed; try again")
    monkeypatch.setenv("FAKE_OP_FAIL_ON", "item edit")
    monkeypatch.setenv("FAKE_OP_FAIL_TIMES", "2")
    edited = vault.edit_item("ACL", item.id, ItemEdit(title="Renamed"))
    assert (edited.title, edited.version) == ("Renamed", 2)
    assert len(sleeps) == 2
    assert sum(c[:2] == ["item", "edit"] for c in fake.calls()) == 3


def test_concurrent_op_calls_lose_no_write(fake: Fake) -> None:
    create = ["item", "create", "--vault", "ACL", "--category", "password", "--format", "json"]
    procs = [
        subprocess.Popen([str(fake.op), *create, f"--title=item {n}"], stdout=subprocess.PIPE)
        for n in range(6)
    ]
    assert [p.wait() for p in procs] == [0] * 6
    for p in procs:
        assert p.stdout is not None
        p.stdout.close()
    listed = json.loads(fake.run("item", "list", "--vault", "ACL", "--format", "json").stdout)
    assert sorted(i["title"] for i in listed) == [f"item {n}" for n in range(6)]


def test_configuration_from_env_and_a_missing_binary(fake: Fake, tmp_path: Path) -> None:
    env = {"VAULTBORN_OP_BIN": str(fake.op), "VAULTBORN_OP_TIMEOUT": "7.5", "OP_ACCOUNT": "my"}
    vault = OpVault.from_env({**env, "FAKE_OP_VAULTS": "ACL"})
    assert (vault.op.timeout, vault.op.account) == (7.5, "my")
    assert [v.name for v in vault.vaults()] == ["ACL"]
    assert fake.calls()[-1][-2:] == ["--account", "my"]
    with pytest.raises(ConfigurationError, match="VAULTBORN_OP_TIMEOUT"):
        OpVault.from_env({"VAULTBORN_OP_TIMEOUT": "soon"})
    missing = OpVault(op_bin=str(tmp_path / "no-op"))
    with pytest.raises(ConfigurationError, match="VAULTBORN_OP_BIN"):
        missing.vaults()
    [check] = missing.health()
    assert not check.ok and "VAULTBORN_OP_BIN" in check.detail


RAW: dict[str, Any] = {
    "id": "i" * 26,
    "title": "Deploy key",
    "version": 3,
    "vault": {"id": "v" * 26, "name": "ACL"},
    "category": "LOGIN",
    "urls": [{"label": "website", "primary": True, "href": "https://example.com"}],
    "fields": [
        {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username"}
        | {"value": "deploy"},
        {"id": "key", "type": "SSHKEY", "label": "private key", "value": "-----BEGIN canary"},
        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password"}
        | {"value": "old-secret", "entropy": 80.1},
    ],
}


def test_unknown_field_types_are_treated_as_secret() -> None:
    concealed = item_from_op(RAW, reveal=False)
    assert concealed.field_named("private key").value is None
    revealed = item_from_op(RAW, reveal=True)
    assert isinstance(revealed.field_named("private key").value, Secret)


def test_an_edit_keeps_what_the_model_does_not_know() -> None:
    before = item_from_op(RAW, reveal=True)
    new_password = parse_assignment("password=new-secret")
    after = apply_edit(before, ItemEdit(assignments=(new_password,)))
    payload = edit_payload(RAW, before, after)
    assert payload["urls"] == RAW["urls"] and payload["version"] == 3
    by_id = {f["id"]: f for f in payload["fields"]}
    assert by_id["key"] == RAW["fields"][1], "untouched fields go back exactly as op gave them"
    assert by_id["password"]["value"] == "new-secret" and "entropy" not in by_id["password"]
    assert by_id["password"]["type"] == FieldType.CONCEALED


def test_a_key_pair_is_refused_before_any_op_call(fake: Fake) -> None:
    """No key is made here and sent to op: 1Password's key generation is undocumented here."""
    spec = ItemSpec(title="agent key", category=Category.SSH_KEY, generate_key=KeyKind.RSA)
    with pytest.raises(KeyGenerationUnsupported, match="cannot generate a key pair"):
        fake.vault().create_item("ACL", spec)
    assert fake.calls() == []


def test_the_fake_op_follows_only_the_documented_item_create(fake: Fake) -> None:
    flagged = fake.run("item", "create", "--vault", "ACL", "--category", "SSH Key",
                       "--title", "k", "--ssh-generate-key", "--format", "json")  # fmt: skip
    assert flagged.returncode == 1 and "unknown flag: --ssh-generate-key" in flagged.stderr
    bare = fake.run("item", "create", "--vault", "ACL", "--category", "SSH Key",
                    "--title", "k", "--format", "json")  # fmt: skip
    assert bare.returncode == 1 and bare.stderr.startswith("[ERROR] ")
    assert "generated in the vault" in bare.stderr and bare.stdout == ""
    listed = fake.run("item", "list", "--vault", "ACL", "--format", "json")
    assert json.loads(listed.stdout) == []
