"""Export's snapshot carries the catalogue add-ins' Exchange organization apps (and Exchange's
refusal of the identity), so a replay reports addin.deployment as the live tenant did."""

from __future__ import annotations

import json

from sage365.sandbox.state import read_raw
from tests.onboarding.conftest import drift, export_args
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, NORTHWIND

APP_ID = "00000000-5a6e-4000-8000-0000000000a1"


def test_the_snapshot_holds_the_deployments_and_a_refusal(sandbox_server, cli, catalog, tmp_path):
    raw = json.loads(json.dumps(read_raw(DEMO_STATE)))
    raw["tenants"][NORTHWIND]["exchangeDenied"] = True
    raw["tenants"][CONTOSO]["organizationApps"].append(
        {"AppId": "11111111-0000-4000-8000-000000000001", "DisplayName": "Another vendor's add-in", "AppVersion": "3.0"})
    live = sandbox_server(raw)
    snapshot = tmp_path / "snapshot.yaml"
    done = cli(*export_args(live.base_url, tmp_path / "a", "--tenant-ids", "-", "--snapshot", str(snapshot)),
               input=f"{CONTOSO} contoso\n{NORTHWIND} northwind\n")
    assert done.exit_code == 0, done.stderr
    saved = read_raw(snapshot)["tenants"]
    # Only the catalogue's add-in is kept: other vendors' apps are none of Sage's business.
    assert [(a["AppId"], a["UserList"]) for a in saved[CONTOSO]["organizationApps"]] == [
        (APP_ID, ["alice@contoso.fr", "bob@contoso.fr"])]
    assert (saved[NORTHWIND].get("organizationApps"), saved[NORTHWIND]["exchangeDenied"]) == (None, True)
    replay = sandbox_server(snapshot)
    before, after = drift(tmp_path / "a" / "tenants", live.base_url, catalog), drift(tmp_path / "a" / "tenants", replay.base_url, catalog)
    assert after == before
    assert [f for f in after["contoso"] if f[0] == "addin.deployment"] == [
        ("addin.deployment", "alice@contoso.fr", "pass"), ("addin.deployment", "bob@contoso.fr", "pass"),
        ("addin.deployment", "sage-contact", "pass")]
    assert [f for name in after if name != "contoso" for f in after[name] if f[0] == "addin.deployment"] == [
        ("addin.deployment", "sage-contact", "error")]
