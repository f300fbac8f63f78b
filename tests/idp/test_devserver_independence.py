"""The dev IdP shares nothing with the client's verifier (``idp.verify``, ``idp.jwks``).

So that tests running the client against the dev IdP can catch a bug in either one: no module
of ``idp.devserver`` imports them, and the dev IdP serves with them made unimportable.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.idp.devkit import API, ENV

REPO = Path(__file__).resolve().parents[2]
DEVSERVER = REPO / "idp" / "devserver"
CLIENT_SIDE = ("idp.verify", "idp.jwks")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth in the file (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_dev_idp_module_imports_the_clients_verifier() -> None:
    modules = sorted(DEVSERVER.glob("*.py"))
    assert len(modules) > 20 and (DEVSERVER / "token_check.py") in modules
    for path in modules:
        bad = {
            m
            for m in _imports(path)
            # ``from idp import JwtVerifier`` would reach the verifier through the package.
            if m == "idp" or m in CLIENT_SIDE or m.startswith(tuple(c + "." for c in CLIENT_SIDE))
        }
        assert not bad, f"{path.name} imports {sorted(bad)}"


# The child process below makes the client-side modules unimportable (``idp``'s __init__
# imports its names lazily, so the package itself loads nothing of them): the dev IdP must
# then still start, issue tokens and check them at both of its APIs.
_CHILD = textwrap.dedent(
    """
    import importlib.abc, json, sys, tempfile
    from pathlib import Path

    BLOCKED = {blocked!r}

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name in BLOCKED:
                raise ImportError(name + " belongs to the client, not to the dev IdP")
            return None

    sys.meta_path.insert(0, Refuse())

    import httpx
    from vaultborn.idp.devserver.server import start_dev_idp
    from vaultborn.idp.devserver.tenant import demo_tenant

    env = {env!r}
    out = {{}}
    with tempfile.TemporaryDirectory() as tmp, start_dev_idp(
        demo_tenant(), db=Path(tmp) / "idp.db", env=env
    ) as idp, httpx.Client(base_url=idp.base_url, timeout=10) as http:
        def token(client_id, secret, audience):
            body = {{"grant_type": "client_credentials", "client_id": client_id,
                     "client_secret": secret, "audience": audience}}
            return http.post("oauth/token", json=body).json()["access_token"]

        mgmt = token("mgmt", env["MGMT_SECRET"], idp.management_audience)
        agent = token("agent", env["AGENT_SECRET"], {api!r})
        bearer = lambda t: {{"Authorization": "Bearer " + t}}
        out["mgmt"] = http.get("api/v2/users-by-email", params={{"email": "a@example.com"}},
                               headers=bearer(mgmt)).status_code
        out["mgmt_bad"] = http.get("api/v2/users-by-email", params={{"email": "a@example.com"}},
                                   headers=bearer(agent)).status_code
        out["whoami"] = http.get("api/protected/whoami", headers=bearer(agent)).status_code
        out["whoami_bad"] = http.get("api/protected/whoami", headers=bearer(mgmt)).status_code
    out["loaded"] = sorted(m for m in BLOCKED if m in sys.modules)
    print(json.dumps(out))
    """
)


def test_the_dev_idp_runs_with_the_clients_verifier_unimportable() -> None:
    script = _CHILD.format(blocked=set(CLIENT_SIDE), env=ENV, api=API)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"mgmt": 200, "mgmt_bad": 401, "whoami": 200, "whoami_bad": 401, "loaded": []}
