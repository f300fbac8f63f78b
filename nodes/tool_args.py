"""The typed arguments of the agent's tools: what a model sees, what a gate's action holds.

Arguments that name a secret are ``Ref``: an ``op://`` reference, never a value. A model that
pastes a value is refused by the schema, and the refusal never repeats what it pasted.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from vaultborn.core.errors import VaultbornError
from vaultborn.stores.registry import target_forms
from vaultborn.vault.reference import parse_reference

__all__ = [
    "CallApiArgs",
    "CreateItemArgs",
    "CreateUserArgs",
    "FindItemsArgs",
    "OtpArgs",
    "Ref",
    "ReferenceArgs",
    "SeedArgs",
    "TokenArgs",
]


def _reference(value: str) -> str:
    """``value`` checked to be an ``op://`` reference (the message never repeats the value)."""
    try:
        parse_reference(value)
    except VaultbornError:
        raise ValueError("must be an op:// reference to a vault field, never a value") from None
    return value


Ref = Annotated[str, AfterValidator(_reference)]
"""An argument that names a secret: an ``op://`` reference, never a value."""


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ReferenceArgs(_Args):
    """Arguments of ``resolve_reference``."""

    reference: Ref = Field(description="An op:// reference, e.g. op://ACL/Some item/password")


class FindItemsArgs(_Args):
    """Arguments of ``find_items``."""

    vault: str = Field(description="The vault's name or id")
    title: str | None = Field(default=None, description="Only items with this exact title")


class OtpArgs(_Args):
    """Arguments of ``otp_receipt``."""

    vault: str = Field(description="The vault's name or id")
    item: str = Field(description="The item's title or id (it must have a one-time password)")


class TokenArgs(_Args):
    """Arguments of ``token_info``."""

    client_id: str = Field(description="The M2M client's id")
    secret: Ref = Field(description="op:// reference of the client secret (never the value)")
    audience: str = Field(description="The API the token is for")


class CallApiArgs(TokenArgs):
    """Arguments of ``call_api``."""

    url: str = Field(description="The protected API's URL (GET, with the client's token)")

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("must be an https:// URL (or http on loopback)")
        return value


class SeedArgs(_Args):
    """Arguments of ``seed`` (the same action as the setup's seed step)."""

    source: Ref = Field(alias="from", description="op:// reference of the value to seed")
    target: str = Field(
        alias="to",
        description=f"The store's target: {target_forms()}",
    )


class CreateItemArgs(_Args):
    """Arguments of ``create_item`` (the same action as the setup's first step)."""

    vault: str = Field(description="The vault's name")
    title: str = Field(description="The item's title")
    username: str = Field(description="The user name (an e-mail)")
    password_recipe: str = Field(
        default="letters,digits,symbols,32",
        description="How the vault generates the password: character sets and length",
    )


class CreateUserArgs(_Args):
    """Arguments of ``create_user`` (the same action as the setup's second step)."""

    email: str = Field(description="The user's e-mail")
    connection: str = Field(default="Username-Password-Authentication")
    password: Ref = Field(description="op:// reference of the password (never the value)")
