from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.errors import AmbiguousReference, FieldNotFound, ItemNotFound, VaultNotFound
from vaultborn.vault.items import ItemSpec, new_item
from vaultborn.vault.model import Category, Item, ItemSummary, VaultInfo
from vaultborn.vault.reference import parse_reference
from vaultborn.vault.resolve import loose_name, resolve_reference

ACL = VaultInfo("a" * 26, "ACL")
OPS = VaultInfo("b" * 26, "Ops")


@dataclass
class Catalog:
    items: list[Item] = field(default_factory=list)

    def vaults(self) -> Sequence[VaultInfo]:
        return [ACL, OPS]

    def item_summaries(self, vault: VaultInfo) -> Sequence[ItemSummary]:
        return [i for i in self.items if i.vault == vault]

    def item_metadata(self, vault: VaultInfo, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id).concealed()


def _item(title: str, vault: VaultInfo = ACL, *assignments: str) -> Item:
    spec = ItemSpec(
        title=title,
        category=Category.API_CREDENTIAL,
        assignments=tuple(parse_assignment(a) for a in ("credential=x", *assignments)),
    )
    return new_item(spec, vault)


def test_em_dash_title_resolves_to_ids() -> None:
    m2m = _item("Auth0 M2M — my-agent")
    canonical, item = resolve_reference(
        parse_reference("op://acl/Auth0 M2M — my-agent/credential"), Catalog([m2m])
    )
    assert item.id == m2m.id
    assert str(canonical) == f"op://{ACL.id}/{m2m.id}/credential"


@pytest.mark.parametrize(
    "typed", ["auth0 m2m - my-agent", "Auth0  M2M – my-agent", "AUTH0 M2M — MY-AGENT"]
)
def test_loose_names_match_when_unambiguous(typed: str) -> None:
    m2m = _item("Auth0 M2M — my-agent")
    canonical, _ = resolve_reference(
        parse_reference(f"op://ACL/{typed}/credential"), Catalog([m2m])
    )
    assert canonical.item == m2m.id


def test_an_exact_name_beats_a_loose_one() -> None:
    dash, hyphen = _item("a — b"), _item("a - b")
    canonical, _ = resolve_reference(
        parse_reference("op://ACL/a - b/credential"), Catalog([dash, hyphen])
    )
    assert canonical.item == hyphen.id


def test_ambiguity_lists_candidate_ids() -> None:
    one, two = _item("GitHub"), _item("github")
    with pytest.raises(AmbiguousReference) as err:
        resolve_reference(parse_reference("op://ACL/GITHUB/credential"), Catalog([one, two]))
    assert set(err.value.candidates) == {one.id, two.id}
    assert one.id in str(err.value) and two.id in str(err.value)


def test_ids_always_win() -> None:
    item = _item("x")
    canonical, _ = resolve_reference(
        parse_reference(f"op://{ACL.id}/{item.id}/credential"), Catalog([item])
    )
    assert canonical.item == item.id


def test_sections_and_otp_fields() -> None:
    item = _item(
        "svc",
        ACL,
        "ops.token[text]=t",
        "one-time password[otp]=otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP",
    )
    cat = Catalog([item])
    canonical, _ = resolve_reference(parse_reference("op://ACL/svc/OPS/token"), cat)
    assert canonical.section == item.sections[0].id
    otp, _ = resolve_reference(parse_reference("op://ACL/svc/one-time password?attribute=otp"), cat)
    assert otp.field.startswith("TOTP_") and otp.wants_otp
    with pytest.raises(FieldNotFound, match="not a one-time password field"):
        resolve_reference(parse_reference("op://ACL/svc/credential?attribute=otp"), cat)


@pytest.mark.parametrize(
    ("ref", "error"),
    [
        ("op://Nope/x/credential", VaultNotFound),
        ("op://ACL/nope/credential", ItemNotFound),
        ("op://ACL/x/nope", FieldNotFound),
        ("op://ACL/x/nosection/credential", FieldNotFound),
        ("op://Ops/x/credential", ItemNotFound),
    ],
)
def test_not_found(ref: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve_reference(parse_reference(ref), Catalog([_item("x")]))


def test_loose_name() -> None:
    assert loose_name(" Auth0\u00a0M2M \u2014 My-Agent ") == "auth0 m2m - my-agent"
