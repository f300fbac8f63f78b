"""``StepVault``: one step reads an item once, and an OTP field it sets is not read back."""

from __future__ import annotations

from pathlib import Path

from tests.vault_counting import Counting
from vaultborn.nodes.step_vault import MoveItems, StepVault
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.otp import parse_otpauth_uri, totp_code
from vaultborn.vault.recipe import parse_recipe

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


def _created_in_a_move(tmp_path: Path) -> tuple[Counting, MoveItems, str]:
    """A step of a move creates a login item with a generated password."""
    counting = Counting(LocalVault(tmp_path / "home"))
    move = MoveItems()
    spec = ItemSpec(title="bg", category=Category.LOGIN, generate_password=parse_recipe("20"))
    made = StepVault(counting, move=move).create_item("ACL", spec)  # type: ignore[arg-type]
    assert made.concealed() == made  # the step that created it gets it concealed, as ever
    return counting, move, made.id


def test_the_next_step_of_the_move_gets_the_password_the_creation_answered(
    tmp_path: Path,
) -> None:
    counting, move, item_id = _created_in_a_move(tmp_path)
    next_step = StepVault(counting, move=move)  # type: ignore[arg-type]

    by_title = next_step.read("op://ACL/bg/password")
    by_id = next_step.read(f"op://ACL/{item_id}/password")

    assert counting.calls == {"create_item": 1}  # no read back
    stored = counting.inner.read("op://ACL/bg/password")
    assert by_title.reveal() == by_id.reveal() == stored.reveal()


def test_a_write_in_the_move_or_a_new_move_reads_the_vault_again(tmp_path: Path) -> None:
    counting, move, item_id = _created_in_a_move(tmp_path)
    StepVault(counting, move=move).set_otp("ACL", item_id, URI)  # type: ignore[arg-type]
    StepVault(counting, move=move).read("op://ACL/bg/password")  # type: ignore[arg-type]
    assert counting.calls == {"create_item": 1, "set_otp": 1, "get_item": 1}

    counting, _, _ = _created_in_a_move(tmp_path / "other")
    StepVault(counting, move=MoveItems()).read("op://ACL/bg/password")  # type: ignore[arg-type]
    StepVault(counting).read("op://ACL/bg/password")  # type: ignore[arg-type]
    assert counting.calls == {"create_item": 1, "get_item": 2}


def test_a_backend_whose_create_answer_has_no_values_is_not_asked_to_reveal(
    tmp_path: Path,
) -> None:
    """On op a revealed create reads the item back: not worth it where a gate may come first."""
    counting = Counting(LocalVault(tmp_path / "home"))
    counting.creates_revealed = False  # as OpVault says of itself
    move = MoveItems()
    spec = ItemSpec(title="bg", category=Category.LOGIN, generate_password=parse_recipe("20"))
    StepVault(counting, move=move).create_item("ACL", spec)  # type: ignore[arg-type]

    assert move.get("ACL", "bg") is None
    StepVault(counting, move=move).read("op://ACL/bg/password")  # type: ignore[arg-type]
    assert counting.calls == {"create_item": 1, "get_item": 1}
