"""Writes through msgraph-sdk: licences, service principals, assignments, grants, members."""

from __future__ import annotations

from uuid import UUID

import pytest
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.assigned_license import AssignedLicense
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (
    AssignLicensePostRequestBody,
)

from sage365.sandbox import load_state
from tests.sandbox.support import client, graph_error, run
from tests.sandbox_fixtures import CONTOSO, FABRIKAM, NORTHWIND

AAD_PREMIUM_SKU = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
SPB = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"
NO_ROLE = "00000000-0000-0000-0000-000000000000"
F_GRAPH_SP, F_SBC_SP = "20000000-0003-4000-8000-000000000000", "20000000-0003-4000-8000-000000000001"
CONTACT_APP = "00000000-5a6e-4000-8000-000000000002"


def licence(sku: str, disabled: list[str] | None = None) -> AssignLicensePostRequestBody:
    return AssignLicensePostRequestBody(add_licenses=[AssignedLicense(sku_id=UUID(sku), disabled_plans=[UUID(p) for p in disabled or []])], remove_licenses=[])


def test_assign_a_free_seat_then_the_licence_details_show_it(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        user = await c.users.by_user_id("ancien@contoso.fr").assign_license.post(licence(SPB, ["41781fb2-bc02-4b7c-bd55-b576c07bb09d"]))
        details = (await c.users.by_user_id("ancien@contoso.fr").license_details.get()).value
        sku = (await c.subscribed_skus.get()).value[0]
        removed = await c.users.by_user_id("ancien@contoso.fr").assign_license.post(
            AssignLicensePostRequestBody(add_licenses=[], remove_licenses=[UUID(SPB)]))
        after = (await c.users.by_user_id("ancien@contoso.fr").license_details.get()).value
        return user, details, sku, removed, after, (await c.subscribed_skus.get()).value[0]

    user, details, sku, removed, after, sku_after = run(go)
    assert user.user_principal_name == "ancien@contoso.fr"
    assert [d.sku_part_number for d in details] == ["SPB"]
    assert {p.service_plan_name: p.provisioning_status for p in details[0].service_plans}["AAD_PREMIUM"] == "Disabled"
    assert {p.service_plan_name: p.provisioning_status for p in details[0].service_plans}["TEAMS1"] == "Success"
    assert (sku.consumed_units, sku_after.consumed_units) == (5, 4)
    assert after == []


def test_assign_without_a_free_seat_or_unknown_sku_or_usage_location_is_refused(demo_sandbox, sandbox_server):
    async def go():
        c = client(demo_sandbox, NORTHWIND)
        no_seat = await graph_error(c.users.by_user_id("claire@northwind-traders.fr").assign_license.post(licence(AAD_PREMIUM_SKU)))
        unknown = await graph_error(c.users.by_user_id("claire@northwind-traders.fr").assign_license.post(licence(SPB)))
        return no_seat, unknown

    assert run(go) == ((400, "Request_BadRequest"), (400, "Request_BadRequest"))
    state = load_state("sandbox/demo.yaml")
    del state.tenants[CONTOSO].users["10000000-0001-4000-8000-000000000005"]["usageLocation"]
    server = sandbox_server(state)

    async def nowhere():
        return await graph_error(client(server, CONTOSO).users.by_user_id("ancien@contoso.fr").assign_license.post(licence(SPB)))

    assert run(nowhere) == (400, "Request_BadRequest")
    assert server.state.tenants[CONTOSO].license_details.get("10000000-0001-4000-8000-000000000005", []) == []


def test_consent_from_scratch_service_principal_grant_and_app_role(demo_sandbox):
    async def go():
        c = client(demo_sandbox, FABRIKAM)
        sp = await c.service_principals.post(ServicePrincipal(app_id=CONTACT_APP))
        dup = await graph_error(c.service_principals.post(ServicePrincipal(app_id=CONTACT_APP)))
        unknown = await graph_error(c.service_principals.post(ServicePrincipal(app_id="0badbad0-0000-4000-8000-000000000000")))
        grant = await c.oauth2_permission_grants.post(OAuth2PermissionGrant(
            client_id=sp.id, consent_type="AllPrincipals", resource_id=F_GRAPH_SP, scope="openid profile"))
        dup_grant = await graph_error(c.oauth2_permission_grants.post(OAuth2PermissionGrant(
            client_id=sp.id, consent_type="AllPrincipals", resource_id=F_GRAPH_SP, scope="openid")))
        await c.oauth2_permission_grants.by_o_auth2_permission_grant_id(grant.id).patch(OAuth2PermissionGrant(scope="openid profile User.Read"))
        patched = await c.oauth2_permission_grants.by_o_auth2_permission_grant_id(grant.id).get()
        assignment = await c.service_principals.by_service_principal_id(F_GRAPH_SP).app_role_assigned_to.post(
            AppRoleAssignment(principal_id=UUID(sp.id), resource_id=UUID(F_GRAPH_SP), app_role_id=UUID(USER_READ_ALL)))
        listed = (await c.service_principals.by_service_principal_id(F_GRAPH_SP).app_role_assigned_to.get()).value
        return sp, dup, unknown, grant, dup_grant, patched, assignment, listed

    sp, dup, unknown, grant, dup_grant, patched, assignment, listed = run(go)
    assert (sp.app_id, sp.display_name, sp.account_enabled) == (CONTACT_APP, "Sage Contact", True)
    assert dup == (409, "Request_MultipleObjectsWithSameKeyValue")
    assert unknown == (400, "Request_BadRequest")
    assert (grant.client_id, grant.consent_type, grant.principal_id, grant.scope) == (sp.id, "AllPrincipals", None, "openid profile")
    assert dup_grant == (409, "Request_MultipleObjectsWithSameKeyValue")
    assert patched.scope == "openid profile User.Read"
    assert (assignment.principal_type, assignment.principal_display_name, assignment.resource_display_name) == (
        "ServicePrincipal", "Sage Contact", "Microsoft Graph")
    assert [a.id for a in listed][-1] == assignment.id and len(listed) == 2


def test_app_role_assignment_validation_and_delete(demo_sandbox):
    async def go():
        c = client(demo_sandbox, FABRIKAM)
        graph = c.service_principals.by_service_principal_id(F_GRAPH_SP).app_role_assigned_to
        bad_role = await graph_error(graph.post(AppRoleAssignment(principal_id=UUID(F_SBC_SP), resource_id=UUID(F_GRAPH_SP), app_role_id=UUID(int=7))))
        dup = await graph_error(graph.post(AppRoleAssignment(principal_id=UUID(F_SBC_SP), resource_id=UUID(F_GRAPH_SP), app_role_id=UUID(USER_READ_ALL))))
        wrong_resource = await graph_error(graph.post(AppRoleAssignment(principal_id=UUID(F_SBC_SP), resource_id=UUID(F_SBC_SP), app_role_id=UUID(NO_ROLE))))
        [existing] = (await graph.get()).value
        await graph.by_app_role_assignment_id(existing.id).delete()
        gone = await graph_error(graph.by_app_role_assignment_id(existing.id).delete())
        return bad_role, dup, wrong_resource, (await graph.get()).value, gone

    bad_role, dup, wrong_resource, remaining, gone = run(go)
    assert bad_role == dup == wrong_resource == (400, "Request_BadRequest")
    assert remaining == []
    assert gone == (404, "Request_ResourceNotFound")


def test_group_members_add_and_remove_by_ref(demo_sandbox):
    david = "30000000-0001-4000-8000-000000000003"
    group = "30000000-0002-4000-8000-000000000001"

    async def go():
        c = client(demo_sandbox, NORTHWIND)
        ref = ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{david}")
        await c.groups.by_group_id(group).members.ref.post(ref)
        again = await graph_error(c.groups.by_group_id(group).members.ref.post(ref))
        after_add = [m.id for m in (await c.groups.by_group_id(group).members.get()).value]
        await c.groups.by_group_id(group).members.by_directory_object_id("30000000-0001-4000-8000-000000000002").ref.delete()
        missing = await graph_error(c.groups.by_group_id(group).members.by_directory_object_id("30000000-0001-4000-8000-000000000002").ref.delete())
        nobody = await graph_error(c.groups.by_group_id(group).members.ref.post(
            ReferenceCreate(odata_id="https://graph.microsoft.com/v1.0/directoryObjects/30000000-0001-4000-8000-0000000000ff")))
        return again, after_add, [m.id for m in (await c.groups.by_group_id(group).members.get()).value], missing, nobody

    again, after_add, after_remove, missing, nobody = run(go)
    assert again == (400, "Request_BadRequest")
    assert after_add == ["30000000-0001-4000-8000-000000000002", david]
    assert after_remove == [david]
    assert missing == nobody == (404, "Request_ResourceNotFound")


def test_create_group_then_assign_it_to_the_add_in(demo_sandbox):
    async def go():
        c = client(demo_sandbox, FABRIKAM)
        sp = await c.service_principals.post(ServicePrincipal(app_id=CONTACT_APP, app_role_assignment_required=True))
        group = await c.groups.post(Group(display_name="Sage Contact users", mail_enabled=False, mail_nickname="sage-contact", security_enabled=True))
        incomplete = await graph_error(c.groups.post(Group(display_name="x")))
        assignment = await c.service_principals.by_service_principal_id(sp.id).app_role_assigned_to.post(
            AppRoleAssignment(principal_id=UUID(group.id), resource_id=UUID(sp.id), app_role_id=UUID(NO_ROLE)))
        return sp, group, incomplete, assignment

    sp, group, incomplete, assignment = run(go)
    assert sp.app_role_assignment_required is True
    assert (group.display_name, group.security_enabled) == ("Sage Contact users", True)
    assert incomplete == (400, "Request_BadRequest")
    assert (assignment.principal_type, str(assignment.principal_id)) == ("Group", group.id)


def test_delete_grant_and_service_principal_cascades(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        grants = (await c.oauth2_permission_grants.get()).value
        await c.oauth2_permission_grants.by_o_auth2_permission_grant_id(grants[0].id).delete()
        await c.service_principals.by_service_principal_id("10000000-0003-4000-8000-000000000002").delete()
        left = (await c.oauth2_permission_grants.get()).value
        assigned = (await c.service_principals.by_service_principal_id("10000000-0003-4000-8000-000000000000").app_role_assigned_to.get()).value
        return left, assigned

    left, assigned = run(go)
    assert left == []  # one deleted directly, the other with sage-contact's service principal
    assert [a.principal_display_name for a in assigned] == ["Sage Business Center"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_writes_the_changed_state_back(demo_sandbox, tmp_path, suffix):
    async def go():
        c = client(demo_sandbox, NORTHWIND)
        grant = (await c.oauth2_permission_grants.get()).value[0]
        await c.oauth2_permission_grants.by_o_auth2_permission_grant_id(grant.id).patch(OAuth2PermissionGrant(scope="openid profile offline_access User.Read"))

    run(go)
    path = tmp_path / f"saved{suffix}"
    demo_sandbox.save(path)
    saved = load_state(path)
    assert [g["scope"] for g in saved.tenants[NORTHWIND].oauth2PermissionGrants.values()][0] == "openid profile offline_access User.Read"
    assert saved.tenants[NORTHWIND].members == demo_sandbox.state.tenants[NORTHWIND].members
    assert saved.applications.keys() == demo_sandbox.state.applications.keys()
