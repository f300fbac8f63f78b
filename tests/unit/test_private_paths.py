"""vaultborn tightens modes only on what is its own: never a directory of someone else's.

A fuzz run once pointed ``idp serve --db`` at ``/``: the file-tightening chmod-ed the machine's
root directory to 0600 and every later Chromium launch failed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Run
from vaultborn.core.errors import ConfigurationError
from vaultborn.vault.local.fs import ensure_private_dir, mode_of, tighten_file

pytestmark = pytest.mark.robustness("at rest: file modes")


def test_a_directory_is_never_tightened_as_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # noqa: S103  (open on purpose)
    with pytest.raises(ConfigurationError, match="is not a regular file"):
        tighten_file(folder)
    assert mode_of(folder) == 0o755


def test_someone_elses_open_directory_is_refused_not_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)  # noqa: S103  (open on purpose)
    (shared / "notes.txt").write_text("not vaultborn's")
    with pytest.raises(ConfigurationError, match="holds files that are not vaultborn's"):
        ensure_private_dir(shared)
    assert mode_of(shared) == 0o755


def test_an_open_data_directory_of_ours_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o755)  # noqa: S103  (open on purpose)
    (home / "vault.db").write_bytes(b"")
    (home / "state.db-wal").write_bytes(b"")
    assert ensure_private_dir(home) == 0o755
    assert mode_of(home) == 0o700


def test_idp_serve_on_a_directory_leaves_it_alone(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGMT_SECRET", "m" * 40)
    monkeypatch.setenv("AGENT_SECRET", "a" * 40)
    target = tmp_path / "a-directory"
    target.mkdir()
    os.chmod(target, 0o755)  # noqa: S103  (open on purpose)
    result = cli("idp", "serve", "--db", str(target))
    assert result.code == 1
    assert result.err.count("\n") == 1 and "is not a regular file" in result.err
    assert mode_of(target) == 0o755
