"""`sage365 validate`: check tenant files; errors on stderr as PATH:LINE:COL: message."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sage365.catalog import DEFAULT_CATALOG, load_catalog
from sage365.cli.options import parse_today, tenant_paths
from sage365.declaration import DeclarationError
from sage365.validation import validate as run_validation


def validate(
    paths: list[Path] = typer.Argument(None, help="Tenant files or folders.  [default: tenants/]", show_default=False),
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="The catalogue of Sage apps."),
    stacks: Optional[Path] = typer.Option(None, "--stacks", help="Folder of Pulumi stack files.  [default: the stacks/ folder beside each file's folder, when there is one]", show_default=False),
    today: Optional[str] = typer.Option(None, "--today", help="Date for waiver expiry (YYYY-MM-DD).  [default: today]"),
) -> None:
    """Validate tenant declarations: schema, then meaning. Exit 0 valid, 1 invalid, 2 usage error."""
    files = tenant_paths("validate", paths)
    try:
        loaded = load_catalog(catalog)
    except DeclarationError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    result = run_validation(files, loaded, today=parse_today(today), stacks_dir=stacks)
    for problem in result.problems:
        typer.echo(str(problem), err=True)
    if result.errors:
        typer.echo(f"{len(result.errors)} error(s) in {len(files)} file(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(files)} tenant file(s) valid" + (f", {len(result.warnings)} warning(s)" if result.warnings else ""))
