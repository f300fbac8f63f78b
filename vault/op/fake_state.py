"""The fake op's "server": 1Password's state in a JSON file, sign-in, and op's lookup errors.

The state file holds vaults and items in op's item JSON shape, values included (it plays
1Password's servers). One op call holds an exclusive ``fcntl`` lock on ``<state>.lock`` from
start to end, and the state is replaced atomically, so concurrent calls are safe.
See ``vault.op.fake`` for which behaviour is documented and which is assumed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vaultborn.vault.items import new_id
from vaultborn.vault.model import Item, VaultInfo

__all__ = ["NOT_SIGNED_IN", "OpFailure", "Session", "Store", "sign_in"]

NOT_SIGNED_IN = "You are not currently signed in. Please run `op signin --help` for instructions"
# §1.8: a service account cannot see these vaults.
_HIDDEN_FROM_SERVICE_ACCOUNTS = {"private", "personal", "employee", "shared"}


class OpFailure(Exception):
    """An op failure: one ``[ERROR]`` line (plus ``detail`` lines) on stderr, exit status 1."""

    def __init__(self, message: str, detail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.detail = tuple(detail)

    def prefixed(self, prefix: str) -> OpFailure:
        """The same failure, reported inside a larger operation."""
        return OpFailure(prefix + self.message, self.detail)


@dataclass(frozen=True)
class Session:
    """Who is signed in: ``SERVICE_ACCOUNT`` (a token) or ``HUMAN`` (the desktop app)."""

    user_type: str


def sign_in(env: Mapping[str, str], account: str | None) -> Session:
    """The session the environment gives, or the failure op reports (§1.1 table, §1.8)."""
    token = env.get("OP_SERVICE_ACCOUNT_TOKEN")
    if token:
        if "OP_SERVICE_ACCOUNT_TOKEN=" in token:
            raise OpFailure("error initializing client: unrecognized auth type")
        if not token.startswith("ops_"):
            raise OpFailure(
                "error initializing client: Validation: (failed to session.DecodeSACredentials), "
                "failed to DecodeSACredentials: illegal base64 data at input byte 12"
            )
        return Session("SERVICE_ACCOUNT")
    if env.get("FAKE_OP_SIGNED_OUT"):
        raise OpFailure("error initializing client: " + NOT_SIGNED_IN)
    wanted = account or env.get("OP_ACCOUNT")
    known = {a.strip() for a in env.get("FAKE_OP_ACCOUNTS", "my").split(",")}
    if wanted and wanted not in known:
        raise OpFailure(f'error initializing client: found no accounts for filter "{wanted}"')
    return Session("HUMAN")


@dataclass
class Store:
    """The state of one call: vaults and items as models, the fake's counters as a dict."""

    all_vaults: list[VaultInfo]
    items: list[Item]
    fake: dict[str, Any] = field(default_factory=dict)
    session: Session = Session("HUMAN")
    dirty: bool = False

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path, env: Mapping[str, str]) -> Iterator[Store]:
        """Lock, load (creating the vaults of ``FAKE_OP_VAULTS``), yield, save if changed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                store = cls(
                    [VaultInfo(v["id"], v["name"]) for v in data["vaults"]],
                    [Item.from_json(i) for i in data["items"]],
                    data.get("fake", {}),
                )
            else:
                names = env.get("FAKE_OP_VAULTS") or "Private"
                vaults = [VaultInfo(new_id(), n.strip()) for n in names.split(",") if n.strip()]
                store = cls(vaults, [], dirty=True)
            try:
                yield store
            finally:
                if store.dirty:
                    store._save(path)

    def _save(self, path: Path) -> None:
        data = {
            "vaults": [{"id": v.id, "name": v.name} for v in self.all_vaults],
            "items": [i.to_json(reveal=True) for i in self.items],
            "fake": self.fake,
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    # -- what the signed-in account sees --------------------------------------------------------
    @property
    def vaults(self) -> list[VaultInfo]:
        """The vaults this session can see."""
        if self.session.user_type != "SERVICE_ACCOUNT":
            return list(self.all_vaults)
        return [v for v in self.all_vaults if v.name.lower() not in _HIDDEN_FROM_SERVICE_ACCOUNTS]

    def items_in(self, vault: VaultInfo | None) -> list[Item]:
        """Items of ``vault``, or of every visible vault."""
        visible = {v.id for v in ([vault] if vault else self.vaults)}
        return [i for i in self.items if i.vault.id in visible]

    def put(self, item: Item) -> None:
        """Store a new or changed item."""
        self.items = [i for i in self.items if i.id != item.id] + [item]
        self.dirty = True

    def find_vault(self, name: str) -> VaultInfo:
        """A vault by id or case-insensitive name, with op's errors."""
        hits = [v for v in self.vaults if v.id == name] or [
            v for v in self.vaults if v.name.casefold() == name.casefold()
        ]
        if not hits:
            raise OpFailure(
                f'"{name}" isn\'t a vault in this account. Specify the vault with its ID or name.'
            )
        if len(hits) > 1:
            raise OpFailure(
                f'More than one vault matches "{name}". Try again and specify the vault by its ID:',
                [f'\t* for the vault "{v.name}": {v.id}' for v in hits],
            )
        return hits[0]

    def find_item(self, name: str, vault: VaultInfo | None, vault_given: str = "") -> Item:
        """An item by id or case-insensitive title (in ``vault`` if given), with op's errors."""
        items = self.items_in(vault)
        hits = [i for i in items if i.id == name] or [
            i for i in items if i.title.casefold() == name.casefold()
        ]
        if not hits:
            where = f' in the "{vault_given}" vault' if vault else ""
            raise OpFailure(
                f'"{name}" isn\'t an item{where}. Specify the item with its UUID, name, or domain.'
            )
        if len(hits) > 1:
            raise OpFailure(
                f'More than one item matches "{name}". Try again and specify the item by its ID:',
                [f'\t* for the item "{i.title}" in vault {i.vault.name}: {i.id}' for i in hits],
            )
        return hits[0]
