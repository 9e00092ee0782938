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
