"""Running op: stderr classification (credentials.md §1.1), timeouts, versions, the argv guard."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from vaultborn.core.errors import ConfigurationError, VaultbornError
from vaultborn.vault.errors import (
    AmbiguousReference,
    AuthorizationDismissed,
    AuthorizationTimeout,
    FieldNotFound,
    ItemNotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    VaultConflict,
    VaultError,
    VaultNotFound,
    VaultUnavailable,
)
from vaultborn.vault.op.errors import MAX_MESSAGE, classify
from vaultborn.vault.op.fake import install_fake_op
from vaultborn.vault.op.runner import OpRunner, parse_version
from vaultborn.vault.secret import Secret

pytestmark = pytest.mark.robustness("fault: op CLI (timeouts, sign-in, rate limits)")

TS = "[ERROR] 2025/01/02 03:04:05 "
READ = "could not read secret 'op://V/nope/password': "

TABLE: list[tuple[str, type[VaultbornError]]] = [
    (
        '"X" isn\'t an item. Specify the item with its UUID, name, or domain.',
        ItemNotFound,
    ),
    (
        '"X" isn\'t an item in the "V" vault. Specify the item with its UUID, name, or domain.',
        ItemNotFound,
    ),
    ('"V" isn\'t a vault in this account. Specify the vault with its ID or name.', VaultNotFound),
    (
        READ + 'could not get item V/nope: "nope" isn\'t an item in the "V" vault. '
        "Specify the item with its UUID, name, or domain.",
        ItemNotFound,
    ),
    (
        "could not read secret 'op://V/engagement/nope': "
        "item 'V/engagement' does not have a field 'nope'",
        FieldNotFound,
    ),
    ("account is not signed in", NotSignedIn),
    (
        READ + "error initializing client: You are not currently signed in. "
        "Please run `op signin --help` for instructions",
        NotSignedIn,
    ),
    ("could not find session token for account my", NotSignedIn),
    ("(403) Forbidden: You aren't authorized to access this resource.", PermissionDenied),
    ("(401) Unauthorized: You aren't authorized to perform this action.", PermissionDenied),
    (
        "error initializing client: Validation: (failed to session.DecodeSACredentials), "
        "failed to DecodeSACredentials: illegal base64 data at input byte 12",
        ConfigurationError,
    ),
    ("error initializing client: unrecognized auth type", ConfigurationError),
    ('error initializing client: found no accounts for filter "x"', ConfigurationError),
    ("error initializing client: authorization timeout", AuthorizationTimeout),
    (
        "connecting to desktop app: connecting to desktop app timed out",
        AuthorizationTimeout,
    ),
    (
        "error initializing client: authorization prompt dismissed, please try again",
        AuthorizationDismissed,
    ),
    ("(429) Too Many Requests: rate limit exceeded", RateLimited),
    ("(409) Conflict: the item has changed", VaultConflict),
    (
        "RequestDelegatedSession: cannot setup session. "
        "Please check the logs of the 1Password app.",
        VaultError,
    ),
]


@pytest.mark.parametrize("prefix", [TS, "[ERROR] "])
@pytest.mark.parametrize(("message", "expected"), TABLE)
def test_documented_stderr_becomes_a_typed_one_line_error(
    prefix: str, message: str, expected: type[VaultbornError]
) -> None:
    err = classify(prefix + message + "\n")
    assert type(err) is expected
    assert "\n" not in str(err)
    if expected is not NotSignedIn:
        assert message[:60] in str(err)


def test_not_signed_in_hints_how_to_sign_in() -> None:
    err = classify("[ERROR] account is not signed in\n")
    assert "op signin" in str(err) and "OP_SERVICE_ACCOUNT_TOKEN" in str(err)


def test_ambiguity_lists_the_ids_op_printed() -> None:
    stderr = (
        TS + 'More than one item matches "GitHub". Try again and specify the item by its ID:\n'
        '\t* for the item "GitHub" in vault Private: 7rvotkfz4has7lojakwstlwprm\n'
        '\t* for the item "github" in vault ACL: abcdefghijklmnopqrstuvwxyz\n'
    )
    err = classify(stderr)
    assert isinstance(err, AmbiguousReference)
    assert (err.kind, err.name) == ("item", "GitHub")
    assert err.candidates == ("7rvotkfz4has7lojakwstlwprm", "abcdefghijklmnopqrstuvwxyz")


def test_echoed_names_do_not_steer_the_class() -> None:
    err = classify(TS + '"timed out (409)" isn\'t an item. Specify the item with its UUID.\n')
    assert type(err) is ItemNotFound


def test_unknown_errors_keep_ops_message_on_one_truncated_line() -> None:
    err = classify(TS + "something new " + "x" * 1000 + "\nsecond line\n")
    assert type(err) is VaultError
    assert "something new" in str(err) and "second line" not in str(err)
    assert len(str(err)) <= MAX_MESSAGE + 20
    assert "exited with status 3" in str(classify("", 3))


def test_echoed_values_are_redacted() -> None:
    canary = Secret("canary-value-123")
    err = classify(TS + "invalid JSON near 'canary-value-123'\n", redact=[canary])
    assert "canary-value-123" not in str(err)


def test_parse_version() -> None:
    assert parse_version("2.30.0\n") == (2, 30, 0)
    assert parse_version("2.31.1-beta.01") == (2, 31, 1)
    with pytest.raises(ConfigurationError):
        parse_version("garbage")


def _script(tmp_path: Path, body: str, version: str = "2.30.0") -> str:
    path = tmp_path / "op"
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = --version ]; then echo {version}; exit 0; fi\n{body}\n'
    )
    path.chmod(0o755)
    return str(path)


def test_timeout_kills_the_whole_group_and_says_a_prompt_may_wait(tmp_path: Path) -> None:
    runner = OpRunner(_script(tmp_path, "(sleep 30; echo late) & wait"), timeout=0.3)
    start = time.monotonic()
    with pytest.raises(AuthorizationTimeout) as err:
        runner.run(["vault", "list"])
    assert time.monotonic() - start < 5
    assert str(err.value) == (
        "op did not answer within 0.3 s; a 1Password authorization prompt may be waiting"
    )


def test_missing_binary_is_a_configuration_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        OpRunner(str(tmp_path / "no-such-op")).run(["vault", "list"])
    assert "VAULTBORN_OP_BIN" in str(err.value) and "\n" not in str(err.value)


def test_old_op_is_refused_once_per_runner(tmp_path: Path) -> None:
    log = tmp_path / "argv.jsonl"
    op = install_fake_op(tmp_path / "bin", state=tmp_path / "state.json", argv_log=log)
    old = OpRunner(str(op), env={"FAKE_OP_VERSION": "2.22.1"})
    with pytest.raises(ConfigurationError) as err:
        old.run(["vault", "list", "--format", "json"])
    assert str(err.value) == (
        "op 2.22.1 is too old; vaultborn needs 2.23.0 or newer (JSON on stdin for item edit)"
    )
    fine = OpRunner(str(op), env={"FAKE_OP_VERSION": "2.23.0"})
    fine.run_json(["vault", "list", "--format", "json"])
    fine.run_json(["vault", "list", "--format", "json"])
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls.count(["--version"]) == 2  # once per runner
    assert calls.count(["vault", "list", "--format", "json"]) == 2


def test_garbage_json_is_unavailable_without_quoting_it(tmp_path: Path) -> None:
    runner = OpRunner(_script(tmp_path, "echo 'not json hunter2'"))
    with pytest.raises(VaultUnavailable) as err:
        runner.run_json(["item", "get", "x"])
    assert "hunter2" not in str(err.value)


def test_failure_without_an_error_line_uses_the_last_line(tmp_path: Path) -> None:
    runner = OpRunner(_script(tmp_path, "echo boom >&2; exit 2"))
    with pytest.raises(VaultError, match="boom"):
        runner.run(["whoami"])


def test_values_go_on_stdin_and_stdin_is_closed_otherwise(tmp_path: Path) -> None:
    runner = OpRunner(_script(tmp_path, "cat"), timeout=5)
    assert runner.run(["item", "edit", "x"], stdin='{"value": "s3cret"}') == '{"value": "s3cret"}'
    assert runner.run(["item", "edit", "x"]) == ""  # /dev/null, not an open pipe


def test_argv_never_takes_a_secret(tmp_path: Path) -> None:
    runner = OpRunner(_script(tmp_path, "true"))
    secret = Secret("hunter2-canary")
    with pytest.raises(ValueError, match="stdin"):
        runner.run(["item", "edit", "x", secret])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="secret value"):
        runner.run(["item", "edit", "x", "password=hunter2-canary"], forbid=[secret])


def test_environment_passes_through_with_account_and_plain_output(tmp_path: Path) -> None:
    body = (
        'echo "$*|${OP_FORMAT:-unset}|${OP_SERVICE_ACCOUNT_TOKEN}|${OP_BIOMETRIC_UNLOCK_ENABLED}"'
    )
    env = {"OP_FORMAT": "json", "OP_SERVICE_ACCOUNT_TOKEN": "ops_x", "PATH": "/usr/bin:/bin"}
    runner = OpRunner(_script(tmp_path, body), account="my", env=env)
    assert runner.run(["whoami"]).strip() == "whoami --account my|unset|ops_x|true"


def test_conflicts_are_retried_with_growing_backoff() -> None:
    sleeps: list[float] = []
    runner = OpRunner("op", sleep=sleeps.append)
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise VaultConflict("(409) Conflict")
        return "done"

    assert runner.retry_conflicts(flaky) == "done"
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]

    def always() -> str:
        attempts.append(1)
        raise VaultConflict("(409) Conflict")

    attempts.clear()
    with pytest.raises(VaultConflict):
        runner.retry_conflicts(always)
    assert len(attempts) == 4  # the first attempt and three retries, as terraform's client

    def not_found() -> str:
        attempts.append(1)
        raise ItemNotFound("nope")

    attempts.clear()
    with pytest.raises(ItemNotFound):
        runner.retry_conflicts(not_found)
    assert len(attempts) == 1


def test_the_fakes_ambiguity_report_parses_to_ids(tmp_path: Path) -> None:
    op = install_fake_op(tmp_path / "bin", state=tmp_path / "s.json", argv_log=tmp_path / "a")
    runner = OpRunner(str(op), env={"FAKE_OP_VAULTS": "ACL"})
    create = ["item", "create", "--vault", "ACL", "--category", "login", "--format", "json"]
    ids = {runner.run_json([*create, f"--title={t}"])["id"] for t in ("GitHub", "github")}
    with pytest.raises(AmbiguousReference) as err:
        runner.run(["item", "get", "GITHUB", "--vault", "ACL"])
    assert set(err.value.candidates) == ids
