"""Exchange's and Graph beta's own retries: a transport error is resent after a backoff
(1, 2, 4 s) within the 30 s budget, and no wait (Retry-After or backoff) outlasts the
tenant's deadline: the tenant stops at once, as Graph's kiota retries do (sage365.graph.guard).

The transport is httpx's MockTransport (the network, not our code); the clients' sleeps are
recorded instead of slept, so the tests take no time and time itself does not move.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sage365.exchange import client as exchange_client
from sage365.exchange.client import ExchangeClient, ExchangeError, token_source
from sage365.graph.connectors import BetaError, BetaReader
from sage365.graph.guard import TenantGuard, TenantStopped
from tests.exchange.wire import answers

TENANT = "11111111-1111-4111-8111-111111111111"
CONNECTORS = "/onPremisesPublishingProfiles/applicationProxy/connectors"
APPS = {"value": [{"AppId": "00000000-5a6e-4000-8000-0000000000a1"}]}


DROPPED = httpx.ConnectError("connection refused")
OK_APPS = (200, {}, APPS)
OK_CONNECTORS = (200, {}, {"value": [{"id": "c1", "status": "active"}]})


async def exchange(transport, guard=None, **policy):
    async with httpx.AsyncClient(transport=transport) as http:
        client = ExchangeClient(TENANT, token_source(TENANT, sandbox=True), base_url="https://exchange.test", http=http,
                                guard=guard, policy=exchange_client.RetryPolicy(**policy))
        return await client.invoke("Get-App", {"OrganizationApp": True})


async def beta(transport, guard=None, **options):
    async with httpx.AsyncClient(transport=transport) as http:
        reader = BetaReader(TENANT, graph_url="https://graph.test/v1.0", credential=None, http=http, guard=guard, **options)
        return await reader.collection(CONNECTORS)


def started(timeout: float) -> TenantGuard:
    guard = TenantGuard(TENANT, timeout)
    guard.start()
    return guard


def test_exchange_resends_after_a_dropped_connection_with_a_backoff(slept):
    transport, sent = answers(DROPPED, DROPPED, OK_APPS)
    assert asyncio.run(exchange(transport)) == APPS["value"]
    assert (len(sent), slept) == (3, [1.0, 2.0])


def test_exchange_gives_up_after_four_sends_or_the_wait_budget(slept):
    transport, sent = answers(DROPPED)
    with pytest.raises(ExchangeError) as raised:
        asyncio.run(exchange(transport))
    assert (raised.value.describe(), len(sent), slept) == ("NoResponse: Get-App: ConnectError: connection refused", 4,
                                                           [1.0, 2.0, 4.0])
    slept.clear()
    transport, sent = answers(DROPPED)
    with pytest.raises(ExchangeError):
        asyncio.run(exchange(transport, max_total_wait=2.5))  # 1 s fits, 1 + 2 s does not
    assert (len(sent), slept) == (2, [1.0])


def test_graph_beta_resends_after_a_dropped_connection_with_a_backoff(slept):
    transport, sent = answers(DROPPED, DROPPED, OK_CONNECTORS)
    assert asyncio.run(beta(transport)) == OK_CONNECTORS[2]["value"]
    assert (len(sent), slept) == (3, [1.0, 2.0])
    slept.clear()
    transport, sent = answers(DROPPED)
    with pytest.raises(BetaError) as raised:
        asyncio.run(beta(transport))
    assert (raised.value.describe(), len(sent), slept) == ("NoResponse: ConnectError: connection refused", 4, [1.0, 2.0, 4.0])


def test_graph_beta_backs_off_on_throttling_without_retry_after(slept):
    transport, sent = answers((503, {}, {"error": {"code": "serviceNotAvailable"}}), OK_CONNECTORS)
    assert asyncio.run(beta(transport)) == OK_CONNECTORS[2]["value"]
    assert (len(sent), slept) == (2, [1.0])


def test_a_backoff_past_the_tenant_deadline_stops_the_tenant_at_once(slept):
    async def go(read):
        guard = started(1.5)  # the 1 s wait fits, the 2 s one does not
        transport, sent = answers(DROPPED)
        with pytest.raises(TenantStopped) as raised:
            await read(transport, guard)
        return str(raised.value), guard.violation, len(sent)

    tail = "waiting 2 s to retry is more than is left of the tenant deadline of 1.5 s (--tenant-timeout); nothing was checked"
    message = f"Exchange Online did not answer Get-App (ConnectError); {tail}"
    assert asyncio.run(go(exchange)) == (message, message, 2)
    assert slept == [1.0]
    message = f"Microsoft Graph beta did not answer GET /beta{CONNECTORS} (ConnectError); {tail}"
    assert asyncio.run(go(beta)) == (message, message, 2)


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_after_past_the_tenant_deadline_stops_the_tenant_without_waiting(slept, status):
    async def go(read):
        guard = started(10)
        transport, sent = answers((status, {"Retry-After": "20"}, {"error": {"code": "TooManyRequests"}}), OK_APPS)
        with pytest.raises(TenantStopped) as raised:
            await read(transport, guard)
        return str(raised.value), len(sent)

    tail = "waiting 20 s to retry is more than is left of the tenant deadline of 10 s (--tenant-timeout); nothing was checked"
    assert asyncio.run(go(exchange)) == (f"Exchange Online answered {status} to Get-App; {tail}", 1)
    assert asyncio.run(go(beta)) == (f"Microsoft Graph beta answered {status} to GET /beta{CONNECTORS}; {tail}", 1)
    assert slept == []


def test_a_retry_after_within_the_deadline_is_waited_for(slept):
    async def go():
        transport, sent = answers((429, {"Retry-After": "3"}, {}), OK_APPS)
        return await exchange(transport, started(60)), len(sent)

    assert asyncio.run(go()) == (APPS["value"], 2)
    assert slept == [3.0]
