"""JSON of the wrong type in Exchange's or Graph beta's answers, through `sage365 drift` on contoso.

The demo sandbox answers behind a HostileServer that breaks one answer (or rewrites the
sandbox's own): whatever the shape, the one part read from it is an `error` finding whose
message names the request and what was wrong, every other finding is as the sandbox
would have it (pass), nothing goes to stderr (no traceback) and the exit is 2.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.hostile.server import HostileServer, Reply, Request
from tests.hostile.support import drift

pytestmark = pytest.mark.slow

# (check, resource, message up to the service's error, contoso's findings then: the two users'
# addin.deployment findings become the add-in's one error when Exchange cannot be read)
ADDINS = ("addin.deployment", "sage-contact",
          "Could not read the organization's add-ins: Exchange Online, Get-App -OrganizationApp: ", 16)
CONNECTORS = ("connector.status", "SAGE100-SRV",
              "Could not read the connectors: Graph beta /onPremisesPublishingProfiles/applicationProxy/connectors: ", 18)


def is_exchange(request: Request) -> bool:
    return "/adminapi/" in request.path


def is_connectors(request: Request) -> bool:
    return request.path == "/beta/onPremisesPublishingProfiles/applicationProxy/connectors"


ELSEWHERE = object()  # stands for a link to another server: the same host name, another port

Change = Callable[[dict, str], Reply]  # (the sandbox's page, ELSEWHERE's URL) -> the answer sent instead


def failing(status: int, body: Any) -> Change:
    """The service's answer replaced by an error answer (`body`: JSON, or bytes as they are)."""
    return lambda page, elsewhere: Reply(status, {"Content-Type": "application/json"}, body) if isinstance(body, bytes) \
        else Reply(status, json=body)


def page_with(**changes: Any) -> Change:
    """The sandbox's own page, with `changes` (`nextLink` for @odata.nextLink, `extra_item` appended to value)."""
    def rewrite(page: dict, elsewhere: str) -> Reply:
        page = dict(page)
        if "nextLink" in changes:
            page["@odata.nextLink"] = elsewhere if changes["nextLink"] is ELSEWHERE else changes["nextLink"]
        if "extra_item" in changes:
            page["value"] = [*page["value"], changes["extra_item"]]
        return Reply(200, json=page)

    return rewrite


CASES = [
    # Exchange's error body, each part of the wrong type: the status stays, one line, the reason phrase last.
    ("exchange-innererror-string", is_exchange, ADDINS,
     failing(500, {"error": {"code": "InternalServerError", "message": "outer", "innererror": "boom"}}),
     "500 InternalServerError: Get-App: outer"),
    ("exchange-internalexception-list", is_exchange, ADDINS,
     failing(500, {"error": {"code": "InternalServerError", "message": "outer", "innererror": {"internalException": [1]}}}),
     "500 InternalServerError: Get-App: outer"),
    ("exchange-details-number", is_exchange, ADDINS,
     failing(500, {"error": {"code": "InternalServerError", "message": "outer", "details": 5}}),
     "500 InternalServerError: Get-App: outer"),
    ("exchange-details-strings", is_exchange, ADDINS,
     failing(500, {"error": {"code": "InternalServerError", "message": "outer", "details": ["a", {"message": 3}]}}),
     "500 InternalServerError: Get-App: outer"),
    ("exchange-code-object-message-list", is_exchange, ADDINS,
     failing(400, {"error": {"code": {"x": 1}, "message": ["no"]}}), "400: Get-App: Bad Request"),
    ("exchange-error-list", is_exchange, ADDINS, failing(500, {"error": ["down"]}), "500: Get-App: Internal Server Error"),
    ("exchange-error-string", is_exchange, ADDINS, failing(500, {"error": "down\nfor now"}), "500: Get-App: down for now"),
    ("exchange-body-nested-too-deep", is_exchange, ADDINS, failing(500, b"[" * 100_000),
     "500: Get-App: Internal Server Error"),
    # Exchange's pages.
    ("exchange-nextlink-number", is_exchange, ADDINS, page_with(nextLink=5),
     "200 MalformedResponse: Get-App: @odata.nextLink (page 1) is a number; the result was not read in full"),
    ("exchange-nextlink-empty-object", is_exchange, ADDINS, page_with(nextLink={}),
     "200 MalformedResponse: Get-App: @odata.nextLink (page 1) is an object; the result was not read in full"),
    ("exchange-nextlink-false", is_exchange, ADDINS, page_with(nextLink=False),
     "200 MalformedResponse: Get-App: @odata.nextLink (page 1) is a boolean; the result was not read in full"),
    ("exchange-nextlink-another-port", is_exchange, ADDINS, page_with(nextLink=ELSEWHERE),
     "200 UnexpectedNextLink: Get-App: @odata.nextLink leaves {origin}"),
    ("exchange-item-string", is_exchange, ADDINS, page_with(extra_item="Sage Contact"),
     "200 MalformedResponse: Get-App: item 1 of 'value' (page 1) is not a JSON object; the result was not read"),
    # Graph beta's.
    ("beta-item-string", is_connectors, CONNECTORS, page_with(extra_item="SAGE100-SRV"),
     "200 MalformedResponse: item 1 of 'value' (page 1) is not a JSON object; the collection was not read"),
    ("beta-item-null", is_connectors, CONNECTORS, page_with(extra_item=None),
     "200 MalformedResponse: item 1 of 'value' (page 1) is not a JSON object; the collection was not read"),
    ("beta-nextlink-list", is_connectors, CONNECTORS, page_with(nextLink=[]),
     "200 MalformedResponse: @odata.nextLink (page 1) is a list; the collection was not read in full"),
    ("beta-nextlink-true", is_connectors, CONNECTORS, page_with(nextLink=True),
     "200 MalformedResponse: @odata.nextLink (page 1) is a boolean; the collection was not read in full"),
    ("beta-nextlink-another-port", is_connectors, CONNECTORS, page_with(nextLink=ELSEWHERE),
     "200 UnexpectedNextLink: @odata.nextLink leaves {origin}; it was not followed"),
    ("beta-code-number-message-object", is_connectors, CONNECTORS,
     failing(400, {"error": {"code": 400, "message": {"text": "no"}}}), "400: Bad Request"),
    ("beta-error-string", is_connectors, CONNECTORS, failing(500, {"error": "down"}), "500: down"),
    ("beta-body-list", is_connectors, CONNECTORS, failing(500, [{"error": {"message": "x"}}]),
     "500: Internal Server Error"),
]


@pytest.mark.parametrize("is_target, part, change, describe", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_wrongly_typed_answer_is_one_error_finding_naming_the_request(demo_sandbox, is_target, part, change, describe):
    with HostileServer(lambda request: Reply(200, json={"value": []})) as elsewhere:
        link = f"{elsewhere.origin}/elsewhere?page=2"

        def rewrite(request: Request, reply: Reply) -> Reply:
            return change(json.loads(reply.body), link) if is_target(request) else reply

        with HostileServer(upstream=demo_sandbox.base_url, rewrite=rewrite) as server:
            done = drift(server.base_url, "--format", "json", "--tenant-timeout", "120", timeout=60)
    assert (done.returncode, done.stderr) == (2, "")
    [tenant] = json.loads(done.stdout)["tenants"]
    outcomes = [(f["check"], f["resource"], f["status"], f["message"]) for f in tenant["findings"]]
    check, resource, lead, count = part
    expected = lead + describe.format(origin=server.origin)
    assert [o for o in outcomes if o[2] != "pass"] == [(check, resource, "error", expected)]
    assert len(outcomes) == count  # every other finding of contoso passed, as the sandbox has it
    assert elsewhere.requests == []  # the token went nowhere else
    assert "Traceback" not in done.stdout
