"""Graph's decoded JSON (sage365.graph.shapes) -> sage365.snapshot dataclasses.

The only place that knows both shapes: checks read snapshot types and never Graph's.
Ids become lower-case strings, so ids compare equal whichever side (catalogue,
declaration, Graph) they come from.
"""

from __future__ import annotations

from typing import Iterable

from sage365 import snapshot as s
from sage365.graph import shapes as g


def _id(value: str | None) -> str:
    return value.lower() if value else ""


def user(u: g.User | g.DirectoryObject) -> s.User:
    return s.User(
        id=_id(u.id),
        user_principal_name=u.userPrincipalName or "",
        display_name=u.displayName or "",
        # Graph omits accountEnabled unless selected: the reader selects it for the
        # administrator; expanded group members come with the default properties only.
        account_enabled=u.accountEnabled is not False,
        usage_location=getattr(u, "usageLocation", None) or None,  # read for the administrator only
        addresses=smtp_addresses(getattr(u, "mail", None), getattr(u, "proxyAddresses", None)),
    )


def smtp_addresses(mail: str | None, proxy_addresses: list[str] | None) -> tuple[str, ...]:
    """mail, then every SMTP proxy address ("SMTP:" primary, "smtp:" aliases) without its
    prefix, once each (case-insensitively); X500, SIP and other proxy types are not mail."""
    found = [mail] if mail else []
    found += [p[5:] for p in proxy_addresses or () if p[:5].casefold() == "smtp:" and p[5:]]
    first: dict[str, str] = {}
    for address in found:
        first.setdefault(address.casefold(), address)
    return tuple(first.values())


def service_plan(p: g.ServicePlanInfo) -> s.ServicePlan:
    return s.ServicePlan(
        service_plan_id=_id(p.servicePlanId),
        service_plan_name=p.servicePlanName or "",
        provisioning_status=p.provisioningStatus or "",
    )


def licence_detail(d: g.LicenseDetails) -> s.LicenceDetail:
    return s.LicenceDetail(
        sku_id=_id(d.skuId),
        sku_part_number=d.skuPartNumber or "",
        service_plans=tuple(service_plan(p) for p in d.servicePlans or ()),
    )


def subscribed_sku(k: g.SubscribedSku) -> s.SubscribedSku:
    return s.SubscribedSku(
        sku_id=_id(k.skuId),
        sku_part_number=k.skuPartNumber or "",
        capability_status=k.capabilityStatus or "",
        enabled_units=(k.prepaidUnits.enabled or 0) if k.prepaidUnits else 0,
        consumed_units=k.consumedUnits or 0,
        service_plans=tuple(service_plan(p) for p in k.servicePlans or ()),
    )


def service_principal(sp: g.ServicePrincipal) -> s.ServicePrincipal:
    return s.ServicePrincipal(
        id=_id(sp.id),
        app_id=_id(sp.appId),
        display_name=sp.displayName or "",
        account_enabled=sp.accountEnabled is not False,
        app_role_assignment_required=bool(sp.appRoleAssignmentRequired),
        app_roles=tuple(
            s.AppRole(id=_id(r.id), value=r.value or "", allowed_member_types=tuple(r.allowedMemberTypes or ()))
            for r in sp.appRoles or ()
        ),
    )


def grant(x: g.OAuth2PermissionGrant) -> s.PermissionGrant:
    return s.PermissionGrant(
        id=x.id,
        client_id=_id(x.clientId),
        resource_id=_id(x.resourceId),
        consent_type=x.consentType or "",
        principal_id=_id(x.principalId) or None,
        # Graph's scope is one space-separated string, sometimes with doubled spaces.
        scopes=frozenset((x.scope or "").split()),
    )


def app_role_assignment(a: g.AppRoleAssignment) -> s.AppRoleAssignment:
    return s.AppRoleAssignment(
        id=a.id,
        principal_id=_id(a.principalId),
        principal_type=a.principalType or "",
        resource_id=_id(a.resourceId),
        app_role_id=_id(a.appRoleId),
    )


def _type(obj: g.DirectoryObject | None) -> str:
    return (obj.odata_type or "").lower() if obj is not None else ""


def _user_by(odata_type: object, user_principal_name: object) -> bool:
    """The one rule saying a directory object is a user, for Structs and Graph's raw JSON alike.

    @odata.type decides when Graph sent it: an object typed otherwise is no user even with a
    userPrincipalName key (Graph answers a member it lets the caller see only in part, a device
    or a service principal, with every other selected property null). Only without the
    annotation (some proxies strip annotations) does a userPrincipalName, not null, say "user".
    """
    if odata_type:
        return str(odata_type).lower() == g.USER_TYPE
    return user_principal_name is not None


def is_user(obj: g.DirectoryObject) -> bool:
    return _user_by(obj.odata_type, obj.userPrincipalName)


def is_user_json(obj: dict) -> bool:
    """is_user for a directory object kept as Graph's JSON (sage365.onboarding keeps them so)."""
    return _user_by(obj.get("@odata.type"), obj.get("userPrincipalName"))


def is_group(obj: g.DirectoryObject) -> bool:
    return _type(obj) == g.GROUP_TYPE


def group(x: g.Group, members: Iterable[g.DirectoryObject] | None = None) -> s.Group:
    """A group and its user members (nested groups and devices are not add-in users)."""
    listed = list(x.members or () if members is None else members)
    return s.Group(
        id=_id(x.id),
        display_name=x.displayName or "",
        security_enabled=x.securityEnabled is not False,
        members=tuple(user(m) for m in listed if is_user(m)),
        nested_groups=tuple(m.displayName or m.id for m in listed if is_group(m)),
    )


def _held_tenant_wide(principal_id: object, directory_scope_id: object) -> bool:
    # Global Administrator only works at directory scope "/"; an assignment scoped to an
    # administrative unit does not let anyone consent for the tenant.
    return bool(principal_id) and (directory_scope_id or "/") == "/"


def _tenant_wide(assignments: Iterable[g.UnifiedRoleAssignment]) -> list[g.UnifiedRoleAssignment]:
    return [a for a in assignments if _held_tenant_wide(a.principalId, a.directoryScopeId)]


def tenant_wide_json(assignment: dict) -> bool:
    """A role assignment, as Graph's JSON, held at directory scope "/" by a principal (_tenant_wide's rule)."""
    return _held_tenant_wide(assignment.get("principalId"), assignment.get("directoryScopeId"))


def global_administrator_ids(assignments: Iterable[g.UnifiedRoleAssignment]) -> frozenset[str]:
    """Principal ids holding the role at directory scope ("/"), the only scope that counts."""
    return frozenset(_id(a.principalId) for a in _tenant_wide(assignments))


def global_administrator_groups(assignments: Iterable[g.UnifiedRoleAssignment]) -> frozenset[str]:
    """Ids of the (role-assignable) groups holding the role at directory scope: their members hold it too.

    Role-assignable groups cannot contain groups, so their direct members are all who hold it.
    """
    return frozenset(_id(a.principalId) for a in _tenant_wide(assignments) if is_group(a.principal))


def organization(org: g.Organization) -> tuple[str, tuple[str, ...]]:
    """(display name, verified domain names lower-cased) of the tenant's organization."""
    return org.displayName or "", tuple(d.name.lower() for d in org.verifiedDomains or () if d.name)
