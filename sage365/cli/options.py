"""Option parsing shared by the commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from sage365.declaration import tenant_files


def parse_today(value: Optional[str]) -> dt.date:
    """--today: a YYYY-MM-DD date, or today's date when not given."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date (YYYY-MM-DD)", param_hint="--today") from None


def tenant_paths(command: str, paths: Optional[list[Path]]) -> list[Path]:
    """The tenant files named by PATH arguments (default tenants/); usage errors exit 2."""
    paths = paths or [Path("tenants")]
    for path in paths:
        if not path.exists():
            typer.echo(f"sage365 {command}: {path}: no such file or folder", err=True)
            raise typer.Exit(2)
    files = tenant_files(paths)
    if not files:
        typer.echo(f"sage365 {command}: no tenant files (*.yaml) in {', '.join(map(str, paths))}", err=True)
        raise typer.Exit(2)
    return files
