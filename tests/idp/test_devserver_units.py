"""The dev IdP's parts without HTTP: tenant files, secrets, hashes, TOTP checks, tickets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.idp.devkit import ENV, PASSWORD
from vaultborn.core.errors import UsageError
from vaultborn.core.files import MAX_FILE_BYTES
from vaultborn.idp.devserver.hashing import CLIENT_COST, PASSWORD_COST, hash_secret, verify_secret
from vaultborn.idp.devserver.mfa import PERIOD, new_seed
from vaultborn.idp.devserver.records import iso
from vaultborn.idp.devserver.store import Store
from vaultborn.idp.devserver.tenant import MANAGEMENT, demo_tenant, resolve_client_secrets
from vaultborn.idp.devserver.tenant_file import load_tenant, parse_tenant
from vaultborn.idp.errors import IdPConflict, IdPNotFound
from vaultborn.vault.otp import OtpParameters
from vaultborn.vault.secret import Secret

ISSUE_TENANT = """
protected_audience = "https://api.example.com"   # the identifier the protected demo API accepts
[[clients]]
client_id = "mgmt"
secret_env = "MGMT_SECRET"
audiences = ["management"]
scopes = ["read:users", "create:users", "create:guardian_enrollment_tickets",
          "create:authentication_methods", "read:authentication_methods"]
[[clients]]
client_id = "agent"
secret_env = "AGENT_SECRET"
audiences = ["https://api.example.com"]
scopes = ["read:whoami"]
claims = { owner = "ops", agent_type = "ci" }
"""
NOW = 1_800_000_000.0


def test_the_issue_tenant_parses() -> None:
    tenant = parse_tenant(ISSUE_TENANT)
    assert tenant.protected_audience == "https://api.example.com"
    mgmt, agent = tenant.clients
    assert mgmt.audiences == (MANAGEMENT,) and mgmt.secret_env == "MGMT_SECRET"
    assert agent.claims == {"owner": "ops", "agent_type": "ci"}
    assert tenant.token_lifetime == 86400 and tenant.key_grace == 86400
    assert tenant.rate_limit.requests == 1000 and tenant.require_human_check is False


def test_a_tenant_from_a_path_and_optional_keys(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        'protected_audience = "x"\ntoken_lifetime = 600\nrequire_human_check = true\n'
        "rate_limit = { requests = 5, per_seconds = 0.5 }\n"
    )
    tenant = load_tenant(path)
    assert tenant.token_lifetime == 600 and tenant.key_grace == 600
    assert tenant.require_human_check and tenant.rate_limit.per_seconds == 0.5
    assert load_tenant(tenant) is tenant


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "tenant: protected_audience is required"),
        ("protected_audience = 3", "tenant: protected_audience must be a string"),
        ('protected_audience = "x"\nfoo = 1', "tenant: unknown key 'foo'"),
        ('protected_audience = "x"\ntoken_lifetime = -1',
         "tenant: token_lifetime must be positive"),
        ('protected_audience = "x"\nrate_limit = { requests = 0 }',
         "tenant: rate_limit.requests must be positive"),
        ('protected_audience = "x"\nrate_limit = { burst = 1 }',
         "tenant: unknown key 'rate_limit.burst'"),
        ('protected_audience = "x"\n[[clients]]\nsecret_env = "A"\naudiences = ["a"]',
         "tenant: clients[0].client_id is required"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         'secret_ref = "op://v/i/f"\naudiences = ["a"]',
         "tenant: clients[0] needs exactly one of secret_env, secret_ref or public_key_ref"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         'public_key_ref = "op://v/k/public key"\naudiences = ["a"]',
         "tenant: clients[0] needs exactly one of secret_env, secret_ref or public_key_ref"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\n'
         'public_key_ref = "v/k/public key"\naudiences = ["a"]',
         "tenant: clients[0].public_key_ref must be an op:// reference"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_ref = "v/i/f"\n'
         'audiences = ["a"]', "tenant: clients[0].secret_ref must be an op:// reference"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         "audiences = []", "tenant: clients[0].audiences must name at least one audience"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         'audiences = ["a"]\nscopes = ["has space"]',
         "tenant: clients[0].scopes[0] is not a valid value"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         'audiences = ["a"]\nclaims = { sub = "root" }',
         "tenant: clients[0].claims may not set the reserved claim 'sub'"),
        ('protected_audience = "x"\n[[clients]]\nclient_id = "a"\nsecret_env = "A"\n'
         'audiences = ["a"]\n[[clients]]\nclient_id = "a"\nsecret_env = "B"\naudiences = ["a"]',
         "tenant: client_id 'a' is declared twice"),
        ("protected_audience = ", "tenant: not valid TOML"),
    ],
)  # fmt: skip
def test_tenant_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_tenant(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_an_unreadable_tenant_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        load_tenant(tmp_path / "missing.toml")


@pytest.mark.robustness("hostile input: devices and huge files named as plan, env or tenant files")
@pytest.mark.parametrize(
    ("name", "reason"),
    [("/dev/zero", "not a regular file"), ("big.toml", "larger than the 1 MiB limit")],
)
def test_a_tenant_file_is_read_with_a_bound(tmp_path: Path, name: str, reason: str) -> None:
    (tmp_path / "big.toml").write_bytes(b"# a comment\n" * (MAX_FILE_BYTES // 12 + 1))
    path = tmp_path / name
    with pytest.raises(UsageError) as caught:
        load_tenant(path)
    assert str(caught.value) == f"tenant: cannot read {path}: {reason}"


def test_secrets_come_from_memory_env_or_the_vault() -> None:
    handed = Secret("m" * 40)
    tenant = demo_tenant(mgmt_secret=handed, agent_secret_ref="op://ACL/agent/credential")
    reads: list[str] = []

    def resolve(ref: str) -> Secret:
        reads.append(ref)
        return Secret("v" * 40)

    secrets = resolve_client_secrets(tenant, env={}, resolve_secret=resolve)
    assert secrets["mgmt"] is handed
    assert secrets["agent"].reveal() == "v" * 40 and reads == ["op://ACL/agent/credential"]
    from_env = resolve_client_secrets(demo_tenant(), env=ENV, resolve_secret=None)
    assert from_env["agent"].reveal() == ENV["AGENT_SECRET"]


def test_secret_problems_are_one_line_usage_errors() -> None:
    with pytest.raises(UsageError, match="'mgmt': the environment variable MGMT_SECRET"):
        resolve_client_secrets(demo_tenant(), env={"AGENT_SECRET": "a" * 40}, resolve_secret=None)
    with pytest.raises(UsageError, match="'agent': secret_ref needs a vault"):
        resolve_client_secrets(
            demo_tenant(agent_secret_ref="op://a/b/c"), env=ENV, resolve_secret=None
        )
    with pytest.raises(UsageError, match="at least 32 are required") as caught:
        resolve_client_secrets(
            demo_tenant(), env={**ENV, "AGENT_SECRET": "short"}, resolve_secret=None
        )
    assert "short" not in str(caught.value)


def test_hashes_are_salted_and_checked() -> None:
    secret = Secret("s" * 40)
    one, two = hash_secret(secret, CLIENT_COST), hash_secret(secret, CLIENT_COST)
    assert one != two and "s" * 8 not in one
    assert one.startswith("scrypt$11$8$1$")
    assert verify_secret(secret, one) and verify_secret(secret, two)
    assert not verify_secret(Secret("s" * 39), one)
    assert hash_secret(secret, PASSWORD_COST).startswith("scrypt$14$")
    for broken in ("", "scrypt$x", "scrypt$40$8$1$AA==$AA==", one[:-8], "bcrypt$1$2$3$4$5"):
        assert not verify_secret(secret, broken)


def test_iso_times_look_like_auth0() -> None:
    assert iso(0.5) == "1970-01-01T00:00:00.500Z"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "idp.db")
    yield opened
    opened.close()


def _user(store: Store) -> str:
    return store.users.create(
        email="Drill@Example.com", connection="db", password=Secret(PASSWORD), now=NOW
    ).user_id


def test_codes_within_one_step_are_accepted_once(store: Store) -> None:
    user_id = _user(store)
    seed = new_seed()
    pending = store.mfa.add_totp(user_id, seed, now=NOW, confirmed=False)
    params = OtpParameters(seed=seed, period=PERIOD)
    # An unconfirmed authenticator does not log anyone in ...
    assert store.mfa.verify_code(user_id, params.code(NOW), now=NOW) is None
    # ... until a code confirms it (the end of an enrollment).
    confirmed = store.mfa.verify_code(
        user_id, params.code(NOW), now=NOW, authenticator_id=pending.id
    )
    assert confirmed is not None and confirmed.confirmed
    assert store.mfa.verify_code(user_id, params.code(NOW), now=NOW) is None  # replay
    assert store.mfa.verify_code(user_id, params.code(NOW - PERIOD), now=NOW) is not None
    assert store.mfa.verify_code(user_id, params.code(NOW + PERIOD), now=NOW) is not None
    assert store.mfa.verify_code(user_id, params.code(NOW + 2 * PERIOD), now=NOW) is None
    assert store.mfa.verify_code(user_id, params.code(NOW - 2 * PERIOD), now=NOW) is None
    assert store.mfa.verify_code(user_id, Secret("12345x"), now=NOW + 600) is None
    with pytest.raises(IdPConflict):
        store.mfa.add_totp(user_id, new_seed(), now=NOW, confirmed=True)


def test_tickets_are_single_use_and_expire(store: Store) -> None:
    user_id = _user(store)
    ticket = store.mfa.create_ticket(user_id, now=NOW, lifetime=60)
    record = store.mfa.ticket(ticket)
    assert record is not None and record.user_id == user_id and record.usable(NOW)
    assert not record.usable(NOW + 60)
    assert store.mfa.use_ticket(ticket, now=NOW + 1)
    assert not store.mfa.use_ticket(ticket, now=NOW + 2)
    assert store.mfa.ticket("nope") is None
    later = store.mfa.create_ticket(user_id, now=NOW, lifetime=60)
    assert not store.mfa.use_ticket(later, now=NOW + 61)
    with pytest.raises(IdPNotFound):
        store.mfa.create_ticket("auth0|nobody", now=NOW, lifetime=60)


def test_removing_a_tickets_pending_authenticator_uses_the_ticket_up(store: Store) -> None:
    """What a crashed enrollment leaves (a ticket and its unconfirmed seed) goes together."""
    user_id = _user(store)
    ticket = store.mfa.create_ticket(user_id, now=NOW, lifetime=5 * 86400)
    pending = store.mfa.ticket_totp(ticket, now=NOW)
    assert pending is not None and not pending.confirmed

    assert store.mfa.delete_authenticator(user_id, pending.id, now=NOW + 1)

    record = store.mfa.ticket(ticket)
    assert record is not None and record.used == NOW + 1
    assert store.mfa.ticket_totp(ticket, now=NOW + 2) is None  # its URL enrolls nothing now
    assert store.mfa.authenticators(user_id) == []
    assert not store.mfa.delete_authenticator(user_id, pending.id, now=NOW + 3)


def test_an_enrolled_user_has_no_open_single_enrollment_ticket(store: Store) -> None:
    user_id = _user(store)
    tickets = [store.mfa.create_ticket(user_id, now=NOW, lifetime=600) for _ in range(3)]
    kept = store.mfa.create_ticket(user_id, now=NOW, lifetime=600, allow_multiple=True)
    pending = store.mfa.ticket_totp(tickets[0], now=NOW)
    assert pending is not None
    params = OtpParameters(seed=pending.seed)

    assert store.mfa.confirm_ticket_totp(tickets[0], params.code(NOW), now=NOW) is not None

    for ticket in tickets:  # the one that enrolled, and the two a crash had left unused
        record = store.mfa.ticket(ticket)
        assert record is not None and record.used == NOW
    kept_record = store.mfa.ticket(kept)
    assert kept_record is not None and kept_record.usable(NOW)


def test_password_checks_for_the_login_page(store: Store) -> None:
    user_id = _user(store)
    user = store.users.check_password("drill@example.com", Secret(PASSWORD), now=NOW + 5)
    assert user is not None and user.user_id == user_id and user.logins_count == 1
    assert user.as_auth0()["last_login"] == iso(NOW + 5)
    assert store.users.check_password("drill@example.com", Secret("wrong"), now=NOW) is None
    assert store.users.check_password("nobody@example.com", Secret(PASSWORD), now=NOW) is None
