"""Misbehaving servers in front of the Graph sandbox, through `sage365 drift` as a subprocess.

Each case ends in a bounded time (the subprocess timeout is the bound; the tenant
deadline is set small through --tenant-timeout) with every finding of the tenant an
`error` naming the limit, exit 2, and nothing sent where it must not go. Cases for the
parser (malformed batch items, page and size caps) belong beside these.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Callable

import pytest

from tests.hostile.server import HostileServer, Reply, Request
from tests.hostile.support import CONTOSO, drift

pytestmark = pytest.mark.slow
# Small enough to keep the suite fast, large enough for a healthy read on a loaded machine
# (the cases that must pass use the default, 120 s).
TENANT_TIMEOUT = "4"
DEADLINE = (f"no complete answer from Microsoft Graph within the tenant deadline of {TENANT_TIMEOUT} s "
            "(--tenant-timeout); nothing was checked")


# After Graph v1.0's two round trips, contoso's add-in and connector need Exchange and Graph beta.
EXTRAS = [("POST", f"/adminapi/beta/{CONTOSO}/InvokeCommand"), ("GET", "/beta/onPremisesPublishingProfiles/applicationProxy/connectors")]


def is_organization(request: Request) -> bool:
    return request.path.endswith("/organization")


def is_batch(request: Request) -> bool:
    return request.path.endswith("/$batch")


def findings(done) -> list[tuple[str, str]]:
    [tenant] = json.loads(done.stdout)["tenants"]
    return [(f["status"], f["message"]) for f in tenant["findings"]]


def assert_every_finding_is_an_error_ending(done, message: str) -> None:
    assert (done.returncode, done.stderr) == (2, "")
    outcomes = findings(done)
    assert {status for status, _ in outcomes} == {"error"}  # every check of every app and add-in
    assert {text.split(": ", 1)[1] for _, text in outcomes} == {message}


def run_against(demo_sandbox, handler: Callable[[Request], Reply | None], *args: str):
    """drift on contoso through `handler`; the subprocess timeout is the bound every case must meet."""
    args = args or ("--tenant-timeout", TENANT_TIMEOUT)
    with HostileServer(handler, upstream=demo_sandbox.base_url) as server:
        done = drift(server.base_url, "--format", "json", *args, timeout=60)
    return server, done


def test_a_well_behaved_proxy_changes_nothing(demo_sandbox):
    server, done = run_against(demo_sandbox, lambda request: None, "--tenant-timeout", "120")
    assert (done.returncode, done.stderr) == (0, "")
    assert {status for status, _ in findings(done)} == {"pass"}
    # The tenant is confirmed first; then the batch and the reads beyond Graph v1.0 go out together.
    sent = [(r.method, r.path) for r in server.requests]
    assert (sent[:1], sorted(sent[1:])) == ([("GET", "/v1.0/organization")], sorted([("POST", "/v1.0/$batch"), *EXTRAS]))


@pytest.mark.parametrize("slow", [is_organization, is_batch], ids=["organization", "batch"])
def test_a_body_sent_one_byte_every_few_seconds_stops_at_the_deadline(demo_sandbox, slow):
    def handler(request: Request) -> Reply | None:
        return Reply(200, json={"value": []}, byte_every=30.0) if slow(request) else None

    _, done = run_against(demo_sandbox, handler)
    assert_every_finding_is_an_error_ending(done, DEADLINE)


def test_a_server_that_never_answers_stops_at_the_deadline(demo_sandbox):
    # Headers sent, then a body that never comes (Content-Length promises 10 bytes).
    _, done = run_against(demo_sandbox, lambda r: Reply(200, body=b"", content_length=10, chunks=[b"{"]))
    assert_every_finding_is_an_error_ending(done, DEADLINE)


def test_retry_after_beyond_the_deadline_stops_the_tenant_at_once(demo_sandbox):
    def handler(request: Request) -> Reply | None:
        if is_organization(request):
            return Reply(429, {"Retry-After": "170"}, json={"error": {"code": "TooManyRequests", "message": "slow down"}})
        return None

    server, done = run_against(demo_sandbox, handler, "--tenant-timeout", "60")
    message = ("Microsoft Graph answered 429 asking to retry in 170 s, more than is left of the tenant deadline "
               "of 60 s (--tenant-timeout); nothing was checked")
    assert_every_finding_is_an_error_ending(done, message)
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1.0/organization")]  # not retried, no batch


def test_retry_after_within_the_deadline_is_waited_for(demo_sandbox):
    answers = itertools.count()

    def handler(request: Request) -> Reply | None:
        if is_organization(request) and next(answers) == 0:
            return Reply(429, {"Retry-After": "1"}, json={"error": {"code": "TooManyRequests", "message": "wait"}})
        return None

    server, done = run_against(demo_sandbox, handler, "--tenant-timeout", "30")
    assert (done.returncode, done.stderr) == (0, "")
    sent = [(r.method, r.path) for r in server.requests]
    assert (sent[:2], sorted(sent[2:])) == ([("GET", "/v1.0/organization")] * 2, sorted([("POST", "/v1.0/$batch"), *EXTRAS]))


def test_a_nextlink_that_loops_forever_stops_at_the_page_cap(demo_sandbox):
    """The sandbox's real subscribedSkus page, always with one more page: the same one."""
    def loop(request: Request, reply: Reply) -> Reply:
        if not is_batch(request):
            return reply
        answer = json.loads(reply.body)
        for item in answer["responses"]:
            if item["id"] == "skus":
                item["body"]["@odata.nextLink"] = "https://graph.microsoft.com/v1.0/subscribedSkus"
        return Reply(reply.status, {"Content-Type": "application/json"}, json.dumps(answer).encode())

    with HostileServer(upstream=demo_sandbox.base_url, rewrite=loop) as server:
        done = drift(server.base_url, "--format", "json", timeout=120)
    assert (done.returncode, done.stderr) == (2, "")
    cap = ("cannot read the subscribed SKUs: 200 TooManyPages: request 'skus': stopped after 200 pages, the limit of "
           "@odata.nextLink pages followed; the collection was not read in full")
    assert [(status, text.split(": ", 1)[1]) for status, text in findings(done) if status != "pass"] == [
        ("error", cap), ("error", cap)]  # tenant.subscription and tenant.free_premium_seat; the rest is read
    assert len(server.received(is_batch)) == 200


def test_an_endless_body_stops_at_the_size_cap(demo_sandbox):
    def endless():
        yield b'{"value": ['
        while True:
            yield b'{"id": "x"},' * 1000

    def handler(request: Request) -> Reply | None:  # no Content-Length: the size is only known by reading
        return Reply(200, chunks=endless()) if is_organization(request) else None

    _, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    assert_every_finding_is_an_error_ending(done, "cannot reach Microsoft Graph: ResponseTooLarge: the response body "
                                            "exceeds sage365's limit of 32 MiB; it was not read; nothing was read")


def test_an_endless_slow_body_stops_at_the_deadline(demo_sandbox):
    def endless():
        yield b'{"value": ['
        for _ in range(240):  # two minutes, far past the deadline
            time.sleep(0.5)  # the server's own thread: one small chunk every half second
            yield b'{"id": "x"},'

    def handler(request: Request) -> Reply | None:  # no Content-Length: the body ends when the connection does
        return Reply(200, chunks=endless()) if is_organization(request) else None

    _, done = run_against(demo_sandbox, handler)
    assert_every_finding_is_an_error_ending(done, DEADLINE)


@pytest.fixture
def elsewhere():
    """Another origin: it must never hear from sage365."""
    with HostileServer(lambda request: Reply(200, json={"value": [{"id": CONTOSO}]})) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_batch_sends_neither_body_nor_token_elsewhere(demo_sandbox, elsewhere, status):
    def handler(request: Request) -> Reply | None:
        return Reply(status, {"Location": f"{elsewhere.base_url}/$batch"}) if is_batch(request) else None

    _, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    message = (f"POST /v1.0/$batch was answered {status} redirecting to {elsewhere.base_url}/$batch: redirects are "
               "never followed (the token or the request could reach another host); nothing more was sent")
    assert_every_finding_is_an_error_ending(done, message)
    assert elsewhere.requests == []


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirected_organization_lets_no_other_host_answer_for_the_tenant(demo_sandbox, elsewhere, status):
    def handler(request: Request) -> Reply | None:
        if is_organization(request):
            return Reply(status, {"Location": f"{elsewhere.base_url}/organization"})
        return None

    server, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    message = (f"GET /v1.0/organization was answered {status} redirecting to {elsewhere.base_url}/organization: "
               "redirects are never followed (the token or the request could reach another host); nothing more was sent")
    assert_every_finding_is_an_error_ending(done, message)
    assert elsewhere.requests == []
    assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1.0/organization")]  # and no batch


def test_a_same_origin_redirect_is_not_followed_either(demo_sandbox):
    def handler(request: Request) -> Reply | None:
        return Reply(307, {"Location": "/v1.0/organization?again"}) if is_organization(request) else None

    server, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    assert (done.returncode, {status for status, _ in findings(done)}) == (2, {"error"})
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirected_exchange_or_beta_call_reaches_no_other_host(demo_sandbox, elsewhere, status):
    """Exchange's InvokeCommand and Graph beta use their own httpx client: it follows nothing either."""
    def handler(request: Request) -> Reply | None:
        if "/adminapi/" in request.path or request.path.startswith("/beta/"):
            return Reply(status, {"Location": f"{elsewhere.origin}{request.path}"})
        return None

    _, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    assert done.returncode == 2
    outcomes = {f["check"]: f["status"] for f in json.loads(done.stdout)["tenants"][0]["findings"]}
    assert (outcomes["addin.deployment"], outcomes["connector.status"]) == ("error", "error")
    assert outcomes["admin.exists"] == "pass"  # Graph v1.0 itself was read
    assert elsewhere.requests == []


def is_exchange(request: Request) -> bool:
    return "/adminapi/" in request.path


def is_beta(request: Request) -> bool:
    return request.path.startswith("/beta/")


@pytest.mark.parametrize("body", [b"", b"{}", b'{"value": null}', b"[]"], ids=["empty", "object", "null", "list"])
def test_an_empty_or_shapeless_exchange_or_beta_answer_is_an_error_not_nothing_deployed(demo_sandbox, body):
    def handler(request: Request) -> Reply | None:
        return Reply(200, {"Content-Type": "application/json"}, body) if is_exchange(request) or is_beta(request) else None

    _, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    outcomes = {f["check"]: f["status"] for f in json.loads(done.stdout)["tenants"][0]["findings"]}
    assert done.returncode == 2
    assert (outcomes["addin.deployment"], outcomes["connector.status"], outcomes["admin.exists"]) == ("error", "error", "pass")


def test_a_beta_nextlink_to_another_host_is_not_followed(demo_sandbox, elsewhere):
    def handler(request: Request) -> Reply | None:
        if is_beta(request):
            return Reply(200, json={"value": [], "@odata.nextLink": f"{elsewhere.origin}/beta/more"})
        return None

    _, done = run_against(demo_sandbox, handler, "--tenant-timeout", "120")
    [connector] = [f for f in json.loads(done.stdout)["tenants"][0]["findings"] if f["check"] == "connector.status"]
    assert connector["status"] == "error"
    assert "UnexpectedNextLink" in connector["message"]
    assert elsewhere.requests == []


@pytest.mark.parametrize("is_extra, cause", [
    (is_exchange, "Exchange Online answered 429 to Get-App"),
    (is_beta, "Microsoft Graph beta answered 429 to GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors"),
], ids=["exchange", "beta"])
def test_an_exchange_or_beta_retry_after_beyond_the_deadline_stops_the_tenant_at_once(demo_sandbox, is_extra, cause):
    """Their own retries (not kiota's) compare each wait with what is left of the deadline too."""
    def handler(request: Request) -> Reply | None:
        if is_extra(request):
            return Reply(429, {"Retry-After": "25"}, json={"error": {"code": "TooManyRequests", "message": "slow down"}})
        return None

    server, done = run_against(demo_sandbox, handler, "--tenant-timeout", "20")
    assert_every_finding_is_an_error_ending(done, f"{cause}; waiting 25 s to retry is more than is left of the tenant "
                                                  "deadline of 20 s (--tenant-timeout); nothing was checked")
    assert len(server.received(is_extra)) == 1  # not resent, and stopped without waiting
