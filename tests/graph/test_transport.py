"""CappedTransport: a response body past the size limit stops being read (plain, chunked or
compressed), and the reader turns it into an error naming the limit."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import httpx
import pytest
from msgraph_core import GraphClientFactory

from sage365.graph import shapes
from sage365.graph.batch import BatchRequest, BatchResponse, send_batch
from sage365.graph.client import graph_client
from sage365.graph.transport import MAX_RESPONSE_BYTES, CappedTransport, ResponseTooLarge

BASE = "https://graph.test/v1.0"
MiB = 1024 * 1024


class Chunks(httpx.AsyncByteStream):
    """`count` chunks of `chunk`, counting how many were pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self):
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


def fetch(handler, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    async def go():
        async with httpx.AsyncClient(transport=CappedTransport(httpx.MockTransport(handler), limit)) as client:
            return (await client.get("https://graph.test/v1.0/x")).content

    return asyncio.run(go())


def test_a_100_mib_body_stops_being_read_just_past_the_limit():
    body = Chunks(b"x" * MiB, 100)
    with pytest.raises(ResponseTooLarge, match=r"exceeds sage365's limit of 32 MiB; it was not read"):
        fetch(lambda request: httpx.Response(200, stream=body))
    assert body.pulled == 33  # 32 MiB fit; the 33rd chunk proves the excess; 67 never read


def test_a_declared_content_length_over_the_limit_is_refused_before_reading():
    body = Chunks(b"x" * MiB, 100)
    with pytest.raises(ResponseTooLarge):
        fetch(lambda request: httpx.Response(200, headers={"Content-Length": str(100 * MiB)}, stream=body))
    assert body.pulled == 0


def test_a_compressed_bomb_is_stopped_while_decoding():
    bomb = gzip.compress(b"\0" * (8 * MiB), compresslevel=9)  # ~8 KB on the wire
    assert len(bomb) < 64 * 1024
    with pytest.raises(ResponseTooLarge):
        fetch(lambda request: httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=Chunks(bomb, 1)), limit=MiB)


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ("identity", lambda data: data),
])
def test_bodies_under_the_limit_are_decoded_whole(encoding, encode):
    data = b'{"value": []}' * 1000
    wire = encode(data)
    # Streamed in two parts, as a socket delivers it (a `content=` response would be pre-read by httpx).
    parts = Chunks(wire[: len(wire) // 2], 1), Chunks(wire[len(wire) // 2 :], 1)

    class Wire(httpx.AsyncByteStream):
        async def __aiter__(self):
            for part in parts:
                async for chunk in part:
                    yield chunk

    assert fetch(lambda request: httpx.Response(200, headers={"Content-Encoding": encoding}, stream=Wire()),
                 limit=len(data)) == data


def test_the_accept_encoding_offered_is_only_what_the_cap_can_decode():
    seen = []
    fetch(lambda request: seen.append(request.headers["Accept-Encoding"]) or httpx.Response(200, content=b"{}"))
    assert seen == ["gzip, deflate"]


def test_a_batch_response_over_the_limit_is_an_error_for_its_items():
    def handler(request):
        return httpx.Response(200, stream=Chunks(b" " * MiB, 40))

    async def go():
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=CappedTransport(httpx.MockTransport(handler)), base_url=BASE))
        try:
            return await send_batch(graph_client("t1", graph_url=BASE, http_client=http).request_adapter,
                                    [BatchRequest("skus", "/subscribedSkus", shapes.SubscribedSku, True)])
        finally:
            await http.aclose()

    assert asyncio.run(go()) == {"skus": BatchResponse(
        "skus", 0, None, "ResponseTooLarge", "the response body exceeds sage365's limit of 32 MiB; it was not read", 1)}
