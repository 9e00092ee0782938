"""components.adoption.plan on its own: which existing objects are imported, by which id."""

from __future__ import annotations

from pathlib import Path

from components.adoption import Adoption, plan
from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.snapshot import (
    AppRole,
    AppRoleAssignment,
    Group,
    Part,
    PermissionGrant,
    ServicePrincipal,
    Snapshot,
    User,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "catalog" / "catalog.yaml")
FABRIKAM = load_tenant(ROOT / "tenants" / "fabrikam.yaml")
CONTOSO = load_tenant(ROOT / "tenants" / "contoso.yaml")
GRAPH = ServicePrincipal("a0000000-0003-4000-8000-000000000000", "00000003-0000-0000-c000-000000000000", "Microsoft Graph",
                         app_roles=(AppRole("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),))
SBC = ServicePrincipal("a0000000-0003-4000-8000-000000000001", "00000000-5a6e-4000-8000-000000000001", "SBC")


def test_without_a_snapshot_nothing_is_adopted():
    assert plan(FABRIKAM, CATALOG, None) == Adoption()


def test_only_the_tenant_wide_grant_to_graph_and_the_catalogues_roles_are_adopted():
    other_api = "a0000000-0003-4000-8000-0000000000ff"
    snapshot = Snapshot(
        tenant_id=FABRIKAM.tenant_id, graph_service_principal=GRAPH, service_principals={SBC.app_id: SBC},
        grants={SBC.id: (
            PermissionGrant("user-grant", SBC.id, GRAPH.id, "Principal", "u", frozenset({"User.Read"})),
            PermissionGrant("other-api", SBC.id, other_api, "AllPrincipals", None, frozenset({"x"})),
            PermissionGrant("tenant-grant", SBC.id, GRAPH.id, "AllPrincipals", None, frozenset({"User.Read"})),
        )},
        app_role_assignments={SBC.id: (
            AppRoleAssignment("extra-role", SBC.id, "ServicePrincipal", GRAPH.id, "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
            AppRoleAssignment("user-read-all", SBC.id, "ServicePrincipal", GRAPH.id, "df021288-bdef-4463-88db-98f22de89214"),
        )},
    )
    adoption = plan(FABRIKAM, CATALOG, snapshot)
    consent = adoption.consent("sage-business-center")
    assert (consent.service_principal, consent.grant, dict(consent.app_roles)) == (
        f"/servicePrincipals/{SBC.id}",
        "/oauth2PermissionGrants/tenant-grant",
        {"User.Read.All": f"/servicePrincipals/{GRAPH.id}/appRoleAssignedTo/user-read-all"},
    )
    assert adoption.imports == 3


def test_a_member_is_adopted_only_when_in_the_group_and_an_absent_group_adopts_nothing():
    group = Group("a0000000-0002-4000-8000-000000000001", "Sage Contact users", True,
                  (User("a0000000-0001-4000-8000-000000000002", "alice@contoso.fr"),))
    users = {"alice@contoso.fr": User("a0000000-0001-4000-8000-000000000002", "alice@contoso.fr"),
             "bob@contoso.fr": User("a0000000-0001-4000-8000-000000000003", "bob@contoso.fr")}
    adoption = plan(CONTOSO, CATALOG, Snapshot(tenant_id=CONTOSO.tenant_id, groups={group.display_name: group}, users=users))
    addin = adoption.addin("sage-contact")
    assert (addin.group, dict(addin.members), addin.assignment) == (
        f"/groups/{group.id}", {users["alice@contoso.fr"].id: f"{group.id}/member/{users['alice@contoso.fr'].id}"}, None)
    assert adoption.user_ids == {"alice@contoso.fr": users["alice@contoso.fr"].id, "bob@contoso.fr": users["bob@contoso.fr"].id}
    assert plan(CONTOSO, CATALOG, Snapshot(tenant_id=CONTOSO.tenant_id, users=users)).addins == {}


def test_what_could_not_be_read_is_named():
    snapshot = Snapshot(tenant_id=CONTOSO.tenant_id, errors={Part.GRANTS: "403 Forbidden"},
                        item_errors={Part.GROUPS: {"Sage Contact users": "503 Service Unavailable"}})
    assert plan(CONTOSO, CATALOG, snapshot).unread == (
        "oauth2PermissionGrants: 403 Forbidden",
        "groups of Sage Contact users: 503 Service Unavailable",
    )
