"""Discovery: what a tenant associated by hand holds, read without a declaration.

Drift's reader knows whom to ask about (the declared administrator, the declared apps and
groups); export does not, so discovery has its own request set, sent through the same
batch sender (sage365.graph.batch):

1. `/organization`: the token must belong to the requested tenant, or nothing more is sent.
2. One batch: the Global Administrator role's assignments (with their principals), the
   subscribed SKUs, Microsoft Graph's service principal, every catalogue app's service
   principal, delegated grants and app role assignments, and each add-in's groups by the
   catalogue's naming convention (or the name given), members expanded.
3. One batch for what only step 2 names: each Global Administrator's account
   (accountEnabled, usageLocation) and licenceDetails, the members of role-assignable
   groups holding the role, and the full members of add-in groups over Graph's 20-member
   `$expand` limit. A 4th happens only for the licences of users who hold the role
   through a group.

Every object is kept as Graph's JSON, so the same read gives the declaration and the
replayable sandbox state. Anything unreadable fails the tenant's export: a declaration
written from a partial read would silently drop what could not be seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote

from sage365.catalog import GLOBAL_ADMINISTRATOR_ROLE, MICROSOFT_GRAPH_APP_ID, Catalog
from sage365.graph import shapes
from sage365.graph.batch import BatchRequest, BatchResponse, RetryPolicy, send_batch
from sage365.graph.mapping import is_user_json, tenant_wide_json
from sage365.graph.reader import EXPAND_LIMIT
from sage365.graph.redact import redact

Obj = dict[str, Any]

# Graph's field names and $select lists live in sage365.graph.shapes; the same ones are used here.
USER_FIELDS = shapes.USER_SELECT
SP_FIELDS = shapes.SERVICE_PRINCIPAL_SELECT
GROUP_TYPE = shapes.GROUP_TYPE.lower()


class DiscoveryError(Exception):
    """The tenant could not be read completely; the message says what and why."""


# Batch items are decoded to plain JSON objects, not to sage365.graph.shapes' Structs:
# the snapshot must keep every field Graph sent (the Structs keep only what the checks
# read), and export reads a few fields the checks do not (isInitial, usageLocation of every
# Global Administrator). Field names are still Graph's, as in shapes.py.
RAW = dict[str, Any]


@dataclass(frozen=True)
class Candidate:
    """A user holding Global Administrator tenant-wide, directly or through a group."""

    user: Obj
    licences: tuple[Obj, ...]
    via_group: Obj | None = None  # the role-assignable group through which the role is held


@dataclass(frozen=True)
class AppFound:
    """A catalogue app's service principal (None: never consented) and what it holds."""

    service_principal: Obj | None
    grants: tuple[Obj, ...] = ()
    app_role_assignments: tuple[Obj, ...] = ()


@dataclass(frozen=True)
class GroupFound:
    group: Obj  # the group's JSON without its members
    members: tuple[Obj, ...]  # direct members, users or not, with their @odata.type


@dataclass(frozen=True)
class Discovery:
    tenant_id: str
    organization: Obj
    role_assignments: tuple[Obj, ...]  # every Global Administrator assignment read, principals expanded
    candidates: tuple[Candidate, ...]
    subscribed_skus: tuple[Obj, ...]
    graph_service_principal: Obj | None
    apps: Mapping[str, AppFound] = field(default_factory=dict)  # by catalogue key
    addin_groups: Mapping[str, tuple[GroupFound, ...]] = field(default_factory=dict)  # by catalogue key
    role_groups: tuple[GroupFound, ...] = ()  # groups holding Global Administrator, with members
    round_trips: int = 0
    # Exchange Online: the catalogue add-ins' organization apps (Get-App's JSON), for the snapshot;
    # exchange_denied when Exchange refused the identity (replayed as such).
    organization_apps: tuple[Obj, ...] = ()
    exchange_denied: bool = False
    # Graph beta: the application proxy connectors (step 7), as Graph sent them; connectors_denied
    # holds why not when Graph refused the identity (a 403: replayed as such, declared as a comment).
    connectors: tuple[Obj, ...] = ()
    connectors_denied: str | None = None
    connector_sign_ins: tuple[Obj, ...] = ()  # after a 403: the connector app's sign-in activity (drift's fallback)


def odata_string(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _q(value: str) -> str:
    return quote(value, safe="")


def _raw(rid: str, url: str, collection: bool = False) -> BatchRequest:
    return BatchRequest(rid, url, RAW, collection)


def addin_group_filter(catalog: Catalog, key: str, names: Mapping[str, str]) -> str:
    """The $filter finding an add-in's groups: the name given for it, else the catalogue's prefix."""
    if key in names:
        return f"displayName eq {odata_string(names[key])}"
    addin = catalog.apps[key].addin
    assert addin is not None
    return f"startswith(displayName,{odata_string(addin.group_prefix or catalog.apps[key].display_name)})"


def discovery_requests(catalog: Catalog, addin_group_names: Mapping[str, str] | None = None) -> list[BatchRequest]:
    """Round trip 2: everything that needs no answer from another request."""
    role_filter = _q(f"roleDefinitionId eq {odata_string(GLOBAL_ADMINISTRATOR_ROLE)}")
    requests = [
        _raw("globalAdmins", f"/roleManagement/directory/roleAssignments?$filter={role_filter}&$expand=principal", True),
        _raw("skus", "/subscribedSkus", True),
        _raw("sp:graph", f"/servicePrincipals(appId='{MICROSOFT_GRAPH_APP_ID}')?$select={SP_FIELDS}"),
    ]
    for app in sorted(catalog.apps.values(), key=lambda a: a.key):
        sp = f"/servicePrincipals(appId='{_q(app.app_id)}')"
        requests += [
            _raw(f"sp:{app.key}", f"{sp}?$select={SP_FIELDS}"),
            _raw(f"grants:{app.key}", f"{sp}/oauth2PermissionGrants", True),
            _raw(f"roles:{app.key}", f"{sp}/appRoleAssignments", True),
        ]
        if app.addin is not None:
            group_filter = _q(addin_group_filter(catalog, app.key, addin_group_names or {}))
            requests.append(_raw(f"groups:{app.key}", f"/groups?$filter={group_filter}&$expand=members", True))
    return requests


def _type(obj: Obj | None) -> str:
    return str((obj if isinstance(obj, dict) else {}).get("@odata.type") or "").lower()


def _principal(assignment: Obj) -> Obj:
    """An assignment's expanded principal; {} when Graph's answer holds anything but an object there."""
    principal = assignment.get("principal")
    return principal if isinstance(principal, dict) else {}


def _without_members(group: Obj) -> Obj:
    return {k: v for k, v in group.items() if k != "members"}


class _Reader:
    """One tenant's discovery: sends the batches, keeps every answer, collects errors."""

    def __init__(self, adapter: Any, tenant_id: str, policy: RetryPolicy) -> None:
        self.adapter, self.tenant_id, self.policy = adapter, tenant_id, policy
        self.errors: list[str] = []
        self.round_trips = 0

    async def send(self, requests: list[BatchRequest]) -> dict[str, BatchResponse]:
        if not requests:
            return {}
        self.round_trips += 1
        return await send_batch(self.adapter, requests, policy=self.policy)

    def value(self, response: BatchResponse, what: str, *, absent_if_404: bool = False) -> Any:
        """The response's JSON (a list for collections); None when absent or unreadable (recorded).

        Every object discovery reads is a Graph entity: one without a string `id` is a
        malformed answer, an error naming the request, never data."""
        if response.ok:
            objects = response.value if isinstance(response.value, list) else [response.value]
            if all(isinstance(o, dict) and isinstance(o.get("id"), str) and o["id"] for o in objects):
                return response.value
            self.errors.append(redact(f"cannot read {what}: request {response.id!r}: an object without an id"))
            return None
        if not (absent_if_404 and response.status == 404):
            self.errors.append(redact(f"cannot read {what}: {response.describe()}"))
        return None


async def read_organization(reader: _Reader) -> Obj:
    """Round trip 1; raises DiscoveryError when the token is not the tenant's."""
    tid = reader.tenant_id
    response = (await reader.send([_raw("organization", "/organization", True)]))["organization"]
    if not response.ok:
        detail = redact(response.describe())
        if response.status in (401, 403):
            raise DiscoveryError(f"authentication failed for tenant {tid}: {detail}; nothing was read")
        raise DiscoveryError(f"cannot read the organization of tenant {tid}: {detail}; nothing else was read")
    orgs = response.value
    if len(orgs) != 1:
        raise DiscoveryError(f"/organization returned {len(orgs)} organizations; nothing else was read")
    actual = str(orgs[0].get("id") or "").lower()
    if actual != tid.lower():
        raise DiscoveryError(f"the credentials belong to tenant {actual}, not to {tid}; nothing else was read")
    return orgs[0]


async def discover(
    adapter: Any,
    tenant_id: str,
    catalog: Catalog,
    *,
    addin_group_names: Mapping[str, str] | None = None,
    policy: RetryPolicy = RetryPolicy(),
) -> Discovery:
    """Read `tenant_id` through `adapter` (msgraph's request adapter); DiscoveryError on any gap."""
    reader = _Reader(adapter, tenant_id, policy)
    organization = await read_organization(reader)
    first = await reader.send(discovery_requests(catalog, addin_group_names))

    assignments = reader.value(first["globalAdmins"], "the Global Administrator role assignments") or []
    skus = reader.value(first["skus"], "the subscribed SKUs") or []
    graph_sp = reader.value(first["sp:graph"], "Microsoft Graph's service principal", absent_if_404=True)
    apps: dict[str, AppFound] = {}
    for key in sorted(catalog.apps):
        app = catalog.apps[key]
        sp = reader.value(first[f"sp:{key}"], f"the service principal of {key} ({app.app_id})", absent_if_404=True)
        gone = first[f"sp:{key}"].status == 404
        grants = reader.value(first[f"grants:{key}"], f"the delegated permission grants of {key}", absent_if_404=gone)
        roles = reader.value(first[f"roles:{key}"], f"the app role assignments of {key}", absent_if_404=gone)
        apps[key] = AppFound(sp, tuple(grants or ()), tuple(roles or ())) if sp else AppFound(None)
    found_groups: dict[str, list[Obj]] = {}
    for key in sorted(k for k, a in catalog.apps.items() if a.addin is not None):
        groups = reader.value(first[f"groups:{key}"], f"the add-in groups of {key}")
        found_groups[key] = sorted(groups or [], key=lambda g: (str(g.get("displayName", "")).casefold(), str(g.get("id"))))

    # Who holds the role, and who is a user, by drift's own rules (sage365.graph.mapping).
    wide = [a for a in assignments if isinstance(a, dict) and tenant_wide_json(a)]
    user_ids = sorted({str(a["principalId"]) for a in wide if is_user_json(_principal(a))})
    role_group_ids = sorted({str(a["principalId"]) for a in wide if _type(_principal(a)) == GROUP_TYPE})
    full_member_ids = sorted({str(g["id"]) for groups in found_groups.values() for g in groups
                              if len(g.get("members") or ()) >= EXPAND_LIMIT})

    second = await reader.send(
        [r for uid in user_ids for r in _user_requests(uid)]
        + [_raw(f"roleMembers:{g}", f"/groups/{_q(g)}/members?$select={USER_FIELDS}", True) for g in role_group_ids]
        + [_raw(f"members:{g}", f"/groups/{_q(g)}/members", True) for g in full_member_ids]
    )
    users: dict[str, tuple[Obj, tuple[Obj, ...]]] = {}
    _collect_users(reader, second, user_ids, users)

    role_groups: list[GroupFound] = []
    via: dict[str, Obj] = {}
    for gid in role_group_ids:
        group = next(a["principal"] for a in wide if str(a["principalId"]) == gid)
        members = reader.value(second[f"roleMembers:{gid}"], f"the members of group {gid}, which holds Global Administrator")
        role_groups.append(GroupFound(_without_members(group), tuple(members or ())))
        for member in members or ():
            # Typed members by their type alone: Graph answers a member the app may see only in
            # part (a service principal, a device) with its other properties null, UPN included.
            if is_user_json(member):
                via.setdefault(str(member["id"]), group)
    # Round trip 4, only for users who hold the role through a group alone.
    through_group = sorted(uid for uid in via if uid not in users)
    third = await reader.send([r for uid in through_group for r in _user_requests(uid)])
    _collect_users(reader, third, through_group, users)

    addin_groups: dict[str, tuple[GroupFound, ...]] = {}
    for key, groups in found_groups.items():
        out = []
        for group in groups:
            members = group.get("members") or []
            if str(group["id"]) in full_member_ids:
                members = reader.value(second[f"members:{group['id']}"], f"the members of group {group['id']}") or []
            out.append(GroupFound(_without_members(group), tuple(members)))
        addin_groups[key] = tuple(out)

    if reader.errors:
        raise DiscoveryError("; ".join(reader.errors))
    candidates = tuple(
        Candidate(user, licences, via.get(uid) if uid not in user_ids else None)
        for uid, (user, licences) in sorted(users.items())
    )
    return Discovery(
        tenant_id=tenant_id.lower(),
        organization=organization,
        role_assignments=tuple(assignments),
        candidates=candidates,
        subscribed_skus=tuple(skus),
        graph_service_principal=graph_sp,
        apps=apps,
        addin_groups=addin_groups,
        role_groups=tuple(role_groups),
        round_trips=reader.round_trips,
    )


def _user_requests(user_id: str) -> list[BatchRequest]:
    return [
        _raw(f"user:{user_id}", f"/users/{_q(user_id)}?$select={USER_FIELDS}"),
        _raw(f"licences:{user_id}", f"/users/{_q(user_id)}/licenseDetails", True),
    ]


def _collect_users(reader: _Reader, responses: dict[str, BatchResponse], ids: list[str],
                   into: dict[str, tuple[Obj, tuple[Obj, ...]]]) -> None:
    for uid in ids:
        # A user deleted between the two reads is simply no candidate.
        user = reader.value(responses[f"user:{uid}"], f"the Global Administrator {uid}", absent_if_404=True)
        gone = responses[f"user:{uid}"].status == 404
        licences = reader.value(responses[f"licences:{uid}"], f"the licences of {uid}", absent_if_404=gone)
        if user is not None:
            into[uid] = (user, tuple(licences or ()))
