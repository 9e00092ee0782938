"""Export and step 7: the connectors Graph beta lists become `spec.connector`, a refused read
becomes a comment, and a snapshot replays connector.status as the tenant answered it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from sage365.sandbox.state import read_raw
from tests.onboarding.conftest import drift, export_args
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, NORTHWIND

ROOT = Path(__file__).resolve().parents[2]
SIGN_IN = {"id": "MDAwMDAwMDAtNWE2ZS00MDAwLTgwMDAtMDAwMDAwMDAwMDAz", "appId": "00000000-5a6e-4000-8000-000000000003",
           "lastSignInActivity": {"lastSignInDateTime": "2026-11-27T07:58:00Z",
                                  "lastSignInRequestId": "6b1f5d0e-0000-4000-8000-000000000001"}}


def connector_findings(found: dict) -> dict[str, list[tuple[str, str, str]]]:
    return {name: [f for f in findings if f[0] == "connector.status"] for name, findings in found.items()}


def test_a_refused_read_is_a_comment_and_the_snapshot_replays_it(sandbox_server, cli, catalog, tmp_path):
    raw = json.loads(json.dumps(read_raw(DEMO_STATE)))
    raw["tenants"][CONTOSO]["connectorsDenied"] = True  # contoso: read-only identity; northwind: inactive connector
    live = sandbox_server(raw)
    snapshot = tmp_path / "snapshot.yaml"
    done = cli(*export_args(live.base_url, tmp_path / "a", "--tenant-ids", "-", "--snapshot", str(snapshot)),
               input=f"{CONTOSO}\n{NORTHWIND}\n")
    assert done.exit_code == 0, done.stderr
    contoso = (tmp_path / "a" / "tenants" / "contoso.yaml").read_text()
    assert "connector" not in yaml.safe_load(contoso)["spec"]
    assert contoso.splitlines()[-1] == (
        '  # The application proxy connectors could not be read (Graph beta answered "403 Authorization_RequestDenied: '
        'Insufficient privileges to complete the operation."; see docs/exchange.md, Connectors): connector not '
        "declared, declare spec.connector by hand")

    saved = read_raw(snapshot)["tenants"]
    assert (saved[CONTOSO]["connectorsDenied"], saved[CONTOSO].get("connectors")) == (True, None)
    assert saved[CONTOSO]["servicePrincipalSignInActivities"] == [SIGN_IN]  # drift's fallback signal
    assert saved[NORTHWIND]["connectors"] == [
        {"id": "30000000-0004-4000-8000-000000000001", "machineName": "NW-SAGE100.northwind.local",
         "externalIp": "198.51.100.20", "status": "inactive", "version": "1.5.3437.0"}]
    assert "connectorsDenied" not in saved[NORTHWIND]

    # The shipped declarations (which declare both connectors) drift the same on the replay as live.
    declared = tmp_path / "declared"
    declared.mkdir()
    for name in ("contoso", "northwind"):
        shutil.copy(ROOT / "tenants" / f"{name}.yaml", declared)
    replay = sandbox_server(snapshot)
    expected = {"contoso": [("connector.status", "SAGE100-SRV", "error")],
                "northwind": [("connector.status", "NW-SAGE100", "fail")]}
    assert connector_findings(drift(declared, live.base_url, catalog)) == expected
    assert connector_findings(drift(declared, replay.base_url, catalog)) == expected
    assert drift(declared, replay.base_url, catalog) == drift(declared, live.base_url, catalog)


def test_a_redacted_snapshot_keeps_the_connectors_without_their_names(sandbox_server, cli, catalog, tmp_path):
    live = sandbox_server(DEMO_STATE)
    snapshot = tmp_path / "redacted.json"
    done = cli(*export_args(live.base_url, tmp_path / "a", "--tenant-ids", "-", "--snapshot", str(snapshot), "--redact"),
               input=f"{CONTOSO}\n{NORTHWIND}\n")
    assert done.exit_code == 0, done.stderr
    saved = read_raw(snapshot)["tenants"]
    assert saved[CONTOSO]["connectors"] == [
        {"id": "10000000-0004-4000-8000-000000000001", "machineName": "server1", "status": "active",
         "version": "1.5.3437.0"}]
    assert saved[NORTHWIND]["connectors"] == [
        {"id": "30000000-0004-4000-8000-000000000001", "machineName": "server2", "status": "inactive",
         "version": "1.5.3437.0"}]
    text = snapshot.read_text()
    assert [w for w in ("SAGE100", "contoso.local", "northwind.local", "203.0.113", "198.51.100") if w in text] == []

    # Exported again from the replay: the pseudonym machine is declared, and connector.status is the same.
    replay = sandbox_server(snapshot)
    again = cli(*export_args(replay.base_url, tmp_path / "b", "--tenant-ids", "-"), input=f"{CONTOSO}\n{NORTHWIND}\n")
    assert again.exit_code == 0, again.stderr
    specs = {p.stem: yaml.safe_load(p.read_text())["spec"] for p in (tmp_path / "b" / "tenants").iterdir()}
    assert sorted((n, s["connector"]["machineName"]) for n, s in specs.items()) == [
        ("organization-1", "server1"), ("organization-2", "server2")]
    assert connector_findings(drift(tmp_path / "b" / "tenants", replay.base_url, catalog)) == {
        "organization-1": [("connector.status", "server1", "pass")],
        "organization-2": [("connector.status", "server2", "fail")]}
    assert connector_findings(drift(tmp_path / "a" / "tenants", live.base_url, catalog)) == {
        "contoso": [("connector.status", "SAGE100-SRV", "pass")],
        "northwind-traders": [("connector.status", "NW-SAGE100", "fail")]}
