"""Adopting what a hand association left in a tenant: which existing objects the program imports.

Most tenants were associated with Sage by hand (Sage's consent pages, an assignment group
made in the portal) before they come into Git. Creating those objects again fails: Graph
refuses a second AllPrincipals grant or app role assignment, the provider refuses a group
member that already exists. So the program imports them, with Pulumi's `import_` resource
option, by the ids the preview gate's snapshot read (sage365.snapshot), in the azuread
provider's own id formats (below).

Why `import_` and not a generated file for `pulumi import --file`: the gate already reads
the tenant on every preview, so the ids are at hand in the program; an import is planned
and shown in the pull request's preview like any other step; and on later runs the engine
treats a resource already in the state under the same id as an ordinary resource (no second
import). Since Pulumi CLI 3.174.0 an import whose live object differs from the declaration
is imported and then updated in the same deployment (pulumi/pulumi#19339); older CLIs
refuse such an import ("inputs to import do not match"). docs/pulumi.md says which CLI.

Objects are found exactly as the drift checks find them, by the checks' own functions
(sage365.checks: a service principal by appId and Graph's with its fallback, a group by
display name, a member or user by UPN, an application permission by value, all
case-insensitive as Entra compares them): what drift reports present is imported, never
created a second time.

A group found under another case is declared under its live spelling (AddinAdoption.group_name),
so adopting it plans no rename. Several groups matching the name ignoring case are never
adopted: find_group picks none, and the preview gate has already stopped on addin.group's
"ambiguous" error, naming each candidate's id.

Pure functions of (declaration, catalogue, snapshot): no Pulumi calls, tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sage365.catalog import App, Catalog
from sage365.checks.base import find_group, find_member, find_user
from sage365.checks.consent_common import graph_service_principal, permission_key, service_principal
from sage365.declaration import Tenant
from sage365.snapshot import Group, Part, Snapshot

# The snapshot parts adoption reads its ids from.
ADOPTION_PARTS = (Part.SERVICE_PRINCIPALS, Part.GRANTS, Part.APP_ROLE_ASSIGNMENTS, Part.APP_ROLE_ASSIGNED_TO,
                  Part.GROUPS, Part.USERS)

# Entra ID's "Default Access" role: assigns an app that defines no app roles of its own.
DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"


# -- the provider's resource ids (pulumi-azuread 6.x; terraform-provider-azuread 3.x) ---------
# Read from terraform-provider-azuread's resource code and state migrations and
# pulumi-azuread's own state migration tests; the *_object_id inputs stay plain UUIDs.


def service_principal_id(object_id: str) -> str:
    return f"/servicePrincipals/{object_id}"


def grant_id(grant: str) -> str:
    return f"/oauth2PermissionGrants/{grant}"


def app_role_assignment_id(resource_object_id: str, assignment: str) -> str:
    """Keyed by the *resource* service principal (the API), not by the principal."""
    return f"/servicePrincipals/{resource_object_id}/appRoleAssignedTo/{assignment}"


def group_id(object_id: str) -> str:
    return f"/groups/{object_id}"


def group_member_id(group_object_id: str, member_object_id: str) -> str:
    return f"{group_object_id}/member/{member_object_id}"


def user_licence_id(user_object_id: str, sku_id: str) -> str:
    return f"{user_object_id}/license/{sku_id}"


# -- what to import ----------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentAdoption:
    """Import ids for one Sage app's consent; None or absent: create."""

    service_principal: str | None = None
    grant: str | None = None
    app_roles: Mapping[str, str] = field(default_factory=dict)  # role value -> import id


@dataclass(frozen=True)
class AddinAdoption:
    group: str | None = None
    members: Mapping[str, str] = field(default_factory=dict)  # user object id -> import id
    assignment: str | None = None
    # The adopted group's live display name. It matched the declared one ignoring case (as
    # Entra compares names), so the program declares this spelling: adopting never renames
    # the customer's group to the declaration's case (components.addin).
    group_name: str | None = None


@dataclass(frozen=True)
class Adoption:
    """Everything to import for one tenant, plus the user object ids members are keyed by."""

    consents: Mapping[str, ConsentAdoption] = field(default_factory=dict)  # catalogue key ->
    addins: Mapping[str, AddinAdoption] = field(default_factory=dict)  # catalogue key ->
    user_ids: Mapping[str, str] = field(default_factory=dict)  # lower-case UPN -> object id
    # Catalogue apps not declared whose service principal exists: possibly a removed consent.
    undeclared: Mapping[str, str] = field(default_factory=dict)  # catalogue key -> SP object id
    # What could not be read: objects there that exist cannot be adopted (one line each).
    unread: tuple[str, ...] = ()

    def consent(self, key: str) -> ConsentAdoption:
        return self.consents.get(key, ConsentAdoption())

    def addin(self, key: str) -> AddinAdoption:
        return self.addins.get(key, AddinAdoption())

    @property
    def imports(self) -> int:
        """How many existing objects this plan imports."""
        count = sum((c.service_principal is not None) + (c.grant is not None) + len(c.app_roles)
                    for c in self.consents.values())
        return count + sum((a.group is not None) + len(a.members) + (a.assignment is not None)
                           for a in self.addins.values())


NOTHING = Adoption()


def plan(tenant: Tenant, catalog: Catalog, snapshot: Snapshot | None) -> Adoption:
    """What of `tenant`'s declaration already exists in the live tenant, as import ids.

    None (the gate was skipped): nothing is adopted, every object is created.
    """
    if snapshot is None:
        return NOTHING
    consents = {key: _consent(catalog.apps[key], snapshot) for key in tenant.consents}
    addins, user_ids = {}, {}
    for decl in tenant.addins:
        group = find_group(snapshot, decl.group)
        for upn in decl.users:
            object_id = _user_id(upn, group, snapshot)
            if object_id is not None:
                user_ids.setdefault(upn.lower(), object_id)
        addins[decl.app] = _addin(catalog.apps[decl.app], group, decl.users, user_ids, snapshot)
    return Adoption(
        consents={k: v for k, v in consents.items() if v != ConsentAdoption()},
        addins={k: v for k, v in addins.items() if v != AddinAdoption()},
        user_ids=user_ids,
        undeclared={key: sp.id for key, sp in snapshot.undeclared_service_principals.items()},
        unread=tuple(
            [f"{part.value}: {snapshot.errors[part]}" for part in ADOPTION_PARTS if part in snapshot.errors]
            + [f"{part.value} of {item}: {message}" for part in ADOPTION_PARTS
               for item, message in sorted(snapshot.item_errors.get(part, {}).items())]
        ),
    )


def _consent(app: App, snapshot: Snapshot) -> ConsentAdoption:
    sp = service_principal(snapshot, app.app_id)
    graph = graph_service_principal(snapshot)
    if sp is None:
        return ConsentAdoption()
    grant = None
    if graph is not None and app.delegated_scopes:
        # The tenant-wide (admin consent) grant of this app to Graph; per-user grants are not ours.
        found = sorted(g.id for g in snapshot.grants.get(sp.id, ())
                       if g.consent_type == "AllPrincipals" and g.resource_id == graph.id)
        grant = grant_id(found[0]) if found else None
    roles = {}
    if graph is not None:
        role_ids = {permission_key(r.value): r.id for r in graph.app_roles}
        held = {a.app_role_id: a.id for a in snapshot.app_role_assignments.get(sp.id, ()) if a.resource_id == graph.id}
        for role in app.app_roles:
            role_id = role_ids.get(permission_key(role))
            if role_id in held:
                roles[role] = app_role_assignment_id(graph.id, held[role_id])
    return ConsentAdoption(service_principal_id(sp.id), grant, roles)


def _user_id(upn: str, group: Group | None, snapshot: Snapshot) -> str | None:
    """A declared user's object id: the user the gate read, else the group's member of that UPN."""
    user = find_user(snapshot.users, upn)
    member = find_member(group, upn) if group is not None else None
    found = user or member
    return found.id if found is not None else None


def _addin(app: App, group: Group | None, users: tuple[str, ...], user_ids: Mapping[str, str],
           snapshot: Snapshot) -> AddinAdoption:
    if group is None:
        return AddinAdoption()
    members = {}
    for upn in users:
        member, object_id = find_member(group, upn), user_ids.get(upn.lower())
        # Imported under the id the member resource is keyed by (components.addin: user_ids).
        if member is not None and member.id == object_id:
            members[member.id] = group_member_id(group.id, member.id)
    assignment = None
    sp = service_principal(snapshot, app.app_id)
    if sp is not None and app.addin is not None and app.addin.requires_assignment:
        found = sorted(a.id for a in snapshot.app_role_assigned_to.get(sp.id, ())
                       if a.principal_id == group.id and a.app_role_id == DEFAULT_ACCESS_ROLE_ID)
        assignment = app_role_assignment_id(sp.id, found[0]) if found else None
    return AddinAdoption(group_id(group.id), members, assignment, group_name=group.display_name or None)
