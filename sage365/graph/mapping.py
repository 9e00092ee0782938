"""msgraph-sdk models -> sage365.snapshot dataclasses.

The only place that knows both shapes: checks read snapshot types and never SDK ones.
Ids the SDK parses as UUID become lower-case strings, so ids compare equal whichever
side (catalogue, declaration, Graph) they come from.
"""

from __future__ import annotations

from typing import Any, Iterable

from sage365 import snapshot as s


def _id(value: Any) -> str:
    return str(value).lower() if value is not None else ""


def user(u: Any) -> s.User:
    return s.User(
        id=_id(u.id),
        user_principal_name=u.user_principal_name or "",
        display_name=u.display_name or "",
        # Graph omits accountEnabled unless selected: the reader selects it for the
        # administrator; expanded group members come with the default properties only.
        account_enabled=u.account_enabled is not False,
        usage_location=getattr(u, "usage_location", None) or None,
    )


def service_plan(p: Any) -> s.ServicePlan:
    return s.ServicePlan(
        service_plan_id=_id(p.service_plan_id),
        service_plan_name=p.service_plan_name or "",
        provisioning_status=p.provisioning_status or "",
    )


def licence_detail(d: Any) -> s.LicenceDetail:
    return s.LicenceDetail(
        sku_id=_id(d.sku_id),
        sku_part_number=d.sku_part_number or "",
        service_plans=tuple(service_plan(p) for p in d.service_plans or ()),
    )


def subscribed_sku(k: Any) -> s.SubscribedSku:
    return s.SubscribedSku(
        sku_id=_id(k.sku_id),
        sku_part_number=k.sku_part_number or "",
        capability_status=k.capability_status or "",
        enabled_units=(k.prepaid_units.enabled or 0) if k.prepaid_units else 0,
        consumed_units=k.consumed_units or 0,
        service_plans=tuple(service_plan(p) for p in k.service_plans or ()),
    )


def service_principal(sp: Any) -> s.ServicePrincipal:
    return s.ServicePrincipal(
        id=_id(sp.id),
        app_id=_id(sp.app_id),
        display_name=sp.display_name or "",
        account_enabled=sp.account_enabled is not False,
        app_role_assignment_required=bool(sp.app_role_assignment_required),
        app_roles=tuple(
            s.AppRole(id=_id(r.id), value=r.value or "", allowed_member_types=tuple(r.allowed_member_types or ()))
            for r in sp.app_roles or ()
        ),
    )


def grant(g: Any) -> s.PermissionGrant:
    return s.PermissionGrant(
        id=g.id or "",
        client_id=_id(g.client_id),
        resource_id=_id(g.resource_id),
        consent_type=g.consent_type or "",
        principal_id=_id(g.principal_id) or None,
        # Graph's scope is one space-separated string, sometimes with doubled spaces.
        scopes=frozenset((g.scope or "").split()),
    )


def app_role_assignment(a: Any) -> s.AppRoleAssignment:
    return s.AppRoleAssignment(
        id=a.id or "",
        principal_id=_id(a.principal_id),
        principal_type=a.principal_type or "",
        resource_id=_id(a.resource_id),
        app_role_id=_id(a.app_role_id),
    )


def is_user(obj: Any) -> bool:
    return (getattr(obj, "odata_type", "") or "").lower() == "#microsoft.graph.user" or hasattr(obj, "user_principal_name")


def group(g: Any, members: Iterable[Any] | None = None) -> s.Group:
    """A group and its user members (nested groups and devices are not add-in users)."""
    listed = g.members if members is None else members
    return s.Group(
        id=_id(g.id),
        display_name=g.display_name or "",
        security_enabled=g.security_enabled is not False,
        members=tuple(user(m) for m in listed or () if is_user(m)),
    )


def _tenant_wide(assignments: Iterable[Any]) -> list[Any]:
    # Global Administrator only works at directory scope "/"; an assignment scoped to an
    # administrative unit does not let anyone consent for the tenant.
    return [a for a in assignments if a.principal_id and (a.directory_scope_id or "/") == "/"]


def global_administrator_ids(assignments: Iterable[Any]) -> frozenset[str]:
    """Principal ids holding the role at directory scope ("/"), the only scope that counts."""
    return frozenset(_id(a.principal_id) for a in _tenant_wide(assignments))


def global_administrator_groups(assignments: Iterable[Any]) -> frozenset[str]:
    """Ids of the (role-assignable) groups holding the role at directory scope: their members hold it too.

    Role-assignable groups cannot contain groups, so their direct members are all who hold it.
    """
    return frozenset(
        _id(a.principal_id) for a in _tenant_wide(assignments)
        if (getattr(a.principal, "odata_type", "") or "").lower() == "#microsoft.graph.group"
    )


def organization(org: Any) -> tuple[str, tuple[str, ...]]:
    """(display name, verified domain names lower-cased) of the tenant's organization."""
    return org.display_name or "", tuple((d.name or "").lower() for d in org.verified_domains or () if d.name)
