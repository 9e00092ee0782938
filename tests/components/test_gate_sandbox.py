"""The preview gate end to end: the program reads the Graph sandbox (sandbox/demo.yaml, the
shared `demo_sandbox` fixture of tests/conftest.py, fresh per test)
through the real drift engine and checks, then registers or refuses under mocks."""

from __future__ import annotations

import datetime as dt

import pytest

import components.gate
from components.program import main
from tests.components.harness import TENANT_IDS, run_program


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    # northwind's waiver expires on 2027-06-30: judge it on a fixed day.
    monkeypatch.setattr(components.gate, "today", lambda: dt.date(2026, 5, 1))


def config(stack: str, sandbox) -> dict[str, str]:
    return {"azuread:tenantId": TENANT_IDS[stack], "azuread:useOidc": "true", "sage365:graphUrl": sandbox.base_url}


FABRIKAM_NO_P1 = (
    "tenant fabrikam: check admin.premium_licence failed for admin@fabrikam.onmicrosoft.com: "
    'admin@fabrikam.onmicrosoft.com has no active Entra ID P1/P2 plan (Sage: "no active Azure AD Premium '
    'licence") (expected: AAD_PREMIUM or AAD_PREMIUM_P2 with provisioningStatus Success; actual: none). '
    "Remediation: Buy Microsoft Entra ID P1 in the Microsoft 365 admin centre: Billing > Purchase services > "
    "Security > Microsoft Entra ID P1 (one licence is enough), then assign it to the administrator only "
    "(Users > Active users > the administrator > Licenses and apps)."
)


def test_fabrikam_without_p1_fails_the_preview(demo_sandbox):
    run = run_program(main, stack="fabrikam", config=config("fabrikam", demo_sandbox))
    assert run.messages("ERROR") == [FABRIKAM_NO_P1]
    # No free seat is a fact (severity info), not drift. The connector list, refused to the app-only
    # identity as Microsoft documents, fails through the fallback: drift, a warning only.
    assert run.messages("WARNING") == [
        "tenant fabrikam: check connector.status failed for FAB-SAGE100: Could not read the connectors (Graph beta "
        "/onPremisesPublishingProfiles/applicationProxy/connectors: 403 Authorization_RequestDenied: Insufficient "
        "privileges to complete the operation.); fallback signal: the connector app has no sign-in recorded "
        "(expected: active; actual: no sign-in recorded). Remediation: Microsoft Graph refused the connector list "
        "to sage365's identity. Microsoft documents that it cannot be read with an application (app-only) "
        "identity, which is how sage365 runs, so no permission to grant to sage365 fixes this: do not grant it "
        "Directory.ReadWrite.All for it. sage365 used the connector app's sign-in activity instead, which never "
        "proves the connector is active. Check the connector yourself: Entra admin centre > Global Secure Access > "
        "Connect > Connectors (or Enterprise applications > Application proxy) shows its status; on the Sage 100 "
        "server, the Windows service \"Microsoft Entra private network connector\" must be running."]
    assert str(run.error) == (
        "tenant fabrikam: preview gate refused the run (1 blocking prerequisite(s) missing, "
        "see the errors above); nothing was registered"
    )
    assert run.resources == []


def test_compliant_contoso_registers_everything(demo_sandbox):
    run = run_program(main, stack="contoso", config=config("contoso", demo_sandbox))
    assert run.error is None
    # Associated by hand in the demo: everything but david's membership exists and is adopted.
    assert run.logs == [("INFO", "tenant contoso: 9 object(s) that already exist in the tenant are adopted "
                                 "(imported), not created")]
    # The administrator already holds P1 through Business Premium: no licence to assign.
    assert sorted(r.name for r in run.resources) == sorted([
        "contoso-azuread", "contoso",
        "contoso-consent-sage-business-center", "contoso-consent-sage-business-center-sp",
        "contoso-consent-sage-business-center-grant", "contoso-consent-sage-business-center-role-User.Read.All",
        "contoso-consent-sage-contact", "contoso-consent-sage-contact-sp", "contoso-consent-sage-contact-grant",
        "contoso-addin-sage-contact", "contoso-addin-sage-contact-group",
        # members keyed by the users' object ids, as the gate read them
        "contoso-addin-sage-contact-member-10000000-0001-4000-8000-000000000002",
        "contoso-addin-sage-contact-member-10000000-0001-4000-8000-000000000003",
        "contoso-addin-sage-contact-assignment",
    ])
    assert run.stack_outputs["summary"]["administratorLicenceSkuId"] is None


def test_northwind_drift_warns_and_registers(demo_sandbox):
    run = run_program(main, stack="northwind", config=config("northwind", demo_sandbox))
    assert run.error is None
    assert run.messages("ERROR") == []
    assert [m.split(":")[1].strip() for m in run.messages("WARNING")] == [
        "check consent.delegated_scopes failed for sage-business-center",
        "check addin.members failed for david@northwind-traders.fr",
        "check addin.deployment failed for david@northwind-traders.fr",
        "check connector.status failed for NW-SAGE100",
    ]
    assert len(run.resources) == 14


def test_graph_url_from_the_environment(demo_sandbox, monkeypatch):
    monkeypatch.setenv("SAGE365_GRAPH_URL", demo_sandbox.base_url)
    cfg = {k: v for k, v in config("fabrikam", demo_sandbox).items() if k != "sage365:graphUrl"}
    run = run_program(main, stack="fabrikam", config=cfg)
    assert run.messages("ERROR") == [FABRIKAM_NO_P1]
    assert run.resources == []
