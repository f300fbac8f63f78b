"""A canary value through every store command: it reaches the store and the child, nowhere else."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run
from tests.stores.conftest import REF, REGION, Stub, change_item, make_item

pytestmark = pytest.mark.robustness("secret canaries: stores")

TARGET = f"aws-secretsmanager://{REGION}/canary"


@pytest.mark.parametrize(
    "aws_error_stub", [(400, "AccessDeniedException", "not authorized")], indirect=True
)
def test_no_canary_in_receipts_errors_tags_or_masked_output(
    cli: Run, aws: Any, aws_error_stub: Stub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"CANARY-{secrets.token_hex(12)}"
    make_item(cli, canary)
    outputs: list[str] = []

    def run(*args: str, code: int = 0) -> str:
        result = cli(*args)
        assert result.code == code, result
        outputs.append(result.out + result.err)
        return result.out

    run("seed", REF, TARGET)
    run("seed", REF, TARGET, "--json")
    change_item(cli, canary + "-v2")
    run("seed", REF, TARGET, "--json")
    run("seed", REF, "aws-secretsmanager://nowhere/x", code=2)
    run("seed", f"{REF}?attribute=otp", TARGET, code=1)
    env_file = tmp_path / "bad.env"
    env_file.write_text(f"K={canary}\n")
    run("run", "--env-file", str(env_file), "--", "true", code=2)
    run("run", "--env", f"K={canary}", "--", "true", code=2)
    echoed = run("run", "--env", f"K={REF}", "--", sys.executable, "-c",
                 "import os; print(os.environ['K']); print(os.environ['K'][::-1])")  # fmt: skip
    assert echoed.splitlines()[0] == "<concealed by vaultborn>"  # the child did print it

    aws.delete_secret(SecretId="canary", RecoveryWindowInDays=7)
    run("seed", REF, TARGET, code=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_error_stub.url)
    run("seed", REF, TARGET, code=1)

    meta = json.dumps(aws.describe_secret(SecretId="canary"), default=str)
    for text in [*outputs, meta]:
        assert canary not in text
