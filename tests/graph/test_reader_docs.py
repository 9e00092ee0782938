"""The reader on Microsoft's documented example responses (sandbox/docs-examples.yaml): every
field the checks use reaches the snapshot exactly as documented."""

from __future__ import annotations

import asyncio
import dataclasses

import msgspec
import yaml

from sage365.declaration import Administrator
from sage365.engine import read_tenant
from sage365.graph import mapping, shapes
from sage365.snapshot import LicenceDetail, ServicePlan, SubscribedSku
from tests.sandbox_fixtures import DOCS_STATE

TENANT = "84841066-274d-4ec0-a5c1-276be684bdd3"


def test_documented_skus_and_licence_details_reach_the_snapshot(sandbox_server, alpha, catalog):
    server = sandbox_server(DOCS_STATE)
    tenant = dataclasses.replace(alpha, tenant_id=TENANT, consents=(), addins=(),
                                 administrator=Administrator("AdeleV@contoso.com"))
    snapshot = asyncio.run(read_tenant(tenant, catalog, graph_url=server.base_url))
    assert (snapshot.organization_name, snapshot.errors) == ("Contoso (docs examples)", {})
    assert snapshot.administrator.id == "48d31887-5fad-4d73-a9f5-3c356e68a038"
    assert snapshot.subscribed_skus == (
        SubscribedSku("c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", "Enabled", 25, 14,
                      (ServicePlan("8c098270-9dd4-4350-9b30-ba4703f3b36b", "ADALLOM_S_O365", "Success"),)),
        SubscribedSku("d17b27af-3f49-4822-99f9-56a661538792", "CRMSTANDARD", "Suspended", 0, 14,
                      (ServicePlan("f9646fb2-e3b2-4309-95de-dc4833737456", "CRMSTANDARD", "Disabled"),)),
    )
    assert snapshot.administrator_licences == (
        LicenceDetail("c7df2760-2c81-4ef7-b578-5b5392b571df", "ENTERPRISEPREMIUM", (
            ServicePlan("cd31b152-6326-4d1b-ae1b-997b625182e6", "MIP_S_Exchange", "PendingProvisioning"),
            ServicePlan("8e0c0a52-6a6c-4d40-8370-dd62790dcd70", "THREAT_INTELLIGENCE", "Success"),
            ServicePlan("9c0dab89-a30c-4117-86e7-97bda240acd2", "POWERAPPS_O365_P3", "Success"),
            ServicePlan("8c098270-9dd4-4350-9b30-ba4703f3b36b", "ADALLOM_S_O365", "Success"),
            ServicePlan("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE", "Success"),
        )),
        LicenceDetail("725422ed-e205-400e-ab0a-3899d8a398ca", "SCHOOL_DATA_SYNC_P2", (
            ServicePlan("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION", "Success"),
            ServicePlan("500b6a2a-7a50-4f40-b5f9-160e5b8c2f48", "SCHOOL_DATA_SYNC_P2", "Success"),
        )),
    )


def documented(kind: str) -> list[dict]:
    state = yaml.safe_load(DOCS_STATE.read_text(encoding="utf-8"))["tenants"][TENANT][kind]
    return list(state.values()) if isinstance(state, dict) else state


def as_graph(obj: dict, shape: type):
    """A documented object sent as Graph sends it (JSON) and decoded as the reader decodes it."""
    return shapes.decode(msgspec.json.encode(obj), shape)


def test_documented_service_principals_grants_and_assignments_decode_field_for_field():
    principals = [mapping.service_principal(as_graph(o, shapes.ServicePrincipal)) for o in documented("servicePrincipals")]
    assert [(p.id, p.app_id, p.display_name, p.account_enabled, p.app_role_assignment_required) for p in principals] == [
        (o["id"], o["appId"], o["displayName"], o.get("accountEnabled") is not False, bool(o.get("appRoleAssignmentRequired")))
        for o in documented("servicePrincipals")
    ]
    assert [[(r.id, r.value, r.allowed_member_types) for r in p.app_roles] for p in principals] == [
        [(r["id"], r["value"], tuple(r["allowedMemberTypes"])) for r in o.get("appRoles", [])] for o in documented("servicePrincipals")
    ]
    grants = [mapping.grant(as_graph(o, shapes.OAuth2PermissionGrant)) for o in documented("oauth2PermissionGrants")]
    assert [(g.id, g.client_id, g.resource_id, g.consent_type, g.principal_id, g.scopes) for g in grants] == [
        (o["id"], o["clientId"], o["resourceId"], o["consentType"], o["principalId"], frozenset(o["scope"].split()))
        for o in documented("oauth2PermissionGrants")
    ]
    assigned = [mapping.app_role_assignment(as_graph(o, shapes.AppRoleAssignment)) for o in documented("appRoleAssignments")]
    assert [(a.id, a.principal_id, a.principal_type, a.resource_id, a.app_role_id) for a in assigned] == [
        (o["id"], o["principalId"], o["principalType"], o["resourceId"], o["appRoleId"]) for o in documented("appRoleAssignments")
    ]
    assert (len(principals), len(grants), len(assigned)) == (3, 2, 1)
