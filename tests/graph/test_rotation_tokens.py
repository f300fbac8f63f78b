"""A client-secret rotation, in process: no token request fails at any point of it.

The agent's ``TokenSource`` asks for a fresh token (not the cache) at every fault point of the
rotation, i.e. in each state the vault and the IdP pass through — the vault ahead of the IdP
included — and from a thread that keeps asking throughout. None fails: a refused secret is
tried again as the vault holds it then, and as the item's previous value. Afterwards the IdP
takes only the new value, and the vault's history (only the vault's) keeps the old one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path

from tests.graph.kit import Harness, embedded_run
from tests.idp.devkit import post
from vaultborn.idp.errors import IdPError
from vaultborn.runner.lifecycle import Subject, lifecycle_start
from vaultborn.runner.runs import advance
from vaultborn.vault.reference import parse_reference

POINTS = {
    f"{step}:{side}"
    for step in ("new_client_secret", "push_client_secret", "retire_previous")
    for side in ("before", "after")
}


def _ask(run: Harness, failures: list[str], why: str) -> None:
    agent = run.plan["agent"]
    run.deps.tokens.invalidate(agent["client_id"], agent["audience"])
    try:
        run.deps.tokens.token(agent["client_id"], agent["secret"], agent["audience"])
    except IdPError as refused:
        failures.append(f"{why}: {refused}")


def _token_status(run: Harness, secret: str) -> int:
    agent = run.plan["agent"]
    body = {"grant_type": "client_credentials", "client_id": agent["client_id"],
            "client_secret": secret, "audience": agent["audience"]}  # fmt: skip
    return post(run.idp.base_url + "oauth/token", json=body).status_code


def _rotate(run: Harness, run_id: str, deps: object) -> str:
    start = lifecycle_start(Subject(run.plan, "sha256:test"), run_id, "rotate:client-secret", 3600)

    async def go() -> str:
        view = await advance(run.db, deps, run_id, start=start)  # type: ignore[arg-type]
        return view.status

    return asyncio.run(go())


def test_no_token_request_fails_while_the_client_secret_rotates(tmp_path: Path) -> None:
    with embedded_run(tmp_path) as run:
        ref = parse_reference(run.plan["agent"]["secret"])
        old = run.vault.read(ref).reveal()
        failures: list[str] = []
        seen: list[str] = []
        stop = threading.Event()
        asked = [0]

        def keep_asking() -> None:
            while True:  # asks at least once, whatever the scheduling
                _ask(run, failures, "thread")
                asked[0] += 1
                if stop.is_set():
                    return

        def at_point(point: str) -> None:
            seen.append(point)
            _ask(run, failures, point)

        hammer = threading.Thread(target=keep_asking)
        hammer.start()
        try:
            status = _rotate(run, "run-rotate", dataclasses.replace(run.deps, fault=at_point))
        finally:
            stop.set()
            hammer.join()

        assert status == "done"
        assert set(seen) >= POINTS
        assert failures == []
        assert asked[0] > 0
        new = run.vault.read(ref).reveal()
        assert new != old
        assert _token_status(run, new) == 200
        assert _token_status(run, old) == 401
        item = run.vault.get_item(ref.vault, ref.item)
        assert not any(f.label.startswith("previous ") for f in item.fields)
        history = run.vault.history(ref.vault, ref.item, reveal=True)
        assert any(
            f.value is not None and not isinstance(f.value, str) and f.value.reveal() == old
            for version in history
            for f in version.fields
        )


def test_a_secret_the_idp_refuses_fails_without_the_previous_value(tmp_path: Path) -> None:
    """The check of the test above: with nothing to fall back on, the in-between state fails."""
    with embedded_run(tmp_path) as run:
        failures: list[str] = []

        def at_point(point: str) -> None:
            if point == "new_client_secret:after":  # the vault is ahead of the IdP
                agent = run.plan["agent"]
                try:
                    run.deps.tokens.token(agent["client_id"], agent["secret"],
                                          agent["audience"], fallback=False)  # fmt: skip
                except IdPError:
                    failures.append(point)

        assert _rotate(run, "run-strict", dataclasses.replace(run.deps, fault=at_point)) == "done"
        assert failures == ["new_client_secret:after"]
