"""The workflows' own `sage365` command lines, run as written against the Graph sandbox,
a real git history and the GitHub stand-in: the pull request's validate and drift jobs,
the merge's affected job and the nightly drift and issues jobs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.cli import app
from tests.ci.fake_github import OIDC_REQUEST_TOKEN, TOKEN, FakeGitHub
from tests.ci.gitrepo import partner_repo
from tests.ci.test_workflows import GROUPS, WORKFLOWS, load, steps

ROOT = Path(__file__).resolve().parents[2]


def command_lines(workflow: str, job: str) -> list[list[str]]:
    """The sage365 argv of each `.venv/bin/sage365 ...` in the job's run steps, in order."""
    from tests.ci.test_workflows import invocations

    return [argv for where, argv in invocations() if where == f"{workflow}:{job}"]


def expand(argv: list[str], values: dict[str, list[str] | str]) -> list[str]:
    out: list[str] = []
    for arg in argv:
        if arg in values and isinstance(values[arg], list):
            out += values[arg]
            continue
        out.append(re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: str(values[m.group(1)]), arg))
    return out


@pytest.fixture
def pr(tmp_path, monkeypatch, demo_sandbox):
    repo = partner_repo(tmp_path / "partner")
    base = repo.git("rev-parse", "HEAD")
    with (repo.path / "tenants/fabrikam.yaml").open("a") as file:
        file.write("# reviewed by the partner\n")
    head = repo.commit("fabrikam: reviewed")
    monkeypatch.chdir(repo.path)
    (repo.path / "out").mkdir()
    return repo, base, head


def run(argv: list[str], env: dict[str, str]):
    return CliRunner().invoke(app, argv, env=env)


def test_the_pull_request_jobs_as_written(pr, demo_sandbox, tmp_path):
    repo, base, head = pr
    with FakeGitHub() as github:
        env = {"SAGE365_GRAPH_URL": demo_sandbox.base_url,
               "ACTIONS_ID_TOKEN_REQUEST_URL": f"{github.url}/oidc?api-version=2.0",
               "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_REQUEST_TOKEN}
        values: dict = {"BASE_SHA": base, "HEAD_SHA": head, "RUNNER_TEMP": str(tmp_path)}

        outcomes = []
        for argv in command_lines("pull-request.yml", "validate"):
            result = run(expand(argv, values), env)
            outcomes.append((argv[0], result.exit_code))
            if argv[-1] == "--skip-removed":
                matrix = json.loads(result.stdout)
        assert outcomes == [("validate", 0), ("stacks", 0), ("affected", 0), ("affected", 0)]
        assert matrix == {"include": [{"tenant": "fabrikam", "stack": "fabrikam", "change": "modified",
                                       "reason": "tenants/fabrikam.yaml"}]}

        results = []
        files: list[str] = []  # what `mapfile -t files` reads from the affected step
        for argv in command_lines("pull-request.yml", "drift"):
            result = run(expand(argv, {**values, "${files[@]}": files}), env)
            results.append((" ".join(argv[:2]), result.exit_code))
            if "files" in argv:
                files = result.stdout.split()
        assert results == [("affected --base", 0), ("drift ${files[@]}", 1), ("ci render", 1), ("ci render", 1)]
        assert not (tmp_path / "oidc-token").exists()  # no token file: sage365 asks GitHub per exchange
        report = json.loads(Path("out/drift.json").read_text())
        assert [(t["name"], t["status"]) for t in report["tenants"]] == [("fabrikam", "drift")]
        markdown = Path("out/drift.md").read_text()
        # The blocked preview's reason, as the pull request's comment shows it: check id and remediation.
        premium = next(f for f in report["tenants"][0]["findings"] if f["check"] == "admin.premium_licence")
        assert premium["status"] == "fail" and "admin.premium_licence" in markdown
        assert premium["remediation"].split(":")[0] in markdown
        assert Path("out/drift.xml").read_text().startswith("<?xml")


def test_the_nightly_drift_and_issues_jobs_as_written(pr, demo_sandbox, tmp_path):
    with FakeGitHub() as github:
        env = {"SAGE365_GRAPH_URL": demo_sandbox.base_url, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url,
               "GITHUB_REPOSITORY": "partner/fleet",
               "ACTIONS_ID_TOKEN_REQUEST_URL": f"{github.url}/oidc?api-version=2.0",
               "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_REQUEST_TOKEN}
        values = {"RUNNER_TEMP": str(tmp_path), "RUN_URL": "https://github.com/partner/fleet/actions/runs/5"}
        codes = []
        for argv in command_lines("nightly.yml", "drift") + command_lines("nightly.yml", "issues"):
            result = run(expand(argv, values), env)
            codes.append((" ".join(argv[:2]), result.exit_code))
            if "--batch-size" in argv:
                batches = json.loads(result.stdout)
        assert codes == [("affected --all", 0), ("drift tenants/", 1), ("ci render", 1),
                         ("ci render", 1), ("ci drift-issues", 0)]
        assert batches == {"include": [{"batch": "1/1", "stacks": "contoso fabrikam northwind", "count": "3"}]}
        assert Path("out/drift.html").read_text().lstrip().lower().startswith("<!doctype html>")
        assert sorted((i["title"], i["state"]) for i in github.state.issues.values()) == [
            ("sage365: tenant fabrikam drifts from its declaration", "open"),
            ("sage365: tenant northwind drifts from its declaration", "open")]


FAKE_PULUMI = """#!/bin/sh
# Stands in for the Pulumi CLI: records its arguments; the stack named in FAIL_STACK has changes.
echo "$@" >> "$PULUMI_LOG"
case "$*" in *"--stack $FAIL_STACK "*) echo "error: no changes were expected but changes occurred"; exit 255;; esac
echo "Resources: 14 unchanged"
"""


def test_the_nightly_refresh_job_as_written(pr, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "pulumi").chmod(0o755)
    summary = tmp_path / "summary.md"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "PULUMI_LOG": str(tmp_path / "pulumi.log"), "FAIL_STACK": "northwind"}
    [preview] = [argv for argv in command_lines("nightly.yml", "refresh") if argv[:2] == ["ci", "preview-stacks"]]
    result = run(expand(preview, {"STACKS": "contoso fabrikam northwind", "GITHUB_STEP_SUMMARY": str(summary)}), env)
    assert result.exit_code == 1
    assert (tmp_path / "pulumi.log").read_text().splitlines() == [
        f"preview --stack {name} --non-interactive --refresh --expect-no-changes --policy-pack policies"
        for name in ("contoso", "fabrikam", "northwind")]
    assert result.stdout.splitlines()[-1] == "2 of 3 stack(s) passed; failed: northwind"
    assert "::error::pulumi preview --stack northwind exited 255" in result.stdout.splitlines()
    assert summary.read_text() == (
        "### pulumi preview: 2 of 3 stack(s) passed\n\n| stack | result |\n|---|---|\n"
        "| contoso | passed |\n| fabrikam | passed |\n| northwind | failed (exit 255) |\n\n")
    assert json.loads(Path("preview-results.json").read_text()) == {"kind": "PreviewResults", "results": [
        {"stack": "contoso", "exitCode": 0}, {"stack": "fabrikam", "exitCode": 0}, {"stack": "northwind", "exitCode": 255}]}
    bad = run(["ci", "preview-stacks", "--stacks", "contoso ../etc"], env)
    assert (bad.exit_code, bad.stderr) == (2, "sage365 ci preview-stacks: --stacks: not stack names: ../etc\n")
    missing = run(["ci", "preview-stacks", "--stacks", "contoso"], {"PATH": "/nonexistent"})
    assert (missing.exit_code, missing.stderr) == (
        2, "sage365 ci preview-stacks: the pulumi CLI is not on PATH (pulumi/actions installs it)\n")


def test_a_failed_refresh_preview_opens_the_tenants_issue(pr, demo_sandbox, tmp_path):
    """contoso is compliant in Graph but its nightly refresh preview shows changes: an issue
    says so; once the preview passes again, the issue is closed."""
    with FakeGitHub() as github:
        env = {"SAGE365_GRAPH_URL": demo_sandbox.base_url, "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": github.url,
               "GITHUB_REPOSITORY": "partner/fleet"}
        assert run(["drift", "tenants/", "--format", "json", "--output", "out/drift.json", "--today", "2026-11-28"], env).exit_code == 1
        batch = Path("out/previews/preview-results-0")
        batch.mkdir(parents=True)
        (batch / "preview-results.json").write_text(json.dumps({"kind": "PreviewResults", "results": [
            {"stack": "contoso", "exitCode": 255}, {"stack": "fabrikam", "exitCode": 0}]}))
        [issues] = command_lines("nightly.yml", "issues")
        result = run(expand(issues, {"RUN_URL": "https://github.com/partner/fleet/actions/runs/9"}), env)
        assert (result.exit_code, result.stdout) == (0, "open #1 for contoso\nopen #2 for fabrikam\nopen #3 for northwind\n")
        body = github.state.issues[1]["body"]
        assert "in line with its declaration, but its Pulumi stack is not" in body
        assert "`pulumi preview --refresh --expect-no-changes` failed for stack `contoso` (exit 255)" in body
        (batch / "preview-results.json").write_text(json.dumps({"kind": "PreviewResults", "results": [
            {"stack": "contoso", "exitCode": 0}]}))
        result = run(expand(issues, {"RUN_URL": "https://github.com/partner/fleet/actions/runs/9"}), env)
        assert result.stdout == "close #1 for contoso\n"
        (batch / "preview-results.json").write_text(json.dumps({"kind": "PreviewResults", "results": [
            {"stack": "../x", "exitCode": 0}]}))
        result = run(expand(issues, {"RUN_URL": "x"}), env)
        assert (result.exit_code, result.stderr) == (2, (
            f"sage365 ci drift-issues: --preview-results: {batch / 'preview-results.json'}: results[0]: "
            "expected {stack: <tenant slug>, exitCode: <integer>}\n"))


def test_the_merge_affected_job_as_written(pr):
    repo, base, head = pr
    outcomes = [(" ".join(argv[:2]), run(expand(argv, {"BEFORE": base, "AFTER": head}), {}).exit_code)
                for argv in command_lines("main.yml", "affected")]
    assert outcomes == [("validate tenants/", 0), ("stacks check", 0), ("affected --all", 0), ("affected --all", 0),
                        ("affected --base", 0), ("affected --base", 0)]


def affected_step_script() -> str:
    job = load(WORKFLOWS / "main.yml")["jobs"]["affected"]
    [step] = [s for s in job["steps"] if s.get("id") == "affected"]
    assert job["steps"][0]["with"]["fetch-depth"] == 0
    return step["run"]


@pytest.mark.parametrize("first_push", [False, True], ids=["push", "first-push"])
def test_the_merge_affected_step_runs_in_bash_and_a_null_before_means_every_stack(pr, tmp_path, first_push):
    """The step's shell as GitHub runs it (bash -e), with the real sage365: a push lists what it
    touched; a branch's first push (`github.event.before` is the null commit) lists every stack
    instead of failing, each `up` still waiting for the environment's reviewers."""
    repo, base, head = pr
    (repo.path / ".venv" / "bin").mkdir(parents=True)
    (repo.path / ".venv" / "bin" / "sage365").symlink_to(Path(sys.executable).parent / "sage365")
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {**os.environ, "BEFORE": "0" * 40 if first_push else base, "AFTER": head,
           "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", affected_step_script()],
                          cwd=repo.path, env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    [line] = output.read_text().splitlines()
    matrix = json.loads(line.removeprefix("matrix="))
    if first_push:
        assert [(e["stack"], e["change"]) for e in matrix["include"]] == [
            ("contoso", "fleet"), ("fabrikam", "fleet"), ("northwind", "fleet")]
        assert done.stdout.splitlines()[0] == ("::warning::no previous commit (first push or forced push): "
                                               "every stack is affected")
    else:
        assert matrix == {"include": [{"tenant": "fabrikam", "stack": "fabrikam", "change": "modified",
                                       "reason": "tenants/fabrikam.yaml"}]}
        assert "::warning::" not in done.stdout
    assert summary.read_text() == "".join(f"{line}\n" for line in done.stdout.splitlines() if not line.startswith("::"))


def test_every_job_with_a_sage365_line_is_covered():
    jobs = {(path.name, job_id) for path in sorted(WORKFLOWS.glob("*.yml")) for job_id, _j, step in steps(load(path))
            if ".venv/bin/sage365" in step.get("run", "")}
    covered = {("pull-request.yml", "validate"), ("pull-request.yml", "drift"), ("main.yml", "affected"),
               ("nightly.yml", "drift"), ("nightly.yml", "issues"), ("nightly.yml", "refresh")}
    # The preview and up jobs run no sage365 line: Pulumi (and the gate inside it) signs in
    # from the provider's variables.
    assert jobs == covered
    assert GROUPS == {"stacks", "ci", "sandbox"}
