"""`sage365 drift`: being built (issue 4)."""

import typer


def drift() -> None:
    """Report drift between live tenants and their declarations (being built)."""
    typer.echo("sage365 drift: not built yet", err=True)
    raise typer.Exit(2)
