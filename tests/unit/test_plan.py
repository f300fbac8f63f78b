"""The setup plan: the example parses, the default round-trips, every mistake is one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultborn.core.errors import UsageError
from vaultborn.core.files import MAX_FILE_BYTES
from vaultborn.runner.plan import (
    DEMO_PREREQUISITES,
    EMBEDDED_SOURCE,
    Plan,
    default_plan,
    load_plan,
    parse_plan,
)
from vaultborn.vault.reference import parse_reference

pytestmark = pytest.mark.robustness("hostile input: plans")

EXAMPLE = """\
[vault]
backend = "local"                  # local | op
name = "ACL"
[idp]
kind = "auth0"
domain = "http://127.0.0.1:8123"   # omitted: the embedded dev IdP
management_client_id = "mgmt"
management_secret = "op://ACL/Auth0 Management/password"
connection = "Username-Password-Authentication"
[break_glass]
email = "admin@example.com"
item = "Auth0 — admin@example.com"
password_recipe = "letters,digits,symbols,32"
enrollment = "browser"             # browser | api
[agent]
client_id = "agent"
secret = "op://ACL/Auth0 M2M — my-agent/password"
audience = "https://api.example.com"
[[seed]]
from = "op://ACL/Some API/password"
to = "aws-secretsmanager://us-east-1/prod/some-api"
"""

MINIMAL = {
    "idp": {"management_client_id": "mgmt", "management_secret": "op://ACL/M/password"},
    "break_glass": {"email": "a@example.com", "item": "Auth0 — a"},
    "agent": {"client_id": "agent", "secret": "op://ACL/A/password"},
}


def render(data: dict[str, Any]) -> str:
    """A TOML rendering of plan data: tables of scalars and arrays of tables (None omitted)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)  # JSON string escapes are TOML's too
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"

    lines: list[str] = []
    for name, table in data.items():
        if isinstance(table, list) and all(isinstance(t, dict) for t in table) and table:
            for entry in table:
                lines += [f"[[{name}]]"] + [f"{k} = {value(x)}" for k, x in entry.items()]
        elif isinstance(table, dict):
            lines.append(f"[{name}]")
            lines += [f"{json.dumps(k)} = {value(x)}" for k, x in table.items() if x is not None]
        else:
            lines.insert(0, f"{name} = {value(table)}")
    return "\n".join(lines) + "\n"


def with_change(section: str, key: str, new: Any) -> str:
    """``MINIMAL`` with ``section.key`` set to ``new`` (deleted when ``new`` is ...)."""
    data: dict[str, Any] = json.loads(json.dumps(MINIMAL))
    table = data.setdefault(section, {})
    if new is ...:
        table.pop(key, None)
    else:
        table[key] = new
    return render(data)


def test_the_example_parses() -> None:
    plan = parse_plan(EXAMPLE, "vaultborn.toml")
    assert plan.source == "vaultborn.toml"
    assert plan.idp.domain == "http://127.0.0.1:8123/"
    assert not plan.embedded_idp
    assert plan.agent.secret == "op://ACL/Auth0 M2M — my-agent/password"
    assert plan.break_glass.enrollment == "browser"
    assert [(s.reference, s.target) for s in plan.seeds] == [
        ("op://ACL/Some API/password", "aws-secretsmanager://us-east-1/prod/some-api")
    ]
    assert plan.to_dict()["seed"] == [
        {"from": "op://ACL/Some API/password", "to": "aws-secretsmanager://us-east-1/prod/some-api"}
    ]


def test_defaults_fill_what_a_minimal_plan_leaves_out() -> None:
    plan = parse_plan(render(MINIMAL), "p.toml")
    assert (plan.vault.backend, plan.vault.name) == ("local", "ACL")
    assert (plan.idp.kind, plan.idp.connection) == ("auth0", "Username-Password-Authentication")
    assert plan.embedded_idp and plan.idp.domain is None
    assert plan.break_glass.password_recipe == "letters,digits,symbols,32"
    assert plan.break_glass.enrollment == "browser"
    assert plan.agent.audience == "https://api.example.com"
    assert plan.seeds == ()


@pytest.mark.parametrize("backend", ["local", "op", "op-sdk"])
def test_each_vault_backend_can_be_named_by_a_plan(backend: str) -> None:
    from vaultborn.runner.wiring import Settings

    plan = parse_plan(render({**MINIMAL, "vault": {"backend": backend}}), "p.toml")
    chosen = Settings.from_env({}).for_plan(plan.vault.backend)
    assert (chosen.vault_backend, chosen.backend_source) == (backend, "the plan's vault.backend")
    flagged = Settings.from_env({}, vault_backend=backend).for_plan(backend)
    assert flagged.backend_source == "--vault-backend"


def test_the_default_plan_round_trips() -> None:
    default = default_plan()
    assert default.source == EMBEDDED_SOURCE and default.embedded_idp
    assert load_plan(None) == default
    again = parse_plan(render(default.to_dict()), "rendered.toml")
    assert again == default
    assert again.digest == default.digest
    assert json.loads(json.dumps(default.to_dict())) == default.to_dict()


def test_the_default_plan_reads_only_what_the_demo_generates() -> None:
    default = default_plan()
    generated = {p.reference for p in DEMO_PREREQUISITES}
    read = {default.idp.management_secret, default.agent.secret}
    read |= {s.reference for s in default.seeds}
    assert read == generated
    for prerequisite in DEMO_PREREQUISITES:
        assert parse_reference(prerequisite.reference).vault == default.vault.name
    assert (default.idp.management_client_id, default.agent.client_id) == ("mgmt", "agent")
    assert default.seeds[0].target == "aws-secretsmanager://us-east-1/vaultborn-demo/some-api"


def test_digest_follows_content_not_source() -> None:
    a, b = parse_plan(EXAMPLE, "a.toml"), parse_plan(EXAMPLE, "b.toml")
    assert a == b and a.digest == b.digest and a.digest.startswith("sha256:")
    assert len(a.digest) == len("sha256:") + 64
    changed = parse_plan(EXAMPLE.replace('"browser"', '"api"'), "a.toml")
    assert changed.digest != a.digest


@pytest.mark.parametrize(
    ("domain", "normalized"),
    [
        ("tenant.us.auth0.com", "https://tenant.us.auth0.com/"),
        ("https://Tenant.EU.auth0.com", "https://tenant.eu.auth0.com/"),
        ("https://tenant.us.auth0.com/", "https://tenant.us.auth0.com/"),
        ("http://localhost:8123", "http://localhost:8123/"),
        ("http://127.0.0.1:8123/", "http://127.0.0.1:8123/"),
    ],
)
def test_domains_normalize(domain: str, normalized: str) -> None:
    assert parse_plan(with_change("idp", "domain", domain), "p").idp.domain == normalized


def test_an_api_and_a_login_page_of_your_own() -> None:
    data: dict[str, Any] = json.loads(json.dumps(MINIMAL))
    data["agent"]["protected_api"] = "https://api.example.com/whoami"
    data["break_glass"]["login_url"] = "https://app.example.com/login"
    plan = parse_plan(render(data), "p")
    assert plan.agent.protected_api == "https://api.example.com/whoami"
    assert plan.break_glass.login_url == "https://app.example.com/login"
    assert parse_plan(EXAMPLE, "p").agent.protected_api is None


def test_recipes_and_references_are_stored_canonically() -> None:
    text = with_change("break_glass", "password_recipe", "32,digits, letters")
    assert parse_plan(text, "p").break_glass.password_recipe == "letters,digits,32"


BAD = [
    # (section, key, new value or ... to delete, expected substring)
    ("idp", "domain", "tenant", "idp.domain: expected a URL like https://tenant.us.auth0.com"),
    ("idp", "domain", "http://tenant.us.auth0.com", "idp.domain: plain http is allowed only"),
    ("idp", "domain", "ftp://tenant.us.auth0.com", "idp.domain: expected a URL"),
    ("idp", "domain", "https://t.us.auth0.com/path", "idp.domain: expected a URL"),
    ("idp", "domain", "https://t.us.auth0.com/?x=1", "idp.domain: expected a URL"),
    ("idp", "domain", "https://user@t.us.auth0.com", "idp.domain: expected a URL"),
    ("idp", "domain", "http://[::1", "idp.domain: expected a URL"),
    ("idp", "domain", "http://127.0.0.1:99999", "idp.domain: expected a URL"),
    ("idp", "domain", "", "idp.domain: empty"),
    ("idp", "kind", "okta", "idp.kind: expected auth0 or oidc, got 'okta'"),
    ("idp", "management_secret", ..., "idp.management_secret: missing"),
    ("idp", "management_secret", "op://ACL/only-two", "idp.management_secret: not a secret ref"),
    ("idp", "management_secret", "op://A/I/f?attribute=otp", "asks for a one-time code"),
    ("idp", "management_client_id", "has space", "idp.management_client_id: expected a client"),
    ("idp", "connection", 3, "idp.connection: expected a string, got 3"),
    ("vault", "backend", "vaultwarden", "expected local or op or op-sdk, got 'vaultwarden'"),
    ("vault", "name", "A/B", "vault.name: a vault or item name cannot contain '/'"),
    ("vault", "nmae", "ACL", "unknown key vault.nmae (did you mean name?)"),
    ("vault", "name", " ACL", "vault.name: has surrounding spaces"),
    ("vault", "name", "A\u0007", "vault.name: has surrounding spaces or control chars"),
    ("break_glass", "email", "admin", "break_glass.email: expected an e-mail address"),
    ("break_glass", "email", "a\x00@example.com", "break_glass.email: has surrounding spaces or"),
    ("break_glass", "email", "ad\u202emin@example.com", "got 'ad\\u202emin@example.com'"),
    ("break_glass", "email", "ad\u200bmin@example.com", "break_glass.email: expected an e-mail"),
    ("break_glass", "email", "ad\u2066min@example.com", "break_glass.email: expected an e-mail"),
    ("break_glass", "email", ..., "break_glass.email: missing"),
    ("break_glass", "password_recipe", "letters,99", "break_glass.password_recipe: password re"),
    ("break_glass", "password_recipe", "emoji", "break_glass.password_recipe: password recipe"),
    ("break_glass", "enrollment", "sms", "break_glass.enrollment: expected browser or api"),
    ("break_glass", "item", ["x"], "break_glass.item: expected a string, got an array"),
    ("agent", "secret", True, "agent.secret: expected a string, got a boolean"),
    ("agent", "secret", 12345, "agent.secret: expected a string, got a value of type int"),
    ("agent", "audince", "x", "unknown key agent.audince (did you mean audience?)"),
    ("agent", "protected_api", "api.example.com/x", "agent.protected_api: expected a URL like"),
    ("agent", "protected_api", "http://api.example.com/x", "plain http is allowed only"),
    ("agent", "protected_api", "https://u:p@api.example.com/", "cannot carry credentials"),
    ("break_glass", "login_url", "javascript:alert(1)", "break_glass.login_url: expected a URL"),
    ("break_glass", "login_url", "", "break_glass.login_url: empty"),
    ("agent", "client_id", {"a": "b"}, "agent.client_id: expected a string, got a table"),
]


@pytest.mark.parametrize(("section", "key", "new", "expected"), BAD)
def test_each_mistake_is_one_line_naming_the_key(
    section: str, key: str, new: Any, expected: str
) -> None:
    with pytest.raises(UsageError) as caught:
        parse_plan(with_change(section, key, new), "vaultborn.toml")
    message = str(caught.value)
    assert expected in message
    assert message.startswith("plan vaultborn.toml: ")
    assert "\n" not in message
    assert caught.value.exit_code == 2


WHOLE = [
    ("[vault\nname = 1", "TOML syntax"),
    ('x = "\x01"', "line 1, column 6"),
    ("a = " + "1" * 5000, "TOML syntax"),
    ("a = " + "[" * 5000, "TOML syntax"),
    ("[vault]\n", "idp: missing (required): add a [idp] table"),
    ("idp = 3\n", "idp: expected a table, got 3"),
    ("vaults = 1\n", "unknown key vaults (did you mean vault?)"),
]


@pytest.mark.parametrize(("text", "expected"), WHOLE)
def test_whole_file_mistakes_are_one_line(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_plan(text, "p.toml")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def seeds_text(*entries: object) -> str:
    return render({**MINIMAL, "seed": list(entries)})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (seeds_text({"from": "op://A/I/f", "to": "s3://b/x"}), "seed[0].to: unsupported store"),
        (seeds_text({"from": "op://A/I/f", "to": "aws-secretsmanager://us-east-1/"}), "seed[0].to"),
        (seeds_text({"from": "op://A/I/f", "to": "aws-secretsmanager:///n"}), "seed[0].to"),
        (
            seeds_text(
                {"from": "op://A/I/f", "to": "aws-secretsmanager://us-east-1/a"},
                {"from": "op://A/I/g", "to": "aws-secretsmanager://us-east-1/a"},
            ),
            "seed[1].to: aws-secretsmanager://us-east-1/a is already seeded by seed[0]",
        ),
        (seeds_text({"from": "plain", "to": "aws-secretsmanager://us-east-1/a"}), "seed[0].from"),
        (seeds_text({"to": "aws-secretsmanager://us-east-1/a"}), "seed[0].from: missing"),
        (seeds_text({"fro": "op://A/I/f"}), "unknown key seed[0].fro (did you mean from?)"),
        (render({**MINIMAL, "seed": {"from": "x"}}), "seed: expected [[seed]] tables, got a table"),
        (render({**MINIMAL, "seed": ["x"]}), "seed[0]: expected a table, got 'x'"),
    ],
)
def test_seed_mistakes_name_the_entry(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_plan(text, "p")
    assert expected in str(caught.value)


def test_a_pasted_secret_is_not_echoed() -> None:
    pasted = "sk_live_DO-NOT-ECHO-THIS-abcdefghijklmnopqrstuvwxyz"
    for section, key in (("idp", "management_secret"), ("agent", "secret")):
        with pytest.raises(UsageError) as caught:
            parse_plan(with_change(section, key, pasted), "p")
        assert f"{section}.{key}: not a secret reference" in str(caught.value)
        assert "DO-NOT-ECHO" not in str(caught.value)


def test_load_plan_reads_files_and_refuses_unreadable_ones(tmp_path: Path) -> None:
    path = tmp_path / "vaultborn.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    plan = load_plan(path)
    assert isinstance(plan, Plan) and plan.source == str(path)
    with pytest.raises(UsageError, match="cannot read it"):
        load_plan(tmp_path / "missing.toml")
    with pytest.raises(UsageError, match="cannot read it"):
        load_plan(tmp_path)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_plan(binary)


@pytest.mark.robustness("hostile input: devices and huge files named as plan, env or tenant files")
@pytest.mark.parametrize(
    ("name", "reason"),
    [("/dev/zero", "not a regular file"), ("big.toml", "larger than the 1 MiB limit")],
)
def test_load_plan_reads_a_bounded_regular_file(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "big.toml").write_bytes(b"# a comment\n" * (MAX_FILE_BYTES // 12 + 1))
    path = tmp_path / name
    with pytest.raises(UsageError) as caught:
        load_plan(path)
    assert str(caught.value) == f"plan {path}: cannot read it: {reason}"


def test_load_plan_keeps_universal_newlines(tmp_path: Path) -> None:
    path = tmp_path / "vaultborn.toml"
    path.write_bytes(EXAMPLE.replace("\n", "\r").encode())
    assert load_plan(path) == parse_plan(EXAMPLE, str(path))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_plan_or_a_usage_error(text: str) -> None:
    try:
        assert isinstance(parse_plan(text, "fuzz"), Plan)
    except UsageError as error:
        assert "\n" not in str(error)


_values = (
    st.text(max_size=60)
    | st.integers()
    | st.booleans()
    | st.lists(st.text(max_size=5), max_size=2)
    | st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)
    | st.sampled_from(["op://A/I/f", "tenant.us.auth0.com", "http://127.0.0.1:1/", "api"])
)
_keys = st.sampled_from(
    [
        ("vault", "backend"),
        ("vault", "name"),
        ("idp", "domain"),
        ("idp", "management_secret"),
        ("idp", "management_client_id"),
        ("break_glass", "email"),
        ("break_glass", "item"),
        ("break_glass", "password_recipe"),
        ("break_glass", "enrollment"),
        ("agent", "secret"),
        ("agent", "audience"),
        ("seed", "from"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(where=_keys, new=_values)
def test_any_value_at_any_key_gives_a_plan_or_a_usage_error(
    where: tuple[str, str], new: object
) -> None:
    section, key = where
    if section == "seed":
        text = seeds_text({"from": new, "to": "aws-secretsmanager://us-east-1/a"})
    else:
        text = with_change(section, key, new)
    try:
        plan = parse_plan(text, "fuzz")
    except UsageError as error:
        assert "\n" not in str(error)
    else:
        assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()
