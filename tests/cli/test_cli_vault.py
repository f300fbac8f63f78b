"""The vault commands end to end, as a user types them."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run
from vaultborn.vault.recipe import SYMBOLS

TITLE = "Auth0 — admin@example.com"
REF = f"op://ACL/{TITLE}/password"
# RFC 6238's SHA1 seed with 8 digits: the code at T=59 is 94287082.
RFC_URI = "otpauth://totp/Auth0:admin@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=8"
CREATE = [
    "item", "create", "--vault", "ACL", "--title", TITLE, "--category", "login",
    "--username", "admin@example.com", "--generate-password=letters,digits,symbols,32",
]  # fmt: skip


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_done_when_create_read_and_nothing_in_plaintext_on_disk(cli: Run, home: Path) -> None:
    created = cli(*CREATE)
    assert created.code == 0, created.err
    assert TITLE in created.out and "[concealed: add --reveal to show]" in created.out
    read = cli("read", REF)
    assert read.code == 0, read.err
    password = read.out.removesuffix("\n")
    assert len(password) == 32
    assert set(password) <= set(string.ascii_letters + string.digits + SYMBOLS)
    assert password not in created.out
    assert password.encode() not in _all_bytes(home)
    assert cli("read", "-n", REF).out == password


def test_bare_generate_password_takes_ops_default_recipe(cli: Run) -> None:
    assert cli("item", "create", "--vault", "ACL", "--title", "x", "--generate-password").code == 0
    assert len(cli("read", "-n", "op://ACL/x/password").out) == 32


def test_otp_from_uri_gives_rfc_codes_at_a_given_time(cli: Run) -> None:
    assert cli(*CREATE).code == 0
    edited = cli("item", "edit", TITLE, "--vault", "ACL", f"one-time password[otp]={RFC_URI}")
    assert edited.code == 0, edited.err
    assert "GEZDGNBV" not in edited.out
    assert cli("otp", TITLE, "--vault", "ACL", "--at", "59").out == "94287082\n"
    by_ref = cli("otp", f"op://ACL/{TITLE}/one-time password", "--at", "1111111109")
    assert by_ref.out == "07081804\n"


def test_json_output_conceals_unless_revealed(cli: Run) -> None:
    cli(*CREATE)
    concealed = json.loads(cli("item", "get", TITLE, "--vault", "ACL", "--json").out)
    password = next(f for f in concealed["fields"] if f["id"] == "password")
    assert "value" not in password and password["password_details"]["generated"]
    revealed = json.loads(cli("item", "get", TITLE, "--json", "--reveal").out)
    value = next(f for f in revealed["fields"] if f["id"] == "password")["value"]
    assert value == cli("read", "-n", REF).out
    listing = json.loads(cli("item", "list", "--vault", "ACL", "--json").out)
    assert [i["title"] for i in listing] == [TITLE] and "fields" not in listing[0]


def test_edit_and_resolve(cli: Run) -> None:
    cli(*CREATE)
    item_id = json.loads(cli("item", "get", TITLE, "--json").out)["id"]
    assert json.loads(cli("item", "edit", item_id, "--tags", "a,b", "--json").out)["version"] == 2
    canonical = cli("resolve", f"op://acl/{TITLE.upper()}/password").out.strip()
    assert canonical.startswith("op://") and canonical.endswith(f"/{item_id}/password")


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["read", "ACL/x/password"], 2, "must start with op://"),
        (["read", "op://ACL/x"], 2, "has 2 part(s)"),
        (["read", "op://ACL/nope/password"], 1, "isn't an item"),
        (["item", "create", "--vault", "ACL", "--title", "t", "--generate-password=lots"], 2,
         "unknown part 'lots'"),
        (["item", "create", "--vault", "ACL", "--title", "t", "--category", "car"], 2,
         "unknown item category"),
        (["item", "create", "--vault", "ACL", "--title", "t", "x[otp]=otpauth://totp/a?s=1"], 2,
         "unknown parameter(s): s"),
        (["item", "create", "--vault", "ACL", "--title", "t", "novalue"], 2, "has no '='"),
        (["--vault-backend", "keepass", "item", "list"], 2, "unknown vault backend"),
        (["frobnicate"], 2, "No such command"),
        (["item", "create", "--vault", "ACL"], 2, "Missing"),
        (["otp", "x", "--at", "soon"], 2, "Invalid value for '--at'"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_with_the_right_exit_code(
    cli: Run, args: list[str], code: int, says: str
) -> None:
    cli("item", "create", "--vault", "ACL", "--title", "seed", "--category", "password")
    result = cli(*args)
    assert result.code == code, result
    assert result.err.startswith("vaultborn: ") and result.err.count("\n") == 1, result.err
    assert says in result.err
    assert "Traceback" not in result.err + result.out


def test_version_and_help(cli: Run) -> None:
    assert cli("--version").out.startswith("vaultborn ")
    helped = cli("--help")
    assert helped.code == 0 and "item" in helped.out and "doctor" in helped.out
    item_help = cli("item", "create", "--help")
    assert "--generate-password" in item_help.out


def test_the_console_script_never_prints_a_traceback(home: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "vaultborn", "read", "op://ACL/missing/password"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr.strip().startswith("vaultborn: ") and "Traceback" not in run.stderr
