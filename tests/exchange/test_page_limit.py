"""A looping @odata.nextLink on Exchange's InvokeCommand or Graph beta stops at the same page
limit as Graph's batches (sage365.graph.batch.MAX_PAGES), with an error naming it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sage365.exchange.client import ExchangeClient, ExchangeError, token_source
from sage365.graph.batch import MAX_PAGES
from sage365.graph.connectors import BetaError, BetaReader

TENANT = "11111111-1111-4111-8111-111111111111"


def looping(requests: list[httpx.Request]):
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"value": [{"n": len(requests)}], "@odata.nextLink": str(request.url)})

    return handler


def test_exchange_stops_a_looping_next_link_at_the_page_limit():
    seen: list[httpx.Request] = []

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(looping(seen))) as http:
            client = ExchangeClient(TENANT, token_source(TENANT, sandbox=True), base_url="https://exchange.test", http=http)
            return await client.invoke("Get-App", {"OrganizationApp": True})

    with pytest.raises(ExchangeError) as raised:
        asyncio.run(go())
    assert (raised.value.status, raised.value.code) == (200, "TooManyPages")
    assert raised.value.describe() == (f"200 TooManyPages: Get-App: stopped after {MAX_PAGES} pages, the limit of "
                                       "@odata.nextLink pages followed; the result was not read in full")
    assert len(seen) == MAX_PAGES


def test_graph_beta_stops_a_looping_next_link_at_the_page_limit():
    seen: list[httpx.Request] = []

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(looping(seen))) as http:
            reader = BetaReader(TENANT, graph_url="https://graph.test/v1.0", credential=None, http=http)
            return await reader.collection("/onPremisesPublishingProfiles/applicationProxy/connectors")

    with pytest.raises(BetaError) as raised:
        asyncio.run(go())
    assert raised.value.describe() == (f"200 TooManyPages: stopped after {MAX_PAGES} pages, the limit of "
                                       "@odata.nextLink pages followed; the collection was not read in full")
    assert len(seen) == MAX_PAGES
