"""$batch, latency, dropped connections and malformed bodies seen through msgraph-sdk's
GraphServiceClient and its request adapter (msgraph_core's own batch classes need the
`deprecated` package, which is not installed; sage365 batches on the adapter instead)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.group import Group
from msgraph.generated.models.group_collection_response import GroupCollectionResponse
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User

from sage365.graph import shapes
from sage365.graph.batch import BatchRequest, RetryPolicy, send_batch
from sage365.sandbox import Faults
from tests.sandbox.support import client, config, graph_error, run
from tests.sandbox_fixtures import CONTOSO, FABRIKAM

C_ADMIN = "10000000-0001-4000-8000-000000000001"


def parse_model(body: Any, model: Any) -> Any:
    """A batch item's decoded JSON body as an SDK model, through kiota's JSON parse node."""
    return JsonParseNode(body).get_object_value(model)


async def post_batch(c: Any, requests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """POST /$batch through the client's request adapter (its middleware included)."""
    info = RequestInformation(Method.POST, "{+baseurl}/$batch")
    info.headers.try_add("Content-Type", "application/json")
    info.content = json.dumps({"requests": requests}).encode()
    raw = await c.request_adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
    return {r["id"]: r for r in json.loads(raw)["responses"]}


def test_batch_reads_writes_and_depends_on_through_the_sdk(demo_sandbox):
    group = {"displayName": "Batched", "mailEnabled": False, "mailNickname": "batched", "securityEnabled": True}

    async def go():
        c = client(demo_sandbox, CONTOSO)
        items = await post_batch(c, [
            {"id": "new", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"}, "body": group},
            {"id": "read", "method": "GET", "url": "/groups?$filter=displayName eq 'Batched'", "dependsOn": ["new"]},
            {"id": "ghost", "method": "GET", "url": "/users/ghost@contoso.fr"},
            {"id": "after-ghost", "method": "GET", "url": "/users", "dependsOn": ["ghost"]},
            {"id": "admin", "method": "GET", "url": f"/users/{C_ADMIN}"},
        ])
        too_many = await graph_error(post_batch(c, [{"id": str(i), "method": "GET", "url": "/organization"} for i in range(21)]))
        return items, too_many

    items, too_many = run(go)
    assert {k: v["status"] for k, v in items.items()} == {"new": 201, "read": 200, "ghost": 404, "after-ghost": 424, "admin": 200}
    created = parse_model(items["new"]["body"], Group)
    [listed] = parse_model(items["read"]["body"], GroupCollectionResponse).value
    admin = parse_model(items["admin"]["body"], User)
    assert (created.display_name, listed.id, admin.user_principal_name) == ("Batched", created.id, "admin@contoso.onmicrosoft.com")
    assert (items["ghost"]["body"]["error"]["code"], items["after-ghost"]["body"]["error"]["code"]) == ("Request_ResourceNotFound", "FailedDependency")
    assert too_many == (400, "BadRequest")
    assert demo_sandbox.stats.requests(CONTOSO, "POST /$batch") == 2
    assert demo_sandbox.stats.operations(CONTOSO, "GET /users") == 0  # after-ghost never ran


def test_throttled_batch_items_are_retried_by_sage365s_batcher(sandbox_server):
    server = sandbox_server(faults=Faults(batch_item_throttle_every=4, retry_after=0))
    requests = [BatchRequest(f"org{i}", "/organization", shapes.Organization, True) for i in range(22)]
    requests.append(BatchRequest("users", "/users?$top=2", shapes.User, True))

    async def go():
        return await send_batch(client(server, FABRIKAM).request_adapter, requests, policy=RetryPolicy(max_total_wait=1))

    answers = run(go)
    assert {r.id: (r.status, r.ok) for r in answers.values()} == {r.id: (200, True) for r in requests}
    assert [o.displayName for o in answers["org0"].value] == ["Fabrikam"]
    assert [u.userPrincipalName for u in answers["users"].value] == [
        "admin@fabrikam.onmicrosoft.com", "emma@fabrikam.onmicrosoft.com", "franck@fabrikam.onmicrosoft.com"]  # 2 pages
    # Round 1: 23 items in 2 POSTs, items 4, 8 ... 20 throttled. Round 2: those 5 and the users'
    # second page (items 24-29), 24 and 28 throttled again. Round 3: the last 2. A throttled item
    # never runs, so each of the 22 organization reads ran exactly once.
    assert sorted(r.attempts for r in answers.values()) == [1] * 18 + [2] * 3 + [3] * 2
    assert (server.stats.faults("batch-item-429"), server.stats.requests(FABRIKAM, "POST /$batch")) == (7, 4)
    assert server.stats.operations(FABRIKAM) == server.stats.operations(FABRIKAM, "GET /organization") + 2 == 24


def test_latency_through_the_sdk(sandbox_server):
    server = sandbox_server(faults=Faults(latency_ms=300))

    async def go():
        start = time.perf_counter()
        org = (await client(server, CONTOSO).organization.get()).value
        return org[0].display_name, time.perf_counter() - start

    name, elapsed = run(go)
    # The latency fault is applied (lower bound only: an upper bound would time the machine).
    assert name == "Contoso" and elapsed >= 0.3


def test_a_dropped_connection_through_the_sdk(sandbox_server):
    server = sandbox_server(faults=Faults(drop_every=1))

    async def go():
        try:
            await client(server, CONTOSO).organization.get(config(retry=False))
        except httpx.RemoteProtocolError as exc:
            return str(exc)
        return None

    assert run(go) == "Server disconnected"  # aiohttp's words (sage365.graph.http), as httpx's exception
    assert server.stats.faults("drop") == 1


def test_a_malformed_body_through_the_sdk(sandbox_server):
    server = sandbox_server(faults=Faults(malformed_every=1))

    async def go():
        try:
            await client(server, CONTOSO).organization.get()
        except json.JSONDecodeError as exc:
            return type(exc).__name__
        return None

    assert run(go) == "JSONDecodeError"
    assert server.stats.faults("malformed") == 1
