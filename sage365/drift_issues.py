"""One GitHub issue per drifting tenant: what to open, update, reopen or close (pure).

The nightly workflow runs `sage365 drift --format json` over the fleet, then
`sage365 ci drift-issues`, which lists the repository's issues carrying LABEL and applies
the plan made here. An issue belongs to a tenant through a marker in its body (titles may
be edited by people), so a tenant never gets a second issue: a closed one is reopened.

- tenant drifts, could not be checked, or its `pulumi preview --refresh --expect-no-changes`
  failed (`previews`: stack -> exit code, from `sage365 ci preview-stacks --results`): open
  an issue, or update/reopen its own;
- tenant compliant (and its refresh preview, when there is one, passed): close its open
  issue with a comment;
- tenants missing from the report are left alone (the report may cover part of the fleet).

Every string from the report (Graph data, messages) goes into a fenced code block, longer
than any run of backticks in it, so it can neither format, mention (@) nor link anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

LABEL = "sage365-drift"
_MARKER = "<!-- sage365-drift-issue tenant={} -->"
_MARKER_RE = re.compile(r"<!-- sage365-drift-issue tenant=([a-z0-9-]+) -->")
_SLUG = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True)
class Issue:
    """An issue as GitHub lists it (only what the plan needs)."""

    number: int
    state: str  # open | closed
    title: str
    body: str

    @property
    def tenant(self) -> str | None:
        match = _MARKER_RE.search(self.body or "")
        return match[1] if match else None


@dataclass(frozen=True)
class Action:
    """One change to make: open (number None), update, reopen or close an issue."""

    kind: str  # open | update | reopen | close
    tenant: str
    number: int | None = None
    title: str | None = None
    body: str | None = None
    comment: str | None = None  # posted on the issue as well (reopen, close)


def _fenced(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", *lines, fence]


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def issue_title(tenant: dict[str, Any]) -> str:
    if tenant["status"] == "error":
        return f"sage365: tenant {tenant['name']} could not be checked"
    return f"sage365: tenant {tenant['name']} drifts from its declaration"


def issue_body(tenant: dict[str, Any], run_url: str | None = None, preview_exit: int | None = None) -> str:
    """The issue text for a drifting or unreadable tenant: what is out of line and what to do."""
    findings = [f for f in tenant["findings"] if f["status"] in ("fail", "error") and f.get("severity") != "info"]
    if tenant["status"] == "error":
        finding = "could not be read: it is not known to be compliant."
    elif tenant["status"] == "drift":
        finding = "out of line with its declaration."
    else:
        finding = "in line with its declaration, but its Pulumi stack is not (below)."
    lines = [
        _MARKER.format(tenant["name"]),
        f"The nightly drift check found tenant **{tenant['name']}** {finding}",
        "",
        f"Tenant file: `{tenant['name']}` · tenantId `{tenant['tenantId']}`",
        "",
    ]
    if preview_exit:
        lines += [f"`pulumi preview --refresh --expect-no-changes` failed for stack `{tenant['name']}` (exit "
                  f"{int(preview_exit)}): the tenant or the stack's state differs from the YAML, or the preview "
                  "could not run. The run's log says which.", ""]
    details: list[str] = []
    remediations: dict[str, str] = {}
    for finding in findings:
        details.append(f"[{finding['status']}] {finding['check']} ({finding.get('severity', '')}) "
                       f"{_one_line(finding.get('resource', ''))}")
        details.append(f"    {_one_line(finding.get('message', ''))}")
        if finding.get("remediation"):
            remediations.setdefault(finding["check"], _one_line(finding["remediation"]))
    if details or tenant["status"] != "compliant":
        lines += _fenced(details or ["(no failing finding listed)"])
    if remediations:
        lines += ["", "**What to do**", ""]
        lines += _fenced([f"{check}: {text}" for check, text in remediations.items()])
    lines += ["", "This issue is updated by every nightly run and closed when the tenant is compliant again."]
    if run_url:
        lines.append(f"Latest run: {run_url}")
    return "\n".join(lines) + "\n"


def _own_issue(issues: list[Issue]) -> Issue | None:
    """The tenant's issue: its lowest-numbered open one, else its latest closed one."""
    open_ = sorted((i for i in issues if i.state == "open"), key=lambda i: i.number)
    if open_:
        return open_[0]
    closed = sorted(issues, key=lambda i: i.number)
    return closed[-1] if closed else None


def plan(report: dict[str, Any], issues: Iterable[Issue], *, run_url: str | None = None,
         previews: Mapping[str, int] | None = None) -> list[Action]:
    """What to do so that each tenant in `report` has exactly the issue its status calls for.

    `previews`: the exit code of each stack's nightly refresh preview, where one ran."""
    previews = previews or {}
    by_tenant: dict[str, list[Issue]] = {}
    for issue in issues:
        if issue.tenant:
            by_tenant.setdefault(issue.tenant, []).append(issue)
    day = str(report.get("generatedAt", ""))[:10]
    actions: list[Action] = []
    for tenant in sorted(report["tenants"], key=lambda t: t["name"]):
        name = tenant["name"]
        own = _own_issue(by_tenant.get(name, []))
        preview_exit = previews.get(name)
        if tenant["status"] == "compliant" and not preview_exit:
            if own is not None and own.state == "open":
                actions.append(Action("close", name, own.number, comment=f"Tenant {name} is compliant again ({day}): closing."))
            continue
        title, body = issue_title(tenant), issue_body(tenant, run_url, preview_exit)
        if own is None:
            actions.append(Action("open", name, None, title, body))
        elif own.state == "closed":
            actions.append(Action("reopen", name, own.number, title, body,
                                  comment=f"Tenant {name} is out of line again ({day}): reopening."))
        elif (own.title, own.body) != (title, body):
            actions.append(Action("update", name, own.number, title, body))
    return actions


def load_previews(documents: Iterable[tuple[str, Any]]) -> dict[str, int]:
    """stack -> exit code from `sage365 ci preview-stacks --results` files ((name, data) pairs);
    ValueError naming the file for anything else."""
    previews: dict[str, int] = {}
    for name, data in documents:
        results = data.get("results") if isinstance(data, dict) and data.get("kind") == "PreviewResults" else None
        if not isinstance(results, list):
            raise ValueError(f"{name}: not a preview results file (kind: PreviewResults, results: [...])")
        for index, item in enumerate(results):
            if not (isinstance(item, dict) and isinstance(item.get("stack"), str) and _SLUG.fullmatch(item["stack"])
                    and type(item.get("exitCode")) is int):
                raise ValueError(f"{name}: results[{index}]: expected {{stack: <tenant slug>, exitCode: <integer>}}")
            previews[item["stack"]] = item["exitCode"]
    return previews
