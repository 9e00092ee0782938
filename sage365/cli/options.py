"""Option parsing shared by the commands."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Optional

import typer

from sage365.declaration import tenant_files

GRAPH_URL_ENV = "SAGE365_GRAPH_URL"  # as sage365.graph.client's, without importing msgraph here


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
    try:
        files = tenant_files(paths)
    except OSError as exc:
        typer.echo(f"sage365 {command}: {exc.filename}: cannot list the folder: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    if not files:
        typer.echo(f"sage365 {command}: no tenant files (*.yaml) in {', '.join(map(str, paths))}", err=True)
        raise typer.Exit(2)
    return files


def graph_url_option(command: str, value: Optional[str]) -> Optional[str]:
    """--graph-url or $SAGE365_GRAPH_URL; set but blank is a mistake (an unset CI variable),
    never a reason to fall back to production Graph: exit 2."""
    from_env = os.environ.get(GRAPH_URL_ENV)
    if value is None and from_env is not None:
        value = from_env  # click drops an empty variable: look at it ourselves
    if value is not None and not value.strip():
        source = "--graph-url" if from_env is None or value != from_env else f"${GRAPH_URL_ENV}"
        typer.echo(f"sage365 {command}: {source} is empty: give the sandbox's URL, or unset it to read the real "
                   "Microsoft Graph", err=True)
        raise typer.Exit(2)
    return value.strip() if value is not None else None
