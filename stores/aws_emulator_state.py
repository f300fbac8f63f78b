"""The embedded AWS emulator's contents, kept between commands in the data directory.

moto keeps what is seeded in this process's memory. So that a stepped setup, ``seed`` run
twice and later commands see what was seeded before, the contents are read out through the
AWS API when the emulator closes and put back the same way when the next one starts:
Secrets Manager secrets with every staged version (same version ids and stage labels, tags,
description, a pending deletion), Parameter Store parameters with their history (type,
values, labels, tags). Through the API, not moto's objects: what is kept is what AWS would
show, whatever moto's version.

The file holds the seeded values, so it is sealed like the local vault's items: AES-256-GCM
under a key file of its own beside it (``aws-emulator.key``, 0600), both 0600 in the 0700
data directory; a file that does not open under its key is refused, never overwritten. One
process at a time keeps it (a lock beside it): a second one would write over the first's
seeds when it closes. In one process, the runtimes that share a data directory share one
emulator (moto's contents belong to the process anyway); the last one to close keeps them.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.local.fs import FILE_MODE, ensure_private_dir
from vaultborn.vault.local.keys import key_file

__all__ = [
    "KEY_FILE",
    "LOCK_FILE",
    "STATE_FILE",
    "KeptEmulator",
    "kept_emulator",
    "kept_state",
    "restore",
    "snapshot",
]

STATE_FILE = "aws-emulator.sealed"
KEY_FILE = "aws-emulator.key"
LOCK_FILE = "aws-emulator.lock"
_AAD = b"vaultborn embedded AWS emulator state v1"
_NONCE = 12

Client = Callable[[str, str], Any]
"""(service, region) → a boto3 client of the emulator."""


@dataclass
class KeptEmulator:
    """The embedded emulator of one data directory, shared by this process's runtimes."""

    endpoint: str
    used: set[tuple[str, str]]
    """The (service, region) pairs used: the contents kept at the end span them. Only those:
    moto fills a region's Parameter Store with AWS's public parameters on its first call,
    which costs seconds that a command seeding Secrets Manager alone need not pay."""
    stack: ExitStack = field(repr=False)
    kept: KeptState = field(repr=False)
    users: int = 0


_OPEN: dict[Path, KeptEmulator] = {}
_OPEN_LOCK = threading.Lock()


@contextmanager
def kept_emulator(data_dir: Path, notice: Callable[[str], None]) -> Iterator[KeptEmulator]:
    """The emulator of ``data_dir``, filled with what was kept there, kept again at the end.

    Raises:
        ConfigurationError: Another process holds the kept contents, or they do not open.
    """
    key = data_dir.resolve()
    with _OPEN_LOCK:
        emulator = _OPEN.get(key)
        if emulator is None:
            emulator = _start(data_dir, notice)
            _OPEN[key] = emulator
        emulator.users += 1
    try:
        yield emulator
    finally:
        with _OPEN_LOCK:
            emulator.users -= 1
            if emulator.users == 0:
                del _OPEN[key]
                with emulator.stack:
                    emulator.kept.save(snapshot(_client(emulator.endpoint), emulator.used))


def _start(data_dir: Path, notice: Callable[[str], None]) -> KeptEmulator:
    import httpx

    from vaultborn.stores.aws_config import embedded_moto

    with ExitStack() as stack:
        kept = stack.enter_context(kept_state(data_dir))
        endpoint = stack.enter_context(embedded_moto())
        if not kept.exists:
            notice(
                f"no AWS configuration found: using an embedded AWS emulator (moto) at "
                f"{endpoint} for Secrets Manager and Parameter Store; what is seeded there is "
                f"kept, sealed, in {data_dir} for the next commands"
            )
        # moto's contents belong to the process, not the server: start from exactly what was kept.
        httpx.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
        used = restore(_client(endpoint), kept.load())
        return KeptEmulator(endpoint, used, stack.pop_all(), kept)
    raise AssertionError("unreachable")  # pragma: no cover - the block returns or raises


def _client(endpoint: str) -> Client:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",  # noqa: S106
    )

    def make(service: str, region: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint)

    return make


@contextmanager
def kept_state(data_dir: Path) -> Iterator[KeptState]:
    """The emulator's kept contents in ``data_dir``, held by this process for the block.

    Raises:
        ConfigurationError: Another process holds them, or they do not open under their key.
    """
    ensure_private_dir(data_dir)
    lock_path = data_dir / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(
                f"the embedded AWS emulator of {data_dir} is open in another vaultborn process; "
                "run this when that one has finished (or configure AWS)"
            ) from None
        yield KeptState(data_dir)
    finally:
        os.close(fd)  # releases the lock


class KeptState:
    """The sealed file of one data directory (hold it through ``kept_state``)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE
        self._key_path = data_dir / KEY_FILE

    @property
    def exists(self) -> bool:
        """Whether anything was kept yet."""
        return self.path.exists()

    def load(self) -> dict[str, Any]:
        """What was kept (empty when nothing was)."""
        if not self.path.exists():
            return {}
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = key_file(self._key_path, may_create=False).material
        blob = self.path.read_bytes()
        try:
            data: dict[str, Any] = json.loads(
                AESGCM(key).decrypt(blob[:_NONCE], blob[_NONCE:], _AAD)
            )
        except (InvalidTag, ValueError):
            raise ConfigurationError(
                f"{self.path} does not open under {self._key_path}; move both away to start the "
                "embedded AWS emulator empty"
            ) from None
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Keep ``data`` (replacing what was kept, atomically)."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = key_file(self._key_path, may_create=not self.path.exists()).material
        nonce = os.urandom(_NONCE)
        sealed = nonce + AESGCM(key).encrypt(nonce, json.dumps(data).encode(), _AAD)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.write(fd, sealed)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


def snapshot(client: Client, used: set[tuple[str, str]]) -> dict[str, Any]:
    """The secrets and parameters of the ``used`` (service, region) pairs, as AWS shows them.

    Pairs of other services than Secrets Manager (``secretsmanager``) and Parameter Store
    (``ssm``) hold nothing kept.
    """
    readers: dict[str, Callable[[Any], list[dict[str, Any]]]] = {
        "secretsmanager": _secrets,
        "ssm": _parameters,
    }
    out: dict[str, Any] = {service: {} for service in readers}
    for service, region in sorted(used):
        read = readers.get(service)
        found = read(client(service, region)) if read is not None else []
        if found:
            out[service][region] = found
    return out


def restore(client: Client, kept: dict[str, Any]) -> set[tuple[str, str]]:
    """Put ``kept`` (a ``snapshot``) into an empty emulator; the (service, region) pairs."""
    used: set[tuple[str, str]] = set()
    for region, secrets in kept.get("secretsmanager", {}).items():
        used.add(("secretsmanager", region))
        sm = client("secretsmanager", region)
        for secret in secrets:
            _put_secret(sm, secret)
    for region, parameters in kept.get("ssm", {}).items():
        used.add(("ssm", region))
        ssm = client("ssm", region)
        for parameter in parameters:
            _put_parameter(ssm, parameter)
    return used


# -- Secrets Manager ------------------------------------------------------------------------


def _secrets(sm: Any) -> list[dict[str, Any]]:
    out = []
    for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        for listed in page.get("SecretList", []):
            name = listed["Name"]
            meta = sm.describe_secret(SecretId=name)
            deleted = "DeletedDate" in meta
            if deleted:  # its values are readable only while it is not pending deletion
                sm.restore_secret(SecretId=name)
            versions = []
            stages = meta.get("VersionIdsToStages") or {}
            listed_versions = sm.list_secret_version_ids(SecretId=name).get("Versions", [])
            for version in sorted(listed_versions, key=lambda v: str(v.get("CreatedDate", ""))):
                vid = version["VersionId"]
                got = sm.get_secret_value(SecretId=name, VersionId=vid)
                entry: dict[str, Any] = {"id": vid, "stages": list(stages.get(vid, []))}
                if "SecretString" in got:
                    entry["string"] = got["SecretString"]
                else:
                    entry["binary"] = base64.b64encode(got["SecretBinary"]).decode()
                versions.append(entry)
            if deleted:
                sm.delete_secret(SecretId=name, RecoveryWindowInDays=30)
            out.append(
                {
                    "name": name,
                    "description": meta.get("Description", ""),
                    "tags": meta.get("Tags", []),
                    "deleted": deleted,
                    "versions": versions,
                }
            )
    return out


def _value(version: dict[str, Any]) -> dict[str, Any]:
    if "string" in version:
        return {"SecretString": version["string"]}
    return {"SecretBinary": base64.b64decode(version["binary"])}


def _put_secret(sm: Any, secret: dict[str, Any]) -> None:
    versions = secret["versions"]
    if not versions:
        return
    name, first = secret["name"], versions[0]
    extra = {"Description": secret["description"]} if secret["description"] else {}
    if secret["tags"]:
        extra["Tags"] = secret["tags"]
    sm.create_secret(Name=name, ClientRequestToken=first["id"], **_value(first), **extra)
    for version in versions[1:]:
        sm.put_secret_value(
            SecretId=name,
            ClientRequestToken=version["id"],
            VersionStages=version["stages"],
            **_value(version),
        )
    _restage(sm, name, {v["id"]: set(v["stages"]) for v in versions})
    if secret["deleted"]:
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=30)


def _restage(sm: Any, name: str, want: dict[str, set[str]]) -> None:
    """Put every stage label back where it was, and nowhere else.

    The puts of the versions moved AWSCURRENT and AWSPREVIOUS along, as AWS does.
    """

    def staged() -> dict[str, list[str]]:
        found: dict[str, list[str]] = (
            sm.describe_secret(SecretId=name).get("VersionIdsToStages") or {}
        )
        return found

    for vid, stages in want.items():
        for stage in sorted(stages):
            holder = next((v for v, s in staged().items() if stage in s), None)
            if holder != vid:
                moved = {"RemoveFromVersionId": holder} if holder else {}
                sm.update_secret_version_stage(
                    SecretId=name, VersionStage=stage, MoveToVersionId=vid, **moved
                )
    for vid, held in staged().items():
        for stage in set(held) - want.get(vid, set()):
            sm.update_secret_version_stage(
                SecretId=name, VersionStage=stage, RemoveFromVersionId=vid
            )


# -- Parameter Store ------------------------------------------------------------------------


def _parameters(ssm: Any) -> list[dict[str, Any]]:
    out = []
    for page in ssm.get_paginator("describe_parameters").paginate():
        for listed in page.get("Parameters", []):
            name = listed["Name"]
            history = []
            pages = ssm.get_paginator("get_parameter_history").paginate(
                Name=name, WithDecryption=True
            )
            for hpage in pages:
                for version in hpage.get("Parameters", []):
                    history.append(
                        {
                            "version": version["Version"],
                            "type": version["Type"],
                            "value": version["Value"],
                            "description": version.get("Description", ""),
                            "labels": version.get("Labels", []),
                        }
                    )
            tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
            history.sort(key=lambda v: int(v["version"]))
            out.append({"name": name, "history": history, "tags": tags.get("TagList", [])})
    return out


def _put_parameter(ssm: Any, parameter: dict[str, Any]) -> None:
    name = parameter["name"]
    for version in parameter["history"]:
        extra = {"Description": version["description"]} if version["description"] else {}
        ssm.put_parameter(
            Name=name, Value=version["value"], Type=version["type"], Overwrite=True, **extra
        )
        if version["labels"]:
            ssm.label_parameter_version(
                Name=name, ParameterVersion=int(version["version"]), Labels=version["labels"]
            )
    if parameter["tags"]:
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=parameter["tags"])
