"""The official auth0-python SDK against the dev IdP: building its client, judging its models."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
from auth0.management import Auth0


def management(base_url: str, token: str, client: httpx.Client) -> Auth0:
    """The SDK's Management API client on a dev IdP.

    ``auth0.management.ManagementClient`` builds ``https://{domain}/api/v2``; the dev IdP is
    plain HTTP on loopback, so this is the generated ``Auth0`` client it wraps, on the same
    paths. No retries: a 429 or a 5xx must fail the test where it happens.
    """
    return Auth0(base_url=base_url + "api/v2", token=token, httpx_client=client, max_retries=0)


def literals(enum: Any) -> set[str]:
    """The values an SDK enum alias (``Union[Literal[...], Any]``) names."""
    return {v for arg in typing.get_args(enum) for v in typing.get_args(arg)}


def known(model: Any) -> Any:
    """``model`` after checking that it, and every model inside, holds no member unknown to it.

    The SDK's models accept extra members silently: a field the dev IdP misnames would parse,
    and only show up here.
    """
    if isinstance(model, list):
        for item in model:
            known(item)
    elif isinstance(model, pydantic.BaseModel):
        assert not model.model_extra, f"{type(model).__name__} got unknown {model.model_extra}"
        for name in type(model).model_fields:
            known(getattr(model, name))
    return model


def recent(moment: datetime | None) -> bool:
    """An aware datetime within the last hour (the shared dev IdP runs on the wall clock)."""
    assert moment is not None and moment.tzinfo is not None
    return abs((datetime.now(tz=UTC) - moment).total_seconds()) < 3600
