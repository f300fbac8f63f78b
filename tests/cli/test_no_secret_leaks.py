"""Plant canary secrets, run every command that should not reveal them, scan every artifact."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.conftest import Run

pytestmark = pytest.mark.robustness("secret canaries: CLI outputs and files")

TITLE = "Auth0 — admin@example.com"


@pytest.fixture(params=["local", "op"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "op":
        request.getfixturevalue("fake_op_on_path")
    return str(request.param)


@pytest.fixture
def fake_op_on_path(tmp_path: Path) -> Path:
    from vaultborn.vault.op.fake import install_fake_op

    op = install_fake_op(
        tmp_path / "bin", state=tmp_path / "op-state.json", argv_log=tmp_path / "op-argv.jsonl"
    )
    os.environ["VAULTBORN_OP_BIN"] = str(op)
    os.environ["FAKE_OP_VAULTS"] = "ACL"
    return op


def test_no_canary_in_any_output_file_or_argv(
    cli: Run, backend: str, home: Path, tmp_path: Path
) -> None:
    seed = "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(32))
    canary = f"CANARY-{secrets.token_hex(8)}"
    uri = f"otpauth://totp/Auth0:admin@example.com?secret={seed}&issuer=Auth0"
    b = ["--vault-backend", backend]
    outputs = []

    def run(*args: str, code: int = 0) -> None:
        result = cli(*b, *args)
        assert result.code == code, result
        outputs.append(result.out + result.err)

    # Values enter through generation and assignments (the only way in), then never come out
    # of a command that was not asked for them.
    run("item", "create", "--vault", "ACL", "--title", TITLE, "--username", "admin@example.com",
        "--generate-password")  # fmt: skip
    run("item", "edit", TITLE, "--vault", "ACL", f"api key[password]={canary}", "--json")
    run("item", "edit", TITLE, "--vault", "ACL", f"one-time password[otp]={uri}")
    run("item", "get", TITLE, "--vault", "ACL")
    run("item", "get", TITLE, "--vault", "ACL", "--json")
    run("item", "list", "--json")
    run("item", "list")
    run("resolve", f"op://ACL/{TITLE}/api key", "--json")
    run("read", f"op://ACL/{TITLE}/nope", code=1)
    run("item", "edit", TITLE, "--vault", "ACL", "x[otp]=otpauth://totp/a?secret=A1", code=2)
    run("doctor")

    password = cli(*b, "read", "-n", f"op://ACL/{TITLE}/password").out
    assert len(password) == 32 and cli(*b, "read", "-n", f"op://ACL/{TITLE}/api key").out == canary
    canaries = [password, canary, seed]

    for text in outputs:
        for value in canaries:
            assert value not in text
    if backend == "local":
        on_disk = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
        for value in canaries:
            assert value.encode() not in on_disk
    else:
        argv_log = (tmp_path / "op-argv.jsonl").read_text()
        assert argv_log.count("\n") >= 10
        for value in canaries:
            assert value not in argv_log
