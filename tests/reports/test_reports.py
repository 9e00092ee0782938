"""Every report format on a small fleet: exact documents, parsers, escaping, ordering.

Set SAGE365_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change, then
review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from junitparser import Error, Failure, JUnitXml, Skipped

from sage365 import reports
from sage365.checks import result
from sage365.checks.ids import CHECK_IDS
from sage365.reports.common import finding_rank
from tests.checks.loader import FIXTURES as CHECK_FIXTURES
from tests.checks.loader import catalog, snapshot, tenant
from tests.reports.fleet import FIXTURES, GENERATED_AT, fleet

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "drift-report.schema.json")
                    .read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def golden(name: str, text: str) -> str:
    path = FIXTURES / name
    if os.environ.get("SAGE365_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


def test_json_report_validates_and_is_exact() -> None:
    text = reports.render("json", fleet(), lang="en", generated_at=GENERATED_AT)
    document = json.loads(text)
    assert sorted(e.message for e in VALIDATOR.iter_errors(document)) == []
    assert document == json.loads(golden("expected.json", text))
    assert document["summary"] == {"tenants": 3, "compliant": 1, "drift": 1, "error": 1,
                                   "findings": {"pass": 3, "fail": 2, "error": 1, "waived": 1, "info": 1},
                                   "exitCode": 2}
    assert [t["status"] for t in document["tenants"]] == ["compliant", "error", "drift"]


def test_json_report_of_real_checks_validates_in_french() -> None:
    data = yaml.safe_load((CHECK_FIXTURES / "tenant" / "compliant.yaml").read_text(encoding="utf-8"))
    declared = tenant(data["tenant"])
    outcome = result(declared, catalog(), snapshot(data["snapshot"], declared.tenant_id),
                     today=dt.date(2026, 6, 1), lang="fr")
    document = json.loads(reports.render("json", [outcome], lang="fr", generated_at=GENERATED_AT))
    assert sorted(e.message for e in VALIDATOR.iter_errors(document)) == []
    assert document["tenants"][0]["status"] == "compliant"
    assert document["tenants"][0]["findings"][4]["message"] == "Aucune licence Entra ID premium n'est libre à attribuer"


def test_schema_rejects_an_unknown_status() -> None:
    document = json.loads(reports.render("json", fleet(), lang="en", generated_at=GENERATED_AT))
    document["tenants"][0]["findings"][0]["status"] = "ok"
    assert [e.message for e in VALIDATOR.iter_errors(document)] == [
        "'ok' is not one of ['pass', 'fail', 'error', 'waived']"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_markdown_report_is_golden(lang: str) -> None:
    text = reports.render("markdown", fleet(), lang=lang, generated_at=GENERATED_AT)
    assert text == golden(f"expected.{lang}.md", text)


def test_junit_report_parses_with_exact_testcases() -> None:
    xml = JUnitXml.fromstring(reports.render("junit", fleet(), lang="en", generated_at=GENERATED_AT))
    outcomes = {}
    for suite in xml:
        for case in suite:
            kinds = {type(r) for r in case.result}
            outcome = ("error" if Error in kinds else "failure" if Failure in kinds
                       else "skipped" if Skipped in kinds else "passed")
            outcomes[(suite.name, case.classname, case.name)] = outcome
    # One testcase per tenant and check; a check with nothing declared is skipped.
    expected = {(t, t, c): "skipped" for t in ("contoso", "fabrikam", "northwind") for c in CHECK_IDS}
    expected.update({
        ("contoso", "contoso", "admin.exists"): "passed",
        ("contoso", "contoso", "tenant.free_premium_seat"): "passed",  # informational never fails a test
        ("fabrikam", "fabrikam", "admin.exists"): "error",
        ("fabrikam", "fabrikam", "tenant.subscription"): "passed",
        ("northwind", "northwind", "tenant.subscription"): "skipped",  # waived
        ("northwind", "northwind", "consent.delegated_scopes"): "failure",
        ("northwind", "northwind", "addin.members"): "failure",
    })
    assert outcomes == expected
    assert list(outcomes)[:2] == [("contoso", "contoso", "admin.exists"), ("contoso", "contoso", "admin.global_admin")]
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (36, 2, 1, 30)
    members = next(c for s in xml if s.name == "northwind" for c in s if c.name == "addin.members")
    failure = members.result[0]
    assert failure.message == "david@northwind-traders.fr is declared but is not a member of '<Sage> Contact | Northwind & co'"
    assert failure.text == (
        "[fail] david@northwind-traders.fr: david@northwind-traders.fr is declared but is not a member of "
        "'<Sage> Contact | Northwind & co'\n"
        "  expected: member of <Sage> Contact | Northwind & co\n"
        "  actual:   not a member of <Sage> Contact | Northwind & co\n"
        "  remediation: Run `pulumi up` for the tenant to set the group's members."
    )


def test_html_report_is_escaped_self_contained_and_worst_first() -> None:
    page = reports.render("html", fleet(), lang="en", generated_at=GENERATED_AT)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert "&lt;Sage&gt; Contact | Northwind &amp; co" in page
    assert "<Sage>" not in page
    assert "<script" not in page and "src=" not in page and not re.search(r'href="(?!#)', page)
    tiles = re.findall(r'<a class="tile (\w+)" href="#tenant-(\w+)">', page)
    assert tiles == [("error", "fabrikam"), ("drift", "northwind"), ("compliant", "contoso")]
    sections = re.findall(r'<section id="tenant-(\w+)">', page)
    assert sections == ["fabrikam", "northwind", "contoso"]
    # Within a tenant, problems come before passes, which are folded away.
    northwind = page.split('<section id="tenant-northwind">')[1].split("</section>")[0]
    assert northwind.index("consent.delegated_scopes") < northwind.index("tenant.subscription")
    assert northwind.index("<details><summary>1 passed</summary>") < northwind.index("claire@")


def test_html_remediation_is_a_full_width_row_under_each_failure() -> None:
    from html import escape

    results = fleet()
    page = reports.render("html", results, lang="en", generated_at=GENERATED_AT)
    issues = [f for r in results for f in r.findings if f.status.value != "pass"]
    assert page.count('<tr class="fix">') == len([f for f in issues if f.remediation]) > 0
    for f in issues:
        row_end = f"<td>{escape(f.message)}</td></tr>\n"
        fix = f'<tr class="fix"><td colspan="7"><strong>What to do:</strong> {escape(f.remediation)}</td></tr>\n'
        assert (row_end + fix if f.remediation else row_end) in page
    assert page.count("<colgroup>") == page.count("<table>")


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_severity_is_translated_in_french_and_the_ids_are_not(fmt: str) -> None:
    results = fleet()
    english = reports.render(fmt, results, lang="en", generated_at=GENERATED_AT, **({"width": 4000} if fmt == "table" else {}))
    french = reports.render(fmt, results, lang="fr", generated_at=GENERATED_AT, **({"width": 4000} if fmt == "table" else {}))
    for word, mot in (("high", "élevée"), ("medium", "moyenne"), ("critical", "critique")):
        assert re.search(rf"\b{word}\b", english) and not re.search(rf"\b{word}\b", french), word
        assert mot in french
    assert all(f.check in french for r in results for f in r.findings)


def test_json_and_junit_keep_severity_values_in_french() -> None:
    data = json.loads(reports.render("json", fleet(), lang="fr", generated_at=GENERATED_AT))
    assert {f["severity"] for t in data["tenants"] for f in t["findings"]} <= {"critical", "high", "medium", "low", "info"}


def test_html_report_in_french() -> None:
    page = reports.render("html", fleet(), lang="fr", generated_at=GENERATED_AT)
    assert '<html lang="fr">' in page and "<title>Rapport d&#x27;écarts sage365</title>" in page


def test_table_has_one_line_per_finding_grouped_by_tenant() -> None:
    results = fleet()
    text = reports.render("table", results, lang="en", generated_at=GENERATED_AT)
    lines = text.splitlines()
    assert [line for line in lines if re.match(r"^(contoso|fabrikam|northwind) ", line)] == [
        "contoso  11111111-1111-4111-8111-111111111111  tenants/contoso.yaml  compliant",
        "fabrikam  22222222-2222-4222-8222-222222222222  tenants/fabrikam.yaml  error",
        "northwind  33333333-3333-4333-8333-333333333333  tenants/northwind.yaml  drift",
    ]
    for r in results:
        for f in r.findings:
            # An informational check's failure reads "informational", as TenantResult.status treats it.
            word = "informational" if f.check == "tenant.free_premium_seat" and f.status.value == "fail" else f.status.value
            pattern = rf"^{word}\s+{f.severity.value}\s+{re.escape(f.check)}\s+{re.escape(f.resource)}\s+{re.escape(f.message)}$"
            assert len([line for line in lines if re.match(pattern, line)]) == 1, pattern
    assert lines[-1] == "3 tenants: 1 compliant, 1 drift, 1 error"
    assert "\x1b[" not in text


def test_table_wraps_a_long_message_instead_of_cutting_it() -> None:
    results = fleet()
    text = reports.render("table", results, lang="en", generated_at=GENERATED_AT, width=120)
    flat = " ".join(text.split())
    for r in results:
        for f in r.findings:
            assert " ".join([f.check, *f.resource.split(), *f.message.split()]) in flat, f.message
    assert "…" not in text
    assert all(len(line) <= 120 for line in text.splitlines())


def test_truncated_table_keeps_one_line_per_finding() -> None:
    text = reports.render("table", fleet(), lang="en", generated_at=GENERATED_AT, width=60, truncate=True)
    finding_lines = [line for line in text.splitlines() if re.match(r"^(pass|fail|error|waived|informational) ", line)]
    assert len(finding_lines) == sum(len(r.findings) for r in fleet())
    assert all(len(line) <= 60 for line in finding_lines)


@pytest.mark.parametrize(("lang", "title"), [("en", "What to do"), ("fr", "Que faire")])
def test_table_says_what_to_do_for_each_failing_check(lang: str, title: str) -> None:
    results = fleet()
    text = reports.render("table", results, lang=lang, generated_at=GENERATED_AT, width=4000)
    blocks = text.split("\n\n")
    for r in results:
        wanted: dict[str, str] = {}
        for f in sorted((f for f in r.findings if f.status.value != "pass"), key=finding_rank):
            if f.remediation:
                wanted.setdefault(f.check, f.remediation)
        header = next(i for i, b in enumerate(blocks) if b.startswith(f"{r.name}  "))
        if wanted:
            assert blocks[header + 1].splitlines() == [title, *(f"- {c}: {t}" for c, t in wanted.items())]
        else:
            assert not blocks[header + 1].startswith(title)


def test_coloured_table_carries_ansi_codes() -> None:
    assert "\x1b[" in reports.render("table", fleet(), lang="en", generated_at=GENERATED_AT, color=True)


@pytest.mark.parametrize("fmt", reports.FORMATS)
def test_renderers_are_pure(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = reports.render(fmt, fleet(), lang="fr", generated_at=GENERATED_AT)
    assert first == reports.render(fmt, fleet(), lang="fr", generated_at=GENERATED_AT)
    assert capsys.readouterr() == ("", "")
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        reports.render(fmt, fleet(), lang="de", generated_at=GENERATED_AT)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        reports.render("pdf", fleet(), generated_at=GENERATED_AT)


def test_empty_fleet() -> None:
    document = json.loads(reports.render("json", [], generated_at=GENERATED_AT))
    assert document["tenants"] == [] and document["summary"]["exitCode"] == 0
    assert not list(VALIDATOR.iter_errors(document))


def test_informational_failures_are_counted_apart_from_drift_in_every_format() -> None:
    """contoso's only failure is informational: it is compliant, and no count calls it a failure."""
    contoso = [r for r in fleet() if r.name == "contoso"]
    document = json.loads(reports.render("json", contoso, lang="en", generated_at=GENERATED_AT))
    assert document["summary"]["findings"] == {"error": 0, "fail": 0, "waived": 0, "info": 1, "pass": 1}
    assert document["tenants"][0]["status"] == "compliant"
    assert "| contoso | ✅ compliant | 0 | 0 | 0 | 1 | 1 |" in reports.render(
        "markdown", contoso, lang="en", generated_at=GENERATED_AT).splitlines()
    page = reports.render("html", contoso, lang="en", generated_at=GENERATED_AT)
    assert "<small>1 informational, 1 passed</small>" in page
    table = reports.render("table", contoso, lang="fr", generated_at=GENERATED_AT)
    assert re.search(r"^pour information\s+info\s+tenant\.free_premium_seat ", table, re.M)
    assert not re.search(r"^(fail|écart) ", table, re.M)
    xml = JUnitXml.fromstring(reports.render("junit", contoso, lang="en", generated_at=GENERATED_AT))
    assert (xml.failures, xml.errors) == (0, 0)


def test_markdown_for_a_thousand_tenants_fits_one_pull_request_comment_and_says_what_it_left_out() -> None:
    import dataclasses

    results = [dataclasses.replace(r, name=f"{r.name}-{i:04d}") for i in range(334) for r in fleet()][:1000]
    text = reports.render("markdown", results, lang="en", generated_at=GENERATED_AT)
    assert len(text.encode("utf-8")) <= 65_536
    lines = text.splitlines()
    listed = [line for line in lines if re.match(r"^\| \w+-\d{4} \|", line)]
    sections = [line for line in lines if line.startswith("### ")]
    assert lines[-1] == (
        f"> **Truncated to fit a pull-request comment (65,536 characters): {len(listed)} of 1000 tenants listed, "
        f"{len(sections)} shown in detail, worst first. The full report: sage365 drift --format html (or json).**")
    # Worst first: the 333 tenants in error come before any other, in the table and in detail.
    assert 300 < len(listed) < 1000 and 0 < len(sections) < 333
    assert all("❌ error" in line for line in listed[:333]) and "⚠️ drift" in listed[333]
    assert all(line.startswith("### ❌ fabrikam-") for line in sections)
    # Each detailed tenant is whole: its passes block is closed.
    assert text.count("<details>") == text.count("</details>") == len(sections)


def test_markdown_within_the_limit_has_no_note() -> None:
    from sage365.reports import markdown

    full = (FIXTURES / "expected.en.md").read_text(encoding="utf-8")
    size = len(full.encode("utf-8"))
    assert markdown.render(fleet(), lang="en", generated_at=GENERATED_AT, limit=size) == full
    # One byte less and the report no longer fits: the note appears, and it still fits.
    cut = markdown.render(fleet(), lang="en", generated_at=GENERATED_AT, limit=size - 1)
    assert cut.splitlines()[-1].startswith("> **Truncated to fit a pull-request comment (3,071 characters)")
    assert len(cut.encode("utf-8")) <= size - 1
