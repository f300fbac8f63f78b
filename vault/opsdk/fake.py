"""A fake 1Password service behind the SDK's documented client interface, for tests and bench.

The real SDK needs 1Password's servers, which cannot be reached here; its client is faked at
its Python interface (``vault.opsdk.client.SdkClient``: ``secrets.resolve_all``,
``secrets.generate_password``, ``items.create/get/get_all/put/list``, ``vaults.list``), taking
and returning the SDK's own pydantic models (``onepassword.Item``, ``ItemCreateParams`` …), so
the backend is checked against the real types. Two parts are the real SDK itself, because its
native core runs them offline: reference parsing (``fake_resolve``) and password generation.

Documented behaviour (credentials.md §1.9): ids everywhere but in references; an item's
version moves on every ``put``; a ``put`` carrying an older version is refused (HTTP 409, as
for op); TOTP fields report their current code in ``details.content.code``. Assumed (the
wording of errors the SDK raises as plain exceptions): ``vault not found``, ``item not
found``, ``(409) Conflict …`` and an invalid one-time password seed; the token texts are the
real SDK's (see ``vault.opsdk.errors``).

Test controls: ``fail(method, exc, times)`` raises ``exc`` from the next calls of ``method``
(``"items.get"`` …); ``calls`` counts calls by method; ``path`` keeps the state in a JSON
file so several processes share it (``VAULTBORN_TEST_OP_SDK_FAKE``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vaultborn.vault.items import new_id
from vaultborn.vault.opsdk.client import Connect, SdkClient
from vaultborn.vault.opsdk.fake_resolve import Unresolved, resolve
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.secret import Secret

__all__ = ["FakeOnePassword"]


def _now_text(now: float) -> str:
    return _stamp(datetime.fromtimestamp(now, UTC))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeOnePassword:
    """1Password's service as a service account sees it through the SDK.

    Args:
        vaults: Titles of the vaults the service account can see.
        path: A JSON file holding the state (shared by processes); None keeps it in memory.
        clock: Unix time now (for TOTP codes and timestamps).
    """

    def __init__(self, vaults: Sequence[str] = ("ACL",), *, path: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.path = path
        self.clock = clock
        self.calls: Counter[str] = Counter()
        self._failures: dict[str, list[BaseException]] = {}
        self._vaults: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            self._load()
        if not self._vaults:
            self._vaults = {new_id(): {"title": t, "items": {}} for t in vaults}
            self._save()

    # -- test controls --------------------------------------------------------------------
    def fail(self, method: str, exc: BaseException, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` raise ``exc``."""
        self._failures.setdefault(method, []).extend([exc] * times)

    def connect(self, token: Secret) -> Connect:
        """``Client.authenticate`` with ``token``, checked as the SDK checks it offline."""

        async def authenticate() -> SdkClient:
            self._enter("authenticate")
            text = token.reveal()
            if not text:
                # The SDK raises plain exceptions, with these texts.
                raise Exception(
                    "invalid user input: encountered the following errors: service account "
                    "token was not specified"
                )
            if not text.startswith("ops_"):
                raise Exception(
                    "invalid user input: encountered the following errors: service account "
                    "token had invalid format"
                )
            return _Client(self)

        return authenticate

    # -- state ----------------------------------------------------------------------------
    def _enter(self, method: str) -> None:
        self.calls[method] += 1
        if self.path is not None:
            self._load()
        pending = self._failures.get(method)
        if pending:
            raise pending.pop(0)

    def _load(self) -> None:
        from onepassword import Item

        if self.path is None or not self.path.exists():
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._vaults = {
            vid: {"title": v["title"],
                  "items": {i["id"]: Item.model_validate(i) for i in v["items"]}}
            for vid, v in data.items()
        }  # fmt: skip

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            vid: {"title": v["title"],
                  "items": [i.model_dump(mode="json", by_alias=True) for i in v["items"].values()]}
            for vid, v in self._vaults.items()
        }  # fmt: skip
        self.path.write_text(json.dumps(data), encoding="utf-8")
        self.path.chmod(0o600)

    def _vault(self, vault_id: str) -> dict[str, Any]:
        if vault_id not in self._vaults:
            raise Exception(f"vault not found: {vault_id}")
        return self._vaults[vault_id]

    def _item(self, vault_id: str, item_id: str) -> Any:
        items = self._vault(vault_id)["items"]
        if item_id not in items:
            raise Exception(f"item not found: {item_id}")
        return items[item_id]

    def _shown(self, item: Any) -> Any:
        """The item as the service returns it: TOTP fields with their current code."""
        from onepassword import ItemFieldDetailsOtp, OtpFieldDetails

        fields = []
        for fld in item.fields:
            if getattr(fld.field_type, "value", "") == "Totp":
                try:
                    code = totp_code(parse_otpauth_uri(fld.value), self.clock()).reveal()
                    details = OtpFieldDetails(code=code)
                except Exception as exc:  # a seed no code can be computed from
                    details = OtpFieldDetails(error_message=type(exc).__name__)
                fld = fld.model_copy(update={"details": ItemFieldDetailsOtp(content=details)})
            fields.append(fld)
        return item.model_copy(update={"fields": fields})

    def _stored(self, item: Any) -> Any:
        for fld in item.fields:
            if getattr(fld.field_type, "value", "") == "Totp":
                try:
                    parse_otpauth_uri(fld.value)
                except Exception:
                    raise Exception(
                        f"invalid item: field {fld.title!r} is not a valid one-time password"
                    ) from None
        return item.model_copy(update={"fields": [f.model_copy(update={"details": None})
                                                  for f in item.fields]})  # fmt: skip


class _Client:
    def __init__(self, service: FakeOnePassword) -> None:
        self.secrets = _Secrets(service)
        self.items = _Items(service)
        self.vaults = _Vaults(service)


class _Secrets:
    def __init__(self, service: FakeOnePassword) -> None:
        self._s = service

    async def resolve_all(self, secret_references: Sequence[str]) -> Any:
        from onepassword import ResolveAllResponse

        self._s._enter("secrets.resolve_all")
        answers: dict[str, Any] = {}
        for ref in secret_references:
            try:
                secret, item_id, vault_id = resolve(ref, self._s._vaults, self._s.clock())
                answers[ref] = {"content": {"secret": secret, "itemId": item_id,
                                            "vaultId": vault_id}}  # fmt: skip
            except Unresolved as exc:
                error = {"type": exc.kind, **({"message": exc.message} if exc.message else {})}
                answers[ref] = {"error": error}
        return ResolveAllResponse.model_validate({"individualResponses": answers})

    def generate_password(self, recipe: Any) -> Any:
        from onepassword import Secrets

        self._s.calls["secrets.generate_password"] += 1
        return Secrets.generate_password(recipe)


class _Items:
    def __init__(self, service: FakeOnePassword) -> None:
        self._s = service

    async def create(self, params: Any) -> Any:
        from onepassword import Item

        s = self._s
        s._enter("items.create")
        vault = s._vault(params.vault_id)
        stamp = _now_text(s.clock())
        item = s._stored(
            Item(
                id=new_id(), title=params.title, category=params.category,
                vault_id=params.vault_id, fields=list(params.fields or ()),
                sections=list(params.sections or ()), notes=params.notes or "",
                tags=list(params.tags or ()), websites=list(params.websites or ()), version=1,
                files=[], created_at=stamp, updated_at=stamp,
            )
        )  # fmt: skip
        vault["items"][item.id] = item
        s._save()
        return s._shown(item)

    async def get(self, vault_id: str, item_id: str) -> Any:
        self._s._enter("items.get")
        return self._s._shown(self._s._item(vault_id, item_id))

    async def get_all(self, vault_id: str, item_ids: Sequence[str]) -> Any:
        from onepassword import ItemsGetAllResponse

        s = self._s
        s._enter("items.get_all")
        items = s._vault(vault_id)["items"]
        answers = [
            {"content": s._shown(items[i]).model_dump(by_alias=True)}
            if i in items
            else {"error": {"type": "itemNotFound"}}
            for i in item_ids
        ]
        return ItemsGetAllResponse.model_validate({"individualResponses": answers})

    async def put(self, item: Any) -> Any:
        s = self._s
        s._enter("items.put")
        current = s._item(item.vault_id, item.id)
        if item.version != current.version:
            raise Exception(
                f"(409) Conflict: item {item.id} is at version {current.version}, "
                f"not {item.version}"
            )
        stored = s._stored(
            item.model_copy(update={"version": current.version + 1,
                                    "updated_at": datetime.fromtimestamp(s.clock(), UTC)
                                    .replace(tzinfo=None)})
        )  # fmt: skip
        s._vault(item.vault_id)["items"][item.id] = stored
        s._save()
        return s._shown(stored)

    async def list(self, vault_id: str, *filters: Any) -> Sequence[Any]:
        from onepassword import ItemOverview

        self._s._enter("items.list")
        return [
            ItemOverview(
                id=i.id, title=i.title, category=i.category, vault_id=i.vault_id,
                websites=i.websites, tags=i.tags, created_at=_stamp(i.created_at),
                updated_at=_stamp(i.updated_at), state="active",
            )
            for i in self._s._vault(vault_id)["items"].values()
        ]  # fmt: skip


class _Vaults:
    def __init__(self, service: FakeOnePassword) -> None:
        self._s = service

    async def list(self, params: Any = None) -> Sequence[Any]:
        from onepassword import VaultOverview

        self._s._enter("vaults.list")
        stamp = _now_text(0)
        return [
            VaultOverview(
                id=vid, title=v["title"], description="", vault_type="userCreated",
                active_item_count=len(v["items"]), content_version=1, attribute_version=1,
                created_at=stamp, updated_at=stamp,
            )
            for vid, v in self._s._vaults.items()
        ]  # fmt: skip
