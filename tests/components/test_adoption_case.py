"""Adoption finds what the drift checks find: a hand-associated tenant whose objects differ from
the declaration only in case (Entra compares appIds, group display names and UPNs
case-insensitively), run through the real program under Pulumi's mock runtime.

The snapshot is woodgrove's (sandbox/hand-associated.yaml) as the gate reads it, then keyed and
spelled as the tenant's own objects are: appIds upper-case (as the Entra portal and PowerShell
print GUIDs; Graph itself answers appId lower-case), Graph's service principal only among the
service principals (the checks' fallback), the group's name in lower case, its members' UPNs
in another case, one declared user not read on its own (found as the group's member). The
catalogue names Sage Business Centre's application permission `user.read.all`, Graph
`User.Read.All`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

import components.gate
from components.adoption import AddinAdoption, plan
from components.program import main
from sage365 import engine
from sage365.catalog import MICROSOFT_GRAPH_APP_ID, load_catalog
from sage365.declaration import load_tenant
from sage365.engine import read_tenant_sync
from sage365.findings import Status
from sage365.snapshot import Snapshot
from tests.components.harness import run_program
from tests.components.live import planned_differences
from tests.components.test_adoption_sandbox import HAND, WOODGROVE, ids, import_ids, woodgrove_imports

ROOT = Path(__file__).resolve().parents[2]
CATALOG_FILE = ROOT / "catalog" / "catalog.yaml"
TENANT = load_tenant(WOODGROVE)
TODAY = dt.date(2026, 5, 1)
SBC_ROLE = "woodgrove-consent-sage-business-center-role-"


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory) -> Path:
    """The catalogue with Sage Business Centre's role in lower case (its manifest path made absolute)."""
    text = CATALOG_FILE.read_text()
    assert text.count("appRoles: [User.Read.All]") == 1
    text = text.replace("appRoles: [User.Read.All]", "appRoles: [user.read.all]")
    text = text.replace("manifest: addins/", f"manifest: {CATALOG_FILE.parent}/addins/")
    path = tmp_path_factory.mktemp("catalog") / "catalog.yaml"
    path.write_text(text)
    return path


def expected_imports() -> dict[str, str]:
    """woodgrove's imports; the role's resource is named by the catalogue's spelling."""
    imports = woodgrove_imports()
    imports[f"{SBC_ROLE}user.read.all"] = imports.pop(f"{SBC_ROLE}User.Read.All")
    return imports


def recased(snapshot: Snapshot) -> Snapshot:
    """The same objects, with the case of their names and keys as a hand association left them."""
    graph = snapshot.graph_service_principal
    assert graph is not None
    sps = {app_id.upper(): sp for app_id, sp in snapshot.service_principals.items()}
    sps[MICROSOFT_GRAPH_APP_ID.upper()] = graph
    (name, group), = snapshot.groups.items()
    members = tuple(dataclasses.replace(m, user_principal_name=m.user_principal_name.title()) for m in group.members)
    group = dataclasses.replace(group, display_name=name.lower(), members=members)
    # emma was read as a user, spelt Emma@Woodgrove.Fr; hugo was not (a member only).
    emma = snapshot.users["emma@woodgrove.fr"]
    users = {"Emma@Woodgrove.Fr": dataclasses.replace(emma, user_principal_name="Emma@Woodgrove.Fr")}
    return dataclasses.replace(snapshot, graph_service_principal=None, service_principals=sps,
                               groups={group.display_name: group}, users=users)


@pytest.fixture
def hand_recased(sandbox_server, monkeypatch, catalog_file):
    server = sandbox_server(HAND)
    catalog = load_catalog(catalog_file)
    assert catalog.apps["sage-business-center"].app_roles == ("user.read.all",)
    snapshot = recased(read_tenant_sync(TENANT, catalog, graph_url=server.base_url))
    monkeypatch.setattr(components.gate, "today", lambda: TODAY)
    monkeypatch.setattr(components.gate.engine, "read_tenant_sync", lambda *_a, **_k: snapshot)
    return server, snapshot, catalog


def test_the_checks_find_every_recased_object_present(hand_recased):
    _, snapshot, catalog = hand_recased
    findings = engine.evaluate(TENANT, catalog, snapshot, today=TODAY).findings
    judged = {(f.check, f.resource): f.status for f in findings
              if f.check in ("consent.service_principal", "consent.delegated_scopes", "consent.app_roles",
                             "addin.group", "addin.members")}
    assert judged == {
        ("consent.service_principal", "sage-business-center"): Status.PASS,
        ("consent.service_principal", "sage-contact"): Status.PASS,
        ("consent.delegated_scopes", "sage-business-center"): Status.PASS,
        ("consent.delegated_scopes", "sage-contact"): Status.PASS,
        ("consent.app_roles", "sage-business-center"): Status.PASS,
        ("consent.app_roles", "sage-contact"): Status.PASS,
        ("addin.group", "Sage Contact - Woodgrove"): Status.PASS,
        ("addin.members", "emma@woodgrove.fr"): Status.PASS,
        ("addin.members", "hugo@woodgrove.fr"): Status.PASS,
    }


def test_plan_imports_the_real_objects_and_keys_users_by_the_declared_upn(hand_recased):
    _, snapshot, catalog = hand_recased
    adoption = plan(TENANT, catalog, snapshot)
    group, emma, hugo = ids("4", "0002", 1), ids("4", "0001", 2), ids("4", "0001", 3)
    assert adoption.user_ids == {"emma@woodgrove.fr": emma, "hugo@woodgrove.fr": hugo}
    addin = adoption.addin("sage-contact")
    assert (addin.group, addin.group_name, dict(addin.members)) == (
        f"/groups/{group}", "sage contact - woodgrove", {emma: f"{group}/member/{emma}", hugo: f"{group}/member/{hugo}"})
    graph = ids("4", "0003", 0)
    assert dict(adoption.consent("sage-business-center").app_roles) == {
        "user.read.all": f"/servicePrincipals/{graph}/appRoleAssignedTo/V29vZGdyb3ZlLXNiYy1Vc2VyUmVhZEFsbA"}
    assert adoption.imports == 9


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_recased_hand_associated_tenant_is_adopted_and_nothing_is_created(hand_recased, catalog_file, preview):
    server, snapshot, _ = hand_recased
    config = {"azuread:tenantId": TENANT.tenant_id, "azuread:useOidc": "true", "sage365:graphUrl": server.base_url,
              "sage365:tenantFile": str(WOODGROVE), "sage365:catalogFile": str(catalog_file)}
    result = run_program(main, stack="woodgrove", config=config, preview=preview, live=snapshot)
    assert result.error is None
    # The real objects' ids, in the provider's formats: the same as for the tenant spelt as declared.
    assert import_ids(result) == expected_imports()
    created = sorted(r.name for r in result.resources if r.custom and not r.import_id)
    assert created == ["woodgrove-azuread"]
    # The group's name differs from the declaration only in case: its live spelling is
    # declared, so adopting it plans no change at all (no rename of the customer's group).
    assert planned_differences(result, snapshot) == {}
    group = result.state[result.by_name["woodgrove-addin-sage-contact-group"].urn]
    assert group["displayName"] == "sage contact - woodgrove"
    assert result.logs == [("INFO", "tenant woodgrove: 9 object(s) that already exist in the tenant are adopted "
                                    "(imported), not created")]
    # The role is assigned by Graph's id for User.Read.All, the one the imported assignment holds.
    role = result.state[result.by_name[f"{SBC_ROLE}user.read.all"].urn]
    assert role["appRoleId"] == "df021288-bdef-4463-88db-98f22de89214"
    # No user was looked up through the provider: every member's id came from the snapshot.
    assert [c for c in result.calls if c[0] == "azuread:index/getUser:getUser"] == []


OTHER_GROUP = "0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def with_a_second_group(snapshot: Snapshot) -> Snapshot:
    """The recased tenant plus another group bearing the add-in group's name in yet another case."""
    (name, group), = snapshot.groups.items()
    other = dataclasses.replace(group, id=OTHER_GROUP, display_name=name.upper(), members=())
    return dataclasses.replace(snapshot, groups={name: group, other.display_name: other})


def test_two_groups_matching_the_name_ignoring_case_are_never_adopted(hand_recased):
    _, snapshot, catalog = hand_recased
    adoption = plan(TENANT, catalog, with_a_second_group(snapshot))
    # Neither group, nor its members or assignment: only the consents' objects are adopted.
    assert adoption.addin("sage-contact") == AddinAdoption()
    assert adoption.imports == 5


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_two_groups_matching_the_name_ignoring_case_stop_the_gate_naming_both(hand_recased, catalog_file, monkeypatch,
                                                                             preview):
    server, snapshot, _ = hand_recased
    ambiguous = with_a_second_group(snapshot)
    monkeypatch.setattr(components.gate.engine, "read_tenant_sync", lambda *_a, **_k: ambiguous)
    config = {"azuread:tenantId": TENANT.tenant_id, "azuread:useOidc": "true", "sage365:graphUrl": server.base_url,
              "sage365:tenantFile": str(WOODGROVE), "sage365:catalogFile": str(catalog_file)}
    result = run_program(main, stack="woodgrove", config=config, preview=preview, live=ambiguous)
    group = ids("4", "0002", 1)
    assert result.messages("ERROR") == [
        "tenant woodgrove: check addin.group could not be checked for Sage Contact - Woodgrove: 2 groups are named "
        f"'Sage Contact - Woodgrove' ignoring case: 'SAGE CONTACT - WOODGROVE' ({OTHER_GROUP}), "
        f"'sage contact - woodgrove' ({group}); sage365 does not pick one (expected: one group; actual: ambiguous). "
        "Remediation: In the Entra admin centre (Groups > All groups), rename or delete every group named "
        "'Sage Contact - Woodgrove' but the add-in's assignment group, or declare a name no other group has, then "
        "run again."]
    assert "preview gate refused the run (1 blocking prerequisite(s) missing" in str(result.error)
    assert result.resources == []
