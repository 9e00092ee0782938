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
from sage365.checks.addin_deployment import PERMISSION_MISSING
from sage365.checks.base import AMBIGUOUS_GROUP
from sage365.findings import Finding, Severity, Status
from sage365.licensing import assignable_skus, holds_active_plan
from sage365.snapshot import Snapshot

# A check that cannot read its data never passes: for a blocking check that is a stop too.
_BLOCKING_STATUSES = (Status.FAIL, Status.ERROR)

# The gate's own check: Graph refuses assignLicense for a user without usageLocation (and the
# azuread provider's UserLicense says so before calling it), so a seat the update would assign
# to such an administrator is a stop at preview, not a failure in the middle of `up`.
USAGE_LOCATION = "admin.usage_location"
_USAGE_LOCATION_TEXT = {
    "en": {
        "message": "{upn} has no usage location: Microsoft Graph refuses to assign a licence to a user without one, "
                   "so the Entra ID P1/P2 seat this update would assign cannot be assigned",
        "expected": "a usage location (two-letter country code, e.g. FR)",
        "remediation": "In the Microsoft 365 admin centre: Users > Active users > {upn} > Account > Manage contact "
                       "information > Country or region (or Entra admin centre > Users > {upn} > Properties > "
                       "Usage location), then run the preview again.",
    },
    "fr": {
        "message": "{upn} n'a pas d'emplacement d'utilisation : Microsoft Graph refuse d'attribuer une licence à un "
                   "utilisateur qui n'en a pas, la licence Entra ID P1/P2 prévue par cette mise à jour ne peut donc "
                   "pas être attribuée",
        "expected": "un emplacement d'utilisation (code pays à deux lettres, par ex. FR)",
        "remediation": "Dans le centre d'administration Microsoft 365 : Utilisateurs > Utilisateurs actifs > {upn} > "
                       "Compte > Gérer les coordonnées > Pays ou région (ou centre d'administration Entra > "
                       "Utilisateurs > {upn} > Propriétés > Emplacement d'utilisation), puis relancez l'aperçu.",
    },
}


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
    deploying_addins: bool = False,
) -> GateDecision:
    """Split findings into blocking errors and warnings; passes, waivers and informational
    failures (severity info: facts, not drift, as in TenantResult.status) say nothing.

    licence_will_be_assigned: this very update assigns the administrator a free P1/P2
    seat, so a failing `admin.premium_licence` is what the update fixes, not a stop.
    deploying_addins: this stack deploys add-ins through Exchange Online, so an identity
    without the Exchange rights (addin.deployment's "permission missing") is a stop: the
    update would fail half-way.
    An add-in group several live groups match ignoring case (addin.group "ambiguous") is
    always a stop.
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
        missing_rights = (deploying_addins and finding.check == "addin.deployment"
                          and finding.actual == PERMISSION_MISSING)
        # Several groups bear an add-in group's name: adopting one, or creating another,
        # could change the wrong group; the partner must say which (the line names each id).
        ambiguous_group = finding.check == "addin.group" and finding.actual == AMBIGUOUS_GROUP
        if (finding.check in blocking and not fixed_by_update) or missing_rights or ambiguous_group:
            errors.append(message)
        else:
            warnings.append(message)
    return GateDecision(tuple(errors), tuple(warnings))


def licence_assignment_findings(tenant: str, snapshot: Snapshot, sku_id: str | None,
                                lang: str = "en") -> tuple[Finding, ...]:
    """`admin.usage_location` when this update would assign `sku_id` to an administrator
    without a usage location; nothing when no seat is to be assigned."""
    admin = snapshot.administrator
    if sku_id is None or admin is None or admin.usage_location:
        return ()
    text = {k: v.format(upn=admin.user_principal_name) for k, v in _USAGE_LOCATION_TEXT[lang].items()}
    return (Finding(tenant=tenant, check=USAGE_LOCATION, status=Status.FAIL, severity=Severity.HIGH,
                    resource=admin.user_principal_name, expected=text["expected"], actual="none",
                    message=text["message"], remediation=text["remediation"]),)


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
