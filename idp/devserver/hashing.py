"""Salted, slow hashes of client secrets and user passwords (scrypt, from the standard library).

A hash is one self-describing string, ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<digest b64>``, so
the cost can be raised later without breaking rows already written. Two cost profiles:

- ``CLIENT_COST`` (n = 2**11, about 6 ms and 2 MiB here) for client secrets, which are born in
  the vault with at least ``MIN_CLIENT_SECRET_CHARS`` random characters: their entropy, not the
  cost, is what defeats an offline guess, and the token endpoint pays the cost on every call.
- ``PASSWORD_COST`` (n = 2**14, about 55 ms and 16 MiB here) for user passwords, which people
  may choose and which are checked only at a login.

Comparison is constant-time (``hmac.compare_digest``). A value that is not a well-formed hash
never matches, so a damaged row fails closed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass

from vaultborn.vault.secret import Secret

__all__ = [
    "CLIENT_COST",
    "MIN_CLIENT_SECRET_CHARS",
    "PASSWORD_COST",
    "ScryptCost",
    "dummy_verify",
    "hash_secret",
    "verify_secret",
]

MIN_CLIENT_SECRET_CHARS = 32
"""The shortest client secret accepted: the vault's default recipe makes 32 characters."""

_SALT_BYTES = 16
_DIGEST_BYTES = 32
_MAX_MEM = 64 * 1024 * 1024
_MAX_INPUT_CHARS = 4096


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's parameters: ``2**log2_n`` iterations of ``r``-block mixing, ``p`` lanes."""

    log2_n: int
    r: int = 8
    p: int = 1


CLIENT_COST = ScryptCost(log2_n=11)
PASSWORD_COST = ScryptCost(log2_n=14)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(value: Secret, salt: bytes, cost: ScryptCost) -> bytes:
    # Overlong inputs are cut before hashing: scrypt's cost does not grow with them, but a
    # megabyte "password" in every request would still be a cheap way to burn our CPU.
    raw = value.reveal()[:_MAX_INPUT_CHARS].encode("utf-8")
    return hashlib.scrypt(
        raw, salt=salt, n=2**cost.log2_n, r=cost.r, p=cost.p, maxmem=_MAX_MEM, dklen=_DIGEST_BYTES
    )


def hash_secret(value: Secret, cost: ScryptCost) -> str:
    """A new salted hash of ``value`` at ``cost`` (a fresh random salt every call)."""
    salt = os.urandom(_SALT_BYTES)
    digest = _derive(value, salt, cost)
    return f"scrypt${cost.log2_n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def verify_secret(value: Secret, stored: str) -> bool:
    """Whether ``value`` hashes to ``stored`` (False for a malformed ``stored``)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return False
    if not (1 <= cost.log2_n <= 20 and 1 <= cost.r <= 32 and 1 <= cost.p <= 16):
        return False
    try:
        actual = _derive(value, salt, cost)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash(cost: ScryptCost) -> str:
    return hash_secret(Secret("not-a-real-secret"), cost)


def dummy_verify(value: Secret, cost: ScryptCost = CLIENT_COST) -> None:
    """Spend the time a real check takes, so an unknown client or user is not told by timing."""
    verify_secret(value, _dummy_hash(cost))
