"""Reusable pytest fixtures for the Graph sandbox (re-exported by tests/conftest.py).

    def test_x(sandbox_server):
        sandbox = sandbox_server()                       # demo.yaml, fresh copy
        sandbox = sandbox_server(state, page_size=2, faults=Faults(throttle_every=3))
        client = support.client(sandbox, CONTOSO)       # tests/sandbox/support.py: closed by its run()
        sandbox.stats.requests(CONTOSO, "GET /users")

Each call starts its own sandbox on a free loopback port with its own copy of the state,
so tests never share writes; every sandbox is stopped at teardown.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from sage365.sandbox import Faults, SandboxServer, State, state_from_json
from sage365.sandbox.state import read_raw, validate_state

ROOT = Path(__file__).resolve().parents[1]
DEMO_STATE = ROOT / "sandbox" / "demo.yaml"
DOCS_STATE = ROOT / "sandbox" / "docs-examples.yaml"

CONTOSO = "11111111-1111-4111-8111-111111111111"
FABRIKAM = "22222222-2222-4222-8222-222222222222"
NORTHWIND = "33333333-3333-4333-8333-333333333333"

_RAW_CACHE: dict[Path, Any] = {}  # parsed and validated once per session, copied per sandbox


def sandbox_state(source: str | Path | dict[str, Any] | State = DEMO_STATE) -> State:
    """A fresh State from a file path (cached parse), a raw dict, or a State (copied)."""
    if isinstance(source, State):
        return source.copy()
    if isinstance(source, dict):
        return state_from_json(copy.deepcopy(source))
    path = Path(source).resolve()
    if path not in _RAW_CACHE:
        raw = read_raw(path)
        validate_state(raw)
        _RAW_CACHE[path] = raw
    return state_from_json(copy.deepcopy(_RAW_CACHE[path]), validate=False)


SandboxFactory = Callable[..., SandboxServer]


@pytest.fixture
def sandbox_server() -> Iterator[SandboxFactory]:
    """Factory: `sandbox_server(state=DEMO_STATE, *, faults=None, page_size=100, host="127.0.0.1")`
    -> a started SandboxServer (`.base_url`, `.stats`, `.faults`, `.state`, `.call(fn)`)."""
    started: list[SandboxServer] = []

    def start(state: str | Path | dict[str, Any] | State = DEMO_STATE, *, faults: Faults | None = None,
              page_size: int = 100, host: str = "127.0.0.1") -> SandboxServer:
        server = SandboxServer(sandbox_state(state), host=host, port=0, faults=faults, page_size=page_size)
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def demo_sandbox(sandbox_server: SandboxFactory) -> SandboxServer:
    """The demo tenants (sandbox/demo.yaml), fresh for this test."""
    return sandbox_server(DEMO_STATE)
