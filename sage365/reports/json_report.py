"""The JSON drift report, documented by schemas/drift-report.schema.json.

Tenants and findings keep the caller's order (the engine's, stable), so two reports of
the same fleet compare exactly; the timestamp is the caller's, never the clock's.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Sequence

import msgspec

from sage365.findings import Finding, TenantResult
from sage365.reports.common import labels, summarize
from sage365.reports.safe import scrub

API_VERSION = "sage365/v1"


def finding_document(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "status": finding.status.value,
        "severity": finding.severity.value,
        "resource": finding.resource,
        "expected": finding.expected,
        "actual": finding.actual,
        "message": finding.message,
        "remediation": finding.remediation,
    }


def document(results: Sequence[TenantResult], *, lang: str, generated_at: dt.datetime) -> dict[str, Any]:
    """The report as plain data (what render() serializes)."""
    labels(lang)  # refuse an unknown language here too
    summary = summarize(results)
    return {
        "apiVersion": API_VERSION,
        "kind": "DriftReport",
        "generatedAt": generated_at.isoformat(),
        "lang": lang,
        "summary": {
            "tenants": summary.tenants,
            "compliant": summary.compliant,
            "drift": summary.drift,
            "error": summary.error,
            "findings": summary.findings,
            "exitCode": summary.exit_code,
        },
        "tenants": [
            {
                "name": r.name,
                "tenantId": r.tenant_id,
                "path": r.path,
                "status": r.status.value,
                "findings": [finding_document(f) for f in r.findings],
            }
            for r in results
        ],
    }


def render(results: Sequence[TenantResult], *, lang: str, generated_at: dt.datetime) -> str:
    data = document(results, lang=lang, generated_at=generated_at)
    try:
        # msgspec writes the same text as json.dumps(indent=2, ensure_ascii=False) (control
        # characters escaped, the rest kept, keys in order) about six times faster: a
        # fleet's report is megabytes, and the standard library's indented encoder is
        # pure Python.
        return msgspec.json.format(msgspec.json.encode(data), indent=2).decode("utf-8") + "\n"
    except UnicodeEncodeError:
        # A lone surrogate (possible in a JSON escape from Graph), which no UTF-8 file can
        # hold: the standard library writes it and scrub replaces it; the rest stays exact.
        return scrub(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"
