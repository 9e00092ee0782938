"""The Exchange admin REST client against the sandbox's InvokeCommand, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import httpx
import pytest

from sage365.exchange import apps
from sage365.exchange.client import ExchangeClient, ExchangeError, RetryPolicy, token_source
from sage365.exchange.tokens import TokenFacts, missing_permissions, token_facts
from sage365.manifest import load_manifest, parse_manifest
from sage365.sandbox import Faults
from sage365.snapshot import OrganizationApp
from tests.sandbox_fixtures import CONTOSO, NORTHWIND

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = load_manifest(ROOT / "catalog" / "addins" / "sage-contact.xml")
APP_ID = "00000000-5a6e-4000-8000-0000000000a1"
ENDPOINT = "POST /adminapi/beta/{tenantId}/InvokeCommand"
FAST = RetryPolicy(default_delay=0.01)


def run(coro):
    return asyncio.run(coro)


def client_for(server, tenant_id=CONTOSO, **kwargs) -> ExchangeClient:
    return ExchangeClient(tenant_id, token_source(tenant_id, sandbox=True), base_url=server.url, **kwargs)


async def get_apps(server, tenant_id=CONTOSO, **kwargs):
    async with client_for(server, tenant_id, **kwargs) as client:
        return await apps.organization_apps(client)


def manifest(app_id: str, version: str = "1.0") -> bytes:
    return (f'<OfficeApp xmlns="http://schemas.microsoft.com/office/appforoffice/1.1"><Id>{app_id}</Id>'
            f'<Version>{version}</Version><DisplayName DefaultValue="App {app_id[-2:]}"/>'
            '<Hosts><Host Name="Mailbox"/></Hosts></OfficeApp>').encode()


def test_the_demo_deployment_reads_as_get_app_shows_it(demo_sandbox):
    assert run(get_apps(demo_sandbox)) == {APP_ID: OrganizationApp(
        app_id=APP_ID, display_name="Sage Contact (example)", version="1.0.0.0", enabled=True, default_state="Enabled",
        provided_to="SpecificUsers", user_list=("alice@contoso.fr", "bob@contoso.fr"))}
    assert demo_sandbox.stats.requests(CONTOSO, ENDPOINT) == 1


def test_pages_are_followed_with_the_same_body(sandbox_server):
    server = sandbox_server(page_size=2)

    async def deploy_five():
        async with client_for(server) as client:
            for n in range(5):
                await apps.new_app(client, parse_manifest(manifest(f"00000000-0000-4000-8000-0000000000{n:02d}")),
                                   ["alice@contoso.fr"])
            return client.requests

    assert run(deploy_five()) == 5
    found = run(get_apps(server))
    assert sorted(found) == sorted([APP_ID, *(f"00000000-0000-4000-8000-0000000000{n:02d}" for n in range(5))])
    # 6 apps in pages of 2: three POSTs for the one Get-App, after the five New-App.
    assert server.stats.requests(CONTOSO, ENDPOINT) == 5 + 3


def test_new_set_remove_change_what_get_app_returns(sandbox_server):
    server = sandbox_server()

    async def lifecycle():
        async with client_for(server, NORTHWIND) as client:
            await apps.remove_app(client, APP_ID)
            assert await apps.organization_apps(client) == {}
            # UserList accepts UPNs or addresses in any case; Exchange resolves them to recipients.
            await apps.new_app(client, MANIFEST, ["CLAIRE@northwind-traders.fr"], default_state="AlwaysEnabled")
            created = (await apps.organization_apps(client))[APP_ID]
            await apps.set_app(client, APP_ID, ["claire@northwind-traders.fr", "david@northwind-traders.fr"], enabled=False)
            updated = (await apps.organization_apps(client))[APP_ID]
            with pytest.raises(ExchangeError) as missing:
                await apps.set_app(client, "00000000-0000-4000-8000-00000000dead", ["claire@northwind-traders.fr"])
            return created, updated, missing.value

    created, updated, missing = run(lifecycle())
    assert (created.user_list, created.default_state, created.enabled) == (("claire@northwind-traders.fr",), "AlwaysEnabled", True)
    assert (updated.user_list, updated.enabled) == (("claire@northwind-traders.fr", "david@northwind-traders.fr"), False)
    assert (missing.status, missing.code, missing.message) == (
        404, "NotFound", "Set-App: The operation couldn't be performed because object "
        "'00000000-0000-4000-8000-00000000dead' couldn't be found.")


def test_new_app_on_a_deployed_add_in_upgrades_only_to_a_newer_version(sandbox_server):
    server = sandbox_server()

    async def upgrade():
        async with client_for(server) as client:
            with pytest.raises(ExchangeError) as same:
                await apps.new_app(client, MANIFEST, ["alice@contoso.fr"])
            await apps.new_app(client, parse_manifest(manifest(APP_ID, "1.1")), ["alice@contoso.fr"])
            return same.value, (await apps.organization_apps(client))[APP_ID]

    same, upgraded = run(upgrade())
    assert (same.status, same.code) == (400, "BadRequest")
    assert same.message == f"New-App: The app couldn't be installed. The app {APP_ID} is already installed at version 1.0.0.0."
    assert (upgraded.version, upgraded.user_list, upgraded.default_state) == ("1.1", ("alice@contoso.fr",), "Enabled")


@pytest.mark.parametrize("installed", ["", "latest", "1.0.x", "1_0", "1.0.0.0.0", None], ids=repr)
def test_the_sandbox_refuses_new_app_over_an_installed_app_whose_version_is_unreadable(sandbox_server, installed):
    """Exchange upgrades an installed app only to a newer version; one whose AppVersion is no
    version is not known to be older, so the sandbox refuses as for the same version (a 4xx
    in Exchange's error shape) and leaves the app as it was."""
    server = sandbox_server()
    server.call(lambda: server.state.tenants[CONTOSO].organizationApps[APP_ID].update(AppVersion=installed))
    before = server.call(lambda: dict(server.state.tenants[CONTOSO].organizationApps[APP_ID]))

    async def install():
        async with client_for(server) as client:
            with pytest.raises(ExchangeError) as refused:
                await apps.new_app(client, parse_manifest(manifest(APP_ID, "99.0")), ["alice@contoso.fr"])
            return refused.value

    refused = run(install())
    assert (refused.status, refused.code, refused.message) == (
        400, "BadRequest", f"New-App: The app couldn't be installed. The app {APP_ID} is already installed at version "
        f"{installed}.")
    assert server.call(lambda: dict(server.state.tenants[CONTOSO].organizationApps[APP_ID])) == before


def test_a_user_unknown_to_the_tenant_is_refused_and_nothing_changes(demo_sandbox):
    async def bad():
        async with client_for(demo_sandbox) as client:
            await apps.set_app(client, APP_ID, ["alice@contoso.fr", "david@northwind-traders.fr"])

    with pytest.raises(ExchangeError, match="object 'david@northwind-traders.fr' couldn't be found"):
        run(bad())
    assert run(get_apps(demo_sandbox))[APP_ID].user_list == ("alice@contoso.fr", "bob@contoso.fr")


def test_throttling_and_outages_are_retried_after_retry_after(sandbox_server):
    server = sandbox_server(faults=Faults(throttle_every=2, retry_after=1))

    async def three_reads():
        async with client_for(server) as client:
            results = [await apps.organization_apps(client) for _ in range(3)]
            return results, client.requests

    results, sent = run(three_reads())
    assert [sorted(r) for r in results] == [[APP_ID]] * 3
    # Requests 2 and 4 are throttled, each resent once after its Retry-After.
    assert (sent, server.stats.faults("429")) == (5, 2)

    server.faults = Faults(unavailable_every=1, retry_after=0)
    with pytest.raises(ExchangeError) as outage:
        run(get_apps(server, policy=FAST))
    assert (outage.value.status, outage.value.code) == (503, "serviceNotAvailable")
    assert server.stats.faults("503") == 4  # max_attempts sends, then the error


def test_dropped_connections_are_resent_and_a_malformed_body_is_an_error(sandbox_server):
    server = sandbox_server(faults=Faults(drop_every=2))

    async def two_reads():
        async with client_for(server) as client:
            return [sorted(await apps.organization_apps(client)) for _ in range(2)], client.requests

    assert run(two_reads()) == ([[APP_ID], [APP_ID]], 3)
    assert server.stats.faults("drop") == 1

    server.faults = Faults(malformed_every=1)
    with pytest.raises(ExchangeError) as malformed:
        run(get_apps(server))
    assert (malformed.value.status, malformed.value.code, malformed.value.message) == (
        200, "MalformedResponse", "Get-App: the body is not JSON")


def jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class Issued:
    """An azure-identity-like credential returning a fixed token, recording the scopes asked."""

    def __init__(self, token: str) -> None:
        self.token, self.scopes = token, []

    def get_token(self, *scopes, **kwargs):
        self.scopes.append(scopes)
        return type("AccessToken", (), {"token": self.token})()


def test_a_token_of_another_tenant_is_never_sent(demo_sandbox):
    credential = Issued(jwt({"tid": NORTHWIND, "roles": ["Exchange.ManageAsApp"]}))
    client = ExchangeClient(CONTOSO, token_source(CONTOSO, credential=credential), base_url=demo_sandbox.url)
    with pytest.raises(ExchangeError) as wrong:
        run(apps.organization_apps(client))
    assert (wrong.value.code, wrong.value.message) == (
        "WrongTenant", f"the Exchange token belongs to tenant {NORTHWIND}, not to the declared tenant {CONTOSO}; nothing was sent")
    assert credential.scopes == [("https://outlook.office365.com/.default",)]
    assert demo_sandbox.stats.requests(endpoint=ENDPOINT) == 0


def test_missing_exchange_rights_are_named_before_anything_is_sent(demo_sandbox):
    no_role = jwt({"tid": CONTOSO, "roles": ["Exchange.ManageAsApp"], "wids": ["88d8e3e3-8f55-4a1e-953a-9b9898b8876b"]})
    no_permission = jwt({"tid": CONTOSO, "roles": []})
    messages = []
    for token in (no_role, no_permission):
        client = ExchangeClient(CONTOSO, token_source(CONTOSO, credential=Issued(token)), base_url=demo_sandbox.url)
        with pytest.raises(ExchangeError) as missing:
            run(apps.organization_apps(client))
        assert (missing.value.code, missing.value.permission) == ("MissingPermission", True)
        messages.append(missing.value.message)
    assert messages == [
        "the deployment identity lacks an Exchange Administrator role assignment for the service principal; nothing was sent",
        "the deployment identity lacks the application permission Exchange.ManageAsApp on Office 365 Exchange Online "
        "(appId 00000002-0000-0ff1-ce00-000000000000), admin-consented; nothing was sent",
    ]
    assert demo_sandbox.stats.requests(endpoint=ENDPOINT) == 0


def test_the_sandbox_answers_another_tenants_token_403_and_no_token_401(demo_sandbox):
    body = {"CmdletInput": {"CmdletName": "Get-App", "Parameters": {"OrganizationApp": True}}}
    url = f"{demo_sandbox.url}/adminapi/beta/{NORTHWIND}/InvokeCommand"
    with httpx.Client() as http:
        other = http.post(url, json=body, headers={"Authorization": f"Bearer sandbox.{CONTOSO}"})
        none = http.post(url, json=body)
        unknown = http.post(url, json=body, headers={"Authorization": "Bearer sandbox.99999999-9999-4999-8999-999999999999"})
    assert (other.status_code, other.json()["error"]["details"][0]["message"]) == (
        403, "The token's tenant does not match the organization in the request URL.")
    assert (none.status_code, unknown.status_code) == (401, 401)
    assert none.json()["error"]["code"] == "Unauthorized"


def test_exchange_refusing_the_identity_is_a_permission_error(sandbox_server):
    state = json.loads(json.dumps(sandbox_server().state.tenants[CONTOSO].to_json()))
    server = sandbox_server({"tenants": {CONTOSO: {**state, "exchangeDenied": True}}})
    with pytest.raises(ExchangeError) as denied:
        run(get_apps(server))
    assert (denied.value.status, denied.value.permission) == (403, True)
    assert denied.value.message == ("Get-App: The caller doesn't have the permissions to run this cmdlet: it needs "
                                    "Exchange.ManageAsApp and an Exchange administrator role.")


def test_only_the_four_cmdlets_are_sent_and_unknown_parameters_are_refused(demo_sandbox):
    client = client_for(demo_sandbox)
    with pytest.raises(ValueError, match="sage365 sends only Get-App, New-App, Remove-App, Set-App, not Get-Mailbox"):
        run(client.invoke("Get-Mailbox", {}))
    with pytest.raises(ExchangeError) as unknown:
        run(client.invoke("Get-App", {"OrganizationApp": True, "Mailbox": "alice"}))
    assert (unknown.value.status, unknown.value.message) == (
        400, "Get-App: A parameter cannot be found that matches parameter name 'Mailbox'.")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"], ids=["another-host", "same-host-another-port"])
def test_a_next_link_off_the_origin_is_refused_and_the_token_stays_home(host):
    """Another host name, or the same host on another port (or scheme): another server either way."""
    from tests.hostile.server import HostileServer, Reply

    with HostileServer() as elsewhere:  # 127.0.0.1, on a port of its own
        other = elsewhere.origin.replace("127.0.0.1", host)

        def answer(request):
            return Reply(200, json={"value": [{"AppId": APP_ID, "AppVersion": "1.0"}],
                                    "@odata.nextLink": f"{other}/adminapi/beta/{CONTOSO}/InvokeCommand?$skiptoken=1"})

        with HostileServer(answer) as exchange:
            client = ExchangeClient(CONTOSO, token_source(CONTOSO, sandbox=True), base_url=exchange.origin)
            with pytest.raises(ExchangeError) as refused:
                run(apps.organization_apps(client))
            assert (refused.value.status, refused.value.code, refused.value.message) == (
                200, "UnexpectedNextLink", f"Get-App: @odata.nextLink leaves {exchange.origin}")
            assert [r.authorization for r in exchange.requests] == [f"Bearer sandbox.{CONTOSO}"]
            assert elsewhere.requests == []


def test_a_non_object_item_of_value_is_a_malformed_response_never_dropped():
    from tests.hostile.server import HostileServer, Reply

    def answer(request):
        return Reply(200, json={"value": [{"AppId": APP_ID, "AppVersion": "1.0", "Enabled": True,
                                           "ProvidedTo": "SpecificUsers", "UserList": []}, "Sage Contact", None]})

    with HostileServer(answer) as exchange:
        client = ExchangeClient(CONTOSO, token_source(CONTOSO, sandbox=True), base_url=exchange.origin)
        with pytest.raises(ExchangeError) as malformed:
            run(apps.organization_apps(client))
    assert (malformed.value.status, malformed.value.code, malformed.value.message) == (
        200, "MalformedResponse", "Get-App: item 1 of 'value' (page 1) is not a JSON object; the result was not read")


FULL = {"AppId": APP_ID.upper(), "DisplayName": "Sage Contact", "AppVersion": "1.0.0.0", "Enabled": True,
        "DefaultStateForUser": "Enabled", "ProvidedTo": "SpecificUsers", "UserList": ["alice@contoso.fr"]}


@pytest.mark.parametrize("change, problem", [
    ({}, ""),
    ({"ProvidedTo": "everyone"}, ""),
    ({"UserList": "alice@contoso.fr, bob@contoso.fr"}, ""),
    ({"Enabled": None}, "Enabled is null, not a boolean"),
    ({"Enabled": "True"}, "Enabled is a string, not a boolean"),
    ({"ProvidedTo": ""}, "no ProvidedTo"),
    ({"ProvidedTo": 1}, "ProvidedTo is not Everyone or SpecificUsers (a number)"),
    ({"ProvidedTo": "AllUsers"}, "ProvidedTo is not Everyone or SpecificUsers (a string)"),
    ({"UserList": {"alice@contoso.fr": 1}}, "UserList is an object"),
    ({"UserList": ["alice@contoso.fr", {"Name": "bob"}]}, "UserList holds entries that are not strings"),
])
def test_get_app_fields_that_cannot_be_read_are_named_never_guessed(change, problem):
    app = apps.app_from_json({**FULL, **change})
    assert app.problem == problem
    if problem.startswith("Enabled"):
        assert app.enabled is False  # never enabled by default


def test_get_app_without_enabled_or_provided_to_names_both():
    obj = {k: v for k, v in FULL.items() if k not in ("Enabled", "ProvidedTo")}
    app = apps.app_from_json(obj)
    assert (app.enabled, app.provided_to, app.problem) == (False, "", "no Enabled; no ProvidedTo")
    assert apps.app_from_json({**FULL, "ProvidedTo": "everyone"}).provided_to == "Everyone"
    assert apps.app_from_json({**FULL, "UserList": "alice@contoso.fr, bob@contoso.fr"}).user_list == (
        "alice@contoso.fr", "bob@contoso.fr")


@pytest.mark.parametrize("claims, facts, missing", [
    ({"tid": 5, "roles": []}, TokenFacts(None, True, frozenset(), None), True),
    ({"tid": {"id": CONTOSO}, "roles": []}, TokenFacts(None, True, frozenset(), None), True),
    ({"tid": CONTOSO.upper(), "roles": 5}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": "Exchange.ManageAsApp"}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": None, "wids": "x"}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": {}}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": ""}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": 0}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO, "roles": False}, TokenFacts(CONTOSO, True, None, None), False),
    ({"tid": CONTOSO}, TokenFacts(CONTOSO, True, frozenset(), None), True),
], ids=["tid-number", "tid-object", "roles-number", "roles-string", "roles-null", "roles-empty-object",
        "roles-empty-string", "roles-zero", "roles-false", "no-roles-claim"])
def test_claims_of_the_wrong_type_are_unknown_never_a_type_error(claims, facts, missing):
    """A wrong-typed tid names no tenant (so the token is refused as another tenant's); a
    `roles` that is not a list, even a falsy one, says nothing about ManageAsApp (Exchange itself
    then answers); no `roles` claim at all is an app-only token without application permissions."""
    assert token_facts(jwt(claims)) == facts
    assert bool(missing_permissions(facts)) is missing


def test_a_token_whose_tenant_is_not_a_string_is_never_sent(demo_sandbox):
    credential = Issued(jwt({"tid": 11111111, "roles": ["Exchange.ManageAsApp"]}))
    client = ExchangeClient(CONTOSO, token_source(CONTOSO, credential=credential), base_url=demo_sandbox.url)
    with pytest.raises(ExchangeError) as wrong:
        run(apps.organization_apps(client))
    assert (wrong.value.code, wrong.value.message) == (
        "WrongTenant", f"the Exchange token belongs to tenant unknown, not to the declared tenant {CONTOSO}; nothing was sent")
    assert demo_sandbox.stats.requests(endpoint=ENDPOINT) == 0
