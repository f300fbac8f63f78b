"""A real OpenID Provider for tests: panva's certified ``oidc-provider``, started on loopback.

``tests/thirdparty/oidc/op.mjs`` runs the provider and a protected API (``GET /api/whoami``) that
verifies bearer JWTs with ``jose``; this module starts it, reads the one JSON line it prints, and
stops it. Nothing here shares code with vaultborn: the OP is software no one here wrote.

Its node modules come from ``npm ci --prefix tests/thirdparty/oidc`` (``./dev test`` runs it). When
node or the modules are missing the tests skip, naming that command; under CI they fail.

The default clients (one per token endpoint auth method):

* ``agent-basic`` — ``client_secret_basic``; its secret holds ``+ / : % =`` so only a client that
  form-encodes id and secret before base64 (RFC 6749 §2.3.1) authenticates.
* ``agent-post`` — ``client_secret_post``.
* ``agent-jwt`` — ``private_key_jwt`` (RFC 7523), a fresh RSA key; ``client_assertion()`` signs one.

The default resource servers (RFC 8707): ``https://api.example.com`` (scope ``read:whoami``, the
protected API's audience) and ``https://other.example.com`` (scope ``read:other``). Tokens for them
are RS256 JWT access tokens (RFC 9068, ``typ: at+jwt``). A token request must name the resource
(``resource=``) and the scope (``scope=``): without a resource the provider issues an opaque token,
without a scope the JWT has no ``scope`` claim.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "API_RESOURCE",
    "API_SCOPE",
    "ASSERTION_TYPE",
    "NPM_CI",
    "OIDC_DIR",
    "OTHER_RESOURCE",
    "OTHER_SCOPE",
    "OPClient",
    "ResourceServer",
    "RunningOP",
    "default_clients",
    "default_resources",
    "oidc_op_fixture",
    "require_node",
    "start_oidc_provider",
]

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
NPM_CI = "npm ci --prefix tests/thirdparty/oidc --no-audit --no-fund"


def _min_node() -> int:
    """The major version in package.json's ``engines.node`` (``>=20``), which ./dev reads too.

    oidc-provider 9 has no engines field of its own: it runs on Node 20 and warns "Unsupported
    runtime" below 22.
    """
    engines = json.loads((OIDC_DIR / "package.json").read_text())["engines"]["node"]
    match = re.fullmatch(r">=\s*(\d+)", engines)
    assert match, f"package.json engines.node is {engines!r}, expected >=N"
    return int(match.group(1))


MIN_NODE = _min_node()

API_RESOURCE = "https://api.example.com"
API_SCOPE = "read:whoami"
OTHER_RESOURCE = "https://other.example.com"
OTHER_SCOPE = "read:other"

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class OPClient:
    """A registered client: ``client_secret`` for the secret methods, ``private_key`` for JWT.

    ``public_jwk`` registers a key whose private half the test does not hold (one born in a
    vault) instead of ``private_key``.
    """

    client_id: str
    auth_method: str
    client_secret: str | None = None
    private_key: rsa.RSAPrivateKey | None = field(default=None, repr=False)
    resources: tuple[str, ...] | None = None  # None: every resource server
    public_jwk: dict[str, str] | None = None

    def metadata(self) -> dict[str, Any]:
        """The client's registration, as op.mjs reads it."""
        meta: dict[str, Any] = {
            "client_id": self.client_id,
            "token_endpoint_auth_method": self.auth_method,
        }
        if self.client_secret is not None:
            meta["client_secret"] = self.client_secret
        if self.private_key is not None:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
            meta["jwks"] = {"keys": [{**jwk, "kid": f"{self.client_id}-key", "alg": "RS256"}]}
        if self.public_jwk is not None:
            meta["jwks"] = {"keys": [self.public_jwk]}
        if self.resources is not None:
            meta["resources"] = list(self.resources)
        return meta

    def client_assertion(self, audience: str, *, lifetime: int = 60) -> str:
        """A fresh RFC 7523 client assertion (``iss`` = ``sub`` = client_id, unique ``jti``)."""
        if self.private_key is None:
            raise ValueError(f"{self.client_id} has no private key ({self.auth_method})")
        now = int(time.time())
        return jwt.encode(
            {
                "iss": self.client_id,
                "sub": self.client_id,
                "aud": audience,
                "iat": now,
                "exp": now + lifetime,
                "jti": uuid.uuid4().hex,
            },
            self.private_key,
            algorithm="RS256",
            headers={"kid": f"{self.client_id}-key"},
        )


@dataclass(frozen=True)
class ResourceServer:
    """An RFC 8707 resource indicator the provider issues JWT access tokens for."""

    identifier: str
    scope: str
    access_token_ttl: int = 300

    def config(self) -> dict[str, Any]:
        """The resource server, as op.mjs reads it."""
        return {
            "identifier": self.identifier,
            "scope": self.scope,
            "access_token_ttl": self.access_token_ttl,
        }


def default_clients() -> list[OPClient]:
    """One client per auth method, with fresh secrets and key."""
    return [
        # Characters that form-encoding changes: a client that skips §2.3.1 sends another secret.
        OPClient("agent-basic", "client_secret_basic", f"{secrets.token_urlsafe(24)}+/:%="),
        OPClient("agent-post", "client_secret_post", secrets.token_urlsafe(32)),
        OPClient(
            "agent-jwt",
            "private_key_jwt",
            private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ),
    ]


def default_resources(access_token_ttl: int = 300) -> list[ResourceServer]:
    """The protected API's resource server and a second one the API must refuse."""
    return [
        ResourceServer(API_RESOURCE, API_SCOPE, access_token_ttl),
        ResourceServer(OTHER_RESOURCE, OTHER_SCOPE, access_token_ttl),
    ]


@dataclass
class RunningOP:
    """A started provider and protected API; a context manager that stops it on exit."""

    issuer: str
    discovery_url: str
    token_endpoint: str
    jwks_uri: str
    api_url: str
    signing_kid: str
    clients: tuple[OPClient, ...]
    resources: tuple[ResourceServer, ...]
    signing_key_path: Path  # the private signing JWK, for tests that mint tokens of their own
    stderr_log: Path
    startup_seconds: float
    process: subprocess.Popen[bytes] = field(repr=False)

    def client(self, auth_method: str) -> OPClient:
        """The first client registered with ``auth_method``."""
        for client in self.clients:
            if client.auth_method == auth_method:
                return client
        raise KeyError(f"no {auth_method} client registered")

    def stderr(self) -> str:
        """What the node process wrote to stderr so far."""
        return self.stderr_log.read_text(errors="replace")

    def signing_jwk(self) -> dict[str, Any]:
        """The provider's private signing key (a JWK with ``kid``)."""
        key: dict[str, Any] = json.loads(self.signing_key_path.read_text())
        return key

    def stop(self) -> None:
        """Stop the node process and reap it (closing stdin asks it to exit)."""
        _stop(self.process)

    def __enter__(self) -> RunningOP:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # already gone
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def _unavailable(reason: str, *, need_node: bool = False) -> NoReturn:
    then = f"install Node.js >= {MIN_NODE} with npm, then run" if need_node else "run"
    message = f"{reason}: {then} `{NPM_CI}` (./dev test does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_node() -> str:
    """The node executable, once node (>= 20) and the locked node modules are present.

    Skips (fails under CI) naming the install command otherwise.
    """
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not on PATH", need_node=True)
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)\.", out.stdout.strip())
    if match is None or int(match.group(1)) < MIN_NODE:
        _unavailable(f"{node} is {out.stdout.strip() or 'unusable'}", need_node=True)
    lock = json.loads((OIDC_DIR / "package-lock.json").read_text())
    for name in ("oidc-provider", "jose"):
        manifest = OIDC_DIR / "node_modules" / name / "package.json"
        want = lock["packages"][f"node_modules/{name}"]["version"]
        if not manifest.exists():
            _unavailable(f"{name} is not installed in tests/thirdparty/oidc/node_modules")
        have = json.loads(manifest.read_text())["version"]
        if have != want:
            _unavailable(f"{name} {have} is installed, the lock says {want}")
    return node


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert process.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return b""


def start_oidc_provider(
    tmp_dir: Path,
    *,
    clients: Sequence[OPClient] | None = None,
    resources: Sequence[ResourceServer] | None = None,
    default_resource: str | None = None,
    second_key: bool = True,
    timeout: float = 30.0,
) -> RunningOP:
    """Start the provider and its protected API; the caller stops it (or uses ``with``).

    Args:
        tmp_dir: Where the config, the signing key and the node process's stderr go.
        clients: The registered clients (default: ``default_clients()``).
        resources: The resource servers (default: ``default_resources()``, 300 s tokens).
        default_resource: The resource a token request without ``resource=`` gets (default:
            none, and such a request gets an opaque access token).
        second_key: Publish a second RSA key, first in the JWKS and never signing, so verifiers
            must choose by ``kid``.
        timeout: Seconds to wait for the process's startup line.
    """
    node = require_node()
    tmp_dir.mkdir(parents=True, exist_ok=True)
    clients = list(default_clients() if clients is None else clients)
    resources = list(default_resources() if resources is None else resources)
    config_path = tmp_dir / "op-config.json"
    signing_key_path = tmp_dir / "op-signing-key.json"
    stderr_log = tmp_dir / "op-stderr.log"
    config = {
        "clients": [client.metadata() for client in clients],
        "resources": [resource.config() for resource in resources],
        "default_resource": default_resource,
        "second_key": second_key,
        "signing_key_out": str(signing_key_path),
        "api": {"audience": API_RESOURCE, "scope": API_SCOPE},
    }
    config_path.write_text(json.dumps(config, indent=2))
    # Only what node needs: no proxy variables (loopback only), no NODE_OPTIONS from outside.
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(tmp_dir), "NO_COLOR": "1"}
    started = time.monotonic()
    with stderr_log.open("wb") as stderr:
        process = subprocess.Popen(
            [node, str(OIDC_DIR / "op.mjs"), str(config_path)],
            cwd=OIDC_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        line = _read_line(process, timeout)
        if not line:
            raise RuntimeError(
                f"op.mjs printed no startup line within {timeout} s "
                f"(exit {process.poll()}); its stderr:\n{stderr_log.read_text(errors='replace')}"
            )
        info = json.loads(line)
    except BaseException:
        _stop(process)
        raise
    return RunningOP(
        issuer=info["issuer"],
        discovery_url=info["discovery"],
        token_endpoint=info["token_endpoint"],
        jwks_uri=info["jwks_uri"],
        api_url=info["api_url"],
        signing_kid=info["signing_kid"],
        clients=tuple(clients),
        resources=tuple(resources),
        signing_key_path=signing_key_path,
        stderr_log=stderr_log,
        startup_seconds=time.monotonic() - started,
        process=process,
    )


@pytest.fixture(scope="session", name="oidc_op")
def oidc_op_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOP]:
    """One provider for the session (default clients and resources, 300 s tokens).

    Import it into a test module (``from tests.thirdparty.oidc_op import oidc_op_fixture``) and
    ask for ``oidc_op``.
    """
    with start_oidc_provider(tmp_path_factory.mktemp("oidc-op")) as op:
        yield op
