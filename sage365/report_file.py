"""A saved drift report (`sage365 drift --format json`) read back into tenant results.

The workflows read the tenants once, to JSON, and render the other formats (Markdown for
the pull-request comment and job summary, JUnit, HTML) from that file: one Graph read per
tenant per run, and every format says the same thing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sage365.findings import Finding, Severity, Status, TenantResult
from sage365.schemas import validator


class ReportError(ValueError):
    pass


def load_report(text: str) -> dict[str, Any]:
    """The report's data, checked against schemas/drift-report.schema.json."""
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"not JSON: {exc}") from None
    errors = sorted(validator("drift-report").iter_errors(report), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path) or "(root)"
        raise ReportError(f"not a sage365 drift report (schemas/drift-report.schema.json): {where}: {errors[0].message[:200]}")
    return report


def results_of(report: dict[str, Any]) -> list[TenantResult]:
    """The tenant results a loaded report describes, in its order."""
    return [
        TenantResult(
            name=tenant["name"], tenant_id=tenant["tenantId"], path=tenant["path"],
            findings=tuple(
                Finding(tenant=tenant["name"], check=f["check"], status=Status(f["status"]), severity=Severity(f["severity"]),
                        resource=f["resource"], expected=f["expected"], actual=f["actual"], message=f["message"],
                        remediation=f["remediation"])
                for f in tenant["findings"]
            ),
        )
        for tenant in report["tenants"]
    ]


def generated_at(report: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(report["generatedAt"])
