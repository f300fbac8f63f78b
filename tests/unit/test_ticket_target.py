"""A new ticket's secret is written without a look first, once, and confirmed without a read."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from tests.vault_counting import Counting
from vaultborn.browser.capture import CapturedTotp
from vaultborn.idp.auth0 import Auth0ManagementClient
from vaultborn.idp.errors import IdPForbidden, IdPNotFound
from vaultborn.nodes.enrollment import _remove_pending
from vaultborn.nodes.step_vault import StepVault
from vaultborn.nodes.ticket_target import NewTicketTarget
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.otp import OtpParameters, totp_code
from vaultborn.vault.secret import Secret

SEED = "JBSWY3DPEHPK3PXP"
OTHER = "KRSXG5CTMVRXEZLU"


def _captured(seed: str) -> CapturedTotp:
    return CapturedTotp(OtpParameters(seed=Secret(seed), issuer="ACL", account="a"), "manual")


def test_a_new_tickets_secret_is_written_once_and_codes_need_no_read(tmp_path: Path) -> None:
    raw = LocalVault(tmp_path / "home")
    fields = (parse_assignment("password=kept"),)
    made = raw.create_item("ACL", ItemSpec(title="k", category=Category.LOGIN, assignments=fields))
    counting = Counting(raw)
    step = StepVault(counting, clock=lambda: 1_000_000.0)  # type: ignore[arg-type]
    stored: list[int] = []
    target = NewTicketTarget(step, "ACL", "k", on_stored=lambda: stored.append(1))

    target.store(_captured(SEED))
    code = target.code(1_000_000.0)
    target.store(_captured(SEED))  # the same ticket shown again (a flow run again)

    assert counting.calls == {"set_otp": 1}
    assert stored == [1, 1]
    assert code.reveal() == raw.otp_code("ACL", made.id, at=1_000_000.0).reveal()
    assert code.reveal() == totp_code(_captured(SEED).params, 1_000_000.0).reveal()

    target.store(_captured(OTHER))  # another secret is written
    assert counting.calls == {"set_otp": 2}
    other = totp_code(_captured(OTHER).params, 1_000_000.0).reveal()
    assert raw.otp_code("ACL", made.id, at=1_000_000.0).reveal() == other


class Management:
    """A management client whose deletions of the ids in ``refused`` are forbidden."""

    def __init__(self, refused: set[str], gone: frozenset[str] = frozenset()) -> None:
        self.refused, self.gone, self.deleted = refused, gone, list[str]()

    def delete_authentication_method(self, user_id: str, method_id: str) -> None:
        if method_id in self.refused:
            raise IdPForbidden("Insufficient scope", status=403)
        if method_id in self.gone:
            raise IdPNotFound("gone", status=404)
        self.deleted.append(method_id)


METHODS = [
    {"id": "totp|a", "type": "totp", "confirmed": False},
    {"id": "totp|b", "type": "totp", "confirmed": False},
    {"id": "email|c", "type": "email", "confirmed": False},
]


def test_a_ticket_is_new_only_when_no_pending_authenticator_is_left() -> None:
    removed = Management(set(), gone=frozenset({"totp|b"}))
    assert _remove_pending(cast(Auth0ManagementClient, removed), "u", METHODS) == 0
    assert removed.deleted == ["totp|a"]

    kept = Management({"totp|b"})
    assert _remove_pending(cast(Auth0ManagementClient, kept), "u", METHODS) == 1

    nameless = [{"type": "totp", "confirmed": False}]
    assert _remove_pending(cast(Auth0ManagementClient, Management(set())), "u", nameless) == 1
