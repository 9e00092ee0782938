"""The connections every request to Microsoft travels on: aiohttp, one pool per tenant client.

Why aiohttp under httpx: kiota's request adapter (msgraph-sdk) needs an httpx client and its
middleware are httpx transports, so Graph requests keep going through httpx and every kiota
handler; only the bottom transport, the one that talks to the socket, is aiohttp's
(httpx-aiohttp's AiohttpTransport). httpx's own transport (httpcore on anyio) spent ~0.3 ms
of CPU per request and ~0.4 ms per new connection on locks, cancel scopes and pool
bookkeeping; aiohttp's C-accelerated parser and connector do the same work for a third of it
(benchmarks/drift_fleet.py; figures in the README).
Exchange Online and Graph beta are not Graph v1.0 (no kiota adapter carries them): they go
straight to aiohttp through `HttpClient`, a small client with the subset of httpx's
interface sage365.exchange.client and sage365.graph.connectors use (`get`, `post`, a
response with `status_code`, `headers`, `content`, `json()`, `reason_phrase`), so an
httpx.AsyncClient still fits where a test hands one in.

Every session here: the one shared verifying TLS context (building one loads the CA bundle,
~20 ms); no cookie jar (a cookie set by one answer is never sent back, and no tenant's
cookie can reach another); redirects never followed; bodies decoded by
sage365.graph.transport's size limit, never by aiohttp; proxies from the environment
(HTTPS_PROXY, HTTP_PROXY, NO_PROXY) read once per process, as httpx reads them.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.request
from typing import Any, AsyncIterator, Mapping, Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from sage365.graph.transport import (
    ACCEPT_ENCODING,
    MAX_RESPONSE_BYTES,
    BodyDecoder,
    CappedTransport,
    ResponseTooLarge,
    check_length,
)

DEFAULT_TIMEOUT = 60.0  # seconds to connect, and between two reads of one answer
DEFAULT_CONNECTIONS = 20


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one loads the CA bundle (~20 ms of
    CPU), which dominated a fleet's client set-up. It holds no credential, so sharing is safe."""
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=None)
def _proxy(scheme: str, host: str) -> str | None:
    if urllib.request.proxy_bypass_environment(host):
        return None
    return urllib.request.getproxies_environment().get(scheme)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY/HTTP_PROXY, NO_PROXY honoured), or None.

    aiohttp's own `trust_env` would look this up (and ~/.netrc) in a thread at every request;
    the environment does not change during a run, so it is read once per host here."""
    parts = urlsplit(url)
    return _proxy(parts.scheme.lower(), (parts.hostname or "").lower())


def new_session(max_connections: int = DEFAULT_CONNECTIONS, timeout: float = DEFAULT_TIMEOUT) -> aiohttp.ClientSession:
    """An aiohttp session of its own (its own connections) with the settings above.

    timeout bounds connecting and each wait for more of an answer; the whole read of a
    tenant is bounded by its deadline (sage365.graph.guard), not here."""
    connector = aiohttp.TCPConnector(ssl=ssl_context(), limit=max_connections, limit_per_host=max_connections)
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # decoded under the size limit (sage365.graph.transport)
        trust_env=False,  # proxies: proxy_for; never ~/.netrc credentials
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        raise_for_status=False,
    )
    # aiohttp resends a GET once, unseen, when the server drops the connection. Every resend
    # here is decided by sage365's retry policies (and counted against the tenant's deadline
    # and attempts), as it was on httpx: a dropped connection is one request and one error.
    # There is no public switch for it; tests/graph/test_http.py proves it stays off.
    session._retry_connection = False
    return session


def graph_transport(base_url: str, max_connections: int = DEFAULT_CONNECTIONS) -> CappedTransport:
    """The bottom transport of a Graph client (under kiota's middleware): aiohttp, size-limited.

    The session is made on first use, inside the running event loop, as aiohttp requires."""
    proxy = proxy_for(base_url)
    inner = _Transport(verify=ssl_context(), proxy=httpx.Proxy(proxy) if proxy else None,
                       client=lambda: new_session(max_connections))
    return CappedTransport(inner)


class _Transport(AiohttpTransport):
    """httpx-aiohttp's transport with aiohttp's failures named as httpx names them (as_httpx_error):
    its own mapping calls a dropped connection a ConnectTimeout and lets a malformed answer's
    aiohttp exception through, which messages would then misname."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _renamed(exc) from None
        response.stream = _RenamedStream(response.stream)
        return response


class _RenamedStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _renamed(exc) from None

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _renamed(exc) from None


def _renamed(exc: BaseException) -> BaseException:
    cause = exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__
    return as_httpx_error(cause) if isinstance(cause, aiohttp.ClientError) else exc


class HttpLike(Protocol):
    """What sage365's Exchange and Graph beta clients need of an HTTP client: HttpClient, or an
    httpx.AsyncClient (tests hand one in with httpx.MockTransport)."""

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any: ...

    async def post(self, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None) -> Any: ...


class HttpResponse:
    """An answer read in full: the subset of httpx.Response that sage365's clients read."""

    __slots__ = ("status_code", "headers", "content", "reason_phrase", "url")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, reason_phrase: str, url: str) -> None:
        self.status_code, self.headers, self.content, self.reason_phrase, self.url = (
            status_code, headers, content, reason_phrase, url)

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (as httpx.Response.json)."""
        return json.loads(self.content)


# aiohttp's failures as the httpx exception a caller of httpx would have seen: callers (and
# their messages, "ConnectError: ...") stay the same whichever client carried the request.
_FAILURES: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed status line or header
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


def as_httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    for source, target in _FAILURES:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__)
    return httpx.TransportError(str(exc))


class HttpClient:
    """GET and POST on an aiohttp session of this client's own, each answer read in full under
    the size limit. Raises httpx's TransportError family, and ResponseTooLarge."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT, max_connections: int = DEFAULT_CONNECTIONS,
                 limit: int = MAX_RESPONSE_BYTES) -> None:
        self._timeout, self._max_connections = timeout, max_connections
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return await self._send("GET", url, headers, None)

    async def post(self, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return await self._send("POST", url, headers, content)

    async def _send(self, method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None) -> HttpResponse:
        if self._session is None:
            self._session = new_session(self._max_connections, self._timeout)
        sent = {**(headers or {}), "Accept-Encoding": ACCEPT_ENCODING}
        try:
            async with self._session.request(method, url, headers=sent, data=body, allow_redirects=False,
                                             proxy=proxy_for(url)) as response:
                content = await _read(response, self._limit)
                return HttpResponse(response.status, response.headers, content, response.reason or "", url)
        except aiohttp.ClientError as exc:
            raise as_httpx_error(exc) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def _read(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The whole body, decoded (gzip/deflate) and refused past the size limit as it arrives."""
    check_length(response.headers.get("Content-Length", ""), limit)
    decoder = BodyDecoder(response.headers.get("Content-Encoding", ""), limit)
    chunks = [decoder.feed(chunk) async for chunk in response.content.iter_any()]
    chunks.append(decoder.flush())
    return b"".join(chunks)


__all__ = ["HttpClient", "HttpLike", "HttpResponse", "ResponseTooLarge", "graph_transport", "new_session", "proxy_for", "ssl_context"]
