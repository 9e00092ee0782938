"""Graph sandboxes for the reader's tests: real HTTP, in-process, one per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.sandbox.server import SandboxServer
from sage365.sandbox.state import load_state, state_from_json

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
ALPHA = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
BETA = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


@pytest.fixture
def start_sandbox():
    """start_sandbox(state path or dict, **options) -> a started SandboxServer, stopped after the test."""
    servers: list[SandboxServer] = []

    def start(state: Path | dict = FIXTURES / "state.yaml", **options) -> SandboxServer:
        loaded = state_from_json(state) if isinstance(state, dict) else load_state(state)
        server = SandboxServer(loaded, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def catalog():
    return load_catalog(ROOT / "catalog" / "catalog.yaml")


@pytest.fixture
def alpha():
    return load_tenant(FIXTURES / "tenants" / "alpha.yaml")
