"""The reads beyond Graph v1.0's two round trips, made only for tenants that need them.

- Exchange Online, for tenants declaring add-ins: one `Get-App -OrganizationApp` call
  (paged), for the `addin.deployment` check (sage365.exchange).
- Graph beta, for tenants declaring `spec.connector`: the application proxy connectors,
  and on a 403 the connector app's sign-in activity (sage365.graph.connectors).

They run after the Graph snapshot, only when its `GET /organization` confirmed the
tenant, with the same tenant's credential; a failure is recorded in Snapshot.errors under
its own Part and never touches the parts Graph read.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, Callable

from sage365.catalog import Catalog
from sage365.declaration import Tenant
from sage365.graph.redact import redact
from sage365.snapshot import Part, Snapshot

if TYPE_CHECKING:
    from sage365.graph.http import HttpLike


def needs_exchange(tenant: Tenant) -> bool:
    return bool(tenant.addins)


def needs_connectors(tenant: Tenant) -> bool:
    return tenant.connector is not None


def needed(tenant: Tenant) -> bool:
    return needs_exchange(tenant) or needs_connectors(tenant)


async def complete(snapshot: Snapshot, tenant: Tenant, catalog: Catalog, *, graph_url: str | None,
                   exchange_url: str | None, credential: Any, guard: Any = None) -> Snapshot:
    """`snapshot` with the organization apps and connectors the tenant needs added."""
    if Part.ORGANIZATION in snapshot.errors or not needed(tenant):
        return snapshot  # the tenant was not confirmed: nothing more is sent for it
    add = await read(tenant, catalog, graph_url=graph_url, exchange_url=exchange_url, credential=credential, guard=guard)
    return add(snapshot)


async def read(tenant: Tenant, catalog: Catalog, *, graph_url: str | None, exchange_url: str | None,
               credential: Any, guard: Any = None) -> Callable[[Snapshot], Snapshot]:
    """Read what `tenant` needs beyond Graph v1.0; returns how to add it to its Graph snapshot.

    Only for a tenant whose `GET /organization` confirmed it: sage365.engine runs this beside
    the Graph batch (sage365.graph.reader's `alongside`), so these reads cost no extra
    round trip of waiting.
    guard: the tenant's sage365.graph.guard.TenantGuard. A retry wait longer than what is left
    of its deadline raises TenantStopped out of here: the whole tenant stops, not one part.
    """
    changes: dict[str, Any] = {}
    errors: dict[Part, str] = {}
    denied: set[Part] = set()
    # The shared TLS context (a new one per tenant loads the CA bundle: ~20 ms of CPU) and the
    # response size limit, as for Graph v1.0, on connections of this tenant's own.
    from sage365.graph.http import HttpClient

    async def exchange_part(http: HttpLike) -> None:
        apps, error, permission = await _organization_apps(tenant, graph_url, exchange_url, credential, http, guard)
        if error is None:
            changes["organization_apps"] = apps
        else:
            errors[Part.ORGANIZATION_APPS] = error
            if permission:
                denied.add(Part.ORGANIZATION_APPS)

    async def connector_part(http: HttpLike) -> None:
        connectors, sign_in, error, refused = await _connectors(tenant, catalog, graph_url, credential, http, guard)
        changes["connectors"] = connectors if error is None else None
        changes["connector_sign_in"] = sign_in
        if error is not None:
            errors[Part.CONNECTORS] = error
            if refused:  # Graph's 403: the finding says why and what to do instead
                denied.add(Part.CONNECTORS)

    # Two services on two hosts: read at the same time.
    async with HttpClient() as http:
        await asyncio.gather(*(part(http) for part, wanted in ((exchange_part, needs_exchange(tenant)),
                                                               (connector_part, needs_connectors(tenant))) if wanted))

    def add(snapshot: Snapshot) -> Snapshot:
        return dataclasses.replace(snapshot, errors={**snapshot.errors, **errors},
                                   denied=frozenset({*snapshot.denied, *denied}), **changes)

    return add


async def raw_organization_apps(tenant_id: str, *, graph_url: str | None, exchange_url: str | None, credential: Any,
                                http: HttpLike, guard: Any = None) -> list[dict[str, Any]]:
    """Get-App -OrganizationApp's objects as Exchange returned them (drift maps them; export
    saves them in snapshots). Raises sage365.exchange.client.ExchangeError."""
    from sage365.exchange import client

    base = client.exchange_url_from(exchange_url, graph_url)
    tokens = client.token_source(tenant_id, credential=credential, sandbox=base is not None and credential is None)
    exchange = client.ExchangeClient(tenant_id, tokens, base_url=base, http=http, guard=guard)
    return await exchange.invoke("Get-App", {"OrganizationApp": True})


async def _organization_apps(tenant: Tenant, graph_url: str | None, exchange_url: str | None, credential: Any,
                             http: HttpLike, guard: Any) -> tuple[dict, str | None, bool]:
    from sage365.exchange import apps, client
    from sage365.graph.guard import TenantStopped

    try:
        found = await raw_organization_apps(tenant.tenant_id, graph_url=graph_url, exchange_url=exchange_url,
                                            credential=credential, http=http, guard=guard)
        mapped = (apps.app_from_json(o) for o in found)
        return {a.app_id: a for a in mapped if a.app_id}, None, False
    except client.ExchangeError as exc:
        return {}, f"Exchange Online, Get-App -OrganizationApp: {exc.describe()}", exc.permission
    except TenantStopped:
        raise  # a tenant-wide limit: the engine fails the whole tenant with it
    except Exception as exc:  # a bug or an unexpected library error: this part only
        return {}, redact(f"Exchange Online, Get-App -OrganizationApp: {type(exc).__name__}: {exc}"), False


async def _connectors(tenant: Tenant, catalog: Catalog, graph_url: str | None, credential: Any,
                      http: HttpLike, guard: Any) -> tuple[tuple, Any, str | None, bool]:
    """(connectors, fallback sign-in, error, refused): refused when Graph answered 403."""
    from sage365.graph import connectors as beta
    from sage365.graph.guard import TenantStopped

    reader = beta.BetaReader(tenant.tenant_id, graph_url=graph_url, credential=credential, http=http, guard=guard)
    try:
        group = tenant.connector.connector_group if tenant.connector else None
        return await beta.read_connectors(reader, group), None, None, False
    except beta.BetaError as exc:
        # Named by the read that failed: the connectors, or a declared group's list or members.
        error = f"Graph beta {reader.path or beta.CONNECTORS_PATH}: {exc.describe()}"
        if exc.status != 403:
            return (), None, error, False
    except TenantStopped:
        raise  # a tenant-wide limit: the engine fails the whole tenant with it
    except Exception as exc:
        return (), None, redact(f"Graph beta {reader.path or beta.CONNECTORS_PATH}: {type(exc).__name__}: {exc}"), False
    # 403: expected app-only (Microsoft documents Application: Not supported for the
    # connector reads); the connector app's sign-ins are the fallback signal.
    app = catalog.apps.get(tenant.connector.app) if tenant.connector else None
    if app is None:
        return (), None, error, True
    try:
        return (), await beta.read_sign_in(reader, app.app_id), error, True
    except beta.BetaError as exc:
        return (), None, f"{error}; fallback {beta.SIGN_INS_PATH}: {exc.describe()}", True
    except TenantStopped:
        raise
    except Exception as exc:
        return (), None, redact(f"{error}; fallback {beta.SIGN_INS_PATH}: {type(exc).__name__}: {exc}"), True
