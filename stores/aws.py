"""AWS Secrets Manager as a ``SecretStore``, through boto3.

``put`` is an idempotent upsert (reference/credentials.md §3):

1. ``DescribeSecret`` first: it tells whether the secret exists, its current version, its tags,
   and whether it is scheduled for deletion (moto accepts a put on such a secret; AWS refuses
   it, so we refuse before putting);
2. missing → ``CreateSecret``; lost a creation race (``ResourceExists``) → go on as existing;
3. our version id already AWSCURRENT → unchanged; otherwise ``PutSecretValue`` with the
   idempotency key as ``ClientRequestToken`` (AWS moves AWSCURRENT/AWSPREVIOUS), and should AWS
   treat it as an old version it already has, move AWSCURRENT back to it: the vault wins;
4. provenance tags ``vaultborn:source`` / ``vaultborn:version`` are set when they differ.

Tags carry the reference and the vault version, never the value or a hash of it.

``delete`` schedules the secret's deletion with AWS's recovery window (7 to 30 days, 30 by
default): until then ``RestoreSecret`` brings it back, and a put is refused. A secret scheduled
already is left as it is (its window is not restarted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from vaultborn.stores.aws_config import ClientsByRegion
from vaultborn.stores.aws_errors import aws_errors, pending_deletion
from vaultborn.stores.protocol import (
    DEFAULT_RECOVERY_DAYS,
    Deleted,
    DeleteOutcome,
    Outcome,
    Provenance,
    PutResult,
    StoreState,
)
from vaultborn.stores.target import AWS_SCHEME, AwsTarget, parse_aws_target
from vaultborn.vault.secret import Secret

__all__ = ["SOURCE_TAG", "VERSION_TAG", "AwsSecretsManager"]

SOURCE_TAG = "vaultborn:source"
VERSION_TAG = "vaultborn:version"
_CURRENT = "AWSCURRENT"
_DESCRIPTION = "Seeded one way from the vault by vaultborn: change the vault item, not this."

ClientFactory = Callable[[str], Any]
"""Region → a boto3 ``secretsmanager`` client."""


class AwsSecretsManager:
    """Secrets in AWS Secrets Manager, targets ``aws-secretsmanager://REGION/NAME``.

    Args:
        client_for: Makes the boto3 client for a region (endpoint, credentials and retry
            configuration are its business).
    """

    scheme = AWS_SCHEME

    def __init__(self, client_for: ClientFactory) -> None:
        self._client = ClientsByRegion(client_for)

    def describe(self, target: str) -> StoreState:
        """The current version id, provenance tags and deletion state of ``target``."""
        t = parse_aws_target(target)
        with aws_errors(t):
            meta = self._describe(t)
        if meta is None:
            return StoreState(target=str(t), exists=False)
        return StoreState(
            target=str(t),
            exists=True,
            version_id=_current(meta),
            provenance=_provenance(meta),
            pending_deletion="DeletedDate" in meta,
        )

    def versions(self, target: str) -> int:
        """How many versions of ``target`` carry a stage (AWSCURRENT, AWSPREVIOUS …)."""
        t = parse_aws_target(target)
        with aws_errors(t):
            if self._describe(t) is None:
                return 0
            listed = self._client(t.region).list_secret_version_ids(SecretId=t.name)
        return len(listed.get("Versions") or ())

    def put(
        self, target: str, secret: Secret, provenance: Provenance, idempotency_key: str
    ) -> PutResult:
        """Upsert ``secret`` as the current version ``idempotency_key`` of ``target``."""
        t = parse_aws_target(target)
        with aws_errors(t, secret):
            meta = self._describe(t)
            if meta is None:
                if self._create(t, secret, provenance, idempotency_key):
                    return PutResult(idempotency_key, Outcome.CREATED)
                meta = self._describe(t) or {}
            return self._update(t, meta, secret, provenance, idempotency_key)

    def delete(self, target: str, *, recovery_days: int = DEFAULT_RECOVERY_DAYS) -> Deleted:
        """Schedule ``target``'s deletion, restorable for ``recovery_days`` (7 to 30)."""
        if not 7 <= recovery_days <= 30:
            raise ValueError("Secrets Manager keeps a deleted secret 7 to 30 days")
        t = parse_aws_target(target)
        with aws_errors(t):
            meta = self._describe(t)
            if meta is None or "DeletedDate" in meta:
                return Deleted(str(t), DeleteOutcome.ABSENT)
            try:
                self._client(t.region).delete_secret(
                    SecretId=t.name, RecoveryWindowInDays=recovery_days
                )
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException":
                    raise
                return Deleted(str(t), DeleteOutcome.ABSENT)  # deleted meanwhile
        return Deleted(str(t), DeleteOutcome.SCHEDULED, recovery_days)

    # -- steps ------------------------------------------------------------------------------
    def _describe(self, t: AwsTarget) -> dict[str, Any] | None:
        try:
            meta: dict[str, Any] = self._client(t.region).describe_secret(SecretId=t.name)
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return None
            raise
        return meta

    def _create(self, t: AwsTarget, secret: Secret, prov: Provenance, key: str) -> bool:
        """Create the secret; False if someone else created it first."""
        try:
            self._client(t.region).create_secret(
                Name=t.name,
                SecretString=secret.reveal(),
                ClientRequestToken=key,
                Description=_DESCRIPTION,
                Tags=_tags(prov),
            )
        except ClientError as exc:
            if _code(exc) == "ResourceExistsException":
                return False
            raise
        return True

    def _update(
        self, t: AwsTarget, meta: dict[str, Any], secret: Secret, prov: Provenance, key: str
    ) -> PutResult:
        if "DeletedDate" in meta:
            # moto would accept the put below; AWS refuses it. Refuse the same way.
            raise pending_deletion(t)
        client = self._client(t.region)
        current = _current(meta)
        outcome = Outcome.UNCHANGED
        if current != key:
            try:
                client.put_secret_value(
                    SecretId=t.name, SecretString=secret.reveal(), ClientRequestToken=key
                )
            except ClientError as exc:
                if _code(exc) != "ResourceNotFoundException" or not self._create(
                    t, secret, prov, key
                ):
                    raise
                return PutResult(key, Outcome.CREATED)
            # Same token, same value: AWS ignores the put when it already has that version
            # (older, or moved aside by a hand-made put), so we check and move AWSCURRENT.
            now = _current(client.describe_secret(SecretId=t.name))
            if now != key:
                moved = {"RemoveFromVersionId": now} if now else {}
                client.update_secret_version_stage(
                    SecretId=t.name, VersionStage=_CURRENT, MoveToVersionId=key, **moved
                )
            outcome = Outcome.UPDATED
        if _provenance(meta) != prov:
            client.tag_resource(SecretId=t.name, Tags=_tags(prov))
        return PutResult(key, outcome)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _tags(prov: Provenance) -> list[dict[str, str]]:
    return [
        {"Key": SOURCE_TAG, "Value": prov.source},
        {"Key": VERSION_TAG, "Value": str(prov.version)},
    ]


def _current(meta: dict[str, Any]) -> str | None:
    stages: dict[str, list[str]] = meta.get("VersionIdsToStages") or {}
    return next((v for v, s in stages.items() if _CURRENT in s), None)


def _provenance(meta: dict[str, Any]) -> Provenance | None:
    tags = {t.get("Key"): t.get("Value") for t in meta.get("Tags") or ()}
    source, version = tags.get(SOURCE_TAG), tags.get(VERSION_TAG)
    if not source or not version or not version.isdigit():
        return None
    return Provenance(source=source, version=int(version))
