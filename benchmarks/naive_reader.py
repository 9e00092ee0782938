"""The baseline for benchmarks/drift_fleet.py: a tenant read as msgraph-sdk's fluent API invites.

One request per object, one after another, every body parsed into msgraph-sdk's models:
the organization, the administrator, their licences, the Global Administrator role
assignments, the SKUs, then for Microsoft Graph and each declared app its service
principal, grants and app role assignments, then each add-in group and its members; then,
for the same tenants as sage365's reader (sage365.extras: add-ins declared, a connector
declared), Exchange Online's `Get-App -OrganizationApp` and Graph beta's connectors (with a
declared connector group, its groups and members), each with a client of its own, one
after another (msgraph-sdk has no beta models: sage365.graph.http's client, as sage365 reads them). It
reads what sage365's reader reads and nothing is checked; it exists only to be timed.
"""

from __future__ import annotations

from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration

from sage365 import extras
from sage365.catalog import GLOBAL_ADMINISTRATOR_ROLE, MICROSOFT_GRAPH_APP_ID, Catalog
from sage365.declaration import Tenant
from sage365.graph.client import graph_client, make_http_client
from sage365.graph.http import HttpClient


async def read_tenant_naively(tenant: Tenant, catalog: Catalog, graph_url: str) -> int:
    """Read everything the checks need, one request at a time; returns the number of objects read."""
    from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
    from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
        RoleAssignmentsRequestBuilder,
    )

    http = make_http_client(graph_url)
    client = graph_client(tenant.tenant_id, graph_url=graph_url, http_client=http)
    objects = 0
    try:
        objects += len((await client.organization.get()).value)
        user = client.users.by_user_id(tenant.administrator.user_principal_name)
        objects += (await user.get()) is not None
        objects += len((await user.license_details.get()).value)
        role_query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
            filter=f"roleDefinitionId eq '{GLOBAL_ADMINISTRATOR_ROLE}'", expand=["principal"])
        objects += len((await client.role_management.directory.role_assignments.get(
            RequestConfiguration(query_parameters=role_query))).value)
        objects += len((await client.subscribed_skus.get()).value)
        apps = [MICROSOFT_GRAPH_APP_ID, *(catalog.apps[k].app_id for k in dict.fromkeys(
            (*tenant.consents, *(a.app for a in tenant.addins))) if k in catalog.apps)]
        for app_id in apps:
            try:
                sp = await client.service_principals_with_app_id(app_id).get()
            except APIError as exc:
                if exc.response_status_code == 404:
                    continue  # not consented in this tenant: nothing hangs off it
                raise
            objects += 1
            by_id = client.service_principals.by_service_principal_id(str(sp.id))
            objects += len((await by_id.oauth2_permission_grants.get()).value)
            objects += len((await by_id.app_role_assignments.get()).value)
        for addin in tenant.addins:
            group_query = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
                filter=f"displayName eq '{addin.group}'")
            groups = (await client.groups.get(RequestConfiguration(query_parameters=group_query))).value
            for group in groups:
                objects += 1 + len((await client.groups.by_group_id(str(group.id)).members.get()).value)
    finally:
        await http.aclose()
    return objects + await _read_beyond_graph(tenant, catalog, graph_url)


async def _read_beyond_graph(tenant: Tenant, catalog: Catalog, graph_url: str) -> int:
    """Exchange's organization apps and Graph beta's connectors, for tenants that need them."""
    from sage365.exchange import client as exchange
    from sage365.graph import connectors as beta

    objects = 0
    if extras.needs_exchange(tenant):
        tokens = exchange.token_source(tenant.tenant_id, sandbox=True)
        async with exchange.ExchangeClient(tenant.tenant_id, tokens,
                                           base_url=exchange.exchange_url_from(None, graph_url)) as client:
            objects += len(await client.invoke("Get-App", {"OrganizationApp": True}))
    if extras.needs_connectors(tenant):
        async with HttpClient() as http:  # as Exchange's own client
            reader = beta.BetaReader(tenant.tenant_id, graph_url=graph_url, credential=None, http=http)
            group = tenant.connector.connector_group if tenant.connector else None
            try:
                objects += len(await beta.read_connectors(reader, group))
            except beta.BetaError as exc:
                if exc.status != 403:
                    raise
                # Refused app-only, as Microsoft documents: the connector app's sign-ins, as sage365 does.
                app = catalog.apps.get(tenant.connector.app) if tenant.connector else None
                if app is not None:
                    await beta.read_sign_in(reader, app.app_id)
                    objects += 1
    return objects
