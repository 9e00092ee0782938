"""Reports: pure renderers from tenant results to text (table, json, markdown, junit, html).

Nothing here prints, reads the clock or touches files: the CLI passes the results and the
timestamp in and writes the string where it wants.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from sage365.findings import TenantResult
from sage365.reports import html_report, json_report, junit, markdown, table

FORMATS = ("table", "json", "markdown", "junit", "html")


def render(fmt: str, results: Sequence[TenantResult], *, lang: str = "en", generated_at: dt.datetime,
           width: int | None = None, color: bool = False, truncate: bool = False) -> str:
    """The report of `results` in format `fmt`; `width`, `color` and `truncate` concern the table only."""
    if fmt == "table":
        return table.render(results, lang=lang, width=width, color=color, truncate=truncate)
    if fmt == "json":
        return json_report.render(results, lang=lang, generated_at=generated_at)
    if fmt == "markdown":
        return markdown.render(results, lang=lang, generated_at=generated_at)
    if fmt == "junit":
        return junit.render(results, lang=lang, generated_at=generated_at)
    if fmt == "html":
        return html_report.render(results, lang=lang, generated_at=generated_at)
    raise ValueError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
