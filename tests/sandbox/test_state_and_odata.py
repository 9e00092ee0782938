"""State files (schema, consistency of the demo with tenants/ and the catalogue) and OData parsing."""

from __future__ import annotations

import asyncio
import time

import pytest
import yaml

from sage365.sandbox import load_state, state_from_json
from sage365.sandbox.errors import GraphError
from sage365.sandbox.odata import (
    Query,
    decode_skiptoken,
    encode_skiptoken,
    parse_filter,
)
from tests.sandbox.support import run
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, FABRIKAM, NORTHWIND, ROOT

GRAPH_APP = "00000003-0000-0000-c000-000000000000"


# Invalid states, each refused with one PATH:LINE:COL line: tests/sandbox/test_state_files.py.


def test_demo_state_matches_the_example_tenants_and_the_catalogue():
    state = load_state(DEMO_STATE)
    catalog = yaml.safe_load((ROOT / "catalog" / "catalog.yaml").read_text())["spec"]
    for name in ("contoso", "fabrikam", "northwind"):
        spec = yaml.safe_load((ROOT / "tenants" / f"{name}.yaml").read_text())["spec"]
        tenant = state.tenants[spec["tenantId"]]
        admin = tenant.user(spec["administrator"]["userPrincipalName"])
        assert admin is not None and admin["accountEnabled"] is True
        assert any(r["principalId"] == admin["id"] and r["roleDefinitionId"] == "62e90394-69f5-4237-9190-012177145e10"
                   and r["directoryScopeId"] == "/" for r in tenant.roleAssignments.values())
        graph = tenant.service_principal_by_app_id(GRAPH_APP)
        for app in spec["consents"]:
            sp = tenant.service_principal_by_app_id(catalog["apps"][app]["appId"])
            assert sp is not None, (name, app)
            [grant] = [g for g in tenant.oauth2PermissionGrants.values() if g["clientId"] == sp["id"]]
            assert grant["resourceId"] == graph["id"] and grant["consentType"] == "AllPrincipals"
            wanted = set(catalog["apps"][app]["delegatedScopes"])
            extra = {"northwind": {"sage-business-center": {"Mail.ReadWrite"}}}.get(name, {}).get(app, set())
            assert set(grant["scope"].split()) == wanted | extra, (name, app)
        for addin in spec.get("addins", []):
            [group] = [g for g in tenant.groups.values() if g["displayName"] == addin["group"]["displayName"]]
            members = {tenant.users[m]["userPrincipalName"] for m in tenant.members[group["id"]]}
            missing = {"northwind": {"david@northwind-traders.fr"}}.get(name, set())
            assert members == set(addin["users"]) - missing
            assert all(tenant.user(u) for u in addin["users"])


def test_demo_premium_licences_are_as_intended():
    state = load_state(DEMO_STATE)

    def premium(tenant_id: str, upn: str) -> bool:
        tenant = state.tenants[tenant_id]
        plans = [p for d in tenant.license_details.get(tenant.user(upn)["id"], []) for p in d["servicePlans"]]
        return any(p["servicePlanName"] in ("AAD_PREMIUM", "AAD_PREMIUM_P2") and p["provisioningStatus"] == "Success" for p in plans)

    assert premium(CONTOSO, "admin@contoso.onmicrosoft.com") is True
    assert premium(FABRIKAM, "admin@fabrikam.onmicrosoft.com") is False
    assert premium(NORTHWIND, "it-admin@northwind-traders.fr") is True


@pytest.mark.parametrize(("text", "expected"), [
    ("appId eq 'A'", ["1"]),
    ("appId eq 'a' and displayName eq 'One'", ["1"]),
    ("appId eq 'a' or appId eq 'b'", ["1", "2"]),
    ("not (appId eq 'a')", ["2", "3"]),
    ("appId in ('b', 'c')", ["2", "3"]),
    ("startswith(displayName,'t')", ["2", "3"]),
    ("endswith(displayName,'e')", ["1", "3"]),
    ("displayName eq 'It''s'", []),
    ("info/level eq 2", ["3"]),
    ("flag eq true", ["2"]),
    ("displayName ne null", ["1", "2", "3"]),
])
def test_filters(text, expected):
    objs = [{"id": "1", "appId": "a", "displayName": "One"}, {"id": "2", "appId": "b", "displayName": "Two", "flag": True},
            {"id": "3", "appId": "c", "displayName": "Three", "info": {"level": 2}}]
    pred = parse_filter(text)
    assert [o["id"] for o in objs if pred(o)] == expected


@pytest.mark.parametrize(("text", "code"), [
    ("appId eq", "BadRequest"), ("appId eq 'a' and", "BadRequest"), ("(appId eq 'a'", "BadRequest"),
    ("appId gt 'a'", "Request_UnsupportedQuery"), ("contains(appId,'a')", "Request_UnsupportedQuery"), ("appId eq 'a' )", "BadRequest"),
])
def test_bad_filters(text, code):
    with pytest.raises(GraphError) as info:
        parse_filter(text)
    assert (info.value.status, info.value.code) == (400, code)


def test_skiptoken_round_trip_and_query_options():
    assert decode_skiptoken(encode_skiptoken(300)) == 300
    q = Query.parse({"$select": "id, appId", "$top": "5", "$expand": "members", "$count": "true"})
    assert (q.select, q.top, q.expand, q.count) == (["id", "appId"], 5, ["members"], True)
    with pytest.raises(GraphError):
        Query.parse({"$Filter": "x eq 1"})


def test_state_from_a_dict_and_round_trip():
    raw = {"tenants": {CONTOSO.upper(): {"users": [{"id": "u", "userPrincipalName": "a@b.c"}],
                                         "groups": [{"id": "g", "displayName": "G", "members": ["a@b.c"]}]}}}
    state = state_from_json(raw)
    assert list(state.tenants) == [CONTOSO]
    assert state.tenants[CONTOSO].members == {"g": ["u"]}
    assert state.to_json()["tenants"][CONTOSO]["groups"] == [{"id": "g", "displayName": "G", "members": ["u"]}]


def test_hundreds_of_concurrent_keep_alive_connections(sandbox_server):
    # Raw asyncio streams: httpx's connection pool, not the sandbox, is the bottleneck at this scale.
    server = sandbox_server()
    request = (f"GET /v1.0/users?$select=id HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer sandbox.{CONTOSO}\r\n\r\n").encode()

    async def connection() -> list[int]:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        statuses = []
        for _ in range(4):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
            statuses.append(int(head.split(b" ")[1]))
        writer.close()
        return statuses

    async def go():
        return await asyncio.gather(*(connection() for _ in range(300)))

    start = time.perf_counter()
    answers = run(go)
    assert answers == [[200] * 4] * 300
    assert server.stats.requests(CONTOSO, "GET /users") == 1200
    assert time.perf_counter() - start < 10
