"""spec.connector: declared, defaulted, and its catalogue key checked by `sage365 validate`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sage365.catalog import load_catalog
from sage365.declaration import ConnectorDeclaration, load_tenant
from sage365.validation import validate

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, connector: str) -> Path:
    base = (ROOT / "tenants" / "fabrikam.yaml").read_text(encoding="utf-8")
    text = base[: base.index("  connector:")] + connector  # fabrikam's own connector replaced
    path = tmp_path / "fabrikam.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_an_unknown_app_key(tmp_path):
    path = write(tmp_path, "  connector:\n    machineName: SRV\n    app: sage-connectr\n")
    assert load_tenant(path).connector == ConnectorDeclaration(machine_name="SRV", minimum_version=None, app="sage-connectr")
    result = validate([path], load_catalog(ROOT / "catalog" / "catalog.yaml"), today=dt.date(2026, 11, 28))
    assert [str(p) for p in result.problems] == [
        f"{path}:16:5: spec.connector.app: unknown catalogue key 'sage-connectr' (its sign-ins are the connector's "
        "fallback signal)"]
    empty = write(tmp_path, "  connector: {}\n")
    assert load_tenant(empty).connector == ConnectorDeclaration()


def test_a_bad_minimum_version_is_a_schema_error(tmp_path):
    path = write(tmp_path, "  connector:\n    minimumVersion: latest\n")
    result = validate([path], load_catalog(ROOT / "catalog" / "catalog.yaml"), today=dt.date(2026, 11, 28))
    assert [str(p) for p in result.problems] == [
        f"{path}:15:5: spec.connector.minimumVersion: 'latest' is not a valid value (pattern ^[0-9]{{1,5}}(\\.[0-9]{{1,5}}){{0,3}}$)"]


def test_a_connector_without_machine_or_group_warns_that_any_active_connector_passes(tmp_path):
    catalog = load_catalog(ROOT / "catalog" / "catalog.yaml")
    warning = ("warning: spec.connector: neither machineName nor connectorGroup is declared, so any active connector "
               "in the tenant (another application's too) would satisfy connector.status: name the Sage server's "
               "machine or its connector group")
    path = write(tmp_path, "  connector:\n    minimumVersion: 1.5.0.0\n")
    result = validate([path], catalog, today=dt.date(2026, 11, 28))
    assert ([str(p) for p in result.problems], result.errors) == ([f"{path}:14:3: {warning}"], ())
    empty = write(tmp_path, "  connector: {}\n")
    assert [str(p) for p in validate([empty], catalog, today=dt.date(2026, 11, 28)).problems] == [
        f"{empty}:14:3: {warning}"]
    for named in ("    machineName: SRV\n", "    connectorGroup: Sage 100\n"):
        declared = write(tmp_path, "  connector:\n" + named)
        assert validate([declared], catalog, today=dt.date(2026, 11, 28)).problems == ()
