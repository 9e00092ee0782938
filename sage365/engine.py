"""The drift engine: read declared tenants through Microsoft Graph and check them.

`check_tenants` reads many tenants concurrently (bounded by a semaphore), each through
its own Graph client and credential, closed afterwards: one tenant's token, connections
or failure never reach another. `check_tenant` is the synchronous form for one tenant
(the Pulumi program's preview gate). Nothing here prints or exits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import inspect
from typing import Any, AsyncIterator, Callable, Sequence

from sage365 import extras as services
from sage365.catalog import Catalog
from sage365.checks.ids import CHECK_IDS
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status, TenantResult
from sage365.graph.redact import redact
from sage365.snapshot import Snapshot

# Seconds for one tenant's whole read: a healthy tenant needs a few round trips (well under
# a second); a throttled one a few Retry-After waits of Graph's usual 1-30 s.
DEFAULT_TENANT_TIMEOUT = 120.0
CredentialFactory = Callable[[str], Any]  # tenant id -> an azure-identity credential
Progress = Callable[[TenantResult], None]  # called once per tenant, as each one finishes


async def _close(obj: Any) -> None:
    """Close a client or credential; a failure to close must not turn a read into a crash."""
    close = getattr(obj, "close", None) if obj is not None else None
    if close is None:
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:  # noqa: S110 (the snapshot is already read; nothing left to report on)
        pass


class NoClient(Exception):
    """No client could be made for a tenant (no credential, a blank Graph URL); the message says why, redacted."""


@contextlib.asynccontextmanager
async def tenant_client(
    tenant_id: str,
    *,
    graph_url: str | None = None,
    credential: Any = None,
    credential_factory: CredentialFactory | None = None,
    guard: Any = None,
) -> AsyncIterator[tuple[Any, Any]]:
    """(a GraphServiceClient of the tenant's own, its credential), closed afterwards with what this call created.

    Without graph_url: real Graph with `credential`, else credential_factory(tenant_id),
    else the environment's credential (sage365.graph.credentials). With graph_url and no
    credential: the sandbox's static token for this tenant. NoClient when none can be made.
    guard: the tenant's sage365.graph.guard.TenantGuard (deadline, redirects, token tenant).
    """
    from sage365.graph import (
        client as graph,  # msgraph: imported on first use, not on import
    )

    try:
        graph_url = graph.graph_url_from_env(graph_url)
    except ValueError as exc:
        raise NoClient(str(exc)) from None
    owned = credential is None  # close only what this call created; the caller's stays open
    try:
        if credential is None and credential_factory is not None:
            credential = credential_factory(tenant_id)
        elif credential is None and graph_url is None:
            from sage365.graph.credentials import credential_for

            credential = credential_for(tenant_id)
    except Exception as exc:
        raise NoClient(redact(f"no credential for tenant {tenant_id}: {exc}")) from None
    http = None
    try:
        # Inside the try: a malformed --graph-url must be this tenant's error, not a leak of the credential.
        from sage365.graph.guard import TenantCheckedCredential, TenantGuard

        guard = guard or TenantGuard(tenant_id)
        # Every client of this tenant (Graph, Graph beta, Exchange) takes its tokens from the
        # checked credential: another tenant's token is refused before any request carries it.
        checked = TenantCheckedCredential(credential, guard) if credential is not None else None
        http = graph.make_http_client(graph_url or graph.GRAPH_URL, guard=guard)
        yield graph.graph_client(tenant_id, graph_url=graph_url, credential=checked, http_client=http,
                                 guard=guard), checked
    finally:
        await _close_http(http)
        if owned:
            await _close(credential)


async def read_tenant(
    tenant: Tenant,
    catalog: Catalog,
    *,
    graph_url: str | None = None,
    credential: Any = None,
    credential_factory: CredentialFactory | None = None,
    extras: bool = False,
    timeout: float = DEFAULT_TENANT_TIMEOUT,
) -> Snapshot:
    """One tenant's Snapshot through a client of its own (tenant_client); any failure becomes Snapshot.errors.

    extras: also read what the tenant needs beyond Graph v1.0 (Exchange's organization apps,
    Graph beta's connectors: sage365.extras); without it those parts are None (not read).
    timeout (seconds) bounds the whole read, extras included: tokens, connections, slow
    bodies, retries, pages. A tenant that hits it, or any other limit of sage365.graph.guard
    (a redirect, another tenant's token), is unreadable as a whole, with a message naming the limit.
    """
    from sage365.graph import client as graph
    from sage365.graph.guard import TenantGuard
    from sage365.graph.reader import failed, read_snapshot

    guard = TenantGuard(tenant.tenant_id, timeout)
    deadline = asyncio.timeout(timeout)
    try:
        guard.start()
        async with deadline:
            async with tenant_client(tenant.tenant_id, graph_url=graph_url, credential=credential,
                                     credential_factory=credential_factory, guard=guard) as (client, used):
                alongside = None
                if extras and services.needed(tenant):
                    # Exchange's organization apps and Graph beta's connectors, only for tenants that need
                    # them, once GET /organization confirmed the tenant, during the Graph batch: no
                    # extra round trip of waiting.
                    async def alongside() -> Callable[[Snapshot], Snapshot]:
                        return await services.read(tenant, catalog, graph_url=graph.graph_url_from_env(graph_url),
                                                   exchange_url=None, credential=used, guard=guard)

                snapshot = await read_snapshot(client, tenant, catalog, alongside=alongside)
        # A limit hit anywhere (even in one batch item) taints everything read for this tenant.
        return failed(tenant.tenant_id, guard.violation) if guard.violation else snapshot
    except NoClient as exc:
        return failed(tenant.tenant_id, str(exc))
    except TimeoutError:
        if not deadline.expired():
            raise
        return failed(tenant.tenant_id, guard.timed_out_message())
    except Exception as exc:  # a bug or an unexpected library error: this tenant only
        if guard.violation:
            return failed(tenant.tenant_id, guard.violation)
        return failed(tenant.tenant_id, redact(f"cannot read tenant {tenant.tenant_id}: {type(exc).__name__}: {exc}"))


async def _close_http(http: Any) -> None:
    if http is not None:
        try:
            await http.aclose()
        except Exception:  # noqa: S110 (as in _close)
            pass


def _checks_failed(tenant: Tenant, exc: Exception) -> TenantResult:
    """Every check in error: a crash in a check must never look like a compliant tenant."""
    message = redact(f"the checks could not run: {type(exc).__name__}: {exc}")
    findings = tuple(
        Finding(tenant=tenant.name, check=check, status=Status.ERROR, severity=Severity.HIGH, resource=tenant.tenant_id, message=message)
        for check in CHECK_IDS
    )
    return TenantResult(name=tenant.name, tenant_id=tenant.tenant_id, path=tenant.path, findings=findings)


def evaluate(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, today: dt.date, lang: str = "en") -> TenantResult:
    """Run the checks on a snapshot; never raises."""
    from sage365 import checks

    try:
        return checks.result(tenant, catalog, snapshot, today=today, lang=lang)
    except Exception as exc:
        return _checks_failed(tenant, exc)


async def check_tenants(
    tenants: Sequence[Tenant],
    catalog: Catalog,
    *,
    graph_url: str | None = None,
    credential_factory: CredentialFactory | None = None,
    concurrency: int = 16,
    tenant_timeout: float = DEFAULT_TENANT_TIMEOUT,
    today: dt.date,
    lang: str = "en",
    progress: Progress | None = None,
) -> list[TenantResult]:
    """Read and check every tenant, at most `concurrency` at a time, each within
    `tenant_timeout` seconds; results in `tenants` order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if tenant_timeout <= 0:
        raise ValueError("tenant_timeout must be positive")
    gate = asyncio.Semaphore(concurrency)

    async def one(tenant: Tenant) -> TenantResult:
        async with gate:
            snapshot = await read_tenant(tenant, catalog, graph_url=graph_url, credential_factory=credential_factory,
                                         extras=True, timeout=tenant_timeout)
        result = evaluate(tenant, catalog, snapshot, today=today, lang=lang)
        if progress is not None:
            progress(result)
        return result

    return list(await asyncio.gather(*(one(t) for t in tenants)))


def check_tenant(
    tenant: Tenant,
    catalog: Catalog,
    *,
    graph_url: str | None = None,
    credential: Any = None,
    today: dt.date,
    lang: str = "en",
) -> TenantResult:
    """Read and check one tenant, synchronously (for callers without an event loop of their own)."""

    snapshot = read_tenant_sync(tenant, catalog, graph_url=graph_url, credential=credential)
    return evaluate(tenant, catalog, snapshot, today=today, lang=lang)


def read_tenant_sync(tenant: Tenant, catalog: Catalog, **options: Any) -> Snapshot:
    """read_tenant (with extras unless told otherwise) for callers without a loop, or inside
    one they cannot await in."""
    options.setdefault("extras", True)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from sage365 import runner

        return runner.run(read_tenant(tenant, catalog, **options))
    # Called from inside a running loop (Pulumi runs programs in one): use a thread's own loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read_tenant(tenant, catalog, **options)).result()
