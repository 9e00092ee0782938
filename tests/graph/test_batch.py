"""sage365.graph.batch against Graph's documented $batch JSON, served by httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json

import httpx
from msgraph_core import GraphClientFactory

from sage365.graph.batch import (
    BatchRequest,
    BatchResponse,
    RetryPolicy,
    relative_url,
    retry_after,
    send_batch,
)
from sage365.graph.client import graph_client
from sage365.graph.shapes import User

BASE = "https://graph.test/v1.0"


class FakeGraph:
    """Answers POST /$batch item by item with `answer(item, attempt)`; records every batch."""

    def __init__(self, answer):
        self.answer = answer
        self.batches: list[list[dict]] = []
        self.attempts: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1.0/$batch" and request.method == "POST"
        assert request.headers["authorization"] == "Bearer sandbox.t1"
        items = json.loads(request.content)["requests"]
        self.batches.append(items)
        responses = []
        for item in items:
            self.attempts[item["id"]] = self.attempts.get(item["id"], 0) + 1
            responses.append({"id": item["id"], **self.answer(item, self.attempts[item["id"]])})
        # Graph may answer in any order.
        return httpx.Response(200, json={"responses": list(reversed(responses))})


def run(fake, requests, **kwargs):
    async def go():
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=httpx.MockTransport(fake), base_url=BASE)
        )
        client = graph_client("t1", graph_url=BASE, http_client=http)
        try:
            return await send_batch(client.request_adapter, requests, **kwargs)
        finally:
            await http.aclose()

    return asyncio.run(go())


def user_body(uid: str) -> dict:
    return {"status": 200, "headers": {"Content-Type": "application/json"},
            "body": {"@odata.type": "#microsoft.graph.user", "id": uid, "userPrincipalName": f"{uid}@x.fr"}}


def test_items_are_decoded_into_graph_shapes():
    fake = FakeGraph(lambda item, n: user_body(item["url"].rsplit("/", 1)[1]))
    out = run(fake, [BatchRequest("a", "/users/u1", User), BatchRequest("b", "/users/u2", User)])
    assert list(out) == ["a", "b"]
    assert isinstance(out["a"].value, User)
    assert (out["a"].value.id, out["a"].value.userPrincipalName, out["a"].status, out["a"].ok) == ("u1", "u1@x.fr", 200, True)
    assert out["b"].value.id == "u2"
    assert fake.batches == [[{"id": "a", "method": "GET", "url": "/users/u1"}, {"id": "b", "method": "GET", "url": "/users/u2"}]]


def test_more_than_20_requests_are_split_into_batches_of_20():
    fake = FakeGraph(lambda item, n: user_body(item["id"]))
    out = run(fake, [BatchRequest(f"r{i}", f"/users/r{i}", User) for i in range(45)])
    assert sorted(len(b) for b in fake.batches) == [5, 20, 20]
    assert [r.value.id for r in out.values()] == [f"r{i}" for i in range(45)]


def test_a_throttled_item_is_retried_after_its_retry_after():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def answer(item, attempt):
        if item["id"] == "slow" and attempt < 3:
            return {"status": 429, "headers": {"Retry-After": "2"},
                    "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}}
        return user_body(item["id"])

    fake = FakeGraph(answer)
    out = run(fake, [BatchRequest("slow", "/users/slow", User), BatchRequest("fast", "/users/fast", User)], sleep=sleep)
    assert (out["slow"].status, out["slow"].value.id, out["slow"].attempts) == (200, "slow", 3)
    assert (out["fast"].status, out["fast"].attempts) == (200, 1)
    assert slept == [2.0, 2.0]
    # Only the throttled item is resent.
    assert [[i["id"] for i in b] for b in fake.batches] == [["slow", "fast"], ["slow"], ["slow"]]


def test_retries_stop_after_max_attempts_with_the_items_error():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fake = FakeGraph(lambda item, n: {"status": 503, "body": {"error": {"code": "serviceNotAvailable", "message": "down"}}})
    out = run(fake, [BatchRequest("a", "/users/a", User)], policy=RetryPolicy(max_attempts=3, default_delay=0.5), sleep=sleep)
    assert out["a"] == BatchResponse("a", 503, None, "serviceNotAvailable", "down", 3)
    assert out["a"].describe() == "503 serviceNotAvailable: down"
    assert slept == [0.5, 1.0]  # exponential without Retry-After


def test_retries_stop_when_the_total_wait_would_be_exceeded():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    fake = FakeGraph(lambda item, n: {"status": 429, "headers": {"retry-after": "4"}, "body": {}})
    out = run(fake, [BatchRequest("a", "/users/a", User)], policy=RetryPolicy(max_attempts=10, max_total_wait=9), sleep=sleep)
    assert (out["a"].status, out["a"].attempts) == (429, 3)
    assert slept == [4.0, 4.0]


def test_errors_and_not_found_are_responses_not_exceptions():
    def answer(item, attempt):
        if item["id"] == "gone":
            return {"status": 404, "body": {"error": {"code": "Request_ResourceNotFound", "message": "Resource 'x' does not exist"}}}
        return {"status": 403, "body": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}}

    out = run(FakeGraph(answer), [BatchRequest("gone", "/users/x", User), BatchRequest("denied", "/users/y", User)])
    assert out["gone"] == BatchResponse("gone", 404, None, "Request_ResourceNotFound", "Resource 'x' does not exist", 1)
    assert out["denied"] == BatchResponse("denied", 403, None, "Authorization_RequestDenied", "Insufficient privileges", 1)
    assert not out["gone"].ok


def test_collections_follow_next_link_and_gather_every_page():
    def answer(item, attempt):
        if "$skiptoken=2" in item["url"]:
            return {"status": 200, "body": {"value": [{"id": "u3"}]}}
        if "$skiptoken=1" in item["url"]:
            return {"status": 200, "body": {"value": [{"id": "u2"}], "@odata.nextLink": f"{BASE}/users?$skiptoken=2"}}
        return {"status": 200, "body": {"value": [{"id": "u1"}], "@odata.nextLink": f"{BASE}/users?$skiptoken=1"}}

    fake = FakeGraph(answer)
    out = run(fake, [BatchRequest("all", "/users", User, collection=True)])
    assert [u.id for u in out["all"].value] == ["u1", "u2", "u3"]
    assert [[i["url"] for i in b] for b in fake.batches] == [["/users"], ["/users?$skiptoken=1"], ["/users?$skiptoken=2"]]


def test_a_failed_batch_post_makes_every_item_an_error():
    def handler(request):
        return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired."}})

    out = run(handler, [BatchRequest("a", "/users/a", User), BatchRequest("b", "/users/b", User)])
    assert out["a"] == BatchResponse("a", 401, None, "InvalidAuthenticationToken", "Access token has expired.", 1)
    assert out["b"].status == 401


def test_retry_after_parses_seconds_and_http_dates():
    assert retry_after({"Retry-After": "7"}) == 7.0
    assert retry_after({"retry-after": "Sun, 29 Nov 2026 10:00:10 GMT"}, now=1795946400.0) == 10.0
    assert retry_after({"Retry-After": "soon"}) is None
    # str.isdigit() says yes to these; float() does not: no number, so the backoff applies.
    assert [retry_after({"Retry-After": v}) for v in ("\u00b2", "\u2460", "1\u00b9", "\uff11")] == [None] * 4
    assert retry_after({"Retry-After": "Sun, 29 Nov 99999 10:00:10 GMT"}) is None  # a year past what dates hold
    assert retry_after({}) is None and retry_after(None) is None


def test_relative_url_strips_the_version_root():
    assert relative_url(f"{BASE}/users?$skiptoken=a", BASE) == "/users?$skiptoken=a"
    assert relative_url("https://graph.microsoft.com/v1.0/groups/1/members?$skiptoken=b", BASE) == "/groups/1/members?$skiptoken=b"
    assert relative_url("/users?$skiptoken=c", BASE) == "/users?$skiptoken=c"
