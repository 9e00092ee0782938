"""Fixtures for the Exchange and Graph beta clients' tests."""

from __future__ import annotations

import pytest

from tests.exchange.wire import record_sleeps


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The delays both clients asked to sleep, in order (nothing is slept)."""
    return record_sleeps(monkeypatch)
