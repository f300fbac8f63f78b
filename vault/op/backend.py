"""``OpVault``: 1Password as the trust anchor, through its CLI (reference/credentials.md §1).

Every value goes to op on stdin (item JSON) and comes back from ``op read`` or
``op item get --reveal``; argv holds only ids, names, flags and recipes. Passwords are
generated inside 1Password (``--generate-password``), never here.

Names are looked up the way op looks them up first (one call: ``op read REF`` or
``op item get NAME --vault V``); only when op cannot take the name (an em dash in a
reference) or finds none or several does the lenient resolver (``vault.resolve``) run, and op
is then called with ids.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.base import BaseVault
from vaultborn.vault.errors import (
    AmbiguousReference,
    FieldNotFound,
    KeyGenerationUnsupported,
    NotFound,
    VaultError,
    VaultNotFound,
)
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.model import Category, Item, ItemSummary, VaultInfo
from vaultborn.vault.op import shapes, writes
from vaultborn.vault.op.runner import OpRunner
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.protocol import Health
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.resolve import Catalog, match_one, resolve_reference
from vaultborn.vault.secret import Secret

__all__ = ["OpVault"]


class OpVault(BaseVault):
    """The ``Vault`` protocol over the 1Password CLI (``op`` 2.23.0 or newer).

    Sign-in is op's own: ``OP_SERVICE_ACCOUNT_TOKEN`` for a service account, or the desktop
    app (``account`` / ``OP_ACCOUNT``) whose authorization prompt may block; ``timeout``
    bounds every call.

    Args:
        op_bin: The ``op`` executable (name on ``PATH`` or path).
        timeout: Seconds per op call before ``AuthorizationTimeout``.
        account: The desktop-app account (``--account``).
        env: Environment for op; None means this process's environment.
        clock: Unix time now, for codes computed here.
        sleep: Waits between retries of a conflicting (409) create or edit.

    Attributes:
        op: The ``OpRunner`` every call goes through.
    """

    backend = "op"
    creates_revealed = False  # create_item(reveal=True) reads the item back: one more op call

    def __init__(
        self,
        *,
        op_bin: str = "op",
        timeout: float = 30.0,
        account: str | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.op = OpRunner(op_bin, timeout=timeout, account=account, env=env, sleep=sleep)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> OpVault:
        """Configured by ``VAULTBORN_OP_BIN``, ``VAULTBORN_OP_TIMEOUT`` and ``OP_ACCOUNT``."""
        raw = env.get("VAULTBORN_OP_TIMEOUT") or "30"
        try:
            timeout = float(raw)
        except ValueError:
            raise ConfigurationError(
                f"VAULTBORN_OP_TIMEOUT must be a number of seconds, not {raw!r}"
            ) from None
        return cls(
            op_bin=env.get("VAULTBORN_OP_BIN") or "op",
            timeout=timeout,
            account=env.get("OP_ACCOUNT") or None,
            env=env,
        )

    # -- catalog (vault.resolve.Catalog) and primitives ---------------------------------------
    def vaults(self) -> Sequence[VaultInfo]:
        """``op vault list``."""
        return shapes.vaults_from_op(self.op.run_json(["vault", "list", "--format", "json"]))

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        """``op item list --vault ID``."""
        out = self.op.run_json(["item", "list", "--vault", vault.id, "--format", "json"])
        return shapes.summaries_from_op(out)

    def _get(self, vault: VaultInfo, item_id: str, *, reveal: bool) -> Item:
        raw = writes.get_raw(self.op, vault.id, item_id, reveal=reveal)
        return shapes.item_from_op(raw, reveal=reveal)

    def _edit(self, vault: VaultInfo, item_id: str, edit: ItemEdit) -> Item:
        return writes.edit(self.op, vault, item_id, lambda _: edit)

    def _read_canonical(self, ref: SecretReference, item: Item) -> Secret:
        if ref.op_compatible:
            return self._op_read(ref)
        # An id op would not take in a reference: read the value from the item instead.
        fld = self._get(item.vault, item.id, reveal=True).field_named(ref.field, ref.section)
        value = fld.value if isinstance(fld.value, Secret) else Secret(fld.value or "")
        return totp_code(parse_otpauth_uri(value), self.clock()) if ref.wants_otp else value

    def _op_read(self, ref: SecretReference) -> Secret:
        # The CLI documents ?attribute=otp; the SDK's "totp" spelling is unverified there.
        text = str(ref.with_attribute("otp") if ref.wants_otp else ref)
        return Secret(self.op.run(["read", "--no-newline", text]), label=text)

    # -- lookups: op's own matching first, the lenient resolver when it fails -----------------
    def _named_raw(self, vault: str | None, item: str, *, reveal: bool) -> dict[str, object] | None:
        """The item op finds under these names, or None (no vault given, none or several)."""
        if vault is None or vault.startswith("-") or item.startswith("-"):
            return None  # a name op's flag parser would take for a flag goes the id way
        try:
            return writes.get_raw(self.op, vault, item, reveal=reveal)
        except (NotFound, AmbiguousReference):
            return None

    def _named(self, vault: str | None, item: str, *, reveal: bool = False) -> Item | None:
        raw = self._named_raw(vault, item, reveal=reveal)
        return shapes.item_from_op(raw, reveal=reveal) if raw is not None else None

    def locate(self, vault: str | None, item: str) -> tuple[VaultInfo, ItemSummary]:
        """The vault and item the names mean; the summary is the whole (concealed) item."""
        found = self._named(vault, item)
        return (found.vault, found) if found else super().locate(vault, item)

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """One item by title or id; secret values only if ``reveal``."""
        found = self._named(vault, item, reveal=reveal)
        if found is not None:
            return found
        info, summary = super().locate(vault, item)
        return self._get(info, summary.id, reveal=reveal)

    # -- writes -------------------------------------------------------------------------------
    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """``op item create`` with the item as a JSON template on stdin; concealed.

        With ``reveal``, the values come from one ``op item get --reveal`` after it: whether
        op's answer to a create carries them since CLI 2.30's concealment is not in the
        reference (credentials.md §1.6), so it is not relied on.

        Raises:
            KeyGenerationUnsupported: ``spec`` asks for a key pair. The op flag that would
                generate one inside 1Password (``--ssh-generate-key``) is not in the reference
                this backend is built from (credentials.md §1.4), and a key made here and sent
                to op would be born outside the vault.
        """
        if spec.generate_key is not None or spec.category is Category.SSH_KEY:
            raise KeyGenerationUnsupported(
                "the 1Password backend cannot generate a key pair yet (op's key generation is "
                "not in vaultborn's reference); use the local vault, or make the SSH Key item "
                "in 1Password and pass its 'private key' reference"
            )
        made = self._create(vault, spec)
        return self.get_item(made.vault.id, made.id, reveal=True) if reveal else made

    def _create(self, vault: str, spec: ItemSpec) -> Item:
        if not vault.startswith("-"):
            try:
                return writes.create(self.op, vault, spec)
            except VaultNotFound:
                pass  # not op's spelling of the vault: match it leniently, then use its id
        info = match_one("vault", vault, self.vaults(), lambda v: v.id, lambda v: v.name, _no_vault)
        return writes.create(self.op, info.id, spec)

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Apply ``edit``; an edit that changes nothing makes no ``op item edit`` call."""
        return self._modify(vault, item, lambda _: edit)

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set (or replace) the item's OTP field from a validated otpauth URI."""
        parse_otpauth_uri(uri)
        value = uri if isinstance(uri, Secret) else Secret(uri, label="otpauth URI")
        return self._modify(vault, item, writes.otp_edit(value))

    def _modify(self, vault: str | None, item: str, edit_for: writes.EditFor) -> Item:
        raw = self._named_raw(vault, item, reveal=True)
        if raw is not None:
            found = shapes.item_from_op(raw, reveal=False)
            return writes.edit(self.op, found.vault, found.id, edit_for, current=raw)
        info, summary = super().locate(vault, item)
        return writes.edit(self.op, info, summary.id, edit_for)

    # -- values -------------------------------------------------------------------------------
    def read(self, ref: str | SecretReference) -> Secret:
        """The value ``ref`` points at; op resolves it itself whenever op can parse it."""
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        catalog: Catalog = self
        if parsed.op_compatible:
            try:
                return self._op_read(parsed)
            except VaultError as exc:
                # Lenient names (dashes, spacing) and precise errors come from the resolver.
                otp_misfit = parsed.wants_otp and type(exc) is VaultError
                if not isinstance(exc, NotFound | AmbiguousReference) and not otp_misfit:
                    raise
        else:
            # op takes any item name in `item get`, only not in a reference: ask it for ids.
            found = self._named(parsed.vault, parsed.item)
            catalog = _OneItem(found) if found else self
        canonical, item = resolve_reference(parsed, catalog)
        return self._read_canonical(canonical, item)

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """The code now (op computes it) or at unix time ``at`` (computed here from the URI)."""
        info, summary = self.locate(vault, item)
        meta = summary if isinstance(summary, Item) else None
        if at is None:
            try:
                out = self.op.run(["item", "get", summary.id, "--vault", info.id, "--otp"])
                return Secret(out.strip(), label="TOTP code")
            except VaultError as exc:
                # op's wording for "no OTP field" is undocumented: look at the item instead.
                meta = meta or self._get(info, summary.id, reveal=False)
                if type(exc) is not VaultError or meta.otp_field is not None:
                    raise
        meta = meta or self._get(info, summary.id, reveal=False)
        fld = meta.otp_field
        if fld is None:
            raise FieldNotFound(f"item {meta.title!r} ({meta.id}) has no one-time password field")
        uri = self._read_canonical(meta.reference(fld), meta)
        return totp_code(parse_otpauth_uri(uri), self.clock() if at is None else at)

    # -- doctor -------------------------------------------------------------------------------
    def health(self) -> list[Health]:
        """The op binary and its version, then who is signed in; never raises."""
        try:
            version = ".".join(map(str, self.op.version()))
        except Exception as exc:  # a health check reports, never raises
            return [Health("1Password CLI", False, str(exc))]
        where = self.op.path() or self.op.op_bin
        checks = [Health("1Password CLI", True, f"op {version} at {where}")]
        try:
            who = self.op.run_json(["whoami", "--format", "json"])
            service = who.get("user_type") == "SERVICE_ACCOUNT"
            name = who.get("email") or who.get("user_uuid") or "?"
            via = "service account, OP_SERVICE_ACCOUNT_TOKEN" if service else "desktop app"
            detail = f"signed in as {name} at {who.get('url', '?')} ({via})"
            checks.append(Health("1Password sign-in", True, detail))
        except Exception as exc:  # a health check reports, never raises
            checks.append(Health("1Password sign-in", False, str(exc)))
        return checks


@dataclass(frozen=True)
class _OneItem:
    """A catalog of the one item op found, for resolving the rest of a reference."""

    item: Item

    def vaults(self) -> Sequence[VaultInfo]:
        return [self.item.vault]

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        return [self.item]

    def item_metadata(self, vault: VaultInfo, item_id: str) -> Item:
        return self.item


def _no_vault(name: str) -> VaultNotFound:
    return VaultNotFound(f"{name!r} isn't a vault in this account")
