"""admin.premium_licence: the administrator holds an active Entra ID P1 or P2 service plan.

The plan may come from any SKU (standalone AAD_PREMIUM, or a suite such as Business
Premium or E5) and from a direct or group-based assignment: licenseDetails lists both.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error, listing
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.licensing import ACTIVE, holds_active_plan
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="admin.premium_licence",
    title={
        "en": "The administrator has an Entra ID P1 or P2 licence",
        "fr": "L'administrateur a une licence Entra ID P1 ou P2",
    },
    severity=Severity.HIGH,
    blocking=True,
    remediation={
        "en": "Buy Microsoft Entra ID P1 in the Microsoft 365 admin centre: Billing > Purchase services > "
        "Security > Microsoft Entra ID P1 (one licence is enough), then assign it to the administrator only "
        "(Users > Active users > the administrator > Licenses and apps).",
        "fr": "Achetez Microsoft Entra ID P1 dans le centre d'administration Microsoft 365 : Facturation > "
        "Acheter des services > Sécurité > Microsoft Entra ID P1 (une licence suffit), puis attribuez-la à "
        "l'administrateur uniquement (Utilisateurs > Utilisateurs actifs > l'administrateur > Licences et "
        "applications).",
    },
    messages={
        "pass": {"en": "{upn} has an active Entra ID premium plan",
                 "fr": "{upn} a un plan Entra ID premium actif"},
        "missing": {"en": "{upn} does not exist, so holds no Entra ID premium plan",
                    "fr": "{upn} n'existe pas et n'a donc aucun plan Entra ID premium"},
        "fail": {"en": "{upn} has no active Entra ID P1/P2 plan (Sage: \"no active Azure AD Premium licence\")",
                 "fr": "{upn} n'a aucun plan Entra ID P1/P2 actif (Sage : « no active Azure AD Premium licence »)"},
    },
)



def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    upn = tenant.administrator.user_principal_name
    unreadable = first_error(snapshot, (Part.ADMINISTRATOR, Part.ADMINISTRATOR_LICENCES))
    if unreadable:
        return [METADATA.error(tenant, upn, *unreadable, lang)]
    names = catalog.plan_names(tenant.administrator.licence.plans)
    expected = f"{' or '.join(sorted(names))} with provisioningStatus {ACTIVE}"
    if snapshot.administrator is None:
        return [METADATA.finding(tenant, Status.FAIL, upn, "missing", lang,
                                 expected=expected, actual="administrator not found", upn=upn)]
    plans = [
        (plan, detail.sku_part_number)
        for detail in snapshot.administrator_licences
        for plan in detail.service_plans
        if plan.service_plan_name in names
    ]
    actual = listing(f"{p.service_plan_name} ({p.provisioning_status}) in {sku}" for p, sku in plans)
    active = holds_active_plan(snapshot, names)
    return [METADATA.finding(tenant, Status.PASS if active else Status.FAIL, upn, "pass" if active else "fail",
                             lang, expected=expected, actual=actual, upn=upn)]
