"""The Markdown report, sized for a pull-request comment.

Summary first, then each tenant worst first: a table of what is not a pass, what to do
about it (once per check), and the passes folded away in a <details> block. Text from a
declaration or Graph goes through safe.markdown_text: it cannot break the table, add a
line, inject HTML, a link, an image or a mention. A report longer
than a GitHub comment allows keeps the worst tenants and ends with a note saying so.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from sage365.findings import TenantResult
from sage365.reports.common import (
    MARK,
    OUTCOMES,
    count_label,
    counts,
    finding_rank,
    is_issue,
    labels,
    severity_label,
    status_label,
    summarize,
    worst_first,
)
from sage365.reports.safe import markdown_prose, markdown_text

COMMENT_LIMIT = 65_536  # GitHub's limit on a pull-request comment's body, in characters
TRUNCATION_RESERVE = 600  # room for the note that says what was left out


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell on GitHub."""
    return markdown_text(text) or " "


def _row(values: Sequence[str]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_row(header), "|" + "---|" * len(header), *(_row(r) for r in rows)]


def _tenant(result: TenantResult, words: dict[str, str]) -> list[str]:
    issues = sorted((f for f in result.findings if is_issue(f)), key=finding_rank)
    passes = [f for f in result.findings if not is_issue(f)]
    lines = [f"### {MARK[result.status]} {cell(result.name)}: {words[result.status.value]}", "",
             f"`{result.tenant_id}` · {cell(result.path)}", ""]
    if issues:
        lines += _table(
            [words[k] for k in ("status", "severity", "check", "resource", "expected", "actual", "message")],
            [[status_label(f, words)[1], severity_label(f, words), f.check, f.resource, f.expected, f.actual, f.message]
             for f in issues],
        )
        lines += ["", f"**{words['what_to_do']}**", ""]
        remediations: dict[str, str] = {}
        for finding in issues:
            remediations.setdefault(finding.check, finding.remediation)
        # Our own remediation text, outside any table: code spans (`pulumi up`) may stay.
        lines += [f"- `{check}`: {markdown_prose(text)}" for check, text in remediations.items() if text]
    else:
        lines.append(words["no_issue"])
    if passes:
        lines += ["", f"<details><summary>{len(passes)} {words['passed']}</summary>", ""]
        lines += _table([words[k] for k in ("check", "resource", "message")],
                        [[f.check, f.resource, f.message] for f in passes])
        lines += ["", "</details>"]
    return lines + [""]


def _size(lines: Sequence[str]) -> int:
    # UTF-8 bytes, one per newline: never fewer than the characters GitHub counts.
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def render(results: Sequence[TenantResult], *, lang: str, generated_at: dt.datetime,
           limit: int = COMMENT_LIMIT) -> str:
    """The report, at most `limit` bytes: worst tenants first, then a note saying what was left out."""
    words = labels(lang)
    summary = summarize(results)
    ordered = worst_first(results)
    head = [
        f"## {words['title']}", "",
        f"**{summary.tenants} {words['tenants']}: {summary.compliant} {words['compliant']}, "
        f"{summary.drift} {words['drift']}, {summary.error} {words['error']}** · "
        f"{words['generated']} {generated_at.isoformat()}", "",
    ]
    header = [words["tenant"], words["status"], *(count_label(v, words).capitalize() for v in OUTCOMES)]
    rows = []
    for result in ordered:
        n = counts(result)
        rows.append([result.name, f"{MARK[result.status]} {words[result.status.value]}", *(str(n[v]) for v in OUTCOMES)])
    sections = [_tenant(result, words) for result in ordered]
    text = "\n".join(head + _table(header, rows) + [""] + [line for s in sections for line in s]).rstrip("\n") + "\n"
    if len(text.encode("utf-8")) <= limit:
        return text
    # Too long for one comment (a large fleet): keep the worst tenants whole, drop the rest,
    # and say so; a comment that GitHub refuses would show nothing at all.
    budget = limit - _size(head) - TRUNCATION_RESERVE
    table = _table(header, [])
    for row in rows:  # the fleet table may use half of what is left
        if _size(table) + _size([_row(row)]) > budget // 2:
            break
        table.append(_row(row))
    listed = len(table) - 2
    lines = head + table + [""]
    shown = 0
    for section in sections:
        if _size(lines) + _size(section) > limit - TRUNCATION_RESERVE:
            break
        lines += section
        shown += 1
    note = words["truncated"].format(limit=f"{limit:,}", listed=listed, shown=shown, total=len(ordered))
    return "\n".join([*lines, f"> **{note}**"]).rstrip("\n") + "\n"
