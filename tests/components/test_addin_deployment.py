"""The add-in deployment resource: its provider's methods called directly against the
sandbox's Exchange endpoint (real HTTP), and its registration under Pulumi's mock runtime.
Nothing here ran against the Pulumi CLI or a real Exchange Online organization."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

import components.gate
from components.addin_deployment import DeploymentError, OutlookAddinDeploymentProvider
from components.program import main
from sage365.catalog import load_catalog
from sage365.sandbox import routes_exchange
from sage365.sandbox.state import read_raw
from tests.components.harness import DYNAMIC, TENANT_IDS, run_program
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, FABRIKAM, NORTHWIND

APP_ID = "00000000-5a6e-4000-8000-0000000000a1"
CATALOG = load_catalog("catalog/catalog.yaml")
MANIFEST = CATALOG.apps["sage-contact"].addin.info
ENDPOINT = "POST /adminapi/beta/{tenantId}/InvokeCommand"


def props(server, tenant_id: str, users: list[str], *, manifest: bytes | None = None, version: str = "1.0.0.0",
          **extra) -> dict:
    data = manifest if manifest is not None else MANIFEST.data
    return {"tenant_id": tenant_id, "app_id": APP_ID, "version": version, "manifest": base64.b64encode(data).decode(),
            "users": users, "enabled": True, "default_state": "Enabled", "exchange_url": server.url, **extra}


def live(server, tenant_id: str) -> dict | None:
    app = server.call(lambda: server.state.tenants[tenant_id].organizationApps.get(APP_ID))
    return dict(app) if app is not None else None


def newer_manifest(version: str) -> bytes:
    return MANIFEST.data.replace(b"<Version>1.0.0.0</Version>", f"<Version>{version}</Version>".encode())


PROVIDER = OutlookAddinDeploymentProvider()


def test_create_deploys_to_exactly_the_users_and_delete_removes_what_it_created(sandbox_server):
    server = sandbox_server()
    inputs = props(server, FABRIKAM, ["emma@fabrikam.onmicrosoft.com", "FRANCK@fabrikam.onmicrosoft.com"])
    created = PROVIDER.create(inputs)
    assert (created.id, created.outs) == (f"{FABRIKAM}/{APP_ID}", {**inputs, "created": True})
    app = live(server, FABRIKAM)
    assert (app["AppVersion"], app["ProvidedTo"], app["UserList"], app["Enabled"], app["DefaultStateForUser"]) == (
        "1.0.0.0", "SpecificUsers", ["emma@fabrikam.onmicrosoft.com", "franck@fabrikam.onmicrosoft.com"], True, "Enabled")
    PROVIDER.delete(created.id, created.outs)
    assert live(server, FABRIKAM) is None
    # Deleting again (already gone by hand) is not an error.
    PROVIDER.delete(created.id, created.outs)


def test_an_add_in_already_deployed_is_adopted_aligned_and_never_removed(demo_sandbox):
    inputs = props(demo_sandbox, NORTHWIND, ["claire@northwind-traders.fr", "david@northwind-traders.fr"])
    created = PROVIDER.create(inputs)
    assert created.outs["created"] is False
    assert live(demo_sandbox, NORTHWIND)["UserList"] == ["claire@northwind-traders.fr", "david@northwind-traders.fr"]
    PROVIDER.delete(created.id, created.outs)
    assert live(demo_sandbox, NORTHWIND)["UserList"] == ["claire@northwind-traders.fr", "david@northwind-traders.fr"]
    # Get-App, then Set-App (the version was current); nothing for the delete.
    assert demo_sandbox.stats.requests(NORTHWIND, ENDPOINT) == 2


def test_update_changes_users_and_upgrades_the_version(demo_sandbox):
    olds = {**props(demo_sandbox, CONTOSO, ["alice@contoso.fr", "bob@contoso.fr"]), "created": True}
    news = props(demo_sandbox, CONTOSO, ["alice@contoso.fr"], manifest=newer_manifest("1.1.0.0"), version="1.1.0.0")
    diff = PROVIDER.diff(f"{CONTOSO}/{APP_ID}", olds, news)
    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (True, [], True)
    updated = PROVIDER.update(f"{CONTOSO}/{APP_ID}", olds, news)
    assert updated.outs == {**news, "created": True}
    app = live(demo_sandbox, CONTOSO)
    assert (app["AppVersion"], app["UserList"]) == ("1.1.0.0", ["alice@contoso.fr"])


def test_read_reports_the_live_deployment_and_its_disappearance(demo_sandbox):
    inputs = {**props(demo_sandbox, CONTOSO, ["alice@contoso.fr", "bob@contoso.fr"]), "created": False}
    demo_sandbox.call(lambda: demo_sandbox.state.tenants[CONTOSO].organizationApps[APP_ID].update(
        UserList=["alice@contoso.fr"], Enabled=False))
    read = PROVIDER.read(f"{CONTOSO}/{APP_ID}", inputs)
    assert read.id == f"{CONTOSO}/{APP_ID}"
    assert (read.outs["users"], read.outs["enabled"], read.outs["provided_to"]) == (["alice@contoso.fr"], False, "SpecificUsers")
    # The refreshed state differs from the declaration: the next update puts it back.
    assert PROVIDER.diff(read.id, read.outs, props(demo_sandbox, CONTOSO, ["alice@contoso.fr", "bob@contoso.fr"])).changes
    demo_sandbox.call(lambda: demo_sandbox.state.tenants[CONTOSO].organizationApps.clear())
    gone = PROVIDER.read(f"{CONTOSO}/{APP_ID}", inputs)
    assert (gone.id, gone.outs) == ("", {})


def test_diff_ignores_user_order_and_case_and_replaces_on_a_new_tenant(demo_sandbox):
    olds = props(demo_sandbox, CONTOSO, ["alice@contoso.fr", "bob@contoso.fr"])
    same = props(demo_sandbox, CONTOSO, ["BOB@contoso.fr", "alice@contoso.fr"])
    assert PROVIDER.diff("x", olds, same).changes is False
    moved = PROVIDER.diff("x", olds, props(demo_sandbox, NORTHWIND, ["alice@contoso.fr", "bob@contoso.fr"]))
    assert (moved.changes, moved.replaces, moved.stables) == (True, ["tenant_id"], ["tenant_id", "app_id"])


def test_check_refuses_a_manifest_that_is_not_the_declared_one(demo_sandbox):
    good = props(demo_sandbox, CONTOSO, ["alice@contoso.fr"])
    assert PROVIDER.check({}, good).failures == []
    failures = PROVIDER.check({}, {**good, "version": "2.0", "default_state": "On", "tenant_id": "contoso"}).failures
    assert [(f.property, f.reason) for f in failures] == [
        ("tenant_id", "must be the tenant's GUID"), ("manifest", "does not match app_id and version"),
        ("default_state", "must be Enabled, Disabled or AlwaysEnabled")]


def test_exchange_refusing_the_identity_fails_the_step_with_the_reason(sandbox_server):
    raw = json.loads(json.dumps(read_raw(DEMO_STATE)))
    raw["tenants"][FABRIKAM]["exchangeDenied"] = True
    server = sandbox_server(raw)
    with pytest.raises(DeploymentError) as refused:
        PROVIDER.create(props(server, FABRIKAM, ["emma@fabrikam.onmicrosoft.com"]))
    assert str(refused.value) == (
        f"tenant {FABRIKAM}, add-in {APP_ID}: 403 Forbidden: Get-App: The caller doesn't have the permissions to run "
        "this cmdlet: it needs Exchange.ManageAsApp and an Exchange administrator role.")


@pytest.fixture
def received(monkeypatch) -> list[tuple[str, dict]]:
    """The cmdlets the sandbox's Exchange endpoint received, with their parameters, in order."""
    sent: list[tuple[str, dict]] = []
    serve = routes_exchange.invoke

    def recording(tenant, body, **kwargs):
        cmdlet = json.loads(body)["CmdletInput"]
        sent.append((cmdlet["CmdletName"], cmdlet.get("Parameters") or {}))
        return serve(tenant, body, **kwargs)

    monkeypatch.setattr(routes_exchange, "invoke", recording)
    return sent


def sent_to_deploy(users: list[str]) -> dict:
    return {"OrganizationApp": True, "FileData": base64.b64encode(MANIFEST.data).decode(), "ProvidedTo": "SpecificUsers",
            "UserList": users, "Enabled": True, "DefaultStateForUser": "Enabled"}


def sent_to_align(users: list[str]) -> dict:
    return {"OrganizationApp": True, "Identity": APP_ID, "ProvidedTo": "SpecificUsers", "UserList": users,
            "Enabled": True, "DefaultStateForUser": "Enabled"}


# What Exchange may report as AppVersion that is no dotted version of 1 to 4 ASCII numbers.
# Whether the live app is older cannot be told, and New-App over an installed app is refused
# by Exchange unless it upgrades it: nothing is sent after Get-App, and the run stops.
MALFORMED_VERSIONS = ["", "1.0.x", "latest", None, "1..0", " ", "1_0", "\uff11.0", "1.0.0.0.0", "+1.0"]


def _deploy_over(demo_sandbox, reported, operation: str, users: list[str], created_before: bool) -> tuple[dict, dict]:
    """(the properties, the provider's outputs) of `operation` over an app Exchange reports at `reported`."""
    demo_sandbox.call(lambda: demo_sandbox.state.tenants[CONTOSO].organizationApps[APP_ID].update(AppVersion=reported))
    news = props(demo_sandbox, CONTOSO, users)
    if operation == "create":
        return news, PROVIDER.create(news).outs
    return news, PROVIDER.update(f"{CONTOSO}/{APP_ID}", {**news, "created": created_before}, news).outs


@pytest.mark.parametrize("operation", ["create", "update"])
@pytest.mark.parametrize("reported", MALFORMED_VERSIONS, ids=repr)
def test_a_malformed_reported_version_stops_before_any_change(demo_sandbox, received, operation, reported):
    before = live(demo_sandbox, CONTOSO)
    with pytest.raises(DeploymentError) as stopped:
        _deploy_over(demo_sandbox, reported, operation, ["alice@contoso.fr"], created_before=False)
    shown = repr(reported) if reported else "none (an empty AppVersion)"
    assert str(stopped.value) == (
        f"tenant {CONTOSO}, add-in {APP_ID}: Exchange Online reports the add-in at version {shown}, which is not a "
        "dotted version of 1 to 4 numbers, so sage365 cannot tell whether the manifest's version 1.0.0.0 is newer; "
        "nothing was changed. Remove the app (Microsoft 365 admin centre > Settings > Integrated apps, or "
        f"Remove-App -OrganizationApp -Identity {APP_ID}), then run `pulumi up` again to deploy the manifest")
    assert "\n" not in str(stopped.value)
    assert received == [("Get-App", {"OrganizationApp": True})]
    assert live(demo_sandbox, CONTOSO) == {**before, "AppVersion": reported}  # untouched but for the test's edit


@pytest.mark.parametrize("operation", ["create", "update"])
@pytest.mark.parametrize("reported", ["1.0.0.0", "1.0", "2.0.0.0"])
def test_a_current_or_newer_reported_version_is_only_aligned(demo_sandbox, received, operation, reported):
    users = ["bob@contoso.fr"]
    _, outs = _deploy_over(demo_sandbox, reported, operation, users, created_before=True)
    assert outs["created"] is (operation == "update")
    assert received == [("Get-App", {"OrganizationApp": True}), ("Set-App", sent_to_align(users))]
    assert live(demo_sandbox, CONTOSO)["AppVersion"] == reported  # never downgraded


@pytest.mark.parametrize("created_before", [False, True])
def test_update_of_an_app_removed_by_hand_deploys_it_again_and_owns_it(demo_sandbox, received, created_before):
    demo_sandbox.call(lambda: demo_sandbox.state.tenants[CONTOSO].organizationApps.clear())
    users = ["alice@contoso.fr", "bob@contoso.fr"]
    news = props(demo_sandbox, CONTOSO, users)
    outs = PROVIDER.update(f"{CONTOSO}/{APP_ID}", {**news, "created": created_before}, news).outs
    # New-App sets the users and states itself: no Set-App after it. The app now live was
    # deployed by this resource, so a later delete removes it.
    assert outs == {**news, "created": True}
    assert received == [("Get-App", {"OrganizationApp": True}), ("New-App", sent_to_deploy(users))]
    app = live(demo_sandbox, CONTOSO)
    assert (app["AppVersion"], app["UserList"], app["ProvidedTo"]) == ("1.0.0.0", users, "SpecificUsers")


# --- under Pulumi's mock runtime ---------------------------------------------------------

@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(components.gate, "today", lambda: dt.date(2026, 5, 1))


def config(stack: str, sandbox, **extra: str) -> dict[str, str]:
    return {"azuread:tenantId": TENANT_IDS[stack], "azuread:useOidc": "true", "sage365:graphUrl": sandbox.base_url,
            **extra}


def test_the_deployment_registers_with_the_manifest_id_and_the_users(demo_sandbox):
    run = run_program(main, stack="contoso", config=config("contoso", demo_sandbox, **{"sage365:deployAddins": "true"}))
    assert run.error is None
    deployment = run.by_name["contoso-addin-sage-contact-deployment"]
    assert (deployment.type, deployment.parent.split("::")[-1]) == (DYNAMIC, "contoso")
    state = run.state[deployment.urn]
    assert {k: state[k] for k in ("tenant_id", "app_id", "version", "users", "enabled", "default_state", "exchange_url")} == {
        "tenant_id": CONTOSO, "app_id": APP_ID, "version": "1.0.0.0", "users": ["alice@contoso.fr", "bob@contoso.fr"],
        "enabled": True, "default_state": "Enabled", "exchange_url": demo_sandbox.url}
    assert base64.b64decode(state["manifest"]) == MANIFEST.data
    assert isinstance(state["__provider"], str) and state["__provider"]  # the serialized provider, no secret in it


def test_without_deploy_addins_nothing_is_registered_for_exchange(demo_sandbox):
    run = run_program(main, stack="contoso", config=config("contoso", demo_sandbox))
    assert run.error is None
    assert [r.name for r in run.resources if r.type == DYNAMIC] == []


def test_the_gate_stops_a_deploying_stack_whose_identity_lacks_exchange_rights(sandbox_server):
    raw = json.loads(json.dumps(read_raw(DEMO_STATE)))
    raw["tenants"][CONTOSO]["exchangeDenied"] = True
    server = sandbox_server(raw)
    deploying = run_program(main, stack="contoso", config=config("contoso", server, **{"sage365:deployAddins": "true"}))
    message = (
        "tenant contoso: check addin.deployment could not be checked for sage-contact: Could not read the organization's "
        "add-ins: Exchange Online, Get-App -OrganizationApp: 403 Forbidden: Get-App: The caller doesn't have the "
        "permissions to run this cmdlet: it needs Exchange.ManageAsApp and an Exchange administrator role. "
        "(expected: -; actual: permission missing). Remediation: Give sage365's identity in this tenant the application "
        "permission Exchange.ManageAsApp (Office 365 Exchange Online, admin-consented) and the Exchange Administrator "
        "role (Entra admin centre > Roles and administrators > Exchange Administrator > Add assignments > the app's "
        "service principal), then run again.")
    assert deploying.messages("ERROR") == [message]
    assert deploying.resources == []
    # A stack that does not deploy add-ins only sees it as a warning.
    reading = run_program(main, stack="contoso", config=config("contoso", server))
    assert reading.error is None and message in reading.messages("WARNING")
