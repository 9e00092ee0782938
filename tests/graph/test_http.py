"""sage365.graph.http over real HTTP: the aiohttp connections under every request to Microsoft."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import pytest

from sage365.graph import http
from sage365.graph.transport import ResponseTooLarge
from sage365.sandbox import Faults
from tests.hostile.server import HostileServer, Reply
from tests.sandbox_fixtures import CONTOSO


def run(coro):
    return asyncio.run(coro)


async def _get(url: str, **kwargs) -> http.HttpResponse:
    async with http.HttpClient(**kwargs) as client:
        return await client.get(url, headers={"Authorization": f"Bearer sandbox.{CONTOSO}"})


def test_a_get_reads_the_whole_answer(demo_sandbox):
    response = run(_get(f"{demo_sandbox.base_url}/organization?$select=id"))
    assert (response.status_code, response.reason_phrase) == (200, "OK")
    assert [o["id"] for o in response.json()["value"]] == [CONTOSO]
    assert response.headers.get("content-type", "").startswith("application/json")


def test_a_dropped_connection_is_one_request_and_httpx_s_error(sandbox_server):
    """aiohttp would resend the GET once, unseen; sage365's retry policies decide resends."""
    server = sandbox_server(faults=Faults(drop_every=1))
    with pytest.raises(httpx.RemoteProtocolError) as raised:
        run(_get(f"{server.base_url}/organization"))
    assert str(raised.value) == "Server disconnected"
    assert server.stats.faults("drop") == 1


def test_a_refused_connection_is_a_connect_error():
    with pytest.raises(httpx.ConnectError):
        run(_get("http://127.0.0.1:9/v1.0/organization", timeout=5))


def test_a_redirect_is_returned_not_followed():
    with HostileServer(lambda request: Reply(302, {"Location": "http://127.0.0.1:9/elsewhere"})) as server:
        response = run(_get(f"{server.base_url}/organization"))
        assert (response.status_code, response.headers["location"]) == (302, "http://127.0.0.1:9/elsewhere")
        assert [r.path for r in server.received()] == ["/v1.0/organization"]


def test_a_cookie_set_by_one_answer_is_never_sent_back():
    def handler(request):
        return Reply(200, {"Set-Cookie": "session=tenant-a; Path=/"}, json={"value": []})

    async def twice(url: str) -> None:
        async with http.HttpClient() as client:
            await client.get(url)
            await client.get(url)

    with HostileServer(handler) as server:
        run(twice(f"{server.base_url}/x"))
        assert [r.headers.get("cookie") for r in server.received()] == [None, None]


def test_a_gzip_answer_is_decoded_and_a_gzip_bomb_stopped_at_the_limit():
    small = gzip.compress(json.dumps({"value": [1, 2]}).encode())
    bomb = gzip.compress(b"0" * (2 * 1024 * 1024))  # 2 MiB decoded, ~2 KiB on the wire

    def handler(request):
        body = bomb if request.path.endswith("/bomb") else small
        return Reply(200, {"Content-Encoding": "gzip", "Content-Type": "application/json"}, body)

    with HostileServer(handler) as server:
        assert run(_get(f"{server.base_url}/small")).json() == {"value": [1, 2]}
        with pytest.raises(ResponseTooLarge):
            run(_get(f"{server.base_url}/bomb", limit=1024 * 1024))
        assert {r.headers.get("accept-encoding") for r in server.received()} == {"gzip, deflate"}


def test_a_content_length_past_the_limit_is_refused_before_the_body():
    def handler(request):
        return Reply(200, {"Content-Type": "application/json"}, b"{}", content_length=64 * 1024 * 1024)

    with HostileServer(handler) as server, pytest.raises(ResponseTooLarge):
        run(_get(f"{server.base_url}/x"))


@pytest.mark.parametrize(("environment", "url", "expected"), [
    ({"HTTPS_PROXY": "http://proxy.example:3128"}, "https://graph.microsoft.com/v1.0", "http://proxy.example:3128"),
    ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "graph.microsoft.com"}, "https://graph.microsoft.com/v1.0", None),
    ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": ".microsoft.com"}, "https://outlook.office365.com/x", "http://proxy.example:3128"),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "https://graph.microsoft.com/v1.0", None),
    ({}, "https://graph.microsoft.com/v1.0", None),
])
def test_proxies_come_from_the_environment_as_httpx_reads_them(monkeypatch, environment, url, expected):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    http._proxy.cache_clear()
    try:
        assert http.proxy_for(url) == expected
    finally:
        http._proxy.cache_clear()


def test_a_proxied_get_goes_through_the_proxy(monkeypatch):
    """An HTTP forward proxy is asked for the absolute URL, and its answer is the answer."""
    def handler(request):
        return Reply(200, json={"value": [{"id": "through-the-proxy"}]})

    with HostileServer(handler) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        http._proxy.cache_clear()
        try:
            target = "http://graph.invalid/v1.0/organization?$select=id"
            response = run(_get(target))
        finally:
            http._proxy.cache_clear()
        assert [r.target for r in proxy.received()] == [target]
    assert response.json() == {"value": [{"id": "through-the-proxy"}]}
