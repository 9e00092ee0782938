"""JSON batching over raw HTTP (msgraph-sdk's batch classes are not used by sage365)."""

from __future__ import annotations

from sage365.sandbox import Faults
from tests.sandbox.support import batch, raw
from tests.sandbox_fixtures import CONTOSO, FABRIKAM

C_ADMIN = "10000000-0001-4000-8000-000000000001"
F_ADMIN = "20000000-0001-4000-8000-000000000001"
JSON = {"Content-Type": "application/json"}


def by_id(response) -> dict[str, dict]:
    return {r["id"]: r for r in response.json()["responses"]}


def test_batch_answers_each_item_with_its_own_status(demo_sandbox):
    resp = batch(demo_sandbox, CONTOSO, [
        {"id": "1", "method": "GET", "url": "/users/admin@contoso.onmicrosoft.com?$select=id,accountEnabled"},
        {"id": "2", "method": "GET", "url": f"users/{C_ADMIN}/licenseDetails"},
        {"id": "3", "method": "GET", "url": "/users/nobody@contoso.fr"},
        {"id": "4", "method": "GET", "url": "/subscribedSkus?$select=skuPartNumber"},
        {"id": "5", "method": "GET", "url": "/nowhere"},
    ])
    assert resp.status_code == 200
    items = by_id(resp)
    assert [items[i]["status"] for i in "12345"] == [200, 200, 404, 200, 400]
    assert items["1"]["body"] == {"@odata.context": demo_sandbox.base_url + "/$metadata#users/$entity", "id": C_ADMIN, "accountEnabled": True}
    assert [d["skuPartNumber"] for d in items["2"]["body"]["value"]] == ["SPB"]
    assert items["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert items["4"]["body"]["value"] == [{"skuPartNumber": "SPB"}]
    assert items["5"]["body"]["error"]["code"] == "BadRequest"
    assert demo_sandbox.stats.requests(CONTOSO) == 1
    assert demo_sandbox.stats.operations(CONTOSO) == 5
    assert demo_sandbox.stats.operations(CONTOSO, "GET /users/{id}/licenseDetails") == 1


def test_depends_on_runs_in_order_and_a_failed_dependency_is_424(demo_sandbox):
    resp = batch(demo_sandbox, CONTOSO, [
        {"id": "a", "method": "POST", "url": "/groups", "headers": JSON,
         "body": {"displayName": "New", "mailEnabled": False, "mailNickname": "new", "securityEnabled": True}},
        {"id": "b", "method": "GET", "url": "/groups?$filter=displayName eq 'New'", "dependsOn": ["a"]},
        {"id": "c", "method": "GET", "url": "/users/ghost@contoso.fr"},
        {"id": "d", "method": "GET", "url": "/users", "dependsOn": ["c"]},
    ])
    items = by_id(resp)
    assert [items[i]["status"] for i in "abcd"] == [201, 200, 404, 424]
    assert [g["displayName"] for g in items["b"]["body"]["value"]] == ["New"]
    assert demo_sandbox.stats.operations(CONTOSO, "GET /users") == 0


def test_writes_in_a_batch_need_a_content_type(demo_sandbox):
    resp = batch(demo_sandbox, CONTOSO, [
        {"id": "1", "method": "PATCH", "url": "/oauth2PermissionGrants/Q29udG9zby1zYmMtZ3JhcGgtZGVsZWdhdGVk", "body": {"scope": "openid"}},
        {"id": "2", "method": "PATCH", "url": "/oauth2PermissionGrants/Q29udG9zby1zYmMtZ3JhcGgtZGVsZWdhdGVk", "body": {"scope": "openid"}, "headers": JSON},
    ])
    assert [(r["status"], r.get("body", {}).get("error", {}).get("code")) for r in resp.json()["responses"]] == [(400, "BadRequest"), (204, None)]
    assert demo_sandbox.state.tenants[CONTOSO].oauth2PermissionGrants["Q29udG9zby1zYmMtZ3JhcGgtZGVsZWdhdGVk"]["scope"] == "openid"


def test_malformed_batches_are_400_as_a_whole(demo_sandbox):
    twenty_one = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    cases = [
        batch(demo_sandbox, CONTOSO, twenty_one),
        batch(demo_sandbox, CONTOSO, [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]),
        batch(demo_sandbox, CONTOSO, [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]}, {"id": "2", "method": "GET", "url": "/users"}]),
        batch(demo_sandbox, CONTOSO, [{"id": "1", "method": "GET"}]),
        batch(demo_sandbox, CONTOSO, []),
        raw(demo_sandbox, "POST", "/$batch", CONTOSO, content=b"{not json", headers=JSON),
        batch(demo_sandbox, CONTOSO, [{"id": "1", "method": "GET", "url": "/users", "headers": ["Accept"]}]),
        batch(demo_sandbox, CONTOSO, [{"id": "1", "method": "GET", "url": "/users"}, {"id": "2", "method": "GET", "url": "/users", "dependsOn": [["1"]]}]),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in cases] == [(400, "BadRequest")] * 8
    assert demo_sandbox.stats.operations(CONTOSO) == 0
    ok = batch(demo_sandbox, CONTOSO, twenty_one[:20])
    assert [r["status"] for r in ok.json()["responses"]] == [200] * 20


def test_a_batch_never_reaches_another_tenant(demo_sandbox):
    resp = batch(demo_sandbox, CONTOSO, [
        {"id": "1", "method": "GET", "url": f"/users/{F_ADMIN}", "headers": {"Authorization": f"Bearer sandbox.{FABRIKAM}"}},
        {"id": "2", "method": "GET", "url": "/users/admin@fabrikam.onmicrosoft.com"},
        {"id": "3", "method": "DELETE", "url": "/oauth2PermissionGrants/RmFicmlrYW0tc2JjLWdyYXBoLWRlbGVnYXRl"},
        {"id": "4", "method": "POST", "url": "/$batch", "headers": JSON, "body": {"requests": []}},
    ])
    assert [r["status"] for r in resp.json()["responses"]] == [404, 404, 404, 400]
    assert "RmFicmlrYW0tc2JjLWdyYXBoLWRlbGVnYXRl" in demo_sandbox.state.tenants[FABRIKAM].oauth2PermissionGrants
    assert demo_sandbox.stats.operations(FABRIKAM) == 0


def test_per_item_throttling_and_reordered_answers(sandbox_server):
    server = sandbox_server(faults=Faults(batch_item_throttle_every=2, retry_after=7, batch_reverse=True))
    resp = batch(server, CONTOSO, [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(1, 5)])
    answers = resp.json()["responses"]
    assert [r["id"] for r in answers] == ["4", "3", "2", "1"]
    assert [(r["id"], r["status"], r["headers"].get("Retry-After")) for r in answers] == [
        ("4", 429, "7"), ("3", 200, None), ("2", 429, "7"), ("1", 200, None)]
    assert answers[0]["body"]["error"]["code"] == "TooManyRequests"
    assert server.stats.faults("batch-item-429") == 2
