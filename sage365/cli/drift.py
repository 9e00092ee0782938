"""`sage365 drift`: read declared tenants live through Microsoft Graph and report drift.

Loads every tenant file first (a single bad file stops everything before any tenant is
read), runs sage365.engine, renders with sage365.reports, exits with findings.exit_code:
0 compliant, 1 drift, 2 a tenant could not be checked (or a usage error).
msgraph and azure-identity are imported only when the command runs.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Optional

import typer

from sage365.catalog import DEFAULT_CATALOG
from sage365.cli.options import Format, catalog_option, graph_url_option, output_option, parse_today, tenant_paths
from sage365.declaration import DeclarationError, Tenant, load_tenant
from sage365.files import OutputError, write_atomic
from sage365.findings import TenantResult, exit_code
from sage365.validation import duplicate_problems

PROGRESS_THRESHOLD = 10  # fewer tenants than this finish before a bar would be worth drawing
# Each tenant in flight holds a client, a credential and up to 20 connections: past a few
# hundred, a run exhausts file descriptors and Graph's per-app throttling long before it goes faster.
MAX_CONCURRENCY = 256


class Lang(str, Enum):
    en = "en"
    fr = "fr"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"sage365 drift: {message}", err=True)
    return typer.Exit(2)


def load_tenants(paths: list[Path] | None) -> list[Tenant]:
    """Every tenant file under `paths`; all problems of all files on stderr, then exit 2."""
    files = tenant_paths("drift", paths)
    tenants, problems = [], []
    for file in files:
        try:
            tenants.append(load_tenant(file))
        except DeclarationError as exc:
            problems.extend(exc.problems)
    # One tenant declared twice would be read twice and reported under two names.
    problems.extend(duplicate_problems(tenants))
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
        raise _fail(f"{len(problems)} problem(s) in the tenant files: nothing was read")
    return tenants


def _run(tenants: list[Tenant], run: Callable[[Callable[[TenantResult], None] | None], list[TenantResult]]) -> list[TenantResult]:
    """Run the engine, with a progress bar on stderr when it is a terminal and the fleet is large."""
    if len(tenants) < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        return run(None)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("reading tenants"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task("tenants", total=len(tenants))
        return run(lambda result: bar.advance(task))


def drift(
    paths: list[Path] = typer.Argument(None, help="Tenant files or folders.  [default: tenants/]", show_default=False),
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="The catalogue of Sage apps."),
    graph_url: Optional[str] = typer.Option(
        None, "--graph-url", envvar="SAGE365_GRAPH_URL",
        help="Microsoft Graph base URL override, e.g. the sandbox's http://127.0.0.1:PORT/v1.0 (sandbox tokens).",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="Report format."),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the report to this file instead of stdout."),
    concurrency: int = typer.Option(16, "--concurrency", min=1, max=MAX_CONCURRENCY, help="Tenants read at the same time."),
    tenant_timeout: float = typer.Option(
        120.0, "--tenant-timeout", min=0.1, max=3600,
        help="Seconds allowed for reading one tenant (connections, slow answers, retries, pages); past it the tenant is an error.",
    ),
    lang: Lang = typer.Option(Lang.en, "--lang", help="Language of messages and remediations."),
    today: Optional[str] = typer.Option(None, "--today", help="Date for waiver expiry and the report's date (YYYY-MM-DD).  [default: today]"),
) -> None:
    """Report drift between live tenants and their declarations. Exit 0 compliant, 1 drift, 2 error."""
    day = parse_today(today)
    graph_url = graph_url_option("drift", graph_url)
    if output is not None:
        output_option("drift", "--output", output)
    tenants = load_tenants(paths)
    loaded_catalog = catalog_option("drift", catalog)

    from sage365 import engine, reports, runner  # msgraph comes in with the engine's first read

    def run(progress: Callable[[TenantResult], None] | None) -> list[TenantResult]:
        return runner.run(
            engine.check_tenants(
                tenants, loaded_catalog, graph_url=graph_url, concurrency=concurrency, tenant_timeout=tenant_timeout,
                today=day, lang=lang.value, progress=progress,
            ),
            freeze=True,
        )

    results = _run(tenants, run)
    # A pinned --today pins the report's timestamp too, so reports can be compared exactly.
    generated_at = (
        dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc) if today else dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    )
    options = {}
    if fmt is Format.table and output is None and sys.stdout.isatty():
        # On a terminal, one line per finding (cut to fit); elsewhere (CI logs, pipes) wrapped.
        options = {"color": True, "width": shutil.get_terminal_size().columns, "truncate": True}
    text = reports.render(fmt.value, results, lang=lang.value, generated_at=generated_at, **options)
    if output is not None:
        try:
            write_atomic(output, text)
        except OutputError as exc:
            raise _fail(f"--output {exc}") from None
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    raise typer.Exit(exit_code(results))
