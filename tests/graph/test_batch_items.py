"""Strict $batch items: every request answered exactly once, every 2xx body of its request's
shape; anything else is that item's error naming the request id and what was wrong."""

from __future__ import annotations

import httpx
import pytest

from sage365.graph import shapes
from sage365.graph.batch import INVALID_ITEM, BatchRequest, BatchResponse
from tests.graph.test_batch import FakeGraph, run

ADMIN = BatchRequest("admin", "/users/admin@x.fr", shapes.User)
SKUS = BatchRequest("skus", "/subscribedSkus", shapes.SubscribedSku, collection=True)


def answered(admin: dict, skus: dict | None = None) -> dict[str, BatchResponse]:
    answers = {"admin": admin, "skus": skus or {"status": 200, "body": {"value": []}}}
    return run(FakeGraph(lambda item, n: answers[item["id"]]), [ADMIN, SKUS])


def invalid(rid: str, message: str, status: int = 200) -> BatchResponse:
    return BatchResponse(rid, status, None, INVALID_ITEM, message, 1)


@pytest.mark.parametrize(("answer", "message"), [
    ({"status": 200}, "request 'admin': status 200 without a body"),
    ({"status": 200, "body": None}, "request 'admin': status 200 without a body"),
    ({"status": 204}, "request 'admin': status 204 without a body"),
    ({"status": 200, "body": {}}, "request 'admin': the body is not a User: Object missing required field `id`"),
    ({"status": 200, "body": "ok"}, "request 'admin': the body is not a User: Expected `object`, got `str`"),
    ({"status": 200, "body": {"id": 7}}, "request 'admin': the body is not a User: Expected `str`, got `int` - at `$.id`"),
    ({"status": 200, "body": {"id": "u1", "accountEnabled": "yes"}},
     "request 'admin': the body is not a User: Expected `bool | null`, got `str` - at `$.accountEnabled`"),
    ({"status": 200, "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}},
     "request 'admin': an error body under status 200: Request_ResourceNotFound: gone"),
])
def test_a_malformed_object_is_an_error_naming_the_request_and_field(answer, message):
    out = answered(answer)
    assert out["admin"] == invalid("admin", message, answer["status"])
    assert not out["admin"].ok
    assert out["skus"] == BatchResponse("skus", 200, [], attempts=1)  # the other item is unaffected


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Object missing required field `value`"),
    ({"value": None}, "Expected `array`, got `null` - at `$.value`"),
    ({"value": {}}, "Expected `array`, got `object` - at `$.value`"),
    ({"value": [{"skuPartNumber": "SPB"}]}, "Object missing required field `skuId` - at `$.value[0]`"),
    ({"value": [{"skuId": "s", "prepaidUnits": {"enabled": "5"}}]},
     "Expected `int | null`, got `str` - at `$.value[0].prepaidUnits.enabled`"),
    ({"value": [], "@odata.nextLink": 3}, "Expected `str | null`, got `int` - at `$.@odata.nextLink`"),
])
def test_a_malformed_collection_is_an_error_naming_the_field(body, message):
    out = answered({"status": 200, "body": {"id": "u1"}}, {"status": 200, "body": body})
    assert out["skus"] == invalid("skus", f"request 'skus': the body is not a collection of SubscribedSku: {message}")
    assert out["admin"].value == shapes.User(id="u1")


def test_a_duplicate_or_missing_item_id_is_an_error_for_that_request_only():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"responses": [
            {"id": "admin", "status": 200, "body": {"id": "u1"}},
            {"id": "admin", "status": 200, "body": {"id": "u2"}},
            {"id": "stranger", "status": 200, "body": {"value": []}},
        ]})

    out = run(handler, [ADMIN, SKUS])
    assert out == {
        "admin": BatchResponse("admin", 0, None, INVALID_ITEM, "request 'admin': the $batch response has 2 answers for it", 1),
        "skus": BatchResponse("skus", 0, None, INVALID_ITEM, "request 'skus': the $batch response has no answer for it", 1),
    }


@pytest.mark.parametrize(("content", "message"), [
    (b"<html>", "the $batch response is not valid: JSON is malformed: invalid character (byte 0)"),
    (b"{}", "the $batch response is not valid: Object missing required field `responses`"),
    (b'{"responses": [{"id": "admin", "status": "200"}]}',
     "the $batch response is not valid: Expected `int`, got `str` - at `$.responses[0].status`"),
])
def test_a_malformed_batch_envelope_makes_every_item_an_error(content, message):
    out = run(lambda request: httpx.Response(200, content=content), [ADMIN, SKUS])
    assert out == {rid: BatchResponse(rid, 200, None, "InvalidBatchResponse", message, 1) for rid in ("admin", "skus")}


def test_a_looping_next_link_stops_at_the_page_limit():
    fake = FakeGraph(lambda item, n: {"status": 200, "body": {"value": [{"skuId": "s"}],
                                                               "@odata.nextLink": "https://graph.test/v1.0/subscribedSkus"}})
    out = run(fake, [SKUS], max_pages=5)
    assert out["skus"] == BatchResponse(
        "skus", 200, None, "TooManyPages",
        "request 'skus': stopped after 5 pages, the limit of @odata.nextLink pages followed; the collection was not read in full", 1)
    assert len(fake.batches) == 5
