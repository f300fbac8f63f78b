"""The embedded AWS emulator keeps what was seeded between commands, sealed in the data directory.

A stepped setup, ``seed`` run twice and later commands (drift, rotation) must see what was
seeded before; the file holding it holds values, so it is sealed like the local vault.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from tests.conftest import Run
from tests.stores.conftest import REF, REGION, change_item, make_item
from vaultborn.core.errors import ConfigurationError
from vaultborn.stores.aws_emulator_state import (
    KEY_FILE,
    STATE_FILE,
    kept_state,
    restore,
    snapshot,
)
from vaultborn.stores.protocol import Provenance
from vaultborn.stores.registry import open_stores
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("at rest: the embedded AWS emulator's kept contents")

TARGET = f"aws-secretsmanager://{REGION}/prod/app/api-key"
PARAMETER = f"aws-ssm://{REGION}/prod/app/parameter"
USED = {("secretsmanager", REGION), ("ssm", REGION)}


@pytest.fixture
def embedded(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_moto: str) -> Path:
    """No AWS configuration anywhere (a home without ~/.aws): the CLI's emulator serves."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return Path(os.environ["VAULTBORN_HOME"])


def _seed(cli: Run, target: str = TARGET) -> tuple[dict[str, Any], str]:
    result = cli("seed", REF, target, "--json")
    assert result.code == 0, result.err
    receipt: dict[str, Any] = json.loads(result.out)
    return receipt, result.err


def test_a_second_seed_finds_the_first_one_and_the_notice_is_said_once(
    cli: Run, embedded: Path, fresh_moto: str
) -> None:
    make_item(cli, "kept-value-0123456789")
    first, said = _seed(cli)
    httpx.post(f"{fresh_moto}/moto-api/reset").raise_for_status()  # as a new process starts
    second, said_again = _seed(cli)
    assert first["outcome"] == "created"
    assert second["outcome"] == "unchanged" and second["version_id"] == first["version_id"]
    assert "embedded AWS emulator (moto) at http://127.0.0.1:" in said
    assert f"kept, sealed, in {embedded}" in said
    assert said_again == ""  # said once, when the emulator was first used here
    change_item(cli, "kept-value-changed-0123456789")
    third, _ = _seed(cli)
    assert third["outcome"] == "updated" and third["version_id"] != first["version_id"]


def test_the_kept_file_is_sealed_and_private(cli: Run, embedded: Path) -> None:
    canary = "canary-" + secrets.token_hex(16)
    make_item(cli, canary)
    _seed(cli)
    _seed(cli, f"aws-ssm://{REGION}/prod/app/api-key")
    for name in (STATE_FILE, KEY_FILE):
        assert stat.S_IMODE((embedded / name).stat().st_mode) == 0o600
    sealed = (embedded / STATE_FILE).read_bytes()
    assert canary.encode() not in sealed and b"prod/app/api-key" not in sealed


def test_a_file_that_does_not_open_is_refused_and_left_alone(cli: Run, embedded: Path) -> None:
    make_item(cli, "tampered-value-0123456789")
    _seed(cli)
    state = embedded / STATE_FILE
    tampered = bytearray(state.read_bytes())
    tampered[-1] ^= 1
    state.write_bytes(bytes(tampered))
    result = cli("seed", REF, TARGET)
    assert result.code == 1
    assert f"{state} does not open under {embedded / KEY_FILE}" in result.err
    assert result.err.count("\n") == 1
    assert state.read_bytes() == bytes(tampered)


def test_one_process_at_a_time_keeps_them(tmp_path: Path) -> None:
    with (
        kept_state(tmp_path),
        pytest.raises(ConfigurationError, match="another vaultborn"),
        kept_state(tmp_path),
    ):
        pass


def _client(endpoint: str) -> Any:
    def make(service: str, region: str) -> Any:
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


def test_versions_stages_tags_history_and_deletions_come_back_as_they_were(
    fresh_moto: str,
) -> None:
    client = _client(fresh_moto)
    sm, ssm = client("secretsmanager", REGION), client("ssm", REGION)
    sm.create_secret(
        Name="app/key", SecretString="one", ClientRequestToken="v" * 32, Description="d",
        Tags=[{"Key": "vaultborn:source", "Value": "op://a/b/c"}],
    )  # fmt: skip
    sm.put_secret_value(SecretId="app/key", SecretString="two", ClientRequestToken="w" * 32)
    sm.put_secret_value(SecretId="app/key", SecretString="three", ClientRequestToken="x" * 32)
    sm.update_secret_version_stage(SecretId="app/key", VersionStage="ops", MoveToVersionId="v" * 32)
    sm.create_secret(Name="old", SecretString="gone", ClientRequestToken="y" * 32)
    sm.delete_secret(SecretId="old", RecoveryWindowInDays=7)
    ssm.put_parameter(Name="/app/key", Value="p1", Type="SecureString")
    ssm.put_parameter(Name="/app/key", Value="p2", Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name="/app/key", ParameterVersion=1, Labels=["first"])
    ssm.add_tags_to_resource(
        ResourceType="Parameter", ResourceId="/app/key", Tags=[{"Key": "k", "Value": "v"}]
    )
    before = snapshot(client, USED)
    httpx.post(f"{fresh_moto}/moto-api/reset").raise_for_status()
    assert snapshot(client, USED) == {"secretsmanager": {}, "ssm": {}}

    assert restore(client, before) == USED
    assert snapshot(client, USED) == before
    stages = sm.describe_secret(SecretId="app/key")["VersionIdsToStages"]
    assert stages == {"v" * 32: ["ops"], "w" * 32: ["AWSPREVIOUS"], "x" * 32: ["AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="app/key")["SecretString"] == "three"
    assert "DeletedDate" in sm.describe_secret(SecretId="old")
    assert ssm.get_parameter(Name="/app/key", WithDecryption=True)["Parameter"]["Version"] == 2


def test_runtimes_of_one_process_share_the_emulator_of_their_data_directory(
    tmp_path: Path, fresh_moto: str
) -> None:
    data = tmp_path / "data"
    notices: list[str] = []
    kept = Provenance(source="op://v/i/f", version=1)
    with (
        open_stores(notices.append, env={}, home=tmp_path, data_dir=data) as first,
        open_stores(notices.append, env={}, home=tmp_path, data_dir=data) as second,
    ):
        first.store_for(TARGET).put(TARGET, Secret("shared-value"), kept, "k" * 32)
        assert second.store_for(TARGET).describe(TARGET).exists
    assert len(notices) == 1
    httpx.post(f"{fresh_moto}/moto-api/reset").raise_for_status()
    with open_stores(notices.append, env={}, home=tmp_path, data_dir=data) as later:
        assert later.store_for(TARGET).describe(TARGET).version_id == "k" * 32


def test_a_command_that_touches_one_service_keeps_what_another_left_in_the_other(
    tmp_path: Path, fresh_moto: str
) -> None:
    """Only the services used are read out at the end, and what was kept comes back whole."""
    data = tmp_path / "data"
    kept = Provenance(source="op://v/i/f", version=1)
    with open_stores(lambda _: None, env={}, home=tmp_path, data_dir=data) as stores:
        stores.store_for(PARAMETER).put(PARAMETER, Secret("parameter-value"), kept, "p" * 32)
    httpx.post(f"{fresh_moto}/moto-api/reset").raise_for_status()
    with open_stores(lambda _: None, env={}, home=tmp_path, data_dir=data) as stores:
        stores.store_for(TARGET).put(TARGET, Secret("secret-value"), kept, "k" * 32)
    httpx.post(f"{fresh_moto}/moto-api/reset").raise_for_status()
    with open_stores(lambda _: None, env={}, home=tmp_path, data_dir=data) as later:
        assert later.store_for(PARAMETER).describe(PARAMETER).exists
        assert later.store_for(TARGET).describe(TARGET).version_id == "k" * 32
