"""`sage365 ci drift-issues` and `ci oidc-token` over real HTTP against a stand-in GitHub API."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.cli import app
from sage365.drift_issues import LABEL, Issue, issue_body, plan
from tests.ci.fake_github import OIDC_REQUEST_TOKEN, OIDC_VALUE, TOKEN, FakeGitHub

DEMO = json.loads((Path(__file__).resolve().parents[1] / "cli/fixtures/drift-demo-report.json").read_text())


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        yield fake


def run(github: FakeGitHub, report: dict, tmp_path: Path, *args: str, token: str = TOKEN):
    path = tmp_path / "drift.json"
    path.write_text(json.dumps(report))
    env = {"GITHUB_TOKEN": token, "GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "partner/fleet"}
    return CliRunner().invoke(app, ["ci", "drift-issues", "--report", str(path), *args], env=env)


def compliant(report: dict, name: str) -> dict:
    report = copy.deepcopy(report)
    for tenant in report["tenants"]:
        if tenant["name"] == name:
            tenant["status"] = "compliant"
            for finding in tenant["findings"]:
                if finding["status"] == "fail" and finding["severity"] != "info":
                    finding["status"] = "pass"
    return report


def tenant(report: dict, name: str) -> dict:
    return next(t for t in report["tenants"] if t["name"] == name)


def test_the_issue_body_for_fabrikam_is_exact():
    assert issue_body(tenant(DEMO, "fabrikam"), "https://github.com/partner/fleet/actions/runs/7") == (
        "<!-- sage365-drift-issue tenant=fabrikam -->\n"
        "The nightly drift check found tenant **fabrikam** out of line with its declaration.\n"
        "\n"
        "Tenant file: `fabrikam` · tenantId `22222222-2222-4222-8222-222222222222`\n"
        "\n"
        "```text\n"
        + "".join(f"[{f['status']}] {f['check']} ({f['severity']}) {f['resource']}\n    {f['message']}\n"
                  for f in tenant(DEMO, "fabrikam")["findings"] if f["status"] == "fail" and f["severity"] != "info")
        + "```\n"
        "\n"
        "**What to do**\n"
        "\n"
        "```text\n"
        + "".join(f"{f['check']}: {f['remediation']}\n"
                  for f in tenant(DEMO, "fabrikam")["findings"] if f["status"] == "fail" and f["severity"] != "info")
        + "```\n"
        "\n"
        "This issue is updated by every nightly run and closed when the tenant is compliant again.\n"
        "Latest run: https://github.com/partner/fleet/actions/runs/7\n"
    )
    assert "admin.premium_licence" in issue_body(tenant(DEMO, "fabrikam"))


def test_graph_strings_cannot_mention_link_or_break_out_of_the_block():
    hostile = copy.deepcopy(tenant(DEMO, "northwind"))
    for finding in hostile["findings"]:
        if finding["status"] == "fail":
            finding["message"] = "@partner/admins see #1 ```\n<img src=x onerror=alert(1)> ````"
    body = issue_body(hostile)
    # The fence is longer than any backtick run in the data; the data keeps its text, on one line.
    assert "`````text\n" in body and "\n`````\n" in body
    assert "    @partner/admins see #1 ``` <img src=x onerror=alert(1)> ````\n" in body
    outside = body.split("`````text")[0]
    assert "@" not in outside and "<img" not in outside


def test_plan_never_duplicates_and_picks_the_tenants_own_issue():
    marker = "<!-- sage365-drift-issue tenant=fabrikam -->"
    issues = [Issue(3, "closed", "old", marker), Issue(9, "closed", "older", marker), Issue(12, "open", "x", "no marker")]
    actions = plan(DEMO, issues)
    assert [(a.kind, a.tenant, a.number) for a in actions] == [("reopen", "fabrikam", 9), ("open", "northwind", None)]
    issues.append(Issue(14, "open", "t", marker + "\nold text"))
    assert [(a.kind, a.number) for a in plan(DEMO, issues) if a.tenant == "fabrikam"] == [("update", 14)]


def test_open_update_close_reopen_over_http(github, tmp_path):
    result = run(github, DEMO, tmp_path, "--run-url", "https://github.com/partner/fleet/actions/runs/1")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "open #1 for fabrikam\nopen #2 for northwind\n"
    issues = github.state.issues
    assert [(n, i["state"], i["title"], [x["name"] for x in i["labels"]]) for n, i in sorted(issues.items())] == [
        (1, "open", "sage365: tenant fabrikam drifts from its declaration", [LABEL]),
        (2, "open", "sage365: tenant northwind drifts from its declaration", [LABEL]),
    ]
    assert issues[1]["body"] == issue_body(tenant(DEMO, "fabrikam"), "https://github.com/partner/fleet/actions/runs/1")
    assert github.state.labels == {LABEL}

    # The same report again: nothing to do, never a second issue.
    result = run(github, DEMO, tmp_path, "--run-url", "https://github.com/partner/fleet/actions/runs/1")
    assert (result.exit_code, result.stdout) == (0, "issues already match the report\n")
    assert len(issues) == 2

    # A new run link: bodies updated in place.
    result = run(github, DEMO, tmp_path, "--run-url", "https://github.com/partner/fleet/actions/runs/2")
    assert result.stdout == "update #1 for fabrikam\nupdate #2 for northwind\n"

    # fabrikam got its P1 licence: its issue is closed with a comment.
    result = run(github, compliant(DEMO, "fabrikam"), tmp_path, "--run-url", "https://github.com/partner/fleet/actions/runs/2")
    assert result.stdout == "close #1 for fabrikam\n"
    assert issues[1]["state"] == "closed" and issues[2]["state"] == "open"
    assert github.state.comments == [(1, "Tenant fabrikam is compliant again (2026-11-28): closing.")]

    # fabrikam drifts again: the same issue is reopened, not a new one.
    result = run(github, DEMO, tmp_path, "--run-url", "https://github.com/partner/fleet/actions/runs/3")
    assert result.stdout == "reopen #1 for fabrikam\nupdate #2 for northwind\n"
    assert sorted(issues) == [1, 2] and issues[1]["state"] == "open"
    assert github.state.comments[-1] == (1, "Tenant fabrikam is out of line again (2026-11-28): reopening.")


def test_issues_are_found_across_pages_and_pull_requests_are_ignored(github, tmp_path):
    github.state.per_page_cap = 40
    github.state.labels.add(LABEL)
    github.state.add_issue("PR", "<!-- sage365-drift-issue tenant=northwind -->", [LABEL], pull_request=True)
    own = github.state.add_issue("fabrikam", "<!-- sage365-drift-issue tenant=fabrikam -->", [LABEL])
    for index in range(100):
        github.state.add_issue(f"other {index}", "someone else's", [LABEL])
    result = run(github, DEMO, tmp_path)
    assert result.stdout == f"update #{own} for fabrikam\nopen #103 for northwind\n"
    pages = [path for method, path in github.state.requests if method == "GET" and "/issues" in path]
    assert len(pages) == 3


def test_dry_run_changes_nothing(github, tmp_path):
    result = run(github, DEMO, tmp_path, "--dry-run")
    assert (result.exit_code, result.stdout) == (0, "would open for fabrikam\nwould open for northwind\n")
    assert github.state.issues == {} and github.state.labels == set()
    assert [m for m, _ in github.state.requests] == ["GET"]


def test_a_refused_token_is_one_line_without_the_token(github, tmp_path):
    result = run(github, DEMO, tmp_path, token="ghs_wrong")
    assert result.exit_code == 2
    assert result.stderr == "sage365 ci drift-issues: GET /repos/partner/fleet/issues: HTTP 401: Bad credentials\n"
    assert "ghs_wrong" not in result.output


def test_an_invalid_report_changes_nothing(github, tmp_path):
    broken = copy.deepcopy(DEMO)
    broken["tenants"][0]["status"] = "fine"
    result = run(github, broken, tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sage365 ci drift-issues: {tmp_path / 'drift.json'}: not a sage365 drift report "
                                    "(schemas/drift-report.schema.json): tenants/0/status: ")
    assert github.state.requests == []


def test_oidc_token_is_written_private(github, tmp_path):
    out = tmp_path / "oidc-token"
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": f"{github.url}/oidc?api-version=2.0",
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_REQUEST_TOKEN}
    result = CliRunner().invoke(app, ["ci", "oidc-token", "--output", str(out)], env=env)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == f"wrote the OIDC token for audience api://AzureADTokenExchange to {out}\n"
    assert out.read_text() == OIDC_VALUE
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o600)
    assert OIDC_VALUE not in result.output

    env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
    result = CliRunner().invoke(app, ["ci", "oidc-token", "--output", str(out)], env=env)
    assert (result.exit_code, result.stderr) == (2, "sage365 ci oidc-token: OIDC token request: HTTP 401: Bad credentials\n")
    result = CliRunner().invoke(app, ["ci", "oidc-token", "--output", str(out)],
                                env={"ACTIONS_ID_TOKEN_REQUEST_URL": "", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": ""})
    assert result.exit_code == 2
    assert result.stderr == ("sage365 ci oidc-token: ACTIONS_ID_TOKEN_REQUEST_URL is not set "
                             "(run inside GitHub Actions, or set it)\n")
