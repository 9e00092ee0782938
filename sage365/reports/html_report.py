"""The HTML report: one self-contained page for the whole fleet.

Readable at a glance: a summary, then a tile per tenant coloured by status, worst first,
then each tenant's findings (problems first, passes folded away). No script, no external
resource; every piece of text goes through html.escape, and text from a declaration or
Graph through safe.html_text first (control characters shown escaped).
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from sage365.findings import Finding, TenantResult
from sage365.reports.common import (
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
from sage365.reports.safe import html_text as escape

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1f2328}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
.tiles{display:flex;flex-wrap:wrap;gap:.5em}
.tile{border-radius:6px;padding:.5em .8em;color:#fff;text-decoration:none;min-width:10em}
.tile.error,.badge.error{background:#b42318}.tile.drift,.badge.drift,.badge.fail{background:#b54708}
.tile.compliant,.badge.compliant,.badge.pass{background:#067647}.badge.waived{background:#6941c6}.badge.info{background:#475467}
.badge{color:#fff;border-radius:4px;padding:0 .4em;font-size:.9em;white-space:nowrap}
table{border-collapse:collapse;margin:.5em 0;width:100%;table-layout:fixed}
td,th{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word}
col.status{width:11%}col.severity{width:7.5%}col.check{width:12.5%}col.resource{width:13.5%}
col.expected,col.actual{width:12.5%}
tr.fix td{border-top:none;background:#f6f8fa;padding-left:2em}
.meta{color:#57606a}
"""
# Fixed layout with set shares for the short columns; the message takes the rest (30.5%), and each
# failure's remediation is a full-width row under it (a seventh and eighth column squeezed
# every failing row to one or two words per line at 1024-1400 px).
COLUMNS = ("status", "severity", "check", "resource", "expected", "actual", "message")


def _badge(value: str, text: str) -> str:
    return f'<span class="badge {escape(value)}">{escape(text)}</span>'


def _rows(findings: Sequence[Finding], words: dict[str, str], remediation: bool) -> list[str]:
    out = ["<table>", "<colgroup>" + "".join(f'<col class="{c}">' for c in COLUMNS) + "</colgroup>",
           "<tr>" + "".join(f"<th>{escape(words[c])}</th>" for c in COLUMNS) + "</tr>"]
    for f in sorted(findings, key=finding_rank):  # stable: check order kept within a rank
        cells = [_badge(*status_label(f, words))]
        cells += [escape(v) for v in (severity_label(f, words), f.check, f.resource, f.expected, f.actual, f.message)]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        if remediation and f.remediation:
            out.append(f'<tr class="fix"><td colspan="{len(COLUMNS)}"><strong>{escape(words["what_to_do"])}:</strong> '
                       f"{escape(f.remediation)}</td></tr>")
    return out + ["</table>"]


def _tenant(result: TenantResult, words: dict[str, str]) -> list[str]:
    issues = [f for f in result.findings if is_issue(f)]
    passes = [f for f in result.findings if not is_issue(f)]
    out = [f'<section id="tenant-{escape(result.name)}">',
           f"<h2>{escape(result.name)} {_badge(result.status.value, words[result.status.value])}</h2>",
           f'<p class="meta">{escape(result.tenant_id)} · {escape(result.path)}</p>']
    out += _rows(issues, words, remediation=True) if issues else [f"<p>{escape(words['no_issue'])}</p>"]
    if passes:
        out += [f"<details><summary>{len(passes)} {escape(words['passed'])}</summary>",
                *_rows(passes, words, remediation=False), "</details>"]
    return out + ["</section>"]


def render(results: Sequence[TenantResult], *, lang: str, generated_at: dt.datetime) -> str:
    words = labels(lang)
    summary = summarize(results)
    ordered = worst_first(results)
    title = escape(words["title"])
    out = [
        "<!DOCTYPE html>", f'<html lang="{escape(lang)}">', "<head>", '<meta charset="utf-8">',
        f"<title>{title}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>{title}</h1>",
        f'<p class="meta">{summary.tenants} {escape(words["tenants"])}: {summary.error} {escape(words["error"])}, '
        f'{summary.drift} {escape(words["drift"])}, {summary.compliant} {escape(words["compliant"])} · '
        f'{escape(words["generated"])} {escape(generated_at.isoformat())}</p>',
        '<nav class="tiles">',
    ]
    for result in ordered:
        n = counts(result)
        detail = ", ".join(f"{n[v]} {count_label(v, words)}" for v in OUTCOMES if n[v])
        out.append(f'<a class="tile {result.status.value}" href="#tenant-{escape(result.name)}">'
                   f"<strong>{escape(result.name)}</strong><br>{escape(words[result.status.value])}"
                   f"<br><small>{escape(detail)}</small></a>")
    out.append("</nav>")
    for result in ordered:
        out += _tenant(result, words)
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
