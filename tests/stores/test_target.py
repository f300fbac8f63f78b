"""Target URIs and the idempotency key, without a store."""

from __future__ import annotations

import pytest

from vaultborn.stores.errors import InvalidTarget
from vaultborn.stores.protocol import Provenance, idempotency_key
from vaultborn.stores.target import AwsTarget, parse_aws_target

pytestmark = pytest.mark.robustness("hostile input: store target URIs")


@pytest.mark.parametrize(
    ("text", "region", "name"),
    [
        ("aws-secretsmanager://us-east-1/api-key", "us-east-1", "api-key"),
        ("aws-secretsmanager://us-gov-west-1/prod/app/k", "us-gov-west-1", "prod/app/k"),
        ("aws-secretsmanager://eu-central-2/a_b+c=d.e@f-g", "eu-central-2", "a_b+c=d.e@f-g"),
    ],
)
def test_good_targets(text: str, region: str, name: str) -> None:
    target = parse_aws_target(text)
    assert target == AwsTarget(region, name) and str(target) == text


@pytest.mark.parametrize(
    "text",
    [
        "aws-secretsmanager://us-east-1/",
        "aws-secretsmanager://us-east-1/x/",
        "aws-secretsmanager://us-east-1/%41",
        "aws-secretsmanager://user@us-east-1/x",
        "aws-secretsmanager://us-east-1/" + "x" * 513,
        "aws-secretsmanager:/us-east-1/x",
        "AWS-SECRETSMANAGER://us-east-1/x",
    ],
)
def test_bad_targets(text: str) -> None:
    with pytest.raises(InvalidTarget) as raised:
        parse_aws_target(text)
    assert "\n" not in str(raised.value)


def test_the_key_follows_target_source_and_version_only() -> None:
    prov = Provenance("op://v/i/f", 3)
    key = idempotency_key("aws-secretsmanager://us-east-1/x", prov)
    assert key == idempotency_key("aws-secretsmanager://us-east-1/x", Provenance("op://v/i/f", 3))
    others = {
        idempotency_key("aws-secretsmanager://us-east-1/y", prov),
        idempotency_key("aws-secretsmanager://us-east-1/x", Provenance("op://v/i/g", 3)),
        idempotency_key("aws-secretsmanager://us-east-1/x", Provenance("op://v/i/f", 4)),
    }
    assert key not in others and len(others) == 3
