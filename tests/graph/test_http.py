"""sage365.graph.http over real HTTP: the aiohttp connections under every request to Microsoft."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import socket
import threading

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


PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def environment(monkeypatch):
    """A clean proxy environment; `set(**variables)` sets some."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    http._proxy.cache_clear()

    def set_(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        http._proxy.cache_clear()

    yield set_
    http._proxy.cache_clear()


def _proxy(url: str) -> tuple[str, tuple[str, str] | None] | None:
    found = http.proxy_for(url)
    return None if found is None else (str(found.url), found.auth)


@pytest.mark.parametrize(("variables", "url", "expected"), [
    ({"HTTPS_PROXY": "http://proxy.example:3128"}, "https://graph.microsoft.com/v1.0", ("http://proxy.example:3128", None)),
    ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "graph.microsoft.com"}, "https://graph.microsoft.com/v1.0", None),
    ({"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": ".microsoft.com"}, "https://outlook.office365.com/x",
     ("http://proxy.example:3128", None)),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "https://graph.microsoft.com/v1.0", None),
    ({"ALL_PROXY": "http://all.example:8080"}, "https://graph.microsoft.com/v1.0", ("http://all.example:8080", None)),
    ({"HTTPS_PROXY": "proxy.example:3128"}, "https://graph.microsoft.com/v1.0", ("http://proxy.example:3128", None)),
    ({"HTTPS_PROXY": "http://CORP%5Cpartner:Hunter2-pw@proxy.example:3128"}, "https://graph.microsoft.com/v1.0",
     ("http://proxy.example:3128", ("CORP\\partner", "Hunter2-pw"))),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "http://127.0.0.1:8765/v1.0", None),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "http://localhost:8765/v1.0", None),
    ({"HTTP_PROXY": "http://proxy.example:3128"}, "http://[::1]:8765/v1.0", None),
    ({}, "https://graph.microsoft.com/v1.0", None),
], ids=["https", "no-proxy-host", "no-proxy-other-domain", "http-only", "all-proxy", "no-scheme", "credentials",
        "loopback-v4", "localhost", "loopback-v6", "none"])
def test_proxies_are_chosen_as_httpx_chooses_them_credentials_kept_out_of_the_url(environment, variables, url, expected):
    environment(**variables)
    assert _proxy(url) == expected


def test_a_socks_proxy_is_refused_in_one_line(environment):
    environment(HTTPS_PROXY="socks5://proxy.example:1080")
    with pytest.raises(http.ProxySettingError) as raised:
        http.proxy_for("https://graph.microsoft.com/v1.0")
    assert str(raised.value) == ("the proxy set for https:// addresses is a socks5:// proxy; sage365 goes through "
                                 "HTTP proxies only (HTTPS_PROXY=http://host:port)")


def test_a_proxied_get_goes_through_the_proxy_with_its_credentials(environment):
    """An HTTP forward proxy is asked for the absolute URL, with Proxy-Authorization, and its
    answer is the answer."""
    def handler(request):
        return Reply(200, json={"value": [{"id": "through-the-proxy"}]})

    with HostileServer(handler) as proxy:
        environment(HTTP_PROXY=proxy.origin.replace("http://", "http://CORP%5Cpartner:Hunter2-pw@"))
        target = "http://graph.invalid/v1.0/organization?$select=id"
        response = run(_get(target))
        assert [(r.target, r.headers.get("proxy-authorization")) for r in proxy.received()] == [
            (target, "Basic " + base64.b64encode(b"CORP\\partner:Hunter2-pw").decode())]
    assert response.json() == {"value": [{"id": "through-the-proxy"}]}


class RawServer:
    """A TCP server on 127.0.0.1 whose `answer(connection, request_head)` writes whatever it wants,
    for what an HTTP server library will not do: close right after an answer without saying
    so, never answer a CONNECT, send a header aiohttp's parser refuses."""

    def __init__(self, answer) -> None:
        self.answer, self.heads = answer, []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += connection.recv(65536)
                self.heads.append(head.split(b"\r\n")[0].decode())
                self.answer(connection, head)
            except OSError:
                pass

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()


def _answer_then_close(connection: socket.socket, head: bytes) -> None:
    body = b'{"value": []}'
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


async def _graph_sends(base_url: str, steps: list[tuple[str, str]]) -> list[int]:
    """Each (method, path) through a Graph client's adapter, in turn; the statuses."""
    from kiota_abstractions.method import Method

    from sage365.graph.client import graph_client, make_http_client
    from sage365.graph.transport import send

    graph_http = make_http_client(base_url)
    try:
        adapter = graph_client(CONTOSO, graph_url=base_url, http_client=graph_http).request_adapter
        return [(await send(adapter, Method[method], base_url + path, body=b'{"requests": []}' if method == "POST" else None))
                .status_code for method, path in steps]
    finally:
        await graph_http.aclose()


def test_a_kept_alive_connection_closed_after_its_answer_is_replaced_for_the_next_read():
    """The server closes each connection right after answering, without `Connection: close`:
    a read sent on the dead connection goes again, once, on a new one."""
    async def gets(url: str) -> list[int]:
        async with http.HttpClient(timeout=5) as client:
            return [(await client.get(url)).status_code for _ in range(3)]

    with RawServer(_answer_then_close) as server:
        assert run(gets(f"{server.origin}/beta/x")) == [200, 200, 200]
        assert run(_graph_sends(f"{server.origin}/v1.0", [("GET", "/organization"), ("POST", "/$batch"),
                                                           ("GET", "/organization")])) == [200, 200, 200]
        assert server.heads == ["GET /beta/x HTTP/1.1"] * 3 + [
            "GET /v1.0/organization HTTP/1.1", "POST /v1.0/$batch HTTP/1.1", "GET /v1.0/organization HTTP/1.1"]


def test_a_post_is_not_resent_on_a_dead_connection():
    """Exchange's InvokeCommand (a POST through HttpClient) is left to its own retry policy."""
    async def posts(url: str) -> list[str]:
        outcomes = []
        async with http.HttpClient(timeout=5) as client:
            for _ in range(2):
                try:
                    outcomes.append(str((await client.post(url, content=b"{}")).status_code))
                except httpx.TransportError as exc:
                    outcomes.append(type(exc).__name__)
        return outcomes

    with RawServer(_answer_then_close) as server:
        outcomes = run(posts(f"{server.origin}/adminapi/beta/x/InvokeCommand"))
        assert outcomes[0] == "200"
        # The second goes out on the connection the server closed: answered only if the close was seen first.
        assert outcomes[1] in ("200", "ReadError", "RemoteProtocolError")
        assert len(server.heads) == 1 + (outcomes[1] == "200")


def test_a_proxy_that_never_answers_connect_times_out_at_the_connect_timeout(environment):
    """The proxy holds the CONNECT for 5 s, then hangs up: a ConnectTimeout (not the hang-up's
    error) shows the 1 s connect timeout ended the wait first."""
    def silent(connection: socket.socket, head: bytes) -> None:
        threading.Event().wait(5)

    with RawServer(silent) as proxy:
        environment(HTTPS_PROXY=proxy.origin)
        with pytest.raises(httpx.ConnectTimeout):
            run(_get("https://graph.microsoft.com/v1.0/organization", timeout=1))
        assert proxy.heads == ["CONNECT graph.microsoft.com:443 HTTP/1.1"]


@pytest.mark.parametrize("status", [403, 407])
def test_a_proxy_refusing_the_tunnel_is_a_proxy_error_that_quotes_no_credentials(environment, status):
    def refuse(connection: socket.socket, head: bytes) -> None:
        connection.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % status)

    with RawServer(refuse) as proxy:
        environment(HTTPS_PROXY=proxy.origin.replace("http://", "http://CORP%5Cpartner:Hunter2-pw@"))
        with pytest.raises(httpx.ProxyError) as direct:
            run(_get("https://outlook.office365.com/adminapi/beta/x/InvokeCommand"))
        with pytest.raises(httpx.ProxyError) as graph:
            run(_graph_sends("https://graph.microsoft.com/v1.0", [("GET", "/organization")]))
    assert (str(direct.value), str(graph.value)) == (f"{status} Refused", f"{status} Refused")


@pytest.mark.parametrize(("encoding", "body", "message"), [
    # mtime=0: gzip's header holds the time, and pytest-xdist's workers must collect the same ids.
    ("gzip, gzip", gzip.compress(gzip.compress(b"0" * 1024, mtime=0), mtime=0),
     "the answer's Content-Encoding 'gzip, gzip' is not one sage365 accepts (gzip, deflate); it was not read"),
    ("br", b"\x0b\x02\x80{}\x03", "the answer's Content-Encoding 'br' is not one sage365 accepts (gzip, deflate); it was not read"),
    ("deflate", b"\xff\xfe not deflate at all", "the response body is not valid deflate"),
    ("gzip", b"\x1f\x8b but not gzip", "the response body is not valid gzip"),
])
def test_an_answer_in_an_encoding_not_asked_for_or_not_valid_is_a_decoding_error(encoding, body, message):
    def handler(request):
        return Reply(200, {"Content-Encoding": encoding, "Content-Type": "application/json"}, body)

    with HostileServer(handler) as server:
        with pytest.raises(httpx.DecodingError) as direct:
            run(_get(f"{server.base_url}/organization"))
        with pytest.raises(httpx.DecodingError) as graph:
            run(_graph_sends(server.base_url, [("GET", "/organization")]))
    assert (str(direct.value), str(graph.value)) == (message, message)


def test_a_malformed_answer_is_one_line_that_quotes_no_url():
    def bad_header(connection: socket.socket, head: bytes) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\nX Bad: 1\r\nContent-Length: 2\r\n\r\n{}")

    with RawServer(bad_header) as server:
        with pytest.raises(httpx.RemoteProtocolError) as direct:
            run(_get(f"{server.origin}/v1.0/organization?secret=1"))
        with pytest.raises(httpx.RemoteProtocolError) as graph:
            run(_graph_sends(f"{server.origin}/v1.0", [("GET", "/organization?secret=1")]))
    for raised in (direct, graph):
        text = str(raised.value)
        assert text.startswith("400 ") and "\n" not in text and "127.0.0.1" not in text and "secret" not in text
