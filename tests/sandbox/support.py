"""Helpers for the sandbox's own tests: SDK clients, error unpacking, raw HTTP."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import RetryHandlerOption
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from sage365.graph.client import graph_client, make_http_client
from sage365.sandbox import SandboxServer

T = TypeVar("T")


_open: list[httpx.AsyncClient] = []  # clients' connections, closed when run()'s coroutine ends


def run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    async def main() -> T:
        try:
            return await fn(*args)
        finally:
            while _open:
                await _open.pop().aclose()

    return asyncio.run(main())


def client(server: SandboxServer, tenant_id: str):
    """A GraphServiceClient for one tenant; create it inside a coroutine run by run(), which
    closes its connections at the end."""
    http = make_http_client(server.base_url)
    _open.append(http)
    return graph_client(tenant_id, graph_url=server.base_url, http_client=http)


def config(query: Any = None, *, retry: bool = True, headers: dict[str, str] | None = None) -> RequestConfiguration:
    """A request configuration; retry=False turns off msgraph's retry handler for this call."""
    cfg = RequestConfiguration(query_parameters=query)
    if not retry:
        cfg.options = [RetryHandlerOption(max_retries=0, should_retry=False)]
    if headers:
        cfg.headers.add_all(headers)
    return cfg


async def graph_error(awaitable: Awaitable[Any]) -> tuple[int, str]:
    """The (status, Graph error code) an SDK call failed with."""
    try:
        await awaitable
    except ODataError as exc:
        return exc.response_status_code, exc.error.code if exc.error else ""
    raise AssertionError("the call succeeded")


def raw(server: SandboxServer, method: str, path: str, tenant_id: str | None, **kwargs: Any) -> httpx.Response:
    """One request over plain httpx (for $batch and for malformed input the SDK cannot send)."""
    headers = dict(kwargs.pop("headers", {}))
    if tenant_id is not None:
        headers.setdefault("Authorization", f"Bearer sandbox.{tenant_id}")
    url = path if path.startswith("http") else server.base_url + path
    return httpx.request(method, url, headers=headers, timeout=10, **kwargs)


def batch(server: SandboxServer, tenant_id: str, requests: list[dict[str, Any]]) -> httpx.Response:
    return raw(server, "POST", "/$batch", tenant_id, json={"requests": requests})
