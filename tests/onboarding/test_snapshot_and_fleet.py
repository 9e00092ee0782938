"""Snapshots replayed in the sandbox, redaction, and a 200-tenant export with one failure."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from sage365.sandbox.state import read_raw
from tests.onboarding.conftest import drift, export_args
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, FABRIKAM, NORTHWIND

IDS = f"{CONTOSO}\n{FABRIKAM}\n{NORTHWIND}\n"
# What the demo state says about people and the customers, none of which may survive --redact.
PERSONAL = ["alice", "bob", "carole", "david", "claire", "Martin", "Durand", "Fontaine", "contoso.fr",
            "northwind-traders.fr", "contoso.onmicrosoft", "Contoso", "Northwind", "Fabrikam", "fabrikam",
            "Comptable", "Lyon", "+33"]


def statuses(found: dict) -> list[list[tuple[str, str]]]:
    """Per tenant (in name order), the (check id, status) pairs: what must survive redaction."""
    return [sorted((check, status) for check, _, status in found[name]) for name in sorted(found)]


def test_a_snapshot_replays_to_the_same_drift(sandbox_server, cli, catalog, tmp_path):
    live = sandbox_server(DEMO_STATE)
    snapshot = tmp_path / "snapshot.yaml"
    done = cli(*export_args(live.base_url, tmp_path / "a", "--tenant-ids", "-", "--snapshot", str(snapshot)), input=IDS)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"snapshot of 3 tenant(s): {snapshot}"

    replay = sandbox_server(snapshot)
    again = cli(*export_args(replay.base_url, tmp_path / "b", "--tenant-ids", "-"), input=IDS)
    assert again.exit_code == 0, again.stderr
    for path in (tmp_path / "a").rglob("*.yaml"):
        assert (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes() == path.read_bytes()
    assert drift(tmp_path / "b" / "tenants", replay.base_url, catalog) == drift(tmp_path / "a" / "tenants", live.base_url, catalog)


def test_a_redacted_snapshot_gives_the_same_findings_and_no_names(sandbox_server, cli, catalog, tmp_path):
    live = sandbox_server(DEMO_STATE)
    snapshot = tmp_path / "redacted.yaml"
    done = cli(*export_args(live.base_url, tmp_path / "a", "--tenant-ids", "-", "--snapshot", str(snapshot), "--redact"),
               input=IDS)
    assert done.exit_code == 0, done.stderr
    text = snapshot.read_text()
    leaked = [word for word in PERSONAL if word.lower() in text.lower()]
    assert leaked == []
    raw = read_raw(snapshot)
    contoso = raw["tenants"][CONTOSO]
    assert sorted(u["userPrincipalName"] for u in contoso["users"]) == [
        "user1@tenant2.onmicrosoft.com", "user2@domain1.example", "user3@domain1.example"]
    assert [g["displayName"] for g in contoso["groups"]] == ["Sage Contact (group 1)"]
    # Ids, SKUs, plans, app ids and scopes are kept as they were.
    assert [s["skuId"] for s in contoso["subscribedSkus"]] == ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"]
    assert sorted(g["scope"] for g in contoso["oauth2PermissionGrants"]) == [
        "openid profile offline_access User.Read",
        "openid profile offline_access User.Read Contacts.ReadWrite Mail.Read"]

    replay = sandbox_server(snapshot)
    again = cli(*export_args(replay.base_url, tmp_path / "b", "--tenant-ids", "-"), input=IDS)
    assert again.exit_code == 0, again.stderr
    original = drift(tmp_path / "a" / "tenants", live.base_url, catalog)
    redacted = drift(tmp_path / "b" / "tenants", replay.base_url, catalog)
    assert statuses(redacted) == statuses(original)
    assert sorted(original) == ["contoso", "fabrikam", "northwind-traders"]
    # The replayed export names tenants after the pseudonyms, never after the customers.
    assert sorted(redacted) == ["organization-1", "organization-2", "organization-3"]


def fleet_state(count: int) -> dict:
    """`count` copies of the demo's contoso, each its own tenant and organization name."""
    raw = read_raw(DEMO_STATE)
    template = raw["tenants"][CONTOSO]
    tenants = {}
    for index in range(count):
        tenant_id = f"{index:08x}-0000-4000-8000-{index:012x}"
        clone = copy.deepcopy(template)
        clone["organization"][0].update(id=tenant_id, displayName=f"Customer {index}")
        tenants[tenant_id] = clone
    return {"applications": raw["applications"], "tenants": tenants}


def test_200_tenants_with_one_failing_write_199_pairs_and_exit_2(sandbox_server, cli, tmp_path):
    state = fleet_state(199)
    sandbox = sandbox_server(state)
    missing = "ffffffff-0000-4000-8000-ffffffffffff"  # not in the sandbox: its token is refused
    ids = list(state["tenants"])
    ids.insert(100, missing)
    listing = tmp_path / "ids.txt"
    listing.write_text("# customers\n" + "\n".join(ids) + "\n")
    done = cli(*export_args(sandbox.base_url, tmp_path / "out", "--tenant-ids", str(listing), "--concurrency", "32"))
    assert done.exit_code == 2
    errors = done.stderr.splitlines()
    assert len(errors) == 2
    assert re.fullmatch(rf"sage365 export: {missing}: authentication failed for tenant {missing}: 401 "
                        r"InvalidAuthenticationToken: .*; nothing was read", errors[0])
    assert errors[1] == "sage365 export: 1 of 200 tenant(s) not exported"
    written = sorted(p.name for p in (tmp_path / "out" / "tenants").iterdir())
    assert written == sorted(f"customer-{i}.yaml" for i in range(199))
    assert len(list((tmp_path / "out" / "stacks").iterdir())) == 199
    assert len(done.stdout.splitlines()) == 199


def test_two_tenants_with_one_name_fail_the_later_one_every_time(sandbox_server, cli, tmp_path):
    state = fleet_state(2)
    for tenant in state["tenants"].values():
        tenant["organization"][0]["displayName"] = "Same Name"
    sandbox = sandbox_server(state)
    first, second = list(state["tenants"])
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-ids", "-"), input=f"{first}\n{second}\n")
    assert done.exit_code == 2
    assert done.stderr.splitlines()[0] == (
        f"sage365 export: {second}: the name 'same-name' is already that of tenant {first} in this export: "
        f"give this one its own (`{second} NAME` in the list, or --name)")
    assert Path(tmp_path / "tenants" / "same-name.yaml").read_text().count(first) == 2
