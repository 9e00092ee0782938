"""The terminal table: one row per finding, grouped by tenant, then what to do, as a string.

Rich draws into a StringIO console; the CLI decides where the text goes and whether it
carries colour (ANSI codes only when `color` is asked for, e.g. on a TTY). Every cell is a
rich `Text` of `visible()` data, never a markup string: a `[/x]` or `[red]` in a group
name is shown as typed, and an escape sequence from Graph is shown escaped, not obeyed.
A message longer than its column wraps (CI logs, files, pipes: nothing is lost); with
`truncate` (the CLI's choice on a terminal) each finding stays on one line, cut with "…".
Under each tenant with issues, "What to do" gives each failing check's remediation once,
as the Markdown report does.
"""

from __future__ import annotations

from io import StringIO
from typing import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sage365.findings import TenantResult, TenantStatus
from sage365.reports.common import finding_rank, is_issue, labels, severity_label, status_label, summarize
from sage365.reports.safe import visible

STYLE = {"pass": "green", "fail": "red", "error": "bold red", "waived": "yellow", "info": "blue"}
TENANT_STYLE = {TenantStatus.COMPLIANT: "bold green", TenantStatus.DRIFT: "bold yellow", TenantStatus.ERROR: "bold red"}
DEFAULT_WIDTH = 200


PADDING = 8  # two blanks between each of the five columns
MIN_MESSAGE = 12


def _widths(result: TenantResult, width: int, words: dict[str, str], truncate: bool) -> tuple[int, ...]:
    """Column widths that fit `width`: fixed ones first, the message takes what is left (when
    wrapping, at least half of it: a narrow message column makes every row many lines tall)."""
    def longest(values: list[str], floor: int) -> int:
        return max([floor, *map(cell_len, values)])  # terminal cells: 日本 takes four

    status = longest([status_label(f, words)[1] for f in result.findings], 6)
    severity = longest([severity_label(f, words) for f in result.findings], 8)
    check = longest([visible(f.check) for f in result.findings], 8)
    resource = min(longest([visible(f.resource) for f in result.findings], 8), 40)
    message = longest([visible(f.message) for f in result.findings], 7)
    spare = width - PADDING - status - severity - check
    resource = max(min(resource, spare - (MIN_MESSAGE if truncate else max(MIN_MESSAGE, spare // 2))), 8)
    return status, severity, check, resource, max(min(message, spare - resource), 1)


def _what_to_do(console: Console, result: TenantResult, words: dict[str, str]) -> None:
    """Each failing check's remediation, once per check, worst first (our own text, shown as data anyway)."""
    remediations: dict[str, str] = {}
    for finding in sorted((f for f in result.findings if is_issue(f)), key=finding_rank):
        if finding.remediation:
            remediations.setdefault(finding.check, finding.remediation)
    if not remediations:
        return
    console.print()
    console.print(Text(words["what_to_do"], "bold"))
    for check, text in remediations.items():
        console.print(Text.assemble("- ", (visible(check), "bold"), ": ", visible(text)))


def render(results: Sequence[TenantResult], *, lang: str, width: int | None = None, color: bool = False,
           truncate: bool = False) -> str:
    words = labels(lang)
    width = width or DEFAULT_WIDTH
    console = Console(file=StringIO(), width=width, force_terminal=color,
                      color_system="standard" if color else None, record=False, highlight=False)
    for result in results:
        console.print(Text.assemble(
            (visible(result.name), "bold"), f"  {visible(result.tenant_id)}  {visible(result.path)}  ",
            (words[result.status.value], TENANT_STYLE[result.status]),
        ))
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for column, size in zip(("status", "severity", "check", "resource", "message"), _widths(result, width, words, truncate)):
            # Explicit widths: the message gives way first (wrapped, or cut when truncating),
            # and the status, which the reader scans for, is never dropped.
            wraps = column in ("resource", "message") and not truncate
            table.add_column(words[column], no_wrap=not wraps, overflow="fold" if wraps else "ellipsis", width=size)
        for finding in result.findings:
            value, word = status_label(finding, words)
            table.add_row(Text(word, STYLE[value]), Text(severity_label(finding, words)), Text(visible(finding.check)),
                          Text(visible(finding.resource)), Text(visible(finding.message)))
        console.print(table)
        _what_to_do(console, result, words)
        console.print()
    summary = summarize(results)
    console.print(Text(
        f"{summary.tenants} {words['tenants']}: {summary.compliant} {words['compliant']}, "
        f"{summary.drift} {words['drift']}, {summary.error} {words['error']}"
    ))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    # Rich pads cells to the column width; trailing blanks only get in the way of diffs and greps.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
