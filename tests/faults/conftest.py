"""Fixtures of the whole-setup fault modules: one moto server per module, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.clikit import moto_server


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server for the module, so seeds outlive the CLI processes."""
    with moto_server() as url:
        yield url


@pytest.fixture
def moto_reset(moto_endpoint: str) -> str:
    """The module's moto server, emptied for this test."""
    httpx.post(moto_endpoint + "/moto-api/reset").raise_for_status()
    return moto_endpoint


@pytest.fixture
def home(tmp_path: Path, moto_reset: str) -> Path:
    """A fresh data directory (not created yet), with moto emptied."""
    return tmp_path / "home"
