"""The preview gate's decisions: pure functions of findings and snapshots, no Pulumi.

`pulumi preview`/`up` must stop, with a reason a partner can act on, when a tenant lacks a
prerequisite Sage checks at association time (Global Administrator, Entra ID P1/P2, a
compatible subscription). components.gate does the I/O and the logging; this module only
decides what to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sage365.catalog import Catalog
from sage365.findings import Finding, Severity, Status
from sage365.licensing import assignable_skus, holds_active_plan
from sage365.snapshot import Snapshot

# A check that cannot read its data never passes: for a blocking check that is a stop too.
_BLOCKING_STATUSES = (Status.FAIL, Status.ERROR)


@dataclass(frozen=True)
class GateDecision:
    errors: tuple[str, ...]  # blocking: the preview must fail
    warnings: tuple[str, ...]  # drift worth seeing in the pull request, not a stop

    @property
    def blocked(self) -> bool:
        return bool(self.errors)


def finding_message(finding: Finding) -> str:
    """One line naming the tenant, the check id, what is wrong and how to fix it."""
    verb = "could not be checked" if finding.status is Status.ERROR else "failed"
    text = f"tenant {finding.tenant}: check {finding.check} {verb}"
    if finding.resource:
        text += f" for {finding.resource}"
    if finding.message:
        text += f": {finding.message}"
    if finding.expected or finding.actual:
        text += f" (expected: {finding.expected or '-'}; actual: {finding.actual or '-'})"
    if finding.remediation:
        text += f". Remediation: {finding.remediation}"
    return text


def decide(
    findings: Iterable[Finding],
    blocking: frozenset[str],
    *,
    licence_will_be_assigned: bool = False,
) -> GateDecision:
    """Split findings into blocking errors and warnings; passes, waivers and informational
    failures (severity info: facts, not drift, as in TenantResult.status) say nothing.

    licence_will_be_assigned: this very update assigns the administrator a free P1/P2
    seat, so a failing `admin.premium_licence` is what the update fixes, not a stop.
    """
    errors: list[str] = []
    warnings: list[str] = []
    for finding in findings:
        if finding.status not in _BLOCKING_STATUSES:
            continue
        if finding.status is Status.FAIL and finding.severity is Severity.INFO and finding.check not in blocking:
            continue
        message = finding_message(finding)
        fixed_by_update = (
            licence_will_be_assigned and finding.check == "admin.premium_licence" and finding.status is Status.FAIL
        )
        if finding.check in blocking and not fixed_by_update:
            errors.append(message)
        else:
            warnings.append(message)
    return GateDecision(tuple(errors), tuple(warnings))


def premium_sku_to_assign(
    snapshot: Snapshot,
    catalog: Catalog,
    plans: tuple[str, ...],
    *,
    preferred: str | None = None,
) -> str | None:
    """The SKU whose free seat should go to the administrator, or None.

    None when the administrator is missing, already holds a declared plan, or no enabled
    SKU carrying one has a free seat. `preferred` (stack config `sage365:premiumSkuId`)
    wins when it qualifies; otherwise the standalone P1/P2 SKUs come before suites, so a
    Business Premium seat meant for a user is not spent on an administrator.
    """
    if snapshot.administrator is None:
        return None
    plan_names = catalog.plan_names(plans)
    if holds_active_plan(snapshot, plan_names):
        return None
    candidates = assignable_skus(snapshot, plan_names)
    if preferred:
        for sku in candidates:
            if sku.sku_id.lower() == preferred.lower():
                return sku.sku_id.lower()
    standalone = {p.service_plan_name for p in catalog.premium_plans.values()}
    candidates.sort(key=lambda s: (s.sku_part_number not in standalone, s.sku_part_number))
    return candidates[0].sku_id.lower() if candidates else None
