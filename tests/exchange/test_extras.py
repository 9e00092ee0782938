"""The reads beside Graph's two round trips, through the engine, against the sandbox:
connectors (paged, 403 with the sign-in fallback) and Exchange refusals as findings."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from sage365 import engine
from sage365.catalog import load_catalog
from sage365.declaration import ConnectorDeclaration, load_tenant
from sage365.findings import Status
from sage365.sandbox.state import read_raw
from sage365.snapshot import Connector, Part, SignInActivity
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, FABRIKAM

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog(ROOT / "catalog" / "catalog.yaml")
CONTOSO_TENANT = load_tenant(ROOT / "tenants" / "contoso.yaml")
CONNECTORS = "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors"
SIGN_INS = "GET /beta/reports/servicePrincipalSignInActivities"


def demo_with(**contoso: object) -> dict:
    raw = json.loads(json.dumps(read_raw(DEMO_STATE)))
    raw["tenants"][CONTOSO].update(contoso)
    return raw


def read(server, tenant=CONTOSO_TENANT):
    return asyncio.run(engine.read_tenant(tenant, CATALOG, graph_url=server.base_url, extras=True))


def findings(server, check: str):
    result = engine.evaluate(CONTOSO_TENANT, CATALOG, read(server), today=dt.date(2026, 11, 28))
    return [(f.status, f.resource, f.message) for f in result.findings if f.check == check]


def test_connectors_are_read_page_by_page(sandbox_server):
    second = {"id": "c2", "machineName": "SAGE100-SRV", "status": "inactive", "version": "1.5.1000.0"}
    raw = demo_with()
    raw["tenants"][CONTOSO]["connectors"].append(second)
    server = sandbox_server(raw, page_size=1)
    snapshot = read(server)
    assert snapshot.connectors == (
        Connector("10000000-0004-4000-8000-000000000001", "SAGE100-SRV.contoso.local", "active", "1.5.3437.0", "203.0.113.10"),
        Connector("c2", "SAGE100-SRV", "inactive", "1.5.1000.0", ""))
    assert server.stats.requests(CONTOSO, CONNECTORS) == 2
    assert Part.CONNECTORS not in snapshot.errors


def test_connectors_denied_fall_back_on_the_connector_apps_sign_ins_and_never_pass(sandbox_server):
    server = sandbox_server(demo_with(connectorsDenied=True))
    snapshot = read(server)
    assert snapshot.connectors is None
    assert snapshot.connector_sign_in == SignInActivity("00000000-5a6e-4000-8000-000000000003", "2026-11-27T07:58:00Z")
    assert snapshot.errors[Part.CONNECTORS] == (
        "Graph beta /onPremisesPublishingProfiles/applicationProxy/connectors: 403 Authorization_RequestDenied: "
        "Insufficient privileges to complete the operation.")
    assert server.stats.requests(CONTOSO, SIGN_INS) == 1
    [(status, resource, message)] = findings(server, "connector.status")
    assert (status, resource) == (Status.ERROR, "SAGE100-SRV")
    assert message.endswith("fallback signal: the connector app last signed in at 2026-11-27T07:58:00Z, "
                            "which does not prove the connector is active")


def test_a_connector_app_that_never_signed_in_fails(sandbox_server):
    server = sandbox_server(demo_with(connectorsDenied=True, servicePrincipalSignInActivities=[]))
    [(status, _, message)] = findings(server, "connector.status")
    assert status is Status.FAIL
    assert message.endswith("fallback signal: the connector app has no sign-in recorded")


def test_exchange_refusing_the_identity_is_an_error_finding_per_add_in(sandbox_server):
    server = sandbox_server(demo_with(exchangeDenied=True))
    assert findings(server, "addin.deployment") == [(
        Status.ERROR, "sage-contact",
        "Could not read the organization's add-ins: Exchange Online, Get-App -OrganizationApp: 403 Forbidden: Get-App: "
        "The caller doesn't have the permissions to run this cmdlet: it needs Exchange.ManageAsApp and an Exchange "
        "administrator role.")]
    # Graph's parts are untouched by Exchange's refusal.
    assert [f.status for f in engine.evaluate(CONTOSO_TENANT, CATALOG, read(server), today=dt.date(2026, 11, 28)).findings
            if f.check == "addin.members"] == [Status.PASS, Status.PASS]


def test_a_tenant_needing_neither_sends_neither(demo_sandbox):
    fabrikam = dataclasses.replace(load_tenant(ROOT / "tenants" / "fabrikam.yaml"), connector=None)
    snapshot = read(demo_sandbox, fabrikam)
    assert (snapshot.organization_apps, snapshot.connectors) == (None, None)
    assert demo_sandbox.stats.snapshot()["requests"]["byTenantEndpoint"] == {
        FABRIKAM: {"GET /organization": 1, "POST /$batch": 1}}


GROUPS = "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups"
MEMBERS = "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectorGroups/{id}/members"


def test_a_declared_connector_group_reads_its_members(sandbox_server):
    raw = demo_with(connectorGroups=[
        {"id": "g1", "name": "Default", "members": []},
        {"id": "g2", "name": "SAGE 100", "members": ["10000000-0004-4000-8000-000000000001", "c2"]}])
    raw["tenants"][CONTOSO]["connectors"].append({"id": "c2", "machineName": "SAGE100-B", "status": "inactive"})
    server = sandbox_server(raw, page_size=1)
    tenant = dataclasses.replace(CONTOSO_TENANT, connector=ConnectorDeclaration(connector_group="Sage 100"))
    snapshot = read(server, tenant)
    assert [(c.id, c.group) for c in snapshot.connectors] == [
        ("10000000-0004-4000-8000-000000000001", "Sage 100"), ("c2", "Sage 100")]
    # Pages of one: 2 connectors, 2 groups, 2 members.
    assert [server.stats.requests(CONTOSO, e) for e in (CONNECTORS, GROUPS, MEMBERS)] == [2, 2, 2]
    result = engine.evaluate(tenant, CATALOG, snapshot, today=dt.date(2026, 11, 28))
    assert [(f.status, f.resource, f.message) for f in result.findings if f.check == "connector.status"] == [
        (Status.PASS, "Sage 100", "Connector on SAGE100-SRV.contoso.local is active (version 1.5.3437.0)")]


REFUSED = ("Graph beta /onPremisesPublishingProfiles/applicationProxy/connectors: 403 Authorization_RequestDenied: "
           "Insufficient privileges to complete the operation.")


def test_the_demo_refuses_fabrikams_connector_reads_as_graph_documents_for_app_only(demo_sandbox):
    # sandbox/demo.yaml: fabrikam's connectorsDenied, no sign-in of the connector app.
    fabrikam = load_tenant(ROOT / "tenants" / "fabrikam.yaml")
    snapshot = read(demo_sandbox, fabrikam)
    assert (snapshot.connectors, snapshot.errors[Part.CONNECTORS]) == (None, REFUSED)
    assert snapshot.connector_sign_in == SignInActivity("00000000-5a6e-4000-8000-000000000003", None)
    assert Part.CONNECTORS in snapshot.denied
    assert demo_sandbox.stats.snapshot()["requests"]["byTenantEndpoint"][FABRIKAM] == {
        "GET /organization": 1, "POST /$batch": 1, CONNECTORS: 1, SIGN_INS: 1}
    [finding] = [f for f in engine.evaluate(fabrikam, CATALOG, snapshot, today=dt.date(2026, 11, 28)).findings
                 if f.check == "connector.status"]
    assert (finding.status, finding.resource, finding.actual) == (Status.FAIL, "FAB-SAGE100", "no sign-in recorded")
    assert finding.message == (f"Could not read the connectors ({REFUSED}); fallback signal: the connector app has "
                               "no sign-in recorded")
    assert finding.remediation.startswith("Microsoft Graph refused the connector list to sage365's identity. "
                                          "Microsoft documents that it cannot be read with an application")


def test_every_connector_read_is_refused_with_graphs_own_403_body(sandbox_server):
    import httpx

    server = sandbox_server(demo_with(connectorsDenied=True, connectorGroups=[{"id": "g1", "name": "Sage", "members": []}]))
    headers = {"Authorization": f"Bearer sandbox.{CONTOSO}"}
    root = server.base_url.rstrip("/")[: -len("/v1.0")] + "/beta/onPremisesPublishingProfiles/applicationProxy"
    for path in ("/connectors", "/connectorGroups", "/connectorGroups/g1/members"):
        response = httpx.get(root + path, headers=headers)
        assert response.status_code == 403, path
        error = response.json()["error"]
        assert (error["code"], error["message"]) == (
            "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    # The sign-in activity report stays readable: Microsoft documents it for app-only (AuditLog.Read.All).
    signins = httpx.get(server.base_url.rstrip("/")[: -len("/v1.0")] + "/beta/reports/servicePrincipalSignInActivities",
                        headers=headers)
    assert signins.status_code == 200
    assert [r["appId"] for r in signins.json()["value"]] == ["00000000-5a6e-4000-8000-000000000003"]


def test_a_refused_read_without_the_fallback_app_is_refused_not_unreadable(sandbox_server):
    server = sandbox_server(demo_with(connectorsDenied=True))
    tenant = dataclasses.replace(CONTOSO_TENANT, connector=ConnectorDeclaration(machine_name="SAGE100-SRV",
                                                                                app="not-in-the-catalogue"))
    snapshot = read(server, tenant)
    assert (snapshot.errors[Part.CONNECTORS], snapshot.connector_sign_in) == (REFUSED, None)
    assert Part.CONNECTORS in snapshot.denied
    [finding] = [f for f in engine.evaluate(tenant, CATALOG, snapshot, today=dt.date(2026, 11, 28)).findings
                 if f.check == "connector.status"]
    assert finding.status is Status.ERROR
    assert finding.remediation.endswith("it needs the application permission AuditLog.Read.All for sage365's "
                                        "identity, and the connector app declared in spec.connector.app to be in "
                                        "the catalogue.")


def test_a_deployment_listing_users_by_smtp_address_matches_the_declared_upns(sandbox_server):
    """Get-App may list mailboxes by address: the batch's users read selects mail and
    proxyAddresses (no extra request), and addin.deployment matches on them."""
    raw = demo_with()
    users = raw["tenants"][CONTOSO]["users"]
    alice = next(u for u in users if u["userPrincipalName"] == "alice@contoso.fr")
    alice.update(mail="alice.martin@contoso.fr", proxyAddresses=["SMTP:alice.martin@contoso.fr", "smtp:am@contoso.fr"])
    raw["tenants"][CONTOSO]["organizationApps"][0]["UserList"] = ["Alice.Martin@contoso.fr", "bob@contoso.fr"]
    server = sandbox_server(raw)
    snapshot = read(server)
    assert snapshot.users["alice@contoso.fr"].addresses == ("alice.martin@contoso.fr", "am@contoso.fr")
    assert server.stats.requests(CONTOSO, "POST /$batch") == 1
    assert findings(server, "addin.deployment") == [
        (Status.PASS, "alice@contoso.fr", "alice@contoso.fr is provided Sage Contact"),
        (Status.PASS, "bob@contoso.fr", "bob@contoso.fr is provided Sage Contact"),
        (Status.PASS, "sage-contact", "Sage Contact 1.0.0.0 is deployed and enabled"),
    ]


def _rewritten(server, is_target, change):
    """A HostileServer in front of `server` that rewrites the JSON of the answers `is_target` picks."""
    from tests.hostile.server import HostileServer, Reply

    def rewrite(request, reply):
        return Reply(reply.status, json=change(json.loads(reply.body))) if is_target(request.path) else reply

    return HostileServer(upstream=server.base_url, rewrite=rewrite)


@pytest.mark.parametrize("group_id, what", [(None, "no id"), ("", "no id"), (7, "an id that is a number"),
                                            ({"id": "g2"}, "an id that is an object")],
                         ids=["missing", "empty", "number", "object"])
def test_a_matching_connector_group_without_a_string_id_is_unreadable_not_a_key_error(sandbox_server, group_id, what):
    """The error names the read that failed (the groups), not the connectors read before it."""
    server = sandbox_server(demo_with(connectorGroups=[{"id": "g2", "name": "Sage 100", "members": []}]))

    def change(page):
        [group] = page["value"]
        group.pop("id")
        return {**page, "value": [group if group_id is None else {**group, "id": group_id}]}

    tenant = dataclasses.replace(CONTOSO_TENANT, connector=ConnectorDeclaration(connector_group="Sage 100"))
    with _rewritten(server, lambda path: path.endswith("/connectorGroups"), change) as hostile:
        snapshot = read(hostile, tenant)
    assert (snapshot.connectors, snapshot.errors[Part.CONNECTORS]) == (None, (
        "Graph beta /onPremisesPublishingProfiles/applicationProxy/connectorGroups: 200 MalformedResponse: "
        f"the connector group named 'Sage 100' has {what}; its members were not read"))
    assert [r.path for r in hostile.requests if "/members" in r.path] == []


@pytest.mark.parametrize("activity, what", [
    ("2026-11-27T07:58:00Z", "lastSignInActivity is a string, not an object"),
    ([], "lastSignInActivity is a list, not an object"),
    ({"lastSignInDateTime": 1764230280}, "lastSignInActivity.lastSignInDateTime is a number, not a date and time"),
    ({"lastSignInDateTime": {}}, "lastSignInActivity.lastSignInDateTime is an object, not a date and time"),
], ids=["string", "list", "number", "object"])
def test_a_fallback_sign_in_of_the_wrong_shape_is_unreadable_never_never_signed_in(sandbox_server, activity, what):
    server = sandbox_server(demo_with(connectorsDenied=True))

    def change(page):
        return {**page, "value": [{**row, "lastSignInActivity": activity} for row in page["value"]]}

    with _rewritten(server, lambda path: path.endswith("/servicePrincipalSignInActivities"), change) as hostile:
        snapshot = read(hostile)
    assert (snapshot.connector_sign_in, snapshot.errors[Part.CONNECTORS]) == (None, (
        f"{REFUSED}; fallback /reports/servicePrincipalSignInActivities: 200 MalformedResponse: {what}; "
        "the sign-in was not read"))
    result = engine.evaluate(CONTOSO_TENANT, CATALOG, snapshot, today=dt.date(2026, 11, 28))
    assert [f.status for f in result.findings if f.check == "connector.status"] == [Status.ERROR]


def test_a_fallback_sign_in_of_null_is_never_signed_in(sandbox_server):
    server = sandbox_server(demo_with(connectorsDenied=True))

    def change(page):
        return {**page, "value": [{**row, "lastSignInActivity": {"lastSignInDateTime": None}} for row in page["value"]]}

    with _rewritten(server, lambda path: path.endswith("/servicePrincipalSignInActivities"), change) as hostile:
        snapshot = read(hostile)
    assert snapshot.connector_sign_in == SignInActivity("00000000-5a6e-4000-8000-000000000003", None)
