"""Read one tenant's Snapshot from Microsoft Graph in at most two HTTP round trips.

Round trip 1: `GET /organization`, to confirm the token belongs to the declared tenant.
On a mismatch or an authentication failure nothing more is sent for that tenant: reading
another tenant's directory with the wrong credentials must never happen silently.
Round trip 2: one JSON batch (sage365.graph.batch) with everything the checks need.
Retries of throttled items and nextLink pages are the only extra round trips.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable
from urllib.parse import quote

import msgspec
from kiota_abstractions.method import Method

from sage365.catalog import GLOBAL_ADMINISTRATOR_ROLE, MICROSOFT_GRAPH_APP_ID, Catalog
from sage365.declaration import Tenant
from sage365.graph import mapping, shapes
from sage365.graph.assemble import addin_users, build_snapshot, declared_apps, undeclared_apps
from sage365.graph.batch import BatchRequest, BatchResponse, RetryPolicy, error_of, send_batch
from sage365.graph.redact import redact
from sage365.graph.transport import send
from sage365.snapshot import Part, Snapshot

FILTER_IN_LIMIT = 15  # Graph's limit of values in one `in (...)` filter
EXPAND_LIMIT = 20  # Graph returns at most 20 objects for an $expand
Alongside = Callable[[], Awaitable[Callable[[Snapshot], Snapshot]]]


def failed(tenant_id: str, message: str) -> Snapshot:
    """A snapshot of which nothing could be read: every part carries `message`."""
    return Snapshot(tenant_id=tenant_id, errors={part: message for part in Part})


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _q(value: str) -> str:
    return quote(value, safe="")


def snapshot_requests(tenant: Tenant, catalog: Catalog) -> list[BatchRequest]:
    """Every request of the second round trip, with ids naming what they read."""
    upn = quote(tenant.administrator.user_principal_name, safe="@")
    role_filter = _q(f"roleDefinitionId eq {odata_string(GLOBAL_ADMINISTRATOR_ROLE)}")
    sp_select = shapes.SERVICE_PRINCIPAL_SELECT
    requests = [
        BatchRequest("admin", f"/users/{upn}?$select={shapes.USER_SELECT}", shapes.User),
        BatchRequest("licences", f"/users/{upn}/licenseDetails", shapes.LicenseDetails, True),
        BatchRequest(
            "globalAdmins",
            f"/roleManagement/directory/roleAssignments?$filter={role_filter}&$expand=principal",
            shapes.UnifiedRoleAssignment,
            True,
        ),
        BatchRequest("skus", "/subscribedSkus", shapes.SubscribedSku, True),
        BatchRequest("sp:graph", f"/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')?$select={sp_select}",
                     shapes.ServicePrincipal),
    ]
    for app in declared_apps(tenant, catalog):
        sp = f"/servicePrincipals(appId='{_q(app.app_id)}')"
        requests += [
            BatchRequest(f"sp:{app.key}", f"{sp}?$select={sp_select}", shapes.ServicePrincipal),
            BatchRequest(f"grants:{app.key}", f"{sp}/oauth2PermissionGrants", shapes.OAuth2PermissionGrant, True),
            BatchRequest(f"roles:{app.key}", f"{sp}/appRoleAssignments", shapes.AppRoleAssignment, True),
        ]
        if app.addin is not None and app.addin.requires_assignment:
            requests.append(BatchRequest(f"assignedTo:{app.key}", f"{sp}/appRoleAssignedTo",
                                         shapes.AppRoleAssignment, True))
    for index, group in enumerate(dict.fromkeys(a.group for a in tenant.addins)):
        group_filter = _q(f"displayName eq {odata_string(group)}")
        requests.append(
            BatchRequest(f"group:{index}", f"/groups?$filter={group_filter}&$expand=members", shapes.Group, True)
        )
    upns = addin_users(tenant)
    for index in range(0, len(upns), FILTER_IN_LIMIT):
        chunk = ", ".join(odata_string(u) for u in upns[index : index + FILTER_IN_LIMIT])
        user_filter = _q(f"userPrincipalName in ({chunk})")
        requests.append(BatchRequest(f"users:{index // FILTER_IN_LIMIT}",
                                     f"/users?$filter={user_filter}&$select={shapes.ADDIN_USER_SELECT}", shapes.User, True))
    for app in undeclared_apps(tenant, catalog):
        requests.append(BatchRequest(f"spx:{app.key}",
                                     f"/servicePrincipals(appId='{_q(app.app_id)}')?$select={sp_select}", shapes.ServicePrincipal))
    return requests


async def read_organization(adapter: Any, tenant: Tenant) -> Snapshot | tuple[str, tuple[str, ...]]:
    """Round trip 1: the organization's (name, domains), or a failed Snapshot."""
    tid = tenant.tenant_id
    url = f"{str(adapter.base_url).rstrip('/')}/organization?$select={shapes.ORGANIZATION_SELECT}"
    try:
        response = await send(adapter, Method.GET, url)
    except Exception as exc:  # network errors, credential errors (azure-identity raises its own types), size limit
        return failed(tid, redact(f"cannot reach Microsoft Graph: {type(exc).__name__}: {exc}; nothing was read"))
    status = response.status_code
    if not 200 <= status < 300:
        code, message = error_of(response.content)
        detail = redact(" ".join(p for p in (str(status), f"{code}:" if code else "", message) if p))
        if status in (401, 403):
            return failed(tid, f"authentication failed for tenant {tid}: {detail}; nothing was read")
        return failed(tid, f"cannot read the organization: {detail}; nothing else was read")
    try:
        orgs = shapes.decode(response.content, shapes.Page[shapes.Organization]).value
    except msgspec.DecodeError as exc:
        return failed(tid, redact(f"GET /organization answered {status} with a body that is not a collection of "
                                  f"organizations: {exc}; nothing else was read"))
    if len(orgs) != 1:
        return failed(tid, f"GET /organization returned {len(orgs)} organizations; nothing else was read")
    actual = orgs[0].id.lower()
    if actual != tid.lower():
        return failed(
            tid,
            redact(f"the credentials belong to tenant {actual}, not to the declared tenant {tid}; nothing else was read"),
        )
    return mapping.organization(orgs[0])


async def read_snapshot(client: Any, tenant: Tenant, catalog: Catalog, *, policy: RetryPolicy = RetryPolicy(),
                        alongside: Alongside | None = None) -> Snapshot:
    """Everything the checks need about `tenant`, read through `client` (a GraphServiceClient).

    alongside: other reads of this tenant (another service's), started only once `GET
    /organization` confirmed the tenant and run during the batch; what it returns is applied
    to the snapshot.
    """
    adapter = getattr(client, "request_adapter", client)  # a GraphServiceClient or its request adapter
    organization = await read_organization(adapter, tenant)
    if isinstance(organization, Snapshot):
        return organization
    name, domains = organization
    batch = send_batch(adapter, snapshot_requests(tenant, catalog), policy=policy)
    add = None
    if alongside is None:
        responses = await batch
    else:
        responses, add = await asyncio.gather(batch, alongside())
    # Rare cases cost one more round trip: a group $expand stops at 20 members, so those
    # groups' members are read in full; and a Global Administrator role held through a
    # (role-assignable) group needs that group's members, unless the administrator holds it directly.
    groups = {g.id for key, r in responses.items() if key.startswith("group:") and r.ok
              for g in r.value[:1] if len(g.members or ()) >= EXPAND_LIMIT}
    groups |= role_groups(responses)
    members: dict[str, BatchResponse] = {}
    if groups:
        members = await send_batch(
            adapter,
            [BatchRequest(g, f"/groups/{_q(g)}/members", shapes.DirectoryObject, True) for g in sorted(groups)],
            policy=policy,
        )
    snapshot = build_snapshot(tenant, catalog, name, domains, responses, members)
    return add(snapshot) if add is not None else snapshot


def role_groups(responses: dict[str, BatchResponse]) -> set[str]:
    """Groups holding Global Administrator tenant-wide whose members must be read: none when
    the administrator is absent, unreadable or holds the role directly."""
    admin, assignments = responses["admin"], responses["globalAdmins"]
    if not (admin.ok and assignments.ok):
        return set()
    admin_id = admin.value.id.lower()
    if admin_id in mapping.global_administrator_ids(assignments.value):
        return set()
    return set(mapping.global_administrator_groups(assignments.value))
