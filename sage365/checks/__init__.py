"""Checks: pure functions of (declaration, catalogue, snapshot) -> findings.

`CHECKS` is the explicit, ordered registry (importing a check module registers nothing).
`run_checks` runs them all, applies the tenant's waivers and orders the findings;
`result` wraps them in a TenantResult. Nothing here reads files, the network or the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from types import MappingProxyType
from typing import Mapping

from sage365.catalog import Catalog
from sage365.checks import (
    addin_deployment,
    addin_group,
    addin_members,
    admin_exists,
    admin_global_admin,
    admin_premium_licence,
    connector_status,
    consent_app_roles,
    consent_delegated_scopes,
    consent_service_principal,
    tenant_free_premium_seat,
    tenant_subscription,
)
from sage365.checks.base import (
    LANGUAGES,
    WAIVED_MESSAGE,
    Check,
    CheckMetadata,
    localize,
)
from sage365.checks.ids import CHECK_IDS
from sage365.declaration import Tenant
from sage365.findings import Finding, Status, TenantResult
from sage365.snapshot import Snapshot

__all__ = ["BLOCKING", "CHECKS", "LANGUAGES", "METADATA", "Check", "CheckMetadata", "result", "run_checks"]

# The order reports show: the administrator first, as the manual association does.
CHECKS: tuple[Check, ...] = (
    admin_exists,
    admin_global_admin,
    admin_premium_licence,
    tenant_subscription,
    tenant_free_premium_seat,
    consent_service_principal,
    consent_delegated_scopes,
    consent_app_roles,
    addin_group,
    addin_members,
    addin_deployment,
    connector_status,
)

METADATA: Mapping[str, CheckMetadata] = MappingProxyType({c.METADATA.id: c.METADATA for c in CHECKS})

# Checks whose failure must stop a Pulumi preview: without them Sage's consent cannot work.
BLOCKING: frozenset[str] = frozenset(m.id for m in METADATA.values() if m.blocking)

# Every stable id has exactly one check; a new id without a check fails at import.
if tuple(METADATA) != CHECK_IDS:
    raise ImportError("sage365/checks/ids.py and CHECKS disagree")

_ORDER = {check_id: index for index, check_id in enumerate(CHECK_IDS)}


def _waive(tenant: Tenant, finding: Finding, today: dt.date, lang: str) -> Finding:
    """A failure covered by an unexpired waiver becomes waived; errors are never waived."""
    if finding.status is not Status.FAIL:
        return finding
    waiver = tenant.waiver_for(finding.check, finding.resource, today)
    if waiver is None:
        return finding
    message = localize(WAIVED_MESSAGE, lang, message=finding.message, expires=waiver.expires.isoformat(),
                       reason=waiver.reason)
    return replace(finding, status=Status.WAIVED, message=message)


def run_checks(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, today: dt.date,
               lang: str = "en") -> tuple[Finding, ...]:
    """Every finding for one tenant, waivers applied, ordered by check then resource."""
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    findings = [
        _waive(tenant, finding, today, lang)
        for check in CHECKS
        for finding in check.check(tenant, catalog, snapshot, lang=lang)
    ]
    # sorted() is stable: findings of one check on one resource keep the check's order.
    return tuple(sorted(findings, key=lambda f: (_ORDER[f.check], f.resource.casefold())))


def result(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, today: dt.date,
           lang: str = "en") -> TenantResult:
    """The TenantResult for one tenant: its identity and every finding."""
    return TenantResult(
        name=tenant.name,
        tenant_id=tenant.tenant_id,
        path=tenant.path,
        findings=run_checks(tenant, catalog, snapshot, today=today, lang=lang),
    )
