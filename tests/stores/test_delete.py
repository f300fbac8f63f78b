"""``SecretStore.delete`` on both AWS stores, against moto's server over HTTP.

Secrets Manager schedules the deletion with AWS's recovery window (the secret can be restored
until it ends, and a seed is refused meanwhile); Parameter Store has no such window and
deletes at once, and only what vaultborn seeded. Repeats are no-ops.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from vaultborn.stores.aws import AwsSecretsManager
from vaultborn.stores.errors import StoreError, StoreRejected
from vaultborn.stores.protocol import DeleteOutcome, Provenance, idempotency_key
from vaultborn.stores.ssm import AwsParameterStore
from vaultborn.vault.secret import Secret

REGION = "eu-west-1"
SM_TARGET = f"aws-secretsmanager://{REGION}/prod/app/key"
SSM_TARGET = f"aws-ssm://{REGION}/prod/app/key"
PROVENANCE = Provenance(source="op://v1/i1/f1", version=3)


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _put(store: Any, target: str) -> None:
    store.put(target, Secret("value-0123456789"), PROVENANCE, idempotency_key(target, PROVENANCE))


def test_secrets_manager_schedules_deletion_with_a_recovery_window(fresh_moto: str) -> None:
    sm = _client("secretsmanager", fresh_moto)
    store = AwsSecretsManager(lambda region: sm)
    _put(store, SM_TARGET)
    done = store.delete(SM_TARGET, recovery_days=7)
    assert (done.outcome, done.recovery_days) == (DeleteOutcome.SCHEDULED, 7)
    meta = sm.describe_secret(SecretId="prod/app/key")
    assert "DeletedDate" in meta  # scheduled, not gone: restorable for the window
    assert store.describe(SM_TARGET).pending_deletion
    again = store.delete(SM_TARGET, recovery_days=7)
    assert again.outcome is DeleteOutcome.ABSENT  # a repeat does not restart the window
    with pytest.raises(StoreError):
        _put(store, SM_TARGET)  # AWS refuses a put on a secret scheduled for deletion
    sm.restore_secret(SecretId="prod/app/key")
    assert sm.get_secret_value(SecretId="prod/app/key")["SecretString"] == "value-0123456789"
    assert store.delete("aws-secretsmanager://eu-west-1/none").outcome is DeleteOutcome.ABSENT


def test_secrets_manager_default_window_is_30_days_and_bounded(fresh_moto: str) -> None:
    sm = _client("secretsmanager", fresh_moto)
    store = AwsSecretsManager(lambda region: sm)
    _put(store, SM_TARGET)
    assert store.delete(SM_TARGET).recovery_days == 30
    for days in (0, 6, 31):
        with pytest.raises(ValueError, match="7 to 30"):
            store.delete(SM_TARGET, recovery_days=days)


def test_parameter_store_deletes_what_it_seeded_at_once(fresh_moto: str) -> None:
    ssm = _client("ssm", fresh_moto)
    store = AwsParameterStore(lambda region: ssm)
    _put(store, SSM_TARGET)
    done = store.delete(SSM_TARGET)
    assert (done.outcome, done.recovery_days) == (DeleteOutcome.DELETED, 0)
    assert not store.describe(SSM_TARGET).exists
    assert store.delete(SSM_TARGET).outcome is DeleteOutcome.ABSENT


def test_parameter_store_refuses_to_delete_what_it_did_not_seed(fresh_moto: str) -> None:
    ssm = _client("ssm", fresh_moto)
    store = AwsParameterStore(lambda region: ssm)
    ssm.put_parameter(Name="/prod/app/key", Value="someone's", Type="SecureString")
    with pytest.raises(StoreRejected, match="not seeded by vaultborn"):
        store.delete(SSM_TARGET)
    assert ssm.get_parameter(Name="/prod/app/key")["Parameter"]["Version"] == 1
