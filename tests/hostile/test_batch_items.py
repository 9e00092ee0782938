"""Malformed batch items, looping nextLinks, huge bodies and one app throttled, through
`sage365 drift` as a subprocess against the demo sandbox behind a misbehaving proxy: every
case ends in bounded time with `error` findings that name the request and what was wrong,
and never a pass built from a bad answer."""

from __future__ import annotations

import http.client
import json
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from tests.hostile.server import HostileServer, Reply, Request
from tests.hostile.support import CONTOSO_FILE, drift

pytestmark = pytest.mark.slow
MiB = 1024 * 1024
# Printed by the drift process at exit: its own peak resident memory in MiB, VmHWM, its address space's high-water mark. Not
# getrusage's ru_maxrss, which Linux carries over exec from the process that spawned it: a
# pytest worker that once held 362 MiB made this child "peak" at 362 MiB (a flaky failure).
PEAK_RSS = ("import atexit, sys\n"
            "def _peak():\n"
            "    with open('/proc/self/status') as f:\n"
            "        kib = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))\n"
            "    print('peak-rss-mib', kib // 1024, file=sys.stderr)\n"
            "atexit.register(_peak)")


def forward(upstream: str, request: Request) -> tuple[int, bytes]:
    parts = urlsplit(upstream)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "connection", "content-length",
                                                                         "accept-encoding")}
        connection.request(request.method, request.target, body=request.body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def rewriting_batches(upstream: str, rewrite: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]):
    """A handler: $batch answered by the sandbox, then its items rewritten; the rest untouched."""

    def handler(request: Request) -> Reply | None:
        if not request.path.endswith("/$batch"):
            return None
        status, body = forward(upstream, request)
        items = json.loads(body)["responses"]
        return Reply(status, json={"responses": rewrite(items)})

    return handler


def replace_item(rid: str, **answer: Any) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def rewrite(items):
        return [{"id": i["id"], **answer} if i["id"] == rid else i for i in items]

    return rewrite


def findings(done) -> dict[tuple[str, str], tuple[str, str]]:
    [tenant] = json.loads(done.stdout)["tenants"]
    return {(f["check"], f["resource"]): (f["status"], f["message"]) for f in tenant["findings"]}


def run_against(demo_sandbox, handler, *args: str, **options: Any):
    with HostileServer(handler, upstream=demo_sandbox.base_url) as server:
        done = drift(server.base_url, "--format", "json", *args, files=(CONTOSO_FILE,), timeout=90, **options)
        return done, server.received()


@pytest.mark.parametrize(("body", "problem"), [
    ({}, "the body is not a User: Object missing required field `id`"),
    (None, "status 200 without a body"),
    ("admin", "the body is not a User: Expected `object`, got `str`"),
    ({"error": {"code": "Request_ResourceNotFound", "message": "gone"}},
     "an error body under status 200: Request_ResourceNotFound: gone"),
])
def test_a_malformed_administrator_never_passes_admin_exists(demo_sandbox, body, problem):
    answer = {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body}
    done, _ = run_against(demo_sandbox, rewriting_batches(demo_sandbox.base_url, replace_item("admin", **answer)))
    assert (done.returncode, done.stderr) == (2, "")
    message = ("Could not read administrator: cannot read the administrator admin@contoso.onmicrosoft.com: "
               f"200 InvalidBatchItem: request 'admin': {problem}")
    got = findings(done)
    assert got[("admin.exists", "admin@contoso.onmicrosoft.com")] == ("error", message)
    assert got[("admin.global_admin", "admin@contoso.onmicrosoft.com")] == ("error", message)
    # Parts that were answered properly are still judged.
    assert got[("consent.service_principal", "sage-business-center")][0] == "pass"


def test_a_duplicated_item_id_is_an_error_not_the_last_answer(demo_sandbox):
    def duplicate(items):
        skus = next(i for i in items if i["id"] == "skus")
        return [*items, {**skus, "body": {"value": []}}]

    done, _ = run_against(demo_sandbox, rewriting_batches(demo_sandbox.base_url, duplicate))
    assert done.returncode == 2
    message = ("Could not read subscribedSkus: cannot read the subscribed SKUs: "
               "InvalidBatchItem: request 'skus': the $batch response has 2 answers for it")
    assert findings(done)[("tenant.subscription", "contoso.onmicrosoft.com")] == ("error", message)


def test_a_looping_next_link_stops_at_the_page_limit(demo_sandbox):
    loop = {"status": 200, "body": {"value": [], "@odata.nextLink": "https://graph.microsoft.com/v1.0/subscribedSkus?$skiptoken=x"}}
    done, received = run_against(demo_sandbox, rewriting_batches(demo_sandbox.base_url, replace_item("skus", **loop)))
    assert done.returncode == 2
    message = ("Could not read subscribedSkus: cannot read the subscribed SKUs: 200 TooManyPages: request 'skus': "
               "stopped after 200 pages, the limit of @odata.nextLink pages followed; the collection was not read in full")
    assert findings(done)[("tenant.subscription", "contoso.onmicrosoft.com")] == ("error", message)
    batches = [r for r in received if r.path.endswith("/$batch")]
    assert len(batches) == 200
    # Every page was asked of the same Graph, inside a batch: the nextLink's host is never contacted.
    assert json.loads(batches[-1].body)["requests"] == [
        {"id": "skus", "method": "GET", "url": "/subscribedSkus?$skiptoken=x"}]


def test_a_100_mib_batch_response_is_an_error_naming_the_limit_in_bounded_memory(demo_sandbox):
    def huge(request: Request) -> Reply | None:
        if not request.path.endswith("/$batch"):
            return None
        return Reply(200, chunks=(b" " * MiB for _ in range(100)))  # no Content-Length: read until closed

    done, _ = run_against(demo_sandbox, huge, prelude=PEAK_RSS)
    assert done.returncode == 2
    stderr, _, peak = done.stderr.rpartition("peak-rss-mib ")
    assert stderr == ""
    assert int(peak) < 200, f"peak resident memory {peak} MiB"
    message = ("Could not read administrator: cannot read the administrator admin@contoso.onmicrosoft.com: "
               "ResponseTooLarge: the response body exceeds sage365's limit of 32 MiB; it was not read")
    assert findings(done)[("admin.exists", "admin@contoso.onmicrosoft.com")] == ("error", message)


def test_one_apps_throttled_role_read_is_that_apps_error_only(demo_sandbox):
    throttled = {"status": 429, "headers": {"Retry-After": "0"},
                 "body": {"error": {"code": "TooManyRequests", "message": "Too many requests."}}}
    done, received = run_against(demo_sandbox,
                                 rewriting_batches(demo_sandbox.base_url, replace_item("roles:sage-contact", **throttled)))
    assert done.returncode == 2
    got = findings(done)
    assert got[("consent.app_roles", "sage-contact")] == (
        "error", "Could not read appRoleAssignments: cannot read the app role assignments of sage-contact: "
                 "429 TooManyRequests: Too many requests.")
    assert got[("consent.app_roles", "sage-business-center")] == (
        "pass", "Sage Business Center's application permissions on Microsoft Graph match the catalogue")
    assert got[("consent.delegated_scopes", "sage-contact")][0] == "pass"
    # The throttled item was tried 4 times: the first batch and 3 retries of that item alone.
    assert len([r for r in received if r.path.endswith("/$batch")]) == 4
