"""``OpSdkVault``: 1Password as the trust anchor through its own SDK (credentials.md §1.9).

Beside the ``op`` backend, with the same typed errors and the same contract: one SDK client
per process instead of one ``op`` process per call. A service account signs in with
``OP_SERVICE_ACCOUNT_TOKEN``. References are resolved by the SDK itself whenever it can parse
them (``?attribute=otp`` is sent as the SDK's ``totp``); names it cannot take (an em dash) or
finds none or several of go through the lenient resolver (``vault.resolve``), after which the
SDK is called with ids, as its documentation asks for item management.

The SDK has no "generate on create": the password comes from the SDK's own generator
(``Secrets.generate_password``, 1Password's core running in this process) and goes straight
into the create call as a ``Secret``; it is never stored or printed here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.vault.assignment import Assignment
from vaultborn.vault.base import BaseVault
from vaultborn.vault.errors import (
    AmbiguousReference,
    FieldNotFound,
    InvalidRecipe,
    InvalidReference,
    KeyGenerationUnsupported,
    NotFound,
    VaultConflict,
    VaultNotFound,
)
from vaultborn.vault.items import OTP_LABEL, ItemEdit, ItemSpec, apply_edit, new_item
from vaultborn.vault.model import Category, FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.opsdk import shapes
from vaultborn.vault.opsdk.bridge import LoopThread
from vaultborn.vault.opsdk.client import Connect, SdkClient, authenticate, sdk_version
from vaultborn.vault.opsdk.errors import from_exception, from_resolve_error
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.protocol import Health
from vaultborn.vault.recipe import Recipe
from vaultborn.vault.reference import SecretReference, is_op_id, parse_reference
from vaultborn.vault.resolve import match_one, resolve_reference
from vaultborn.vault.secret import Secret

__all__ = ["TOKEN_ENV", "OpSdkVault"]

T = TypeVar("T")
TOKEN_ENV = "OP_SERVICE_ACCOUNT_TOKEN"  # noqa: S105 (a variable's name)
FAKE_ENV = "VAULTBORN_TEST_OP_SDK_FAKE"
"""Test only: a state file of the fake service (``vault.opsdk.fake``) instead of 1Password."""
CONFLICT_RETRIES = 3


class OpSdkVault(BaseVault):
    """The ``Vault`` protocol over 1Password's Python SDK (``onepassword-sdk`` 0.4).

    Args:
        connect: Signs in and returns a client (``client.authenticate(token)``, or a fake's).
        timeout: Seconds per SDK call before ``VaultUnavailable``.
        clock: Unix time now, for codes computed here (``otp_code(at=…)``).
        redact: Values never to show in an error message (the token).
        via: How it signs in, for ``doctor``.

    Attributes:
        calls: SDK calls made so far (the bench counts them).
    """

    backend = "op-sdk"
    creates_revealed = True  # the SDK answers items.create with the item, values included

    def __init__(self, connect: Connect, *, timeout: float = 30.0,
                 clock: Callable[[], float] = time.time, redact: Sequence[Secret] = (),
                 via: str = "service account") -> None:  # fmt: skip
        if timeout <= 0:
            raise ConfigurationError(f"the 1Password SDK timeout must be positive, got {timeout}")
        self._connect = connect
        self._client: SdkClient | None = None
        self._loop = LoopThread("vaultborn-op-sdk")
        self._redact = tuple(redact)
        self.timeout = timeout
        self.clock = clock
        self.via = via
        self.calls = 0
        self._vault_list: list[VaultInfo] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> OpSdkVault:
        """Signed in by ``OP_SERVICE_ACCOUNT_TOKEN``; ``VAULTBORN_OP_TIMEOUT`` bounds calls."""
        raw = env.get("VAULTBORN_OP_TIMEOUT") or "30"
        try:
            timeout = float(raw)
        except ValueError:
            raise ConfigurationError(
                f"VAULTBORN_OP_TIMEOUT must be a number of seconds, not {raw!r}"
            ) from None
        token = Secret(env.get(TOKEN_ENV, ""), label=TOKEN_ENV)
        via = f"service account, {TOKEN_ENV}"
        if env.get(FAKE_ENV):
            from pathlib import Path

            from vaultborn.vault.opsdk.fake import FakeOnePassword

            fake = FakeOnePassword(path=Path(env[FAKE_ENV]))
            return cls(fake.connect(token), timeout=timeout, redact=[token], via=f"{via} (fake)")
        return cls(authenticate(token), timeout=timeout, redact=[token], via=via)

    def close(self) -> None:
        """Let the SDK client go and stop its event loop."""
        self._client = None
        self._vault_list = None
        self._loop.close()

    # -- calling the SDK ------------------------------------------------------------------
    def _sdk(self, call: Callable[[SdkClient], Awaitable[T]], *, count: bool = True) -> T:
        """``call(client)`` on the SDK's loop, signing in first if needed; errors typed."""

        async def go() -> T:
            if self._client is None:
                self._client = await self._connect()
            return await call(self._client)

        if count:
            self.calls += 1
        try:
            return self._loop.run(go(), self.timeout)
        except VaultbornError:
            raise
        except Exception as exc:  # the SDK raises plain exceptions: translated here
            raise from_exception(exc, redact=self._redact) from None

    def _generate(self, recipe: Recipe) -> Secret:
        """A password from the SDK's own generator (1Password's core, in this process)."""
        from onepassword import (
            PasswordRecipePin,
            PasswordRecipePinInner,
            PasswordRecipeRandom,
            PasswordRecipeRandomInner,
        )

        sdk_recipe: Any
        if recipe.letters:
            sdk_recipe = PasswordRecipeRandom(parameters=PasswordRecipeRandomInner(
                length=recipe.length, include_digits=recipe.digits,
                include_symbols=recipe.symbols))  # fmt: skip
        elif recipe.digits and not recipe.symbols:
            sdk_recipe = PasswordRecipePin(parameters=PasswordRecipePinInner(length=recipe.length))
        else:
            raise InvalidRecipe(
                f"1Password's SDK generates passwords with letters, or PINs of digits only; "
                f"{recipe} is neither"
            )

        async def generate(client: SdkClient) -> Any:
            return client.secrets.generate_password(sdk_recipe)

        return Secret(self._sdk(generate, count=False).password, label="generated password")

    def _resolve(self, reference: str) -> Secret:
        answer = self._sdk(lambda c: c.secrets.resolve_all([reference]))
        response = answer.individual_responses[reference]
        if response.error is not None:
            raise from_resolve_error(response.error, reference)
        return Secret(response.content.secret, label=reference)

    # -- catalog and primitives -----------------------------------------------------------
    def vaults(self) -> Sequence[VaultInfo]:
        """``client.vaults.list()``, kept while the client lives (a missing name asks again)."""
        if self._vault_list is None:
            listed = self._sdk(lambda c: c.vaults.list())
            self._vault_list = [VaultInfo(str(v.id), str(v.title)) for v in listed]
        return self._vault_list

    def _vaults_named(self, vault: str | None) -> list[VaultInfo]:
        try:
            return super()._vaults_named(vault)
        except VaultNotFound:
            self._vault_list = None  # made since we listed them, perhaps
            return super()._vaults_named(vault)

    def _found(self, vault: str | None, item: str) -> tuple[VaultInfo, Any]:
        """The vault and the SDK's item the names mean: one call when ``item`` is an id."""
        if vault is not None and is_op_id(item):
            (info,) = self._vaults_named(vault)
            try:
                return info, self._sdk(lambda c: c.items.get(info.id, item))
            except NotFound:
                pass  # a title that looks like an id
        info, summary = super().locate(vault, item)
        return info, self._sdk(lambda c: c.items.get(info.id, summary.id))

    def locate(self, vault: str | None, item: str) -> tuple[VaultInfo, ItemSummary]:
        """The vault and item the names mean; the summary is the whole (concealed) item."""
        info, raw = self._found(vault, item)
        return info, shapes.item_from_sdk(raw, info, reveal=False)

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """One item by title or id; secret values only if ``reveal``."""
        info, raw = self._found(vault, item)
        return shapes.item_from_sdk(raw, info, reveal=reveal)

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Apply ``edit``; an edit that changes nothing makes no ``put``."""
        info, raw = self._found(vault, item)
        return self._edit_raw(info, raw, lambda _: edit)

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set (or replace) the item's OTP field from a validated otpauth URI."""
        parse_otpauth_uri(uri)
        info, raw = self._found(vault, item)
        return self._edit_raw(info, raw, otp_edit(uri))

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        """``client.items.list(vault)``; an overview has no version, so it shows 0."""
        listed = self._sdk(lambda c: c.items.list(vault.id))
        return [s for s in (shapes.summary_from_sdk(o, vault) for o in listed) if s is not None]

    def _get(self, vault: VaultInfo, item_id: str, *, reveal: bool) -> Item:
        raw = self._sdk(lambda c: c.items.get(vault.id, item_id))
        return shapes.item_from_sdk(raw, vault, reveal=reveal)

    def _edit(self, vault: VaultInfo, item_id: str, edit: ItemEdit) -> Item:
        raw = self._sdk(lambda c: c.items.get(vault.id, item_id))
        return self._edit_raw(vault, raw, lambda _: edit)

    def _edit_raw(self, vault: VaultInfo, raw: Any, edit_for: Callable[[Item], ItemEdit]) -> Item:
        """Apply the edit to ``raw`` (just read) and ``put`` it; a conflict reads it again."""
        item_id = str(raw.id)
        for attempt in range(CONFLICT_RETRIES + 1):
            if attempt:
                raw = self._sdk(lambda c: c.items.get(vault.id, item_id))
            before = shapes.item_from_sdk(raw, vault, reveal=True)
            after = apply_edit(before, edit_for(before), generate=self._generate)
            if after is before:
                return before.concealed()
            changed = shapes.edited(raw, before, after)
            try:
                out = self._sdk(_put(changed))
            except VaultConflict:
                if attempt == CONFLICT_RETRIES:
                    raise
                continue  # someone else's change came first: apply ours to theirs
            return _generated_as(shapes.item_from_sdk(out, vault, reveal=False), after)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_canonical(self, ref: SecretReference, item: Item) -> Secret:
        return self._read_ref(ref)

    def _read_ref(self, ref: SecretReference) -> Secret:
        # The SDK documents ?attribute=totp; op's "otp" is not documented for it.
        return self._resolve(str(ref.with_attribute("totp") if ref.wants_otp else ref))

    # -- the protocol, where the SDK does better than the shared logic --------------------
    def read(self, ref: str | SecretReference) -> Secret:
        """The value ``ref`` points at; the SDK resolves it itself whenever it can."""
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        if parsed.op_compatible:
            try:
                return self._read_ref(parsed)
            except (NotFound, AmbiguousReference, InvalidReference):
                pass  # lenient names and precise errors come from the resolver
        try:
            canonical, item = resolve_reference(parsed, self)
        except VaultNotFound:
            self._vault_list = None  # made since we listed them, perhaps
            canonical, item = resolve_reference(parsed, self)
        return self._read_canonical(canonical, item)

    def find_items(self, vault: str | None = None, *, title: str | None = None,
                   tags: Sequence[str] = (),
                   categories: Sequence[Category] = ()) -> list[ItemSummary]:  # fmt: skip
        """Items matching every filter, with their versions (fetched for the matches only)."""
        found = super().find_items(vault, title=title, tags=tags, categories=categories)
        by_vault: dict[str, list[ItemSummary]] = {}
        for summary in found:
            by_vault.setdefault(summary.vault.id, []).append(summary)
        versions: dict[str, int] = {}
        for vault_id, summaries in by_vault.items():
            ids = [s.id for s in summaries]
            answer = self._sdk(_get_all(vault_id, ids))
            for response in answer.individual_responses:
                if response.content is not None:
                    versions[str(response.content.id)] = int(response.content.version)
        return [_with_version(s, versions.get(s.id, s.version)) for s in found]

    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """``client.items.create`` with the password from the SDK's generator.

        Concealed unless ``reveal``: the SDK answers the create with the item's values.

        Raises:
            KeyGenerationUnsupported: ``spec`` asks for a key pair: the SDK's interface in
                vaultborn's reference generates none inside 1Password, and one made here would
                be born outside the vault.
        """
        if spec.generate_key is not None or spec.category is Category.SSH_KEY:
            raise KeyGenerationUnsupported(
                "the 1Password SDK backend cannot generate a key pair; use the local vault, or "
                "make the SSH Key item in 1Password and pass its 'private key' reference"
            )
        info = match_one("vault", vault, self.vaults(), lambda v: v.id, lambda v: v.name, _no_vault)
        draft = new_item(spec, info, generate=self._generate)
        params = shapes.create_params(draft, info.id)
        out = self._sdk(lambda c: c.items.create(params))
        return _generated_as(shapes.item_from_sdk(out, info, reveal=reveal), draft)

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """The code now (the SDK computes it) or at unix time ``at`` (computed here)."""
        info, raw = self._found(vault, item)
        full = shapes.item_from_sdk(raw, info, reveal=True)
        fld = full.otp_field
        if fld is None or not isinstance(fld.value, Secret):
            raise FieldNotFound(f"item {full.title!r} ({full.id}) has no one-time password field")
        if at is None:
            code = _sdk_code(raw, fld.id)
            if code is not None:
                return Secret(code, label="TOTP code")
        return totp_code(parse_otpauth_uri(fld.value), self.clock() if at is None else at)

    # -- doctor ---------------------------------------------------------------------------
    def health(self) -> list[Health]:
        """The SDK's version, then the sign-in (the vaults it sees); never raises."""
        version = sdk_version()
        if version == "not installed":
            return [
                Health("1Password SDK", False, "not installed: pip install 'vaultborn[op-sdk]'")
            ]
        checks = [Health("1Password SDK", True, f"onepassword-sdk {version} (no process per call)")]
        try:
            names = ", ".join(v.name for v in self.vaults()) or "none"
            checks.append(Health("1Password sign-in", True, f"{self.via}; vaults: {names}"))
        except Exception as exc:  # a health check reports, never raises
            checks.append(Health("1Password sign-in", False, str(exc)))
        return checks


def _put(item: Any) -> Callable[[SdkClient], Awaitable[Any]]:
    async def put(client: SdkClient) -> Any:
        return await client.items.put(item)

    return put


def _get_all(vault_id: str, ids: list[str]) -> Callable[[SdkClient], Awaitable[Any]]:
    async def get_all(client: SdkClient) -> Any:
        return await client.items.get_all(vault_id, ids)

    return get_all


def otp_edit(uri: str | Secret) -> Callable[[Item], ItemEdit]:
    """Set the item's OTP field (its first one, else a new ``one-time password``) to ``uri``."""

    def edit_for(item: Item) -> ItemEdit:
        existing = item.otp_field
        label = existing.label if existing else OTP_LABEL
        section = existing.section.id if existing and existing.section else None
        value = Secret(uri.reveal() if isinstance(uri, Secret) else uri, label=label)
        change = Assignment(label=label, value=value, type=FieldType.OTP, section=section)
        return ItemEdit(assignments=(change,))

    return edit_for


def _no_vault(name: str) -> VaultNotFound:
    return VaultNotFound(f"{name!r} isn't a vault in this account")


def _with_version(summary: ItemSummary, version: int) -> ItemSummary:
    return ItemSummary(**{**{k: getattr(summary, k) for k in ItemSummary.__dataclass_fields__},
                          "version": version})  # fmt: skip


def _generated_as(item: Item, draft: Item) -> Item:
    """``item`` with the generated flag of ``draft``'s fields (the SDK does not keep it)."""
    generated = [f.id for f in draft.fields if f.generated]
    for field_id in generated:
        item = shapes.marked_generated(item, field_id)
    return item


def _sdk_code(raw: Any, field_id: str) -> str | None:
    for fld in raw.fields or ():
        if str(fld.id) == field_id and fld.details is not None:
            code = getattr(fld.details.content, "code", None)
            return str(code) if code else None
    return None
