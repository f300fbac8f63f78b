"""A client-secret rotation whose check fails stops with the old value still working.

The IdP lags behind the push (a replica behind, a write lost): it answers the push, yet still
holds the old secret when the rotation checks the new one. In process, because the embedded
IdP of a CLI process re-reads its clients' secrets from the vault at every start and so never
lags. The run stops at the check with one line, and retires nothing: the IdP takes the old
secret, and the agent's token source, refused with the vault's new one, gets a token with the
previous one the item still keeps. Once the IdP has caught up, a resume finishes the rotation.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from tests.graph.kit import Harness, embedded_run
from tests.idp.devkit import post
from vaultborn.idp.errors import IdPError
from vaultborn.runner.lifecycle import Subject, lifecycle_start
from vaultborn.runner.runs import advance
from vaultborn.vault.previous import previous_label
from vaultborn.vault.reference import parse_reference
from vaultborn.vault.secret import Secret


def _idp_takes(run: Harness, secret: str) -> bool:
    agent = run.plan["agent"]
    body = {"grant_type": "client_credentials", "client_id": agent["client_id"],
            "client_secret": secret, "audience": agent["audience"]}  # fmt: skip
    return post(run.idp.base_url + "oauth/token", json=body).status_code == 200


def _set_idp_secret(run: Harness, secret: str) -> None:
    """What the IdP holds for the agent client, changed behind vaultborn's back."""
    assert run.idp.context.store.clients.set_secret(run.plan["agent"]["client_id"], Secret(secret))


@pytest.mark.robustness("fault: the IdP refuses a rotated secret at verification")
def test_a_rotation_whose_new_secret_is_refused_stops_with_the_old_one_working(
    tmp_path: Path,
) -> None:
    with embedded_run(tmp_path) as run:
        agent = run.plan["agent"]
        ref = parse_reference(agent["secret"])
        old = run.vault.read(ref).reveal()

        def lagging_idp(point: str) -> None:
            if point == "push_client_secret:after":
                _set_idp_secret(run, old)

        start = lifecycle_start(
            Subject(run.plan, "sha256:test"), "run-lag", "rotate:client-secret", 3600
        )
        deps = dataclasses.replace(run.deps, fault=lagging_idp)
        with pytest.raises(IdPError) as stopped:
            asyncio.run(advance(run.db, deps, "run-lag", start=start))

        new = run.vault.read(ref).reveal()
        said = str(stopped.value)
        assert new != old
        assert "\n" not in said and said  # one line
        assert old not in said and new not in said
        assert run.view("run-lag").status != "done"
        # Nothing was retired: the item keeps the old value beside the new one.
        item = run.vault.get_item(ref.vault, ref.item)
        assert any(f.label == previous_label(ref.field) for f in item.fields)
        # The chain works with the old value: the IdP takes it, and the agent's token source
        # (refused with the vault's current value) falls back on the item's previous one.
        assert _idp_takes(run, old) and not _idp_takes(run, new)
        run.deps.tokens.invalidate(agent["client_id"], agent["audience"])
        assert run.deps.tokens.token(agent["client_id"], agent["secret"], agent["audience"])

        _set_idp_secret(run, new)  # the IdP catches up with the push
        done = run.resume("run-lag")

        assert done.status == "done"
        assert done.values["verified"]["outcome"] == "verified"
        assert done.values["retired"]["outcome"] == "retired"
        item = run.vault.get_item(ref.vault, ref.item)
        assert not any(f.label == previous_label(ref.field) for f in item.fields)
        assert _idp_takes(run, new) and not _idp_takes(run, old)
        state = (tmp_path / "state.db").read_bytes()
        assert old.encode() not in state and new.encode() not in state
