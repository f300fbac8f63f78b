"""The embedded local vault: encryption at rest, key handling, permissions, concurrency."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import sqlite3
import stat
import string
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pyotp
import pytest

from vaultborn.core.errors import ConfigurationError, UsageError
from vaultborn.vault.assignment import Assignment, parse_assignment
from vaultborn.vault.errors import AmbiguousReference, VaultError, VaultLocked
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category, FieldType, Item, VaultInfo
from vaultborn.vault.recipe import SYMBOLS, parse_recipe
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("at rest: local vault")

TITLE = "Auth0 — admin@example.com"
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
URI = f"otpauth://totp/Auth0:admin@example.com?secret={SEED}&issuer=Auth0"


@pytest.fixture
def vault(home: Path) -> Iterator[LocalVault]:
    with LocalVault(home, clock=lambda: 59.0) as local:
        yield local


def _login(vault: LocalVault, title: str = TITLE, *extra: str) -> Item:
    spec = ItemSpec(
        title=title,
        category=Category.LOGIN,
        tags=("vaultborn", "break-glass"),
        assignments=tuple(parse_assignment(a) for a in ("username=admin@example.com", *extra)),
        generate_password=parse_recipe("letters,digits,symbols,32"),
    )
    return vault.create_item("ACL", spec)


def _sql(db: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(home: Path) -> list[Path]:
    return sorted(p for p in home.rglob("*") if p.is_file())


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    return text


# -- creating and reading -----------------------------------------------------------------------
def test_generated_password_reads_back_by_name_and_by_canonical_reference(
    vault: LocalVault,
) -> None:
    item = _login(vault)
    assert item.version == 1 and item.vault.name == "ACL" and len(item.id) == 26
    assert item.field_named("password").value is None, "create returns the item concealed"
    password = vault.read(f"op://ACL/{TITLE}/password")
    assert len(password) == 32
    assert set(password.reveal()) <= set(string.ascii_letters + string.digits + SYMBOLS)
    canonical = vault.resolve(f"op://ACL/{TITLE}/password")
    assert (canonical.vault, canonical.item, canonical.field) == (
        item.vault.id,
        item.id,
        "password",
    )
    assert vault.read(canonical) == password
    assert vault.read(f"op://ACL/{item.id}/username").reveal() == "admin@example.com"


def test_otp_reference_uses_the_injected_clock(vault: LocalVault) -> None:
    item = _login(vault)
    vault.set_otp("ACL", item.id, URI)
    code = vault.read(f"op://ACL/{TITLE}/one-time password?attribute=otp")
    assert isinstance(code, Secret) and code.reveal() == pyotp.TOTP(SEED).at(59)
    assert vault.otp_code("ACL", item.id, at=1111111109).reveal() == "081804"


def test_create_item_creates_its_vault_once_and_rolls_back_bad_input(vault: LocalVault) -> None:
    with pytest.raises(UsageError, match="Login and Password"):
        vault.create_item(
            "Ops",
            ItemSpec(
                title="api", category=Category.API_CREDENTIAL, generate_password=parse_recipe("9")
            ),
        )
    assert list(vault.vaults()) == [], "a failed create leaves no vault behind"
    first = vault.create_item("Ops", ItemSpec(title="one", category=Category.SECURE_NOTE))
    second = vault.create_item("ops", ItemSpec(title="two", category=Category.SECURE_NOTE))
    assert first.vault == second.vault and [v.name for v in vault.vaults()] == ["Ops"]
    assert vault.create_vault("OPS") == first.vault


def test_ambiguous_vault_names_raise(vault: LocalVault) -> None:
    acl = vault.create_vault("ACL")
    _sql(vault.db_path, "INSERT INTO vaults VALUES (?, 'acl', 'now')", "b" * 26)
    with pytest.raises(AmbiguousReference) as err:
        vault.create_item("Acl", ItemSpec(title="x", category=Category.SECURE_NOTE))
    assert set(err.value.candidates) == {acl.id, "b" * 26}
    assert vault.create_vault(acl.id) == acl


def test_close_releases_and_a_later_call_reopens(home: Path) -> None:
    with LocalVault(home) as local:
        _login(local)
    assert [s.title for s in local.find_items("ACL")] == [TITLE]
    local.close()


# -- nothing in plaintext at rest ---------------------------------------------------------------
def test_no_title_tag_label_or_value_reaches_the_disk(vault: LocalVault) -> None:
    mark = secrets.token_hex(8)
    seed = base64.b32encode(secrets.token_bytes(20)).decode()
    canaries = {
        "title": f"TITLE-{mark}",
        "tag": f"TAG-{mark}",
        "label": f"LABEL-{mark}",
        "concealed": f"CANARY-{mark}",
        "username": f"user-{mark}@example.com",
        "seed": seed,
    }
    spec = ItemSpec(
        title=canaries["title"],
        tags=(canaries["tag"],),
        assignments=(
            parse_assignment(f"username={canaries['username']}"),
            parse_assignment(f"{canaries['label']}={canaries['concealed']}"),
        ),
        generate_password=parse_recipe("letters,digits,symbols,32"),
    )
    item = vault.create_item("ACL", spec)
    vault.set_otp("ACL", item.id, f"otpauth://totp/Canary:x?secret={seed}&issuer=Canary")
    vault.edit_item("ACL", item.id, ItemEdit(title=canaries["title"] + "-renamed"))
    canaries["password"] = vault.read(f"op://ACL/{item.id}/password").reveal()
    assert vault.read(f"op://ACL/{item.id}/{canaries['label']}").reveal() == canaries["concealed"]
    assert vault.db_path.exists() and vault.key_path.exists()

    def scan() -> list[str]:
        found = []
        for path in _files(vault.home):
            data = path.read_bytes()
            for name, canary in canaries.items():
                if canary.encode() in data or canary.lower().encode() in data:
                    found.append(f"{name} in {path.name}")
        return found

    assert scan() == []
    # Hold a write transaction open so the rollback journal exists, and scan it too.
    with closing(sqlite3.connect(vault.db_path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE items SET sealed = sealed || x'00'")
        assert (vault.home / "vault.db-journal").exists()
        assert scan() == []
        conn.rollback()
    journal_mode = _sql(vault.db_path, "PRAGMA journal_mode")[0][0]
    assert journal_mode == "delete", "WAL files would need their own scan"


@pytest.mark.parametrize("umask", [0o000, 0o277], ids=["umask-000", "umask-277"])
def test_files_and_directory_are_private_whatever_the_umask(home: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        with LocalVault(home) as local:
            _login(local)
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = _files(home)
    assert {p.name for p in files} == {"vault.db", "vault.key"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert len(base64.b64decode((home / "vault.key").read_text())) == 32


def test_a_loose_home_is_tightened_and_reported(home: Path) -> None:
    home.mkdir()
    os.chmod(home, 0o755)  # noqa: S103 (the loose mode under test)
    with LocalVault(home) as local:
        local.create_vault("ACL")
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        checks = {h.name: h for h in local.health()}
    assert checks["local vault home"].ok and "tightened" in checks["local vault home"].detail


# -- keys ---------------------------------------------------------------------------------------
def _env_key(material: bytes, *, urlsafe: bool = False, padded: bool = True) -> dict[str, str]:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(material).decode()
    return {
        "VAULTBORN_HOME": os.environ["VAULTBORN_HOME"],
        "VAULTBORN_VAULT_KEY": text if padded else text.rstrip("="),
    }


def test_env_key_in_any_base64_spelling_opens_the_same_vault(home: Path) -> None:
    material = bytes([0xFB, 0xFF]) * 16  # encodes to '+' and '/' (or '-' and '_') characters
    with LocalVault.from_env(_env_key(material)) as local:
        item = _login(local)
    assert not (home / "vault.key").exists(), "a given key writes no key file"
    for urlsafe, padded in ((True, True), (True, False), (False, False)):
        with LocalVault.from_env(_env_key(material, urlsafe=urlsafe, padded=padded)) as again:
            assert again.get_item("ACL", item.id).title == TITLE
    with LocalVault(home, key=material) as direct:
        assert direct.get_item("ACL", item.id).title == TITLE


@pytest.mark.parametrize(
    "text",
    [
        "not base64 at all!",
        base64.b64encode(b"k" * 31).decode(),
        base64.b64encode(b"k" * 33).decode(),
        "c2hvcnQ",
    ],
)
def test_a_bad_env_key_is_a_configuration_error_that_does_not_echo_it(text: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        LocalVault.from_env({"VAULTBORN_VAULT_KEY": text})
    message = _one_line(err.value)
    assert "VAULTBORN_VAULT_KEY" in message and text not in message


def test_a_key_of_the_wrong_length_is_refused_by_the_constructor(home: Path) -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        LocalVault(home, key=b"too short")


def test_a_wrong_key_is_refused_before_anything_is_read_or_written(home: Path) -> None:
    right, wrong = secrets.token_bytes(32), secrets.token_bytes(32)
    with LocalVault(home, key=right) as local:
        _login(local, TITLE, f"note=CANARY-{secrets.token_hex(4)}")
    before = {p.name: _digest(p) for p in _files(home)}
    locked = LocalVault(home, key=wrong)
    for call in (locked.vaults, lambda: locked.create_vault("Other"), lambda: _login(locked)):
        with pytest.raises(VaultLocked) as err:
            call()
        assert "does not open" in _one_line(err.value) and str(home / "vault.db") in str(err.value)
    assert {p.name: _digest(p) for p in _files(home)} == before
    home_check, key_check, database = locked.health()
    assert home_check.ok and key_check.ok and "the caller" in key_check.detail
    assert not database.ok and "does not open" in database.detail
    locked.close()


def test_an_existing_vault_without_its_key_file_stays_locked(home: Path) -> None:
    with LocalVault(home) as local:
        local.create_vault("ACL")
    (home / "vault.key").unlink()
    digest = _digest(home / "vault.db")
    with LocalVault(home) as again, pytest.raises(VaultLocked, match=r"vault\.key is missing"):
        again.vaults()
    assert not (home / "vault.key").exists(), "a fresh key could never open the vault"
    assert _digest(home / "vault.db") == digest


def test_a_file_that_is_not_a_database_is_a_one_line_vault_error(home: Path) -> None:
    with LocalVault(home) as local:
        local.create_vault("ACL")
    (home / "vault.db").write_bytes(b"this is not sqlite" * 100)
    with LocalVault(home) as again, pytest.raises(VaultError) as err:
        again.vaults()
    assert "not a database" in _one_line(err.value)
    assert (home / "vault.db").read_bytes() == b"this is not sqlite" * 100


# -- versions and concurrency -------------------------------------------------------------------
def test_versions_move_on_change_only_and_a_no_op_writes_nothing(vault: LocalVault) -> None:
    item = _login(vault)
    assert vault.set_otp("ACL", item.id, URI).version == 2
    digest = _digest(vault.db_path)
    assert vault.set_otp("ACL", item.id, URI).version == 2
    assert vault.edit_item("ACL", item.id, ItemEdit(tags=("vaultborn", "break-glass"))).version == 2
    assert _digest(vault.db_path) == digest, "a no-op edit must not write"
    assert vault.edit_item("ACL", item.id, ItemEdit(title="Renamed")).version == 3
    assert vault.get_item("ACL", "Renamed").version == 3
    assert _sql(vault.db_path, "SELECT version FROM items")[0][0] == 3


def test_an_edit_keeps_the_version_it_replaced_sealed(vault: LocalVault) -> None:
    item = _login(vault)
    first = vault.read(f"op://ACL/{item.id}/password")
    recipe = parse_recipe("letters,digits,symbols,32")
    assert vault.edit_item("ACL", item.id, ItemEdit(generate_password=recipe)).version == 2
    assert vault.read(f"op://ACL/{item.id}/password") != first
    [previous] = vault.history("ACL", item.id, reveal=True)
    assert previous.version == 1 and previous.field_named("password").value == first
    assert vault.history("ACL", item.id)[0].field_named("password").value != first  # concealed
    vault.edit_item("ACL", item.id, ItemEdit(title="Renamed"))
    assert [i.version for i in vault.history("ACL", item.id)] == [1, 2]
    assert first.reveal().encode() not in vault.db_path.read_bytes()  # sealed, as the item is


def _add_field(vault: LocalVault, item_id: str, label: str) -> Item:
    assignment = Assignment(label=label, value=label, type=FieldType.STRING)
    return vault.edit_item("ACL", item_id, ItemEdit(assignments=(assignment,)))


def test_two_instances_editing_one_item_concurrently_lose_no_update(home: Path) -> None:
    a, b = LocalVault(home), LocalVault(home)
    item = _login(a)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def work(vault: LocalVault, who: str) -> None:
        try:
            barrier.wait()
            for i in range(8):
                _add_field(vault, item.id, f"{who}{i}")
        except BaseException as exc:  # surfaced by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(v, w)) for v, w in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    a.close()
    b.close()
    assert failures == []
    with LocalVault(home) as fresh:
        final = fresh.get_item("ACL", item.id)
    labels = {f.label for f in final.fields}
    assert {f"{w}{i}" for w in "ab" for i in range(8)} <= labels
    assert final.version == 1 + 16


def test_an_edit_that_loses_the_race_is_reapplied(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = LocalVault(home), LocalVault(home)
    item = _login(a)
    real_get = LocalVault._get
    raced: list[bool] = []

    def get_then_race(self: LocalVault, vault: VaultInfo, item_id: str, *, reveal: bool) -> Item:
        got = real_get(self, vault, item_id, reveal=reveal)
        if self is a and reveal and not raced:
            raced.append(True)
            _add_field(b, item_id, "from-b")
        return got

    monkeypatch.setattr(LocalVault, "_get", get_then_race)
    assert _add_field(a, item.id, "from-a").version == 3
    final = b.get_item("ACL", item.id)
    assert raced and {"from-a", "from-b"} <= {f.label for f in final.fields}
    a.close()
    b.close()


# -- tampering ----------------------------------------------------------------------------------
def test_a_flipped_byte_is_a_vault_error_not_a_wrong_value(vault: LocalVault) -> None:
    item = _login(vault)
    sealed = _sql(vault.db_path, "SELECT sealed FROM items WHERE id = ?", item.id)[0][0]
    assert isinstance(sealed, bytes)
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 0x01
    _sql(vault.db_path, "UPDATE items SET sealed = ? WHERE id = ?", bytes(flipped), item.id)
    with pytest.raises(VaultError) as err:
        vault.read(f"op://ACL/{TITLE}/password")
    assert item.id in _one_line(err.value) and "altered" in str(err.value)
    database = vault.health()[2]
    assert not database.ok and "1 of 1" in database.detail


def test_a_row_copied_onto_another_id_or_version_is_refused(vault: LocalVault) -> None:
    one = _login(vault, "one")
    two = _login(vault, "two")
    _sql(
        vault.db_path,
        "UPDATE items SET sealed = (SELECT sealed FROM items WHERE id = ?) WHERE id = ?",
        one.id,
        two.id,
    )
    with pytest.raises(VaultError, match=f"item {two.id} .* does not open with the vault key"):
        vault.get_item("ACL", two.id)

    three = _login(vault, "three")
    old = _sql(vault.db_path, "SELECT sealed FROM items WHERE id = ?", three.id)[0][0]
    # One broken row fails every listing of its vault (closed); drop it to test the next case.
    _sql(vault.db_path, "DELETE FROM items WHERE id = ?", two.id)
    assert vault.edit_item("ACL", three.id, ItemEdit(title="three, renamed")).version == 2
    _sql(vault.db_path, "UPDATE items SET sealed = ? WHERE id = ?", old, three.id)
    with pytest.raises(VaultError, match=f"item {three.id} .* does not open with the vault key"):
        vault.read(f"op://ACL/{three.id}/password")


def test_finding_items_opens_only_the_rows_that_changed(
    vault: LocalVault, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vaultborn.vault.local.backend as backend

    items = [_login(vault, f"agent-{i:02}") for i in range(20)]
    opened: list[str] = []
    real = backend.unseal_item

    def counting(sealer, row, info, where):  # type: ignore[no-untyped-def]
        opened.append(row.id)
        return real(sealer, row, info, where)

    monkeypatch.setattr(backend, "unseal_item", counting)
    vault.find_items("ACL")
    assert len(opened) == 20  # a fresh look opens each row once
    opened.clear()

    for i in range(20):
        assert vault.get_item("ACL", f"agent-{i:02}").id == items[i].id
    assert opened == [item.id for item in items]  # the item itself, not the other 19 rows
    opened.clear()

    vault.edit_item("ACL", items[3].id, ItemEdit(title="agent-03, renamed"))
    opened.clear()
    titles = {s.title for s in vault.find_items("ACL")}
    assert "agent-03, renamed" in titles and "agent-03" not in titles
    assert opened == [items[3].id]  # the edited row is read again

    sealed = _sql(vault.db_path, "SELECT sealed FROM items WHERE id = ?", items[5].id)[0][0]
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 0x01
    _sql(vault.db_path, "UPDATE items SET sealed = ? WHERE id = ?", bytes(flipped), items[5].id)
    with pytest.raises(VaultError, match="altered"):
        vault.find_items("ACL")  # changed bytes are opened, never taken from memory


# -- health -------------------------------------------------------------------------------------
def test_health_is_ok_on_a_fresh_vault(home: Path) -> None:
    with LocalVault(home) as local:
        checks = local.health()
    assert [c.name for c in checks] == [
        "local vault home",
        "local vault key",
        "local vault database",
    ]
    assert all(c.ok for c in checks), checks
    assert "0 vault(s), 0 item(s)" in checks[2].detail and "vault.key" in checks[1].detail


def test_health_flags_a_loose_key_file_without_raising(home: Path) -> None:
    with LocalVault(home) as local:
        _login(local)
        os.chmod(home / "vault.key", 0o644)
        checks = {c.name: c for c in local.health()}
    assert not checks["local vault key"].ok and "0644" in checks["local vault key"].detail
    assert checks["local vault home"].ok and checks["local vault database"].ok
    assert "1 vault(s), 1 item(s)" in checks["local vault database"].detail
