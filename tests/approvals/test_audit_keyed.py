"""The keyed audit chain and its anchors: rewriting needs the key, cutting the end shows.

Each tamper is done to the SQLite file directly, as someone with the database (and not the
vault) would; ``verify`` must fail with a one-line problem, and ``has_decision`` must not take
a row its writer could not key.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event

from vaultborn.approvals import audit as audit_module
from vaultborn.approvals.audit import AuditLog
from vaultborn.approvals.audit_anchor import ANCHOR_FIELD, VaultAnchor, WitnessFile
from vaultborn.approvals.audit_chain import GENESIS, KEYED, Head, chain_id, row_digest
from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category

pytestmark = pytest.mark.robustness("approval integrity: gate and audit chain")

KEY = hashlib.sha256(b"the run database's audit key").digest()
GUESSED = hashlib.sha256(b"a key someone guessed").digest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def witness(tmp_path: Path) -> WitnessFile:
    return WitnessFile(tmp_path / "home" / "audit-heads" / "db.json")


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[LocalVault]:
    with LocalVault(tmp_path / "home") as local:
        yield local


@pytest.fixture
def keys_item(vault: LocalVault) -> str:
    item = vault.create_item(
        "ACL", ItemSpec(title="vaultborn run keys", category=Category.PASSWORD)
    )
    return item.id


def _open(db: Path, *anchors: object, key: bytes | None = KEY) -> AuditLog:
    return AuditLog(f"sqlite:///{db}", key=key, anchors=anchors)  # type: ignore[arg-type]


@pytest.fixture
def log(db: Path, witness: WitnessFile) -> Iterator[AuditLog]:
    audit = _open(db, witness)
    for n in range(8):
        audit.append("run-1", "effect", f"step{n}", {"n": n})
    yield audit
    audit.close()


def _sql(db: Path, statement: str, *params: object) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement, params)


def _rows(db: Path) -> list[tuple[int, str, float, str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT seq, run_id, at, kind, subject, detail, prev_hash, hash FROM audit_events "
            "ORDER BY seq"
        ).fetchall()


def _rechain(db: Path, key: bytes | None, start: int = 1) -> None:
    """Recompute every digest from row ``start`` on (and renumber from 1), as a forger would."""
    rows = _rows(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_events")
        prev = GENESIS
        for seq, (_, run_id, at, kind, subject, detail, _, digest) in enumerate(rows, start=1):
            if seq >= start:
                digest = row_digest(key, prev, seq, run_id, at, kind, subject, detail)
            conn.execute(
                "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq, run_id, at, kind, subject, detail, prev, digest),
            )
            prev = digest


def _rehash(db: Path, seq: int, detail: str) -> None:
    """Edit row ``seq`` and recompute its own unkeyed digest (only)."""
    _, run_id, at, kind, subject, _, prev, _ = _rows(db)[seq - 1]
    digest = row_digest(None, prev, seq, run_id, at, kind, subject, detail)
    _sql(db, "UPDATE audit_events SET detail = ?, hash = ? WHERE seq = ?", detail, digest, seq)


def _append_forged(db: Path, key: bytes | None, kind: str = "effect", detail: str = "{}") -> None:
    *_, (seq, *_, last) = _rows(db)
    digest = row_digest(key, last, seq + 1, "run-1", 1.0, kind, "forged", detail)
    _sql(db, "INSERT INTO audit_events VALUES (?, 'run-1', 1.0, ?, 'forged', ?, ?, ?)",
         seq + 1, kind, detail, last, digest)  # fmt: skip


TAMPERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "the last row deleted": (
        lambda db: _sql(db, "DELETE FROM audit_events WHERE seq = 8"),
        "row 8, held by the witness file",
    ),
    "truncated to five rows": (
        lambda db: _sql(db, "DELETE FROM audit_events WHERE seq > 5"),
        "is missing: the log was cut at row 5",
    ),
    "every row deleted": (
        lambda db: _sql(db, "DELETE FROM audit_events"),
        "is missing: the log was cut at row 0",
    ),
    "a row edited and the chain after it recomputed": (
        lambda db: (
            _sql(db, "UPDATE audit_events SET detail = '{\"n\":99}' WHERE seq = 3"),
            _rechain(db, None, start=3),
        ),
        "row 3 is not keyed, but row 1 before it is: it was forged",
    ),
    "a row edited and the whole chain recomputed without a key": (
        lambda db: (
            _sql(db, "UPDATE audit_events SET detail = '{\"n\":99}' WHERE seq = 3"),
            _rechain(db, None),
        ),
        "row 8 is not the one the witness file",
    ),
    "a row edited and the chain recomputed with a guessed key": (
        lambda db: (
            _sql(db, "UPDATE audit_events SET detail = '{\"n\":99}' WHERE seq = 3"),
            _rechain(db, GUESSED, start=3),
        ),
        "row 3 was changed after it was written",
    ),
    "a middle row deleted and the rest renumbered": (
        lambda db: (_sql(db, "DELETE FROM audit_events WHERE seq = 4"), _rechain(db, None, 4)),
        "row 4 is not keyed, but row 1 before it is: it was forged",
    ),
    "a forged row appended": (
        lambda db: _append_forged(db, None),
        "row 9 is not keyed, but row 1 before it is: it was forged",
    ),
    "a forged row appended under a guessed key": (
        lambda db: _append_forged(db, GUESSED),
        "row 9 was changed after it was written",
    ),
}


@pytest.mark.parametrize("tamper", TAMPERS, ids=list(TAMPERS))
def test_each_tamper_fails_verify(log: AuditLog, db: Path, tamper: str) -> None:
    assert log.verify().ok
    action, says = TAMPERS[tamper]
    action(db)
    verdict = log.verify()
    assert not verdict.ok, tamper
    assert says in verdict.problem
    assert "\n" not in verdict.problem


def test_an_intact_keyed_log_names_what_it_checked(log: AuditLog, witness: WitnessFile) -> None:
    verdict = log.verify()
    assert verdict.ok and verdict.keyed and verdict.keyed_from == 1 and verdict.rows == 8
    assert verdict.anchors == (f"{witness.name} (row 8)",)
    assert all(e.hash.startswith(KEYED) for e in log.events())


def test_without_the_key_a_keyed_log_neither_checks_nor_takes_rows(log: AuditLog, db: Path) -> None:
    keyless = _open(db, key=None)
    try:
        verdict = keyless.verify()
        assert (
            not verdict.ok and verdict.problem == "row 1 is keyed, and the audit key is not at hand"
        )
        with pytest.raises(ConfigurationError, match="the audit log is keyed"):
            keyless.append("run-1", "effect", "late", {})
    finally:
        keyless.close()
    assert len(log.events()) == 8


def test_the_witness_never_moves_back_nor_to_another_chain(witness: WitnessFile) -> None:
    chain = chain_id(KEY)
    witness.note(Head(chain, 5, "five"))
    witness.note(Head(chain, 3, "three"))  # a writer that finished late
    witness.note(Head(chain_id(GUESSED), 9, "nine"))  # a new database where this one was
    assert witness.held() == Head(chain, 5, "five")
    assert (witness.path.stat().st_mode & 0o777) == 0o600
    assert (witness.path.parent.stat().st_mode & 0o777) == 0o700


def test_a_witness_write_that_fails_midway_keeps_the_head_it_had(
    witness: WitnessFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new head is written over the old one, never into an emptied file: a process that
    dies (here: a write that fails) mid-note leaves a head ``verify`` can read."""
    chain = chain_id(KEY)
    witness.note(Head(chain, 9, "h" * 64))

    def dies(*args: object) -> int:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "pwrite", dies)
    with pytest.raises(ConfigurationError, match="Input/output error"):
        witness.note(Head(chain, 10, "i" * 64))
    monkeypatch.undo()
    assert witness.held() == Head(chain, 9, "h" * 64)
    witness.note(Head(chain, 10, "i" * 64))
    assert witness.held() == Head(chain, 10, "i" * 64)
    assert json.loads(witness.path.read_text())["seq"] == 10  # cut to the new head's length


def test_a_log_replaced_by_a_new_one_says_so(
    log: AuditLog, db: Path, witness: WitnessFile, tmp_path: Path
) -> None:
    db.unlink()
    fresh = _open(db, witness, key=GUESSED)  # new keys: what a fresh database would get
    try:
        fresh.append("run-2", "effect", "x", {})
        verdict = fresh.verify()
    finally:
        fresh.close()
    assert (
        not verdict.ok and "holds row 8 of another chain: the log was replaced" in verdict.problem
    )


def test_an_unreadable_witness_fails_verify(log: AuditLog, witness: WitnessFile) -> None:
    witness.path.write_text("not a head")
    verdict = log.verify()
    assert not verdict.ok and verdict.problem.endswith("does not hold an audit head")


def test_the_vault_anchor_catches_a_cut_the_witness_was_rolled_back_with(
    db: Path, witness: WitnessFile, vault: LocalVault, keys_item: str
) -> None:
    anchor = VaultAnchor(vault, "ACL", keys_item, "op://ACL/keys")
    audit = _open(db, witness, anchor)
    for n in range(6):
        audit.append("run-1", "effect", f"step{n}", {"n": n})
    before = witness.path.read_bytes()
    audit.close()  # the end of the process: the vault item gets the head
    field = next(f for f in vault.get_item("ACL", keys_item).fields if f.label == ANCHOR_FIELD)
    assert json.loads(str(field.value))["seq"] == 6
    _sql(db, "DELETE FROM audit_events WHERE seq > 4")
    witness.path.write_text(json.dumps({"chain": chain_id(KEY), "seq": 4,
                                        "hash": _rows(db)[-1][-1]}))  # fmt: skip
    assert before != witness.path.read_bytes()
    again = _open(db, witness, VaultAnchor(vault, "ACL", keys_item, "op://ACL/keys"))
    try:
        verdict = again.verify()
    finally:
        again.close()
    assert not verdict.ok
    assert (
        verdict.problem
        == "row 6, held by the vault item op://ACL/keys, is missing: the log was cut at row 4"
    )


def test_the_vault_anchor_is_written_at_most_once_a_minute_but_always_at_the_end(
    db: Path, vault: LocalVault, keys_item: str
) -> None:
    anchor = VaultAnchor(vault, "ACL", keys_item, "op://ACL/keys")
    audit = _open(db, anchor)
    audit.append("run-1", "effect", "a", {})
    audit.anchor()
    first = vault.get_item("ACL", keys_item).version
    audit.append("run-1", "effect", "b", {})
    audit.anchor()  # within the minute: deferred
    assert vault.get_item("ACL", keys_item).version == first
    audit.close()
    assert vault.get_item("ACL", keys_item).version == first + 1
    assert anchor.held() == Head(chain_id(KEY), 2, audit.events()[-1].hash)


def test_a_decision_counts_only_if_its_writer_had_the_key(log: AuditLog, db: Path) -> None:
    digest = "sha256:" + "a" * 64
    detail = json.dumps({"decision": "approved", "digest": digest}, separators=(",", ":"))
    _append_forged(db, None, kind="decision", detail=detail)
    assert not log.has_decision("run-1", "forged", digest)
    _sql(db, "DELETE FROM audit_events WHERE seq = 9")
    _append_forged(db, GUESSED, kind="decision", detail=detail)
    assert not log.has_decision("run-1", "forged", digest)
    _sql(db, "DELETE FROM audit_events WHERE seq = 9")
    log.append("run-1", "decision", "forged", {"decision": "approved", "digest": digest})
    assert log.has_decision("run-1", "forged", digest)
    assert not log.has_decision("run-2", "forged", digest)  # another run's approval
    assert not log.has_decision("run-1", "forged", "sha256:" + "b" * 64)  # another action


def test_an_approval_this_log_wrote_is_known_without_a_read(
    log: AuditLog, db: Path, witness: WitnessFile
) -> None:
    """The effect right after its gate asks for the row this process just committed: no read.
    Another process (a fresh log) reads it, and a rejection or another digest is not taken."""
    digest = "sha256:" + "d" * 64
    log.append("run-1", "decision", "create_item", {"decision": "approved", "digest": digest})
    log.append("run-1", "decision", "create_user", {"decision": "rejected", "digest": digest})
    reads: list[str] = []
    event.listen(log.engine, "before_cursor_execute", lambda *a: reads.append(a[2]))
    assert log.has_decision("run-1", "create_item", digest)
    assert reads == []
    assert not log.has_decision("run-1", "create_user", digest)
    assert not log.has_decision("run-2", "create_item", digest)
    assert len(reads) == 2
    fresh = _open(db, witness)
    try:
        assert fresh.has_decision("run-1", "create_item", digest)
    finally:
        fresh.close()


def test_a_long_lived_log_remembers_only_its_newest_approvals(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker appends approvals for weeks: memory keeps the newest, the log answers the rest."""
    monkeypatch.setattr(audit_module, "_REMEMBERED", 2)
    digests = [f"sha256:{n:064d}" for n in range(3)]
    for n, digest in enumerate(digests):
        log.append(f"run-{n}", "decision", "seed", {"decision": "approved", "digest": digest})
    reads: list[str] = []
    event.listen(log.engine, "before_cursor_execute", lambda *a: reads.append(a[2]))
    assert log.has_decision("run-2", "seed", digests[2]) and reads == []
    assert log.has_decision("run-0", "seed", digests[0]) and len(reads) == 1  # read, and found


def test_a_log_keyed_late_pins_its_unkeyed_beginning(db: Path, witness: WitnessFile) -> None:
    """A database from before keys: its rows stay unkeyed, and the first keyed row pins them."""
    digest = "sha256:" + "c" * 64
    legacy = _open(db, key=None)
    legacy.append("run-1", "decision", "create_user", {"decision": "approved", "digest": digest})
    legacy.append("run-1", "effect", "create_item", {})
    legacy.close()
    keyed = _open(db, witness)
    try:
        assert keyed.has_decision("run-1", "create_user", digest)  # approved before the keys
        keyed.append("run-1", "effect", "create_user", {})
        verdict = keyed.verify()
        assert verdict.ok and verdict.keyed_from == 3
    finally:
        keyed.close()
    # A forger rewrites the unkeyed beginning (the keyed row after it cannot be recomputed);
    # then the whole log, unkeyed, as if it had never had a key.
    for forge in (lambda: _rehash(db, 2, '{"n":1}'), lambda: _rechain(db, None)):
        forge()
        fresh = _open(db, witness)
        try:
            assert not fresh.verify().ok
            assert not fresh.has_decision("run-1", "create_user", digest)
        finally:
            fresh.close()


def test_anchors_without_a_key_are_refused(db: Path, witness: WitnessFile) -> None:
    with pytest.raises(ValueError, match="need its key"):
        AuditLog(f"sqlite:///{db}", anchors=[witness])


def test_a_witness_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    witness = WitnessFile(blocker / "audit-heads" / "db.json")  # its folder cannot be made
    with pytest.raises(ConfigurationError) as caught:
        witness.note(Head("c", 1, "h"))
    assert str(caught.value).startswith("the audit head cannot be written to ")
    assert "\n" not in str(caught.value)
    assert os.path.exists(blocker)
