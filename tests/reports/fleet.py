"""Test-only: the small fleet of TenantResults the report tests render."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from sage365.findings import Finding, Severity, Status, TenantResult

FIXTURES = Path(__file__).parent / "fixtures"
GENERATED_AT = dt.datetime(2026, 6, 1, 8, 30, tzinfo=dt.timezone.utc)


def fleet() -> list[TenantResult]:
    data = yaml.safe_load((FIXTURES / "fleet.yaml").read_text(encoding="utf-8"))
    return [
        TenantResult(
            name=t["name"], tenant_id=t["tenantId"], path=t["path"],
            findings=tuple(
                Finding(tenant=t["name"], check=f["check"], status=Status(f["status"]),
                        severity=Severity(f["severity"]), resource=f["resource"], expected=f.get("expected", ""),
                        actual=f.get("actual", ""), message=f["message"], remediation=f.get("remediation", ""))
                for f in t["findings"]
            ),
        )
        for t in data
    ]
