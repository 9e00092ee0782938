"""Graph's error shapes and codes, authentication, and tenant isolation."""

from __future__ import annotations

import re
from uuid import UUID

from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from sage365.sandbox import Faults
from tests.sandbox.support import client, config, graph_error, raw, run
from tests.sandbox_fixtures import CONTOSO, FABRIKAM, NORTHWIND

F_ADMIN = "20000000-0001-4000-8000-000000000001"
F_GRAPH_SP, F_SBC_SP = "20000000-0003-4000-8000-000000000000", "20000000-0003-4000-8000-000000000001"
F_GRANT = "RmFicmlrYW0tc2JjLWdyYXBoLWRlbGVnYXRl"
C_GRAPH_SP, C_GROUP = "10000000-0003-4000-8000-000000000000", "10000000-0002-4000-8000-000000000001"


def test_error_body_has_graphs_shape(demo_sandbox):
    resp = raw(demo_sandbox, "GET", "/users/nobody@contoso.fr", CONTOSO, headers={"client-request-id": "abc-123"})
    assert resp.status_code == 404
    error = resp.json()["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert error["code"] == "Request_ResourceNotFound"
    assert error["message"] == "Resource 'nobody@contoso.fr' does not exist or one of its queried reference-property objects are not present."
    assert error["innerError"]["request-id"] == resp.headers["request-id"] == "abc-123"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", error["innerError"]["date"])
    assert resp.headers["content-type"].startswith("application/json")


def test_authentication_failures_are_401_invalid_authentication_token(demo_sandbox):
    unknown = "99999999-9999-4999-8999-999999999999"
    answers = [
        raw(demo_sandbox, "GET", "/users", None),
        raw(demo_sandbox, "GET", "/users", None, headers={"Authorization": "Bearer eyJhbGciOi.x.y"}),
        raw(demo_sandbox, "GET", "/users", None, headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        raw(demo_sandbox, "GET", "/users", unknown),
        raw(demo_sandbox, "POST", "/$batch", unknown, json={"requests": [{"id": "1", "method": "GET", "url": "/users"}]}),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in answers] == [(401, "InvalidAuthenticationToken")] * 5

    async def sdk():
        return await graph_error(client(demo_sandbox, unknown).users.get())

    assert run(sdk) == (401, "InvalidAuthenticationToken")
    assert demo_sandbox.stats.requests("-") == 6


def test_each_error_code_through_the_sdk(demo_sandbox):
    async def go():
        c = client(demo_sandbox, CONTOSO)
        bad_filter = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter="userPrincipalName eq")
        unsupported = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(orderby=["displayName"])
        bad_top = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=1000)
        bad_expand = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(expand=["manager"])
        sp_expand = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(expand=["owners"])
        return [
            await graph_error(c.users.by_user_id("nobody").get()),
            await graph_error(c.users.get(config(bad_filter))),
            await graph_error(c.users.get(config(unsupported))),
            await graph_error(c.users.get(config(bad_top))),
            await graph_error(c.groups.get(config(bad_expand))),
            # No route expands these: refused, never silently served unexpanded.
            await graph_error(c.users.get(config(bad_expand))),
            await graph_error(c.service_principals.get(config(sp_expand))),
            await graph_error(c.oauth2_permission_grants.post(OAuth2PermissionGrant(client_id="x", consent_type="AllPrincipals", resource_id=C_GRAPH_SP))),
            await graph_error(c.oauth2_permission_grants.by_o_auth2_permission_grant_id("nope").patch(OAuth2PermissionGrant(scope="openid"))),
        ]

    assert run(go) == [
        (404, "Request_ResourceNotFound"), (400, "BadRequest"), (400, "Request_UnsupportedQuery"), (400, "Request_BadRequest"),
        (400, "BadRequest"), (400, "BadRequest"), (400, "BadRequest"), (400, "Request_BadRequest"), (404, "Request_ResourceNotFound"),
    ]


def test_raw_protocol_errors(demo_sandbox):
    answers = [
        raw(demo_sandbox, "PUT", "/users", CONTOSO, json={}),  # method not allowed
        raw(demo_sandbox, "GET", "/directoryRoles", CONTOSO),  # not emulated
        raw(demo_sandbox, "POST", "/oauth2PermissionGrants", CONTOSO, content=b"{\"clientId\": ", headers={"Content-Type": "application/json"}),
        raw(demo_sandbox, "GET", demo_sandbox.url + "/beta/users", CONTOSO),
        raw(demo_sandbox, "GET", "/users?$skiptoken=%%%", CONTOSO),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in answers] == [
        (405, "Request_BadRequest"), (400, "BadRequest"), (400, "BadRequest"), (400, "BadRequest"), (400, "Request_BadRequest")]
    assert answers[1].json()["error"]["message"] == "Resource not found for the segment 'directoryRoles'."


def test_denied_endpoints_answer_403_authorization_request_denied(sandbox_server):
    server = sandbox_server(faults=Faults(deny={CONTOSO: ["GET /subscribedSkus"]}))

    async def go():
        return await graph_error(client(server, CONTOSO).subscribed_skus.get()), len((await client(server, FABRIKAM).subscribed_skus.get()).value)

    assert run(go) == ((403, "Authorization_RequestDenied"), 1)


def test_another_tenants_objects_cannot_be_read_or_changed(demo_sandbox):
    before = demo_sandbox.state.tenants[FABRIKAM].to_json()

    async def go():
        c = client(demo_sandbox, CONTOSO)
        return [
            await graph_error(c.users.by_user_id(F_ADMIN).get()),
            await graph_error(c.users.by_user_id("admin@fabrikam.onmicrosoft.com").license_details.get()),
            await graph_error(c.service_principals.by_service_principal_id(F_SBC_SP).get()),
            await graph_error(c.service_principals.by_service_principal_id(F_GRAPH_SP).app_role_assigned_to.get()),
            await graph_error(c.oauth2_permission_grants.by_o_auth2_permission_grant_id(F_GRANT).get()),
            await graph_error(c.oauth2_permission_grants.by_o_auth2_permission_grant_id(F_GRANT).patch(OAuth2PermissionGrant(scope="x"))),
            await graph_error(c.oauth2_permission_grants.by_o_auth2_permission_grant_id(F_GRANT).delete()),
            await graph_error(c.service_principals.by_service_principal_id(F_SBC_SP).delete()),
            # Contoso objects pointed at Fabrikam ones.
            await graph_error(c.service_principals.by_service_principal_id(C_GRAPH_SP).app_role_assigned_to.post(
                AppRoleAssignment(principal_id=UUID(F_SBC_SP), resource_id=UUID(C_GRAPH_SP), app_role_id=UUID(int=0)))),
            await graph_error(c.oauth2_permission_grants.post(OAuth2PermissionGrant(
                client_id=F_SBC_SP, consent_type="AllPrincipals", resource_id=C_GRAPH_SP, scope="openid"))),
            await graph_error(c.groups.by_group_id(C_GROUP).members.ref.post(
                ReferenceCreate(odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{F_ADMIN}"))),
        ]

    assert run(go) == [(404, "Request_ResourceNotFound")] * 8 + [
        (404, "Request_ResourceNotFound"), (400, "Request_BadRequest"), (404, "Request_ResourceNotFound")]
    assert demo_sandbox.state.tenants[FABRIKAM].to_json() == before
    assert demo_sandbox.stats.requests(FABRIKAM) == 0


def test_collections_only_list_the_callers_tenant(demo_sandbox):
    async def go():
        out = {}
        for tenant in (CONTOSO, FABRIKAM, NORTHWIND):
            c = client(demo_sandbox, tenant)
            out[tenant] = sorted(u.user_principal_name.split("@")[1] for u in (await c.users.get()).value)
        return out

    domains = run(go)
    assert set(domains[CONTOSO]) == {"contoso.onmicrosoft.com", "contoso.fr"}
    assert set(domains[FABRIKAM]) == {"fabrikam.onmicrosoft.com"}
    assert set(domains[NORTHWIND]) == {"northwind-traders.fr"}
