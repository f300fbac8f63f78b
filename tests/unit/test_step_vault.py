"""``StepVault``: one step reads an item once, and an OTP field it sets is not read back."""

from __future__ import annotations

from pathlib import Path

from tests.vault_counting import Counting
from vaultborn.nodes.step_vault import StepVault
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.otp import parse_otpauth_uri, totp_code

URI = "otpauth://totp/ACL:ana?secret=JBSWY3DPEHPK3PXP&issuer=ACL"


def test_a_step_sets_an_otp_field_and_codes_come_without_another_read(tmp_path: Path) -> None:
    raw = LocalVault(tmp_path / "home")
    fields = (parse_assignment("password=kept"),)
    made = raw.create_item("ACL", ItemSpec(title="k", category=Category.LOGIN, assignments=fields))
    counting = Counting(raw)
    step = StepVault(counting, clock=lambda: 1_000_000.0)  # type: ignore[arg-type]

    assert step.get_item("ACL", made.id, reveal=True).otp_field is None  # one read …
    step.set_otp("ACL", made.id, URI)
    code = step.otp_code("ACL", made.id)  # … and the code from what was written
    password = step.read(f"op://ACL/{made.id}/password")

    assert counting.calls == {"get_item": 1, "set_otp": 1}
    assert code.reveal() == totp_code(parse_otpauth_uri(URI), 1_000_000.0).reveal()
    assert password.reveal() == "kept"
    assert raw.otp_code("ACL", made.id, at=1_000_000.0).reveal() == code.reveal()


def test_a_write_of_another_kind_forgets_what_the_step_read(tmp_path: Path) -> None:
    raw = LocalVault(tmp_path / "home")
    fields = (parse_assignment("password=kept"),)
    made = raw.create_item("ACL", ItemSpec(title="k", category=Category.LOGIN, assignments=fields))
    counting = Counting(raw)
    step = StepVault(counting, clock=lambda: 1_000_000.0)  # type: ignore[arg-type]

    step.set_otp("ACL", made.id, URI)  # nothing read before: the URI written is remembered
    step.otp_code("ACL", made.id)
    assert counting.calls == {"set_otp": 1}

    step.edit_item("ACL", made.id, ItemEdit(assignments=(parse_assignment("note=x"),)))
    code = step.otp_code("ACL", made.id)  # read again: the item changed since
    assert counting.calls == {"set_otp": 1, "edit_item": 1, "get_item": 1}
    assert code.reveal() == totp_code(parse_otpauth_uri(URI), 1_000_000.0).reveal()
