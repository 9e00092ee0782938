"""Injected faults, each seen through msgraph-sdk (its retry handler included) or raw HTTP."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sage365.sandbox import Faults
from tests.sandbox.support import client, config, graph_error, raw, run
from tests.sandbox_fixtures import CONTOSO, FABRIKAM


def test_latency_is_added_to_every_request(sandbox_server):
    server = sandbox_server(faults=Faults(latency_ms=150))
    start = time.perf_counter()
    assert raw(server, "GET", "/organization", CONTOSO).status_code == 200
    assert time.perf_counter() - start >= 0.15


def test_latency_does_not_serialise_concurrent_requests(sandbox_server):
    server = sandbox_server(faults=Faults(latency_ms=200))

    async def go():
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer sandbox.{CONTOSO}"}) as http:
            return await asyncio.gather(*(http.get(server.base_url + "/organization") for _ in range(50)))

    start = time.perf_counter()
    answers = run(go)
    assert [r.status_code for r in answers] == [200] * 50
    # Serialised, 50 x 200 ms would take 10 s; concurrent, about 0.2 s (loose bound for loaded machines).
    assert time.perf_counter() - start < 5.0


def test_every_nth_request_is_throttled_and_the_sdk_retries(sandbox_server):
    server = sandbox_server(faults=Faults(throttle_every=2, retry_after=1))
    first = raw(server, "GET", "/organization", CONTOSO)
    second = raw(server, "GET", "/organization", CONTOSO)
    assert (first.status_code, second.status_code, second.headers["Retry-After"]) == (200, 429, "1")
    assert second.json()["error"]["code"] == "TooManyRequests"

    async def go():  # request 4 is throttled; the SDK waits Retry-After and retries as request 5
        c = client(server, CONTOSO)
        await c.organization.get()
        return (await c.users.get()).value

    start = time.perf_counter()
    assert len(run(go)) == 5
    assert time.perf_counter() - start >= 1.0
    assert server.stats.requests(CONTOSO, "GET /users") == 2
    assert server.stats.faults("429") == 2


def test_throttling_one_tenant_leaves_the_others_alone(sandbox_server):
    server = sandbox_server(faults=Faults(throttle_tenants={FABRIKAM: 1}))
    assert [raw(server, "GET", "/organization", t).status_code for t in (CONTOSO, FABRIKAM, CONTOSO, FABRIKAM)] == [200, 429, 200, 429]

    async def go():
        return await graph_error(client(server, FABRIKAM).organization.get(config(retry=False)))

    assert run(go) == (429, "TooManyRequests")


@pytest.mark.parametrize(("faults", "status", "code"), [
    (Faults(unavailable_every=1), 503, "serviceNotAvailable"),
    (Faults(gateway_timeout_every=1), 504, "UnknownError"),
])
def test_outages_are_503_and_504(sandbox_server, faults, status, code):
    server = sandbox_server(faults=faults)

    async def go():
        return await graph_error(client(server, CONTOSO).users.get(config(retry=False)))

    assert run(go) == (status, code)
    assert server.stats.faults(str(status)) == 1


def test_an_outage_that_clears_is_retried_by_the_sdk(sandbox_server):
    server = sandbox_server(faults=Faults(unavailable_every=2, retry_after=1))

    async def go():
        c = client(server, CONTOSO)
        await c.organization.get()  # request 1
        return len((await c.subscribed_skus.get()).value)  # request 2 is 503, retried as 3

    assert run(go) == 1
    assert server.stats.requests(CONTOSO, "GET /subscribedSkus") == 2


def test_malformed_json_bodies(sandbox_server):
    server = sandbox_server(faults=Faults(malformed_every=1))
    resp = raw(server, "GET", "/organization", CONTOSO)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()
    assert resp.content.startswith(b"{\"@odata.context\":") and len(resp.content) == int(resp.headers["content-length"])
    # Through the SDK: tests/sandbox/test_sdk_batch_and_faults.py (an exact JSONDecodeError).


def test_dropped_connections(sandbox_server):
    server = sandbox_server(faults=Faults(drop_every=2))
    assert raw(server, "GET", "/organization", CONTOSO).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        raw(server, "GET", "/organization", CONTOSO)
    assert raw(server, "GET", "/organization", CONTOSO).status_code == 200
    assert server.stats.faults("drop") == 1


def test_faults_can_be_changed_while_serving_in_process_and_over_http(sandbox_server):
    server = sandbox_server()
    server.faults = Faults(throttle_every=1)
    assert raw(server, "GET", "/organization", CONTOSO).status_code == 429
    put = httpx.put(server.url + "/_sandbox/faults", json={"unavailable_every": 1, "retry_after": 3})
    assert (put.status_code, put.json()["unavailable_every"], put.json()["throttle_every"]) == (200, 1, 0)
    answer = raw(server, "GET", "/organization", CONTOSO)
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "3")
    assert httpx.put(server.url + "/_sandbox/faults", json={"nonsense": 1}).status_code == 400
    httpx.put(server.url + "/_sandbox/faults", json={})
    assert raw(server, "GET", "/organization", CONTOSO).status_code == 200


def test_stats_over_http_and_reset(sandbox_server):
    server = sandbox_server()
    raw(server, "GET", "/organization", CONTOSO)
    raw(server, "GET", "/users/admin@fabrikam.onmicrosoft.com", FABRIKAM)
    raw(server, "POST", "/$batch", FABRIKAM, json={"requests": [{"id": "1", "method": "GET", "url": "/subscribedSkus"}]})
    stats = httpx.get(server.url + "/_sandbox/stats").json()
    assert stats["requests"] == {
        "total": 3,
        "byTenant": {CONTOSO: 1, FABRIKAM: 2},
        "byEndpoint": {"GET /organization": 1, "GET /users/{id}": 1, "POST /$batch": 1},
        "byTenantEndpoint": {CONTOSO: {"GET /organization": 1}, FABRIKAM: {"GET /users/{id}": 1, "POST /$batch": 1}},
    }
    assert stats["operations"]["byTenantEndpoint"] == {
        CONTOSO: {"GET /organization": 1}, FABRIKAM: {"GET /subscribedSkus": 1, "GET /users/{id}": 1}}
    assert stats["faults"] == {}
    assert httpx.post(server.url + "/_sandbox/stats/reset").status_code == 204
    assert server.stats.requests() == 0
