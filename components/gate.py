"""The preview gate, Pulumi side: read the live tenant, log, and refuse a doomed run.

sage365.gate decides; this module does the I/O (the drift engine's Graph reads) and the
Pulumi logging. It runs before any resource is registered, during preview and up alike,
so a tenant missing a blocking prerequisite turns the pull request's preview red.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import pulumi

from sage365 import engine, gate
from sage365.catalog import Catalog
from sage365.checks import BLOCKING
from sage365.declaration import Tenant
from sage365.findings import TenantResult
from sage365.snapshot import Part, Snapshot

GRAPH_URL_ENV = "SAGE365_GRAPH_URL"  # the sandbox, as for `sage365 drift`


@dataclass(frozen=True)
class GateSettings:
    skip: bool = False  # stack config sage365:skipGate, for emergencies only
    graph_url: str | None = None  # None: the real Microsoft Graph
    premium_sku_id: str | None = None  # stack config sage365:premiumSkuId
    # Stack config sage365:deployAddins: deploy the declared add-ins through Exchange Online
    # (components.addin_deployment); sage365:exchangeUrl or the sandbox beside graphUrl.
    deploy_addins: bool = False
    exchange_url: str | None = None

    @classmethod
    def from_config(cls, config: pulumi.Config) -> GateSettings:
        return cls(
            skip=bool(config.get_bool("skipGate")),
            graph_url=config.get("graphUrl") or os.environ.get(GRAPH_URL_ENV) or None,
            premium_sku_id=(config.get("premiumSkuId") or "").lower() or None,
            deploy_addins=bool(config.get_bool("deployAddins")),
            exchange_url=_exchange_url(config.get("exchangeUrl"), config.get("graphUrl") or os.environ.get(GRAPH_URL_ENV)),
        )


@dataclass(frozen=True)
class GateOutcome:
    premium_sku_id: str | None  # the SKU to assign the administrator, or None
    # What the gate read: the ids of existing objects, for adoption. None when the gate was skipped.
    snapshot: Snapshot | None = None


def _exchange_url(explicit: str | None, graph_url: str | None) -> str | None:
    from sage365.exchange.client import exchange_url_from

    return exchange_url_from(explicit, graph_url)


def today() -> dt.date:
    """The date waivers are judged on (a function, so tests can fix it)."""
    return dt.date.today()


def run_gate(tenant: Tenant, catalog: Catalog, settings: GateSettings) -> GateOutcome:
    """Log the gate's verdict; raise pulumi.RunError when a blocking prerequisite is missing.

    Also chooses the administrator's premium SKU: from the live tenant when the gate reads
    it, else the pinned stack config (the gate skipped).
    """
    allowed = tenant.administrator.licence.assign_free_seat
    if settings.skip:
        pulumi.log.warn(
            f"tenant {tenant.name}: the preview gate is DISABLED by stack config sage365:skipGate; "
            "prerequisites (Global Administrator, Entra ID P1/P2, subscription) were not checked"
        )
        return GateOutcome(settings.premium_sku_id if allowed else None)

    snapshot, result = _read_and_check(tenant, catalog, settings, today())
    sku = None
    if allowed and not snapshot.error(Part.ADMINISTRATOR, Part.ADMINISTRATOR_LICENCES, Part.SUBSCRIBED_SKUS):
        sku = gate.premium_sku_to_assign(
            snapshot, catalog, tenant.administrator.licence.plans, preferred=settings.premium_sku_id
        )
    # A seat that cannot be assigned (no usage location) is no seat: the missing licence stays a stop too.
    blocked_seat = gate.licence_assignment_findings(tenant.name, snapshot, sku)
    if blocked_seat:
        sku = None
    decision = gate.decide((*blocked_seat, *result.findings), BLOCKING | {gate.USAGE_LOCATION},
                           licence_will_be_assigned=sku is not None, deploying_addins=settings.deploy_addins)
    for warning in decision.warnings:
        pulumi.log.warn(warning)
    for error in decision.errors:
        pulumi.log.error(error)
    if decision.blocked:
        raise pulumi.RunError(
            f"tenant {tenant.name}: preview gate refused the run ({len(decision.errors)} blocking "
            "prerequisite(s) missing, see the errors above); nothing was registered"
        )
    return GateOutcome(sku, snapshot)


def _read_and_check(
    tenant: Tenant, catalog: Catalog, settings: GateSettings, on: dt.date
) -> tuple[Snapshot, TenantResult]:
    """The live tenant read once through the drift engine, and its findings.

    engine.check_tenant would read the same snapshot but not return it; the gate also
    needs it to choose the licence's SKU, so it calls the engine's two halves itself.
    The engine picks the credential from the environment, bound to this tenant.
    """

    snapshot = engine.read_tenant_sync(tenant, catalog, graph_url=settings.graph_url)
    return snapshot, engine.evaluate(tenant, catalog, snapshot, today=on)
