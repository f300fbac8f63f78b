"""Vault backends benchmark: calls and time per enrollment, local vs op vs op-sdk.

Run: ``.venv/bin/python bench/vault_backends.py [--samples 10]``

One enrollment's vault work, as the setup makes it: look the break-glass item up, create it
(password generated in the vault), read the password back for the IdP user, store the TOTP
seed, make a code to confirm the enrollment, read the two client secrets (management API and
agent token) and the seed source. Each backend runs the same sequence:

- ``local``: the embedded vault (SQLite, AES-GCM) in this process;
- ``op``: 1Password's CLI, here the fake ``op`` (``vault/op/fake.py``): one process per call;
- ``op-sdk``: 1Password's SDK, its client faked at its interface (``vault/opsdk/fake.py``):
  one client in this process.

The fakes answer from local state, so the figures show the cost of the client side (a
process start per ``op`` call against an in-process SDK call), not 1Password's network
latency, which both real backends add per call. Prints counts and ratios only: the machine is
shared, so there is no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemSpec
from vaultborn.vault.local import LocalVault
from vaultborn.vault.model import Category
from vaultborn.vault.op import OpVault
from vaultborn.vault.op.fake import install_fake_op
from vaultborn.vault.opsdk import OpSdkVault
from vaultborn.vault.opsdk.fake import FakeOnePassword
from vaultborn.vault.protocol import Vault
from vaultborn.vault.recipe import parse_recipe
from vaultborn.vault.secret import Secret

URI = "otpauth://totp/Auth0:{}?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Auth0"
SECRETS = ("bench — management", "bench — agent", "bench — some api")


def vault_calls(vault: Vault) -> int:
    """Calls of the ``Vault`` protocol per enrollment (``enroll``): one more where the create's
    answer carries no values and the password is read back (``op``)."""
    return 4 + len(SECRETS) + (0 if vault.creates_revealed else 1)


def prepare(vault: Vault) -> None:
    """The items an enrollment reads but does not make (the demo's client secrets)."""
    for title in SECRETS:
        spec = ItemSpec(title=title, category=Category.PASSWORD,
                        generate_password=parse_recipe("letters,digits,40"))  # fmt: skip
        vault.create_item("ACL", spec)


def enroll(vault: Vault, n: int) -> None:
    """One enrollment's vault calls, for the account ``n``."""
    email = f"bench{n}@example.com"
    title = f"Auth0 — {email}"
    assert not vault.find_items("ACL", title=title)
    # The new user's password is the one the creation answers with where the answer carries
    # it (the setup's MoveItems), else it is read back.
    item = vault.create_item(
        "ACL",
        ItemSpec(title=title, category=Category.LOGIN, tags=("vaultborn",),
                 assignments=(parse_assignment(f"username={email}"),),
                 generate_password=parse_recipe("letters,digits,symbols,32")),
        reveal=vault.creates_revealed,
    )  # fmt: skip
    if not vault.creates_revealed:
        vault.read(f"op://ACL/{item.id}/password")
    vault.set_otp("ACL", item.id, Secret(URI.format(email)))
    vault.otp_code("ACL", item.id)
    for title_read in SECRETS:
        vault.read(f"op://ACL/{title_read}/password")


def measure(name: str, vault: Vault, count: Callable[[], int], samples: int) -> dict[str, float]:
    """Median seconds and backend calls per enrollment."""
    prepare(vault)
    times, calls = [], []
    for n in range(samples):
        before = count()
        start = time.perf_counter()
        enroll(vault, n)
        times.append(time.perf_counter() - start)
        calls.append(count() - before)
    result = {"seconds": statistics.median(times), "calls": statistics.median(calls)}
    print(f"{name:7} {vault_calls(vault)} vault calls -> {result['calls']:3.0f} backend calls, "
          f"{result['seconds'] * 1000:8.1f} ms per enrollment (median)")  # fmt: skip
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    samples = parser.parse_args().samples
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        local = LocalVault(root / "home")
        local.create_vault("ACL")
        # The local vault makes no call outside this process: its calls are its own methods.
        results["local"] = measure("local", local, lambda: 0, samples)
        local.close()

        os.environ["FAKE_OP_VAULTS"] = "ACL"
        log = root / "op-argv.jsonl"
        op_bin = install_fake_op(root / "bin", state=root / "op-state.json", argv_log=log)
        op = OpVault(op_bin=str(op_bin), timeout=60)
        lines = lambda: len(log.read_text().splitlines()) if log.exists() else 0  # noqa: E731
        results["op"] = measure("op", op, lines, samples)

        service = FakeOnePassword(["ACL"])
        sdk = OpSdkVault(service.connect(Secret("ops_bench")), timeout=60)
        results["op-sdk"] = measure("op-sdk", sdk, lambda: sdk.calls, samples)
        sdk.close()

    op_t, sdk_t, local_t = (results[k]["seconds"] for k in ("op", "op-sdk", "local"))
    print(f"time: op / op-sdk = {op_t / sdk_t:.1f}x, op-sdk / local = {sdk_t / local_t:.1f}x")
    print(f"calls: op {results['op']['calls']:.0f} processes, "
          f"op-sdk {results['op-sdk']['calls']:.0f} SDK calls in one process")  # fmt: skip
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
