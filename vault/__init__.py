"""The trust anchor: where credentials are born and live.

Public surface: the ``Vault`` protocol and its two backends (``vault.local.LocalVault``, the
embedded default; ``vault.op.OpVault``, 1Password through its CLI), ``op://`` references,
the ``Secret`` type, otpauth/TOTP helpers and password recipes. Backends are imported from
their own modules so that using one never loads the other.
"""

from __future__ import annotations

from vaultborn.vault.assignment import Assignment, parse_assignment
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.model import Category, Field, FieldType, Item, ItemSummary, Section, VaultInfo
from vaultborn.vault.otp import (
    OtpParameters,
    build_otpauth_uri,
    normalize_base32,
    parse_otpauth_uri,
)
from vaultborn.vault.protocol import Health, Vault
from vaultborn.vault.recipe import Recipe, generate_password, parse_recipe
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.secret import Secret

__all__ = [
    "Assignment",
    "Category",
    "Field",
    "FieldType",
    "Health",
    "Item",
    "ItemEdit",
    "ItemSpec",
    "ItemSummary",
    "OtpParameters",
    "Recipe",
    "Secret",
    "SecretReference",
    "Section",
    "Vault",
    "VaultInfo",
    "build_otpauth_uri",
    "generate_password",
    "normalize_base32",
    "parse_assignment",
    "parse_otpauth_uri",
    "parse_recipe",
    "parse_reference",
]
