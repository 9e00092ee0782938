"""What every report shares: translated labels, worst-first ordering, the fleet summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sage365.findings import (
    Finding,
    Severity,
    Status,
    TenantResult,
    TenantStatus,
    exit_code,
)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "sage365 drift report",
        "tenants": "tenants", "tenant": "Tenant", "status": "Status", "check": "Check", "resource": "Resource",
        "severity": "Severity", "expected": "Expected", "actual": "Actual", "message": "Message",
        "remediation": "Remediation", "generated": "generated", "passed": "passed", "failed": "failed",
        "errors": "errors", "waived": "waived", "no_issue": "Nothing out of line.",
        "what_to_do": "What to do", "nothing_declared": "nothing declared to check",
        "informational": "informational",
        "truncated": "Truncated to fit a pull-request comment ({limit} characters): {listed} of {total} tenants "
        "listed, {shown} shown in detail, worst first. The full report: sage365 drift --format html (or json).",
        "compliant": "compliant", "drift": "drift", "error": "error",
        "pass": "pass", "fail": "fail", "waived_status": "waived",
        "severity_critical": "critical", "severity_high": "high", "severity_medium": "medium", "severity_low": "low",
        "severity_info": "info",
    },
    "fr": {
        "title": "Rapport d'écarts sage365",
        "tenants": "tenants", "tenant": "Tenant", "status": "Statut", "check": "Contrôle", "resource": "Ressource",
        "severity": "Gravité", "expected": "Attendu", "actual": "Constaté", "message": "Message",
        "remediation": "Correction", "generated": "généré le", "passed": "conformes", "failed": "en écart",
        "errors": "erreurs", "waived": "dérogations", "no_issue": "Aucun écart.",
        "what_to_do": "Que faire", "nothing_declared": "rien de déclaré à contrôler",
        "informational": "pour information",
        "truncated": "Tronqué pour tenir dans un commentaire de pull request ({limit} caractères) : {listed} "
        "tenants sur {total} listés, {shown} détaillés, les pires d'abord. Le rapport complet : sage365 drift "
        "--format html (ou json).",
        "compliant": "conforme", "drift": "écart", "error": "erreur",
        "pass": "conforme", "fail": "écart", "waived_status": "dérogation",
        "severity_critical": "critique", "severity_high": "élevée", "severity_medium": "moyenne", "severity_low": "faible",
        "severity_info": "info",
    },
}

# Worst first: a tenant that could not be checked hides everything else about it.
TENANT_RANK = {TenantStatus.ERROR: 0, TenantStatus.DRIFT: 1, TenantStatus.COMPLIANT: 2}
MARK = {TenantStatus.ERROR: "❌", TenantStatus.DRIFT: "⚠️", TenantStatus.COMPLIANT: "✅"}


def severity_label(finding: Finding, words: dict[str, str]) -> str:
    """The finding's severity in the report's language (JSON and JUnit keep the enum value)."""
    return words[f"severity_{finding.severity.value}"]


def labels(lang: str) -> dict[str, str]:
    if lang not in LABELS:
        raise ValueError(f"unsupported language {lang!r}: expected one of {', '.join(LABELS)}")
    return LABELS[lang]


# What a finding means for its tenant, worst first: a failure of an informational check
# (severity info) is "info", not "fail", exactly as TenantResult.status does not count it
# as drift. Every count and label in every report goes through outcome().
OUTCOMES = ("error", "fail", "waived", "info", "pass")
INFO = "info"


def outcome(finding: Finding) -> str:
    """The finding's status value, except "info" for an informational check's failure."""
    if finding.status is Status.FAIL and finding.severity is Severity.INFO:
        return INFO
    return finding.status.value


def finding_rank(finding: Finding) -> int:
    """Errors, then drift, then waived, then informational failures, then passes."""
    return OUTCOMES.index(outcome(finding))


def status_label(finding: Finding, words: dict[str, str]) -> tuple[str, str]:
    """The CSS class and word for a finding's status: an informational failure only informs."""
    value = outcome(finding)
    if value == INFO:
        return value, words["informational"]
    return value, words.get(f"{value}_status", words.get(value, value))


def count_label(value: str, words: dict[str, str]) -> str:
    """The plural-ish column word for counts of one outcome (failed, errors, waived, ...)."""
    return words[{"error": "errors", "fail": "failed", "waived": "waived", INFO: "informational",
                  "pass": "passed"}[value]]


def worst_first(results: Sequence[TenantResult]) -> list[TenantResult]:
    return sorted(results, key=lambda r: (TENANT_RANK[r.status], r.name))


def is_issue(finding: Finding) -> bool:
    """Anything but a pass needs a reader's eyes (waived ones too: they expire)."""
    return finding.status is not Status.PASS


def is_drift(finding: Finding) -> bool:
    """A failure that makes a tenant drift: informational checks only inform."""
    return outcome(finding) == "fail"


@dataclass(frozen=True)
class Summary:
    tenants: int
    compliant: int
    drift: int
    error: int
    findings: dict[str, int]  # by outcome(): error, fail, waived, info, pass
    exit_code: int


def summarize(results: Sequence[TenantResult]) -> Summary:
    statuses = [r.status for r in results]
    fleet = {value: 0 for value in OUTCOMES}
    for result in results:
        for value, n in counts(result).items():
            fleet[value] += n
    return Summary(
        tenants=len(results),
        compliant=statuses.count(TenantStatus.COMPLIANT),
        drift=statuses.count(TenantStatus.DRIFT),
        error=statuses.count(TenantStatus.ERROR),
        findings=fleet,
        exit_code=exit_code(list(results)),
    )


def counts(result: TenantResult) -> dict[str, int]:
    """A tenant's findings counted by outcome(), in OUTCOMES order."""
    out = {value: 0 for value in OUTCOMES}
    for finding in result.findings:
        out[outcome(finding)] += 1
    return out
