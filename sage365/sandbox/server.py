"""The sandbox's HTTP/1.1 server: asyncio streams, keep-alive, TCP_NODELAY.

Hand-written on purpose: no maintained Microsoft Graph emulator exists, and a small
asyncio server with no dependencies answers hundreds of concurrent keep-alive
connections fast enough to carry fleet benchmarks. It serves `/v1.0/...` (Graph) and
`/_sandbox/...` (stats and faults, for tests that run the sandbox as a subprocess).
Every piece of state is touched only on the server's event loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from sage365.sandbox import batch, routes_apps, routes_directory
from sage365.sandbox.errors import GraphError, bad_request, unauthenticated
from sage365.sandbox.faults import Fault, FaultInjector, Faults
from sage365.sandbox.router import Request, Response, Router
from sage365.sandbox.state import State, save_state
from sage365.sandbox.stats import Stats

T = TypeVar("T")
VERSION = "/v1.0"
TOKEN_PREFIX = "Bearer sandbox."
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 424: "Failed Dependency",
           429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout"}
MAX_BODY = 4 * 1024 * 1024


def build_router() -> Router:
    router = Router()
    routes_directory.register(router)
    routes_apps.register(router)
    return router


class SandboxServer:
    """One sandbox: a State served over HTTP. Use `start()`/`stop()` (a background thread,
    for tests) or `await serve(stop_event)` (the CLI)."""

    def __init__(self, state: State, *, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None, page_size: int = 100) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.page_size = page_size
        self.stats = Stats()
        self.injector = FaultInjector(faults)
        self.router = build_router()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._connections: set[asyncio.Task] = set()

    # -- addresses and control -------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What GraphServiceClient is pointed at: `http://127.0.0.1:PORT/v1.0`."""
        return self.url + VERSION

    @property
    def faults(self) -> Faults:
        return self.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self.call(lambda: self.injector.configure(faults)) if self._loop else self.injector.configure(faults)

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the server's loop (safe against concurrent requests) and return its result."""
        if self._loop is None or self._thread is None:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def save(self, path: str | Path) -> None:
        self.call(lambda: save_state(self.state, path))

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._connection, self.host, self.port, backlog=2048, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            # Idle keep-alive connections would otherwise outlive the loop.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (the CLI's way)."""
        if self._server is None:
            await self.open()
        await stop.wait()
        await self.close()

    def start(self) -> "SandboxServer":
        """Serve on a background thread; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.open())
            except BaseException as exc:  # noqa: BLE001 (reported to the starting thread)
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_until_complete(self._stopped.wait())
            loop.run_until_complete(self.close())
            loop.close()

        self._thread = threading.Thread(target=main, name=f"sage365-sandbox-{id(self)}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    return
                method, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await self._read_body(reader, headers)
                if body is None:
                    return
                conn = headers.get("connection", "").lower()
                keep_alive = (version == "HTTP/1.1" and conn != "close") or (version == "HTTP/1.0" and conn == "keep-alive")
                answer = await self._handle(method.upper(), target, headers, body)
                if answer is None:  # a dropped-connection fault
                    writer.transport.abort()
                    return
                status, extra, payload = answer
                writer.write(_encode(status, extra, payload, headers, keep_alive))
                await writer.drain()
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # shutdown: end quietly (asyncio logs a cancelled connection task as an error)
        finally:
            writer.close()

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    return b"".join(chunks)
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            return None
        return await reader.readexactly(length) if length else b""

    async def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes] | None:
        split = urlsplit(target)
        if split.path.startswith("/_sandbox/"):
            return self._control(method, split.path, body)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        raw_path = split.path
        tenant_id = _token_tenant(headers.get("authorization"))
        known_tenant = tenant_id if tenant_id in self.state.tenants else None
        path = unquote(raw_path[len(VERSION):]) if raw_path.startswith(VERSION + "/") else None
        endpoint = "POST /$batch" if path == "/$batch" else (self.router.endpoint(method, path) if path else f"{method} (unknown)")
        self.stats.count_request(known_tenant, endpoint)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = self.injector.decide(known_tenant, endpoint)
        if fault is not None:
            self.stats.count_fault(fault.value)
        if fault is Fault.DROP:
            return None
        try:
            if fault is not None and fault is not Fault.MALFORMED:
                raise self.injector.error(fault)
            if path is None:
                raise bad_request(f"Invalid version: the sandbox serves only {VERSION}.", "BadRequest")
            tenant = self._tenant(headers.get("authorization"), tenant_id)
            if path == "/$batch":
                if method != "POST":
                    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
                resp = self._batch(tenant, body)
            else:
                self.stats.count_operation(tenant.id, endpoint)
                req = Request(method, path, params, headers, body, tenant, self.state, self.base_url, self.page_size)
                _, resp = self.router.dispatch(req)
        except GraphError as exc:
            resp = Response(exc.status, exc.body(headers.get("client-request-id")), dict(exc.headers))
        payload = json.dumps(resp.body, separators=(",", ":"), ensure_ascii=False).encode() if resp.body is not None else b""
        if fault is Fault.MALFORMED and payload:
            payload = payload[: max(1, len(payload) // 2)]
        return resp.status, resp.headers, payload

    def _tenant(self, authorization: str | None, tenant_id: str | None):
        if not authorization:
            raise unauthenticated("Access token is empty.")
        if tenant_id is None:
            raise unauthenticated("IDX14100: JWT is not well formed. The sandbox accepts only 'Bearer sandbox.<tenantId>'.")
        tenant = self.state.tenants.get(tenant_id)
        if tenant is None:
            raise unauthenticated(f"Access token validation failure: tenant '{tenant_id}' is not known to this sandbox.")
        return tenant

    def _batch(self, tenant, body: bytes) -> Response:
        items = batch.parse(body)

        def execute(method: str, url: str, headers: dict[str, str], raw: bytes) -> Response:
            split = urlsplit(url if url.startswith("/") else "/" + url)
            path = unquote(split.path)
            params = dict(parse_qsl(split.query, keep_blank_values=True))
            self.stats.count_operation(tenant.id, self.router.endpoint(method, path))
            req = Request(method, path, params, headers, raw, tenant, self.state, self.base_url, self.page_size)
            return self.router.dispatch(req)[1]

        def throttled() -> GraphError | None:
            if self.injector.batch_item_throttled():
                self.stats.count_fault(Fault.BATCH_ITEM_THROTTLE.value)
                return self.injector.error(Fault.BATCH_ITEM_THROTTLE)
            return None

        return Response(200, batch.run(items, execute, throttled=throttled, reverse=self.faults.batch_reverse))

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Stats and faults for a sandbox running in another process."""
        if (method, path) == ("GET", "/_sandbox/stats"):
            return 200, {}, json.dumps(self.stats.snapshot()).encode()
        if (method, path) == ("POST", "/_sandbox/stats/reset"):
            self.stats.reset()
            return 204, {}, b""
        if (method, path) == ("GET", "/_sandbox/faults"):
            return 200, {}, json.dumps(self.faults.to_json()).encode()
        if (method, path) == ("PUT", "/_sandbox/faults"):
            try:
                self.injector.configure(Faults.from_json(json.loads(body or b"{}")))
            except (ValueError, TypeError) as exc:
                return 400, {}, json.dumps(GraphError(400, "BadRequest", str(exc)).body()).encode()
            return 200, {}, json.dumps(self.faults.to_json()).encode()
        return 404, {}, json.dumps(GraphError(404, "NotFound", f"no sandbox control endpoint {method} {path}").body()).encode()


def _token_tenant(authorization: str | None) -> str | None:
    if authorization and authorization.startswith(TOKEN_PREFIX):
        tenant = authorization[len(TOKEN_PREFIX):].strip()
        return tenant.lower() or None
    return None


def _encode(status: int, extra: dict[str, str], payload: bytes, req_headers: dict[str, str], keep_alive: bool) -> bytes:
    request_id = req_headers.get("client-request-id") or str(uuid.uuid4())
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
             f"Date: {formatdate(usegmt=True)}",
             f"request-id: {request_id}",
             f"client-request-id: {request_id}",
             f"Content-Length: {len(payload)}",
             "Connection: " + ("keep-alive" if keep_alive else "close")]
    if payload:
        lines.append(f"Content-Type: {JSON_TYPE}")
    lines.extend(f"{k}: {v}" for k, v in extra.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
