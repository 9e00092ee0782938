"""The JUnit XML report: one testsuite per tenant, one testcase per check.

CI test tabs then show drift as failing tests: a check with a read error is an <error>,
a failure a <failure>, a check whose only problems are waived is <skipped>, and so is a
check with nothing declared to check. Informational checks (severity info) never fail a
test: they would paint a compliant tenant red; their findings go to <system-out>.
Built with the standard library's ElementTree, which escapes markup but not characters
that XML 1.0 forbids (ESC, NUL, U+FFFE...): every text and attribute from a finding goes
through safe.xml_text first, so the file always parses.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Sequence

from sage365.checks.ids import CHECK_IDS
from sage365.findings import Finding, Status, TenantResult
from sage365.reports.common import is_drift, labels
from sage365.reports.safe import xml_text


def _describe(findings: Sequence[Finding]) -> str:
    """Every finding of a testcase, one block each, for the failure's body."""
    blocks = []
    for f in findings:
        block = [f"[{f.status.value}] {f.resource}: {f.message}"]
        if f.expected or f.actual:
            block.append(f"  expected: {f.expected}")
            block.append(f"  actual:   {f.actual}")
        if f.remediation:
            block.append(f"  remediation: {f.remediation}")
        blocks.append("\n".join(block))
    return xml_text("\n".join(blocks))


def _testcase(suite: ET.Element, result: TenantResult, check: str, words: dict[str, str]) -> str:
    """Add one testcase; return its outcome: passed, failure, error or skipped."""
    case = ET.SubElement(suite, "testcase", name=xml_text(check), classname=xml_text(result.name), time="0")
    findings = [f for f in result.findings if f.check == check]
    errors = [f for f in findings if f.status is Status.ERROR]
    failures = [f for f in findings if is_drift(f)]
    problems = [f for f in findings if f.status is not Status.PASS]
    if errors:
        element = ET.SubElement(case, "error", message=xml_text(errors[0].message), type="unreadable")
        element.text = _describe(problems)
        return "error"
    if failures:
        element = ET.SubElement(case, "failure", message=xml_text(failures[0].message), type=failures[0].severity.value)
        element.text = _describe(problems)
        return "failure"
    waived = [f for f in findings if f.status is Status.WAIVED]
    if waived or not findings:
        ET.SubElement(case, "skipped", message=xml_text(waived[0].message) if waived else words["nothing_declared"])
        return "skipped"
    ET.SubElement(case, "system-out").text = _describe(findings)
    return "passed"


def render(results: Sequence[TenantResult], *, lang: str, generated_at: dt.datetime) -> str:
    words = labels(lang)
    root = ET.Element("testsuites", name="sage365 drift")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=xml_text(result.name), timestamp=generated_at.isoformat(),
                              hostname=xml_text(result.tenant_id), file=xml_text(result.path), time="0")
        outcomes = [_testcase(suite, result, check, words) for check in CHECK_IDS]
        tally = {"tests": len(outcomes), "failures": outcomes.count("failure"),
                 "errors": outcomes.count("error"), "skipped": outcomes.count("skipped")}
        for key, value in tally.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
