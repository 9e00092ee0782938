"""Raw HTTP through msgraph-sdk's request adapter, and a cap on the size of every response.

`send(adapter, method, url)` hands a request to kiota's request adapter with kiota's own
NativeResponseHandler, so authentication (azure-identity or the sandbox token), the
middleware (retry, redirect, headers, telemetry) and continuous-access-evaluation retries
all apply, and the adapter returns the httpx.Response as received: its status, headers
and body bytes, with no SDK model built from it. sage365.graph.shapes decodes the bytes.

`CappedTransport` sits under the middleware, next to the socket, and stops reading a
response once its body passes `MAX_RESPONSE_BYTES` (counted after gzip/deflate decoding,
so a compressed bomb is stopped too): a hostile or broken server cannot make one tenant's
read hold hundreds of megabytes. httpx has no such option, hence this small wrapper.
"""

from __future__ import annotations

import zlib
from typing import Any, AsyncIterator

import httpx
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import ResponseHandlerOption

MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # far above any answer sage365 asks for (a 20-item batch page)
# Only what CappedTransport can count while decoding; httpx would also offer br/zstd when installed.
ACCEPT_ENCODING = "gzip, deflate"

_NATIVE = ResponseHandlerOption(NativeResponseHandler())


class ResponseTooLarge(Exception):
    """A response body passed the size limit; the rest of it was not read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the response body exceeds sage365's limit of {limit // (1024 * 1024)} MiB; it was not read")
        self.limit = limit


async def send(adapter: Any, method: Method, url: str, *, body: bytes | None = None) -> httpx.Response:
    """`method url` through `adapter` (kiota's request adapter); the raw response, whatever its status.

    Raises what the transport raises (httpx errors, ResponseTooLarge) and what the
    authentication provider raises (azure-identity's errors).
    """
    info = RequestInformation(method)
    info.url = url  # absolute: no URI template to expand
    info.headers.try_add("Accept", "application/json")
    if body is not None:
        info.headers.try_add("Content-Type", "application/json")
        info.content = body
    info.add_request_options([_NATIVE])
    return await adapter.send_primitive_async(info, "bytes", None)


def check_length(content_length: str, limit: int = MAX_RESPONSE_BYTES) -> None:
    """ResponseTooLarge when a Content-Length header already announces more than `limit`."""
    if content_length.isdigit() and int(content_length) > limit:
        raise ResponseTooLarge(limit)


IDENTITY = ("", "identity")


class BodyDecoder:
    """Counts a body's bytes as they arrive, decoding gzip or deflate first, and raises
    ResponseTooLarge as soon as the decoded total passes the limit: at most one byte past
    the limit is ever decoded, so a compressed bomb is stopped too.

    Only what sage365 asks for (ACCEPT_ENCODING) is accepted: any other Content-Encoding
    (br, or a chain such as `gzip, gzip`) is httpx.DecodingError, never handed on for httpx
    to decode after the fact, where no limit would apply."""

    def __init__(self, encoding: str = "", limit: int = MAX_RESPONSE_BYTES) -> None:
        """encoding: the answer's Content-Encoding value."""
        self.encoding = encoding.strip().lower()
        if self.encoding not in (*IDENTITY, "gzip", "deflate"):
            raise httpx.DecodingError(f"the answer's Content-Encoding {encoding.strip()!r} is not one sage365 "
                                      f"accepts ({ACCEPT_ENCODING}); it was not read")
        self.decodes = self.encoding not in IDENTITY
        self._limit, self._total = limit, 0
        # gzip: a gzip header; deflate: a zlib header (raw deflate is tried if that fails).
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16) if self.encoding == "gzip" else (
            zlib.decompressobj() if self.encoding == "deflate" else None)
        self._raw_deflate = self.encoding == "deflate"

    def _invalid(self) -> httpx.DecodingError:
        return httpx.DecodingError(f"the response body is not valid {self.encoding}")

    def _decode(self, chunk: bytes, room: int) -> bytes:
        try:
            return self._zlib.decompress(chunk, room)
        except zlib.error:
            if not self._raw_deflate:
                raise self._invalid() from None
        # A zlib header was expected and not found: some servers send raw deflate.
        self._raw_deflate = False
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            return self._zlib.decompress(chunk, room)
        except zlib.error:
            raise self._invalid() from None

    def feed(self, chunk: bytes) -> bytes:
        if self._zlib is not None:
            chunk = self._decode(chunk, self._limit - self._total + 1)
        self._total += len(chunk)
        if self._total > self._limit:
            raise ResponseTooLarge(self._limit)
        return chunk

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            tail = self._zlib.flush()
        except zlib.error:
            raise self._invalid() from None
        self._total += len(tail)
        if self._total > self._limit:
            raise ResponseTooLarge(self._limit)
        return tail


class CappedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; every response body is read through a size limit."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int = MAX_RESPONSE_BYTES) -> None:
        self.inner, self.limit = inner, limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        response = await self.inner.handle_async_request(request)
        try:
            check_length(response.headers.get("Content-Length", ""), self.limit)
            decoder = BodyDecoder(response.headers.get("Content-Encoding", ""), self.limit)
        except (ResponseTooLarge, httpx.DecodingError):
            await response.aclose()
            raise
        if decoder.decodes:
            # Decoded here, under the limit, never by httpx after the fact.
            del response.headers["Content-Encoding"]
            if "Content-Length" in response.headers:
                del response.headers["Content-Length"]
        response.stream = _CappedStream(response.stream, decoder)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, decoder: BodyDecoder) -> None:
        self._inner, self._decoder = inner, decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            chunk = self._decoder.feed(chunk)
            if chunk:
                yield chunk
        tail = self._decoder.flush()
        if tail:
            yield tail

    async def aclose(self) -> None:
        await self._inner.aclose()
