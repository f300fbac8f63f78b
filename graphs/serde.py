"""``SealedSerializer``: checkpoint blobs sealed with AES-256-GCM, plaintext refused.

LangGraph's ``EncryptedSerializer`` loads a blob without a cipher suffix as plaintext, with no
integrity check (langgraph#8938), so a row written into the database by someone else would be
trusted. This one refuses any blob that is not sealed with its key.

It is a ``JsonPlusSerializer`` (sealing what that one writes, opening before that one reads)
rather than a wrapper around one: LangGraph narrows a checkpointer's msgpack allowlist to a
graph's own types only for serializers of that class (``with_msgpack_allowlist``), and for any
other it logs "does not support msgpack allowlist" and enforces none.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from vaultborn.core.errors import ConfigurationError

__all__ = ["SEALED_SUFFIX", "CheckpointTampered", "PlainSerializer", "SealedSerializer"]

SEALED_SUFFIX = "+aesgcm"
_NONCE = 12


class CheckpointTampered(ConfigurationError):
    """A checkpoint blob is not sealed with this key (plaintext, edited, or another key)."""


class SealedSerializer(JsonPlusSerializer):
    """LangGraph's msgpack serializer, every blob sealed with AES-256-GCM under ``key``.

    ``with_msgpack_allowlist`` (inherited) returns a copy with the same key and the merged
    allowlist, so LangGraph's strict allowlist applies to sealed checkpoints too.

    Args:
        key: 32 bytes.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigurationError("the checkpoint key must be 32 bytes")
        super().__init__()
        self._aead = AESGCM(key)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize, then seal; the type tag says it is sealed."""
        kind, data = super().dumps_typed(obj)
        nonce = os.urandom(_NONCE)
        return kind + SEALED_SUFFIX, nonce + self._aead.encrypt(nonce, data, kind.encode())

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Open, then deserialize.

        Raises:
            CheckpointTampered: The blob is plaintext or does not open with this key.
        """
        tag, blob = data
        if not tag.endswith(SEALED_SUFFIX):
            raise CheckpointTampered(
                f"refusing a plaintext checkpoint blob ({tag!r}) while encryption is on"
            )
        kind = tag[: -len(SEALED_SUFFIX)]
        try:
            opened = self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], kind.encode())
        except (InvalidTag, ValueError):
            raise CheckpointTampered(
                "a checkpoint blob does not open with this key (edited, or sealed with another: "
                "the run database's keys or VAULTBORN_CHECKPOINT_KEY)"
            ) from None
        return super().loads_typed((kind, opened))


class PlainSerializer(JsonPlusSerializer):
    """LangGraph's serializer, saying clearly when it meets a sealed blob it has no key for."""

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize an unsealed blob.

        Raises:
            CheckpointTampered: The blob is sealed (the database was written with a key).
        """
        if data[0].endswith(SEALED_SUFFIX):
            raise CheckpointTampered(
                "the checkpoints are sealed: they open with the key they were written with "
                "(the run database's keys, or VAULTBORN_CHECKPOINT_KEY)"
            )
        return super().loads_typed(data)
