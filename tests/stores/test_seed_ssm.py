"""``vaultborn seed REF aws-ssm://…`` into SSM Parameter Store, against moto's server over HTTP.

Read back with a plain boto3 client: the parameter is a SecureString holding the vault's value,
its tags carry provenance (never the value), and seeding converges after a put by hand, a crash
between the put and the tagging, or a creation race.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import Run
from tests.scale.plans import demo_plan_text
from tests.stores.conftest import REF, REGION, Stub, change_item, make_item
from vaultborn.browser.chromium import find_chromium
from vaultborn.stores.aws_config import AwsConnection
from vaultborn.stores.protocol import idempotency_key
from vaultborn.stores.seed import snapshot
from vaultborn.stores.ssm import AwsParameterStore
from vaultborn.vault.local import LocalVault

pytestmark = pytest.mark.robustness("fault: AWS endpoint errors and retries")

TARGET = f"aws-ssm://{REGION}/prod/app/api-key"
NAME = "/prod/app/api-key"


def _seed(cli: Run, target: str = TARGET) -> dict[str, Any]:
    result = cli("seed", REF, target, "--json")
    assert result.code == 0, result.err
    receipt: dict[str, Any] = json.loads(result.out)
    return receipt


def _value(ssm: Any) -> str:
    value: str = ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]["Value"]
    return value


def _tags(ssm: Any) -> dict[str, str]:
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=NAME)["TagList"]
    return {t["Key"]: t["Value"] for t in listed}


def _history(ssm: Any) -> list[int]:
    history = ssm.get_parameter_history(Name=NAME, WithDecryption=False)["Parameters"]
    return [p["Version"] for p in history]


def test_seeding_twice_makes_one_secure_string_version(cli: Run, ssm: Any) -> None:
    value = secrets.token_urlsafe(24)
    make_item(cli, value)
    first, second = _seed(cli), _seed(cli)
    assert first["outcome"] == "created" and second["outcome"] == "unchanged"
    assert first["version_id"] == second["version_id"] == "1"
    assert first["target"] == TARGET and first["source"].startswith("op://")
    parameter = ssm.get_parameter(Name=NAME, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString" and parameter["Value"] == value
    assert _history(ssm) == [1]


def test_a_vault_change_makes_a_new_version(cli: Run, ssm: Any) -> None:
    make_item(cli, "first-value-0123456789")
    old = _seed(cli)
    change_item(cli, "second-value-0123456789")
    new = _seed(cli)
    assert new["outcome"] == "updated" and new["version_id"] == "2"
    assert new["source_version"] > old["source_version"]
    assert _value(ssm) == "second-value-0123456789" and _history(ssm) == [1, 2]
    assert _seed(cli)["outcome"] == "unchanged"


def test_tags_carry_provenance_and_never_the_value(cli: Run, ssm: Any) -> None:
    value = secrets.token_urlsafe(24)
    make_item(cli, value)
    receipt = _seed(cli)
    tags = _tags(ssm)
    assert tags["vaultborn:source"] == receipt["source"] and tags["vaultborn:version"] == "1"
    assert tags["vaultborn:parameter-version"] == "1"
    described = ssm.describe_parameters()["Parameters"]
    assert value not in json.dumps([tags, described], default=str)


def test_the_vault_wins_over_a_value_put_behind_its_back(cli: Run, ssm: Any) -> None:
    make_item(cli, "from-the-vault-0123456789")
    _seed(cli)
    ssm.put_parameter(Name=NAME, Value="pasted-by-hand", Type="SecureString", Overwrite=True)
    again = _seed(cli)
    assert again["outcome"] == "updated" and again["version_id"] == "3"
    assert _value(ssm) == "from-the-vault-0123456789"
    assert _seed(cli)["outcome"] == "unchanged"


def test_a_plain_string_parameter_is_refused_not_overwritten(cli: Run, ssm: Any) -> None:
    make_item(cli, "never-stored-0123456789")
    ssm.put_parameter(Name=NAME, Value="someone's config", Type="String")
    result = cli("seed", REF, TARGET)
    assert result.code == 1, result
    assert result.err == (
        f"vaultborn: {TARGET} is a String parameter; vaultborn writes only SecureString "
        "parameters (seed another name, or delete it first)\n"
    )
    assert _value(ssm) == "someone's config" and _history(ssm) == [1]


class _CrashOnTagging:
    """An ``ssm`` client that dies after the put, before the tags (a crash at that line)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        if name == "add_tags_to_resource":
            raise KeyboardInterrupt("killed between PutParameter and AddTagsToResource")
        return getattr(self._client, name)


class _LateToCreate:
    """An ``ssm`` client that sees no parameter once, as if another seeder created it meanwhile."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._blind = True

    def describe_parameters(self, **kwargs: Any) -> Any:
        if self._blind:
            self._blind = False
            return {"Parameters": []}
        return self._client.describe_parameters(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _store(endpoint: str, wrap: Any = None) -> AwsParameterStore:
    session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t")
    aws = AwsConnection(session, None, endpoint)
    return AwsParameterStore(lambda region: (wrap or (lambda c: c))(aws.client("ssm", region)))


def test_a_crash_between_put_and_tags_converges_on_the_retry(cli: Run, ssm: Any) -> None:
    make_item(cli, "crash-value-0123456789")
    vault = LocalVault(Path(os.environ["VAULTBORN_HOME"]))
    secret, provenance = snapshot(vault, REF)
    key = idempotency_key(TARGET, provenance)
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    _store(endpoint).put(TARGET, secret, provenance, key)  # version 1, tagged
    change_item(cli, "crash-value-2-0123456789")
    secret, provenance = snapshot(vault, REF)
    key = idempotency_key(TARGET, provenance)
    with pytest.raises(KeyboardInterrupt):
        _store(endpoint, _CrashOnTagging).put(TARGET, secret, provenance, key)
    assert _value(ssm) == "crash-value-2-0123456789" and _tags(ssm)["vaultborn:version"] == "1"
    retried = _store(endpoint).put(TARGET, secret, provenance, key)
    assert retried.outcome == "updated" and retried.version_id == "3"  # one extra version
    assert _tags(ssm)["vaultborn:version"] == str(provenance.version)
    assert _store(endpoint).put(TARGET, secret, provenance, key).outcome == "unchanged"
    vault.close()


def test_losing_the_creation_race_goes_on_as_an_update(cli: Run, ssm: Any) -> None:
    make_item(cli, "raced-value-0123456789")
    vault = LocalVault(Path(os.environ["VAULTBORN_HOME"]))
    secret, provenance = snapshot(vault, REF)
    key = idempotency_key(TARGET, provenance)
    ssm.put_parameter(Name=NAME, Value="the other seeder", Type="SecureString")
    result = _store(os.environ["AWS_ENDPOINT_URL"], _LateToCreate).put(
        TARGET, secret, provenance, key
    )
    assert result.outcome == "updated" and _value(ssm) == "raced-value-0123456789"
    vault.close()


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("aws-ssm://us-east-1", "names no parameter"),
        ("aws-ssm://us-east-1/", "names no parameter"),
        ("aws-ssm://US-EAST-1/x", "is not an AWS region name"),
        ("aws-ssm://us-east-1/a//b", "empty '/' segment"),
        ("aws-ssm://us-east-1/a b", "letters, digits and _.-"),
        ("aws-ssm://us-east-1/x?version=2", "letters, digits and _.-"),
        ("aws-ssm://us-east-1/aws/reserved", "begin with 'aws' or 'ssm'"),
        ("aws-ssm://us-east-1/SSM-thing", "begin with 'aws' or 'ssm'"),
        ("aws-ssm://us-east-1/" + "/".join("x" * 16), "at most 15 levels"),
        ("aws-ssm://us-east-1/" + "x" * 1000, "too long"),
    ],
)
def test_bad_targets_are_one_line_usage_errors(cli: Run, target: str, says: str) -> None:
    result = cli("seed", REF, target)
    assert result.code == 2, result
    assert result.err.startswith("vaultborn: ") and result.err.count("\n") == 1, result.err
    assert says in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("aws_error_stub", "says"),
    [
        ((400, "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized"),
         f"AWS denied DescribeParameters on {TARGET} (AccessDeniedException: User: "
         "arn:aws:iam::1:user/x is not authorized)"),
        ((400, "ThrottlingException", "Rate exceeded"),
         f"AWS kept throttling DescribeParameters on {TARGET} after retries (ThrottlingException)"),
        ((500, "InternalServerError", "oops"),
         f"AWS SSM Parameter Store failed DescribeParameters on {TARGET} (InternalServerError: "
         "oops)"),
    ],
    indirect=["aws_error_stub"],
)  # fmt: skip
def test_aws_errors_are_one_line_and_typed(cli: Run, aws_error_stub: Stub, says: str) -> None:
    make_item(cli, "never-stored-0123456789")
    os.environ.update(
        AWS_ENDPOINT_URL=aws_error_stub.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="2",
    )
    result = cli("seed", REF, TARGET)
    assert result.code == 1, result
    assert result.err == f"vaultborn: {says}\n"
    assert set(aws_error_stub.requests) == {"AmazonSSM.DescribeParameters"}


def test_a_bad_attempt_count_is_one_line(cli: Run, aws: Any) -> None:
    make_item(cli, "never-stored-0123456789")
    os.environ["AWS_MAX_ATTEMPTS"] = "inf"
    result = cli("seed", REF, TARGET)
    assert result.code != 0 and result.err.count("\n") == 1, result
    assert "AWS_MAX_ATTEMPTS='inf' is not a whole number of attempts" in result.err


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium found")
def test_a_setup_seeds_both_aws_stores_by_their_schemes(cli: Run, aws: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        demo_plan_text(1)
        + '[[seed]]\nfrom = "op://ACL/vaultborn dev — Some API/password"\n'
        + 'to = "aws-ssm://us-east-1/vaultborn-fleet/agent-01"\n',
        encoding="utf-8",
    )
    result = cli("setup", "--plan", str(plan), "--auto-approve", "--json")
    assert result.code == 0, result
    seeds = json.loads(cli("show", json.loads(result.out)["run_id"], "--json").out)["state"]
    assert sorted(seeds["seeds"]) == [
        "aws-secretsmanager://us-east-1/vaultborn-fleet/agent-01",
        "aws-ssm://us-east-1/vaultborn-fleet/agent-01",
    ]
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    keys = {"aws_access_key_id": "t", "aws_secret_access_key": "t"}
    sm = boto3.client("secretsmanager", "us-east-1", endpoint_url=endpoint, **keys)
    ssm = boto3.client("ssm", "us-east-1", endpoint_url=endpoint, **keys)
    in_sm = sm.get_secret_value(SecretId="vaultborn-fleet/agent-01")["SecretString"]
    parameter = ssm.get_parameter(Name="/vaultborn-fleet/agent-01", WithDecryption=True)
    assert parameter["Parameter"]["Value"] == in_sm and len(in_sm) >= 32  # the vault's value
    assert in_sm not in result.out + result.err
