"""The data-directory check of ``doctor``: group- or world-readable secrets are findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultborn.doctor_files import file_mode_findings

pytestmark = pytest.mark.robustness("at rest: file modes")


def test_private_home_is_ok(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "vault.key").touch(mode=0o600)
    assert list(file_mode_findings(home)) == [("ok", f"{home}: private to its owner")]


@pytest.mark.parametrize(
    ("name", "mode", "fix"),
    [
        (".", 0o755, "chmod 700"),
        ("vault.key", 0o644, "chmod 600"),
        ("state.db-wal", 0o640, "chmod 600"),
    ],
)
def test_open_modes_are_failures_with_their_fix(
    tmp_path: Path, name: str, mode: int, fix: str
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    path = home / name
    if name != ".":
        path.touch()
    path.chmod(mode)
    findings = list(file_mode_findings(home))
    assert [status for status, _ in findings] == ["fail"]
    assert fix in findings[0][1] and f"{mode:04o}" in findings[0][1]


def test_missing_home_is_fine(tmp_path: Path) -> None:
    assert [s for s, _ in file_mode_findings(tmp_path / "nope")] == ["ok"]
