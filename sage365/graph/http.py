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
sage365.graph.transport's size limit, never by aiohttp; proxies as httpx chooses them
(proxy_for), read once per process.
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import json
import ssl
import urllib.request
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Protocol, TypeVar
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

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0  # seconds to connect, and between two reads of one answer
DEFAULT_CONNECTIONS = 20


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for every client: building one loads the CA bundle (~20 ms of
    CPU), which dominated a fleet's client set-up. It holds no credential, so sharing is safe."""
    return httpx.create_ssl_context()


@functools.lru_cache(maxsize=None)
def _proxy(scheme: str, host: str) -> httpx.Proxy | None:
    if _loopback(host) or urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()  # the environment's, else Windows' or macOS's own settings
    value = (proxies.get(scheme) or proxies.get("all") or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value  # `proxy.corp:3128`, as httpx reads it
    try:
        proxy = httpx.Proxy(value)  # the credentials move out of the URL, into .auth
    except ValueError:
        proxy = None
    if proxy is None or proxy.url.scheme not in ("http", "https"):
        shown = value.split("://", 1)[0]
        raise ProxySettingError(f"the proxy set for {scheme}:// addresses is a {shown}:// proxy; "
                                "sage365 goes through HTTP proxies only (HTTPS_PROXY=http://host:port)")
    return proxy


class ProxySettingError(ValueError):
    """The proxy settings name a proxy sage365 cannot use: a setting to fix, not a failure to
    retry; every request it concerns fails at once with this message."""


def _loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1: never through a proxy (the sandbox, a local test server)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxy_for(url: str) -> httpx.Proxy | None:
    """The proxy for `url`, as httpx would choose it, or None.

    HTTPS_PROXY / HTTP_PROXY (the scheme's own), else ALL_PROXY, else on Windows and macOS the
    system's proxy settings (urllib.request.getproxies); NO_PROXY (or the system's bypass list)
    honoured; a value without a scheme is an http:// proxy; loopback addresses are never
    proxied. The credentials of a `user:password@` proxy URL are in the result's `.auth`, never
    in its URL, so no message can quote them. A SOCKS proxy raises ProxySettingError.
    aiohttp's own `trust_env` would look proxies up (and ~/.netrc) in a thread at every request;
    the settings do not change during a run, so they are read once per host here."""
    parts = urlsplit(url)
    return _proxy(parts.scheme.lower(), (parts.hostname or "").lower())


def _proxy_headers(proxy: httpx.Proxy | None) -> dict[str, str] | None:
    """Proxy-Authorization for a proxy with credentials: on the CONNECT of a TLS tunnel, or on a
    plain-HTTP request, which goes to the proxy itself (it does not pass the header on)."""
    if proxy is None or not proxy.auth:
        return None
    return {"Proxy-Authorization": aiohttp.encode_basic_auth(*proxy.auth)}


def new_session(max_connections: int = DEFAULT_CONNECTIONS, timeout: float = DEFAULT_TIMEOUT) -> aiohttp.ClientSession:
    """An aiohttp session of its own (its own connections) with the settings above.

    timeout bounds connecting and each wait for more of an answer; the whole read of a
    tenant is bounded by its deadline (sage365.graph.guard), not here."""
    connector = _Connector(ssl=ssl_context(), limit=max_connections, limit_per_host=max_connections)
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # decoded under the size limit (sage365.graph.transport)
        trust_env=False,  # proxies: proxy_for; never ~/.netrc credentials
        # connect: the whole of getting a connection (name lookup, a proxy's CONNECT, TLS);
        # sock_connect: the TCP connect alone; sock_read: each wait for more of an answer.
        timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout),
        raise_for_status=False,
    )
    # aiohttp resends a GET once, unseen, when the server drops the connection. Every resend
    # here is decided by sage365's retry policies (and counted against the tenant's deadline
    # and attempts), as it was on httpx: a dropped connection is one request and one error
    # (the one exception, a read sent on a kept-alive connection the server had already
    # closed, is resent_if_stale's). There is no public switch for it; tests/graph/test_http.py
    # proves it stays off.
    session._retry_connection = False
    return session


def graph_transport(base_url: str, max_connections: int = DEFAULT_CONNECTIONS) -> CappedTransport:
    """The bottom transport of a Graph client (under kiota's middleware): aiohttp, size-limited.

    The session is made on first use, inside the running event loop, as aiohttp requires."""
    proxy = proxy_for(base_url)
    if proxy is not None:  # its credentials as a header: aiohttp deprecates proxy_auth, which httpx-aiohttp would pass
        proxy = httpx.Proxy(proxy.url, headers=_proxy_headers(proxy))
    inner = _Transport(verify=ssl_context(), proxy=proxy, client=lambda: new_session(max_connections))
    return CappedTransport(inner)


class _Transport(AiohttpTransport):
    """httpx-aiohttp's transport with aiohttp's failures named as httpx names them (as_httpx_error):
    its own mapping calls a dropped connection a ConnectTimeout and lets a malformed answer's
    aiohttp exception through, which messages would then misname."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # sage365's Graph requests are reads: GETs, and $batch POSTs of GETs (sage365.graph.batch).
        read = request.method == "GET" or request.url.path.endswith("/$batch")
        if self.proxy is not None and request.url.scheme == "http":
            # Plain HTTP goes to the proxy itself: its credentials ride on the request (over TLS,
            # aiohttp sends them on the CONNECT only).
            request.headers.update(self.proxy.headers)
        try:
            response = await resent_if_stale(lambda: super(_Transport, self).handle_async_request(request), read=read)
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


def _aiohttp_failure(exc: BaseException) -> BaseException | None:
    """aiohttp's own exception behind `exc`: itself, or the cause httpx-aiohttp raised its own from."""
    return exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__


def _renamed(exc: BaseException) -> BaseException:
    cause = _aiohttp_failure(exc)
    return as_httpx_error(cause) if isinstance(cause, aiohttp.ClientError) else exc


class HttpLike(Protocol):
    """What sage365's Exchange and Graph beta clients need of an HTTP client: HttpClient, or an
    httpx.AsyncClient (tests hand one in with httpx.MockTransport)."""

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Any: ...

    async def post(self, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None) -> Any: ...


class HttpResponse:
    """An answer read in full: the subset of httpx.Response that sage365's clients read."""

    __slots__ = ("status_code", "headers", "content", "reason_phrase")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, reason_phrase: str) -> None:
        self.status_code, self.headers, self.content, self.reason_phrase = status_code, headers, content, reason_phrase

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
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),  # the proxy refused the tunnel (403, 407, ...)
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # a malformed status line or header
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


def as_httpx_error(exc: aiohttp.ClientError) -> httpx.TransportError:
    """The httpx exception for `exc`, with a one-line message that quotes no URL: aiohttp's
    own text adds `url=...` and, for a malformed answer, the raw bytes and a caret diagram."""
    if isinstance(exc, aiohttp.ClientResponseError):
        message = f"{exc.status} {(exc.message or '').strip()}".strip()
    else:
        message = str(exc)
    message = (message.strip().splitlines() or [""])[0] or type(exc).__name__
    target = next((t for source, t in _FAILURES if isinstance(exc, source)), httpx.TransportError)
    return target(message)


# A request that went out on a kept-alive connection the server had already closed fails
# before any answer (ServerDisconnectedError, or ClientOSError writing the request): it is
# sent once more, on a new connection, when it is a read (RFC 9112, 9.3.1). httpx's pool
# checked a connection before reusing it; aiohttp's does not, and its own resend is off
# (new_session). A fresh connection that fails is never resent: that is the server's answer.
_STALE = (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)
_reused: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar("sage365_connection_reused", default=None)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, noting when a request is handed a connection that already served
    one (for resent_if_stale). aiohttp's tracing says the same, but building its trace
    objects for every request cost ~0.1 M instructions a request (callgrind)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._served: set[object] = set()  # the connections handed out: a tenant's few, gone with the session

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        connection = await super().connect(req, traces, timeout)
        protocol = connection.protocol
        if protocol in self._served:
            marks = _reused.get()
            if marks is not None:
                marks.append(True)
        elif protocol is not None:
            self._served.add(protocol)
        return connection


async def resent_if_stale(send: Callable[[], Awaitable[T]], *, read: bool) -> T:
    """`send()`, and once more if it failed on a reused connection and `read` (a request that
    changes nothing)."""
    marks: list[bool] = []
    token = _reused.set(marks)
    try:
        return await send()
    except (aiohttp.ClientError, httpx.TransportError) as exc:
        if not (read and marks and isinstance(_aiohttp_failure(exc), _STALE)):
            raise
    finally:
        _reused.reset(token)
    return await send()


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
        proxy = proxy_for(url)
        proxy_headers = _proxy_headers(proxy)
        if proxy_headers and url.startswith("http:"):
            sent.update(proxy_headers)  # plain HTTP: the request itself goes to the proxy
        session = self._session

        async def once() -> HttpResponse:
            async with session.request(method, url, headers=sent, data=body, allow_redirects=False,
                                       proxy=str(proxy.url) if proxy else None,
                                       proxy_headers=proxy_headers) as response:
                content = await _read(response, self._limit)
                return HttpResponse(response.status, response.headers, content, response.reason or "")

        try:
            return await resent_if_stale(once, read=method == "GET")
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
    # Every Content-Encoding line, as httpx joins them: two `gzip` lines are a chain, refused.
    decoder = BodyDecoder(", ".join(response.headers.getall("Content-Encoding", [])), limit)
    chunks = [decoder.feed(chunk) async for chunk in response.content.iter_any()]
    chunks.append(decoder.flush())
    return b"".join(chunks)


__all__ = ["HttpClient", "HttpLike", "HttpResponse", "ResponseTooLarge", "graph_transport", "new_session", "proxy_for", "ssl_context"]
