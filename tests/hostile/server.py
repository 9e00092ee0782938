"""A deliberately misbehaving HTTP server for tests: slow bodies, loops, redirects, huge
or malformed answers, other tenants' data.

It runs in the test process (its own thread and event loop) and answers each request
through a handler, `handler(request) -> Reply | None`; None forwards the request to an
upstream (normally the Graph sandbox), so a case only scripts what it breaks:

    def handler(request):
        if request.path.endswith("/organization"):
            return Reply(200, json={"value": []}, byte_every=2.0)   # one byte every 2 s
        return None                                                  # the sandbox answers

    def rewrite(request, reply):                                     # or: change the sandbox's answer
        return reply

    with HostileServer(handler, upstream=sandbox.base_url, rewrite=rewrite) as server:
        run sage365 drift --graph-url server.base_url ...
        server.requests  # every request received: method, target, headers, body

It is an HTTP/1.1 server written on asyncio streams on purpose: no maintained server
library will send a body one byte at a time, lie about Content-Length or answer a
redirect to another origin on demand.
"""

from __future__ import annotations

import asyncio
import http.client
import json as jsonlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # as sent: path and query
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    json: Any = None  # serialized as the body when given
    byte_every: float = 0.0  # seconds between bytes of the body (a slow server)
    chunks: Iterable[bytes] | None = None  # streamed body, e.g. a huge one never held in memory
    content_length: int | None = None  # sent as is when given (with chunks, or to lie)

    def encoded_body(self) -> bytes:
        return jsonlib.dumps(self.json).encode() if self.json is not None else self.body


Handler = Callable[[Request], "Reply | None"]
REASONS = {200: "OK", 202: "Accepted", 301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect",
           308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class HostileServer:
    def __init__(self, handler: Handler = lambda request: None, *, upstream: str | None = None,
                 rewrite: Callable[[Request, Reply], Reply] | None = None) -> None:
        self.handler = handler
        self.rewrite = rewrite  # applied to the upstream's replies: break a real answer a little
        self.upstream = urlsplit(upstream) if upstream else None
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "HostileServer":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> "HostileServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1.0"

    def received(self, predicate: Callable[[Request], bool] = lambda request: True) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if predicate(r)]

    # -- serving -----------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                reply = self.handler(request)
                if reply is None:
                    reply = await asyncio.get_running_loop().run_in_executor(None, self._forward, request)
                    if self.rewrite is not None:
                        reply = self.rewrite(request, reply)
                await _write_reply(writer, reply)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _forward(self, request: Request) -> Reply:
        if self.upstream is None:
            return Reply(404, json={"error": {"code": "NotFound", "message": "no upstream"}})
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k not in ("host", "connection", "content-length")}
            connection.request(request.method, request.target, body=request.body or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() in ("content-type", "retry-after", "location")}
            return Reply(response.status, kept, body)
        finally:
            connection.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    line = await reader.readline()
    if not line:
        return None
    method, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    body = reply.encoded_body()
    headers = {"Content-Type": "application/json"} if (reply.json is not None or body) else {}
    headers.update(reply.headers)
    length = reply.content_length if reply.content_length is not None else (None if reply.chunks else len(body))
    if length is not None:
        headers["Content-Length"] = str(length)
    else:
        headers["Connection"] = "close"  # a body ended by closing the connection
    head = f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    writer.write(head.encode("latin-1"))
    await writer.drain()
    if reply.chunks is not None:
        for chunk in reply.chunks:
            writer.write(chunk)
            await writer.drain()
        if length is None:
            writer.close()
        return
    if reply.byte_every:
        for index in range(len(body)):
            writer.write(body[index:index + 1])
            await writer.drain()
            await asyncio.sleep(reply.byte_every)
        return
    writer.write(body)
    await writer.drain()
