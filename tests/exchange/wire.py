"""Helpers for the Exchange and Graph beta clients' tests: a scripted network and the sleeps asked for.

The transport is httpx's MockTransport (the network, not our code); sleeps are recorded
instead of slept, so the tests take no time and time itself does not move.
"""

from __future__ import annotations

import types
from typing import Any

import httpx


def record_sleeps(monkeypatch: Any) -> list[float]:
    """The delays the clients ask to sleep, in order (nothing is slept)."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    # Both clients sleep in sage365.graph.rest, before a resend.
    monkeypatch.setattr("sage365.graph.rest.asyncio", types.SimpleNamespace(sleep=sleep))
    return delays


def answers(*replies: Any) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next reply (the last one again once the
    others are used): an exception is raised; (status, headers, body) is answered, the body
    sent as is when bytes, else as JSON."""
    sent: list[httpx.Request] = []
    pending = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        reply = pending.pop(0) if len(pending) > 1 else pending[0]
        if isinstance(reply, Exception):
            raise reply
        status, headers, body = reply
        if isinstance(body, bytes):
            return httpx.Response(status, headers=headers, content=body)
        return httpx.Response(status, headers=headers, json=body)

    return httpx.MockTransport(handler), sent
