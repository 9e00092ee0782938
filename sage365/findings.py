"""What a check says about one resource of one tenant: a frozen Finding with a closed Status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the data could not be read: never reported as compliant
    WAIVED = "waived"  # a failure accepted by an unexpired waiver


class Severity(str, Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    tenant: str  # the tenant's slug (metadata.name)
    check: str  # a stable check id from sage365.checks.ids
    status: Status
    severity: Severity
    resource: str  # what the finding is about: a UPN, a catalogue key, a SKU, ...
    expected: str = ""
    actual: str = ""
    message: str = ""
    remediation: str = ""


class TenantStatus(str, Enum):
    COMPLIANT = "compliant"
    DRIFT = "drift"
    ERROR = "error"  # at least one check could not read its data


@dataclass(frozen=True)
class TenantResult:
    """Every finding for one tenant; its status follows from them."""

    name: str
    tenant_id: str
    path: str
    findings: tuple[Finding, ...]

    @property
    def status(self) -> TenantStatus:
        statuses = {f.status for f in self.findings}
        if Status.ERROR in statuses or not self.findings:
            return TenantStatus.ERROR  # nothing checked is never compliant
        # An informational check (severity info) reports facts, not drift.
        if any(f.status is Status.FAIL and f.severity is not Severity.INFO for f in self.findings):
            return TenantStatus.DRIFT
        return TenantStatus.COMPLIANT


def exit_code(results: list[TenantResult] | tuple[TenantResult, ...]) -> int:
    """0 all compliant, 1 drift found, 2 any tenant could not be checked."""
    statuses = {r.status for r in results}
    if TenantStatus.ERROR in statuses:
        return 2
    return 1 if TenantStatus.DRIFT in statuses else 0
