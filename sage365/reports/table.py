"""The terminal table: one line per finding, grouped by tenant, rendered to a string.

Rich draws into a StringIO console; the CLI decides where the text goes and whether it
carries colour (ANSI codes only when `color` is asked for, e.g. on a TTY).
"""

from __future__ import annotations

from io import StringIO
from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sage365.findings import TenantResult, TenantStatus
from sage365.reports.common import labels, status_label, summarize

STYLE = {"pass": "green", "fail": "red", "error": "bold red", "waived": "yellow", "info": "blue"}
TENANT_STYLE = {TenantStatus.COMPLIANT: "bold green", TenantStatus.DRIFT: "bold yellow", TenantStatus.ERROR: "bold red"}
DEFAULT_WIDTH = 200


PADDING = 8  # two blanks between each of the five columns
MIN_MESSAGE = 12


def _widths(result: TenantResult, width: int, words: dict[str, str]) -> tuple[int, ...]:
    """Column widths that fit `width`: fixed ones first, the message takes what is left."""
    def longest(values: list[str], floor: int) -> int:
        return max([floor, *map(len, values)])

    status = longest([status_label(f, words)[1] for f in result.findings], 6)
    severity = longest([f.severity.value for f in result.findings], 8)
    check = longest([f.check for f in result.findings], 8)
    resource = min(longest([f.resource for f in result.findings], 8), 40)
    message = longest([f.message for f in result.findings], 7)
    spare = width - PADDING - status - severity - check
    resource = max(min(resource, spare - MIN_MESSAGE), 8)
    return status, severity, check, resource, max(min(message, spare - resource), 1)


def render(results: Sequence[TenantResult], *, lang: str, width: int | None = None, color: bool = False) -> str:
    words = labels(lang)
    width = width or DEFAULT_WIDTH
    console = Console(file=StringIO(), width=width, force_terminal=color,
                      color_system="standard" if color else None, record=False, highlight=False)
    for result in results:
        console.print(Text.assemble(
            (result.name, "bold"), f"  {result.tenant_id}  {result.path}  ",
            (words[result.status.value], TENANT_STYLE[result.status]),
        ))
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for column, size in zip(("status", "severity", "check", "resource", "message"), _widths(result, width, words)):
            # Explicit widths and no_wrap: one line per finding; the message is truncated
            # first, and the status, which the reader scans for, is never dropped.
            table.add_column(words[column], no_wrap=True, overflow="ellipsis", width=size)
        for finding in result.findings:
            value, word = status_label(finding, words)
            table.add_row(Text(word, STYLE[value]), finding.severity.value,
                          finding.check, finding.resource, finding.message)
        console.print(table)
        console.print()
    summary = summarize(results)
    console.print(
        f"{summary.tenants} {words['tenants']}: {summary.compliant} {words['compliant']}, "
        f"{summary.drift} {words['drift']}, {summary.error} {words['error']}"
    )
    text = console.file.getvalue()  # type: ignore[attr-defined]
    # Rich pads cells to the column width; trailing blanks only get in the way of diffs and greps.
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
