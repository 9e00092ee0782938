"""Adoption end to end: the gate reads a Graph sandbox tenant, the program imports what exists
(by the snapshot's ids, in pulumi-azuread's id formats) and plans only the real differences.

Tenants: woodgrove (sandbox/hand-associated.yaml), associated by hand with every object
present; contoso and northwind from sandbox/demo.yaml. Runs as an update and as a preview.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import components.gate
from components.program import main
from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.engine import read_tenant_sync
from tests.components.harness import TENANT_IDS, run_program
from tests.components.live import planned_differences

ROOT = Path(__file__).resolve().parents[2]
HAND = ROOT / "sandbox" / "hand-associated.yaml"
WOODGROVE = Path(__file__).parent / "fixtures" / "woodgrove.yaml"
WOODGROVE_ID = "44444444-4444-4444-8444-444444444444"
CATALOG = load_catalog(ROOT / "catalog" / "catalog.yaml")


def ids(digit: str, kind: str, n: int) -> str:
    return f"{digit}0000000-{kind}-4000-8000-{n:012d}"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(components.gate, "today", lambda: dt.date(2026, 5, 1))


def run(stack: str, server, *, tenant_file: Path | None = None, preview: bool = False):
    tenant = load_tenant(tenant_file or ROOT / "tenants" / f"{stack}.yaml")
    config = {"azuread:tenantId": tenant.tenant_id, "azuread:useOidc": "true", "sage365:graphUrl": server.base_url}
    if tenant_file:
        config["sage365:tenantFile"] = str(tenant_file)
    live = read_tenant_sync(tenant, CATALOG, graph_url=server.base_url)
    return run_program(main, stack=stack, config=config, preview=preview, live=live), live


def import_ids(result) -> dict[str, str]:
    return {r.name: r.import_id for r in result.resources if r.import_id}


def woodgrove_imports() -> dict[str, str]:
    graph, sbc, contact = ids("4", "0003", 0), ids("4", "0003", 1), ids("4", "0003", 2)
    group, emma, hugo = ids("4", "0002", 1), ids("4", "0001", 2), ids("4", "0001", 3)
    c = "woodgrove-consent"
    a = "woodgrove-addin-sage-contact"
    return {
        f"{c}-sage-business-center-sp": f"/servicePrincipals/{sbc}",
        f"{c}-sage-business-center-grant": "/oauth2PermissionGrants/V29vZGdyb3ZlLXNiYy1ncmFwaC1kZWxlZ2F0",
        f"{c}-sage-business-center-role-User.Read.All":
            f"/servicePrincipals/{graph}/appRoleAssignedTo/V29vZGdyb3ZlLXNiYy1Vc2VyUmVhZEFsbA",
        f"{c}-sage-contact-sp": f"/servicePrincipals/{contact}",
        # The tenant-wide grant, not emma's own consent (consentType Principal).
        f"{c}-sage-contact-grant": "/oauth2PermissionGrants/V29vZGdyb3ZlLWNvbnRhY3QtZ3JhcGgtZGVs",
        f"{a}-group": f"/groups/{group}",
        f"{a}-member-{emma}": f"{group}/member/{emma}",
        f"{a}-member-{hugo}": f"{group}/member/{hugo}",
        f"{a}-assignment": f"/servicePrincipals/{contact}/appRoleAssignedTo/V29vZGdyb3ZlLWNvbnRhY3QtZ3JvdXA",
    }


@pytest.mark.parametrize("preview", [False, True], ids=["up", "preview"])
def test_a_hand_associated_tenant_is_adopted_whole_with_nothing_to_change(sandbox_server, preview):
    server = sandbox_server(HAND)
    result, live = run("woodgrove", server, tenant_file=WOODGROVE, preview=preview)
    assert result.error is None
    assert import_ids(result) == woodgrove_imports()
    # Every Entra object of the declaration is imported; nothing is created but the provider.
    created = sorted(r.name for r in result.resources if r.custom and not r.import_id)
    assert created == ["woodgrove-azuread"]
    assert planned_differences(result, live) == {}
    assert result.logs == [("INFO", "tenant woodgrove: 9 object(s) that already exist in the tenant are adopted "
                                    "(imported), not created")]
    # The add-in's service principal keeps "assignment required": declared from the catalogue.
    sp = result.state[result.by_name["woodgrove-consent-sage-contact-sp"].urn]
    assert (sp["appRoleAssignmentRequired"], sp["accountEnabled"], "tags" in sp) == (True, True, False)
    # Members are keyed by object id, aliased from the former UPN-keyed names.
    member = result.by_name[f"woodgrove-addin-sage-contact-member-{ids('4', '0001', 2)}"]
    assert member.aliases == ("woodgrove-addin-sage-contact-member-emma@woodgrove.fr",)


def test_northwind_plans_only_its_real_differences(demo_sandbox):
    result, live = run("northwind", demo_sandbox)
    assert result.error is None
    graph, sbc, contact, group = ids("3", "0003", 0), ids("3", "0003", 1), ids("3", "0003", 2), ids("3", "0002", 1)
    claire, david = ids("3", "0001", 2), ids("3", "0001", 3)
    a = "northwind-addin-sage-contact"
    assert import_ids(result) == {
        "northwind-consent-sage-business-center-sp": f"/servicePrincipals/{sbc}",
        "northwind-consent-sage-business-center-grant": "/oauth2PermissionGrants/Tm9ydGh3aW5kLXNiYy1ncmFwaC1kZWxlZ2F0",
        "northwind-consent-sage-business-center-role-User.Read.All":
            f"/servicePrincipals/{graph}/appRoleAssignedTo/Tm9ydGh3aW5kLXNiYy1Vc2VyUmVhZEFsbA",
        "northwind-consent-sage-contact-sp": f"/servicePrincipals/{contact}",
        "northwind-consent-sage-contact-grant": "/oauth2PermissionGrants/Tm9ydGh3aW5kLWNvbnRhY3QtZ3JhcGgtZGVs",
        f"{a}-group": f"/groups/{group}",
        f"{a}-member-{claire}": f"{group}/member/{claire}",
        f"{a}-assignment": f"/servicePrincipals/{contact}/appRoleAssignedTo/Tm9ydGh3aW5kLWNvbnRhY3QtZ3JvdXA",
    }
    # The extra Mail.ReadWrite: the imported grant is then updated to the catalogue's scopes.
    assert planned_differences(result, live) == {"northwind-consent-sage-business-center-grant": ("claimValues",)}
    # david is not in the group yet: his member is the one thing created, under his object id.
    created = sorted(r.name for r in result.resources if r.custom and not r.import_id)
    assert created == sorted(["northwind-azuread", f"{a}-member-{david}"])
    assert result.state[result.by_name[f"{a}-member-{david}"].urn] == {"groupObjectId": group, "memberObjectId": david}


def test_contoso_adopts_everything_and_changes_nothing(demo_sandbox):
    result, live = run("contoso", demo_sandbox)
    assert result.error is None
    assert len(import_ids(result)) == 9
    assert planned_differences(result, live) == {}
    # The administrator already holds P1: no seat, so no UserLicense.
    assert "contoso-admin-licence" not in result.by_name


def test_a_consent_removed_from_the_yaml_says_what_stays_and_what_to_run(sandbox_server, tmp_path):
    server = sandbox_server(HAND)
    text = WOODGROVE.read_text()
    trimmed = tmp_path / "woodgrove.yaml"
    trimmed.write_text(text.replace("consents: [sage-business-center, sage-contact]", "consents: [sage-contact]"))
    result, _ = run("woodgrove", server, tenant_file=trimmed, preview=True)
    assert result.error is None
    urn = ("urn:pulumi:woodgrove::sage365::sage365:tenant:SageTenant$sage365:consent:Consent$"
           "azuread:index/servicePrincipal:ServicePrincipal::woodgrove-consent-sage-business-center-sp")
    assert result.messages("WARNING") == [
        f"tenant woodgrove: 'sage-business-center' is not in consents, but its service principal {ids('4', '0003', 1)} "
        "exists in the tenant. If this stack managed that consent, this update stops on its service principal, which "
        "is protected: nothing of that consent is deleted and the service principal stays in the tenant. To stop "
        f"managing it and leave the tenant as it is: pulumi state delete --force --target-dependents '{urn}' --stack "
        f"woodgrove. To revoke it in the tenant (every user loses the app): pulumi state unprotect '{urn}' --stack "
        "woodgrove, then pulumi up. If this stack never managed it, nothing changes."
    ]
    assert "woodgrove-consent-sage-business-center" not in result.by_name
    assert TENANT_IDS.get("woodgrove") is None  # a fixture tenant, not a shipped example
