"""``vaultborn seed REF aws-secretsmanager://…`` against moto's server over HTTP."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import Run
from tests.stores.conftest import REF, REGION, Stub, change_item, make_item
from vaultborn.stores.aws import AwsSecretsManager

pytestmark = pytest.mark.robustness("fault: AWS endpoint errors and retries")

TARGET = f"aws-secretsmanager://{REGION}/prod/app/api-key"
NAME = "prod/app/api-key"


def _seed(cli: Run, *extra: str) -> dict[str, Any]:
    result = cli("seed", REF, TARGET, "--json", *extra)
    assert result.code == 0, result.err
    receipt: dict[str, Any] = json.loads(result.out)
    return receipt


def _stages(sm: Any) -> dict[str, list[str]]:
    stages: dict[str, list[str]] = sm.describe_secret(SecretId=NAME)["VersionIdsToStages"]
    return stages


def test_seeding_twice_makes_one_version(cli: Run, aws: Any) -> None:
    value = secrets.token_urlsafe(24)
    make_item(cli, value)
    first, second = _seed(cli), _seed(cli)
    assert first["outcome"] == "created" and second["outcome"] == "unchanged"
    assert first["version_id"] == second["version_id"]
    assert _stages(aws) == {first["version_id"]: ["AWSCURRENT"]}
    assert len(aws.list_secret_version_ids(SecretId=NAME)["Versions"]) == 1
    assert aws.get_secret_value(SecretId=NAME)["SecretString"] == value
    assert first["source"].startswith("op://") and first["source"] != REF  # canonical, by ids
    assert first["source_version"] == 1 and first["target"] == TARGET


def test_a_vault_change_makes_a_new_current_version(cli: Run, aws: Any) -> None:
    make_item(cli, "first-value-0123456789")
    old = _seed(cli)
    change_item(cli, "second-value-0123456789")
    new = _seed(cli)
    assert new["outcome"] == "updated" and new["source_version"] > old["source_version"]
    assert _stages(aws) == {old["version_id"]: ["AWSPREVIOUS"], new["version_id"]: ["AWSCURRENT"]}
    assert aws.get_secret_value(SecretId=NAME)["SecretString"] == "second-value-0123456789"
    previous = aws.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == "first-value-0123456789"


def test_tags_carry_provenance_and_never_the_value(cli: Run, aws: Any) -> None:
    value = secrets.token_urlsafe(24)
    make_item(cli, value)
    receipt = _seed(cli)
    meta = aws.describe_secret(SecretId=NAME)
    tags = {t["Key"]: t["Value"] for t in meta["Tags"]}
    assert tags == {"vaultborn:source": receipt["source"], "vaultborn:version": "1"}
    assert value not in json.dumps(meta, default=str)
    change_item(cli, value + "-2")
    _seed(cli)
    tags = {t["Key"]: t["Value"] for t in aws.describe_secret(SecretId=NAME)["Tags"]}
    assert tags["vaultborn:version"] == "2"


def test_the_vault_wins_over_a_value_put_behind_its_back(cli: Run, aws: Any) -> None:
    make_item(cli, "from-the-vault-0123456789")
    seeded = _seed(cli)
    aws.put_secret_value(SecretId=NAME, SecretString="pasted-by-hand")
    again = _seed(cli)
    assert again["outcome"] == "updated" and again["version_id"] == seeded["version_id"]
    assert _stages(aws)[seeded["version_id"]] == ["AWSCURRENT"]
    # By stage: moto's UpdateSecretVersionStage leaves its default version behind (AWS does not).
    current = aws.get_secret_value(SecretId=NAME, VersionStage="AWSCURRENT")
    assert current["SecretString"] == "from-the-vault-0123456789"


def test_human_receipt_names_target_versions_and_source(cli: Run, aws: Any) -> None:
    make_item(cli, "human-receipt-0123456789")
    result = cli("seed", REF, TARGET)
    assert result.code == 0, result.err
    assert result.out.startswith(f"created {TARGET}\n")
    assert "version id:" in result.out and "source version: 1" in result.out


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("s3://bucket/key", "unsupported store target (scheme 's3')"),
        ("prod/api-key", "unsupported store target (no scheme)"),
        ("aws-secretsmanager://us-east-1", "names no secret"),
        ("aws-secretsmanager://US-EAST-1/x", "is not an AWS region name"),
        ("aws-secretsmanager://us-east-1/a b", "1-512 characters"),
        ("aws-secretsmanager://us-east-1/a//b", "empty '/' segment"),
        ("aws-secretsmanager://us-east-1/x?y=1", "1-512 characters"),
        ("aws-secretsmanager://us-east-1:443/x", "is not an AWS region name"),
    ],
)
def test_bad_targets_are_one_line_usage_errors(cli: Run, target: str, says: str) -> None:
    result = cli("seed", REF, target)
    assert result.code == 2, result
    assert result.err.startswith("vaultborn: ") and result.err.count("\n") == 1, result.err
    assert says in result.err and "Traceback" not in result.err


def test_pending_deletion_is_refused_as_aws_does(cli: Run, aws: Any) -> None:
    make_item(cli, "doomed-value-0123456789")
    _seed(cli)
    aws.delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    change_item(cli, "doomed-value-2-0123456789")
    result = cli("seed", REF, TARGET)
    assert result.code == 1, result
    assert result.err == f"vaultborn: {TARGET} is scheduled for deletion; restore it " \
        "(aws secretsmanager restore-secret) or seed another name\n"  # fmt: skip
    versions = aws.list_secret_version_ids(SecretId=NAME, IncludeDeprecated=True)["Versions"]
    assert len(versions) == 1  # moto would have taken the put: nothing was put
    other = cli("seed", REF, f"aws-secretsmanager://{REGION}/other", "--json")
    assert other.code == 0 and json.loads(other.out)["outcome"] == "created"


@pytest.mark.parametrize(
    ("aws_error_stub", "code", "says"),
    [
        ((400, "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized"), 1,
         "AWS denied DescribeSecret on aws-secretsmanager://eu-west-1/prod/app/api-key "
         "(AccessDeniedException: User: arn:aws:iam::1:user/x is not authorized)"),
        ((400, "InvalidParameterException", "The name is invalid"), 1,
         "AWS Secrets Manager refused DescribeSecret on aws-secretsmanager://eu-west-1/prod/app/"
         "api-key (InvalidParameterException: The name is invalid)"),
        ((400, "ThrottlingException", "Rate exceeded"), 1,
         "AWS kept throttling DescribeSecret on aws-secretsmanager://eu-west-1/prod/app/api-key "
         "after retries (ThrottlingException)"),
    ],
    indirect=["aws_error_stub"],
)  # fmt: skip
def test_aws_errors_are_one_line_and_typed(
    cli: Run, aws_error_stub: Stub, code: int, says: str
) -> None:
    make_item(cli, "never-stored-0123456789")
    os.environ.update(
        AWS_ENDPOINT_URL=aws_error_stub.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="3",
        AWS_RETRY_MODE="standard",
    )
    result = cli("seed", REF, TARGET)
    assert result.code == code, result
    assert result.err == f"vaultborn: {says}\n"
    throttled = "Throttling" in says
    assert len(aws_error_stub.requests) == (3 if throttled else 1)  # only throttling is retried
    assert set(aws_error_stub.requests) == {"secretsmanager.DescribeSecret"}


def test_without_any_aws_configuration_an_embedded_moto_serves(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_moto: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    make_item(cli, "embedded-value-0123456789")
    result = cli("seed", REF, TARGET, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outcome"] == "created"
    lines = result.err.splitlines()
    assert len(lines) == 1 and "embedded AWS emulator (moto) at http://127.0.0.1:" in lines[0]


def test_an_aws_config_file_means_no_embedded_emulator(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    make_item(cli, "configured-value-0123456789")
    result = cli("seed", REF, TARGET)
    assert result.code == 1 and "embedded" not in result.err
    assert result.err.startswith("vaultborn: no AWS credentials found"), result.err


def test_flows_seeding_at_once_share_one_client_per_region(aws: Any) -> None:
    """A fleet's flows seed from many threads at once: one boto3 client is made, not one each."""
    made: list[str] = []
    started = threading.Barrier(8)

    def client_for(region: str) -> Any:
        made.append(region)
        time.sleep(0.05)  # making a client takes a while: the window every thread would race
        return boto3.client("secretsmanager", region_name=region)

    store = AwsSecretsManager(client_for)

    def look() -> bool:
        started.wait()
        return store.describe(TARGET).exists

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: look(), range(8)))

    assert seen == [False] * 8  # every thread got an answer from moto
    assert made == [REGION]
