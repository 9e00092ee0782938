"""sage365.gate: the preview gate's pure decisions (findings -> errors/warnings, SKU choice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage365.catalog import load_catalog
from sage365.findings import Finding, Severity, Status
from sage365.gate import GateDecision, decide, finding_message, premium_sku_to_assign
from sage365.snapshot import LicenceDetail, ServicePlan, Snapshot, SubscribedSku, User

ROOT = Path(__file__).resolve().parents[2]
BLOCKING = frozenset({"admin.exists", "admin.global_admin", "admin.premium_licence", "tenant.subscription"})
CATALOG = load_catalog(ROOT / "catalog/catalog.yaml")
P1 = ServicePlan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "Success")
P2 = ServicePlan("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2", "Success")
EXCHANGE = ServicePlan("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD", "Success")
ADMIN = User("admin-id", "admin@fabrikam.onmicrosoft.com")


def finding(check: str, status: Status, **kw) -> Finding:
    return Finding(tenant="fabrikam", check=check, status=status, severity=Severity.HIGH, resource=kw.pop("resource", "admin@fabrikam.onmicrosoft.com"), **kw)


LICENCE_FAIL = finding(
    "admin.premium_licence", Status.FAIL, expected="AAD_PREMIUM or AAD_PREMIUM_P2", actual="none",
    message="the administrator has no active Entra ID P1/P2 licence",
    remediation="buy Entra ID P1 and assign it to the administrator",
)


def test_message_names_tenant_check_and_remediation():
    assert finding_message(LICENCE_FAIL) == (
        "tenant fabrikam: check admin.premium_licence failed for admin@fabrikam.onmicrosoft.com: "
        "the administrator has no active Entra ID P1/P2 licence (expected: AAD_PREMIUM or AAD_PREMIUM_P2; "
        "actual: none). Remediation: buy Entra ID P1 and assign it to the administrator"
    )


def test_error_status_says_could_not_be_checked():
    f = finding("admin.exists", Status.ERROR, message="403 Forbidden", resource="")
    assert finding_message(f) == "tenant fabrikam: check admin.exists could not be checked: 403 Forbidden"


def test_blocking_failures_and_errors_block_other_drift_warns():
    drift = finding("addin.members", Status.FAIL, resource="david@northwind-traders.fr", message="missing")
    unreadable = finding("tenant.subscription", Status.ERROR, resource="", message="timeout")
    information = Finding("fabrikam", "tenant.free_premium_seat", Status.FAIL, Severity.INFO, "fabrikam.onmicrosoft.com")
    unreadable_information = Finding("fabrikam", "tenant.free_premium_seat", Status.ERROR, Severity.INFO, "x")
    findings = [
        information,
        unreadable_information,
        finding("admin.exists", Status.PASS),
        finding("admin.global_admin", Status.WAIVED),
        LICENCE_FAIL,
        unreadable,
        drift,
    ]
    assert decide(findings, BLOCKING) == GateDecision(
        errors=(finding_message(LICENCE_FAIL), finding_message(unreadable)),
        warnings=(finding_message(unreadable_information), finding_message(drift)),
    )


def test_a_licence_this_update_assigns_is_a_warning_not_a_stop():
    assert decide([LICENCE_FAIL], BLOCKING, licence_will_be_assigned=True) == GateDecision(
        errors=(), warnings=(finding_message(LICENCE_FAIL),)
    )


def test_compliant_tenant_passes():
    assert decide([finding(c, Status.PASS) for c in BLOCKING], BLOCKING) == GateDecision((), ())
    assert not decide([], BLOCKING).blocked


def sku(part: str, sku_id: str, enabled: int, consumed: int, plans, status: str = "Enabled") -> SubscribedSku:
    return SubscribedSku(sku_id, part, status, enabled, consumed, tuple(plans))


SPB = sku("SPB", "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", 10, 3, [P1, EXCHANGE])
AAD_P1 = sku("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4", 2, 1, [P1])
AAD_P1_FULL = sku("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4", 2, 2, [P1])
E1 = sku("STANDARDPACK", "18181a46-0d4e-45cd-891e-60aabd171b4e", 10, 1, [EXCHANGE])


@pytest.mark.parametrize(
    "skus, admin_licences, preferred, expected",
    [
        ((SPB, AAD_P1), (), None, AAD_P1.sku_id),  # the standalone SKU first
        ((SPB, AAD_P1), (), SPB.sku_id.upper(), SPB.sku_id),  # the pinned SKU, when it has a seat
        ((SPB, AAD_P1_FULL), (), AAD_P1.sku_id, SPB.sku_id),  # pinned but full: the next one
        ((AAD_P1_FULL, E1), (), None, None),  # no free seat carrying P1/P2
        ((sku("AAD_PREMIUM", AAD_P1.sku_id, 5, 0, [P1], "Suspended"),), (), None, None),
        ((SPB,), (LicenceDetail(SPB.sku_id, "SPB", (P1, EXCHANGE)),), None, None),  # already licensed
    ],
)
def test_premium_sku_to_assign(skus, admin_licences, preferred, expected):
    snapshot = Snapshot(tenant_id="t", administrator=ADMIN, administrator_licences=admin_licences, subscribed_skus=skus)
    assert premium_sku_to_assign(snapshot, CATALOG, ("P1", "P2"), preferred=preferred) == expected


def test_declared_plans_restrict_the_choice():
    snapshot = Snapshot(tenant_id="t", administrator=ADMIN, subscribed_skus=(AAD_P1,))
    assert premium_sku_to_assign(snapshot, CATALOG, ("P2",)) is None
    p2 = sku("AAD_PREMIUM_P2", "84a661c4-e949-4bd2-a560-ed7766fcaf2b", 1, 0, [P2, P1])
    both = Snapshot(tenant_id="t", administrator=ADMIN, subscribed_skus=(AAD_P1, p2))
    assert premium_sku_to_assign(both, CATALOG, ("P2",)) == p2.sku_id


def test_no_administrator_no_licence():
    assert premium_sku_to_assign(Snapshot(tenant_id="t", subscribed_skus=(AAD_P1,)), CATALOG, ("P1",)) is None


def test_a_seat_for_an_administrator_without_usage_location_is_its_own_blocking_finding():
    from sage365.gate import USAGE_LOCATION, licence_assignment_findings

    nowhere = Snapshot(tenant_id="t", administrator=ADMIN, subscribed_skus=(AAD_P1,))
    assert licence_assignment_findings("fabrikam", nowhere, None) == ()  # no seat to assign: nothing to say
    located = Snapshot(tenant_id="t", administrator=User(ADMIN.id, ADMIN.user_principal_name, usage_location="FR"))
    assert licence_assignment_findings("fabrikam", located, AAD_P1.sku_id) == ()
    [en] = licence_assignment_findings("fabrikam", nowhere, AAD_P1.sku_id)
    assert (en.check, en.status, en.severity, en.resource, en.actual) == (
        USAGE_LOCATION, Status.FAIL, Severity.HIGH, "admin@fabrikam.onmicrosoft.com", "none")
    [fr] = licence_assignment_findings("fabrikam", nowhere, AAD_P1.sku_id, lang="fr")
    assert fr.message == (
        "admin@fabrikam.onmicrosoft.com n'a pas d'emplacement d'utilisation : Microsoft Graph refuse d'attribuer une "
        "licence à un utilisateur qui n'en a pas, la licence Entra ID P1/P2 prévue par cette mise à jour ne peut donc "
        "pas être attribuée")
    assert fr.remediation.startswith("Dans le centre d'administration Microsoft 365 : Utilisateurs > Utilisateurs actifs")
    # Blocking in the gate's decision.
    assert decide([en], BLOCKING | {USAGE_LOCATION}).errors == (finding_message(en),)


def test_an_ambiguous_add_in_group_is_a_stop_and_other_group_errors_are_warnings():
    ambiguous = finding("addin.group", Status.ERROR, resource="Sage Contact users", expected="one group",
                        actual="ambiguous", message="2 groups are named 'Sage Contact users' ignoring case: "
                        "'Sage Contact users' (g-1), 'SAGE CONTACT USERS' (g-2); sage365 does not pick one")
    unreadable = finding("addin.group", Status.ERROR, resource="Sage Contact users", actual="unreadable",
                         message="Could not read groups: 504 GatewayTimeout")
    # addin.members reports the same ambiguity; addin.group's error is the one line that stops.
    members = finding("addin.members", Status.ERROR, resource="Sage Contact users", actual="ambiguous", message="m")
    decision = decide([ambiguous, unreadable, members], BLOCKING)
    assert decision == GateDecision(errors=(finding_message(ambiguous),),
                                    warnings=(finding_message(unreadable), finding_message(members)))
    assert finding_message(ambiguous) == (
        "tenant fabrikam: check addin.group could not be checked for Sage Contact users: 2 groups are named "
        "'Sage Contact users' ignoring case: 'Sage Contact users' (g-1), 'SAGE CONTACT USERS' (g-2); sage365 does not "
        "pick one (expected: one group; actual: ambiguous)")
