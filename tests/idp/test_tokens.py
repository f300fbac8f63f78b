"""TokenSource: secrets read from the vault per request, caching, expiry, single-flight."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx
import pytest

from tests.idp.devkit import API
from tests.idp.jwtkit import NOW, Signer
from tests.idp.support import (
    M2M_REF,
    M2M_TITLE,
    MOCK_DOMAIN,
    SECRET,
    CountingVault,
    MockTokenEndpoint,
    m2m_vault,
)
from vaultborn.core.errors import UsageError
from vaultborn.idp.devserver.server import RunningDevIdP
from vaultborn.idp.errors import IdPAuthenticationFailed, IdPForbidden, IdPUnavailable
from vaultborn.idp.http import HttpRetry
from vaultborn.idp.tokens import TokenSource, client_id_for
from vaultborn.idp.verify import HttpJwks, JwtVerifier, unverified_claims
from vaultborn.vault.assignment import parse_assignment
from vaultborn.vault.items import ItemEdit, ItemSpec
from vaultborn.vault.model import Category
from vaultborn.vault.secret import Secret

AUD = "https://api.example.com"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("k1")


@pytest.fixture
def vault(home: Path) -> CountingVault:
    return CountingVault(m2m_vault(home))


def source(
    vault: CountingVault, idp: MockTokenEndpoint, clock: Clock | None = None, **kw: object
) -> TokenSource:
    return TokenSource(
        vault,  # type: ignore[arg-type]
        domain=MOCK_DOMAIN,
        http=idp.client(),
        async_http=idp.async_client(),
        clock=clock or Clock(),
        policy=HttpRetry(attempts=1),
        **kw,  # type: ignore[arg-type]
    )


def test_a_token_is_a_secret_obtained_with_the_vaults_client_secret(
    vault: CountingVault, signer: Signer
) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET})
    token = source(vault, idp).token("agent", M2M_REF, AUD)
    assert isinstance(token, Secret) and token.reveal() not in repr(token)
    assert unverified_claims(token)["aud"] == AUD
    assert idp.bodies == [
        {
            "grant_type": "client_credentials",
            "client_id": "agent",
            "client_secret": SECRET,
            "audience": AUD,
        }
    ]
    assert vault.reads == 1


def test_cached_until_the_margin_before_expiry_then_refreshed(
    vault: CountingVault, signer: Signer
) -> None:
    clock = Clock()
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET}, clock=clock, expires_in=3600)
    tokens = source(vault, idp, clock, refresh_margin=60)
    first = tokens.token("agent", M2M_REF, AUD)
    clock.now += 3539
    assert tokens.token("agent", M2M_REF, AUD) is first
    assert idp.count == 1 and vault.reads == 1
    clock.now += 2
    second = tokens.token("agent", M2M_REF, AUD)
    assert second is not first and idp.count == 2 and vault.reads == 2
    assert tokens.stats.requests == 2 and tokens.stats.hits == 1


def test_short_lived_tokens_are_still_cached_for_half_their_life(
    vault: CountingVault, signer: Signer
) -> None:
    clock = Clock()
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET}, clock=clock, expires_in=60)
    tokens = source(vault, idp, clock, refresh_margin=60)
    tokens.token("agent", M2M_REF, AUD)
    clock.now += 29
    tokens.token("agent", M2M_REF, AUD)
    assert idp.count == 1
    clock.now += 2
    tokens.token("agent", M2M_REF, AUD)
    assert idp.count == 2


def test_the_jwt_exp_wins_over_a_longer_expires_in(vault: CountingVault, signer: Signer) -> None:
    clock = Clock()

    def handler(request: httpx.Request) -> httpx.Response:
        token = signer.mint({"exp": int(NOW) + 100})
        return httpx.Response(200, json={"access_token": token, "expires_in": 86400})

    tokens = TokenSource(
        vault,  # type: ignore[arg-type]
        domain=MOCK_DOMAIN,
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        clock=clock,
    )
    tokens.token("agent", M2M_REF, AUD)
    clock.now += 51
    tokens.token("agent", M2M_REF, AUD)
    assert tokens.stats.requests == 2


def test_each_key_has_its_own_token(vault: CountingVault, signer: Signer) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET})
    tokens = source(vault, idp)
    a = tokens.token("agent", M2M_REF, AUD)
    b = tokens.token("agent", M2M_REF, "https://other.example.com")
    assert a != b and idp.count == 2
    tokens.invalidate("agent", AUD)
    tokens.token("agent", M2M_REF, AUD)
    assert idp.count == 3


def test_the_secret_is_read_from_the_vault_at_request_time(
    vault: CountingVault, signer: Signer
) -> None:
    clock = Clock()
    rotated = "rotated-" + SECRET
    idp = MockTokenEndpoint(signer, clients={"agent": rotated}, clock=clock)
    tokens = source(vault, idp, clock)
    with pytest.raises(IdPAuthenticationFailed):
        tokens.token("agent", M2M_REF, AUD)
    edit = ItemEdit(assignments=(parse_assignment(f"credential={rotated}"),))
    vault.inner.edit_item("ACL", M2M_TITLE, edit)
    assert tokens.token("agent", M2M_REF, AUD)
    assert [b["client_secret"] for b in idp.bodies] == [SECRET, rotated]


def test_a_refused_secret_is_tried_as_the_previous_value_a_rotation_keeps(
    vault: CountingVault, signer: Signer
) -> None:
    """Mid-rotation the vault is ahead of the IdP: the item's previous value gets the token."""
    rotated = "rotated-" + SECRET
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET})
    edit = ItemEdit(
        assignments=(
            parse_assignment(f"credential={rotated}"),
            parse_assignment(f"previous credential[concealed]={SECRET}"),
        )
    )
    vault.inner.edit_item("ACL", M2M_TITLE, edit)
    assert source(vault, idp).token("agent", M2M_REF, AUD)
    assert [b["client_secret"] for b in idp.bodies] == [rotated, SECRET]
    with pytest.raises(IdPAuthenticationFailed):  # a check of exactly the vault's value
        source(vault, idp).token("agent", M2M_REF, AUD, fallback=False)


def test_a_refused_secret_never_appears_in_the_error(vault: CountingVault, signer: Signer) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": "other"}, echo_secret=True)
    with pytest.raises(IdPAuthenticationFailed) as caught:
        source(vault, idp).token("agent", M2M_REF, AUD)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)
    assert caught.value.error == "access_denied" and "/oauth/token → 401" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize(
    "answer",
    [{"token_type": "Bearer"}, {"access_token": "x", "expires_in": 0}, [1], {"access_token": 5}],
)
def test_a_strange_answer_is_unavailable(vault: CountingVault, answer: object) -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer)))
    tokens = TokenSource(vault, domain=MOCK_DOMAIN, http=client)  # type: ignore[arg-type]
    with pytest.raises(IdPUnavailable):
        tokens.token("agent", M2M_REF, AUD)


def test_fifty_threads_make_one_request(vault: CountingVault, signer: Signer) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET}, delay=0.05)
    tokens = source(vault, idp)
    barrier = threading.Barrier(50)
    results: list[Secret] = []

    def call() -> None:
        barrier.wait()
        results.append(tokens.token("agent", M2M_REF, AUD))

    threads = [threading.Thread(target=call) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 50 and all(r is results[0] for r in results)
    assert idp.count == 1 and vault.reads == 1
    assert tokens.stats.requests == 1 and tokens.stats.hits == 49


def test_fifty_tasks_make_one_request(vault: CountingVault, signer: Signer) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET}, delay=0.05)
    tokens = source(vault, idp)

    async def run() -> list[Secret]:
        return await asyncio.gather(*(tokens.atoken("agent", M2M_REF, AUD) for _ in range(50)))

    results = asyncio.run(run())
    assert all(r is results[0] for r in results)
    assert idp.count == 1 and vault.reads == 1
    assert tokens.stats.requests == 1 and tokens.stats.hits == 49
    # A second event loop finds the cache.
    assert asyncio.run(tokens.atoken("agent", M2M_REF, AUD)) is results[0]


def test_tasks_share_one_failure_and_the_next_call_tries_again(
    vault: CountingVault, signer: Signer
) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": "other"}, delay=0.02, echo_secret=True)
    tokens = source(vault, idp)

    async def run() -> list[BaseException | Secret]:
        calls = (tokens.atoken("agent", M2M_REF, AUD) for _ in range(10))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(run())
    assert all(isinstance(r, IdPAuthenticationFailed) for r in results) and idp.count == 1
    assert all(SECRET not in str(r) for r in results)
    with pytest.raises(IdPAuthenticationFailed):
        asyncio.run(tokens.atoken("agent", M2M_REF, AUD))
    assert idp.count == 2


def test_a_cancelled_waiter_does_not_cancel_the_flight(
    vault: CountingVault, signer: Signer
) -> None:
    idp = MockTokenEndpoint(signer, clients={"agent": SECRET}, delay=0.05)
    tokens = source(vault, idp)

    async def run() -> Secret:
        quitter = asyncio.create_task(tokens.atoken("agent", M2M_REF, AUD))
        stayer = asyncio.create_task(tokens.atoken("agent", M2M_REF, AUD))
        await asyncio.sleep(0.01)
        quitter.cancel()
        return await stayer

    assert asyncio.run(run()) and idp.count == 1


# -- the client id beside the secret ----------------------------------------------------------


def test_client_id_from_the_items_username(vault: CountingVault) -> None:
    assert client_id_for(vault.inner, M2M_REF) == "agent"
    assert client_id_for(vault.inner, "op://acl/Auth0 M2M - my-agent/credential") == "agent"


def test_a_client_id_field_wins_even_when_concealed(home: Path) -> None:
    store = m2m_vault(home, client_id="ignored")
    edit = ItemEdit(assignments=(parse_assignment("client_id=abc123"),))
    store.edit_item("ACL", M2M_TITLE, edit)
    assert client_id_for(store, M2M_REF) == "abc123"


def test_no_client_id_is_a_usage_error(home: Path) -> None:
    store = m2m_vault(home, client_id="")
    store.create_item(
        "ACL",
        ItemSpec(
            title="plain",
            category=Category.PASSWORD,
            assignments=(parse_assignment("password=x"),),
        ),
    )
    with pytest.raises(UsageError, match="--client-id"):
        client_id_for(store, M2M_REF)
    with pytest.raises(UsageError, match="--client-id"):
        client_id_for(store, "op://ACL/plain/password")


# -- against the real dev IdP over HTTP ---------------------------------------------------------


def test_a_dev_idp_token_verifies_against_its_jwks(
    dev_idp: RunningDevIdP, agent_secret: str, home: Path
) -> None:
    vault = CountingVault(m2m_vault(home, secret=agent_secret))
    with httpx.Client(timeout=10) as http:
        tokens = TokenSource(vault, domain=dev_idp.base_url, http=http)  # type: ignore[arg-type]
        token = tokens.token("agent", M2M_REF, API)
        assert tokens.token("agent", M2M_REF, API) is token
        keys = HttpJwks(dev_idp.base_url + ".well-known/jwks.json", client=http)
        verifier = JwtVerifier(
            issuer=dev_idp.issuer,
            audience=API,
            keys=keys,
            required_claims=("iss", "aud", "exp", "iat", "sub", "owner"),
        )
        claims = verifier.verify(token)
    assert claims["sub"] == "agent@clients" and claims["gty"] == "client-credentials"
    assert (claims["owner"], claims["agent_type"]) == ("ops", "ci")
    assert tokens.stats.requests == 1 and vault.reads == 1 and keys.fetches == 1


def test_fifty_threads_and_fifty_tasks_on_the_dev_idp(
    dev_idp: RunningDevIdP, agent_secret: str, home: Path
) -> None:
    vault = m2m_vault(home, secret=agent_secret)
    with httpx.Client(timeout=10) as http:
        tokens = TokenSource(vault, domain=dev_idp.base_url, http=http)
        barrier = threading.Barrier(50)
        threads = [
            threading.Thread(target=lambda: (barrier.wait(), tokens.token("agent", M2M_REF, API)))
            for _ in range(50)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert tokens.stats.requests == 1 and tokens.stats.hits == 49

    async def tasks() -> TokenSource:
        with TokenSource(vault, domain=dev_idp.base_url) as fresh:
            await asyncio.gather(*(fresh.atoken("agent", M2M_REF, API) for _ in range(50)))
        return fresh

    assert asyncio.run(tasks()).stats.requests == 1


def test_a_wrong_secret_in_the_vault_is_refused_without_showing_it(
    dev_idp: RunningDevIdP, home: Path
) -> None:
    wrong = "wrong-secret-" + SECRET
    tokens = TokenSource(m2m_vault(home, secret=wrong), domain=dev_idp.base_url)
    with tokens, pytest.raises(IdPAuthenticationFailed) as caught:
        tokens.token("agent", M2M_REF, API)
    assert wrong not in str(caught.value) and caught.value.status == 401


def test_an_audience_without_a_grant_is_forbidden(
    dev_idp: RunningDevIdP, agent_secret: str, home: Path
) -> None:
    tokens = TokenSource(m2m_vault(home, secret=agent_secret), domain=dev_idp.base_url)
    with tokens, pytest.raises(IdPForbidden) as caught:
        tokens.token("agent", M2M_REF, "https://not-granted.example.com")
    assert caught.value.status == 403 and agent_secret not in str(caught.value)
