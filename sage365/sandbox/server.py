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
from pathlib import Path
from typing import Callable, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from sage365.exchange.tokens import SANDBOX_PREFIX
from sage365.sandbox import batch, routes_apps, routes_beta, routes_directory, routes_exchange, wire
from sage365.sandbox.errors import GraphError, bad_request, internal_error, unauthenticated
from sage365.sandbox.faults import Fault, FaultInjector, Faults
from sage365.sandbox.router import Request, Response, Router
from sage365.sandbox.state import State, save_state
from sage365.sandbox.stats import Stats

T = TypeVar("T")
VERSION = "/v1.0"
BETA = "/beta"  # Graph beta: connectors and sign-in activity only (routes_beta)
TOKEN_PREFIX = f"Bearer {SANDBOX_PREFIX}"  # what sage365.exchange.tokens.sandbox_token makes


def build_router() -> Router:
    router = Router()
    routes_directory.register(router)
    routes_apps.register(router)
    return router


def build_beta_router() -> Router:
    router = Router()
    routes_beta.register(router)
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
        self.beta_router = build_beta_router()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._connections: set[asyncio.Task] = set()
        self._closing = False

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
            self._closing = True  # a connection whose task starts from now on ends at once
            self._server.close()
            # Idle keep-alive connections would otherwise outlive the loop. New tasks can
            # still appear for connections accepted just before close(): loop until none is left.
            while self._connections:
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
            _finish(loop)

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
            while not self._closing:
                request_id = str(uuid.uuid4())
                try:
                    request = await wire.read_request(reader, writer)
                except wire.WireError as exc:
                    payload = _json(GraphError(exc.status, "BadRequest", exc.message).body(request_id))
                    writer.write(wire.encode(exc.status, {}, payload, request_id, keep_alive=False))
                    await writer.drain()
                    return
                if request is None:
                    return
                request_id = request.headers.get("client-request-id") or request_id
                answer = await self._handle(request.method, request.target, request.headers, request.body, request_id)
                if answer is None:  # a dropped-connection fault
                    writer.transport.abort()
                    return
                status, extra, payload = answer
                writer.write(wire.encode(status, extra, payload, request_id, request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except ConnectionError:
            return
        except asyncio.CancelledError:
            return  # shutdown: end quietly (asyncio logs a cancelled connection task as an error)
        finally:
            writer.close()

    async def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
                      request_id: str) -> tuple[int, dict[str, str], bytes] | None:
        split = urlsplit(target)
        if split.path.startswith("/_sandbox/"):
            return self._control(method, split.path, body)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        raw_path = split.path
        tenant_id = _token_tenant(headers.get("authorization"))
        known_tenant = tenant_id if tenant_id in self.state.tenants else None
        exchange = routes_exchange.PATH.match(raw_path)
        if exchange is not None:
            return await self._exchange(method, raw_path, exchange.group("tenant"), headers, params, body, tenant_id)
        version = VERSION if raw_path.startswith(VERSION + "/") else BETA if raw_path.startswith(BETA + "/") else None
        router = self.beta_router if version == BETA else self.router
        path = unquote(raw_path[len(version):]) if version else None
        endpoint = "POST /$batch" if path == "/$batch" else (router.endpoint(method, path) if path else f"{method} (unknown)")
        if version == BETA:
            endpoint = endpoint.replace(" /", " /beta/", 1)
        fault = await self._admit(known_tenant, endpoint)
        if fault is Fault.DROP:
            return None
        try:
            if fault is not None and fault is not Fault.MALFORMED:
                raise self.injector.error(fault)
            if path is None:
                raise bad_request(f"Invalid version: the sandbox serves only {VERSION} and {BETA} (two endpoints).", "BadRequest")
            tenant = self._tenant(headers.get("authorization"), tenant_id)
            if version == BETA:
                self.stats.count_operation(tenant.id, endpoint)
                req = Request(method, path, params, headers, body, tenant, self.state, self.url + BETA, self.page_size)
                _, resp = self.beta_router.dispatch(req)
            elif path == "/$batch":
                if method != "POST":
                    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
                resp = self._batch(tenant, body)
            else:
                self.stats.count_operation(tenant.id, endpoint)
                req = Request(method, path, params, headers, body, tenant, self.state, self.base_url, self.page_size)
                _, resp = self.router.dispatch(req)
        except GraphError as exc:
            resp = Response(exc.status, exc.body(request_id), dict(exc.headers))
        except Exception:  # noqa: BLE001 (a sandbox bug: Graph's 500, never a traceback to the client)
            resp = Response(500, internal_error(f"{method} {raw_path}").body(request_id))
        return self._answer(resp, fault)

    async def _exchange(self, method: str, raw_path: str, url_tenant: str, headers: dict[str, str],
                        params: dict[str, str], body: bytes, tenant_id: str | None) -> tuple[int, dict[str, str], bytes] | None:
        """Exchange Online's InvokeCommand (routes_exchange), with the same counters and faults."""
        endpoint = routes_exchange.ENDPOINT
        known_tenant = tenant_id if tenant_id in self.state.tenants else None
        fault = await self._admit(known_tenant, endpoint)
        if fault is Fault.DROP:
            return None
        try:
            if fault is not None and fault is not Fault.MALFORMED:
                error = self.injector.error(fault)
                raise routes_exchange.ExchangeFault(error.status, error.code, error.message, headers=error.headers)
            if method != "POST":
                raise routes_exchange.ExchangeFault(405, "MethodNotAllowed", "InvokeCommand accepts POST only.")
            tenant = routes_exchange.authorize(self.state, url_tenant, tenant_id, headers.get("authorization"))
            self.stats.count_operation(tenant.id, endpoint)
            resp = routes_exchange.invoke(tenant, body, url=self.url + raw_path, params=params, prefer=headers.get("prefer"),
                                          page_size=self.page_size, context=f"{self.url}/adminapi/beta/{tenant.id}/$metadata#App")
        except GraphError as exc:
            resp = Response(exc.status, exc.body(), dict(exc.headers))
        except Exception:  # noqa: BLE001 (a sandbox bug: a 500, never a traceback to the client)
            error = internal_error(f"{method} {raw_path}")
            resp = Response(500, routes_exchange.exchange_error(500, error.code, error.message))
        return self._answer(resp, fault)

    async def _admit(self, known_tenant: str | None, endpoint: str) -> Fault | None:
        """What every request goes through, Graph's or Exchange's: counted, delayed, maybe faulted."""
        self.stats.count_request(known_tenant, endpoint)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = self.injector.decide(known_tenant, endpoint)
        if fault is not None:
            self.stats.count_fault(fault.value)
        return fault

    @staticmethod
    def _answer(resp: Response, fault: Fault | None) -> tuple[int, dict[str, str], bytes]:
        """The response's bytes; a malformed-body fault cuts them in half."""
        payload = _json(resp.body) if resp.body is not None else b""
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
            endpoint = self.router.endpoint(method, path)
            self.stats.count_operation(tenant.id, endpoint)
            if endpoint in self.faults.deny.get(tenant.id, ()):  # the deny fault reaches batch items too
                self.stats.count_fault(Fault.DENIED.value)
                raise self.injector.error(Fault.DENIED)
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
            return 200, {}, _json(self.stats.snapshot())
        if (method, path) == ("POST", "/_sandbox/stats/reset"):
            self.stats.reset()
            return 204, {}, b""
        if (method, path) == ("GET", "/_sandbox/faults"):
            return 200, {}, _json(self.faults.to_json())
        if (method, path) == ("PUT", "/_sandbox/faults"):
            try:
                self.injector.configure(Faults.from_json(json.loads(body or b"{}")))
            except (ValueError, TypeError) as exc:
                return 400, {}, _json(GraphError(400, "BadRequest", str(exc)).body())
            return 200, {}, _json(self.faults.to_json())
        return 404, {}, _json(GraphError(404, "NotFound", f"no sandbox control endpoint {method} {path}").body())


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    """Close the thread's loop as asyncio.run does: tasks left (connections accepted as the
    server closed, not yet started) are cancelled and run to their end first, or they are
    destroyed pending and log 'Task was destroyed but it is pending!'."""
    while pending := [t for t in asyncio.all_tasks(loop) if not t.done()]:
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(asyncio.sleep(0))  # let closed transports run their connection_lost
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _token_tenant(authorization: str | None) -> str | None:
    if authorization and authorization.startswith(TOKEN_PREFIX):
        tenant = authorization[len(TOKEN_PREFIX):].strip()
        return tenant.lower() or None
    return None


def _json(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
