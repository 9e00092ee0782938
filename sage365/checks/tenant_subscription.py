"""tenant.subscription: the tenant has a Microsoft 365 subscription Sage's apps work on."""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error, listing
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot, SubscribedSku

METADATA = CheckMetadata(
    id="tenant.subscription",
    title={
        "en": "The tenant has a compatible Microsoft 365 subscription",
        "fr": "Le tenant a un abonnement Microsoft 365 compatible",
    },
    severity=Severity.HIGH,
    blocking=True,
    remediation={
        "en": "Buy or renew a compatible subscription (Microsoft 365 Business Standard or Business Premium, "
        "Microsoft 365 E3/E5, Office 365 E1/E3/E5) in the Microsoft 365 admin centre: Billing > "
        "Purchase services; a suspended one is reactivated under Billing > Your products.",
        "fr": "Achetez ou renouvelez un abonnement compatible (Microsoft 365 Business Standard ou Business "
        "Premium, Microsoft 365 E3/E5, Office 365 E1/E3/E5) dans le centre d'administration Microsoft 365 : "
        "Facturation > Acheter des services ; un abonnement suspendu se réactive sous Facturation > Vos produits.",
    },
    messages={
        "pass": {"en": "Compatible subscription found: {skus}",
                 "fr": "Abonnement compatible trouvé : {skus}"},
        "fail": {"en": "No enabled compatible Microsoft 365 subscription",
                 "fr": "Aucun abonnement Microsoft 365 compatible actif"},
    },
)


def describe(sku: SubscribedSku) -> str:
    return f"{sku.sku_part_number} ({sku.capability_status}, {sku.enabled_units} enabled)"


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    # The tenant itself is the resource; its primary domain names it readably.
    resource = tenant.primary_domain
    unreadable = first_error(snapshot, (Part.SUBSCRIBED_SKUS,))
    if unreadable:
        return [METADATA.error(tenant, resource, *unreadable, lang)]
    compatible = catalog.compatible_skus(tenant.subscription_skus)
    expected = f"one of {', '.join(compatible)} (Enabled, enabled units > 0)"
    usable = [
        s for s in snapshot.subscribed_skus
        if s.sku_part_number in compatible and s.capability_status == "Enabled" and s.enabled_units > 0
    ]
    if usable:
        actual = listing(describe(s) for s in usable)
        return [METADATA.finding(tenant, Status.PASS, resource, "pass", lang,
                                 expected=expected, actual=actual, skus=actual)]
    # Show every SKU the tenant has, so the partner sees what it bought instead.
    actual = listing(describe(s) for s in snapshot.subscribed_skus)
    return [METADATA.finding(tenant, Status.FAIL, resource, "fail", lang, expected=expected, actual=actual)]
