"""Graph sandboxes for the reader's tests: real HTTP, in-process, one per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage365.catalog import load_catalog
from sage365.declaration import load_tenant

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
ALPHA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
BETA = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


@pytest.fixture
def start_sandbox(sandbox_server):
    """The shared sandbox_server factory (tests/sandbox_fixtures.py), defaulting to this folder's state."""

    def start(state: Path | dict = FIXTURES / "state.yaml", **options):
        return sandbox_server(state, **options)

    return start


@pytest.fixture
def catalog():
    return load_catalog(ROOT / "catalog" / "catalog.yaml")


@pytest.fixture
def alpha():
    return load_tenant(FIXTURES / "tenants" / "alpha.yaml")
