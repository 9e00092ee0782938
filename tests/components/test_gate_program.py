"""The preview gate inside the program, with the drift engine's read replaced by fixed
findings: what is logged, and that a blocked run registers nothing."""

from __future__ import annotations

import dataclasses

import components.gate
from components.program import main
from sage365.findings import Finding, Severity, Status, TenantResult
from sage365.snapshot import Part, ServicePlan, Snapshot, SubscribedSku, User
from tests.components.harness import run_program

TENANT_ID = "11111111-1111-4111-8111-111111111111"
# One identity for the gate and the provider (sage365.graph.identity): OIDC with a token file.
CONFIG = {"azuread:tenantId": TENANT_ID, "azuread:useOidc": "true",
          "azuread:clientId": "99999999-0000-4000-8000-000000000009", "azuread:oidcTokenFilePath": "/run/oidc/token"}
P1 = ServicePlan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "Success")
ADMIN = User("10000000-0001-4000-8000-000000000001", "admin@contoso.onmicrosoft.com", usage_location="FR")
AAD_P1 = SubscribedSku("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", "Enabled", 2, 1, (P1,))


def fake_read(findings: list[Finding], snapshot: Snapshot | None = None):
    snapshot = snapshot or Snapshot(tenant_id=TENANT_ID)

    def read(tenant, catalog, settings, today):
        return snapshot, TenantResult(tenant.name, tenant.tenant_id, tenant.path, tuple(findings))

    return read


def finding(check: str, status: Status, **kw) -> Finding:
    return Finding(tenant="contoso", check=check, status=status, severity=Severity.HIGH,
                   resource="admin@contoso.onmicrosoft.com", **kw)


NOT_GLOBAL_ADMIN = finding("admin.global_admin", Status.FAIL, message="not a Global Administrator",
                           remediation="assign the Global Administrator role")
MEMBER_MISSING = finding("addin.members", Status.FAIL, message="bob@contoso.fr is not in the group")


def test_blocking_finding_fails_the_run_with_log_error(monkeypatch):
    monkeypatch.setattr(components.gate, "_read_and_check", fake_read([NOT_GLOBAL_ADMIN, MEMBER_MISSING]))
    run = run_program(main, stack="contoso", config=CONFIG)
    assert run.messages("ERROR") == [
        "tenant contoso: check admin.global_admin failed for admin@contoso.onmicrosoft.com: "
        "not a Global Administrator. Remediation: assign the Global Administrator role"
    ]
    assert run.messages("WARNING") == [
        "tenant contoso: check addin.members failed for admin@contoso.onmicrosoft.com: bob@contoso.fr is not in the group"
    ]
    assert str(run.error) == (
        "tenant contoso: preview gate refused the run (1 blocking prerequisite(s) missing, "
        "see the errors above); nothing was registered"
    )
    assert run.resources == []


def test_non_blocking_drift_warns_and_registers(monkeypatch):
    monkeypatch.setattr(components.gate, "_read_and_check", fake_read([MEMBER_MISSING]))
    run = run_program(main, stack="contoso", config=CONFIG)
    assert run.error is None
    assert run.messages("ERROR") == []
    assert run.messages("WARNING") == [
        "tenant contoso: check addin.members failed for admin@contoso.onmicrosoft.com: bob@contoso.fr is not in the group"
    ]
    assert len(run.resources) == 14  # no free seat known: no licence
    assert "contoso-admin-licence" not in run.by_name


def test_free_seat_from_the_live_tenant_is_assigned(monkeypatch):
    missing = finding("admin.premium_licence", Status.FAIL, message="no P1/P2")
    snapshot = Snapshot(tenant_id=TENANT_ID, administrator=ADMIN, subscribed_skus=(AAD_P1,))
    monkeypatch.setattr(components.gate, "_read_and_check", fake_read([missing], snapshot))
    run = run_program(main, stack="contoso", config=CONFIG)
    assert run.error is None
    assert run.messages("ERROR") == []
    assert run.messages("WARNING") == ["tenant contoso: check admin.premium_licence failed for admin@contoso.onmicrosoft.com: no P1/P2"]
    licence = run.by_name["contoso-admin-licence-user-licence"]
    assert run.state[licence.urn]["skuId"] == AAD_P1.sku_id
    assert len(run.resources) == 16


def test_a_seat_for_an_administrator_without_usage_location_blocks_the_gate(monkeypatch):
    missing = finding("admin.premium_licence", Status.FAIL, message="no P1/P2")
    nowhere = dataclasses.replace(ADMIN, usage_location=None)
    snapshot = Snapshot(tenant_id=TENANT_ID, administrator=nowhere, subscribed_skus=(AAD_P1,))
    monkeypatch.setattr(components.gate, "_read_and_check", fake_read([missing], snapshot))
    run = run_program(main, stack="contoso", config=CONFIG)
    assert run.messages("ERROR") == [
        "tenant contoso: check admin.usage_location failed for admin@contoso.onmicrosoft.com: "
        "admin@contoso.onmicrosoft.com has no usage location: Microsoft Graph refuses to assign a licence to a user "
        "without one, so the Entra ID P1/P2 seat this update would assign cannot be assigned (expected: a usage "
        "location (two-letter country code, e.g. FR); actual: none). Remediation: In the Microsoft 365 admin centre: "
        "Users > Active users > admin@contoso.onmicrosoft.com > Account > Manage contact information > Country or "
        "region (or Entra admin centre > Users > admin@contoso.onmicrosoft.com > Properties > Usage location), then "
        "run the preview again.",
        # No seat can be assigned, so the missing licence is a stop again.
        "tenant contoso: check admin.premium_licence failed for admin@contoso.onmicrosoft.com: no P1/P2",
    ]
    assert str(run.error) == (
        "tenant contoso: preview gate refused the run (2 blocking prerequisite(s) missing, "
        "see the errors above); nothing was registered"
    )
    assert run.resources == []


def test_skip_gate_never_reads_the_tenant(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the gate read the tenant although skipGate is set")

    monkeypatch.setattr(components.gate, "_read_and_check", boom)
    run = run_program(main, stack="contoso", config=CONFIG | {"sage365:skipGate": "true"})
    assert run.error is None
    assert run.messages("WARNING") == [
        "tenant contoso: the preview gate is DISABLED by stack config sage365:skipGate; "
        "prerequisites (Global Administrator, Entra ID P1/P2, subscription) were not checked"
    ]


def test_a_gate_that_would_sign_in_as_another_identity_refuses_the_run(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the gate read the tenant although the identities disagree")

    monkeypatch.setattr(components.gate, "_read_and_check", boom)
    run = run_program(main, stack="contoso", config=CONFIG,
                      env={"AZURE_CLIENT_ID": "88888888-0000-4000-8000-000000000008"})
    assert run.messages("ERROR") == [
        "tenant contoso: the preview gate and the azuread provider would not sign in as one identity: AZURE_CLIENT_ID "
        "is 88888888-0000-4000-8000-000000000008 but the provider signs in as 99999999-0000-4000-8000-000000000009 "
        "(azuread:clientId or ARM_CLIENT_ID); set one client id"
    ]
    assert str(run.error) == ("tenant contoso: sign-in settings disagree (1 problem(s), see the errors above); "
                              "nothing was read or registered")
    assert run.resources == []


def test_the_gate_signs_in_with_the_providers_settings(monkeypatch):
    seen = {}

    def read(tenant, catalog, *, graph_url, credential):
        seen["credential"] = credential
        return Snapshot(tenant_id=TENANT_ID, errors={part: "not read in this test" for part in Part})

    monkeypatch.setattr(components.gate.engine, "read_tenant_sync", read)
    github = {"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "bearer", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/"}
    config = {k: v for k, v in CONFIG.items() if k != "azuread:oidcTokenFilePath"}
    run = run_program(main, stack="contoso", config=config, env=github)
    # GitHub's token request, as the provider uses it, for the stack's client id and tenant.
    credential = seen["credential"]
    assert type(credential.credential).__name__ == "ClientAssertionCredential"
    assert credential.tenant_id == TENANT_ID
    assert credential.credential._client._client_id == "99999999-0000-4000-8000-000000000009"
    assert str(run.error).startswith("tenant contoso: preview gate refused the run")  # nothing could be read
