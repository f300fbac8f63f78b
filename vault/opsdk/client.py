"""The part of 1Password's Python SDK (``onepassword-sdk``) the op-sdk backend uses.

reference/credentials.md §1.9 and the installed package's own signatures (0.4.2):
``Client.authenticate(auth, integration_name, integration_version)``, then
``client.secrets.resolve_all(refs)``, the static ``Secrets.generate_password(recipe)``,
``client.items.create/get/get_all/put/list`` and ``client.vaults.list``. The SDK is async and
its package loads a native core (about a second), so it is imported only when a vault first
connects. ``SdkClient`` names that interface, so that the real ``onepassword.Client`` and the
fake (``vault.opsdk.fake``) fit the backend alike; the SDK ships no type information, so its
models are ``Any`` here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from importlib import metadata
from typing import Any, Protocol

from vaultborn.vault.secret import Secret

__all__ = ["INTEGRATION", "Connect", "SdkClient", "authenticate", "sdk_version"]

INTEGRATION = "vaultborn"
"""The integration name 1Password's audit trail shows for this backend's requests."""


class SecretsApi(Protocol):
    """``client.secrets``."""

    async def resolve_all(self, secret_references: Sequence[str]) -> Any:
        """A ``ResolveAllResponse``: per reference, the secret or a typed error."""
        ...

    def generate_password(self, recipe: Any) -> Any:
        """A ``GeneratePasswordResponse`` (static in the SDK; its core runs in-process)."""
        ...


class ItemsApi(Protocol):
    """``client.items``."""

    async def create(self, params: Any) -> Any:
        """Create an item from ``ItemCreateParams``; the new ``Item``."""
        ...

    async def get(self, vault_id: str, item_id: str) -> Any:
        """The ``Item`` (values included; TOTP fields carry their current code)."""
        ...

    async def get_all(self, vault_id: str, item_ids: Sequence[str]) -> Any:
        """An ``ItemsGetAllResponse``: per id, the item or a typed error."""
        ...

    async def put(self, item: Any) -> Any:
        """Replace the item (its ``version`` must be the current one); the updated ``Item``."""
        ...

    async def list(self, vault_id: str, *filters: Any) -> Sequence[Any]:
        """``ItemOverview``s of the vault (no fields, no version)."""
        ...


class VaultsApi(Protocol):
    """``client.vaults``."""

    async def list(self, params: Any = None) -> Sequence[Any]:
        """``VaultOverview``s the account can see."""
        ...


class SdkClient(Protocol):
    """An authenticated SDK client."""

    @property
    def secrets(self) -> SecretsApi:
        """``client.secrets``."""
        ...

    @property
    def items(self) -> ItemsApi:
        """``client.items``."""
        ...

    @property
    def vaults(self) -> VaultsApi:
        """``client.vaults``."""
        ...


Connect = Callable[[], Awaitable[SdkClient]]
"""Authenticates and returns a client (run on the backend's event loop)."""


def sdk_version() -> str:
    """The installed ``onepassword-sdk`` version, or ``"not installed"``."""
    try:
        return metadata.version("onepassword-sdk")
    except metadata.PackageNotFoundError:
        return "not installed"


def _own_version() -> str:
    try:
        return metadata.version("vaultborn")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


def authenticate(token: Secret) -> Connect:
    """A ``Connect`` that signs a service account in with the real SDK."""

    async def connect() -> SdkClient:
        from onepassword import Client

        client: SdkClient = await Client.authenticate(
            auth=token.reveal(), integration_name=INTEGRATION, integration_version=_own_version()
        )
        return client

    return connect
