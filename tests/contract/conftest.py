"""One vault contract, every backend: the embedded local vault, 1Password via a fake op, and
1Password via its SDK with the client faked at its documented interface (``vault.opsdk.fake``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaultborn.vault.protocol import Vault

# A fixed clock for codes computed in-process (the local backend, and op with --at).
FIXED_NOW = 1_700_000_000.0


@pytest.fixture
def fake_op(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A fake ``op`` on disk with a fresh 1Password state holding the vault ACL."""
    from vaultborn.vault.op.fake import install_fake_op

    paths = {"state": tmp_path / "op-state.json", "argv_log": tmp_path / "op-argv.jsonl"}
    paths["bin"] = install_fake_op(
        tmp_path / "bin", state=paths["state"], argv_log=paths["argv_log"]
    )
    os.environ["FAKE_OP_VAULTS"] = "ACL,Private"
    yield paths


@pytest.fixture(params=["local", "op", "op-sdk"])
def vault(request: pytest.FixtureRequest, home: Path, tmp_path: Path) -> Iterator[Vault]:
    """Each backend in turn, empty but for the vaults ACL (and Private for op and op-sdk)."""
    if request.param == "local":
        from vaultborn.vault.local import LocalVault

        local = LocalVault(home, clock=lambda: FIXED_NOW)
        local.create_vault("ACL")
        yield local
        local.close()
    elif request.param == "op-sdk":
        from vaultborn.vault.opsdk.backend import OpSdkVault
        from vaultborn.vault.opsdk.fake import FakeOnePassword
        from vaultborn.vault.secret import Secret

        service = FakeOnePassword(["ACL", "Private"])
        sdk = OpSdkVault(
            service.connect(Secret("ops_contract")), timeout=20, clock=lambda: FIXED_NOW
        )
        yield sdk
        sdk.close()
    else:
        paths = request.getfixturevalue("fake_op")
        from vaultborn.vault.op import OpVault

        yield OpVault(op_bin=str(paths["bin"]), timeout=20, clock=lambda: FIXED_NOW)
