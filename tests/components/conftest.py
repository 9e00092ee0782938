"""Fixtures for the Pulumi program's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_sandbox():
    """The Graph sandbox serving sandbox/demo.yaml in-process, for the preview gate.

    Started here through the sandbox's public API (no shared tests/conftest.py fixture
    existed when this was written). The gate only reads, so one server per module is safe.
    """
    from sage365.sandbox import SandboxServer, load_state

    with SandboxServer(load_state(ROOT / "sandbox/demo.yaml")) as sandbox:
        yield sandbox
