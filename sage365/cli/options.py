"""Option parsing shared by the commands."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from enum import Enum
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

import typer

from sage365.catalog import Catalog, load_catalog
from sage365.declaration import DeclarationError, tenant_files
from sage365.files import OutputError, check_output
from sage365.text import visible

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


def catalog_option(command: str, path: Path) -> Catalog:
    """--catalog loaded, or every problem in it on stderr and exit 2 before any tenant is read."""
    try:
        return load_catalog(path)
    except DeclarationError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"sage365 {command}: the catalogue cannot be used: nothing was read", err=True)
        raise typer.Exit(2) from None


def output_option(command: str, option: str, path: Path) -> None:
    """A file to write at the end, refused now (a folder, a FIFO, a missing folder), not after every
    tenant has been read: exit 2."""
    try:
        check_output(path)
    except OutputError as exc:
        typer.echo(f"sage365 {command}: {option} {exc}", err=True)
        raise typer.Exit(2) from None


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
    if value is None:
        return None
    value = value.strip()
    problem = graph_url_problem(value)
    if problem is not None:
        source = "--graph-url" if from_env is None or value != from_env.strip() else f"${GRAPH_URL_ENV}"
        typer.echo(f"sage365 {command}: {source} '{visible(value)}': {problem}", err=True)
        raise typer.Exit(2)
    return value


LOOPBACK_NAMES = {"localhost"}
# What urlsplit leaves as a hostname: a DNS name (IDNs in their xn-- form) or an IP address.
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?|[0-9a-f:.]+")


def graph_url_problem(value: str) -> str | None:
    """Why `value` cannot be a Microsoft Graph base URL, or None. https to any host; plain http only to
    this machine (the sandbox), so a token never crosses a network in clear text."""
    try:
        parts = urlsplit(value)
        port = parts.port  # a bad port raises here, not at the first request
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("https", "http"):
        return "not an http(s) URL: give https://HOST/v1.0, or the sandbox's http://127.0.0.1:PORT/v1.0"
    host = parts.hostname
    if not host:
        return "no host: give https://HOST/v1.0, or the sandbox's http://127.0.0.1:PORT/v1.0"
    if not _HOST.fullmatch(host):
        return f"'{visible(host)}' is not a host name or IP address"
    if parts.username is not None or parts.password is not None:
        return "a user or password in the URL: tokens are the only credentials sent"
    if port == 0:
        return "port 0 cannot be connected to"
    if parts.query or parts.fragment:
        return "a query or fragment: give the base URL only, e.g. https://graph.microsoft.com/v1.0"
    if parts.scheme == "http" and not _is_loopback(host):
        return f"plain http to {host}: only this machine (127.0.0.1, ::1, localhost) may be reached without https"
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Format(str, Enum):
    """The report formats of `drift` and `ci render`."""

    table = "table"
    json = "json"
    markdown = "markdown"
    junit = "junit"
    html = "html"
