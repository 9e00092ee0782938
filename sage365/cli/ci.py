"""`sage365 ci ...`: the steps of the GitHub workflows that are more than one command.

- `drift-issues`: one issue per drifting tenant, opened, updated, reopened or closed;
- `render`: a saved JSON drift report in another format (read the tenants once, render many);
- `preview-stacks`: `pulumi preview` for a batch of stacks in one job (fleets past GitHub's
  256 jobs per matrix), with a Markdown summary;
- `oidc-token`: the job's GitHub OIDC token written to a file (AZURE_FEDERATED_TOKEN_FILE) for a
  tool that needs one; it expires within minutes. `drift`/`export` and the preview gate do not
  need it: they ask GitHub for a fresh token per exchange (sage365.graph.credentials).
Logic lives in sage365.drift_issues and sage365.github_api; this module prints and exits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from sage365.cli.options import Format
from sage365.files import OutputError, write_atomic
from sage365.graph.credentials import OIDC_AUDIENCE  # what Entra ID expects of a federated credential
from sage365.report_file import ReportError, generated_at, load_report, results_of

app = typer.Typer(no_args_is_help=True, help="Steps of the GitHub workflows (docs/ci.md).")


def _fail(command: str, message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"sage365 ci {command}: {message}", err=True)
    return typer.Exit(code)


def _env(command: str, name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise _fail(command, f"{name} is not set (run inside GitHub Actions, or set it)")
    return value


def _load(command: str, report: Path) -> dict[str, Any]:
    """Read and validate a saved JSON drift report, or fail with one line naming the file."""
    try:
        return load_report(report.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(command, f"{report}: {exc.strerror}") from None
    except ReportError as exc:
        raise _fail(command, f"{report}: {exc}") from None


@app.command("drift-issues")
def drift_issues(
    report: Path = typer.Option(..., "--report", help="A drift report: sage365 drift --format json --output FILE."),
    repository: Optional[str] = typer.Option(None, "--repo", envvar="GITHUB_REPOSITORY", help="owner/name  [default: $GITHUB_REPOSITORY]"),
    api_url: str = typer.Option("https://api.github.com", "--api-url", envvar="GITHUB_API_URL", help="GitHub's REST API."),
    run_url: Optional[str] = typer.Option(None, "--run-url", help="A link to this run, written in each issue."),
    preview_results: Optional[Path] = typer.Option(
        None, "--preview-results", help="Folder (searched in depth) of `ci preview-stacks --results` files: a failed refresh preview counts as drift."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read the issues and print the plan; change nothing."),
) -> None:
    """Open, update, reopen or close one issue per tenant from a drift report; never a second issue for a tenant. Token: $GITHUB_TOKEN."""
    from sage365.drift_issues import load_previews, plan
    from sage365.github_api import GitHubError, IssuesClient  # httpx: only when the command runs

    loaded = _load("drift-issues", report)
    previews: dict[str, int] = {}
    if preview_results is not None and preview_results.is_dir():  # no folder: no refresh ran
        try:
            documents = [(str(p), json.loads(p.read_text(encoding="utf-8"))) for p in sorted(preview_results.rglob("*.json"))]
            previews = load_previews(documents)
        except (OSError, ValueError) as exc:
            raise _fail("drift-issues", f"--preview-results: {exc}") from None
    if not repository:
        raise _fail("drift-issues", "--repo is not set and neither is GITHUB_REPOSITORY")
    token = _env("drift-issues", "GITHUB_TOKEN")
    try:
        client = IssuesClient(api_url, repository, token)
    except GitHubError as exc:
        raise _fail("drift-issues", str(exc)) from None
    try:
        actions = plan(loaded, client.labelled_issues(), run_url=run_url, previews=previews)
        if actions and not dry_run:
            client.ensure_label()
        for action in actions:
            target = f"#{action.number} " if action.number else ""
            if dry_run:
                typer.echo(f"would {action.kind} {target}for {action.tenant}")
            else:
                typer.echo(f"{action.kind} #{client.apply(action)} for {action.tenant}")
    except GitHubError as exc:
        raise _fail("drift-issues", str(exc)) from None
    finally:
        client.close()
    if not actions:
        typer.echo("issues already match the report")


@app.command("render")
def render(
    report: Path = typer.Option(..., "--report", help="A drift report: sage365 drift --format json --output FILE."),
    fmt: Format = typer.Option(Format.markdown, "--format", help="Report format."),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the report to this file (atomically) instead of stdout."),
) -> None:
    """Render a saved JSON drift report as table, markdown, junit or html. Exit with the report's own code: 0, 1 drift, 2 error."""
    from sage365 import reports

    loaded = _load("render", report)
    text = reports.render(fmt.value, results_of(loaded), lang=loaded["lang"], generated_at=generated_at(loaded))
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        try:
            write_atomic(output, text)
        except OutputError as exc:
            raise _fail("render", str(exc)) from None
    raise typer.Exit(loaded["summary"]["exitCode"])


@app.command("oidc-token")
def oidc_token(
    output: Path = typer.Option(..., "--output", help="File to write the token to (mode 0600), e.g. $RUNNER_TEMP/oidc-token."),
    audience: str = typer.Option(OIDC_AUDIENCE, "--audience", help="The token's audience (Entra ID's federated credentials expect this one)."),
) -> None:
    """Write the job's GitHub Actions OIDC token to a file for azure-identity (AZURE_FEDERATED_TOKEN_FILE). Needs id-token: write."""
    from sage365.github_api import GitHubError, fetch_oidc_token  # httpx: only when the command runs

    url = _env("oidc-token", "ACTIONS_ID_TOKEN_REQUEST_URL")
    request_token = _env("oidc-token", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    try:
        token = fetch_oidc_token(url, request_token, audience)
    except GitHubError as exc:
        raise _fail("oidc-token", str(exc)) from None
    try:
        write_atomic(output, token, mode=0o600)
    except OutputError as exc:
        raise _fail("oidc-token", str(exc)) from None
    typer.echo(f"wrote the OIDC token for audience {audience} to {output}")


STACK_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")  # a tenant slug, as the schema has it


@app.command("preview-stacks")
def preview_stacks(
    stacks: str = typer.Option(..., "--stacks", help="Stack names separated by spaces (a matrix entry of affected --batch-size)."),
    refresh: bool = typer.Option(False, "--refresh", help="pulumi preview --refresh: read the tenant first."),
    expect_no_changes: bool = typer.Option(False, "--expect-no-changes", help="A stack with changes fails."),
    policy_pack: Optional[Path] = typer.Option(None, "--policy-pack", help="The policy pack folder (policies)."),
    summary: Optional[Path] = typer.Option(None, "--summary", help="Append a Markdown table of the outcomes (e.g. $GITHUB_STEP_SUMMARY)."),
    results: Optional[Path] = typer.Option(None, "--results", help="Write the outcomes as JSON (for ci drift-issues --preview-results)."),
) -> None:
    """Run `pulumi preview` for each stack in turn (never up or destroy). Exit 0 all passed, 1 a stack failed, 2 usage error."""
    names = stacks.split()
    bad = [n for n in names if not STACK_NAME.match(n)]
    if not names or bad:
        raise _fail("preview-stacks", f"--stacks: not stack names: {' '.join(bad) or '(none given)'}")
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise _fail("preview-stacks", "the pulumi CLI is not on PATH (pulumi/actions installs it)")
    outcomes: list[tuple[str, int]] = []
    for name in names:
        argv = [pulumi, "preview", "--stack", name, "--non-interactive"]
        argv += ["--refresh"] if refresh else []
        argv += ["--expect-no-changes"] if expect_no_changes else []
        argv += ["--policy-pack", str(policy_pack)] if policy_pack else []
        typer.echo(f"::group::pulumi preview --stack {name}")
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        typer.echo(done.stdout, nl=False)
        typer.echo(done.stderr, nl=False, err=True)
        typer.echo("::endgroup::")
        outcomes.append((name, done.returncode))
        if done.returncode != 0:
            typer.echo(f"::error::pulumi preview --stack {name} exited {done.returncode}")
    failed = [name for name, code in outcomes if code != 0]
    if summary is not None:
        rows = [f"| {name} | {'passed' if code == 0 else f'failed (exit {code})'} |" for name, code in outcomes]
        text = "\n".join([f"### pulumi preview: {len(names) - len(failed)} of {len(names)} stack(s) passed", "",
                          "| stack | result |", "|---|---|", *rows, ""]) + "\n"
        try:
            with summary.open("a", encoding="utf-8") as file:  # GitHub's step summary is appended to
                file.write(text)
        except OSError as exc:
            raise _fail("preview-stacks", f"{summary}: {exc.strerror}") from None
    if results is not None:
        document = {"kind": "PreviewResults", "results": [{"stack": name, "exitCode": code} for name, code in outcomes]}
        try:
            write_atomic(results, json.dumps(document, indent=2) + "\n")
        except OutputError as exc:
            raise _fail("preview-stacks", str(exc)) from None
    typer.echo(f"{len(names) - len(failed)} of {len(names)} stack(s) passed" + (f"; failed: {' '.join(failed)}" if failed else ""))
    raise typer.Exit(1 if failed else 0)
