"""The dev IdP's private_key_jwt (RFC 7523 §2.2), proved with an independent client.

Keys come from ``cryptography`` and assertions from plain PyJWT, built here claim by claim:
nothing of vaultborn's signer is used, so a bug shared by both halves cannot pass. Clients are
made and switched to their key through the Management API, as an Auth0 tenant's would be.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.idp.devkit import API, bearer, db_bytes, mgmt_token
from vaultborn.idp.devserver.client_keys import ClientKeys
from vaultborn.idp.devserver.db import Database
from vaultborn.idp.devserver.server import RunningDevIdP

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HOSTILE = pytest.mark.robustness("hostile input: client assertions")

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _public_pem(key: PrivateKey) -> str:
    raw = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw.decode()


def _private_pem(key: PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return raw.decode()


@dataclass(frozen=True)
class KeyClient:
    """A client of the shared dev IdP that authenticates with ``key`` (and once had ``secret``)."""

    client_id: str
    key: PrivateKey
    alg: str
    kid: str
    credential_id: str
    secret: str

    def assertion(self, aud: str, **changes: Any) -> str:
        """A good assertion for ``aud``; ``changes`` override claims (None drops one)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": aud,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        key = changes.pop("key", self.key)
        alg = changes.pop("alg", self.alg)
        kid = changes.pop("kid", self.kid)
        headers = {"kid": kid} if kid is not None else {}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg, headers=headers)


def _make_client(http: httpx.Client, mgmt: str, key: PrivateKey, alg: str) -> KeyClient:
    secret = secrets.token_urlsafe(32)
    made = http.post(
        "api/v2/clients",
        json={"name": "key agent", "app_type": "non_interactive", "client_secret": secret},
        headers=bearer(mgmt),
    )
    assert made.status_code == 201, made.text
    client_id = made.json()["client_id"]
    granted = http.post(
        "api/v2/client-grants",
        json={"client_id": client_id, "audience": API, "scope": ["read:whoami"]},
        headers=bearer(mgmt),
    )
    assert granted.status_code == 201, granted.text
    cred = http.post(
        f"api/v2/clients/{client_id}/credentials",
        json={"credential_type": "public_key", "pem": _public_pem(key), "alg": alg},
        headers=bearer(mgmt),
    )
    assert cred.status_code == 201, cred.text
    body = cred.json()
    methods = {"private_key_jwt": {"credentials": [{"id": body["id"]}]}}
    patched = http.patch(
        f"api/v2/clients/{client_id}",
        json={"client_authentication_methods": methods},
        headers=bearer(mgmt),
    )
    assert patched.status_code == 200, patched.text
    return KeyClient(client_id, key, alg, body["kid"], body["id"], secret)


@pytest.fixture(scope="module")
def rsa_client(http: httpx.Client, mgmt: str) -> KeyClient:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _make_client(http, mgmt, key, "RS256")


@pytest.fixture(scope="module")
def ec_client(http: httpx.Client, mgmt: str) -> KeyClient:
    return _make_client(http, mgmt, ec.generate_private_key(ec.SECP256R1()), "ES256")


def _token(http: httpx.Client, assertion: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        "audience": API,
        **extra,
    }
    return http.post("oauth/token", data=form)


def _refused(response: httpx.Response, words: str, status: int = 401) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == ("invalid_client" if status == 401 else "invalid_request"), body
    assert words in body["error_description"], body


# -- what works -------------------------------------------------------------------------------


def test_discovery_advertises_private_key_jwt(http: httpx.Client) -> None:
    doc = http.get(".well-known/openid-configuration").json()
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert {"RS256", "ES256"} <= set(doc["token_endpoint_auth_signing_alg_values_supported"])


@pytest.mark.parametrize("aud", ["token endpoint", "issuer", "auth0 sdk issuer"])
@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_a_good_assertion_gets_a_token(
    http: httpx.Client,
    dev_idp: RunningDevIdP,
    rsa_client: KeyClient,
    ec_client: KeyClient,
    which: str,
    aud: str,
) -> None:
    client = rsa_client if which == "rsa" else ec_client
    audience = {
        "token endpoint": dev_idp.base_url + "oauth/token",
        "issuer": dev_idp.issuer,
        "auth0 sdk issuer": "https://" + dev_idp.issuer.removeprefix("http://"),
    }[aud]
    answer = _token(http, client.assertion(audience), client_id=client.client_id)
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["aud"], claims["azp"]) == (
        f"{client.client_id}@clients",
        API,
        client.client_id,
    )


def test_a_json_body_without_client_id_or_kid_works_too(
    http: httpx.Client, dev_idp: RunningDevIdP, rsa_client: KeyClient
) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": rsa_client.assertion(dev_idp.issuer, kid=None),
        "audience": API,
    }
    # Without a kid (optional in Auth0's and RFC 7523's terms) the server tries each key.
    answer = http.post("oauth/token", json=body)
    assert answer.status_code == 200, answer.text


def test_the_credential_and_the_converted_client_have_auth0s_shape(
    http: httpx.Client, mgmt: str, rsa_client: KeyClient
) -> None:
    listed = http.get(f"api/v2/clients/{rsa_client.client_id}/credentials", headers=bearer(mgmt))
    assert listed.status_code == 200
    (cred,) = listed.json()
    assert cred["id"] == rsa_client.credential_id and cred["credential_type"] == "public_key"
    assert cred["alg"] == "RS256" and cred["kid"] == rsa_client.kid
    assert set(cred) == {"id", "name", "kid", "alg", "credential_type", "created_at", "updated_at"}
    client = http.get(f"api/v2/clients/{rsa_client.client_id}", headers=bearer(mgmt)).json()
    assert client["token_endpoint_auth_method"] is None
    assert client["client_authentication_methods"] == {
        "private_key_jwt": {"credentials": [{"id": rsa_client.credential_id}]}
    }


def test_the_kid_defaults_to_the_rfc_7638_thumbprint(rsa_client: KeyClient) -> None:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_client.key.public_key(), as_dict=True)
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    assert rsa_client.kid == _b64(digest)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_replacing_the_key_retires_the_old_one(
    http: httpx.Client, dev_idp: RunningDevIdP, mgmt: str
) -> None:
    old = _make_client(http, mgmt, ec.generate_private_key(ec.SECP256R1()), "ES256")
    new_key = ec.generate_private_key(ec.SECP256R1())
    added = http.post(
        f"api/v2/clients/{old.client_id}/credentials",
        json={"credential_type": "public_key", "pem": _public_pem(new_key), "alg": "ES256"},
        headers=bearer(mgmt),
    ).json()
    methods = {"private_key_jwt": {"credentials": [{"id": added["id"]}]}}
    patched = http.patch(
        f"api/v2/clients/{old.client_id}",
        json={"client_authentication_methods": methods},
        headers=bearer(mgmt),
    )
    assert patched.status_code == 200, patched.text
    new = KeyClient(old.client_id, new_key, "ES256", added["kid"], added["id"], old.secret)
    _refused(_token(http, old.assertion(dev_idp.issuer)), "unknown client")
    assert _token(http, new.assertion(dev_idp.issuer)).status_code == 200
    gone = http.delete(
        f"api/v2/clients/{old.client_id}/credentials/{old.credential_id}", headers=bearer(mgmt)
    )
    assert gone.status_code == 204
    kept = http.get(f"api/v2/clients/{old.client_id}/credentials", headers=bearer(mgmt)).json()
    assert [c["id"] for c in kept] == [added["id"]]


# -- hostile input ----------------------------------------------------------------------------


@HOSTILE
def test_the_secret_no_longer_counts_once_the_client_has_a_key(
    http: httpx.Client, rsa_client: KeyClient
) -> None:
    answer = http.post(
        "oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": rsa_client.client_id,
            "client_secret": rsa_client.secret,
            "audience": API,
        },
    )
    assert answer.status_code == 401 and answer.json()["error"] == "access_denied"


@HOSTILE
def test_a_replayed_assertion_is_refused(
    http: httpx.Client, dev_idp: RunningDevIdP, rsa_client: KeyClient
) -> None:
    assertion = rsa_client.assertion(dev_idp.issuer)
    assert _token(http, assertion).status_code == 200
    _refused(_token(http, assertion), "used before")
    # The jti, not the bytes: a second assertion with the same jti is a replay too.
    jti = uuid.uuid4().hex
    assert _token(http, rsa_client.assertion(dev_idp.issuer, jti=jti)).status_code == 200
    _refused(_token(http, rsa_client.assertion(dev_idp.issuer, jti=jti)), "used before")


@HOSTILE
@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("another key", "unknown client"),
        ("unknown client", "unknown client"),
        ("another kid", "unknown client"),
        ("sub differs", "sub must equal its iss"),
        ("no iss", "has no iss"),
        ("client_id differs", "does not match"),
        ("aud elsewhere", "aud must be"),
        ("aud the management api", "aud must be"),
        ("expired", "expired"),
        ("exp an hour ahead", "expires too late"),
        ("lives too long", "lives too long"),
        ("iat in the future", "not valid yet"),
        ("nbf in the future", "not valid yet"),
        ("no jti", "no jti claim"),
        ("no exp", "no exp claim"),
        ("empty jti", "jti must be"),
        ("not a jwt", "not a signed JWT"),
        ("too long", "must be 1 to"),
        ("alg none", "must be signed with one of"),
        ("hs256 with the public key", "must be signed with one of"),
        ("ps256 for an rs256 key", "unknown client"),
    ],
)
def test_a_bad_assertion_is_refused_with_invalid_client(
    http: httpx.Client, dev_idp: RunningDevIdP, rsa_client: KeyClient, case: str, words: str
) -> None:
    aud, now, c = dev_idp.issuer, int(time.time()), rsa_client
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    extra: dict[str, str] = {}
    assertion = {
        "another key": lambda: c.assertion(aud, key=other),
        "unknown client": lambda: c.assertion(aud, iss="nobody-here", sub="nobody-here"),
        "another kid": lambda: c.assertion(aud, kid="some-other-kid-0001"),
        "sub differs": lambda: c.assertion(aud, sub="someone-else"),
        "no iss": lambda: c.assertion(aud, iss=None),
        "client_id differs": lambda: c.assertion(aud),
        "aud elsewhere": lambda: c.assertion("https://other.example.com/oauth/token"),
        "aud the management api": lambda: c.assertion(dev_idp.management_audience),
        "expired": lambda: c.assertion(aud, iat=now - 600, exp=now - 300),
        "exp an hour ahead": lambda: c.assertion(aud, exp=now + 3600),
        "lives too long": lambda: c.assertion(aud, iat=now - 3000, exp=now + 60),
        "iat in the future": lambda: c.assertion(aud, iat=now + 600, exp=now + 660),
        "nbf in the future": lambda: c.assertion(aud, nbf=now + 120),
        "no jti": lambda: c.assertion(aud, jti=None),
        "no exp": lambda: c.assertion(aud, exp=None),
        "empty jti": lambda: c.assertion(aud, jti=""),
        "not a jwt": lambda: "not.a.jwt",
        "too long": lambda: c.assertion(aud, pad="x" * 9000),
        "alg none": lambda: jwt.encode({"iss": c.client_id}, None, algorithm="none"),
        "hs256 with the public key": lambda: _hs256_with_public_key(c, aud),
        "ps256 for an rs256 key": lambda: c.assertion(aud, alg="PS256"),
    }[case]()
    if case == "client_id differs":
        extra["client_id"] = "someone-else"
    _refused(_token(http, assertion, **extra), words)


def _hs256_with_public_key(client: KeyClient, aud: str) -> str:
    """The alg-confusion attack: the public key (which anyone may know) as an HMAC secret."""
    header = {"alg": "HS256", "typ": "JWT", "kid": client.kid}
    payload = {"iss": client.client_id, "sub": client.client_id, "aud": aud,
               "exp": int(time.time()) + 60, "jti": uuid.uuid4().hex}  # fmt: skip
    signing_input = ".".join(_b64(json.dumps(part).encode()) for part in (header, payload))
    mac = hmac.new(_public_pem(client.key).encode(), signing_input.encode(), hashlib.sha256)
    return f"{signing_input}.{_b64(mac.digest())}"


@HOSTILE
@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"client_secret": "x" * 40}, "one client authentication method"),
        ({"client_assertion_type": "urn:example:other"}, "client_assertion_type must be"),
    ],
)
def test_a_request_mixing_or_misnaming_methods_is_a_bad_request(
    http: httpx.Client,
    dev_idp: RunningDevIdP,
    rsa_client: KeyClient,
    form: dict[str, str],
    words: str,
) -> None:
    _refused(_token(http, rsa_client.assertion(dev_idp.issuer), **form), words, status=400)


@HOSTILE
@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"credential_type": "x509_cert", "pem": "x"}, 400, "public_key only"),
        ({"credential_type": "public_key", "pem": "garbage"}, 400, "not a public key"),
        ({"credential_type": "public_key", "alg": "ES256"}, 400, "alg must be one of RS256"),
        ({"credential_type": "public_key", "kid": "short"}, 400, "kid must be"),
        ({"credential_type": "public_key", "pem": "PRIVATE"}, 400, "not a public key"),
    ],
    ids=["certificate-type", "garbage-pem", "alg-mismatch", "bad-kid", "a-private-key"],
)
def test_a_bad_credential_is_refused_and_nothing_private_is_kept(
    http: httpx.Client,
    mgmt: str,
    rsa_client: KeyClient,
    dev_idp: RunningDevIdP,
    body: dict[str, str],
    status: int,
    words: str,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = _private_pem(key)
    body = dict(body)
    if body.get("pem") == "PRIVATE":
        body["pem"] = private
    body.setdefault("pem", _public_pem(key))
    answer = http.post(
        f"api/v2/clients/{rsa_client.client_id}/credentials", json=body, headers=bearer(mgmt)
    )
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]
    assert private not in answer.text
    assert private.splitlines()[1].encode() not in db_bytes(dev_idp.context.store.db.path)


@HOSTILE
def test_credentials_need_their_scopes_and_real_ids(
    http: httpx.Client, dev_idp: RunningDevIdP, mgmt: str, rsa_client: KeyClient
) -> None:
    path = f"api/v2/clients/{rsa_client.client_id}"
    unknown = {"private_key_jwt": {"credentials": [{"id": "cred_nope"}]}}
    answer = http.patch(path, json={"client_authentication_methods": unknown}, headers=bearer(mgmt))
    assert answer.status_code == 404
    answer = http.patch(path, json={"name": "renamed"}, headers=bearer(mgmt))
    assert answer.status_code == 400 and "patches only" in answer.json()["message"]
    duplicate = http.post(
        path + "/credentials",
        json={"credential_type": "public_key", "pem": _public_pem(rsa_client.key)},
        headers=bearer(mgmt),
    )
    assert duplicate.status_code == 409
    reader = mgmt_token(dev_idp, scope="read:users")
    for method, url in (("POST", path + "/credentials"), ("PATCH", path)):
        answer = http.request(method, url, json={}, headers=bearer(reader))
        assert answer.status_code == 403, answer.text
        assert "Insufficient scope" in answer.json()["message"]
    missing = http.post(
        "api/v2/clients/nobody/credentials",
        json={"credential_type": "public_key", "pem": _public_pem(rsa_client.key)},
        headers=bearer(mgmt),
    )
    assert missing.status_code == 404


def test_used_jtis_are_kept_in_the_database(tmp_path: Any) -> None:
    """A second server process on the same file refuses a jti the first one took."""
    first, second = Database(tmp_path / "idp.db"), Database(tmp_path / "idp.db")
    try:
        now = time.time()
        assert ClientKeys(first).use_jti("agent", "jti-1", now + 60, now) is True
        assert ClientKeys(second).use_jti("agent", "jti-1", now + 60, now) is False
        assert ClientKeys(second).use_jti("other", "jti-1", now + 60, now) is True
        # Past its expiry the jti is forgotten: the assertion itself is refused as expired.
        assert ClientKeys(second).use_jti("agent", "jti-1", now + 120, now + 61) is True
    finally:
        first.close()
        second.close()
