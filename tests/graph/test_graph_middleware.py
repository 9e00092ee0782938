"""The Graph client's middleware: exactly the handlers sage365 relies on, in msgraph's order."""

from __future__ import annotations

import asyncio

from sage365.graph.client import make_http_client
from tests.hostile.server import HostileServer, Reply
from tests.sandbox_fixtures import CONTOSO


def test_graph_middleware_is_redirect_refusal_deadline_retry_and_the_header_handlers():
    client = make_http_client("http://127.0.0.1:1/v1.0")
    names, handler = [], client._transport.pipeline._first_middleware
    while handler is not None:
        names.append(type(handler).__name__)
        handler = getattr(handler, "next", None)
    assert names == ["RefuseRedirects", "DeadlineRetryHandler", "UserAgentHandler", "GraphTelemetryHandler"]
    asyncio.run(client.aclose())


def _graph_get(base_url: str, tenant: str, times: int = 1):
    """`times` GET /organization through a Graph client's adapter; (statuses, the bottom aiohttp session)."""
    from kiota_abstractions.method import Method

    from sage365.graph.client import graph_client
    from sage365.graph.transport import send

    async def go():
        http = make_http_client(base_url)
        adapter = graph_client(tenant, graph_url=base_url, http_client=http).request_adapter
        statuses = [(await send(adapter, Method.GET, f"{base_url}/organization")).status_code for _ in range(times)]
        session = http._bottom.inner.client
        await http.aclose()
        return statuses, session

    return asyncio.run(go())


def test_closing_the_graph_client_closes_its_connections(demo_sandbox):
    statuses, session = _graph_get(demo_sandbox.base_url, CONTOSO)
    assert statuses == [200]
    assert session.closed is True


def test_a_cookie_graph_sets_is_never_sent_back_through_the_graph_client():
    def handler(request):
        return Reply(200, {"Set-Cookie": "x-ms-gateway=tenant-a; Path=/"}, json={"value": []})

    with HostileServer(handler) as server:
        statuses, _ = _graph_get(server.base_url, CONTOSO, times=2)
        assert statuses == [200, 200]
        assert [r.headers.get("cookie") for r in server.received()] == [None, None]
        # kiota's middleware still runs on every request (its User-Agent; the telemetry headers are for Graph's hosts only)
        assert [r.headers.get("user-agent") for r in server.received()] == ["python-httpx/0.28.1 kiota-python/1.16.0"] * 2


def test_build_request_with_parameters_takes_httpx_s_own_path():
    client = make_http_client("https://graph.example/v1.0")
    request = client.build_request("GET", "https://graph.example/v1.0/users", params={"$top": "5"}, headers={"Accept": "application/json"})
    plain = client.build_request("GET", "https://graph.example/v1.0/users?$top=5", headers={"Accept": "application/json"})
    assert (str(request.url), request.headers["accept"]) == ("https://graph.example/v1.0/users?%24top=5", "application/json")
    assert (str(plain.url), plain.headers["accept"], plain.extensions["timeout"]["read"]) == (
        "https://graph.example/v1.0/users?$top=5", "application/json", 30.0)
    asyncio.run(client.aclose())
