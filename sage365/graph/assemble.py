"""Graph's batch answers -> one tenant's Snapshot: what was read, what is absent, what failed.

A failed read is recorded where it belongs: a part that could not be read at all (the
SKUs, the role assignments) goes in `Snapshot.errors`, and stops every check that needs
it; a read that failed for one item only (one app's service principal, grants or app role
assignments; one add-in group) goes in `Snapshot.item_errors` under that item's key (the
catalogue key, the group's declared display name), so only that item's checks report
`error` and the others are still judged. A 404 is an absence only where Graph means one.
"""

from __future__ import annotations

from sage365.catalog import App, Catalog
from sage365.declaration import Tenant
from sage365.graph import mapping
from sage365.graph.batch import BatchResponse
from sage365.graph.redact import redact
from sage365.snapshot import Part, Snapshot


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
    item_errors: dict[Part, dict[str, list[str]]] = {}
    upn = tenant.administrator.user_principal_name

    def record(part: Part, item: str | None, message: str) -> None:
        if item is None:
            errors.setdefault(part, []).append(message)
        else:
            item_errors.setdefault(part, {}).setdefault(item, []).append(message)

    def ok(key: str, part: Part, what: str, *, absent_if_404: bool = False, item: str | None = None) -> BatchResponse | None:
        """The response when readable; None when absent or unreadable (recorded).

        A 404 means absence only for a single object (the administrator, a service
        principal) or for what hangs off one found absent; anywhere else (the SKUs, the
        role assignments, a found user's licences) it is an unreadable part, never "none".
        """
        response = responses[key]
        if response.ok:
            return response
        if not (response.status == 404 and absent_if_404):
            record(part, item, _error(what, response))
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
                absent_if_404=True, item=app.key)
        gone = absent(f"sp:{app.key}")
        app_grants = ok(f"grants:{app.key}", Part.GRANTS, f"the delegated permission grants of {app.key}",
                        absent_if_404=gone, item=app.key)
        app_roles = ok(f"roles:{app.key}", Part.APP_ROLE_ASSIGNMENTS, f"the app role assignments of {app.key}",
                       absent_if_404=gone, item=app.key)
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
                          f"the assignments to {app.key}", absent_if_404=gone, item=app.key)
            if assigned is not None:
                assigned_to[principal.id] = tuple(mapping.app_role_assignment(a) for a in assigned.value)

    undeclared = {}
    for app in undeclared_apps(tenant, catalog):
        found = ok(f"spx:{app.key}", Part.SERVICE_PRINCIPALS, f"the service principal of {app.key} ({app.app_id})",
                   absent_if_404=True, item=app.key)
        if found is not None:
            undeclared[app.key] = mapping.service_principal(found.value)

    users = {}
    for key in sorted(k for k in responses if k.startswith("users:")):
        found = ok(key, Part.USERS, "the declared add-in users")
        for u in found.value if found is not None else ():
            user = mapping.user(u)
            users[user.user_principal_name.lower()] = user

    groups, ambiguous_groups = {}, {}
    for index, display_name in enumerate(dict.fromkeys(a.group for a in tenant.addins)):
        found = ok(f"group:{index}", Part.GROUPS, f"the group {display_name!r}", item=display_name)
        if found is None or not found.value:
            continue
        if len(found.value) > 1:  # which one assigns the add-in cannot be told: never guess
            ambiguous_groups[display_name] = tuple(mapping.group(g, None) for g in found.value)
            continue
        group = found.value[0]
        full = (members or {}).get(group.id)
        if full is not None and not full.ok:
            record(Part.GROUPS, display_name, _error(f"the members of {display_name!r}", full))
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
        ambiguous_groups=ambiguous_groups,
        users=users,
        app_role_assigned_to=assigned_to,
        undeclared_service_principals=undeclared,
        errors={part: "; ".join(messages) for part, messages in errors.items()},
        item_errors={part: {item: "; ".join(messages) for item, messages in items.items()}
                     for part, items in item_errors.items()},
    )
