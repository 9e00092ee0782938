"""Shared fixtures for every test folder: the Graph sandbox (see tests/sandbox_fixtures.py)."""

from tests.sandbox_fixtures import demo_sandbox, sandbox_server  # noqa: F401 (fixtures)
