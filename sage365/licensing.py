"""Entra ID premium licensing facts read off a snapshot, shared by the checks and the gate."""

from __future__ import annotations

from sage365.snapshot import Snapshot, SubscribedSku

ACTIVE = "Success"  # provisioningStatus of a plan that works; Disabled, PendingInput... do not
ENABLED = "Enabled"  # capabilityStatus of a SKU whose seats can be assigned


def holds_active_plan(snapshot: Snapshot, plan_names: frozenset[str]) -> bool:
    """True when the administrator holds one of `plan_names`, provisioned, through any SKU."""
    return any(
        plan.service_plan_name in plan_names and plan.provisioning_status == ACTIVE
        for licence in snapshot.administrator_licences
        for plan in licence.service_plans
    )


def assignable_skus(snapshot: Snapshot, plan_names: frozenset[str]) -> list[SubscribedSku]:
    """Enabled SKUs carrying one of `plan_names` with a free seat, in the snapshot's order.

    A suspended, locked-out or expiring SKU's unassigned units cannot be given to anyone.
    """
    return [
        sku
        for sku in snapshot.subscribed_skus
        if sku.capability_status == ENABLED
        and sku.enabled_units > sku.consumed_units
        and any(p.service_plan_name in plan_names for p in sku.service_plans)
    ]
