"""build_snapshot: which parts an unreadable response turns into errors (and a 404 does not)."""

from __future__ import annotations

from sage365.graph.batch import BatchResponse
from sage365.graph.reader import build_snapshot, snapshot_requests
from sage365.snapshot import Part, Snapshot
from tests.graph.conftest import ALPHA


def empty_responses(tenant, catalog) -> dict[str, BatchResponse]:
    """Every request of the batch answered 404 (absent) or as an empty collection."""
    return {
        r.id: BatchResponse(r.id, 200, []) if r.collection else BatchResponse(r.id, 404, None, "Request_ResourceNotFound", "gone")
        for r in snapshot_requests(tenant, catalog)
    }


def test_the_batch_asks_for_every_part_once(alpha, catalog):
    assert [(r.id, r.url) for r in snapshot_requests(alpha, catalog)] == [
        ("admin", "/users/admin@alpha.fr?$select=id,userPrincipalName,displayName,accountEnabled,usageLocation"),
        ("licences", "/users/admin@alpha.fr/licenseDetails"),
        ("globalAdmins", "/roleManagement/directory/roleAssignments?$filter=roleDefinitionId%20eq%20%2762e90394-69f5-4237-9190-012177145e10%27&$expand=principal"),
        ("skus", "/subscribedSkus"),
        ("sp:graph", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appId,displayName,accountEnabled,appRoleAssignmentRequired,appRoles"),
        ("sp:sage-business-center", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000001')?$select=id,appId,displayName,accountEnabled,appRoleAssignmentRequired,appRoles"),
        ("grants:sage-business-center", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000001')/oauth2PermissionGrants"),
        ("roles:sage-business-center", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000001')/appRoleAssignments"),
        ("sp:sage-contact", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000002')?$select=id,appId,displayName,accountEnabled,appRoleAssignmentRequired,appRoles"),
        ("grants:sage-contact", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000002')/oauth2PermissionGrants"),
        ("roles:sage-contact", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000002')/appRoleAssignments"),
        ("assignedTo:sage-contact", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000002')/appRoleAssignedTo"),
        ("sp:sage-connector", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000003')?$select=id,appId,displayName,accountEnabled,appRoleAssignmentRequired,appRoles"),
        ("grants:sage-connector", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000003')/oauth2PermissionGrants"),
        ("roles:sage-connector", "/servicePrincipals(appId='00000000-5a6e-4000-8000-000000000003')/appRoleAssignments"),
        ("group:0", "/groups?$filter=displayName%20eq%20%27Sage%20Contact%20users%27&$expand=members"),
        ("group:1", "/groups?$filter=displayName%20eq%20%27Someone%27%27s%20group%27&$expand=members"),
        ("users:0", "/users?$filter=userPrincipalName%20in%20%28%27anne%40alpha.fr%27%2C%20%27admin%40alpha.fr%27%29"
                    "&$select=id,userPrincipalName,displayName,accountEnabled,mail,proxyAddresses"),
    ]


def test_not_found_everywhere_is_an_empty_tenant_without_errors(alpha, catalog):
    snapshot = build_snapshot(alpha, catalog, "Alpha", ("alpha.fr",), empty_responses(alpha, catalog))
    assert snapshot == Snapshot(tenant_id=ALPHA, organization_name="Alpha", verified_domains=("alpha.fr",))


def test_denied_and_unavailable_parts_are_errors_with_their_graph_message(alpha, catalog):
    responses = empty_responses(alpha, catalog)
    responses["skus"] = BatchResponse("skus", 403, None, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    responses["grants:sage-contact"] = BatchResponse("grants:sage-contact", 503, None, "serviceNotAvailable", "Service is unavailable.", 4)
    responses["sp:sage-connector"] = BatchResponse("sp:sage-connector", 0, None, "ConnectError", "All connection attempts failed")
    responses["group:1"] = BatchResponse("group:1", 429, None, "TooManyRequests", "Too many requests.", 4)
    snapshot = build_snapshot(alpha, catalog, "Alpha", (), responses)
    # The SKUs are one part for the tenant; the others failed for one app or one group only.
    assert snapshot.errors == {
        Part.SUBSCRIBED_SKUS: "cannot read the subscribed SKUs: 403 Authorization_RequestDenied: Insufficient privileges to complete the operation.",
    }
    assert snapshot.item_errors == {
        Part.GRANTS: {"sage-contact": "cannot read the delegated permission grants of sage-contact: 503 serviceNotAvailable: Service is unavailable."},
        Part.SERVICE_PRINCIPALS: {"sage-connector": "cannot read the service principal of sage-connector (00000000-5a6e-4000-8000-000000000003): ConnectError: All connection attempts failed"},
        Part.GROUPS: {"Someone's group": "cannot read the group \"Someone's group\": 429 TooManyRequests: Too many requests."},
    }
    assert snapshot.error_for(Part.GRANTS, "sage-contact") == snapshot.item_errors[Part.GRANTS]["sage-contact"]
    assert snapshot.error_for(Part.GRANTS, "sage-business-center") is None
    assert snapshot.error_for(Part.SUBSCRIBED_SKUS, "anything") == snapshot.errors[Part.SUBSCRIBED_SKUS]
    assert (snapshot.subscribed_skus, snapshot.service_principals, snapshot.groups) == ((), {}, {})
