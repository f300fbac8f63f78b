"""``StepVault``: one step's view of the vault, each item read once however many fields it needs.

A step often needs several values of one item: the login drill types the break-glass password,
then a code from the same item's OTP field. Through ``StepVault`` the first read fetches the
item once, revealed, and later reads and codes of that step come from it: one vault call where
there were two (1Password service accounts have a reads-per-hour budget). What was read lives
in memory for the one step only and is never written anywhere; a write through the step's vault
(an OTP field set, an item created) forgets everything read before it, so a code is always
computed from what the vault holds now. An OTP field the step sets is the exception that
proves it: what the vault holds there is the URI just written, so the step's codes come from
that URI without reading the item back (whether or not the step read the item before).

One thing crosses steps: an item created in a move of the run goes, as the vault made it, to
the move's next steps until anything is written (``MoveItems``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence

from vaultborn.vault.errors import FieldNotFound
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.keypair import PublicKey
from vaultborn.vault.model import Category, FieldType, Item, ItemSummary, VaultInfo
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.protocol import Health, Vault
from vaultborn.vault.reference import SecretReference, parse_reference
from vaultborn.vault.resolve import field_in
from vaultborn.vault.secret import Secret

__all__ = ["MoveItems", "StepVault"]


class MoveItems:
    """Items as this move's writes got them back from the vault, for the move's later steps.

    A move is one pass of a run through its graph, until it is done or waits at a gate
    (``runner.runs.advance``). The break-glass item comes back from its creation with the
    password the vault generated, and the next step, which gives that password to the IdP,
    reads it here instead of from the vault: one vault call less per enrollment, as a person
    running the chain by hand uses the create's answer (on backends whose answer carries the
    values: ``Vault.creates_revealed``). In memory only, and nothing
    outlives the move: a gate, a crash or the process's end starts the next move empty. A write
    in the move forgets everything, so a later step (the verification's login drill) reads what
    the vault holds.
    """

    def __init__(self) -> None:
        self._items: dict[tuple[str | None, str], Item] = {}
        self._lock = threading.Lock()

    def keep(self, item: Item, vault: str) -> None:
        """Keep ``item`` (revealed): its vault by ``vault``, name or id; it by title or id."""
        with self._lock:
            for in_vault in {vault, item.vault.name, item.vault.id}:
                for name in (item.title, item.id):
                    self._items[(in_vault, name)] = item

    def get(self, vault: str | None, item: str) -> Item | None:
        """The item kept under these names, if any."""
        with self._lock:
            return self._items.get((vault, item))

    def forget(self) -> None:
        """Drop everything kept (the vault changed)."""
        with self._lock:
            self._items.clear()


class StepVault:
    """A ``Vault`` that serves one step's repeated reads of an item from one revealed read.

    Args:
        inner: The vault (usually the run's audited vault).
        clock: UNIX time now, for codes asked without ``at``.
        move: What the move's earlier steps created, handed on to this one (``MoveItems``).
    """

    def __init__(
        self,
        inner: Vault,
        *,
        clock: Callable[[], float] = time.time,
        move: MoveItems | None = None,
    ) -> None:
        self.inner, self.clock, self.move = inner, clock, move
        self.backend, self.creates_revealed = inner.backend, inner.creates_revealed
        self._items: dict[tuple[str | None, str], Item] = {}
        self._otps: dict[tuple[str | None, str], Secret] = {}  # OTP URIs this step wrote
        self._lock = threading.Lock()

    # -- reads served from the step's items ----------------------------------------------------
    def read(self, ref: str | SecretReference) -> Secret:
        """The value ``ref`` points at, from the item as this step read it.

        ``?attribute=otp`` gives the current code.
        """
        parsed = parse_reference(ref) if isinstance(ref, str) else ref
        item = self._revealed(parsed.vault, parsed.item)
        fld = field_in(item, parsed)
        label = str(item.reference(fld, parsed.attribute))
        if parsed.wants_otp:
            return Secret(self._code(item, self.clock()).reveal(), label=label)
        value = fld.value.reveal() if isinstance(fld.value, Secret) else fld.value
        return Secret(value or "", label=label)

    def otp_code(self, vault: str | None, item: str, *, at: float | None = None) -> Secret:
        """The item's code at ``at`` (now), from its OTP field as this step read or wrote it."""
        when = self.clock() if at is None else at
        written = self._written_otp(vault, item)
        if written is not None:
            return totp_code(parse_otpauth_uri(written), when)
        return self._code(self._revealed(vault, item), when)

    def get_item(self, vault: str | None, item: str, *, reveal: bool = False) -> Item:
        """One item; a revealed read of this step serves a concealed one too."""
        found = self._revealed(vault, item) if reveal else self._cached(vault, item)
        if found is None:
            return self.inner.get_item(vault, item, reveal=False)
        return found if reveal else found.concealed()

    # -- passed through ------------------------------------------------------------------------
    def vaults(self) -> Sequence[VaultInfo]:
        """Every vault (not cached)."""
        return self.inner.vaults()

    def resolve(self, ref: str | SecretReference) -> SecretReference:
        """The canonical form of ``ref`` (not cached)."""
        return self.inner.resolve(ref)

    def find_items(
        self,
        vault: str | None = None,
        *,
        title: str | None = None,
        tags: Sequence[str] = (),
        categories: Sequence[Category] = (),
    ) -> list[ItemSummary]:
        """Items matching the filters (not cached)."""
        return self.inner.find_items(vault, title=title, tags=tags, categories=categories)

    def public_key(self, vault: str | None, item: str) -> PublicKey:
        """The public half of an item's key pair (not cached)."""
        return self.inner.public_key(vault, item)

    def health(self) -> list[Health]:
        """The backend's checks."""
        return self.inner.health()

    # -- writes: through, and what was read is forgotten ---------------------------------------
    def create_item(self, vault: str, spec: ItemSpec, *, reveal: bool = False) -> Item:
        """Create an item; in a move, it is handed on revealed to the move's next steps.

        Only where the backend answers a create with the values: where that costs a read of
        its own (``op``), the next step may be a move away (a gate), and reading then is no
        dearer.
        """
        self._forget()
        if self.move is None or not self.creates_revealed:
            return self.inner.create_item(vault, spec, reveal=reveal)
        made = self.inner.create_item(vault, spec, reveal=True)
        self.move.keep(made, vault)
        return made if reveal else made.concealed()

    def edit_item(self, vault: str | None, item: str, edit: ItemEdit) -> Item:
        """Change an item."""
        self._forget()
        return self.inner.edit_item(vault, item, edit)

    def set_otp(self, vault: str | None, item: str, uri: str | Secret) -> Item:
        """Set an item's OTP field; a revealed read of it this step stays, with the new field.

        Only the OTP field changes, to the URI written here: the step's later codes come from
        that, not from another read, also where the step did not read the item before (an
        enrollment that knows its captured secret is new writes it without a look first).
        """
        before = self._cached(vault, item)
        self._forget()
        written = self.inner.set_otp(vault, item, uri)
        if before is not None:
            self._remember(vault, item, _with_otp(before, written, uri))
        else:
            text = uri.reveal() if isinstance(uri, Secret) else uri
            with self._lock:
                for key in ((vault, item), (written.vault.id, written.id)):
                    self._otps[key] = Secret(text, label="otpauth URI")
        return written

    # -- plumbing ------------------------------------------------------------------------------
    def _cached(self, vault: str | None, item: str) -> Item | None:
        with self._lock:
            return self._items.get((vault, item))

    def _written_otp(self, vault: str | None, item: str) -> Secret | None:
        with self._lock:
            return self._otps.get((vault, item))

    def _revealed(self, vault: str | None, item: str) -> Item:
        found = self._cached(vault, item)
        if found is None:
            handed = self.move.get(vault, item) if self.move is not None else None
            found = handed or self.inner.get_item(vault, item, reveal=True)
            self._remember(vault, item, found)
        return found

    def _remember(self, vault: str | None, item: str, found: Item) -> None:
        with self._lock:
            # Known by the names it was asked by and by its ids: the two forms a step uses.
            self._items[(vault, item)] = found
            self._items[(found.vault.id, found.id)] = found

    def _forget(self) -> None:
        with self._lock:
            self._items.clear()
            self._otps.clear()
        if self.move is not None:
            self.move.forget()

    @staticmethod
    def _code(item: Item, at: float) -> Secret:
        otp = next((f for f in item.fields if f.type is FieldType.OTP), None)
        if otp is None or not isinstance(otp.value, Secret):
            raise FieldNotFound(f"item {item.title!r} ({item.id}) has no one-time password field")
        return totp_code(parse_otpauth_uri(otp.value), at)


def _with_otp(before: Item, written: Item, uri: str | Secret) -> Item:
    """The item after its OTP field was set, with the values the step had read revealed.

    Fields and versions come from ``written``; values from ``before``, and the OTP field's from
    the URI just written.
    """
    text = uri.reveal() if isinstance(uri, Secret) else uri
    values = {f.id: f.value for f in before.fields}
    fields = tuple(
        dataclasses.replace(f, value=Secret(text, label=f.label))
        if f.type is FieldType.OTP
        else dataclasses.replace(f, value=values.get(f.id, f.value))
        for f in written.fields
    )
    return dataclasses.replace(written, fields=fields)
