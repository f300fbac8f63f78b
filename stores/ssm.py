"""AWS Systems Manager Parameter Store ``SecureString`` parameters as a ``SecretStore``.

Parameter Store has no idempotency token and no version stages, so ``put`` keeps its own
record in the parameter's tags: the seed's idempotency key and the parameter version that
seed wrote. A seed is unchanged only when both match the parameter as it is now, so a value
put by hand (a new version) is overwritten by the next seed: the vault wins.

1. ``DescribeParameters`` (metadata only, never the value) and ``ListTagsForResource``;
2. missing → ``PutParameter`` without ``Overwrite``, its tags in the same call (a new
   parameter is always version 1); lost a creation race (``ParameterAlreadyExists``) → go on
   as existing;
3. our key and version in the tags → unchanged; otherwise ``PutParameter`` with ``Overwrite``
   (AWS refuses tags together with it) and then ``AddTagsToResource``. A crash between the
   two leaves stale tags, so the retry puts once more: one extra version, the same value.

An existing parameter that is not a ``SecureString`` is refused rather than overwritten: it
holds someone's plain configuration, not a seeded secret.

``delete`` removes the parameter at once: Parameter Store has no recovery window (the vault
keeps the value). Only a ``SecureString`` seeded by vaultborn (its provenance tags) is
deleted; anything else is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from vaultborn.stores.aws_config import ClientsByRegion
from vaultborn.stores.aws_errors import aws_errors
from vaultborn.stores.errors import StoreRejected
from vaultborn.stores.protocol import (
    DEFAULT_RECOVERY_DAYS,
    Deleted,
    DeleteOutcome,
    Outcome,
    Provenance,
    PutResult,
    StoreState,
)
from vaultborn.stores.ssm_target import SSM_SCHEME, SsmTarget, parse_ssm_target
from vaultborn.vault.secret import Secret

__all__ = [
    "SEEDED_VERSION_TAG",
    "SEED_TAG",
    "SERVICE",
    "SOURCE_TAG",
    "VERSION_TAG",
    "AwsParameterStore",
]  # fmt: skip

SERVICE = "AWS SSM Parameter Store"
SOURCE_TAG = "vaultborn:source"
VERSION_TAG = "vaultborn:version"
SEED_TAG = "vaultborn:seed"
"""The idempotency key of the seed that wrote the parameter."""
SEEDED_VERSION_TAG = "vaultborn:parameter-version"
"""The parameter version that seed wrote; another version means a put behind our back."""
_SECURE = "SecureString"
_DESCRIPTION = "Seeded one way from the vault by vaultborn: change the vault item, not this."

ClientFactory = Callable[[str], Any]
"""Region → a boto3 ``ssm`` client."""


class AwsParameterStore:
    """``SecureString`` parameters in SSM Parameter Store, targets ``aws-ssm://REGION/PATH``.

    Args:
        client_for: Makes the boto3 ``ssm`` client for a region.
    """

    scheme = SSM_SCHEME

    def __init__(self, client_for: ClientFactory) -> None:
        self._client = ClientsByRegion(client_for)

    def describe(self, target: str) -> StoreState:
        """The current version and provenance tags of ``target``; never its value."""
        t = parse_ssm_target(target)
        with aws_errors(t, service=SERVICE):
            meta = self._describe(t)
            if meta is None:
                return StoreState(target=str(t), exists=False)
            tags = self._tags(t)
        return StoreState(
            target=str(t),
            exists=True,
            version_id=str(meta["Version"]),
            provenance=_provenance(tags),
        )

    def versions(self, target: str) -> int:
        """How many versions ``target`` has had (Parameter Store numbers them 1, 2, …)."""
        t = parse_ssm_target(target)
        with aws_errors(t, service=SERVICE):
            meta = self._describe(t)
        return 0 if meta is None else int(meta["Version"])

    def put(
        self, target: str, secret: Secret, provenance: Provenance, idempotency_key: str
    ) -> PutResult:
        """Make ``secret`` the current value of ``target``; the same key again is a no-op."""
        t = parse_ssm_target(target)
        with aws_errors(t, secret, SERVICE):
            meta = self._describe(t)
            if meta is None:
                if self._create(t, secret, provenance, idempotency_key):
                    return PutResult("1", Outcome.CREATED)
                meta = self._describe(t) or {}
            return self._update(t, meta, secret, provenance, idempotency_key)

    def delete(self, target: str, *, recovery_days: int = DEFAULT_RECOVERY_DAYS) -> Deleted:
        """Delete ``target`` now: Parameter Store keeps nothing to restore from.

        ``recovery_days`` does not apply here.
        """
        t = parse_ssm_target(target)
        with aws_errors(t, service=SERVICE):
            meta = self._describe(t)
            if meta is None:
                return Deleted(str(t), DeleteOutcome.ABSENT)
            if meta.get("Type") != _SECURE or _provenance(self._tags(t)) is None:
                raise StoreRejected(
                    f"{t} was not seeded by vaultborn (no SecureString with its provenance "
                    "tags); it is not deleted"
                )
            try:
                self._client(t.region).delete_parameter(Name=t.name)
            except ClientError as exc:
                if _code(exc) != "ParameterNotFound":
                    raise
                return Deleted(str(t), DeleteOutcome.ABSENT)  # deleted meanwhile
        return Deleted(str(t), DeleteOutcome.DELETED)

    # -- steps ------------------------------------------------------------------------------
    def _describe(self, t: SsmTarget) -> dict[str, Any] | None:
        found = self._client(t.region).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [t.name]}]
        )
        meta: dict[str, Any] | None = next(
            (p for p in found.get("Parameters") or () if p.get("Name") == t.name), None
        )
        return meta

    def _tags(self, t: SsmTarget) -> dict[str, str]:
        listed = self._client(t.region).list_tags_for_resource(
            ResourceType="Parameter", ResourceId=t.name
        )
        return {tag["Key"]: tag["Value"] for tag in listed.get("TagList") or ()}

    def _create(self, t: SsmTarget, secret: Secret, prov: Provenance, key: str) -> bool:
        """Create the parameter as version 1; False if someone else created it first."""
        try:
            self._client(t.region).put_parameter(
                Name=t.name,
                Value=secret.reveal(),
                Type=_SECURE,
                Description=_DESCRIPTION,
                Overwrite=False,
                Tags=_tag_list(prov, key, 1),
            )
        except ClientError as exc:
            if _code(exc) == "ParameterAlreadyExists":
                return False
            raise
        return True

    def _update(
        self, t: SsmTarget, meta: dict[str, Any], secret: Secret, prov: Provenance, key: str
    ) -> PutResult:
        if meta.get("Type") != _SECURE:
            raise StoreRejected(
                f"{t} is a {meta.get('Type', 'non-SecureString')} parameter; vaultborn writes "
                "only SecureString parameters (seed another name, or delete it first)"
            )
        current = int(meta["Version"])
        tags = self._tags(t)
        if tags.get(SEED_TAG) == key and tags.get(SEEDED_VERSION_TAG) == str(current):
            return PutResult(str(current), Outcome.UNCHANGED)
        client = self._client(t.region)
        put = client.put_parameter(
            Name=t.name,
            Value=secret.reveal(),
            Type=_SECURE,
            Description=_DESCRIPTION,
            Overwrite=True,
        )
        version = int(put["Version"])
        client.add_tags_to_resource(
            ResourceType="Parameter", ResourceId=t.name, Tags=_tag_list(prov, key, version)
        )
        return PutResult(str(version), Outcome.UPDATED)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _tag_list(prov: Provenance, key: str, version: int) -> list[dict[str, str]]:
    return [
        {"Key": SOURCE_TAG, "Value": prov.source},
        {"Key": VERSION_TAG, "Value": str(prov.version)},
        {"Key": SEED_TAG, "Value": key},
        {"Key": SEEDED_VERSION_TAG, "Value": str(version)},
    ]


def _provenance(tags: dict[str, str]) -> Provenance | None:
    source, version = tags.get(SOURCE_TAG), tags.get(VERSION_TAG)
    if not source or not version or not version.isdigit():
        return None
    return Provenance(source=source, version=int(version))
