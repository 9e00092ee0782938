"""Every GET endpoint through msgraph-sdk's GraphServiceClient, against sandbox/demo.yaml."""

from __future__ import annotations

from uuid import UUID

from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.models.group import Group
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.user import User
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.oauth2_permission_grants.oauth2_permission_grants_request_builder import (
    Oauth2PermissionGrantsRequestBuilder,
)
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.tasks.page_iterator import PageIterator

from tests.sandbox.support import client, config, run
from tests.sandbox_fixtures import CONTOSO, FABRIKAM, NORTHWIND

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
SBC_APP = "00000000-5a6e-4000-8000-000000000001"
CONTACT_APP = "00000000-5a6e-4000-8000-000000000002"
GA = "62e90394-69f5-4237-9190-012177145e10"
C_ADMIN = "10000000-0001-4000-8000-000000000001"
C_GRAPH_SP, C_SBC_SP, C_CONTACT_SP = (f"10000000-0003-4000-8000-00000000000{i}" for i in range(3))


def test_organization(demo_sandbox):
    async def go():
        org = (await client(demo_sandbox, NORTHWIND).organization.get()).value
        return [(o.id, o.display_name, [(d.name, d.is_default) for d in o.verified_domains]) for o in org]

    assert run(go) == [(NORTHWIND, "Northwind Traders", [("northwind.onmicrosoft.com", False), ("northwind-traders.fr", True)])]


def test_users_carry_graphs_default_properties_unless_selected(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        plain = await c.users.by_user_id("admin@contoso.onmicrosoft.com").get()
        q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=["id", "userPrincipalName", "accountEnabled"])
        selected = await c.users.get(config(q))
        return plain, selected.value

    plain, selected = run(go)
    assert (plain.id, plain.display_name, plain.mail, plain.account_enabled) == (C_ADMIN, "Contoso Admin", "admin@contoso.onmicrosoft.com", None)
    assert [(u.user_principal_name, u.account_enabled, u.display_name) for u in selected] == [
        ("admin@contoso.onmicrosoft.com", True, None), ("alice@contoso.fr", True, None), ("bob@contoso.fr", True, None),
        ("carole@contoso.fr", True, None), ("ancien@contoso.fr", False, None),
    ]


def test_user_by_id_and_by_upn_are_the_same(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        return (await c.users.by_user_id(C_ADMIN).get()).user_principal_name, (await c.users.by_user_id("ADMIN@contoso.onmicrosoft.com").get()).id

    assert run(go) == ("admin@contoso.onmicrosoft.com", C_ADMIN)


def test_user_filter_eq_startswith_and_in(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        out = []
        for f in ("startswith(userPrincipalName,'a')", "userPrincipalName in ('bob@contoso.fr','carole@contoso.fr')",
                  "displayName eq 'alice martin' or jobTitle eq 'Direction'"):
            q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=f)
            out.append([u.user_principal_name for u in (await c.users.get(config(q))).value])
        return out

    assert run(go) == [
        ["admin@contoso.onmicrosoft.com", "alice@contoso.fr", "ancien@contoso.fr"],
        ["bob@contoso.fr", "carole@contoso.fr"],
        ["alice@contoso.fr", "carole@contoso.fr"],
    ]


def test_license_details_of_the_administrator(demo_sandbox):
    async def go():
        return (await client(demo_sandbox, NORTHWIND).users.by_user_id("it-admin@northwind-traders.fr").license_details.get()).value

    details = run(go)
    assert [(d.sku_part_number, str(d.sku_id)) for d in details] == [
        ("O365_BUSINESS_ESSENTIALS", "3b555118-da6a-4418-894f-7df1e2096870"), ("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4")]
    assert [(p.service_plan_name, p.provisioning_status) for p in details[1].service_plans] == [
        ("AAD_PREMIUM", "Success"), ("MFA_PREMIUM", "Success"), ("ADALLOM_S_DISCOVERY", "Success")]


def test_subscribed_skus(demo_sandbox):
    async def go():
        return (await client(demo_sandbox, CONTOSO).subscribed_skus.get()).value

    [sku] = run(go)
    assert (sku.sku_part_number, sku.capability_status, sku.consumed_units, sku.prepaid_units.enabled) == ("SPB", "Enabled", 4, 10)
    assert "AAD_PREMIUM" in [p.service_plan_name for p in sku.service_plans]


def test_service_principals_by_filter_eq_in_and_app_id_key(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        eq = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(filter=f"appId eq '{SBC_APP}'")
        in_ = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
            filter=f"appId in ('{GRAPH_APP}', '{CONTACT_APP}', '00000000-5a6e-4000-8000-000000000003')")
        by_eq = [sp.id for sp in (await c.service_principals.get(config(eq))).value]
        by_in = [sp.id for sp in (await c.service_principals.get(config(in_))).value]
        keyed = await c.service_principals_with_app_id(GRAPH_APP).get()
        by_id = await c.service_principals.by_service_principal_id(C_CONTACT_SP).get()
        return by_eq, by_in, keyed, by_id

    by_eq, by_in, graph, contact = run(go)
    assert by_eq == [C_SBC_SP]
    assert by_in == [C_GRAPH_SP, C_CONTACT_SP]
    assert isinstance(graph, ServicePrincipal) and graph.id == C_GRAPH_SP
    assert {r.value: str(r.id) for r in graph.app_roles}["User.Read.All"] == "df021288-bdef-4463-88db-98f22de89214"
    assert [s.value for s in graph.oauth2_permission_scopes] == [
        "openid", "profile", "offline_access", "User.Read", "Contacts.ReadWrite", "Mail.Read", "Mail.ReadWrite"]
    assert (contact.display_name, contact.app_role_assignment_required) == ("Sage Contact", True)


def test_app_role_assignments_from_both_sides_and_both_addressings(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        to_graph = (await c.service_principals.by_service_principal_id(C_GRAPH_SP).app_role_assigned_to.get()).value
        # msgraph-sdk has no navigations under servicePrincipals(appId=...): the same builders, by URL.
        base = demo_sandbox.base_url
        to_contact = (await c.service_principals.by_service_principal_id("x").app_role_assigned_to.with_url(
            f"{base}/servicePrincipals(appId='{CONTACT_APP}')/appRoleAssignedTo").get()).value
        of_sbc = (await c.service_principals.by_service_principal_id(C_SBC_SP).app_role_assignments.get()).value
        of_sbc_keyed = (await c.service_principals.by_service_principal_id("x").app_role_assignments.with_url(
            f"{base}/servicePrincipals(appId='{SBC_APP}')/appRoleAssignments").get()).value
        return to_graph, to_contact, of_sbc, of_sbc_keyed

    to_graph, to_contact, of_sbc, of_sbc_keyed = run(go)
    assert [(a.principal_id, str(a.app_role_id), a.principal_type) for a in to_graph] == [
        (UUID(C_SBC_SP), "df021288-bdef-4463-88db-98f22de89214", "ServicePrincipal")]
    assert [(a.principal_display_name, str(a.app_role_id)) for a in to_contact] == [("Sage Contact users", "00000000-0000-0000-0000-000000000000")]
    assert [a.id for a in of_sbc] == [a.id for a in of_sbc_keyed] == [to_graph[0].id]


def test_delegated_grants_by_client_filter_and_navigation(demo_sandbox):
    async def go():
        c = client(demo_sandbox, NORTHWIND)
        sbc = await c.service_principals_with_app_id(SBC_APP).get()
        q = Oauth2PermissionGrantsRequestBuilder.Oauth2PermissionGrantsRequestBuilderGetQueryParameters(filter=f"clientId eq '{sbc.id}'")
        filtered = (await c.oauth2_permission_grants.get(config(q))).value
        nav = (await c.service_principals.by_service_principal_id(sbc.id).oauth2_permission_grants.get()).value
        keyed = (await c.service_principals.by_service_principal_id("x").oauth2_permission_grants.with_url(
            f"{demo_sandbox.base_url}/servicePrincipals(appId='{SBC_APP}')/oauth2PermissionGrants").get()).value
        everything = (await c.oauth2_permission_grants.get()).value
        return filtered, nav, keyed, everything

    filtered, nav, keyed, everything = run(go)
    assert [(g.consent_type, g.scope) for g in filtered] == [("AllPrincipals", "openid profile offline_access User.Read Mail.ReadWrite")]
    assert [g.id for g in nav] == [g.id for g in keyed] == [g.id for g in filtered]
    assert len(everything) == 2


def test_groups_filter_and_expand_members(demo_sandbox):
    async def go():
        c = client(demo_sandbox, NORTHWIND)
        q = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(filter="displayName eq 'Sage Contact - Northwind'", expand=["members"])
        [group] = (await c.groups.get(config(q))).value
        members = (await c.groups.by_group_id(group.id).members.get()).value
        one = await c.groups.by_group_id(group.id).get()
        return group, members, one

    group, members, one = run(go)
    assert isinstance(group, Group) and group.security_enabled is True
    assert [(type(m), m.user_principal_name) for m in group.members] == [(User, "claire@northwind-traders.fr")]
    assert [(type(m), m.user_principal_name) for m in members] == [(User, "claire@northwind-traders.fr")]
    assert (one.display_name, one.members) == ("Sage Contact - Northwind", None)


def test_expand_members_stops_at_20_like_graph_and_members_pages(sandbox_server):
    users = [{"id": f"a0000000-0000-4000-8000-0000000000{i:02d}", "userPrincipalName": f"u{i:02d}@x.fr"} for i in range(25)]
    tenant = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
    state = {"tenants": {tenant: {"users": users, "groups": [{"id": "g1", "displayName": "G", "members": [u["id"] for u in users]}]}}}
    server = sandbox_server(state, page_size=10)

    async def go():
        c = client(server, tenant)
        q = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(expand=["members"])
        [group] = (await c.groups.get(config(q))).value
        first = await c.groups.by_group_id("g1").members.get()
        seen: list[str] = []
        iterator = PageIterator(first, c.request_adapter)
        await iterator.iterate(lambda m: seen.append(m.user_principal_name) or True)
        return len(group.members), first.odata_next_link, seen

    expanded, next_link, seen = run(go)
    assert expanded == 20
    assert next_link.startswith(server.base_url + "/groups/g1/members?$skiptoken=")
    assert seen == [f"u{i:02d}@x.fr" for i in range(25)]
    assert server.stats.requests(tenant, "GET /groups/{id}/members") == 3


def test_paging_with_top_follows_absolute_next_links(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=2, select=["userPrincipalName"])
        page = await c.users.get(config(q))
        pages = [[u.user_principal_name for u in page.value]]
        links = [page.odata_next_link]
        while page.odata_next_link:
            page = await c.users.with_url(page.odata_next_link).get()
            pages.append([u.user_principal_name for u in page.value])
            links.append(page.odata_next_link)
        return pages, links, page

    pages, links, last = run(go)
    assert pages == [["admin@contoso.onmicrosoft.com", "alice@contoso.fr"], ["bob@contoso.fr", "carole@contoso.fr"], ["ancien@contoso.fr"]]
    assert links[0].startswith(demo_sandbox.base_url + "/users?") and "%24select" not in links[0] and "$select=userPrincipalName" in links[0]
    assert links[-1] is None and isinstance(last, UserCollectionResponse)
    assert last.additional_data["@odata.context"] == demo_sandbox.base_url + "/$metadata#users"


def test_role_assignments_filter_and_expand_principal(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        both = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
            filter=f"roleDefinitionId eq '{GA}' and principalId eq '{C_ADMIN}'", expand=["principal"])
        ga_only = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(filter=f"roleDefinitionId eq '{GA}'")
        a = (await c.role_management.directory.role_assignments.get(config(both))).value
        b = (await c.role_management.directory.role_assignments.get(config(ga_only))).value
        return a, b

    with_principal, ga = run(go)
    assert [(r.principal_id, r.directory_scope_id, type(r.principal), r.principal.user_principal_name) for r in with_principal] == [
        (C_ADMIN, "/", User, "admin@contoso.onmicrosoft.com")]
    assert [r.principal_id for r in ga] == [C_ADMIN]


def test_fabrikam_has_no_premium_plan_and_no_free_seat(demo_sandbox):
    async def go():
        c = client(demo_sandbox, FABRIKAM)
        details = (await c.users.by_user_id("admin@fabrikam.onmicrosoft.com").license_details.get()).value
        skus = (await c.subscribed_skus.get()).value
        return details, skus

    details, skus = run(go)
    assert {p.service_plan_name for d in details for p in d.service_plans}.isdisjoint({"AAD_PREMIUM", "AAD_PREMIUM_P2"})
    assert [(s.sku_part_number, s.prepaid_units.enabled - s.consumed_units) for s in skus] == [("O365_BUSINESS_PREMIUM", 0)]
