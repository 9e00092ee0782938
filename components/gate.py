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
from sage365.graph import identity
from sage365.snapshot import Part, Snapshot

GRAPH_URL_ENV = "SAGE365_GRAPH_URL"  # the sandbox, as for `sage365 drift`


# The provider's sign-in settings in stack config (`azuread:<key>`), read for the gate too.
AUTH_KEYS = ("clientId", "useOidc", "useMsi", "useCli", "oidcToken", "oidcTokenFilePath", "oidcRequestToken",
             "oidcRequestUrl", "clientCertificatePath", "clientCertificatePassword", "useAksWorkloadIdentity")


@dataclass(frozen=True)
class GateSettings:
    skip: bool = False  # stack config sage365:skipGate, for emergencies only
    graph_url: str | None = None  # None: the real Microsoft Graph
    premium_sku_id: str | None = None  # stack config sage365:premiumSkuId
    # Stack config sage365:deployAddins: deploy the declared add-ins through Exchange Online
    # (components.addin_deployment); sage365:exchangeUrl or the sandbox beside graphUrl.
    deploy_addins: bool = False
    exchange_url: str | None = None
    # How the azuread provider signs in: the gate signs in the same way (real Graph only).
    auth: identity.ProviderAuth = identity.ProviderAuth()

    @classmethod
    def from_config(cls, config: pulumi.Config, azuread_config: pulumi.Config | None = None) -> GateSettings:
        azuread_config = azuread_config or pulumi.Config("azuread")
        graph_url = config.get("graphUrl") or os.environ.get(GRAPH_URL_ENV) or None
        return cls(
            skip=bool(config.get_bool("skipGate")),
            graph_url=graph_url,
            premium_sku_id=(config.get("premiumSkuId") or "").lower() or None,
            deploy_addins=bool(config.get_bool("deployAddins")),
            exchange_url=_exchange_url(config.get("exchangeUrl"), graph_url),
            auth=identity.resolve({k: azuread_config.get(k) for k in AUTH_KEYS}, os.environ),
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

    if settings.graph_url is None:
        # The gate reads the tenant as the provider will write it: one identity, or no run.
        wrong = identity.problems(settings.auth, os.environ, tenant.tenant_id)
        for problem in wrong:
            pulumi.log.error(f"tenant {tenant.name}: the preview gate and the azuread provider would not sign in "
                             f"as one identity: {problem}")
        if wrong:
            raise pulumi.RunError(f"tenant {tenant.name}: sign-in settings disagree ({len(wrong)} problem(s), see the "
                                  "errors above); nothing was read or registered")
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
    Against real Graph the credential is the provider's (sage365.graph.identity); the
    sandbox (graph_url) takes its own per-tenant token.
    """
    credential = identity.credential(settings.auth, tenant.tenant_id) if settings.graph_url is None else None
    try:
        snapshot = engine.read_tenant_sync(tenant, catalog, graph_url=settings.graph_url, credential=credential)
    finally:
        if credential is not None:
            close = getattr(credential.credential, "close", None)
            if close is not None:
                close()
    return snapshot, engine.evaluate(tenant, catalog, snapshot, today=on)
