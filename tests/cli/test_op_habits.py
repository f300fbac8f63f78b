"""What a person used to ``op`` types: ``item get --otp``/``--fields``, ``--format json``,
``inject``, ``otp --json``, and whole ids in output that is not a terminal."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import Run

TITLE = "Auth0 — admin@example.com"
URI = "otpauth://totp/Auth0:admin@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture
def item(cli: Run) -> dict[str, object]:
    created = cli(
        "item", "create", "--vault", "ACL", "--title", TITLE, "--category", "login",
        "--username", "admin@example.com", "--generate-password", "--json",
        f"one-time password[otp]={URI}",
    )  # fmt: skip
    assert created.code == 0, created.err
    made: dict[str, object] = json.loads(created.out)
    return made


def _password(cli: Run) -> str:
    return cli("read", "-n", f"op://ACL/{TITLE}/password").out


def test_item_get_otp_prints_the_current_code(cli: Run, item: dict[str, object]) -> None:
    got = cli("item", "get", TITLE, "--vault", "ACL", "--otp")
    assert got.code == 0, got.err
    code = got.out.strip()
    assert code.isdigit() and len(code) == 6
    as_json = json.loads(cli("item", "get", TITLE, "--vault", "ACL", "--otp", "--json").out)
    assert set(as_json) == {"item", "code"} and as_json["code"].isdigit()


def test_item_get_fields_prints_values_as_op_does(cli: Run, item: dict[str, object]) -> None:
    username = cli("item", "get", TITLE, "--vault", "ACL", "--fields", "label=username")
    assert username.code == 0, username.err
    assert username.out == "admin@example.com\n"
    hidden = cli("item", "get", TITLE, "--vault", "ACL", "--fields", "label=username,password")
    assert (
        hidden.out
        == f"admin@example.com,[use 'vaultborn item get {item['id']} --reveal' to reveal]\n"
    )
    both = cli("item", "get", TITLE, "--vault", "ACL", "--fields", "label=username",
               "--fields", "label=password", "--reveal")  # fmt: skip
    assert both.out == f"admin@example.com,{_password(cli)}\n"
    one = json.loads(cli("item", "get", TITLE, "--vault", "ACL", "--fields", "username",
                         "--format", "json").out)  # fmt: skip
    assert one["label"] == "username" and one["value"] == "admin@example.com"
    missing = cli("item", "get", TITLE, "--vault", "ACL", "--fields", "label=pin")
    assert missing.code == 1
    assert missing.err == f"vaultborn: 'pin' isn't a field in the {TITLE!r} item\n"


@pytest.mark.parametrize(
    "words",
    [("item", "list", "--vault", "ACL"), ("runs",), ("approvals",)],
    ids=["item-list", "runs", "approvals"],
)
def test_format_json_is_json(cli: Run, item: dict[str, object], words: tuple[str, ...]) -> None:
    expected = cli(*words, "--json").out
    assert cli(*words, "--format", "json").out == expected
    assert cli(*words, "--format=json").out == expected
    assert cli(*words, "--format", "human").out == cli(*words).out


def test_a_commands_own_format_is_left_alone(cli: Run) -> None:
    assert (
        cli("item", "create", "--vault", "ACL", "--title", "k", "--category", "ssh key").code == 0
    )
    pem = cli("item", "public-key", "k", "--vault", "ACL", "--format", "pem")
    assert pem.code == 0 and pem.out.startswith("-----BEGIN PUBLIC KEY-----")


def test_otp_json(cli: Run, item: dict[str, object]) -> None:
    got = json.loads(cli("otp", TITLE, "--vault", "ACL", "--at", "59", "--json").out)
    assert got == {
        "item": TITLE,
        "code": cli("otp", TITLE, "--vault", "ACL", "--at", "59").out.strip(),
    }


def test_inject_fills_references_to_stdout_with_a_warning(
    cli: Run, item: dict[str, object], tmp_path: Path
) -> None:
    template = tmp_path / "app.env.tpl"
    template.write_text(
        f"USER={{{{ op://ACL/{TITLE}/username }}}}\nPASS={{{{op://ACL/{TITLE}/password}}}}\n"
        "KEEP={{ not a reference }}\n"
    )
    shown = cli("inject", "-i", str(template))
    assert shown.code == 0, shown.err
    assert (
        shown.out
        == f"USER=admin@example.com\nPASS={_password(cli)}\nKEEP={{{{ not a reference }}}}\n"
    )
    assert "warning: standard output now holds secret values" in shown.err
    assert _password(cli) not in shown.err


def test_inject_writes_a_0600_file_and_never_replaces_one_unasked(
    cli: Run, item: dict[str, object], tmp_path: Path
) -> None:
    template, out = tmp_path / "t.tpl", tmp_path / "out.env"
    template.write_text(f"PASS={{{{ op://ACL/{TITLE}/password }}}}\n")
    written = cli("inject", "-i", str(template), "-o", str(out))
    assert written.code == 0, written.err
    assert written.out == ""
    assert f"warning: {out} now holds secret values" in written.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == f"PASS={_password(cli)}\n"
    again = cli("inject", "-i", str(template), "-o", str(out))
    assert again.code == 2 and "add --force" in again.err
    assert cli("inject", "-i", str(template), "-o", str(out), "--force").code == 0


@pytest.mark.robustness("hostile input: references, otpauth, recipes")
def test_a_template_with_one_bad_reference_reads_nothing(
    cli: Run, item: dict[str, object], tmp_path: Path
) -> None:
    template = tmp_path / "bad.tpl"
    template.write_text(f"A={{{{ op://ACL/{TITLE}/password }}}}\nB={{{{ op://only-two/parts }}}}\n")
    refused = cli("inject", "-i", str(template))
    assert refused.code == 2 and refused.out == ""
    assert refused.err.count("\n") == 1


def test_listing_into_a_pipe_keeps_whole_ids_and_one_row_per_line(cli: Run) -> None:
    title = "a very long title " * 8
    assert cli("item", "create", "--vault", "ACL", "--title", title.strip()).code == 0
    listed = cli("item", "list", "--vault", "ACL").out.splitlines()
    item_id = json.loads(cli("item", "list", "--vault", "ACL", "--json").out)[0]["id"]
    assert len(listed) == 2  # the header and one row: nothing wrapped
    assert listed[1].startswith(item_id + "  " + title.strip())
