from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run
from tests.pgserver import PgServer, fresh_database


def test_doctor_reports_each_check(cli: Run) -> None:
    result = cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert {"python", "langgraph", "langgraph-checkpoint", "vault backend", "chromium"} <= set(
        checks
    )
    assert checks["vault backend"]["detail"].startswith("local (chosen by the default;")
    failing = [c for c in checks.values() if c["status"] == "fail"]
    assert result.code == (1 if failing else 0), failing


def test_doctor_names_a_chromium_given_by_env(cli: Run, tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'Chromium 999.0.0.1'\n")
    fake.chmod(0o755)
    import os

    os.environ["VAULTBORN_CHROMIUM"] = str(fake)
    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert checks["chromium"]["status"] == "ok"
    assert str(fake) in checks["chromium"]["detail"] and "999.0.0.1" in checks["chromium"]["detail"]
    assert "headless shell" not in checks  # the chosen Chromium serves headless runs too


@pytest.mark.parametrize("with_shell", [True, False])
def test_doctor_says_whether_headless_runs_have_the_headless_shell(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_shell: bool
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    names = {"chromium": "Chromium 156.0.0.1"}
    if with_shell:
        names["chromium-headless-shell"] = "Chromium 156.0.0.2"
    for name, version in names.items():
        exe = bin_dir / name
        exe.write_text(f"#!/bin/sh\necho '{version}'\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))  # the scripts name /bin/sh themselves
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    monkeypatch.delenv("VAULTBORN_CHROMIUM", raising=False)
    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert "156.0.0.1" in checks["chromium"]["detail"]
    shell = checks["headless shell"]
    if with_shell:
        assert shell["status"] == "ok"
        assert str(bin_dir / "chromium-headless-shell") in shell["detail"]
    else:
        assert shell["status"] == "warn"
        assert "install chromium-headless-shell" in shell["detail"]


@pytest.mark.parametrize("mode", [0o755, 0o777])
def test_doctor_flags_a_loose_key_file(cli: Run, home: Path, mode: int) -> None:
    assert (
        cli("item", "create", "--vault", "ACL", "--title", "x", "--category", "password").code == 0
    )
    key = home / "vault.key"
    assert key.exists()
    key.chmod(mode)
    result = cli("doctor", "--json")
    assert result.code == 1
    assert any(c["status"] == "fail" for c in json.loads(result.out))


def test_doctor_checks_the_run_database_without_creating_it(cli: Run, home: Path) -> None:
    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert checks["run database"]["status"] == "ok"
    assert "created on first run" in checks["run database"]["detail"]
    assert not (home / "state.db").exists()


def test_doctor_fails_an_unmigrated_postgres_run_database(
    cli: Run, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fresh_database(pg_server)
    monkeypatch.setenv("VAULTBORN_DATABASE_URL", url)
    before = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert before["run database"]["status"] == "fail"
    assert "vaultborn db migrate" in before["run database"]["detail"]

    assert cli("db", "migrate").code == 0
    after = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)}
    assert after["run database"] == {
        "name": "run database", "status": "ok", "detail": f"{url} (reachable, migrated)",
    }  # fmt: skip


def test_doctor_says_which_vault_backend_and_why(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_TEST_OP_SDK_FAKE", str(tmp_path / "sdk.json"))
    monkeypatch.setenv("OP_SERVICE_ACCOUNT_TOKEN", "ops_CANARY-doctor-token")
    result = cli("--vault-backend", "op-sdk", "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert checks["vault backend"]["detail"] == (
        "op-sdk (chosen by --vault-backend; 1Password through its Python SDK, "
        "one client per process)"
    )
    assert checks["1Password SDK"]["status"] == "ok"
    assert "onepassword-sdk 0.4" in checks["1Password SDK"]["detail"]
    sign_in = checks["1Password sign-in"]
    assert sign_in["status"] == "ok" and "OP_SERVICE_ACCOUNT_TOKEN" in sign_in["detail"]
    assert "ops_CANARY" not in result.out + result.err

    monkeypatch.setenv("VAULTBORN_VAULT_BACKEND", "op-sdk")
    monkeypatch.delenv("OP_SERVICE_ACCOUNT_TOKEN")
    result = cli("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert checks["vault backend"]["detail"].startswith("op-sdk (chosen by VAULTBORN_VAULT_BACKEND")
    assert checks["1Password sign-in"]["status"] == "fail" and result.code == 1
    assert "OP_SERVICE_ACCOUNT_TOKEN" in checks["1Password sign-in"]["detail"]


def test_the_op_sdk_backend_serves_the_item_commands(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULTBORN_TEST_OP_SDK_FAKE", str(tmp_path / "sdk.json"))
    monkeypatch.setenv("OP_SERVICE_ACCOUNT_TOKEN", "ops_doctor")
    made = cli("--vault-backend", "op-sdk", "item", "create", "--vault", "ACL", "--title", "Svc",
               "--category", "password", "--generate-password=letters,digits,20")  # fmt: skip
    assert made.code == 0, made.err
    read = cli("--vault-backend", "op-sdk", "read", "op://ACL/Svc/password")
    assert read.code == 0 and len(read.out.strip()) == 20
    missing = cli("--vault-backend", "op-sdk", "read", "op://ACL/Nope/password")
    assert missing.code == 1 and missing.err.count("\n") == 1 and "Nope" in missing.err
