"""Export's rules on tenants built for them: who is chosen as administrator, what becomes a
comment, what fails the tenant; each declaration validates and drift reports exactly what
its comments name."""

from __future__ import annotations

import copy

import pytest
import yaml

from sage365.sandbox import Faults
from sage365.sandbox.state import read_raw
from tests.onboarding.conftest import CATALOG, drift, export_args, not_passing
from tests.onboarding.test_export_roundtrip import named_in_comments
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE

EDGE = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
LONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
DUP = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
GA_ROLE = "62e90394-69f5-4237-9190-012177145e10"
P1_PLAN = {"servicePlanId": "41781fb2-bc02-4b7c-bd55-b576c07bb09d", "servicePlanName": "AAD_PREMIUM",
           "provisioningStatus": "Success", "appliesTo": "User"}
P1_SKU = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
ORG_NAME = 'Édge & Co: "Test" # 1'
GROUP_NAME = "Sage Contact: 'pilot' #1"


def user(n: int, upn: str, **extra) -> dict:
    return {"id": f"e0000000-0001-4000-8000-{n:012d}", "userPrincipalName": upn, "displayName": f"Person {n}",
            "accountEnabled": True, "usageLocation": "FR", **extra}


def org(tenant_id: str, name: str, initial: str, custom: str | None = None) -> list[dict]:
    domains = [{"name": initial, "isInitial": True, "isDefault": custom is None}]
    if custom:
        domains.append({"name": custom, "isInitial": False, "isDefault": True})
    return [{"id": tenant_id, "displayName": name, "verifiedDomains": domains}]


def edge_state() -> dict:
    """EDGE: a Global Administrator through a group on the custom domain beside a direct one on
    onmicrosoft.com; an add-in group of 25 (over the $expand limit) with a guest and a nested group.
    LONE: the only Global Administrator is blocked, unlicensed, without usageLocation; a P1 seat is free.
    DUP: two groups with the add-in's name."""
    demo = read_raw(DEMO_STATE)
    contoso = demo["tenants"][CONTOSO]
    sps = copy.deepcopy(contoso["servicePrincipals"])
    grants = copy.deepcopy(contoso["oauth2PermissionGrants"])
    roles = copy.deepcopy(contoso["appRoleAssignments"])
    spb = copy.deepcopy(contoso["subscribedSkus"])
    members = [user(100 + i, f"member{i:02d}@edge.fr") for i in range(24)]
    guest = user(200, "jo_gmail.com#EXT#@edge.onmicrosoft.com", userType="Guest")
    licence = [{"id": "lic-p1", "skuId": P1_SKU, "skuPartNumber": "AAD_PREMIUM", "servicePlans": [P1_PLAN]}]
    edge = {
        "organization": org(EDGE, ORG_NAME, "edge.onmicrosoft.com", "edge.fr"),
        "users": [user(1, "admin1@edge.onmicrosoft.com"), user(2, "boss@edge.fr"), *members, guest],
        "licenseDetails": {"admin1@edge.onmicrosoft.com": licence, "boss@edge.fr": licence},
        "subscribedSkus": spb,
        "servicePrincipals": sps, "oauth2PermissionGrants": grants, "appRoleAssignments": roles,
        "groups": [
            {"id": "e0000000-0002-4000-8000-000000000001", "displayName": "Admins", "securityEnabled": True,
             "isAssignableToRole": True, "members": ["e0000000-0001-4000-8000-000000000002"]},
            {"id": "e0000000-0002-4000-8000-000000000002", "displayName": "Accounting", "securityEnabled": True,
             "members": []},
            {"id": "e0000000-0002-4000-8000-000000000003", "displayName": GROUP_NAME, "securityEnabled": True,
             "members": [m["id"] for m in members] + [guest["id"], "e0000000-0002-4000-8000-000000000002"]},
        ],
        "roleAssignments": [
            {"id": "ra-1", "principalId": "e0000000-0001-4000-8000-000000000001", "roleDefinitionId": GA_ROLE, "directoryScopeId": "/"},
            {"id": "ra-2", "principalId": "e0000000-0002-4000-8000-000000000001", "roleDefinitionId": GA_ROLE, "directoryScopeId": "/"},
        ],
        "organizationApps": [{"AppId": "00000000-5a6e-4000-8000-0000000000a1", "DisplayName": "Sage Contact (example)",
                              "AppVersion": "1.0.0.0", "Enabled": True, "DefaultStateForUser": "Enabled",
                              "ProvidedTo": "SpecificUsers", "UserList": [m["userPrincipalName"] for m in members[:2]]}],
        # Two machines with an active connector, and a third machine's stopped one.
        "connectors": [
            {"id": "e0000000-0004-4000-8000-000000000003", "machineName": "OLD-SRV.edge.local", "status": "inactive",
             "version": "1.5.1.0"},
            {"id": "e0000000-0004-4000-8000-000000000002", "machineName": "SRV-B.edge.local", "status": "active",
             "version": "1.5.3437.0"},
            {"id": "e0000000-0004-4000-8000-000000000001", "machineName": "srv-a", "status": "active",
             "version": "1.5.3437.0"},
        ],
    }
    # The SBC's service principal is disabled; no Sage Contact; a free P1 seat, nothing compatible.
    lone_sp = [dict(sp) for sp in sps if sp["appId"] != "00000000-5a6e-4000-8000-000000000002"]
    for sp in lone_sp:
        if sp["appId"] == "00000000-5a6e-4000-8000-000000000001":
            sp["accountEnabled"] = False
    lone = {
        "organization": org(LONE, "Lone", "lone.onmicrosoft.com"),
        "users": [{"id": "d0000000-0001-4000-8000-000000000001", "userPrincipalName": "it@lone.onmicrosoft.com",
                   "displayName": "IT", "accountEnabled": False}],
        "subscribedSkus": [{"id": f"{LONE}_{P1_SKU}", "skuId": P1_SKU, "skuPartNumber": "AAD_PREMIUM",
                            "capabilityStatus": "Enabled", "consumedUnits": 0, "prepaidUnits": {"enabled": 1},
                            "servicePlans": [P1_PLAN]}],
        "servicePrincipals": lone_sp,
        "oauth2PermissionGrants": [g for g in grants if g["clientId"] == "10000000-0003-4000-8000-000000000001"],
        "appRoleAssignments": [],
        "roleAssignments": [{"id": "ra-1", "principalId": "d0000000-0001-4000-8000-000000000001",
                             "roleDefinitionId": GA_ROLE, "directoryScopeId": "/"}],
        "connectorsDenied": True,  # a read-only identity: Graph answers the connectors 403
    }
    dup = copy.deepcopy(contoso)
    dup["organization"][0].update(id=DUP, displayName="Dup")
    dup["groups"].append({**dup["groups"][0], "id": "10000000-0002-4000-8000-000000000009"})
    return {"applications": demo["applications"], "tenants": {EDGE: edge, LONE: lone, DUP: dup}}


@pytest.fixture
def exported(sandbox_server, cli, catalog, tmp_path):
    sandbox = sandbox_server(edge_state())
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-ids", "-"), input=f"{EDGE}\n{LONE} lone\n{DUP}\n")
    assert (done.exit_code, done.stderr) == (0, "")
    texts = {p.stem: p.read_text() for p in (tmp_path / "tenants").iterdir()}
    return texts, drift(tmp_path / "tenants", sandbox.base_url, catalog), cli("validate", str(tmp_path / "tenants"),
                                                                           "--catalog", str(CATALOG))


def test_every_edge_declaration_validates_and_drift_reports_what_the_comments_name(exported):
    texts, found, valid = exported
    assert valid.exit_code == 0, valid.stderr
    assert sorted(texts) == ["dup", "edge-co-test-1", "lone"]
    for name, text in texts.items():
        assert not_passing(found[name]) == named_in_comments(text), name
    assert named_in_comments(texts["edge-co-test-1"]) == {"addin.members", "addin.deployment"}
    assert named_in_comments(texts["lone"]) == {
        "admin.exists", "admin.premium_licence", "tenant.subscription", "consent.service_principal",
        "consent.app_roles"}
    assert named_in_comments(texts["dup"]) == set()


def test_the_administrator_through_a_group_on_the_custom_domain_is_chosen(exported):
    texts, _, _ = exported
    spec = yaml.safe_load(texts["edge-co-test-1"])["spec"]
    assert spec["administrator"] == {"userPrincipalName": "boss@edge.fr"}
    assert (spec["primaryDomain"], spec["domains"]) == ("edge.onmicrosoft.com", ["edge.fr"])
    assert '    # Holds Global Administrator through the role-assignable group "Admins"' in texts["edge-co-test-1"]


def test_names_from_graph_are_data_in_the_yaml(exported):
    texts, _, _ = exported
    text = texts["edge-co-test-1"]
    assert yaml.safe_load(text)["spec"]["addins"][0]["group"] == {"displayName": GROUP_NAME}
    assert '("Édge & Co: \\"Test\\" # 1")' in text.splitlines()[1]


def test_members_past_the_expand_limit_guests_and_nested_groups(exported):
    texts, _, _ = exported
    text = texts["edge-co-test-1"]
    addin = yaml.safe_load(text)["spec"]["addins"][0]
    assert addin["users"] == [f"member{i:02d}@edge.fr" for i in range(24)]
    assert ('      # Member "jo_gmail.com#EXT#@edge.onmicrosoft.com" cannot be declared (not a UPN on the tenant\'s '
            "verified domains, such as a guest): drift will report addin.members") in text
    assert ('      # Nested group "Accounting" is a member: its members are not declared (add-in members are direct '
            "members only; informational): drift will report addin.members") in text
    assert "      # sage-contact's Centralized Deployment: its users differ from the group's" in text


def test_a_blocked_unlicensed_administrator_is_declared_with_what_is_missing(exported):
    texts, _, _ = exported
    lines = texts["lone"].split("  administrator:\n", 1)[1].splitlines()[:5]
    assert lines == [
        "    # Sign-in is blocked for this administrator (accountEnabled false): drift will report admin.exists",
        "    # No Global Administrator holds an active Entra ID P1/P2 plan (1 found): drift will report admin.premium_licence",
        "    # A free P1/P2 seat exists in AAD_PREMIUM: set licence.assignFreeSeat: true to let `pulumi up` assign it",
        "    # This administrator has no usageLocation, which assigning a licence needs",
        "    userPrincipalName: it@lone.onmicrosoft.com",
    ]


def test_two_groups_with_the_add_in_s_name_are_not_declared(exported):
    texts, _, _ = exported
    assert "addins" not in yaml.safe_load(texts["dup"])["spec"]
    assert ('  # sage-contact: 2 groups are named "Sage Contact users"; drift cannot tell which assigns the add-in, '
            "so none is declared: rename all but one") in texts["dup"]


def test_connectors_several_active_machines_none_readable_and_one_active(exported):
    texts, found, _ = exported
    edge = texts["edge-co-test-1"]
    assert yaml.safe_load(edge)["spec"]["connector"] == {}
    assert edge.split("  connector: {}\n", 1)[0].splitlines()[-3:] == [
        '  # Active application proxy connector(s): "srv-a" (active, version "1.5.3437.0"), '
        '"SRV-B.edge.local" (active, version "1.5.3437.0")',
        '  # Also registered, inactive: "OLD-SRV.edge.local" (inactive, version "1.5.1.0")',
        "  # Several machines qualify: declared without machineName (any connector counts); set machineName to "
        "the Sage 100 server's",
    ]
    assert ("connector.status", "connector", "pass") in found["edge-co-test-1"]

    lone = texts["lone"]
    assert "connector" not in yaml.safe_load(lone)["spec"]
    assert lone.splitlines()[-1] == (
        '  # The application proxy connectors could not be read (Graph beta answered "403 Authorization_RequestDenied: '
        'Insufficient privileges to complete the operation."; see docs/exchange.md, Connectors): connector not '
        "declared, declare spec.connector by hand")
    assert [f for f in found["lone"] if f[0] == "connector.status"] == []

    assert yaml.safe_load(texts["dup"])["spec"]["connector"] == {"machineName": "SAGE100-SRV"}
    assert ("connector.status", "SAGE100-SRV", "pass") in found["dup"]


def test_an_unreadable_part_fails_that_tenant_and_writes_nothing(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(edge_state(), faults=Faults(deny={LONE: ["GET /subscribedSkus"]}))
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-ids", "-"), input=f"{EDGE}\n{LONE} lone\n")
    assert done.exit_code == 2
    assert done.stderr.splitlines()[0].startswith(
        f"sage365 export: {LONE}: cannot read the subscribed SKUs: 403 Authorization_RequestDenied")
    assert sorted(p.name for p in (tmp_path / "tenants").iterdir()) == ["edge-co-test-1.yaml"]


def test_an_add_in_group_named_on_the_command_line(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(edge_state())
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", EDGE, "--name", "edge",
                            "--addin-group", "Accounting"))
    assert done.exit_code == 0, done.stderr
    addin = yaml.safe_load((tmp_path / "tenants" / "edge.yaml").read_text())["spec"]["addins"]
    assert addin == [{"app": "sage-contact", "group": {"displayName": "Accounting"}, "users": []}]
