"""Helpers for export's tests: run the CLI in-process and drift over what it wrote."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365 import engine
from sage365.catalog import load_catalog
from sage365.cli import app
from sage365.declaration import load_tenant, tenant_files
from sage365.findings import Status

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "catalog" / "catalog.yaml"
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def catalog():
    return load_catalog(CATALOG)


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.delenv("SAGE365_GRAPH_URL", raising=False)

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(app, [*args], input=input)

    return invoke


def export_args(base_url: str, output: Path, *extra: str) -> list[str]:
    return ["export", "--graph-url", base_url, "--catalog", str(CATALOG), "--output", str(output), *extra]


def drift(folder: Path, base_url: str, catalog) -> dict[str, list[tuple[str, str, str]]]:
    """{tenant name: sorted (check, resource, status)} of a drift run over `folder`'s tenant files."""
    tenants = [load_tenant(p) for p in tenant_files([folder])]
    results = asyncio.run(engine.check_tenants(tenants, catalog, graph_url=base_url, today=TODAY))
    return {r.name: sorted((f.check, f.resource, f.status.value) for f in r.findings) for r in results}


def not_passing(findings: list[tuple[str, str, str]]) -> set[str]:
    return {check for check, _, status in findings if status != Status.PASS.value}
