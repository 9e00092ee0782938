"""Every check against its fixture files: the exact findings, waivers, languages, registry."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from sage365.checks import BLOCKING, CHECKS, METADATA, result, run_checks
from sage365.checks.base import LANGUAGES
from sage365.checks.ids import CHECK_IDS
from sage365.declaration import Waiver
from sage365.findings import Severity, Status, TenantStatus
from tests.checks.loader import FIXTURES, catalog, load_case, snapshot, tenant

CASES = sorted(p for p in FIXTURES.glob("*.*/*.yaml") if p.parent.name in CHECK_IDS)
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "tenant.schema.json"


def findings_of(case, *, tenant_=None, today=None, lang=None):
    found = run_checks(tenant_ or case.tenant, catalog(), case.snapshot,
                       today=today or case.today, lang=lang or case.lang)
    return tuple(f for f in found if f.check == case.check)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture_gives_exact_findings(path: Path) -> None:
    case = load_case(path)
    assert findings_of(case) == case.expected


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_every_check_has_pass_fail_and_error_fixtures(check_id: str) -> None:
    folder = FIXTURES / check_id
    assert {"pass.yaml", "fail.yaml", "error.yaml"} <= {p.name for p in folder.iterdir()}
    statuses = {s: {f.status for f in load_case(folder / f"{s}.yaml").expected} for s in ("pass", "fail", "error")}
    assert statuses["pass"] == {Status.PASS} and statuses["error"] == {Status.ERROR}
    assert Status.FAIL in statuses["fail"] <= {Status.FAIL, Status.PASS}


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_waiver_active_then_expired(check_id: str) -> None:
    case = load_case(FIXTURES / check_id / "fail.yaml")
    waiver = Waiver(check=check_id, reason="accepted by the customer", expires=dt.date(2026, 6, 30))
    waived_tenant = replace(case.tenant, waivers=(waiver,))

    active = findings_of(case, tenant_=waived_tenant, today=dt.date(2026, 6, 30))
    assert active == tuple(
        replace(f, status=Status.WAIVED, message=f"{f.message} (waived until 2026-06-30: accepted by the customer)")
        if f.status is Status.FAIL else f
        for f in case.expected
    )
    # The day after expiry the failures are back, exactly as without a waiver.
    assert findings_of(case, tenant_=waived_tenant, today=dt.date(2026, 7, 1)) == case.expected


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_errors_are_never_waived(check_id: str) -> None:
    case = load_case(FIXTURES / check_id / "error.yaml")
    waiver = Waiver(check=check_id, reason="accepted by the customer", expires=dt.date(2030, 1, 1))
    assert findings_of(case, tenant_=replace(case.tenant, waivers=(waiver,))) == case.expected


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_french_metadata_and_messages(check_id: str) -> None:
    meta = METADATA[check_id]
    for text in (meta.title, meta.remediation, *meta.messages.values()):
        assert set(text) == set(LANGUAGES) and text["fr"] and text["fr"] != text["en"]
    case = load_case(FIXTURES / check_id / "fail.yaml")
    english, french = findings_of(case, lang="en"), findings_of(case, lang="fr")
    assert [f.remediation for f in french] == [
        meta.remediation["fr"] if f.status is Status.FAIL else "" for f in english]
    assert all(fr.message != en.message for fr, en in zip(french, english, strict=True))
    # Expected and actual stay technical values, the same in every language.
    assert [(f.expected, f.actual) for f in french] == [(f.expected, f.actual) for f in english]


def test_premium_licence_remediation_says_where_to_buy_p1() -> None:
    assert METADATA["admin.premium_licence"].remediation["en"] == (
        "Buy Microsoft Entra ID P1 in the Microsoft 365 admin centre: Billing > Purchase services > "
        "Security > Microsoft Entra ID P1 (one licence is enough), then assign it to the administrator only "
        "(Users > Active users > the administrator > Licenses and apps)."
    )


def test_whole_tenant_in_order_and_informational_failure_is_not_drift() -> None:
    data = yaml.safe_load((FIXTURES / "tenant" / "compliant.yaml").read_text(encoding="utf-8"))
    declared = tenant(data["tenant"])
    outcome = result(declared, catalog(), snapshot(data["snapshot"], declared.tenant_id), today=dt.date(2026, 6, 1))
    assert [[f.check, f.resource, f.status.value] for f in outcome.findings] == data["expected"]
    assert (outcome.name, outcome.tenant_id, outcome.path) == (
        "contoso", "11111111-1111-4111-8111-111111111111", str(FIXTURES / "tenants" / "contoso.yaml"))
    assert outcome.status is TenantStatus.COMPLIANT


def test_a_nested_group_in_the_add_in_group_is_a_warning_not_drift() -> None:
    data = yaml.safe_load((FIXTURES / "tenant" / "compliant.yaml").read_text(encoding="utf-8"))
    declared = tenant(data["tenant"])
    for group in data["snapshot"]["groups"]:
        group["nestedGroups"] = ["Sales West"]
    outcome = result(declared, catalog(), snapshot(data["snapshot"], declared.tenant_id), today=dt.date(2026, 6, 1))
    nested = [f for f in outcome.findings if f.resource == "Sales West"]
    assert [(f.check, f.status, f.severity) for f in nested] == [("addin.members", Status.FAIL, Severity.INFO)]
    assert outcome.status is TenantStatus.COMPLIANT


def test_registry() -> None:
    assert tuple(c.METADATA.id for c in CHECKS) == CHECK_IDS == tuple(METADATA)
    assert BLOCKING == {"admin.exists", "admin.global_admin", "admin.premium_licence", "tenant.subscription"}
    assert METADATA["tenant.free_premium_seat"].severity.value == "info"
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["checkId"]["enum"]) == CHECK_IDS


def test_unknown_language_is_refused() -> None:
    case = load_case(FIXTURES / "admin.exists" / "pass.yaml")
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        run_checks(case.tenant, catalog(), case.snapshot, today=case.today, lang="de")


def test_empty_snapshot_fails_or_errors_never_passes() -> None:
    """A snapshot with every part unreadable yields only errors, one per resource."""
    declared = tenant("contoso.yaml")
    unreadable = snapshot({"errors": {p: "401 Unauthorized" for p in (
        "administrator", "administratorLicences", "globalAdministrators", "subscribedSkus",
        "servicePrincipals", "oauth2PermissionGrants", "appRoleAssignments", "groups", "organizationApps",
        "connectors")}}, declared.tenant_id)
    outcome = result(declared, catalog(), unreadable, today=dt.date(2026, 6, 1))
    assert {f.status for f in outcome.findings} == {Status.ERROR}
    assert len(outcome.findings) == 14
    assert outcome.status is TenantStatus.ERROR


@pytest.mark.parametrize("name", ["error.yaml", "error_fallback_seen.yaml", "fail_fallback_never.yaml",
                                  "error_refused_no_fallback.yaml"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_connector_remediation_never_advises_granting_readwrite_to_the_app(name: str, lang: str) -> None:
    # Microsoft documents Application: Not supported for the connector reads: Directory.ReadWrite.All
    # (directory-wide write) would not make them work. The only grant advised is AuditLog.Read.All.
    [finding] = findings_of(load_case(FIXTURES / "connector.status" / name), lang=lang)
    remediation = finding.remediation
    assert "OnPremisesPublishingProfiles" not in remediation
    assert remediation.count("Directory.ReadWrite.All") == (1 if "fallback" in name else 0)
    assert ("ne lui accordez pas Directory.ReadWrite.All" if lang == "fr" else
            "do not grant it Directory.ReadWrite.All") in remediation or "fallback" not in name
    assert ("AuditLog.Read.All" in remediation) == (name == "error_refused_no_fallback.yaml")


def test_connector_refused_remediation_in_french() -> None:
    [finding] = findings_of(load_case(FIXTURES / "connector.status" / "error_refused_no_fallback.yaml"), lang="fr")
    assert finding.remediation == (
        "Microsoft Graph a refusé la liste des connecteurs à l'identité de sage365. Microsoft documente qu'elle ne "
        "peut pas être lue par une identité d'application (sans utilisateur), le mode de sage365 : aucune permission à "
        "accorder à sage365 n'y remédie, ne lui accordez pas Directory.ReadWrite.All pour cela. sage365 s'est rabattu "
        "sur l'activité de connexion de l'application du connecteur, qui ne prouve jamais que le connecteur est actif. "
        "Vérifiez le connecteur vous-même : le centre d'administration Entra > Accès sécurisé global > Connecter > "
        "Connecteurs (ou Applications d'entreprise > Proxy d'application) affiche son état ; sur le serveur Sage 100, "
        "le service Windows « Microsoft Entra private network connector » doit être démarré. Le signal de repli n'a "
        "pas pu être lu non plus : il faut la permission d'application AuditLog.Read.All pour l'identité de sage365, "
        "et l'application du connecteur déclarée dans spec.connector.app au catalogue.")
