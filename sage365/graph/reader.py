"""Read one tenant's Snapshot from Microsoft Graph in at most two HTTP round trips.

Round trip 1: `GET /organization`, to confirm the token belongs to the declared tenant.
On a mismatch or an authentication failure nothing more is sent for that tenant: reading
another tenant's directory with the wrong credentials must never happen silently.
Round trip 2: one JSON batch (sage365.graph.batch) with everything the checks need.
Retries of throttled items and nextLink pages are the only extra round trips.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from kiota_abstractions.method import Method

from sage365.catalog import (
    GLOBAL_ADMINISTRATOR_ROLE,
    MICROSOFT_GRAPH_APP_ID,
    App,
    Catalog,
)
from sage365.declaration import Tenant
from sage365.graph import mapping, shapes
from sage365.graph.batch import BatchRequest, BatchResponse, RetryPolicy, error_of, send_batch
from sage365.graph.redact import redact
from sage365.graph.transport import send
from sage365.snapshot import Part, Snapshot

FILTER_IN_LIMIT = 15  # Graph's limit of values in one `in (...)` filter
EXPAND_LIMIT = 20  # Graph returns at most 20 objects for an $expand


def failed(tenant_id: str, message: str) -> Snapshot:
    """A snapshot of which nothing could be read: every part carries `message`."""
    return Snapshot(tenant_id=tenant_id, errors={part: message for part in Part})


def declared_apps(tenant: Tenant, catalog: Catalog) -> tuple[App, ...]:
    """The catalogue apps a tenant declares (consents, then add-ins), once each, in order."""
    keys = dict.fromkeys((*tenant.consents, *(a.app for a in tenant.addins)))
    return tuple(catalog.apps[k] for k in keys if k in catalog.apps)


def addin_users(tenant: Tenant) -> tuple[str, ...]:
    """The declared add-in users, lower-cased, once each, in order."""
    return tuple(dict.fromkeys(u.lower() for a in tenant.addins for u in a.users))


def undeclared_apps(tenant: Tenant, catalog: Catalog) -> tuple[App, ...]:
    """Catalogue apps the tenant does not declare: a service principal of one may be a
    consent removed from the YAML, which the Pulumi program must explain."""
    declared = {app.key for app in declared_apps(tenant, catalog)}
    return tuple(app for key, app in catalog.apps.items() if key not in declared)


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
                                     f"/users?$filter={user_filter}&$select={shapes.MEMBER_SELECT}", shapes.User, True))
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


async def read_snapshot(client: Any, tenant: Tenant, catalog: Catalog, *, policy: RetryPolicy = RetryPolicy()) -> Snapshot:
    """Everything the checks need about `tenant`, read through `client` (a GraphServiceClient)."""
    adapter = getattr(client, "request_adapter", client)  # a GraphServiceClient or its request adapter
    organization = await read_organization(adapter, tenant)
    if isinstance(organization, Snapshot):
        return organization
    name, domains = organization
    responses = await send_batch(adapter, snapshot_requests(tenant, catalog), policy=policy)
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
    return build_snapshot(tenant, catalog, name, domains, responses, members)


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


def _global_administrators(admins: BatchResponse | None, members: dict[str, BatchResponse],
                           errors: dict[Part, list[str]]) -> frozenset[str]:
    """Principals holding Global Administrator tenant-wide, with the members of the groups
    holding it when those were read (see role_groups)."""
    if admins is None:
        return frozenset()
    ids = set(mapping.global_administrator_ids(admins.value))
    for group_id in mapping.global_administrator_groups(admins.value):
        response = members.get(group_id)
        if response is None:
            continue  # not needed: the administrator holds the role directly
        if not response.ok:
            errors.setdefault(Part.GLOBAL_ADMINS, []).append(
                _error(f"the members of group {group_id}, which holds Global Administrator", response))
            continue
        ids |= {m.id.lower() for m in response.value if mapping.is_user(m)}
    return frozenset(ids)


def _error(what: str, response: BatchResponse) -> str:
    return redact(f"cannot read {what}: {response.describe()}")


def build_snapshot(
    tenant: Tenant,
    catalog: Catalog,
    organization_name: str,
    domains: tuple[str, ...],
    responses: dict[str, BatchResponse],
    members: dict[str, BatchResponse] | None = None,
) -> Snapshot:
    """Map the batch's responses into a Snapshot; any unreadable part is an error, 404s are absences."""
    errors: dict[Part, list[str]] = {}
    upn = tenant.administrator.user_principal_name

    def ok(key: str, part: Part, what: str, *, absent_if_404: bool = False) -> BatchResponse | None:
        """The response when readable; None when absent or unreadable (recorded).

        A 404 means absence only for a single object (the administrator, a service
        principal) or for what hangs off one found absent; anywhere else (the SKUs, the
        role assignments, a found user's licences) it is an unreadable part, never "none".
        """
        response = responses[key]
        if response.ok:
            return response
        if not (response.status == 404 and absent_if_404):
            errors.setdefault(part, []).append(_error(what, response))
        return None

    def absent(key: str) -> bool:
        return responses[key].status == 404

    admin = ok("admin", Part.ADMINISTRATOR, f"the administrator {upn}", absent_if_404=True)
    licences = ok("licences", Part.ADMINISTRATOR_LICENCES, f"the licences of {upn}", absent_if_404=absent("admin"))
    admins = ok("globalAdmins", Part.GLOBAL_ADMINS, "the Global Administrator role assignments")
    skus = ok("skus", Part.SUBSCRIBED_SKUS, "the subscribed SKUs")
    graph = ok("sp:graph", Part.SERVICE_PRINCIPALS, "Microsoft Graph's service principal", absent_if_404=True)

    service_principals, grants, assignments, assigned_to = {}, {}, {}, {}
    for app in declared_apps(tenant, catalog):
        sp = ok(f"sp:{app.key}", Part.SERVICE_PRINCIPALS, f"the service principal of {app.key} ({app.app_id})",
                absent_if_404=True)
        gone = absent(f"sp:{app.key}")
        app_grants = ok(f"grants:{app.key}", Part.GRANTS, f"the delegated permission grants of {app.key}",
                        absent_if_404=gone)
        app_roles = ok(f"roles:{app.key}", Part.APP_ROLE_ASSIGNMENTS, f"the app role assignments of {app.key}",
                       absent_if_404=gone)
        if sp is None:
            continue  # absent (or unreadable, recorded): nothing can be granted to it
        principal = mapping.service_principal(sp.value)
        service_principals[app.app_id] = principal
        if app_grants is not None:
            grants[principal.id] = tuple(mapping.grant(g) for g in app_grants.value)
        if app_roles is not None:
            assignments[principal.id] = tuple(mapping.app_role_assignment(a) for a in app_roles.value)
        if f"assignedTo:{app.key}" in responses:
            assigned = ok(f"assignedTo:{app.key}", Part.APP_ROLE_ASSIGNED_TO,
                          f"the assignments to {app.key}", absent_if_404=gone)
            if assigned is not None:
                assigned_to[principal.id] = tuple(mapping.app_role_assignment(a) for a in assigned.value)

    undeclared = {}
    for app in undeclared_apps(tenant, catalog):
        found = ok(f"spx:{app.key}", Part.SERVICE_PRINCIPALS, f"the service principal of {app.key} ({app.app_id})",
                   absent_if_404=True)
        if found is not None:
            undeclared[app.key] = mapping.service_principal(found.value)

    users = {}
    for key in sorted(k for k in responses if k.startswith("users:")):
        found = ok(key, Part.USERS, "the declared add-in users")
        for u in found.value if found is not None else ():
            user = mapping.user(u)
            users[user.user_principal_name.lower()] = user

    groups = {}
    for index, display_name in enumerate(dict.fromkeys(a.group for a in tenant.addins)):
        found = ok(f"group:{index}", Part.GROUPS, f"the group {display_name!r}")
        if found is None or not found.value:
            continue
        if len(found.value) > 1:  # which one assigns the add-in cannot be told: never guess
            errors.setdefault(Part.GROUPS, []).append(
                f"{len(found.value)} groups are named {display_name!r}: rename all but the add-in's assignment group")
            continue
        group = found.value[0]
        full = (members or {}).get(group.id)
        if full is not None and not full.ok:
            errors.setdefault(Part.GROUPS, []).append(_error(f"the members of {display_name!r}", full))
            continue
        groups[display_name] = mapping.group(group, full.value if full is not None else None)

    global_admins = _global_administrators(admins, members or {}, errors)
    return Snapshot(
        tenant_id=tenant.tenant_id,
        organization_name=organization_name,
        verified_domains=domains,
        administrator=mapping.user(admin.value) if admin else None,
        administrator_licences=tuple(mapping.licence_detail(d) for d in licences.value) if licences else (),
        global_administrator_ids=global_admins,
        subscribed_skus=tuple(mapping.subscribed_sku(k) for k in skus.value) if skus else (),
        graph_service_principal=mapping.service_principal(graph.value) if graph else None,
        service_principals=service_principals,
        grants=grants,
        app_role_assignments=assignments,
        groups=groups,
        users=users,
        app_role_assigned_to=assigned_to,
        undeclared_service_principals=undeclared,
        errors={part: "; ".join(messages) for part, messages in errors.items()},
    )
