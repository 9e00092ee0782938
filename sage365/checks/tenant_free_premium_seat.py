"""tenant.free_premium_seat: informational: is an Entra ID P1/P2 seat free to assign?

It tells a partner whether the administrator's missing licence can be fixed by assigning
a seat already paid for (`assignFreeSeat`) rather than buying one. Never blocking.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error, listing
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.licensing import ENABLED, assignable_skus
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="tenant.free_premium_seat",
    title={
        "en": "An Entra ID P1/P2 seat is free to assign",
        "fr": "Une licence Entra ID P1/P2 est libre à attribuer",
    },
    severity=Severity.INFO,
    blocking=False,
    remediation={
        "en": "For information only. If the administrator needs a licence and no seat is free, buy one: "
        "Billing > Purchase services > Security > Microsoft Entra ID P1 in the Microsoft 365 admin centre.",
        "fr": "Pour information. Si l'administrateur a besoin d'une licence et qu'aucune n'est libre, achetez-en "
        "une : Facturation > Acheter des services > Sécurité > Microsoft Entra ID P1 dans le centre "
        "d'administration Microsoft 365.",
    },
    messages={
        "pass": {"en": "{free} Entra ID premium seat(s) free to assign",
                 "fr": "{free} licence(s) Entra ID premium libre(s) à attribuer"},
        "fail": {"en": "No Entra ID premium seat is free to assign",
                 "fr": "Aucune licence Entra ID premium n'est libre à attribuer"},
    },
)




def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    resource = tenant.primary_domain
    unreadable = first_error(snapshot, (Part.SUBSCRIBED_SKUS,))
    if unreadable:
        return [METADATA.error(tenant, resource, *unreadable, lang)]
    names = catalog.plan_names(tenant.administrator.licence.plans)
    expected = f"a SKU with {' or '.join(sorted(names))} and enabled units > consumed units"
    premium = [s for s in snapshot.subscribed_skus if any(p.service_plan_name in names for p in s.service_plans)]
    actual = listing(f"{s.sku_part_number} ({s.consumed_units}/{s.enabled_units} assigned"
                     f"{'' if s.capability_status == ENABLED else ', ' + s.capability_status})" for s in premium)
    free = sum(s.enabled_units - s.consumed_units for s in assignable_skus(snapshot, names))
    if free:
        return [METADATA.finding(tenant, Status.PASS, resource, "pass", lang,
                                 expected=expected, actual=actual, free=free)]
    return [METADATA.finding(tenant, Status.FAIL, resource, "fail", lang, expected=expected, actual=actual)]
